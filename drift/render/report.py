"""The JSON report: a public interface (schema version ``SCHEMA``), described in docs/report.md and
held to drift/report.schema.json, which the tests validate every report against."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any

from drift import __version__
from drift.config import Limit, RunSettings
from drift.gate import EventKind, Outcome, RunResult
from drift.render.messages import hint, message, note

SCHEMA = 1


def _number(x: float | None) -> float | None:
    """Strict JSON has no NaN or Infinity: they become null."""
    return x if x is not None and math.isfinite(x) else None


def _reference(run: RunResult) -> dict[str, Any] | None:
    ref = run.reference
    if ref is None:
        return None
    return {
        "name": ref.name,
        "source": ref.source,
        "metrics": {
            "final_loss": _number(ref.final_loss),
            "convergence_ratio": _number(ref.convergence_ratio),
            "smoothness": _number(ref.smoothness),
            "instability_events": ref.instability_events,
        },
    }


def _setting(value: object) -> object:
    """A setting as the report has always shown it: a limit as written ("" when off), a switch as
    "true" or "false", a choice as its text."""
    if isinstance(value, Limit) or value is None:
        return str(value or "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.value if isinstance(value, StrEnum) else value


def _thresholds(settings: RunSettings) -> dict[str, object]:
    return {f.name: _setting(getattr(settings, f.name)) for f in fields(settings)}


def run_entry(run: RunResult, chart: str | None = None) -> dict[str, Any]:
    m, source = run.metrics, run.provenance
    metrics = {
        "initial_loss": _number(m.initial_loss) if m else None,
        "final_loss": _number(m.final_loss) if m else None,
        "convergence_ratio": _number(m.convergence_ratio) if m else None,
        "smoothness": _number(m.smoothness) if m else None,
        "instability_events": m.instability_events if m else None,
        "trend_start": _number(m.trend.start) if m and m.trend else None,
        "trend_end": _number(m.trend.end) if m and m.trend else None,
        "improvement_percent": _number(m.trend.improvement * 100) if m and m.trend else None,
        "trend_state": m.trend.state.value if m and m.trend else None,
        "num_steps": run.num_steps,
        "num_log_files": len(source.files),
    }
    return {
        "name": run.name,
        "source": {
            "format": source.format or None,
            "metric": source.metric or None,
            "step": source.step or None,
            "files": list(source.files),
        },
        "verdict": run.verdict.value,
        "score": _number(run.score),
        "message": message(run),
        "hint": hint(run),
        "notes": list(source.notes),
        "chart": chart,
        "baseline": _reference(run),
        "metrics": metrics,
        "thresholds": _thresholds(run.settings),
        "failed_checks": [
            {
                "metric": c.check.value,
                "value": _number(float(c.value)),
                "op": c.check.op.value,
                "threshold": c.threshold,
                "note": note(c) or None,
            }
            for c in run.failed
        ],
        "spike_threshold": _number(m.spike_threshold) if m else None,
        "events": [
            {
                "step": e.step,
                "kind": e.kind.value,
                "rise": _number(e.rise),
                "z": _number(e.z),
                "rise_percent": _number(e.relative_rise * 100) if e.relative_rise is not None else None,
                "file": e.position.file,
                "line": e.position.source_line,
                "record": None if e.position.unit == "line" else e.position.line,
            }
            for e in run.events
        ],
        "spike_steps": list(run.steps_of(EventKind.SPIKE)),
        "nonfinite_steps": list(run.steps_of(EventKind.NON_FINITE)),
        "skipped_lines": source.skipped_lines,
        "irregular_rows": source.irregular_rows,
        "ignored_records": source.ignored_records,
        "curve_sampled": [[step, loss if math.isfinite(loss) else None] for step, loss in run.curve_sampled],
    }


def to_json(outcome: Outcome, charts: Mapping[str, str] | None = None) -> str:
    """The report; ``charts`` maps a run's name to its SVG, relative to the workspace."""
    head = {
        "schema": SCHEMA,
        "tool": "training-drift",
        "version": __version__,
        "verdict": outcome.verdict.value,
        "passed": outcome.passed,
        "fail_on": outcome.fail_on.value,
        "notes": list(outcome.notes),
        "baseline_problem": outcome.baseline_problem,
    }
    # The C encoder runs only without indent; one run per line keeps the file readable and diffable.
    runs = ",\n  ".join(
        json.dumps(run_entry(run, (charts or {}).get(run.name)), allow_nan=False, ensure_ascii=False)
        for run in outcome.runs
    )
    text = json.dumps(head, allow_nan=False, ensure_ascii=False)[:-1]
    return f'{text}, "runs": [\n  {runs}\n]}}\n' if runs else f'{text}, "runs": []}}\n'
