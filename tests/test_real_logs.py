"""Logs that real tools wrote, published in public repositories (tests/data/real/SOURCES.md says
where each came from and what is in it): auto detection finds each one, in the right format, and
the reader finds the points the source table counts."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from drift.discovery import discover
from drift.readers import read
from drift.readers.common import ReadSpec
from tests.conftest import REAL_LOGS, RunAction, shared

REAL = REAL_LOGS / "formats"

# case folder, spec, and per run: (format, points, metric read)
CASES: list[tuple[str, ReadSpec, list[tuple[str, int, str]]]] = [
    ("csv-lightning/pl-wrapper-cifar10", ReadSpec(), [("csv", 117, "train_loss_step")]),
    ("csv-lightning/byol3d-pretrain-diverges", ReadSpec(), [("csv", 727, "train/loss")]),
    ("csv-lightning/byol3d-finetune-resumed-epoch100", ReadSpec(), [("csv", 1467, "train/loss")]),
    ("csv-lightning/legacy-2020-no-step-column", ReadSpec(), [("csv", 104, "train_loss")]),
    ("csv-keras/braincnn-mnist-smooth", ReadSpec(), [("csv", 25, "loss")]),
    ("csv-keras/braincnn-age-flat-1000ep", ReadSpec(), [("csv", 1000, "loss")]),
    ("csv-keras/braincnn-all-nan", ReadSpec(), [("csv", 354, "loss")]),
    ("csv-keras/brats2020-unet-sorted-columns", ReadSpec(metric="val_loss"), [("csv", 24, "val_loss")]),
    ("jsonl/openpi-step-loss", ReadSpec(), [("jsonl", 300, "")]),
    # Two record shapes; step 65900 is logged twice, so 1989 records make 1988 points.
    ("jsonl/netra-nmt-mixed-records", ReadSpec(), [("jsonl", 1988, "")]),
    # Two runs appended in one log.txt: epochs 0-9 then 0-50, the later values win.
    ("jsonl/detr-epoch-log-txt", ReadSpec(metric="train_loss", step_key="epoch"), [("jsonl", 51, "")]),
    ("trainer-state/mistral-translator-checkpoints", ReadSpec(), [("trainer-state", 850, "")]),
    ("mlflow/sb3-dqn-nested-keys", ReadSpec(), [("mlflow", 29, "train/loss")]),
    ("mlflow/liver-ct-unet-1200ep", ReadSpec(metric="train_avg_loss"), [("mlflow", 1201, "train_avg_loss")]),
]


@pytest.mark.parametrize(("case", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_real_logs_are_found_and_read(case: str, spec: ReadSpec, expected: list[tuple[str, int, str]]) -> None:
    shared("real-logs", "formats")
    found = discover(["."], REAL / case)
    got = []
    for run in found.runs:
        curve = read(run.format, run.files, spec)
        got.append((run.format, len(curve), curve.metric_name))
        assert curve.skipped_lines == 0, (case, curve.first_skipped)
    assert got == expected


def test_the_latest_of_real_checkpoints_is_the_run() -> None:
    shared("real-logs", "formats")
    (run,) = discover(["."], REAL / "trainer-state" / "mistral-translator-checkpoints").runs
    curve = read(run.format, run.files, ReadSpec())
    # checkpoint-8500 sorts before checkpoint-500 as text; the reader goes by global_step.
    assert curve.files == ("checkpoint-8500/trainer_state.json",)


def test_a_keras_log_whose_loss_is_nan_throughout_counts_every_step_as_an_event() -> None:
    shared("real-logs", "formats")
    (run,) = discover(["."], REAL / "csv-keras" / "braincnn-all-nan").runs
    curve = read(run.format, run.files, ReadSpec())
    assert all(math.isinf(v) for v in curve.values.tolist())


def test_mlflow_runs_logged_without_steps_keep_their_order() -> None:
    shared("real-logs", "formats")
    found = discover(["."], REAL / "mlflow" / "dtcc-small-store-8-runs")
    assert len(found.runs) == 5  # the three FAILED runs have no metrics/ folder
    for run in found.runs:
        curve = read(run.format, run.files, ReadSpec())
        assert curve.steps.tolist() == [0, 1, 2]
        assert any("logged without a step" in note for note in curve.notes)


def test_the_action_on_every_real_log_at_once(run_action: RunAction, workspace: Path) -> None:
    shared("real-logs", "formats")
    shutil.copytree(REAL, workspace / "real")
    result = run_action(path="real", **{"fail-on": "never"})
    assert result.code == 0, result.stdout + result.stderr
    runs = result.report["runs"]
    formats = {run["source"]["format"] for run in runs}
    assert formats == {"csv", "jsonl", "trainer-state", "mlflow"}
    assert len(runs) == 19
    for run in runs:
        assert run["verdict"] in ("pass", "warn", "skip"), (run["name"], run["message"])
    by_name = {run["name"]: run for run in runs}
    diverges = by_name["real/csv-lightning/byol3d-pretrain-diverges/lightning_logs/version_13"]
    assert diverges["verdict"] == "warn" and diverges["metrics"]["instability_events"] > 0


def test_missing_public_data_fails_under_ci_and_skips_loudly_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import conftest

    monkeypatch.setattr(conftest, "SHARED", tmp_path / "no-shared")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-shared/real-logs/formats is missing"):
        conftest.shared("real-logs", "formats")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-shared/real-logs/formats is missing"):
        conftest.shared("real-logs", "formats")
    monkeypatch.setattr(conftest, "SHARED", tmp_path)
    assert conftest.shared() == tmp_path
