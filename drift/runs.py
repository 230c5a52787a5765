"""Logs to judged runs: discover the runs a set of patterns names, read each, judge each.

The current logs and a baseline given as logs go through this same path, so both are read and
measured alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from drift.config import MlflowSelection, RunSettings, Settings
from drift.curve import Position
from drift.discovery import Discovery, discover
from drift.errors import LogError
from drift.gate import RunResult, error_result, judge, skip_result
from drift.layouts import FORMATS
from drift.readers import read
from drift.readers.common import ReadSpec
from drift.render.messages import message

if TYPE_CHECKING:
    from drift.readers.mlflowserver import Access


def collect(
    patterns: Sequence[str],
    settings: Settings,
    workspace: Path,
    *,
    confine: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[RunResult], Discovery]:
    formats = FORMATS if settings.format == "auto" else (settings.format,)
    found = discover(patterns, workspace, formats=formats, confine=confine, log_pattern=settings.pattern)
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
                curve = read(source.format, source.files, replace(read_spec(run_settings), pattern=settings.pattern))
            except LogError as exc:
                where = Position(exc.file, exc.line) if exc.file else None
                result = error_result(source.name, run_settings, str(exc), files, where)
            else:
                result = judge(source.name, curve, run_settings)
        got = result.provenance
        result = replace(
            result, provenance=replace(got, format=got.format or source.format, notes=source.notes + got.notes)
        )
        progress(f"{source.name}: {result.verdict.value.upper()}: {message(result)}")
        for shown in files:
            progress(f"    read {shown}")
        results.append(result)
    return results, found


def collect_tracker(
    selection: MlflowSelection,
    settings: Settings,
    access: Access,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[RunResult], list[str]]:
    """The runs an MLflow tracking server holds, judged as runs read from files are.

    A request that fails makes that run (or, for an experiment that cannot be listed, one run named
    for the experiment) ERROR with the one-line reason; the other runs go on.
    """
    # Imported here: only a job that names a tracking server pays for it.
    from drift.readers.mlflowserver import Client, Failed, TrackerError, find_runs, read_remote  # noqa: PLC0415

    client = Client(selection.uri, access.credentials, access.transport)
    found, notes = find_runs(client, selection.run_ids, selection.experiment, selection.run_name)
    results: list[RunResult] = []
    for run in found:
        run_settings = settings.for_run(run.name)
        if isinstance(run, Failed):
            result = error_result(run.name, run_settings, run.message)
        else:
            try:
                curve = read_remote(client, run, read_spec(run_settings))
            except TrackerError as exc:
                result = error_result(run.name, run_settings, f"MLflow run {run.run_id}: {exc}")
            else:
                result = judge(run.name, curve, run_settings)
        got = result.provenance
        result = replace(result, provenance=replace(got, format=got.format or "mlflow-server"))
        progress(f"{result.name}: {result.verdict.value.upper()}: {message(result)}")
        results.append(result)
    return results, notes


def read_spec(settings: RunSettings) -> ReadSpec:
    key, _, value = settings.record_filter.partition("=")
    record_filter = (key.strip(), value.strip()) if settings.record_filter else None
    return ReadSpec(settings.metric, settings.step_key, record_filter)
