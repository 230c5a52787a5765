"""One pass over the logs: discover runs, read each, judge each, decide the gate.

Shared by the action and the local command; it writes nothing but the progress lines it is given
a callback for, so both front ends render the same Outcome their own way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from drift.baseline import compare_all, load_baseline
from drift.config import Settings
from drift.gate import Outcome, decide
from drift.runs import collect, collect_tracker

if TYPE_CHECKING:
    from drift.readers.mlflowserver import Access


def no_logs_message(patterns: tuple[str, ...]) -> str:
    shown = ", ".join(repr(p) for p in patterns)
    return (
        f"No training logs found for path {shown} (relative to the workspace). Check that the training "
        "job's logs were downloaded (actions/download-artifact) and that path points at run folders or log "
        "files (dlm stores, trainer_state.json, TensorBoard event files, CSV, MLflow runs, JSON lines or "
        "console logs); "
        "set if-no-logs: warn or ignore to allow this."
    )


def evaluate(
    settings: Settings,
    workspace: Path,
    *,
    confine: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    tracker: Access | None = None,
) -> Outcome:
    """``tracker``: how to reach the MLflow tracking server the settings name (credentials, transport)."""
    results, found = collect(settings.paths, settings, workspace, confine=confine, progress=progress)
    notes = list(found.notes)
    remote = 0
    if settings.mlflow is not None:
        if tracker is None:
            from drift.readers.mlflowserver import Access  # noqa: PLC0415 - no credentials, the real transport

            tracker = Access()
        tracked, tracker_notes = collect_tracker(settings.mlflow, settings, tracker, progress=progress)
        results += tracked
        notes += tracker_notes
        remote = len(tracked)
    if found.unmatched and found.log_count:
        notes.append("matched nothing: " + ", ".join(repr(p) for p in found.unmatched))
    if found.ignored:
        notes.append(f"{found.ignored} matched path(s) are not training logs of a format tried and were ignored")

    baseline_problem = None
    if settings.baseline:
        base = load_baseline(settings, workspace, confine=confine)
        if base.problem:
            baseline_problem = base.problem
        else:
            results = compare_all(results, base)
            notes.append(base.describe(results))
    no_logs = no_logs_message(settings.paths) if found.log_count == 0 and not remote else None
    return decide(
        results,
        settings.fail_on,
        no_logs=no_logs,
        if_no_logs=settings.if_no_logs,
        notes=notes,
        baseline_problem=baseline_problem,
        require_baseline=settings.require_baseline,
    )
