"""Seed files for the mutators: logs real tools wrote (``../shared/real-logs/formats/**``, the examples), logs
written by ``tests/writers.py`` (tensorboardX and MLflow themselves where installed), the README's
config, and a report the action itself wrote.

Seeds are capped in size (cut at a line end, or a trainer_state.json cut down to its first entries)
so that one input costs well under a millisecond to read. The writer-made seeds hold timestamps,
so they differ from one build to the next; a failure's reproducer file holds the exact input.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Public logs live beside the checkout, never in it; without them the fuzzer has fewer seeds.
REAL = ROOT.parent / "shared" / "real-logs" / "formats"
SEED_BYTES = 24 << 10
KINDS = ("jsonl", "trainer-state", "tensorboard", "csv", "mlflow", "meta", "config", "report")


@dataclass(frozen=True)
class Corpus:
    seeds: dict[str, tuple[bytes, ...]] = field(default_factory=dict)

    def pool(self, kind: str) -> tuple[bytes, ...]:
        return self.seeds.get(kind, ())

    def everything(self) -> tuple[bytes, ...]:
        return tuple(seed for kind in sorted(self.seeds) for seed in self.seeds[kind])

    def sizes(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in sorted(self.seeds.items())}


def cap(data: bytes, limit: int = SEED_BYTES) -> bytes:
    """At most ``limit`` bytes, cut after a line end where there is one."""
    if len(data) <= limit:
        return data
    cut = data.rfind(b"\n", 0, limit)
    return data[: cut + 1] if cut > 0 else data[:limit]


def _shrink_trainer_state(data: bytes) -> bytes:
    if len(data) <= SEED_BYTES:
        return data
    doc = json.loads(data)
    history = doc.get("log_history", [])
    while len(history) > 1 and len(json.dumps(doc, indent=2)) > SEED_BYTES:
        del history[len(history) // 2 :]
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _real() -> Iterator[tuple[str, bytes]]:
    for path in sorted(REAL.rglob("*")):
        if not path.is_file() or path.name == "SOURCES.md":
            continue
        data = path.read_bytes()
        parts = path.relative_to(REAL).parts
        if parts[0] == "jsonl":
            yield "jsonl", cap(data)
        elif parts[0] == "trainer-state":
            yield "trainer-state", _shrink_trainer_state(data)
        elif parts[0].startswith("csv"):
            yield "csv", cap(data)
        elif parts[0] == "mlflow":
            if "metrics" in parts:
                yield "mlflow", cap(data)
            else:
                yield "meta", cap(data)
    for path in sorted((ROOT / "examples").rglob("*.jsonl")):
        yield "jsonl", cap(path.read_bytes())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL):
        if "overrides" in block or "min_smoothness" in block:
            yield "config", block.encode()


def _written(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Logs from tests/writers.py; each writer that cannot run here (a missing package) is left out."""
    from tests import writers

    points = writers.decaying(60)
    spiky = writers.with_spike(points, 30, 3.0)
    yield "jsonl", writers.jsonl(folder / "a.jsonl", spiky).read_bytes()
    yield "csv", (writers.lightning_csv(folder / "pl", points) / "metrics.csv").read_bytes()
    yield "csv", writers.keras_csv(folder / "keras" / "training.log", spiky).read_bytes()
    state = writers.trainer_state(folder / "hf", points, checkpoints=[20])
    yield "trainer-state", (state / "trainer_state.json").read_bytes()
    yield "trainer-state", (state / "checkpoint-20" / "trainer_state.json").read_bytes()
    for tensor_form in (False, True):
        with contextlib.suppress(ImportError):
            logdir = writers.tensorboard(folder / f"tb{tensor_form}", spiky, tensor_form=tensor_form)
            for path in sorted(logdir.rglob("events.out.tfevents.*")):
                yield "tensorboard", path.read_bytes()
    with contextlib.suppress(ImportError):
        store = writers.mlflow_run(folder / "mlruns", spiky, run_name="fuzz-seed")
        for path in sorted(store.rglob("*")):
            if path.is_file() and "metrics" in path.parts:
                yield "mlflow", cap(path.read_bytes())
            elif path.is_file() and path.name in ("meta.yaml", "mlflow.runName"):
                yield "meta", path.read_bytes()


def _report(folder: Path) -> Iterator[tuple[str, bytes]]:
    """A JSON report the action writes, as a baseline seed."""
    from drift.app import Runtime, run
    from drift.runner import RunnerEnv
    from tests import writers

    writers.jsonl(folder / "ws" / "runs" / "a" / "log.jsonl", writers.decaying(40))
    run({"path": "runs/*"}, Runtime(io.StringIO(), RunnerEnv(folder / "ws")))
    yield "report", (folder / "ws" / "training-drift-report.json").read_bytes()


def build(*, writers: bool = True) -> Corpus:
    """Every seed, by kind. ``writers=False`` leaves out what tests/writers.py and the action write."""
    found: dict[str, list[bytes]] = {kind: [] for kind in KINDS}
    for kind, data in _real():
        found[kind].append(data)
    if writers:
        with tempfile.TemporaryDirectory(prefix="fuzz-corpus-") as tmp:
            for kind, data in (*_written(Path(tmp)), *_report(Path(tmp))):
                found[kind].append(data)
    return Corpus({kind: tuple(items) for kind, items in found.items() if items})
