"""``python -m drift PATH ...``: the action's gate on a developer's machine, same exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from drift import __version__
from drift.app import EXIT_FAIL, EXIT_PASS, EXIT_USAGE
from drift.config import FIELDS, build_settings
from drift.errors import ConfigError
from drift.evaluate import evaluate
from drift.render.report import to_json
from drift.render.summary import render_summary
from drift.render.table import render_table
from drift.runner import RunnerEnv


def parser() -> argparse.ArgumentParser:
    # Installed, the command is training-drift; from a checkout it is run as python -m drift.
    prog = "python -m drift" if Path(sys.argv[0]).name == "__main__.py" else "training-drift"
    p = argparse.ArgumentParser(
        prog=prog,
        description="Gate training runs on their loss curves, as the training-drift action does.",
    )
    p.add_argument(
        "path",
        nargs="*",
        help="run folders, folders holding runs, log files or glob patterns (optional with --mlflow-tracking-uri)",
    )
    for field in FIELDS:
        if field.name in ("path", "report-path", "comment", "github-token", "pr-number"):
            continue
        default = field.default if field.default not in ("", ()) else None
        # argparse treats help as a %-format string, and some help texts say "5%".
        text = f"{field.help} (default: {default})".replace("%", "%%")
        p.add_argument(f"--{field.name}", metavar=field.kind.upper(), help=text)
    p.add_argument("--report-path", metavar="FILE", help="also write the JSON report here")
    p.add_argument("--summary", metavar="FILE", help="also write the Markdown job summary here")
    p.add_argument(
        "--workspace",
        metavar="DIR",
        default=".",
        help="folder that relative paths and run names are taken from (default: the current one)",
    )
    p.add_argument("--version", action="version", version=f"training-drift {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    workspace = Path(args.pop("workspace"))
    summary_path = args.pop("summary")
    inputs = {name.replace("_", "-"): value for name, value in args.items() if value is not None}
    inputs["path"] = "\n".join(args["path"])
    inputs.setdefault("report-path", "")
    try:
        settings = build_settings(inputs, workspace, origin="command line")
    except ConfigError as exc:
        print(f"training-drift: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not settings.paths and settings.mlflow is None:
        print("training-drift: give a PATH, or --mlflow-tracking-uri with the runs to read", file=sys.stderr)
        return EXIT_USAGE
    tracker = None
    if settings.mlflow is not None:
        from drift.readers.mlflowserver import Access, credentials_from  # noqa: PLC0415 - only when a tracker is named

        tracker = Access(credentials_from(RunnerEnv.from_environ(os.environ, Path.cwd())))
    # A developer may point anywhere on their own machine; only the action confines to the workspace.
    outcome = evaluate(settings, workspace, confine=False, tracker=tracker)
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print(render_table(outcome, colour=colour))
    try:
        if settings.report_path:
            Path(settings.report_path).write_text(to_json(outcome), encoding="utf-8")
        if summary_path:
            Path(summary_path).write_text(render_summary(outcome, settings.report_path or None), encoding="utf-8")
    except OSError as exc:
        print(f"training-drift: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_PASS if outcome.passed else EXIT_FAIL
