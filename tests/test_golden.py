"""Golden files for what people read: the summary and the annotations of the bundled examples.

Run ``UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` after an intended change, and read
the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

from drift.app import Runtime, run
from tests.conftest import ROOT, action_defaults, parse_output_file

GOLDEN = Path(__file__).parent / "golden"


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual, f"{name} changed; see the module docstring"


def test_examples_render_as_the_golden_files(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "examples", workspace / "examples", ignore=shutil.ignore_patterns("*.py"))
    output, summary = tmp_path / "output", tmp_path / "summary"
    stdout = io.StringIO()
    inputs = {**action_defaults(), "path": "examples/*"}
    code = run(inputs, Runtime(stdout, workspace, output, summary))

    assert code == 1
    assert parse_output_file(output.read_text())["verdict"] == "warn"
    _check("examples_summary.md", summary.read_text(encoding="utf-8"))
    log = re.sub(r"\b[0-9a-f]{32}\b", "<token>", stdout.getvalue())
    _check("examples_stdout.txt", log)
    annotations = [line for line in log.splitlines() if line.startswith(("::error", "::warning", "::notice"))]
    assert len(annotations) == 3  # one per failed threshold of the drifting run
