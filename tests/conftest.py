"""Shared fixtures: a runner-like environment for entrypoint.py, and log writers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings
from jsonschema import Draft202012Validator

import drift.app
import drift.cli
from drift.render import report as report_module

# No property test times its examples: timing lives in bench/, and on CI's two shared cores a
# per-example deadline fails tests for the machine's load, not for the code.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")

ROOT = Path(__file__).resolve().parent.parent
# Public data (real logs from public repositories) is never copied into the project: it sits in
# ../shared/ beside the checkout, in CI as in a worktree.
SHARED = ROOT.parent / "shared"
REAL_LOGS = SHARED / "real-logs"
REPORT_SCHEMA = json.loads((ROOT / "drift" / "report.schema.json").read_text(encoding="utf-8"))
_REPORT_VALIDATOR = Draft202012Validator(REPORT_SCHEMA)


def report_problems(report: Any) -> list[str]:
    """Where a report breaks drift/report.schema.json, one line per problem (none when it follows it)."""
    errors = sorted(_REPORT_VALIDATOR.iter_errors(report), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}" for e in errors]


def checked_report(report: Any) -> dict[str, Any]:
    """A report the action wrote, after checking it against the schema it ships: every report a test
    reads or the action writes in a test passes through here."""
    problems = report_problems(report)
    assert not problems, "the report breaks drift/report.schema.json:\n" + "\n".join(problems[:20])
    return report  # type: ignore[no-any-return]


def read_report(path: Path) -> dict[str, Any]:
    return checked_report(json.loads(path.read_text(encoding="utf-8")))


_SCHEMA_BREAKS: list[str] = []


def _checking_to_json(*args: Any, **kwargs: Any) -> str:
    """report.to_json, and the reports it writes held to the schema. A problem is recorded, not
    raised, so that the action under test behaves exactly as it would; the test then fails."""
    text = report_module.to_json(*args, **kwargs)
    _SCHEMA_BREAKS.extend(report_problems(json.loads(text)))
    return text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Every report the action writes in-process during a test (drift.app.run, the CLI) is
    validated; run_action and read_report validate the ones written by other processes."""
    _SCHEMA_BREAKS.clear()
    saved = drift.app.to_json, drift.cli.to_json
    drift.app.to_json = drift.cli.to_json = _checking_to_json
    try:
        result = yield
    finally:
        drift.app.to_json, drift.cli.to_json = saved
    assert not _SCHEMA_BREAKS, "a report written in this test breaks drift/report.schema.json:\n" + "\n".join(
        _SCHEMA_BREAKS[:20]
    )
    return result


def shared(*parts: str) -> Path:
    """A file or folder under ../shared/. Missing, it fails the test under CI=true (CI must have
    it) and skips it, with the reason shown, elsewhere."""
    path = sys.modules[__name__].SHARED.joinpath(*parts)  # looked up at call time: tests move it
    if path.exists():
        return path
    message = f"public data {path} is missing: ../shared/ must sit beside the checkout"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def real_params(paths: list[Path], what: str) -> list[Any]:
    """Parameters for a test over public files: the files, or, when ../shared/ is missing, one
    parameter whose test fails or skips through ``shared`` (a test is never silently dropped)."""
    return list(paths) or [pytest.param(None, id=f"{what}-missing")]


# The user and developer documentation: the meta-tests find their tables wherever they live.
DOC_FILES = (
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "tests" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
)


def markdown_sections(text: str) -> list[tuple[int, str, str]]:
    """(level, heading, body) of every heading outside fenced code; a body runs to the next
    heading of the same or a higher level."""
    heads: list[tuple[int, int, str, int]] = []  # (line index, level, title, body start)
    lines = text.split("\n")
    fenced = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"(#{1,6}) (.+)$", line)
        if match:
            heads.append((i, len(match.group(1)), match.group(2).strip(), i + 1))
    sections = []
    for n, (_, level, title, start) in enumerate(heads):
        end = next((j for j, lvl, _, _ in heads[n + 1 :] if lvl <= level), len(lines))
        sections.append((level, title, "\n".join(lines[start:end])))
    return sections


def doc_section(heading: str) -> str:
    """The body of a heading in the README, CONTRIBUTING.md, tests/README.md or docs/: it must be in
    exactly one place, so a table that moves is still found and a stale copy is an error."""
    found = [
        (path, body)
        for path in DOC_FILES
        if path.exists()
        for _, title, body in markdown_sections(path.read_text(encoding="utf-8"))
        if title == heading
    ]
    assert len(found) == 1, f"heading {heading!r} found {len(found)} times: {[str(p.name) for p, _ in found]}"
    return found[0][1]


