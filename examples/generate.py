"""Writes the bundled example stores (committed; rerun only to change them).

healthy/  a 200-step run resumed once from step 150: smooth decay, passes the default gate.
drifting/ a 120-step run with a loss spike, a NaN step and a plateau: fails the default gate.
Records have dlm's real shape: json.dumps(..., sort_keys=True), a banner, a run_complete line.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _record(step: int, loss: float, when: int) -> str:
    return json.dumps(
        {
            "grad_norm": round(0.5 * math.exp(-step / 300), 4),
            "loss": loss,
            "lr": 0.0001,
            "step": step,
            "timestamp": f"2026-03-01T10:{when // 60 % 60:02d}:{when % 60:02d}",
            "tokens_per_sec": 1240.5,
            "type": "step",
            "val_loss": None,
        },
        sort_keys=True,
    )


def _write(path: Path, steps: list[tuple[int, float]], run_id: int, crashed: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"run_id": run_id, "seed": 42, "type": "banner"}, sort_keys=True)]
    lines += [_record(step, loss, i) for i, (step, loss) in enumerate(steps)]
    if crashed:
        lines.append('{"grad_norm": 0.1, "loss": 2.')  # a trainer killed mid-write
    else:
        lines.append(json.dumps({"run_id": run_id, "steps": len(steps), "type": "run_complete"}, sort_keys=True))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def healthy() -> None:
    curve = [(s, round(1.2 + 3.6 * math.exp(-s / 45) - 0.0004 * s, 5)) for s in range(200)]
    logs = HERE / "healthy" / "logs"
    # The first attempt crashed at step 170 leaving a partial line; the resume restarts from 150.
    _write(logs / "train-000001-20260301T100000.jsonl", curve[:171], 1, crashed=True)
    _write(logs / "train-000002-20260301T113000.jsonl", curve[150:], 2)


def drifting() -> None:
    curve: list[tuple[int, float]] = []
    noise = random.Random(20260302)  # noqa: S311 - mini-batch noise, the same on every run of this script
    for s in range(120):
        loss = 2.9 + 1.8 * math.exp(-s / 20) + noise.gauss(0.0, 0.01)
        if s >= 30:
            loss = curve[29][1] + noise.gauss(0.0, 0.014)  # plateau: training stopped improving
        curve.append((s, round(loss, 5)))
    curve[75] = (75, round(curve[75][1] + 1.5, 5))  # a loss spike
    curve[90] = (90, float("nan"))  # a NaN step, written by dlm as a bare NaN
    _write(HERE / "drifting" / "logs" / "train-000001-20260302T090000.jsonl", curve, 1)


if __name__ == "__main__":
    healthy()
    drifting()
