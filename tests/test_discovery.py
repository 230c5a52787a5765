"""Auto detection: which run folders a path holds, in which format, and which files each reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drift.discovery import discover
from drift.layouts import FORMATS


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


DLM_LINE = '{"type": "step", "step": 1, "loss": 1.0}\n'


def layout(ws: Path) -> None:
    touch(ws / "dlm-store" / "logs" / "train-000001-20260101T000000.jsonl", DLM_LINE)
    touch(ws / "hf-out" / "checkpoint-500" / "trainer_state.json", "{}")
    touch(ws / "hf-out" / "checkpoint-1000" / "trainer_state.json", "{}")
    touch(ws / "hf-out" / "runs" / "Jan01" / "events.out.tfevents.1.host")  # the folder is an HF run first
    touch(ws / "tb" / "run-a" / "events.out.tfevents.1700000000.host.1.0")
    touch(ws / "tb" / "run-a" / "events.out.tfevents.1700000100.host.1.0")
    touch(ws / "tb" / "run-b" / "events.out.tfevents.1700000000.host.2.0")
    touch(ws / "lightning_logs" / "version_0" / "metrics.csv", "epoch,step,train_loss\n")
    touch(ws / "lightning_logs" / "version_0" / "hparams.yaml", "{}")
    touch(ws / "mlruns" / "0" / "meta.yaml", "name: Default\n")
    touch(ws / "mlruns" / "0" / "abc" / "meta.yaml", "run_name: bright-fox-1\n")
    touch(ws / "mlruns" / "0" / "abc" / "metrics" / "train" / "loss", "1 0.5 0\n")
    touch(ws / "mlruns" / "0" / "abc" / "metrics" / "lr", "1 0.1 0\n")
    touch(ws / "mlruns" / "0" / "abc" / "params" / "lr", "0.1")
    touch(ws / "axolotl" / "metrics.jsonl", '{"step": 1, "loss": 2.0}\n')


def by_name(runs: tuple[object, ...]) -> dict[str, object]:
    return {run.name: run for run in runs}  # type: ignore[attr-defined]


def test_auto_finds_one_run_of_every_format_below_a_named_folder(tmp_path: Path) -> None:
    layout(tmp_path)
    found = discover(["."], tmp_path)
    runs = by_name(found.runs)
    formats = {name: run.format for name, run in runs.items()}  # type: ignore[attr-defined]
    assert formats == {
        "dlm-store": "dlm",
        "hf-out": "trainer-state",
        "tb/run-a": "tensorboard",
        "tb/run-b": "tensorboard",
        "lightning_logs/version_0": "csv",
        "bright-fox-1": "mlflow",  # named by meta.yaml
        "axolotl": "jsonl",
    }
    files = {name: [f.display for f in run.files] for name, run in runs.items()}  # type: ignore[attr-defined]
    assert files["tb/run-a"] == [
        "tb/run-a/events.out.tfevents.1700000000.host.1.0",
        "tb/run-a/events.out.tfevents.1700000100.host.1.0",
    ]
    assert sorted(files["hf-out"]) == [
        "hf-out/checkpoint-1000/trainer_state.json",
        "hf-out/checkpoint-500/trainer_state.json",
    ]
    mlflow = runs["bright-fox-1"]
    assert [(f.key, f.display) for f in mlflow.files] == [  # type: ignore[attr-defined]
        ("lr", "mlruns/0/abc/metrics/lr"),
        ("train/loss", "mlruns/0/abc/metrics/train/loss"),
    ]
    assert mlflow.folder == "mlruns/0/abc"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("hf-out/checkpoint-*/trainer_state.json", {"hf-out": "trainer-state"}),
        ("tb/*", {"tb/run-a": "tensorboard", "tb/run-b": "tensorboard"}),
        ("tb/run-a/events.out.tfevents.1700000100.host.1.0", {"tb/run-a": "tensorboard"}),
        ("lightning_logs/*/metrics.csv", {"lightning_logs/version_0": "csv"}),
        ("mlruns", {"bright-fox-1": "mlflow"}),
        ("mlruns/0/abc/metrics/lr", {"bright-fox-1": "mlflow"}),
        ("axolotl/metrics.jsonl", {"axolotl": "jsonl"}),
        ("dlm-store/logs", {"dlm-store": "dlm"}),
    ],
)
def test_patterns_name_runs_by_their_folder(tmp_path: Path, pattern: str, expected: dict[str, str]) -> None:
    layout(tmp_path)
    found = discover([pattern], tmp_path)
    assert {run.name: run.format for run in found.runs} == expected


def test_a_single_picked_event_file_reads_only_that_file(tmp_path: Path) -> None:
    layout(tmp_path)
    (run,) = discover(["tb/run-a/events.out.tfevents.1700000100.host.1.0"], tmp_path).runs
    assert [f.display for f in run.files] == ["tb/run-a/events.out.tfevents.1700000100.host.1.0"]


def test_an_explicit_format_only_looks_for_that_format(tmp_path: Path) -> None:
    layout(tmp_path)
    found = discover(["."], tmp_path, formats=("tensorboard",))
    assert {run.name for run in found.runs} == {"tb/run-a", "tb/run-b", "hf-out/runs/Jan01"}


def test_a_named_file_with_an_unknown_name_is_sniffed(tmp_path: Path) -> None:
    touch(tmp_path / "keras" / "training.log", "epoch,loss,val_loss\n0,1.0,1.1\n")
    touch(tmp_path / "other" / "notes.txt", "hello")
    touch(tmp_path / "other" / "image.bin", "\x00\x01")
    found = discover(["keras/training.log", "other/notes.txt"], tmp_path)
    # A named file no structured format claims is read as a console log, whose reader names it
    # when nothing in it is recognised (test_reader_text.py), rather than being passed over.
    assert [(run.name, run.format) for run in found.runs] == [("keras", "csv"), ("other", "text")]
    assert found.ignored == 0
    # Matched by a wildcard, a text file is a console log only when its content is recognised.
    found = discover(["other/*"], tmp_path)
    assert found.runs == () and found.ignored == 2


def test_dlm_like_jsonl_outside_logs_is_dlm(tmp_path: Path) -> None:
    touch(tmp_path / "bare" / "run.jsonl", '{"type": "banner"}\n' + DLM_LINE)
    touch(tmp_path / "plain" / "run.jsonl", '{"iter": 1, "loss": 2.0}\n')
    found = discover(["bare/run.jsonl", "plain/run.jsonl"], tmp_path)
    assert {run.name: run.format for run in found.runs} == {"bare": "dlm", "plain": "jsonl"}


def test_nothing_found_keeps_the_seed_message_and_says_what_was_tried(tmp_path: Path) -> None:
    touch(tmp_path / "empty" / "README.md", "x")
    (run,) = discover(["empty"], tmp_path).runs
    assert run.skip == "no logs/ directory under empty"
    assert run.hint is not None
    for fmt in FORMATS:
        assert fmt in run.hint
    assert "README.md" in run.hint


def test_an_empty_logs_folder_is_the_seed_skip(tmp_path: Path) -> None:
    (tmp_path / "store" / "logs").mkdir(parents=True)
    (run,) = discover(["store"], tmp_path).runs
    assert run.skip == "no train-*.jsonl files under store/logs"


def test_walking_never_follows_a_symlinked_folder(tmp_path: Path) -> None:
    touch(tmp_path / "outside" / "tb" / "events.out.tfevents.1.h")
    ws = tmp_path / "ws"
    (ws / "runs").mkdir(parents=True)
    os.symlink(tmp_path / "outside", ws / "runs" / "link")
    os.symlink(ws / "runs", ws / "runs" / "loop")
    (run,) = discover(["runs"], ws).runs
    assert run.skip == "no logs/ directory under runs"


def test_a_huge_folder_tree_stops_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drift import layouts

    for i in range(30):
        (tmp_path / "big" / f"d{i:02d}").mkdir(parents=True)
    touch(tmp_path / "big" / "d29" / "metrics.csv", "step,loss\n")
    real_walk = layouts.walk
    monkeypatch.setattr(layouts, "walk", lambda root, allowed, **kw: real_walk(root, allowed, **{**kw, "budget": 10}))
    found = discover(["big"], tmp_path)
    assert any("stopped looking" in note for note in found.notes)


def test_duplicate_mlflow_run_names_keep_their_folder(tmp_path: Path) -> None:
    for run_id in ("r1", "r2"):
        touch(tmp_path / "mlruns" / "1" / run_id / "meta.yaml", "run_name: same\n")
        touch(tmp_path / "mlruns" / "1" / run_id / "metrics" / "loss", "1 0.5 0\n")
    found = discover(["mlruns"], tmp_path)
    assert sorted(run.name for run in found.runs) == ["same (mlruns/1/r1)", "same (mlruns/1/r2)"]
