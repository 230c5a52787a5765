"""The action: inputs and an injected runtime in, workflow commands and files out, exit code back."""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from drift import httpclient
from drift.config import Settings, build_settings
from drift.errors import ConfigError
from drift.evaluate import evaluate
from drift.gate import Outcome
from drift.ghactions import Annotation, Console, format_outputs
from drift.httpclient import Transport
from drift.prcomment import room, target_from_env, upsert
from drift.render.annotations import build_annotations
from drift.render.outputs import outputs
from drift.render.report import to_json
from drift.render.summary import render_summary
from drift.render.svg import render_svg, svg_filename
from drift.render.text import md
from drift.runner import RunnerEnv

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@dataclass(frozen=True)
class Runtime:
    """Everything the action touches outside itself; tests pass a StringIO and a RunnerEnv of temp files."""

    stdout: TextIO
    env: RunnerEnv  # the runner's environment, read once by the caller
    transport: Transport = httpclient.urllib_transport  # how the PR comment reaches the REST API
    tracker_transport: Transport = httpclient.urllib_transport  # how the MLflow tracking server is reached

    @property
    def workspace(self) -> Path:
        return self.env.workspace

    @property
    def output_file(self) -> Path | None:
        return self.env.output_file

    @property
    def summary_file(self) -> Path | None:
        return self.env.summary_file


def run(inputs: Mapping[str, str], runtime: Runtime) -> int:
    console = Console(runtime.stdout)
    try:
        return _run(inputs, runtime, console)
    except Exception as exc:  # the one place the unexpected becomes a clear error
        with console.untrusted("training-drift: internal error details") as say:
            say(traceback.format_exc())
        console.annotate(
            Annotation(
                "error",
                f"training-drift hit an internal error ({type(exc).__name__}: {exc}). This is a bug in "
                "the action, not in your logs: please report it with the log of this step.",
                "training-drift: internal error",
            )
        )
        return EXIT_INTERNAL


def _run(inputs: Mapping[str, str], runtime: Runtime, console: Console) -> int:
    try:
        settings = build_settings(inputs, runtime.workspace)
        if not settings.paths and settings.mlflow is None:
            raise ConfigError(
                "workflow input: path is required (the runner does not enforce required: inputs); "
                "set it to the folder where actions/download-artifact put the training logs, "
                "or set mlflow-tracking-uri to gate runs on an MLflow tracking server"
            )
    except ConfigError as exc:
        console.annotate(Annotation("error", str(exc), "training-drift: configuration"))
        _append(runtime.summary_file, f"## ❌ training-drift: configuration error\n\n{md(str(exc), 1000)}\n")
        _append(runtime.output_file, format_outputs({"verdict": "error", "passed": "false"}))
        return EXIT_USAGE

    tracker = None
    if settings.mlflow is not None:
        from drift.readers.mlflowserver import Access, credentials_from  # noqa: PLC0415 - only when a tracker is named

        credentials = credentials_from(runtime.env)
        for secret in credentials.secrets:  # before anything else is printed
            console.mask(secret)
        tracker = Access(credentials, runtime.tracker_transport)
    what = f"{len(settings.paths)} path pattern(s)" + (" and an MLflow tracking server" if tracker else "")
    with console.untrusted(f"training-drift: reading {what}") as say:
        outcome = evaluate(settings, runtime.workspace, progress=say, tracker=tracker)
    return _publish(outcome, settings, runtime, console)


def _publish(outcome: Outcome, settings: Settings, runtime: Runtime, console: Console) -> int:
    problems: list[str] = []
    report_file = runtime.workspace / settings.report_path
    charts: dict[str, str] = {}
    try:
        charts = write_charts(outcome, report_file, runtime.workspace)
    except OSError as exc:
        problems.append(f"cannot write the SVG charts next to {settings.report_path!r}: {exc.strerror or exc}")
    try:
        _write_atomic(report_file, to_json(outcome, charts))
    except OSError as exc:
        problems.append(
            f"cannot write the JSON report to {settings.report_path!r}: {exc.strerror or exc}; "
            "set report-path to a writable place in the workspace"
        )
    for annotation in build_annotations(outcome):
        console.annotate(annotation)
    for problem in problems:
        console.annotate(Annotation("error", problem, "training-drift: report"))
    _append(runtime.summary_file, render_summary(outcome, None if problems else settings.report_path))
    if settings.comment:
        _comment(outcome, settings, runtime, console, None if problems else settings.report_path)
    _append(runtime.output_file, format_outputs(outputs(outcome, "" if problems else settings.report_path)))
    gate = "passed" if outcome.passed else "failed"
    console.info(f"training-drift: {outcome.verdict.value.upper()}; the gate {gate}")
    if problems:
        return EXIT_USAGE
    return EXIT_PASS if outcome.passed else EXIT_FAIL


WORKFLOW_RUN_RECIPE = (
    "fork pull requests get a read-only token: post the comment from a workflow_run workflow instead "
    "(see the README, Pull-request comment)"
)


def _comment(outcome: Outcome, settings: Settings, runtime: Runtime, console: Console, report: str | None) -> None:
    """Post or update the pull-request comment. The gate's verdict never depends on it: every
    problem becomes a notice or a warning."""
    # Matrix legs share a job id; the paths they gate usually tell them apart.
    leg = f"{runtime.env.job} {','.join(settings.paths)}"
    target = target_from_env(runtime.env, settings.github_token, settings.pr_number, leg)
    if isinstance(target, str):
        console.annotate(Annotation("notice", f"no pull-request comment: {target}", "training-drift: comment"))
        return
    body = render_summary(outcome, report, limit=min(60_000, room(target)))
    result = upsert(target, body, transport=runtime.transport)
    if result.ok:
        console.info(f"training-drift: pull-request comment {result.kind}: {result.url}")
    elif result.kind == "forbidden":
        message = f"no pull-request comment: {result.message}; {WORKFLOW_RUN_RECIPE}"
        console.annotate(Annotation("notice", message, "training-drift: comment"))
    else:
        console.annotate(
            Annotation("warning", f"pull-request comment failed: {result.message}", "training-drift: comment")
        )


def charts_dir(report_file: Path) -> Path:
    return report_file.with_name(report_file.stem + "-charts")


def write_charts(outcome: Outcome, report_file: Path, workspace: Path) -> dict[str, str]:
    """An SVG of each run's curve in a folder beside the report; run name -> workspace-relative path."""
    folder = charts_dir(report_file)
    taken: set[str] = set()
    written: dict[str, str] = {}
    for run in outcome.runs:
        svg = render_svg(run, run.reference.curve_sampled if run.reference else None)
        if svg is None:
            continue
        name = svg_filename(run.name, taken)
        taken.add(name)
        path = folder / name
        _write_atomic(path, svg)
        written[run.name] = path.relative_to(workspace).as_posix() if path.is_relative_to(workspace) else str(path)
    return written


def _append(path: Path | None, text: str) -> None:
    if path is None:
        return
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".training-drift-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
