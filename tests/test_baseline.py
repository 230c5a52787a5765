"""drift/baseline.py, and comparison against a baseline through the action: a report or logs of an
earlier run, matched by run name (the checks themselves: test_gate.py)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from drift import baseline
from drift.baseline import Baseline, compare_all, load_baseline
from drift.config import RunSettings, build_settings
from drift.gate import Check, Reference, Verdict, judge
from tests.conftest import RunAction, decaying, write_store
from tests.test_units import _curve


def worse(n: int = 50, by: float = 0.2) -> list[tuple[int, float]]:
    """The same decay, ending ``by`` higher: still passes every fixed threshold."""
    return [(s, v + by * s / (n - 1)) for s, v in decaying(n)]


def main_report(run_action: RunAction, workspace: Path) -> Path:
    """Run the action on main's logs and keep its report, as a workflow would upload it."""
    write_store(workspace / "runs" / "a", [decaying()])
    write_store(workspace / "runs" / "b", [decaying()])
    result = run_action(path="runs/*")
    assert result.code == 0
    saved = workspace / "baseline" / "training-drift-report.json"
    saved.parent.mkdir()
    shutil.move(workspace / "training-drift-report.json", saved)
    shutil.rmtree(workspace / "runs")
    return saved


def test_a_report_baseline_flags_a_worse_final_loss(run_action: RunAction, workspace: Path) -> None:
    main_report(run_action, workspace)
    write_store(workspace / "runs" / "a", [worse()])
    write_store(workspace / "runs" / "b", [decaying()])
    result = run_action(path="runs/*", baseline="baseline/training-drift-report.json")
    assert result.code == 1
    runs = {run["name"]: run for run in result.report["runs"]}
    assert runs["runs/a"]["verdict"] == "warn"
    (failed,) = runs["runs/a"]["failed_checks"]
    assert failed["metric"] == "final_loss_vs_baseline"
    base_final = decaying()[-1][1]
    assert math.isclose(failed["threshold"], base_final * 1.05)
    assert runs["runs/a"]["baseline"]["metrics"]["final_loss"] == base_final
    assert runs["runs/b"]["verdict"] == "pass" and runs["runs/b"]["baseline"]["name"] == "runs/b"
    titles = [props["title"] for _, props, _ in result.annotations("error")]
    assert titles == ["training-drift: final_loss_vs_baseline"]
    assert "### Against the baseline" in result.summary
    assert "▲ +" in result.summary and "❌" in result.summary
    # The chart overlays both curves: two line series.
    chart = result.summary.split("```mermaid", 2)[1]
    assert chart.count("    line [") == 2


def test_limits_can_be_relative_absolute_or_off(run_action: RunAction, workspace: Path) -> None:
    main_report(run_action, workspace)
    write_store(workspace / "runs" / "a", [worse(by=0.2)])
    report = "baseline/training-drift-report.json"
    assert run_action(path="runs/a", baseline=report, **{"max-final-loss-increase": "50%"}).code == 0
    assert run_action(path="runs/a", baseline=report, **{"max-final-loss-increase": "0.1"}).code == 1
    assert run_action(path="runs/a", baseline=report, **{"max-final-loss-increase": "off"}).code == 0


def test_new_instability_events_against_the_baseline(run_action: RunAction, workspace: Path) -> None:
    main_report(run_action, workspace)
    spiky = decaying()
    spiky[25] = (25, spiky[25][1] + 3.0)
    write_store(workspace / "runs" / "a", [spiky])
    result = run_action(
        path="runs/a",
        baseline="baseline/training-drift-report.json",
        **{"max-instability-events": "5", "max-smoothness-drop": "off"},
    )
    (run,) = result.report["runs"]
    assert [c["metric"] for c in run["failed_checks"]] == ["instability_events_vs_baseline"]
    assert result.code == 1


def test_logs_as_the_baseline_match_by_the_end_of_the_path(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "main-logs" / "runs" / "a", [decaying()])
    write_store(workspace / "runs" / "a", [worse()])
    result = run_action(path="runs/a", baseline="main-logs/runs")
    (run,) = result.report["runs"]
    assert run["baseline"]["name"] == "main-logs/runs/a"
    assert run["verdict"] == "warn"


