"""Step outputs: the overall verdict, the gate's decision and the worst run's metrics."""

from __future__ import annotations

import math

from drift.gate import Outcome


def _text(x: float | int) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return repr(x)


def outputs(outcome: Outcome, report_path: str) -> dict[str, str]:
    worst = next((run for run in outcome.runs if run.metrics is not None), None)
    m = worst.metrics if worst else None
    return {
        "verdict": outcome.verdict.value,
        "passed": "true" if outcome.passed else "false",
        "report-path": report_path,
        "final-loss": _text(m.final_loss) if m else "",
        "convergence-ratio": _text(m.convergence_ratio) if m else "",
        "smoothness": _text(m.smoothness) if m else "",
        "instability-events": str(m.instability_events) if m else "",
    }
