#!/usr/bin/env python3
"""Container entry point: the runner's environment in, the action's exit code out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift.app import Runtime, run
from drift.config import FIELDS


def main() -> int:
    # The runner passes each input as INPUT_<NAME>, upper-cased with hyphens kept.
    inputs = {field.name: os.environ.get(f"INPUT_{field.name.upper()}", "") for field in FIELDS}
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]

    def file_from(variable: str) -> Path | None:
        value = os.environ.get(variable, "")
        return Path(value) if value else None

    runtime = Runtime(
        stdout=sys.stdout,
        workspace=Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()),
        output_file=file_from("GITHUB_OUTPUT"),
        summary_file=file_from("GITHUB_STEP_SUMMARY"),
        env=dict(os.environ),
    )
    return run(inputs, runtime)


if __name__ == "__main__":
    sys.exit(main())
