#!/usr/bin/env python3
"""Container entry point: the runner's environment in, the action's exit code out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift.app import Runtime, run
from drift.config import FIELDS
from drift.runner import RunnerEnv


def main() -> int:
    # The runner passes each input as INPUT_<NAME>, upper-cased with hyphens kept.
    inputs = {field.name: os.environ.get(f"INPUT_{field.name.upper()}", "") for field in FIELDS}
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    return run(inputs, Runtime(sys.stdout, RunnerEnv.from_environ(os.environ, Path.cwd())))


if __name__ == "__main__":
    sys.exit(main())
