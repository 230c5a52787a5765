"""One pass over the logs: discover runs, read each, judge each, decide the gate.

Shared by the action and the local command; it writes nothing but the progress lines it is given
a callback for, so both front ends render the same Outcome their own way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drift.config import Settings
from drift.curve import Position
from drift.discovery import discover
from drift.errors import LogError
from drift.gate import Outcome, RunResult, decide, error_result, judge, skip_result
from drift.readers.dlm import read_dlm


def no_logs_message(patterns: tuple[str, ...]) -> str:
    shown = ", ".join(repr(p) for p in patterns)
    return (
        f"No training logs found for path {shown} (relative to the workspace). Check that the training "
        "job's logs were downloaded (actions/download-artifact) and that path points at a dlm store, its "
        "logs/ folder or train-*.jsonl files; set if-no-logs: warn or ignore to allow this."
    )


def evaluate(
    settings: Settings, workspace: Path, *, confine: bool = True, progress: Callable[[str], None] = lambda _: None
) -> Outcome:
    found = discover(settings.paths, workspace, confine=confine)
    results: list[RunResult] = []
    for source in found.runs:
        run_settings = settings.for_run(source.name)
        files = tuple(f.display for f in source.files)
        if source.error:
            result = error_result(source.name, run_settings, f"refused: {source.error}")
        elif source.skip:
            result = skip_result(source.name, run_settings, source.skip)
        else:
            try:
                curve = read_dlm(source.files, run_settings.metric)
            except LogError as exc:
                where = Position(exc.file, exc.line) if exc.file else None
                result = error_result(source.name, run_settings, str(exc), files, where)
            else:
                result = judge(source.name, curve, run_settings)
        progress(f"{source.name}: {result.verdict.value.upper()}: {result.message}")
        for shown in files:
            progress(f"    read {shown}")
        results.append(result)

    notes = []
    if found.unmatched and found.log_count:
        notes.append("matched nothing: " + ", ".join(repr(p) for p in found.unmatched))
    if found.ignored:
        notes.append(f"{found.ignored} matched path(s) are neither dlm stores nor *.jsonl logs and were ignored")
    no_logs = no_logs_message(settings.paths) if found.log_count == 0 else None
    return decide(results, settings.fail_on, no_logs=no_logs, if_no_logs=settings.if_no_logs, notes=notes)
