"""A slow, literal re-statement of the seed probe's rules, for parity tests.

The seed is ``/work/shared/seed/training_drift.txt``. Everything here is deliberately naive:
Python loops over steps, a plain dict for the curve, ``np.median`` on each window. It shares no
code with ``drift`` so that a test comparing the two compares two independent readings of the
same rules.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# The seed's spec defaults (TrainingDriftSpec).
SEED_DEFAULTS: dict[str, Any] = {
    "min_steps": 10,
    "rolling_window": 10,
    "spike_sigma": 3.0,
    "min_smoothness": 0.7,
    "max_convergence_ratio": 0.7,
    "max_instability_events": 0,
}
SAMPLE_CAP = 512


class ReferenceLogError(Exception):
    """The seed's error for a log whose first line does not parse."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"first line of {path.name} is not valid JSON: {reason}")
        self.path = path


@dataclass
class Collected:
    """What the seed's collector ends with, plus how many broken lines it passed over."""

    points: dict[int, float] = field(default_factory=dict)
    broken_lines: int = 0
    origin: dict[int, tuple[int, int]] = field(default_factory=dict)  # step -> (file index, line number)


def collect_detailed(paths: list[Path], metric: str = "loss") -> Collected:
    result = Collected()
    for file_number, path in enumerate(paths):
        with path.open("r", encoding="utf-8") as handle:
            number = 0
            for text in handle:
                number += 1
                stripped = text.strip()
                if stripped == "":
                    continue
                try:
                    record = json.loads(stripped)
                except json.JSONDecodeError as exc:
                    if number == 1:
                        raise ReferenceLogError(path, str(exc)) from exc
                    result.broken_lines += 1
                    continue
                if not isinstance(record, dict):
                    continue
                if record.get("type") != "step":
                    continue
                try:
                    step_number = int(record["step"])
                    value = float(record[metric])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isnan(value) or math.isinf(value):
                    value = math.inf
                # Later records overwrite earlier ones: the most recent file wins for a step.
                result.points[step_number] = value
                result.origin[step_number] = (file_number, number)
    return result


def collect(paths: list[Path], metric: str = "loss") -> dict[int, float]:
    """``{step: value}`` as the seed's ``_collect_steps`` builds it."""
    return collect_detailed(paths, metric).points


def spike_indices(deltas: np.ndarray, window: int, sigma: float) -> list[int]:
    """Indices into ``deltas`` that the seed counts as instability events, in order."""
    count = len(deltas)
    if count == 0:
        return []
    sizes = np.abs(np.asarray(deltas, dtype=np.float64))
    found: list[int] = []
    if count < window:
        # Too short for a rolling neighbourhood: one global median.
        overall = float(np.median(sizes))
        if overall == 0.0:
            return []
        for i in range(count):
            d = float(deltas[i])
            if d > 0.0 and d > sigma * overall:
                found.append(i)
        return found
    reach = window // 2
    for i in range(count):
        d = float(deltas[i])
        if not d > 0.0:
            continue
        start = i - reach if i - reach > 0 else 0
        stop = i + reach + 1 if i + reach + 1 < count else count
        # The neighbourhood without the point itself (unless the point is all there is).
        neighbours = np.concatenate((sizes[start:i], sizes[i + 1 : stop]))
        if neighbours.size == 0:
            neighbours = sizes[i : i + 1]
        typical = float(np.median(neighbours))
        if typical == 0.0 or d > sigma * typical:
            found.append(i)
    return found


def metrics(losses: np.ndarray, window: int, sigma: float) -> dict[str, Any]:
    """The seed's ``_compute_metrics``; also returns the spike delta indices it counted."""
    raw = [float(v) for v in np.asarray(losses, dtype=np.float64)]
    bad = [i for i, v in enumerate(raw) if not math.isfinite(v)]
    if bad and len(bad) == len(raw):
        return {
            "initial_loss": math.nan,
            "final_loss": math.nan,
            "convergence_ratio": math.nan,
            "smoothness": 0.0,
            "instability_events": len(raw),
            "spike_indices": [],
            "nonfinite_indices": bad,
        }
    carried: list[float] = []
    previous = next(v for v in raw if math.isfinite(v))
    for v in raw:
        if math.isfinite(v):
            previous = v
        carried.append(previous)

    first, last = carried[0], carried[-1]
    ratio = last / first if first != 0.0 else math.inf

    series = np.array(carried, dtype=np.float64)
    steps_diff = np.array([carried[k + 1] - carried[k] for k in range(len(carried) - 1)], dtype=np.float64)
    with np.errstate(all="ignore"):
        spread = float(np.var(series))
        jitter = float(np.var(steps_diff)) if len(steps_diff) else 0.0
        if spread > 0.0:
            smooth = 1.0 - jitter / spread
            # Python's max(0.0, x): a NaN x loses the comparison, so the result is 0.0.
            smooth = smooth if smooth > 0.0 else 0.0
        else:
            smooth = 0.0
        spikes = spike_indices(steps_diff, window, sigma)
    return {
        "initial_loss": first,
        "final_loss": last,
        "convergence_ratio": ratio,
        "smoothness": smooth,
        "instability_events": len(spikes) + len(bad),
        "spike_indices": spikes,
        "nonfinite_indices": bad,
    }


def verdict(
    m: dict[str, Any], min_smoothness: float, max_convergence_ratio: float, max_instability_events: int
) -> tuple[str, float, str]:
    """The seed's ``_verdict_from_metrics``: ("pass" | "warn", score, message)."""
    smooth = float(m["smoothness"])
    ratio = float(m["convergence_ratio"])
    events = int(m["instability_events"])
    final = float(m["final_loss"])
    problems = []
    if not smooth >= min_smoothness:
        problems.append("smoothness=" + format(smooth, ".2f") + " < " + str(min_smoothness))
    if not ratio <= max_convergence_ratio:
        problems.append("convergence_ratio=" + format(ratio, ".2f") + " > " + str(max_convergence_ratio))
    if not events <= max_instability_events:
        problems.append("instability_events=" + str(events) + " > " + str(max_instability_events))
    summary = (
        "smoothness="
        + format(smooth, ".2f")
        + ", convergence_ratio="
        + format(ratio, ".2f")
        + ", instability_events="
        + str(events)
        + ", final_loss="
        + format(final, ".3f")
    )
    clipped = min(1.0, max(0.0, smooth))
    if not problems:
        return "pass", clipped, summary
    return "warn", min(1.0, max(0.0, smooth * 0.5)), summary + "; warnings: " + "; ".join(problems)


def skip_message(count: int, min_steps: int) -> str:
    return f"only {count} step records (< min_steps={min_steps}); curve too short to fit reliably"


def sample_positions(n: int, cap: int = SAMPLE_CAP) -> list[int]:
    """Which point indices the seed's ``_downsampled_curve`` keeps."""
    if n <= cap:
        return list(range(n))
    stride = -(-n // cap)
    stride = max(stride, 1)
    chosen = []
    k = 0
    while k < n:
        chosen.append(k)
        k += stride
    if chosen[-1] != n - 1:
        chosen.append(n - 1)
    return chosen


def downsample(steps: np.ndarray, losses: np.ndarray, cap: int = SAMPLE_CAP) -> list[tuple[int, float]]:
    return [(int(steps[i]), float(losses[i])) for i in sample_positions(len(losses), cap)]
