"""End to end: entrypoint.py in a subprocess with the runner's environment."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from tests.conftest import RunAction, checked_report, decaying, dlm_fixture, step_line, write_store


def noisy(n: int = 60) -> list[tuple[int, float]]:
    """Descends overall but zig-zags: smoothness far below 0.7, no rise big enough to be a spike."""
    return [(s, 10.0 - 0.15 * s + (2.0 if s % 2 else 0.0)) for s in range(n)]


def flat_ish(n: int = 60) -> list[tuple[int, float]]:
    """Smooth and monotone but barely improving: convergence ratio ~0.9."""
    return [(s, 3.0 - 0.005 * s) for s in range(n)]


def barely(n: int = 60) -> list[tuple[int, float]]:
    """Smooth and monotone, its trend improving by about 0.2%: it did not learn."""
    return [(s, 3.0 - 0.0001 * s) for s in range(n)]


def spiky(n: int = 60) -> list[tuple[int, float]]:
    curve = decaying(n)
    curve[30] = (30, curve[30][1] + 2.0)
    return curve


def test_healthy_run_passes(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "main", [decaying()])
    result = run_action(path="runs/main")
    assert result.code == 0, result.stdout + result.stderr
    assert result.outputs["verdict"] == "pass"
    assert result.outputs["passed"] == "true"
    assert result.outputs["report-path"] == "training-drift-report.json"
    assert result.annotations() == []
    assert result.stderr == ""
    report = result.report
    assert report["schema"] == 1 and report["verdict"] == "pass" and report["passed"] is True
    (run,) = report["runs"]
    assert run["name"] == "runs/main"
    assert run["metrics"]["num_steps"] == 50 and run["metrics"]["num_log_files"] == 1
    assert run["metrics"]["instability_events"] == 0
    assert float(result.outputs["final-loss"]) == pytest.approx(run["metrics"]["final_loss"])
    assert result.summary.startswith("## ✅ training-drift: PASS, the gate passed")
    assert "| <code>runs/main</code> | ✅ PASS |" in result.summary
    assert "```mermaid\n" in result.summary and "xychart-beta" in result.summary


@pytest.mark.parametrize(
    ("curve", "metric", "setting", "original"),
    [
        # The original probe's checks, behind original-checks: true.
        (noisy(), "smoothness", "min-smoothness", "true"),
        (flat_ish(), "convergence_ratio", "max-convergence-ratio", "true"),
        (spiky(), "instability_events", "max-instability-events", "true"),
        # The default checks.
        (barely(), "improvement", "min-improvement", ""),
        (spiky(), "instability_events", "max-instability-events", ""),
    ],
)
def test_each_failed_threshold_fails_the_gate_with_one_annotation(  # noqa: PLR0917 - parametrized
    run_action: RunAction,
    workspace: Path,
    curve: list[tuple[int, float]],
    metric: str,
    setting: str,
    original: str,
) -> None:
    write_store(workspace / "runs" / "a", [curve])
    result = run_action(path="runs/a", original_checks=original)
    assert result.code == 1
    assert result.outputs["verdict"] == "warn" and result.outputs["passed"] == "false"
    (annotation,) = result.annotations()
    level, props, message = annotation
    assert level == "error"
    assert props["title"] == f"training-drift: {metric}"
    assert props["file"] == "runs/a/logs/train-000001-20260426T060100.jsonl"
    assert message.startswith(f"runs/a: {metric} = ") and f"({setting})" in message
    (run,) = result.report["runs"]
    assert [c["metric"] for c in run["failed_checks"]] == [metric]
    side = "below" if metric in {"smoothness", "improvement"} else "above"
    assert f"is {side} `{setting}`" in result.summary


def test_instability_annotation_points_at_the_line_of_the_first_spike(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [spiky()])
    result = run_action(path="runs/a")
    (_, props, message) = result.annotations("error")[0]
    # line 1 is the banner, step 0 is line 2, so step 30 is line 32
    assert props["line"] == "32"
    assert "first event at step 30" in message
    assert result.report["runs"][0]["spike_steps"] == [30]


def test_fail_on_error_turns_warn_into_warning_annotations(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "a", [spiky()])
    result = run_action(path="runs/a", fail_on="error")
    assert result.code == 0
    assert result.outputs["verdict"] == "warn" and result.outputs["passed"] == "true"
    assert [a[0] for a in result.annotations()] == ["warning"]


def test_fail_on_never_reports_only(run_action: RunAction, workspace: Path) -> None:
    (workspace / "runs" / "bad" / "logs").mkdir(parents=True)
    (workspace / "runs" / "bad" / "logs" / "train-000001-x.jsonl").write_text("not json\n")
    result = run_action(path="runs/bad", fail_on="never")
    assert result.code == 0
    assert result.outputs["verdict"] == "error" and result.outputs["passed"] == "true"


def test_short_run_is_skip_and_passes(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "smoke", [decaying(5)])
    result = run_action(path="runs/smoke")
    assert result.code == 0
    assert result.outputs["verdict"] == "skip"
    run = result.report["runs"][0]
    assert run["verdict"] == "skip"
    assert run["message"] == "only 5 step records (< min_steps=10); curve too short to fit reliably"
    assert "only 5 step records" in result.summary
    assert result.outputs["final-loss"] == ""


def test_broken_first_line_is_error_naming_file_and_line(run_action: RunAction, workspace: Path) -> None:
    logs = workspace / "runs" / "bad" / "logs"
    logs.mkdir(parents=True)
    (logs / "train-000001-x.jsonl").write_text('{"type": "step", "step": 0, "loss": \n' + step_line(1, 2.0) + "\n")
    write_store(workspace / "runs" / "good", [decaying()])
    result = run_action(path="runs/*")
    assert result.code == 1
    assert result.outputs["verdict"] == "error"
    (level, props, message) = result.annotations()[0]
    assert level == "error"
    assert props["file"] == "runs/bad/logs/train-000001-x.jsonl" and props["line"] == "1"
    assert "first line of runs/bad/logs/train-000001-x.jsonl is not valid JSON" in message
    verdicts = {run["name"]: run["verdict"] for run in result.report["runs"]}
    assert verdicts == {"runs/bad": "error", "runs/good": "pass"}  # nothing computed is lost
    assert "Traceback" not in result.stdout + result.stderr


def test_partial_last_line_is_skipped_and_counted(run_action: RunAction, workspace: Path) -> None:
    store = write_store(workspace / "run", [decaying()])
    log = next((store / "logs").iterdir())
    log.write_text(log.read_text() + '{"type": "step", "step": 50, "lo')
    result = run_action(path="run")
    assert result.code == 0
    run = result.report["runs"][0]
    assert run["skipped_lines"] == 1 and run["metrics"]["num_steps"] == 50
    assert (
        "1 broken line(s) skipped, the first at <code>run/logs/train\\-000001\\-20260426T060100\\.jsonl\\:52</code>"
        in result.summary
    )


def test_resumed_run_keeps_the_latest_file_per_step(run_action: RunAction, workspace: Path) -> None:
    first = [(s, 5.0 - 0.05 * s) for s in range(40)]
    second = [(s, 1.0 - 0.001 * s) for s in range(30, 60)]  # resumed from 30 with different values
    write_store(workspace / "run", [first, second])
    result = run_action(path="run")
    run = result.report["runs"][0]
    assert run["metrics"]["num_steps"] == 60 and run["metrics"]["num_log_files"] == 2
    curve = dict(run["curve_sampled"])
    assert curve[35] == pytest.approx(1.0 - 0.035) and curve[29] == pytest.approx(5.0 - 0.05 * 29)


@pytest.mark.parametrize(
    ("policy", "code", "level"), [("error", 1, "error"), ("warn", 0, "warning"), ("ignore", 0, None)]
)
def test_no_logs(run_action: RunAction, policy: str, code: int, level: str | None) -> None:
    result = run_action(path="runs/*", if_no_logs=policy)
    assert result.code == code
    assert result.outputs["passed"] == ("false" if code else "true")
    kinds = [a[0] for a in result.annotations()]
    assert kinds == ([level] if level else [])
    if level:
        assert "No training logs found for path 'runs/*'" in result.annotations()[0][2]
    assert "No training logs found" in result.summary


def test_store_without_logs_folder_is_skip_but_no_logs_fails(run_action: RunAction, workspace: Path) -> None:
    (workspace / "store").mkdir()
    result = run_action(path="store")
    assert result.code == 1
    assert result.report["runs"][0]["message"] == "no logs/ directory under store"


def test_glob_gives_one_run_per_store(run_action: RunAction, workspace: Path) -> None:
    for i in range(10):
        write_store(workspace / "runs" / f"r{i}", [decaying()])
    (workspace / "runs" / "README.md").write_text("not a store")
    result = run_action(path="runs/*")
    assert result.code == 0
    assert sorted(run["name"] for run in result.report["runs"]) == [f"runs/r{i}" for i in range(10)]
    assert "1 matched path(s) are not training logs of a format tried" in result.report["notes"][0]


def test_paths_logs_folder_and_single_files(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "a", [decaying()])
    write_store(workspace / "b", [decaying(), decaying(60)])
    result = run_action(path="a/logs\nb/logs/train-000002-*.jsonl")
    runs = {run["name"]: run for run in result.report["runs"]}
    assert set(runs) == {"a", "b"}
    assert runs["b"]["source"]["files"] == ["b/logs/train-000002-20260426T060200.jsonl"]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"min_smoothness": "high"}, "workflow input: min-smoothness must be a number from 0 to 1, got 'high'"),
        ({"rolling_window": "-3"}, "workflow input: rolling-window must be an integer from 2 to 1000, got '-3'"),
        ({"fail_on": "sometimes"}, "fail-on must be one of warn, error, never"),
        ({"path": ""}, "workflow input: path is required"),
        ({"config": "missing.yml"}, "config file 'missing.yml' not found"),
    ],
)
def test_bad_configuration_stops_with_one_error_line(
    run_action: RunAction, workspace: Path, inputs: dict[str, str], expected: str
) -> None:
    write_store(workspace / "run", [decaying()])
    result = run_action(**{"path": "run", **inputs})
    assert result.code == 2
    (annotation,) = result.annotations()
    assert annotation[0] == "error" and expected in annotation[2]
    assert "\n" not in annotation[2]
    assert result.outputs == {"verdict": "error", "passed": "false"}
    assert not (workspace / "training-drift-report.json").exists()  # stopped before reading any log


def test_config_file_errors_name_file_and_line(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "run", [decaying()])
    (workspace / "drift.yml").write_text("min_smoothness: 0.5\nmax-instabilty-events: 2\n")
    result = run_action(path="run", config="drift.yml")
    assert result.code == 2
    assert result.annotations()[0][2] == (
        "drift.yml:2: unknown setting 'max-instabilty-events' (did you mean max-instability-events?)"
    )


def test_config_file_overrides_and_input_precedence(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "noisy-1", [spiky()])
    write_store(workspace / "runs" / "clean", [spiky()])
    (workspace / "drift.yml").write_text(
        "max_instability_events: 0\noverrides:\n  'runs/noisy-*':\n    max-instability-events: 1\n"
    )
    result = run_action(path="runs/*", config="drift.yml")
    verdicts = {run["name"]: run["verdict"] for run in result.report["runs"]}
    assert verdicts == {"runs/noisy-1": "pass", "runs/clean": "warn"}
    thresholds = {run["name"]: run["thresholds"]["max_instability_events"] for run in result.report["runs"]}
    assert thresholds == {"runs/noisy-1": 1, "runs/clean": 0}
    # A workflow input beats the file, overrides included.
    result = run_action(path="runs/*", config="drift.yml", max_instability_events="5")
    assert {run["verdict"] for run in result.report["runs"]} == {"pass"}


def test_annotations_are_capped_at_ten_per_kind_with_a_notice(run_action: RunAction, workspace: Path) -> None:
    for i in range(12):
        write_store(workspace / "runs" / f"r{i:02d}", [spiky()])
    result = run_action(path="runs/*")
    kinds = [a[0] for a in result.annotations()]
    assert kinds == ["error"] * 10 + ["notice"]
    assert result.annotations("notice")[0][2].startswith("2 errors more")


def test_report_path_and_nonfinite_as_null(run_action: RunAction, workspace: Path) -> None:
    store = write_store(workspace / "run", [decaying()])
    log = next((store / "logs").iterdir())
    log.write_text(log.read_text().replace('"loss": 3.', '"loss": NaN, "x": 3.', 1))
    result = run_action(path="run", report_path="out/report.json")
    assert result.outputs["report-path"] == "out/report.json"
    text = (workspace / "out" / "report.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    run = checked_report(json.loads(text))["runs"][0]
    assert run["nonfinite_steps"] and None in [loss for _, loss in run["curve_sampled"]]


def test_real_dlm_fixture(run_action: RunAction, workspace: Path) -> None:
    fixture = dlm_fixture()
    logs = workspace / "store" / "logs"
    logs.mkdir(parents=True)
    shutil.copy(fixture, logs / "train-000001-20260426T062514.jsonl")
    result = run_action(path="store")
    run = result.report["runs"][0]
    assert run["metrics"]["num_steps"] == 30
    assert run["metrics"]["initial_loss"] == 5.234
    assert math.isclose(run["metrics"]["convergence_ratio"], run["metrics"]["final_loss"] / 5.234)


def test_an_svg_of_every_curve_lands_beside_the_report(run_action: RunAction, workspace: Path) -> None:
    import xml.etree.ElementTree as ET

    write_store(workspace / "runs" / "a", [decaying()])
    write_store(workspace / "runs" / "::error::<b>", [decaying()])
    (workspace / "runs" / "empty").mkdir()
    result = run_action(path="runs/*, runs/empty", **{"report-path": "out/report.json"})
    runs = {run["name"]: run for run in result.report["runs"]}
    assert runs["runs/empty"]["chart"] is None  # a SKIP has no curve
    charts = [runs["runs/a"]["chart"], runs["runs/::error::<b>"]["chart"]]
    assert len(set(charts)) == 2
    for chart in charts:
        path = workspace / chart
        assert path.parent == workspace / "out" / "report-charts"
        ET.fromstring(path.read_text(encoding="utf-8"))  # well-formed


def test_the_report_gives_each_run_the_spike_threshold_it_was_held_to(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "runs" / "short", [decaying(500)])
    write_store(workspace / "runs" / "long", [decaying(20_000, rate=0.0005)])
    write_store(workspace / "runs" / "seed", [decaying(500)])
    (workspace / "drift.yml").write_text("overrides:\n  runs/seed:\n    spike-method: seed\n")
    result = run_action(path="runs/*", config="drift.yml")
    got = {run["name"]: run["spike_threshold"] for run in result.report["runs"]}
    # robust-sigma up to 1,000 steps; beyond, sqrt(4.4² + 2·ln(20)) for 20,000 steps; no such figure for the seed rule.
    assert got["runs/short"] == 4.4 and got["runs/seed"] is None
    assert math.isclose(got["runs/long"], 5.0350, abs_tol=1e-4)