def test_a_missing_baseline_skips_only_the_comparison(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [decaying()])
    result = run_action(path="runs/a", baseline="nowhere/report.json")
    assert result.code == 0
    assert result.report["baseline_problem"].startswith("baseline 'nowhere/report.json' not found")
    (warning,) = result.annotations("warning")
    assert warning[1]["title"] == "training-drift: baseline"
    required = run_action(path="runs/a", baseline="nowhere/report.json", **{"require-baseline": "true"})
    assert required.code == 1
    assert required.report["verdict"] == "error"
    assert [props["title"] for _, props, _ in required.annotations("error")] == ["training-drift: baseline"]


def test_a_broken_or_hostile_report_never_crashes(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [decaying()])
    (workspace / "garbage.json").write_text("{not json")
    result = run_action(path="runs/a", baseline="garbage.json")
    assert result.code == 0 and "not a readable report" in result.report["baseline_problem"]
    hostile = {
        "tool": "training-drift",
        "runs": [
            {"name": "runs/a", "metrics": {"final_loss": "1", "smoothness": True, "instability_events": -3}},
            {"name": "<img src=x onerror=alert(1)>", "metrics": {"final_loss": 1e308}, "curve_sampled": [[1, "x"]]},
            "not a run",
            {"name": 7},
        ],
    }
    (workspace / "hostile.json").write_text(json.dumps(hostile))
    result = run_action(path="runs/a", baseline="hostile.json")
    assert result.code == 0, result.stdout
    (run,) = result.report["runs"]
    assert run["baseline"]["metrics"] == {
        "final_loss": None,
        "convergence_ratio": None,
        "smoothness": None,
        "instability_events": None,
    }
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_limit_is_a_configuration_error(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [decaying()])
    result = run_action(path="runs/a", **{"max-final-loss-increase": "five percent"})
    assert result.code == 2
    ((_, _, message),) = result.annotations("error")
    assert "max-final-loss-increase must be a number, a percentage such as 5%, or off" in message


# --- the module, without the action -----------------------------------------------------------
def _ref(name: str, final: float | None = 1.0) -> Reference:
    return Reference(name, "test", final, None, None, None)


def test_a_run_matches_by_name_then_by_the_end_of_its_path_then_alone() -> None:
    base = Baseline("b", (_ref("runs/a"), _ref("main/runs/b"), _ref("x/c"), _ref("y/c")))
    assert base.match("runs/a", ["runs/a"]) == _ref("runs/a")
    assert base.match("pr/runs/b", ["pr/runs/b"]) == _ref("main/runs/b")  # the longest common tail
    assert base.match("c", ["c"]) is None  # two baseline runs end in c: no guess
    assert base.match("zzz", ["zzz"]) is None
    single = Baseline("b", (_ref("main"),))
    assert single.match("feature", ["feature"]) == _ref("main")  # one run on each side
    assert single.match("feature", ["feature", "other"]) is None


def test_compare_all_compares_matched_runs_and_notes_the_rest() -> None:
    good = judge("runs/a", _curve([10.0 - 0.1 * s for s in range(40)]), RunSettings())
    lone = judge("runs/z", _curve([10.0 - 0.1 * s for s in range(40)]), RunSettings())
    short = judge("runs/s", _curve([1.0, 0.5]), RunSettings())
    assert good.metrics is not None
    base = Baseline("report r.json", (_ref("runs/a", good.metrics.final_loss / 2), _ref("runs/s")))
    compared, unmatched, skipped = compare_all([good, lone, short], base)
    assert compared.reference == base.runs[0] and compared.verdict is Verdict.WARN
    assert [c.check for c in compared.failed] == [Check.FINAL_LOSS_VS_BASELINE]
    assert unmatched.reference is None and unmatched.provenance.notes[-1] == "no run in the baseline matches this name"
    assert skipped == short  # nothing measured, nothing to compare or note
    assert base.describe([compared, unmatched, skipped]) == (
        "compared with the baseline report r.json: 1 of 2 measured run(s) matched by name"
    )


def _load(workspace: Path, *patterns: str) -> Baseline:
    settings = build_settings({"path": "x", "baseline": "\n".join(patterns)}, workspace)
    return load_baseline(settings, workspace)


def _write_report(path: Path, runs: object) -> None:
    path.write_text(json.dumps({"tool": "training-drift", "runs": runs}))


