"""One pass over the logs: discover runs, read each, judge each, decide the gate.

Shared by the action and the local command; it writes nothing but the progress lines it is given
a callback for, so both front ends render the same Outcome their own way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from drift.config import RunSettings, Settings
from drift.curve import Position
from drift.discovery import discover
from drift.errors import LogError
from drift.gate import Outcome, RunResult, decide, error_result, judge, skip_result
from drift.layouts import FORMATS
from drift.readers import read
from drift.readers.common import ReadSpec


def no_logs_message(patterns: tuple[str, ...]) -> str:
    shown = ", ".join(repr(p) for p in patterns)
    return (
        f"No training logs found for path {shown} (relative to the workspace). Check that the training "
        "job's logs were downloaded (actions/download-artifact) and that path points at run folders or log "
        "files (dlm stores, trainer_state.json, TensorBoard event files, CSV, MLflow runs or JSON lines); "
        "set if-no-logs: warn or ignore to allow this."
    )


def evaluate(
    settings: Settings, workspace: Path, *, confine: bool = True, progress: Callable[[str], None] = lambda _: None
) -> Outcome:
    formats = FORMATS if settings.format == "auto" else (settings.format,)
    found = discover(settings.paths, workspace, formats=formats, confine=confine)
    results: list[RunResult] = []
    for source in found.runs:
        run_settings = settings.for_run(source.name)
        files = tuple(f.display for f in source.files)
        if source.error:
            result = error_result(source.name, run_settings, f"refused: {source.error}")
        elif source.skip:
            result = replace(skip_result(source.name, run_settings, source.skip), hint=source.hint)
        else:
            try:
                curve = read(source.format, source.files, _spec(run_settings))
            except LogError as exc:
                where = Position(exc.file, exc.line) if exc.file else None
                result = error_result(source.name, run_settings, str(exc), files, where)
            else:
                result = judge(source.name, curve, run_settings)
        result = replace(result, source_format=result.source_format or source.format)
        progress(f"{source.name}: {result.verdict.value.upper()}: {result.message}")
        for shown in files:
            progress(f"    read {shown}")
        results.append(result)

    notes = list(found.notes)
    if found.unmatched and found.log_count:
        notes.append("matched nothing: " + ", ".join(repr(p) for p in found.unmatched))
    if found.ignored:
        notes.append(f"{found.ignored} matched path(s) are not training logs of a format tried and were ignored")
    no_logs = no_logs_message(settings.paths) if found.log_count == 0 else None
    return decide(results, settings.fail_on, no_logs=no_logs, if_no_logs=settings.if_no_logs, notes=notes)


def _spec(settings: RunSettings) -> ReadSpec:
    key, _, value = settings.record_filter.partition("=")
    record_filter = (key.strip(), value.strip()) if settings.record_filter else None
    return ReadSpec(settings.metric, settings.step_key, record_filter)
