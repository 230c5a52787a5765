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

import pytest

from drift.app import Runtime, run
from drift.runner import RunnerEnv
from tests.conftest import ROOT, action_defaults, parse_output_file

GOLDEN = Path(__file__).parent / "golden"


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual, f"{name} changed; see the module docstring"


@pytest.mark.parametrize(
    ("original", "prefix", "failed"),
    [
        # The default checks: the drifting run still learned (its trend improved 22%), but spiked.
        ("", "examples", 1),
        # The original probe's checks: smoothness and the first/last ratio fail too.
        ("true", "examples_original", 3),
    ],
)
def test_examples_render_as_the_golden_files(tmp_path: Path, original: str, prefix: str, failed: int) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "examples", workspace / "examples", ignore=shutil.ignore_patterns("*.py"))
    output, summary = tmp_path / "output", tmp_path / "summary"
    stdout = io.StringIO()
    inputs = {**action_defaults(), "path": "examples/*", "original-checks": original}
    code = run(inputs, Runtime(stdout, RunnerEnv(workspace, output, summary)))

    assert code == 1
    assert parse_output_file(output.read_text())["verdict"] == "warn"
    _check(f"{prefix}_summary.md", summary.read_text(encoding="utf-8"))
    log = re.sub(r"\b[0-9a-f]{32}\b", "<token>", stdout.getvalue())
    _check(f"{prefix}_stdout.txt", log)
    annotations = [line for line in log.splitlines() if line.startswith(("::error", "::warning", "::notice"))]
    assert len(annotations) == failed  # one per failed threshold of the drifting run
