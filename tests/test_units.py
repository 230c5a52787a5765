"""Unit tests of the pieces around the core: the runtime shim, renderers, CLI (config: test_config.py)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from drift import app, ghactions
from drift.app import Runtime, run
from drift.cli import main as cli_main
from drift.config import FailOn, RunSettings
from drift.curve import Curve
from drift.gate import Verdict, decide, judge
from drift.metrics import compute_metrics, sample_indices
from drift.render.chart import mermaid, sparkline
from drift.render.summary import render_summary
from drift.runner import RunnerEnv
from tests.conftest import decaying, read_report, workflow_commands, write_store


# --- the Actions runtime shim -------------------------------------------------------------------
def test_escapes_match_actions_core() -> None:
    # Vectors from @actions/core's command.ts: data escapes % CR LF; properties also : and ,
    assert ghactions.escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert ghactions.escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"
    assert ghactions.escape_data("%0A") == "%250A"


def test_command_line_format() -> None:
    note = ghactions.Annotation("error", "msg\nline2", title="t:1", file="a,b.jsonl", line=3)
    assert note.to_command() == "::error title=t%3A1,file=a%2Cb.jsonl,line=3::msg%0Aline2"
    assert ghactions.Annotation("warning", "m").to_command() == "::warning::m"
    assert ghactions.command("group", "x", {"title": "", "file": None}) == "::group::x"


def test_untrusted_group_wraps_text_in_stop_commands() -> None:
    out = io.StringIO()
    with ghactions.Console(out).untrusted("reading") as say:
        say("::error::boom\n##[error]x\x1b[31m")
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::reading"
    token = lines[1].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-2] == f"::{token}::" and lines[-1] == "::endgroup::"
    assert "\x1b" not in out.getvalue()
    assert [c[0] for c in workflow_commands(out.getvalue())] == ["group", "endgroup"]


# --- metrics edge cases the seed defines -------------------------------------------------------
def test_all_nonfinite_curve() -> None:
    m = compute_metrics(np.full(12, np.inf), rolling_window=10, spike_sigma=3.0)
    assert math.isnan(m.final_loss) and m.smoothness == 0.0 and m.instability_events == 12


def test_flat_curve_has_zero_smoothness_and_no_spikes() -> None:
    m = compute_metrics(np.full(30, 2.0), rolling_window=10, spike_sigma=3.0)
    assert m.smoothness == 0.0 and m.instability_events == 0 and m.convergence_ratio == 1.0


def test_sample_indices_never_exceed_the_cap() -> None:
    for n in (0, 1, 511, 512, 513, 1023, 1024, 1025, 2048, 100_000):
        picked = sample_indices(n)
        assert picked.size <= 512
        if n:
            assert picked[0] == 0 and picked[-1] == n - 1


# --- renderers ---------------------------------------------------------------------------------
def _curve(values: list[float]) -> Curve:
    n = len(values)
    return Curve(
        np.arange(n, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        np.zeros(n, dtype=np.int64),
        np.arange(2, n + 2, dtype=np.int64),
        ("runs/x/logs/train-1.jsonl",),
    )


def test_mermaid_chart_marks_events_and_holds_no_untrusted_text() -> None:
    values = [5.0 - 0.1 * i for i in range(40)]
    values[20] += 3.0
    result = judge("runs/<b>", _curve(values), RunSettings())
    chart = mermaid(result.curve_sampled, [e.step for e in result.events], "loss\n```<script>")
    lines = chart.splitlines()
    assert lines[0] == "```mermaid" and lines[-1] == "```" and "xychart-beta" in lines
    assert 'y-axis "value"' in chart  # an odd metric name is not echoed
    assert not any(line.strip().startswith("bar [") for line in lines)
    series = [line.strip().removeprefix("line [").removesuffix("]").split(", ") for line in lines if "line [" in line]
    assert len(series) == 2  # the events first, so the run's line is drawn over them
    marks, curve = series
    top = lines[4].rsplit("--> ", 1)[1]  # the y-axis maximum
    differ = [i for i, (m, c) in enumerate(zip(marks, curve, strict=True)) if m != c]
    # One needle, at the event, to the top of the axis, above the curve's own peak there.
    assert len(differ) == 1 and marks[differ[0]] == top
    assert float(top) > float(curve[differ[0]]) == max(map(float, curve))


def test_sparkline() -> None:
    assert sparkline([(i, float(10 - i)) for i in range(8)], 8) == "█▇▆▅▄▃▂▁"
    assert sparkline([(0, 1.0), (1, math.inf), (2, 1.0)]) == "▁×▁"


def test_summary_stays_under_the_limit_and_says_what_it_left_out() -> None:
    curve = _curve([5.0 - 0.1 * i + (0.5 if i % 3 == 0 else 0.0) for i in range(600)])
    runs = [judge(f"runs/r{i:05d}-" + "x" * 80, curve, RunSettings()) for i in range(6000)]
    outcome = decide(runs, FailOn.WARN)
    text = render_summary(outcome, "report.json")
    assert len(text.encode()) < 1024 * 1024
    assert "left out of the table" in text and "Every run is in <code>report\\.json</code>" in text
    small = render_summary(outcome, None, limit=60_000)
    assert len(small.encode()) <= 60_000


# --- the action's injected runtime and its one catch-all ---------------------------------------
def test_internal_error_is_one_clear_annotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(app, "evaluate", boom)
    out = io.StringIO()
    code = run({"path": "x"}, Runtime(out, RunnerEnv(tmp_path)))
    assert code == app.EXIT_INTERNAL
    commands = workflow_commands(out.getvalue())
    # the reading group is closed, the traceback goes in its own inert group, then one error
    assert [c[0] for c in commands] == ["group", "endgroup", "group", "endgroup", "error"]
    assert "Traceback" in out.getvalue().split("::error")[0]
    assert "internal error (RuntimeError: kaboom)" in commands[-1][2]


def test_unwritable_report_keeps_summary_and_outputs(tmp_path: Path) -> None:
    write_store(tmp_path / "run", [decaying()])
    (tmp_path / "blocked").write_text("a file, not a folder")
    summary, output = tmp_path / "summary", tmp_path / "output"
    code = run(
        {"path": "run", "report-path": "blocked/report.json"},
        Runtime(io.StringIO(), RunnerEnv(tmp_path, output, summary)),
    )
    assert code == app.EXIT_USAGE
    assert "PASS" in summary.read_text() and "verdict<<" in output.read_text()


# --- the local command -------------------------------------------------------------------------
def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_store(tmp_path / "good", [decaying()])
    monkeypatch.chdir(tmp_path)
    assert cli_main(["good", "--report-path", "r.json", "--summary", "s.md"]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "PASS" in out and "::" not in out
    assert read_report(Path("r.json"))["verdict"] == "pass"
    assert Path("s.md").read_text().startswith("## ✅")
    assert cli_main(["good", "--min-smoothness", "2"]) == 2
    assert "command line: min-smoothness must be a number from 0 to 1" in capsys.readouterr().err
    assert cli_main(["good", "--min-smoothness", "1"]) == 0  # the default checks leave smoothness out
    assert cli_main(["good", "--min-smoothness", "1", "--original-checks", "true"]) == 1
    assert cli_main(["good", "--min-improvement", "99"]) == 1
    assert cli_main(["missing"]) == 1  # if-no-logs: error
    assert Verdict.PASS.value == "pass"


def test_cli_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse formats help with %: a help text that says "5%" once made --help crash.
    with pytest.raises(SystemExit) as exit_:
        cli_main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "relative (`5%`)" in out and "--robust-sigma" in out
