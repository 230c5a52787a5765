"""Logs, file names and folder names are attacker-controlled: nothing may become a command,
break the output file or put raw HTML in the summary."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest

from drift import ghactions
from tests.conftest import RunAction, decaying, parse_output_file, step_line, write_store

HOSTILE_NAMES = [
    "::error::pwned",
    "a%0A::error::pwned",
    "b\n::error title=x::pwned",
    "c\r::warning::pwned",
    "##[error]pwned",
    "<script>alert(1)<",
    "<img src=x onerror=alert(1)>",
    "ghadelimiter_00000000-0000-0000-0000-000000000000",
    "d|e`f*g_[link](http:evil)@someone",
    "::stop-commands::x",
    "::add-mask::secret",
]

OUR_TITLES = {
    "training-drift: instability_events",
    "training-drift: unreadable log",
    "training-drift: smoothness",
    "training-drift: convergence_ratio",
    "training-drift: more findings",
}


def assert_no_foreign_html(summary: str) -> None:
    """The only tags in a summary are the few the renderer writes itself."""
    rest = re.sub(r"</?(sub|code|details|summary)>", "", summary)
    assert "<" not in rest, rest[rest.index("<") - 80 : rest.index("<") + 80]


def _spiky() -> list[tuple[int, float]]:
    curve = decaying(40)
    curve[20] = (20, curve[20][1] + 3.0)
    return curve


def test_hostile_store_names_produce_no_commands_and_a_valid_output_file(
    run_action: RunAction, workspace: Path
) -> None:
    for index, name in enumerate(HOSTILE_NAMES):
        write_store(workspace / "runs" / name, [_spiky() if index % 2 else decaying()])
    result = run_action(path="runs/*")
    names = {name for name, _, _ in result.commands}
    assert names <= {"group", "endgroup", "error", "warning", "notice"}
    for level, props, _message in result.annotations():
        assert props.get("title") in OUR_TITLES
        assert level in {"error", "notice"}
    # Every hostile name made it into the report intact; nothing was dropped.
    assert sorted(run["name"] for run in result.report["runs"]) == sorted(f"runs/{n}" for n in HOSTILE_NAMES)
    assert set(result.outputs) == {
        "verdict",
        "passed",
        "report-path",
        "final-loss",
        "convergence-ratio",
        "smoothness",
        "instability-events",
    }
    assert result.outputs["verdict"] == "warn"
    # No raw HTML from a name in the summary: only our own <sub> tag.
    assert_no_foreign_html(result.summary)
    # Every run still has its table row: no name broke the table.
    rows = [line for line in result.summary.splitlines() if line.startswith("| <code>runs/")]
    assert len(rows) == len(HOSTILE_NAMES)
    for line in result.stdout.splitlines():
        stripped = line.strip()
        if stripped.startswith("::") and not stripped.startswith(
            ("::group::", "::endgroup::", "::error ", "::notice ", "::warning ", "::stop-commands::")
        ):
            # the only other line starting with :: is the stop-commands resume token
            assert len(stripped) == 36 and stripped.endswith("::"), line


def test_hostile_record_fields_stay_inert(run_action: RunAction, workspace: Path) -> None:
    logs = workspace / "run" / "logs"
    logs.mkdir(parents=True)
    lines = [
        json.dumps({"type": "step", "step": s, "::error::x": "<script>", "##[error]y\n::warning::z": 1})
        for s in range(20)
    ]
    (logs / "train-000001-x.jsonl").write_text("\n".join(lines) + "\n")
    result = run_action(path="run")
    assert result.code == 0
    assert result.report["runs"][0]["verdict"] == "skip"
    assert "fields seen: type, step, ::error::x" in result.report["runs"][0]["hint"]
    assert [c[0] for c in result.commands] == ["group", "endgroup"]
    assert_no_foreign_html(result.summary)


def test_symlink_outside_the_workspace_is_refused(run_action: RunAction, workspace: Path, tmp_path: Path) -> None:
    outside = write_store(tmp_path / "outside", [decaying()])
    (workspace / "runs").mkdir()
    os.symlink(outside, workspace / "runs" / "escape")
    inside = write_store(workspace / "runs" / "ok", [decaying()])
    os.symlink(
        tmp_path / "outside" / "logs" / next((outside / "logs").iterdir()).name,
        inside / "logs" / "train-999999-z.jsonl",
    )
    result = run_action(path="runs/*")
    runs = {run["name"]: run for run in result.report["runs"]}
    assert runs["runs/escape"]["verdict"] == "error"
    assert "resolves outside the workspace" in runs["runs/escape"]["message"]
    assert runs["runs/ok"]["verdict"] == "error"
    assert result.code == 1


def test_symlink_loop_does_not_hang(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [decaying()])
    os.symlink(workspace / "runs", workspace / "runs" / "a" / "loop")
    os.symlink("self", workspace / "runs" / "self")
    result = run_action(path="runs/**")
    assert result.code == 0, result.stdout
    assert "runs/a" in {run["name"] for run in result.report["runs"]}


def test_binary_and_non_utf8_logs(run_action: RunAction, workspace: Path) -> None:
    logs = workspace / "bin" / "logs"
    logs.mkdir(parents=True)
    (logs / "train-000001-x.jsonl").write_bytes(b"\x00\xff\xfe garbage\n")
    mixed = workspace / "mixed" / "logs"
    mixed.mkdir(parents=True)
    body = "\n".join(step_line(s, 5.0 - 0.1 * s) for s in range(30)).encode()
    (mixed / "train-000001-x.jsonl").write_bytes(body.replace(b"\n", b"\n\xff\xfe\n", 1) + b"\n")
    result = run_action(path="bin, mixed")
    runs = {run["name"]: run for run in result.report["runs"]}
    assert runs["bin"]["verdict"] == "error" and "not UTF-8" in runs["bin"]["message"]
    assert runs["mixed"]["verdict"] == "pass" and runs["mixed"]["skipped_lines"] == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_output_delimiter_is_never_inside_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = uuid.UUID("00000000-0000-0000-0000-000000000000")
    fresh = uuid.UUID("11111111-1111-1111-1111-111111111111")
    values = iter([fixed, fresh])
    monkeypatch.setattr(ghactions.uuid, "uuid4", lambda: next(values))
    hostile = f"x\nghadelimiter_{fixed}\ninjected=1"
    text = ghactions.format_outputs({"report-path": hostile})
    assert parse_output_file(text) == {"report-path": hostile}
    assert f"ghadelimiter_{fresh}" in text


def test_hostile_names_inside_other_formats_stay_inert(run_action: RunAction, workspace: Path) -> None:
    """MLflow run names, TensorBoard tags and CSV headers are text from the pull request too."""
    from tests import writers

    run = workspace / "mlruns" / "1" / "abc"
    (run / "metrics").mkdir(parents=True)
    (run / "meta.yaml").write_text('run_name: "::error::pwned <img src=x onerror=alert(1)>"\n')
    (run / "metrics" / "loss").write_text("".join(f"{1700000000000 + s} {5.0 - 0.1 * s} {s}\n" for s in range(30)))
    writers.tensorboard(workspace / "tb", writers.decaying(), tag="::warning::<script>x</script>", tensor_form=True)
    (workspace / "pl").mkdir()
    (workspace / "pl" / "metrics.csv").write_text("step,::error::a,<b>bold</b>\n1,2,3\n")
    result = run_action(path="mlruns, tb, pl")
    names = {name for name, _, _ in result.commands}
    assert names <= {"group", "endgroup", "error", "warning", "notice"}
    for _level, props, _message in result.annotations():
        assert props.get("title") in OUR_TITLES
    runs = {r["name"]: r for r in result.report["runs"]}
    assert "::error::pwned <img src=x onerror=alert(1)>" in runs  # the MLflow run name, intact
    assert "::warning::<script>x</script>" in runs["tb"]["hint"]  # the tag, listed for the user
    assert "<b>bold</b>" in runs["pl"]["hint"]
    assert_no_foreign_html(result.summary)
    assert "Traceback" not in result.stdout + result.stderr
