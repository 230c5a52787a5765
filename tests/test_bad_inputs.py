"""Every row of the bad-input table (docs/bad-input.md), run as the runner runs the action: what the user
sees (exit code, and the line that says what happened) is asserted here, and a meta-test keeps
the table and these cases in step."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drift import discovery
from drift.app import Runtime, run
from drift.runner import RunnerEnv
from tests.conftest import RunAction, action_defaults, decaying, doc_section, step_line, write_store


@dataclass(frozen=True)
class Case:
    id: str  # the README row's first cell
    setup: Callable[[Path], None]
    inputs: dict[str, str]
    code: int
    says: str  # a regular expression the step log, summary or report must show


def _log(ws: Path, body: bytes, name: str = "runs/a") -> None:
    logs = ws / name / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "train-000001-x.jsonl").write_bytes(body)


def _good_lines(n: int = 30) -> bytes:
    return "\n".join(step_line(s, v) for s, v in decaying(n)).encode() + b"\n"


def _with_line(extra: bytes) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        body = _good_lines().split(b"\n")
        _log(ws, b"\n".join([*body[:10], extra, *body[10:]]))

    return setup


def _symlink_loop(ws: Path) -> None:
    write_store(ws / "runs" / "a", [decaying()])
    os.symlink(ws / "runs", ws / "runs" / "a" / "loop")


def _outside(ws: Path) -> None:
    write_store(ws.parent / "elsewhere", [decaying()])
    (ws / "runs").mkdir()
    os.symlink(ws.parent / "elsewhere", ws / "runs" / "a")


def _dangling(ws: Path) -> None:
    (ws / "runs").mkdir()
    os.symlink(ws / "gone", ws / "runs" / "a")


CASES = [
    Case("empty file", lambda ws: _log(ws, b""), {"path": "runs/a"}, 0, r"only 0 step records \(< min_steps=10\)"),
    Case(
        "binary file",
        lambda ws: _log(ws, b"\x00\x01\x02\xff\xfe\x89PNG\r\n"),
        {"path": "runs/a"},
        1,
        r"first line of runs/a/logs/train-000001-x\.jsonl is not valid JSON",
    ),
    Case(
        "non-UTF-8 bytes",
        _with_line(b'{"type": "step", "step": 999, "loss": "\xff\xfe"}'),
        {"path": "runs/a"},
        0,
        r"1 broken line\(s\) skipped, the first at <code>runs/a/logs/train\\-000001\\-x\\\.jsonl\\:11</code>",
    ),
    Case(
        "100 MB single line",
        _with_line(b'{"type": "step", "note": "' + b"x" * (100 << 20) + b'"'),
        {"path": "runs/a"},
        0,
        r"1 broken line\(s\) skipped, the first at <code>runs/a/logs/train\\-000001\\-x\\\.jsonl\\:11</code>",
    ),
    Case("symlink loop", _symlink_loop, {"path": "runs/**"}, 0, r"runs/a: PASS"),
    Case(
        "path outside the workspace",
        lambda ws: write_store(ws.parent / "elsewhere", [decaying()]),
        {"path": "../elsewhere"},
        1,
        r"refused: \.\./elsewhere resolves outside the workspace",
    ),
    Case(
        "symlink out of the workspace",
        _outside,
        {"path": "runs/*"},
        1,
        r"refused: runs/a resolves outside the workspace",
    ),
    Case(
        "unreadable path",
        _dangling,
        {"path": "runs/a"},
        1,
        r"refused: runs/a is not a readable file or folder",
    ),
    Case(
        "invalid threshold",
        lambda ws: write_store(ws / "runs" / "a", [decaying()]),
        {"path": "runs/a", "min-smoothness": "high"},
        2,
        r"workflow input: min-smoothness must be a number from 0 to 1, got 'high'",
    ),
    Case(
        "conflicting inputs",
        lambda ws: write_store(ws / "runs" / "a", [decaying()]),
        {"path": "runs/a", "require-baseline": "true"},
        2,
        r"require-baseline is true but baseline is empty",
    ),
    Case(
        "a setting given twice",
        lambda ws: (ws / "cfg.yml").write_text("min_smoothness: 0.5\nmin-smoothness: 0.6\n"),
        {"path": "runs/a", "config": "cfg.yml"},
        2,
        r"cfg\.yml: min-smoothness is set twice",
    ),
    Case("missing path", lambda ws: None, {}, 2, r"path is required"),
    Case(
        "no logs at all",
        lambda ws: (ws / "runs").mkdir(),
        {"path": "runs/*"},
        1,
        r"No training logs found for path 'runs/\*'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, run_action: RunAction, workspace: Path) -> None:
    case.setup(workspace)
    result = run_action(**case.inputs)
    assert result.code == case.code, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    shown = result.stdout + result.summary
    assert re.search(case.says, shown), shown[-3000:]


def test_a_path_matching_more_than_the_cap_reads_the_first(
    monkeypatch: pytest.MonkeyPatch, workspace: Path, tmp_path: Path
) -> None:
    """The cap is 100,000 matches; the same code path, made cheap by lowering it."""
    monkeypatch.setattr(discovery, "MAX_MATCHES", 50)
    for i in range(60):
        write_store(workspace / "runs" / f"r{i:02d}", [decaying(12)])
    out = tmp_path / "out"
    stdout = io.StringIO()
    inputs = {**action_defaults(), "path": "runs/*"}
    code = run(inputs, Runtime(stdout, RunnerEnv(workspace, out, tmp_path / "summary")))
    assert code == 0
    summary = (tmp_path / "summary").read_text()
    assert "&#x27;runs/\\*&#x27; matched 60 paths; only the first 50 were read" in summary


def test_the_documented_table_lists_every_case() -> None:
    section = doc_section("Bad input: what you see")
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [case.id for case in CASES] + ["a path matching 100,000 files", "unreadable file"]


def test_an_unreadable_file(monkeypatch: pytest.MonkeyPatch, workspace: Path, tmp_path: Path) -> None:
    """Permission denied: the runner's container runs as root, which reads anything, so the
    refusal is made in-process by failing the open of that one file."""
    write_store(workspace / "runs" / "a", [decaying()])
    write_store(workspace / "runs" / "b", [decaying()])
    locked = next((workspace / "runs" / "a" / "logs").iterdir())
    real_open = Path.open

    def open_(self: Path, *args: object, **kwargs: object) -> object:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", open_)
    stdout = io.StringIO()
    code = run(
        {**action_defaults(), "path": "runs/*"}, Runtime(stdout, RunnerEnv(workspace, tmp_path / "o", tmp_path / "s"))
    )
    assert code == 1
    assert f"failed to read runs/a/logs/{locked.name}: Permission denied" in stdout.getvalue()
    assert "runs/b: PASS" in stdout.getvalue()
