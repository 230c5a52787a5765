"""Reading without configuration: the step field and the metric's spelling a JSON-lines log uses,
JSON lines under other names, several candidate logs in one run folder, ``logs/`` folders that are
not dlm stores, and ``loss`` finding ``total_loss`` in every format that spells metrics freely."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.config import RunSettings
from drift.discovery import discover
from drift.gate import judge
from drift.readers import read
from drift.readers.common import STEP_KEYS, LogFile, ReadSpec
from drift.readers.jsonl import read_jsonl
from drift.render.messages import hint
from tests import writers
from tests.conftest import RunAction
from tests.test_native_scanner import _read, lines


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_one(path: Path, spec: ReadSpec | None = None, *, fast: bool = True) -> object:
    return read_jsonl([LogFile(path, path.name)], spec or ReadSpec(), fast=fast)


# --- the step field and the metric's spelling ---------------------------------------------------


@pytest.mark.parametrize("step_key", STEP_KEYS)
def test_each_usual_step_field_is_found_alone(tmp_path: Path, step_key: str) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{step_key: s, "loss": 1.0 / (s + 1), "lr": 0.1} for s in range(5)])
    curve = read_one(path)
    assert curve.step_name == step_key and curve.metric_name == "loss"  # type: ignore[attr-defined]
    assert curve.steps.tolist() == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]


def test_the_step_order_is_global_step_iteration_iter_current_steps_step_step_epoch(tmp_path: Path) -> None:
    """A record holding several takes the first in the documented order (README, step-key input)."""
    order = ["global_step", "trainer/global_step", "iteration", "iter", "current_steps", "step", "_step", "epoch"]
    assert list(STEP_KEYS) == order
    for i, chosen in enumerate(order):
        record = {key: 100 * (j + 1) for j, key in enumerate(order[i:])} | {"loss": 2.0}
        path = write_jsonl(tmp_path / f"{i}.jsonl", [record])
        assert read_one(path).step_name == chosen  # type: ignore[attr-defined]


def test_llama_factory_trainer_log_reads_current_steps_not_the_fractional_epoch(tmp_path: Path) -> None:
    records = [
        {"current_steps": s, "total_steps": 50, "loss": 1.0 - s / 100, "epoch": s / 50, "percentage": 2.0 * s}
        for s in range(1, 21)
    ]
    curve = read_one(write_jsonl(tmp_path / "trainer_log.jsonl", records))
    assert curve.step_name == "current_steps"  # type: ignore[attr-defined]
    assert curve.steps.tolist() == list(range(1, 21))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("keys", "chosen"),
    [
        (["total_loss", "loss_cls", "loss_box_reg"], "total_loss"),
        (["train/loss", "val/loss"], "train/loss"),
        (["train_loss", "total_loss"], "train_loss"),
        (["Loss", "lr"], "Loss"),
    ],
)
def test_loss_finds_the_usual_spellings_in_json_lines(tmp_path: Path, keys: list[str], chosen: str) -> None:
    records = [{"iteration": s, **{k: float(s + i) for i, k in enumerate(keys)}} for s in range(3)]
    curve = read_one(write_jsonl(tmp_path / "m.jsonl", records))
    assert curve.metric_name == chosen  # type: ignore[attr-defined]
    assert curve.values.tolist() == [float(s + keys.index(chosen)) for s in range(3)]  # type: ignore[attr-defined]


def test_a_step_key_that_is_set_is_read_and_nothing_else(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"it": s, "global_step": 100 + s, "loss": 1.0} for s in range(3)])
    assert read_one(path, ReadSpec(step_key="it")).steps.tolist() == [0, 1, 2]  # type: ignore[attr-defined]
    assert read_one(path).steps.tolist() == [100, 101, 102]  # type: ignore[attr-defined]


def test_the_metric_set_exactly_wins_over_a_spelling(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"step": s, "loss": 1.0, "total_loss": 2.0} for s in range(3)])
    assert read_one(path).metric_name == "loss"  # type: ignore[attr-defined]
    assert read_one(path, ReadSpec(metric="total_loss")).values.tolist() == [2.0] * 3  # type: ignore[attr-defined]


def test_keys_are_chosen_from_records_passing_the_filter(tmp_path: Path) -> None:
    records = [{"mode": "val", "epoch": 1, "loss": 9.0}] + [{"mode": "train", "iter": s, "loss": 1.0} for s in range(4)]
    curve = read_one(write_jsonl(tmp_path / "m.jsonl", records), ReadSpec(record_filter=("mode", "train")))
    assert curve.step_name == "iter" and curve.steps.tolist() == [0, 1, 2, 3]  # type: ignore[attr-defined]


def hint_for(path: Path, settings_: RunSettings) -> str:
    curve = read_one(path, ReadSpec(metric=settings_.metric, step_key=settings_.step_key))
    result = judge("run", curve, settings_)  # type: ignore[arg-type]
    assert result.verdict.value == "skip"
    return hint(result) or ""


def test_the_skip_hint_names_the_missing_step_field_not_the_metric(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"count": s, "loss": 1.0} for s in range(12)])
    hint = hint_for(path, RunSettings())
    assert "no numeric step" in hint and "step-key" in hint and "count" in hint
    assert "metric input" not in hint
    hint = hint_for(path, RunSettings(step_key="it"))
    assert "'it'" in hint and "step-key" in hint


def test_the_skip_hint_still_names_a_missing_metric(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"step": s, "acc": 1.0} for s in range(12)])
    hint = hint_for(path, RunSettings())
    assert "'loss'" in hint and "metric input" in hint and "acc" in hint


def test_keys_found_late_in_a_long_head_still_decide(tmp_path: Path) -> None:
    banners = [{"event": "config", "n": i} for i in range(300)]
    path = write_jsonl(tmp_path / "m.jsonl", banners + [{"iteration": s, "total_loss": 1.0} for s in range(5)])
    curve = read_one(path)
    assert (curve.step_name, curve.metric_name, len(curve)) == ("iteration", "total_loss", 5)  # type: ignore[attr-defined]


keys = st.sampled_from(["step", "global_step", "iteration", "iter", "epoch", "loss", "total_loss", "train/loss", "x"])
record = st.dictionaries(keys, st.one_of(st.integers(-3, 40), st.floats(allow_nan=False, width=32), st.none()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.one_of(record.map(json.dumps), lines()), max_size=25), min_size=1, max_size=2),
    st.sampled_from(["loss", "x"]),
)
def test_fast_path_equals_json_loads_with_keys_found_automatically(contents: list[list[str]], metric: str) -> None:
    """Whatever keys the head decides, the compiled scanner and json.loads read the same curve."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, body in enumerate(contents):
            path = Path(tmp) / f"log-{i}.jsonl"
            path.write_bytes("\n".join(body).encode("utf-8", "surrogatepass"))
            files.append(LogFile(path, path.name))
        spec = ReadSpec(metric=metric)
        assert _read(files, True, spec) == _read(files, False, spec)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.floats(allow_nan=False, allow_infinity=False)), max_size=40),
    st.sampled_from(STEP_KEYS),
    st.sampled_from(["loss", "total_loss", "train/loss", "train_loss"]),
)
def test_any_curve_under_any_usual_names_reads_back_last_wins(
    curve: list[tuple[int, float]], step_key: str, metric: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_jsonl(Path(tmp) / "m.jsonl", [{step_key: s, metric: v, "lr": 0.1} for s, v in curve])
        got = read_one(path)
        expected: dict[int, float] = {}
        for s, v in curve:
            expected[s] = v
        assert got.steps.tolist() == sorted(expected)  # type: ignore[attr-defined]
        assert got.values.tolist() == [expected[s] for s in sorted(expected)]  # type: ignore[attr-defined]
        if curve:
            assert (got.step_name, got.metric_name) == (step_key, metric)  # type: ignore[attr-defined]


# --- JSON lines under other names ---------------------------------------------------------------


def detectron2_metrics(path: Path, iterations: range, start: float) -> list[str]:
    """detectron2's JSONWriter: one sorted JSON object per line, appended to output/metrics.json."""
    return [
        json.dumps(
            {"iteration": i, "loss_cls": 0.5, "lr": 0.01, "time": 0.2, "total_loss": start - i / 1000},
            sort_keys=True,
        )
        for i in iterations
    ]


def test_detectron2_metrics_json_is_json_lines_and_a_restart_appends(tmp_path: Path) -> None:
    out = tmp_path / "output"
    first = detectron2_metrics(out, range(19, 400, 20), 3.0)
    resumed = detectron2_metrics(out, range(199, 600, 20), 2.0)  # restarted from a checkpoint at 199
    out.mkdir()
    (out / "metrics.json").write_text("\n".join(first + resumed) + "\n")
    (out / "config.json").write_text('{"SOLVER": {"BASE_LR": 0.01}}\n')  # a one-line document: not a log
    (out / "last_checkpoint").write_text("model_0000199.pth")
    (run,) = discover(["output"], tmp_path).runs
    assert run.format == "jsonl" and [f.display for f in run.files] == ["output/metrics.json"]
    curve = read(run.format, run.files, ReadSpec())
    assert (curve.step_name, curve.metric_name) == ("iteration", "total_loss")
    steps = curve.steps.tolist()
    assert steps == sorted(set(range(19, 400, 20)) | set(range(199, 600, 20)))
    by_step = dict(zip(steps, curve.values.tolist(), strict=True))
    assert by_step[219] == 2.0 - 219 / 1000 and by_step[179] == 3.0 - 179 / 1000  # the restart's values win


@pytest.mark.parametrize("name", ["metrics.json", "train.log", "history.txt"])
def test_json_lines_under_other_names_are_recognised_in_a_folder(tmp_path: Path, name: str) -> None:
    write_jsonl(tmp_path / "run" / name, [{"iter": s, "loss": 1.0} for s in range(3)])
    (run,) = discover(["run"], tmp_path).runs
    assert run.format == "jsonl" and run.files[0].display == f"run/{name}"


# --- several candidates in one folder, and the format input ------------------------------------


def mixed_folder(folder: Path) -> Path:
    writers.trainer_state(folder, writers.decaying(30))
    writers.lightning_csv(folder, writers.decaying(30, start=9.0))
    write_jsonl(folder / "trainer_log.jsonl", [{"current_steps": s, "loss": 7.0} for s in range(30)])
    return folder


def test_a_folder_of_several_formats_reads_the_most_structured_and_says_so(tmp_path: Path) -> None:
    mixed_folder(tmp_path / "out")
    (run,) = discover(["out"], tmp_path).runs
    assert run.format == "trainer-state"
    (note,) = run.notes
    assert note.startswith("read trainer-state (trainer_state.json); also here: csv (metrics.csv); jsonl")
    assert "Set format to read another" in note


@pytest.mark.parametrize(("fmt", "first"), [("csv", writers.decaying(1, start=9.0)[0][1]), ("jsonl", 7.0)])
def test_the_format_input_reads_another_candidate(
    run_action: RunAction, workspace: Path, fmt: str, first: float
) -> None:
    mixed_folder(workspace / "out")
    result = run_action(path="out", format=fmt, **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert run["source"]["format"] == fmt and not any(n.startswith("read ") for n in run["notes"])
    assert run["curve_sampled"][0] == [0, first] and run["metrics"]["num_steps"] == 30


def test_the_summary_and_report_say_which_candidate_was_read(run_action: RunAction, workspace: Path) -> None:
    mixed_folder(workspace / "out")
    result = run_action(path="out", **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert run["source"] == {
        "format": "trainer-state",
        "metric": None,
        "step": None,
        "files": ["out/trainer_state.json"],
    }
    assert any(n.startswith("read trainer-state (trainer_state.json); also here: csv") for n in run["notes"])
    assert "read trainer\\-state \\(trainer\\_state\\.json\\); also here\\: csv" in result.summary


# --- logs/ folders -------------------------------------------------------------------------------


def summary_writer_layout(run: Path) -> Path:
    """PyTorch's SummaryWriter per split: logs/training, logs/validation, logs/test."""
    writers.tensorboard(run / "logs" / "training", writers.decaying(40), tag="loss")
    writers.tensorboard(run / "logs" / "validation", [(s, 5.0) for s in range(0, 40, 10)], tag="loss")
    writers.tensorboard(run / "logs" / "test", [(40, 6.0)], tag="loss")
    return run


def test_a_logs_folder_of_tensorboard_splits_is_not_a_dlm_store(tmp_path: Path) -> None:
    summary_writer_layout(tmp_path / "exp")
    (run,) = discover(["exp"], tmp_path).runs
    assert (run.name, run.format, run.skip) == ("exp/logs/training", "tensorboard", None)
    assert run.notes == ("read the training split training; passed over the splits beside it: test, validation",)
    curve = read(run.format, run.files, ReadSpec())
    assert curve.steps.tolist() == list(range(40))
    assert curve.values.tolist() == pytest.approx([v for _, v in writers.decaying(40)], rel=1e-6)


def test_the_action_gates_the_training_split(run_action: RunAction, workspace: Path) -> None:
    summary_writer_layout(workspace / "exp")
    result = run_action(path="exp", **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert run["name"] == "exp/logs/training" and run["verdict"] == "pass"
    assert run["metrics"]["num_steps"] == 40


def test_splits_without_a_training_one_are_runs_each(tmp_path: Path) -> None:
    writers.tensorboard(tmp_path / "exp" / "logs" / "validation", writers.decaying(12), tag="loss")
    writers.tensorboard(tmp_path / "exp" / "logs" / "other", writers.decaying(12), tag="loss")
    names = [run.name for run in discover(["exp"], tmp_path).runs]
    assert names == ["exp/logs/other", "exp/logs/validation"]


def test_a_logs_folder_with_dlm_files_is_still_a_dlm_store(tmp_path: Path) -> None:
    dlm_file = tmp_path / "store" / "logs" / "train-000001-20260101T000000.jsonl"
    write_jsonl(dlm_file, [{"type": "step", "step": 1, "loss": 1.0}])
    writers.tensorboard(tmp_path / "store" / "logs" / "training", writers.decaying(5), tag="loss")
    (run,) = discover(["store"], tmp_path).runs
    assert run.format == "dlm" and run.name == "store"


def test_a_logs_folder_of_plain_json_lines_is_searched(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "run" / "logs" / "metrics.jsonl", [{"step": s, "loss": 1.0} for s in range(3)])
    (run,) = discover(["run"], tmp_path).runs
    assert (run.name, run.format) == ("run/logs", "jsonl")


# --- total_loss in every format that spells metrics freely -------------------------------------


def test_loss_finds_total_loss_in_tensorboard_csv_and_mlflow(tmp_path: Path) -> None:
    curve = writers.decaying(12)
    writers.tensorboard(tmp_path / "tb", curve, tag="total_loss")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text(
        "iteration,total_loss,loss_cls\n" + "".join(f"{s},{v!r},0.1\n" for s, v in curve)
    )
    writers.mlflow_run(tmp_path / "mlruns", curve, key="total_loss", run_name="d2")
    write_jsonl(tmp_path / "jl" / "metrics.jsonl", [{"iteration": s, "total_loss": v} for s, v in curve])
    found = discover(["tb", "csv", "mlruns", "jl"], tmp_path).runs
    assert sorted(run.format for run in found) == ["csv", "jsonl", "mlflow", "tensorboard"]
    for run in found:
        got = read(run.format, run.files, ReadSpec())
        assert got.metric_name == "total_loss", run.format
        assert got.steps.tolist() == [s for s, _ in curve], run.format
        assert got.values.tolist() == pytest.approx([v for _, v in curve], rel=1e-6), run.format
        if run.format == "csv":
            assert got.step_name == "iteration"
    assert all(math.isfinite(v) for _, v in curve)


def test_a_console_log_beside_structured_logs_is_passed_over_unless_format_says_text(
    run_action: RunAction, workspace: Path
) -> None:
    """trainer_state.json, a CSV and a nanoGPT console log in one output folder: the Trainer's
    file is read and the note names the others; ``format: text`` reads the console log."""
    folder = mixed_folder(workspace / "out")
    console = [f"iter {s}: loss {3.0 - s / 100:.4f}, time 12.50ms, mfu 30.00%" for s in range(30)]
    (folder / "train.log").write_text("\n".join(["Overriding config with config/train.py:", *console]) + "\n")
    result = run_action(path="out", **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert run["source"]["format"] == "trainer-state"
    assert any(n.startswith("read trainer-state") and "text (train.log)" in n for n in run["notes"])
    result = run_action(path="out", format="text", **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert run["source"]["format"] == "text" and run["source"]["files"] == ["out/train.log"]
    assert run["curve_sampled"] == [[s, float(f"{3.0 - s / 100:.4f}")] for s in range(30)]


def test_hostile_names_of_passed_over_candidates_stay_text(run_action: RunAction, workspace: Path) -> None:
    folder = workspace / "out"
    writers.trainer_state(folder, writers.decaying(30))
    write_jsonl(folder / "<img src=x onerror=alert(1)>\n::warning::pwned.jsonl", [{"step": 1, "loss": 1.0}])
    result = run_action(path="out", **{"fail-on": "never"})
    (run,) = result.report["runs"]
    assert any("<img src=x onerror=alert(1)>\n::warning::pwned.jsonl" in n for n in run["notes"])
    assert "<img" not in result.summary
    assert not any("pwned" in message for _, _, message in result.commands)


def test_a_wildcard_finds_the_training_split_below_each_matched_folder(tmp_path: Path) -> None:
    """``path: runs/*`` (the README's usage) on run folders whose event files sit in logs/<split>/."""
    summary_writer_layout(tmp_path / "runs" / "a")
    summary_writer_layout(tmp_path / "runs" / "b")
    (tmp_path / "runs" / "empty").mkdir()
    found = discover(["runs/*"], tmp_path)
    assert [(run.name, run.format) for run in found.runs] == [
        ("runs/a/logs/training", "tensorboard"),
        ("runs/b/logs/training", "tensorboard"),
    ]
    assert found.ignored == 1  # runs/empty: nothing below it


def test_matches_of_a_recursive_wildcard_are_not_searched_again(tmp_path: Path) -> None:
    summary_writer_layout(tmp_path / "runs" / "a")
    found = discover(["runs/**/"], tmp_path)  # every folder is a match; the training split is one
    assert [run.name for run in found.runs] == ["runs/a/logs/training"]


def test_a_split_named_without_wildcards_is_still_read(tmp_path: Path) -> None:
    summary_writer_layout(tmp_path / "exp")
    found = discover(["exp/logs/training", "exp/logs/validation"], tmp_path)
    assert [run.name for run in found.runs] == ["exp/logs/training", "exp/logs/validation"]
    assert all(not run.notes for run in found.runs)
