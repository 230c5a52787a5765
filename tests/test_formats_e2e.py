"""The action end to end on a workspace holding one run of every format at once, auto-detected."""

from __future__ import annotations

from pathlib import Path

from tests import writers
from tests.conftest import RunAction, write_store


def every_format(ws: Path) -> dict[str, str]:
    """One run of each format under ws/runs; returns run name -> expected format."""
    runs = ws / "runs"
    write_store(runs / "dlm-store", [writers.decaying()])
    writers.trainer_state(runs / "hf-out", writers.decaying(offset=1), checkpoints=(100, 200))
    writers.tensorboard(runs / "tb" / "simple", writers.decaying())
    writers.tensorboard(runs / "tb" / "tensor", writers.decaying(), tag="loss", tensor_form=True)
    writers.lightning_csv(runs / "lightning_logs" / "version_0", writers.decaying())
    writers.keras_csv(runs / "keras" / "history.csv", writers.decaying(n=60, rate=0.1))
    writers.mlflow_run(runs / "mlruns", writers.decaying(), run_name="bright-fox")
    writers.jsonl(runs / "generic" / "metrics.jsonl", writers.decaying())
    return {
        "runs/dlm-store": "dlm",
        "runs/hf-out": "trainer-state",
        "runs/tb/simple": "tensorboard",
        "runs/tb/tensor": "tensorboard",
        "runs/lightning_logs/version_0": "csv",
        "runs/keras": "csv",
        "bright-fox": "mlflow",
        "runs/generic": "jsonl",
    }


def test_one_run_of_every_format_at_once(run_action: RunAction, workspace: Path) -> None:
    expected = every_format(workspace)
    result = run_action(path="runs")
    assert result.code == 0, result.stdout + result.stderr
    report = {run["name"]: run for run in result.report["runs"]}
    assert {name: run["source"]["format"] for name, run in report.items()} == expected
    for name, run in report.items():
        assert run["verdict"] == "pass", (name, run["message"], run["hint"])
        assert run["metrics"]["num_steps"] == (60 if name == "runs/keras" else 200), name
    # Every reader finds the same curve the writers were given (to float32 for TensorBoard).
    assert report["runs/dlm-store"]["metrics"]["final_loss"] == writers.decaying()[-1][1]
    for name in expected:
        if name not in ("runs/keras", "runs/tb/simple", "runs/tb/tensor"):
            assert abs(report[name]["metrics"]["final_loss"] - writers.decaying()[-1][1]) < 1e-12, name
    for name in ("runs/tb/simple", "runs/tb/tensor"):
        assert abs(report[name]["metrics"]["final_loss"] - writers.decaying()[-1][1]) < 1e-6
    assert report["runs/tb/simple"]["source"]["metric"] == "train/loss"  # `loss` found as train/loss
    assert report["runs/lightning_logs/version_0"]["source"]["metric"] == "train_loss_step"
    assert report["bright-fox"]["source"]["metric"] == "train/loss"
    assert "trainer-state" in result.summary and "tensorboard" in result.summary


def test_a_spike_in_any_format_points_at_its_file(run_action: RunAction, workspace: Path) -> None:
    spiky = writers.with_spike(writers.decaying(), 120, 3.0)
    writers.tensorboard(workspace / "runs" / "tb", spiky)
    writers.lightning_csv(workspace / "runs" / "pl", spiky)
    writers.trainer_state(workspace / "runs" / "hf", spiky)
    result = run_action(path="runs/*")
    assert result.code == 1
    report = {run["name"]: run for run in result.report["runs"]}
    for name in ("runs/tb", "runs/pl", "runs/hf"):
        run = report[name]
        assert run["verdict"] == "warn", name
        (event,) = run["events"]
        assert event["step"] == 120 and event["kind"] == "spike"
        assert event["file"].startswith(name + "/")
    assert report["runs/pl"]["events"][0]["line"] is not None  # CSV points have lines
    assert report["runs/tb"]["events"][0]["record"] is not None  # event files have records
    assert report["runs/hf"]["events"][0]["record"] is not None  # log_history entries
    files = {props.get("file") for _, props, _ in result.annotations("error")}
    assert any(f and f.startswith("runs/tb/") for f in files)


def test_an_explicit_format_reads_only_that_format(run_action: RunAction, workspace: Path) -> None:
    every_format(workspace)
    result = run_action(path="runs", format="tensorboard")
    assert result.code == 0
    assert sorted(run["name"] for run in result.report["runs"]) == ["runs/tb/simple", "runs/tb/tensor"]


def test_jsonl_with_step_key_and_filter(run_action: RunAction, workspace: Path) -> None:
    path = workspace / "runs" / "home" / "log.jsonl"
    path.parent.mkdir(parents=True)
    lines = []
    for step, loss in writers.decaying():
        lines.append(f'{{"it": {step}, "split": "train", "loss": {loss!r}}}')
        lines.append(f'{{"it": {step}, "split": "eval", "loss": {loss * 3!r}}}')
    path.write_text("\n".join(lines) + "\n")
    result = run_action(path="runs/home", **{"step-key": "it", "record-filter": "split=train"})
    assert result.code == 0, result.stdout
    (run,) = result.report["runs"]
    assert run["metrics"]["num_steps"] == 200
    assert run["metrics"]["final_loss"] == writers.decaying()[-1][1]


def test_nothing_readable_says_what_was_tried(run_action: RunAction, workspace: Path) -> None:
    (workspace / "out").mkdir()
    (workspace / "out" / "notes.txt").write_text("no logs here")
    result = run_action(path="out")
    (run,) = result.report["runs"]
    assert run["verdict"] == "skip"
    assert run["message"] == "no logs/ directory under out"
    assert "tensorboard" in run["hint"] and "notes.txt" in run["hint"]


def test_an_annotation_names_the_record_a_line_number_cannot(run_action: RunAction, workspace: Path) -> None:
    spiky = writers.with_spike(writers.decaying(), 120, 3.0)
    writers.tensorboard(workspace / "tb", spiky)
    result = run_action(path="tb")
    ((_level, props, message),) = [a for a in result.annotations() if "instability" in a[1].get("title", "")]
    assert props["file"].startswith("tb/events.out.tfevents.") and "line" not in props
    # tensorboardX writes the file_version event first, then two scalars per step (loss, lr).
    assert "first event at step 120 (a rise of " in message
    assert message.endswith(f", record {2 + 2 * 120})")
