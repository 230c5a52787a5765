"""Comparison against a baseline: a report or logs of an earlier run, matched by run name."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from drift.config import Limit, RunSettings
from drift.gate import Check, Reference, Verdict, compare, judge
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


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, st.floats(min_value=0, max_value=500), st.booleans())
def test_the_final_loss_limit_is_the_baseline_plus_the_allowance(
    base: float, shift: float, allowed: float, relative: bool
) -> None:
    settings = RunSettings(max_final_loss_increase=Limit.parse(f"{allowed!r}%" if relative else repr(allowed)))
    values = [10.0 - 0.1 * s for s in range(40)]
    values[-1] = base + shift
    run = judge("r", _curve(values), settings)
    ref = Reference("r", "test", base, None, None, None)
    compared = compare(run, ref)
    (check,) = [c for c in compared.checks if c.check is Check.FINAL_LOSS_VS_BASELINE]
    room = abs(base) * allowed / 100 if relative else allowed
    assert check.threshold == base + room
    assert check.passed == (base + shift <= base + room)
    if not check.passed:
        assert compared.verdict is Verdict.WARN