def doc_table(heading: str) -> dict[str, list[str]]:
    """The body rows of the table under ``heading`` whose first cell is a code span, by that cell:
    every cell stripped (a pipe escaped as ``\\|`` stays inside its cell)."""
    rows = {}
    lines = doc_section(heading).splitlines()
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("| `") and not after.startswith("|---"):  # a header row is not a row
            cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0].strip("`")] = cells
    return rows


def dlm_fixture() -> Path:
    """The real dlm log in ../shared/fixtures/."""
    return shared("fixtures", "dlm_train_log_fixture.jsonl")


def action_defaults() -> dict[str, str]:
    """Every input of action.yml with its default, as the runner sets them."""
    spec = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return {name: str(body.get("default", "")) for name, body in spec["inputs"].items()}


def parse_output_file(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does (heredoc and name=value forms)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


_COMMAND = re.compile(r"^::([a-z-]+)(?: ([^:]*))?::(.*)$")


def workflow_commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands the runner would act on, honouring ::stop-commands::."""
    found = []
    stop_token: str | None = None
    for line in stdout.splitlines():
        match = _COMMAND.match(line.strip())
        if stop_token is not None:
            if line.strip() == f"::{stop_token}::":
                stop_token = None
            continue
        if not match:
            continue
        name, props, data = match.groups()
        if name == "stop-commands":
            stop_token = data
            continue
        properties = {}
        for pair in (props or "").split(","):
            if "=" in pair:
                key, value = pair.split("=", 1)
                properties[key] = _unescape(value)
        found.append((name, properties, _unescape(data)))
    return found


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


@dataclass
class ActionResult:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    @property
    def commands(self) -> list[tuple[str, dict[str, str], str]]:
        return workflow_commands(self.stdout)

    def annotations(self, level: str | None = None) -> list[tuple[str, dict[str, str], str]]:
        kinds = (level,) if level else ("error", "warning", "notice")
        return [c for c in self.commands if c[0] in kinds]

    @property
    def report(self) -> dict[str, Any]:
        return read_report(self.workspace / (self.outputs.get("report-path") or "training-drift-report.json"))


RunAction = Callable[..., ActionResult]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


@pytest.fixture
def run_action(workspace: Path, tmp_path: Path) -> RunAction:
    """Run entrypoint.py in a subprocess with the runner's environment."""

    def run(_env: dict[str, str] | None = None, **inputs: str) -> ActionResult:
        """``_env`` adds runner variables (GITHUB_REPOSITORY, GITHUB_EVENT_PATH...) to the defaults."""
        files = tmp_path / "file_commands"
        files.mkdir(exist_ok=True)
        output, summary = files / "set_output", files / "step_summary"
        output.write_text("")
        summary.write_text("")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_"))}
        values = action_defaults()
        values.update({name.replace("_", "-"): value for name, value in inputs.items()})
        for name, value in values.items():
            env[f"INPUT_{name.upper()}"] = value
        env.update(
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_ACTIONS="true",
            CI="true",
            RUNNER_TEMP=str(tmp_path),
        )
        env.update(_env or {})
        proc = subprocess.run(
            [sys.executable, str(ROOT / "entrypoint.py")],
            check=False,
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = ActionResult(
            proc.returncode,
            proc.stdout,
            proc.stderr,
            parse_output_file(output.read_text()),
            summary.read_text(encoding="utf-8"),
            workspace,
        )
        if result.outputs.get("report-path"):  # the action says it wrote one: held to the schema
            _ = result.report
        return result

    return run


def step_line(step: int, loss: Any, **extra: Any) -> str:
    """A step record in dlm's shape (sort_keys=True), with ``loss`` written as given."""
    record = {
        "grad_norm": 0.3,
        "loss": loss,
        "lr": 0.0001,
        "step": step,
        "timestamp": "2026-04-26T06:25:17",
        "tokens_per_sec": 1234.5,
        "type": "step",
        **extra,
    }
    return json.dumps(record, sort_keys=True)


def write_store(root: Path, curves: Iterable[Iterable[tuple[int, float]]], *, banner: bool = True) -> Path:
    """A dlm store at ``root``: one train-*.jsonl per curve, in chronological name order."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for index, curve in enumerate(curves, start=1):
        lines = [json.dumps({"run_id": index, "type": "banner"}, sort_keys=True)] if banner else []
        lines += [step_line(step, loss) for step, loss in curve]
        (logs / f"train-{index:06d}-20260426T06{index:02d}00.jsonl").write_text("\n".join(lines) + "\n")
    return root


def decaying(n: int = 50, start: float = 5.0, rate: float = 0.05) -> list[tuple[int, float]]:
    """A smooth, monotone decay: passes the default gate."""
    import math

    return [(step, start * math.exp(-rate * step) + 0.5) for step in range(n)]
