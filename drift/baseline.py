"""The baseline a pull request is compared against: a JSON report of an earlier run (typically
main's, downloaded as an artifact or restored from a cache), or logs in any supported format,
read and judged exactly as the current logs are.

A report is untrusted input like any log: it is size-capped, and every figure is checked for
type before use. A missing or unreadable baseline becomes a ``problem`` that skips only the
comparison (``require-baseline`` decides whether that fails the gate).
"""

from __future__ import annotations

import glob
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drift.config import Settings
from drift.gate import Reference, RunResult, compare
from drift.runs import collect

MAX_REPORT_BYTES = 64 << 20
MAX_SAMPLED = 512


@dataclass(frozen=True)
class Baseline:
    source: str  # what was read, for messages
    runs: tuple[Reference, ...] = ()
    problem: str | None = None

    def match(self, name: str, current: Sequence[str]) -> Reference | None:
        """The baseline run for a current run: the same name; else the only baseline run whose
        path ends the same way (``baseline/runs/a`` for ``runs/a``); else, when both sides hold a
        single run, that one."""
        by_name = {ref.name: ref for ref in self.runs}
        if name in by_name:
            return by_name[name]
        for size in range(len(Path(name).parts), 0, -1):
            tail = Path(name).parts[-size:]
            hits = [ref for ref in self.runs if Path(ref.name).parts[-size:] == tail]
            if len(hits) == 1:
                return hits[0]
            if hits:
                return None
        if len(self.runs) == 1 and len(current) == 1:
            return self.runs[0]
        return None

    def describe(self, compared: Sequence[RunResult]) -> str:
        matched = sum(run.reference is not None for run in compared)
        judged = sum(run.metrics is not None for run in compared)
        return f"compared with the baseline {self.source}: {matched} of {judged} measured run(s) matched by name"


def compare_all(runs: Sequence[RunResult], base: Baseline) -> list[RunResult]:
    names = [run.name for run in runs if run.metrics is not None]
    out = []
    for run in runs:
        ref = base.match(run.name, names) if run.metrics is not None else None
        if ref is not None:
            out.append(compare(run, ref))
        elif run.metrics is not None:
            notes = (*run.provenance.notes, "no run in the baseline matches this name")
            out.append(replace(run, provenance=replace(run.provenance, notes=notes)))
        else:
            out.append(run)
    return out


def load_baseline(settings: Settings, workspace: Path, *, confine: bool = True) -> Baseline:
    patterns = settings.baseline
    shown = ", ".join(repr(p) for p in patterns)
    fix = (
        "download main's training-drift-report.json (actions/download-artifact or actions/cache) "
        "or its logs before this step"
    )
    if len(patterns) == 1 and not glob.has_magic(patterns[0]) and patterns[0].endswith(".json"):
        path = workspace / patterns[0]
        if not path.is_file():
            return Baseline(shown, problem=f"baseline {shown} not found: comparison skipped; {fix}")
        if confine and not path.resolve().is_relative_to(workspace.resolve()):
            return Baseline(shown, problem=f"baseline {shown} resolves outside the workspace: comparison skipped")
        report = _report(path)
        if isinstance(report, str):
            return Baseline(shown, problem=f"baseline {shown} is not a readable report: {report}; comparison skipped")
        if report is not None:
            return Baseline(f"report {patterns[0]}", report)
    results, found = collect(patterns, settings, workspace, confine=confine)
    if found.log_count == 0:
        return Baseline(shown, problem=f"baseline {shown}: no training logs found; comparison skipped; {fix}")
    source = f"logs {', '.join(patterns)}"
    return Baseline(source, tuple(_from_result(run, source) for run in results))


def _from_result(run: RunResult, source: str) -> Reference:
    m = run.metrics
    return Reference(
        run.name,
        source,
        m.final_loss if m else None,
        m.smoothness if m else None,
        m.convergence_ratio if m else None,
        m.instability_events if m else None,
        run.curve_sampled,
    )


def _report(path: Path) -> tuple[Reference, ...] | str | None:
    """The runs of a training-drift report; a reason when it is broken; None when the JSON is not
    a training-drift report at all (it may be a log, such as trainer_state.json)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if len(raw) > MAX_REPORT_BYTES:
        return f"larger than {MAX_REPORT_BYTES >> 20} MiB"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return f"not JSON ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if not isinstance(data, dict) or data.get("tool") != "training-drift":
        return None
    runs = data.get("runs")
    if not isinstance(runs, list):
        return "it has no runs list"
    out = []
    for entry in runs:
        ref = _entry(entry, str(path.name))
        if ref is not None:
            out.append(ref)
    return tuple(out)


def _entry(entry: Any, source: str) -> Reference | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    metrics: dict[str, Any] = entry["metrics"] if isinstance(entry.get("metrics"), dict) else {}
    events = metrics.get("instability_events")
    return Reference(
        entry["name"][:1000],
        source,
        _float(metrics.get("final_loss")),
        _float(metrics.get("smoothness")),
        _float(metrics.get("convergence_ratio")),
        events if isinstance(events, int) and not isinstance(events, bool) and events >= 0 else None,
        _curve(entry.get("curve_sampled")),
    )


def _float(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _curve(points: Any) -> tuple[tuple[int, float], ...]:
    if not isinstance(points, list):
        return ()
    out = []
    for point in points[:MAX_SAMPLED]:
        if not (isinstance(point, list) and len(point) == 2):
            continue
        step, value = point
        if isinstance(step, bool) or not isinstance(step, int) or not -(2**63) <= step < 2**63:
            continue
        number = _float(value)  # the report writes a non-finite loss as null
        out.append((step, math.inf if number is None else number))
    return tuple(out)