def test_a_report_is_read_figure_by_figure_and_distrusted(tmp_path: Path) -> None:
    _write_report(
        tmp_path / "r.json",
        [
            {
                "name": "runs/a",
                "metrics": {"final_loss": 0.5, "smoothness": 1, "convergence_ratio": "x", "instability_events": 2},
                "curve_sampled": [[0, 2.0], [1, None], [True, 1.0], [2**63, 1.0], [3, "x"], "no", [4, 0.25]],
            },
            {"name": "runs/b", "metrics": {"final_loss": True, "instability_events": -1}, "curve_sampled": {}},
            {"name": "n" * 2000},
            {"metrics": {}},
            "not a run",
        ],
    )
    loaded = _load(tmp_path, "r.json")
    assert loaded.problem is None and loaded.source == "report r.json"
    a, b, long = loaded.runs
    # A point whose loss is not a number is a non-finite loss, as the report writes one (null).
    assert a == Reference("runs/a", "r.json", 0.5, 1.0, None, 2, ((0, 2.0), (1, math.inf), (3, math.inf), (4, 0.25)))
    assert (b.final_loss, b.instability_events, b.curve_sampled) == (None, None, ())
    assert long.name == "n" * 1000


def test_a_report_curve_is_capped(tmp_path: Path) -> None:
    points = [[s, 1.0] for s in range(baseline.MAX_SAMPLED + 10)]
    _write_report(tmp_path / "r.json", [{"name": "a", "curve_sampled": points}])
    (run,) = _load(tmp_path, "r.json").runs
    assert len(run.curve_sampled) == baseline.MAX_SAMPLED


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "baseline 'r.json' is not a readable report: not JSON (Expecting property name"),
        ('{"tool": "training-drift"}', "baseline 'r.json' is not a readable report: it has no runs list"),
        ("[" * 100_000 + "]" * 100_000, "baseline 'r.json' is not a readable report: not JSON"),
    ],
)
def test_a_broken_report_is_a_problem_not_a_crash(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "r.json").write_text(content)
    loaded = _load(tmp_path, "r.json")
    assert loaded.runs == () and loaded.problem is not None
    assert loaded.problem.startswith(problem) and loaded.problem.endswith("comparison skipped")


def test_an_oversized_report_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_report(tmp_path / "r.json", [{"name": "a"}])
    monkeypatch.setattr(baseline, "MAX_REPORT_BYTES", 16)
    assert _load(tmp_path, "r.json").problem == (
        "baseline 'r.json' is not a readable report: larger than 0 MiB; comparison skipped"
    )


def test_a_missing_or_escaping_report(tmp_path: Path) -> None:
    missing = _load(tmp_path, "nowhere.json")
    assert missing.problem is not None and missing.problem.startswith("baseline 'nowhere.json' not found")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    _write_report(outside, [])
    (tmp_path / "link.json").symlink_to(outside)
    escaped = _load(tmp_path, "link.json")
    assert escaped.problem == "baseline 'link.json' resolves outside the workspace: comparison skipped"
    outside.unlink()


def test_logs_as_the_baseline_are_judged_as_the_current_logs_are(tmp_path: Path) -> None:
    write_store(tmp_path / "main" / "runs" / "a", [decaying()])
    write_store(tmp_path / "main" / "runs" / "short", [decaying(3)])
    loaded = _load(tmp_path, "main/runs")
    assert loaded.problem is None and loaded.source == "logs main/runs"
    by_name = {ref.name: ref for ref in loaded.runs}
    a, short = by_name["main/runs/a"], by_name["main/runs/short"]
    assert a.final_loss == pytest.approx(decaying()[-1][1]) and a.instability_events == 0 and a.curve_sampled
    assert (short.final_loss, short.smoothness, short.instability_events) == (None, None, None)
    # A JSON file that is not a training-drift report is read as a log (trainer_state.json, say).
    (tmp_path / "other.json").write_text('{"log_history": []}')
    as_logs = _load(tmp_path, "other.json")
    assert as_logs.problem is None and as_logs.source == "logs other.json"
    assert [(ref.final_loss, ref.curve_sampled) for ref in as_logs.runs] == [(None, ())]
    assert _load(tmp_path, "empty-folder/*").problem == (
        "baseline 'empty-folder/*': no training logs found; comparison skipped; download main's "
        "training-drift-report.json (actions/download-artifact or actions/cache) or its logs before this step"
    )
