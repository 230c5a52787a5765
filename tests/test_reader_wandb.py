"""W&B run folders: the ``.wandb`` reader on folders the real ``wandb`` package wrote offline
(tests/wandb_runs.py), damaged copies of them, and hand-framed records for the framing's corners."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.curve import Curve
from drift.discovery import discover
from drift.errors import LogError
from drift.readers.common import LogFile, ReadSpec
from drift.readers.wandbrun import BLOCK, read_wandb
from tests import wandb_runs
from tests.conftest import RunAction, write_store
from tests.fuzz.formats import _wandb_field as _field
from tests.fuzz.formats import wandb_frame as frame

DECAY = [5.0 * math.exp(-0.05 * s) + 0.5 for s in range(200)]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("wandb-runs")
    return root, wandb_runs.write_runs(root)


@pytest.fixture
def runs(written: tuple[Path, dict[str, str]], workspace: Path) -> Iterator[dict[str, Path]]:
    """A fresh copy of the run folders in the workspace, by label."""
    root, ids = written
    shutil.copytree(root / "wandb", workspace / "wandb", symlinks=True)
    folders = {}
    for label, run_id in ids.items():
        (first, *_) = sorted((workspace / "wandb").glob(f"offline-run-*-{run_id}"))
        folders[label] = first
    yield folders


def wandb_file(folder: Path) -> Path:
    (found,) = folder.glob("run-*.wandb")
    return found


def read(*paths: Path, metric: str = "loss") -> Curve:
    return read_wandb([LogFile(p, p.name) for p in paths], ReadSpec(metric=metric))


# --- end to end, through entrypoint.py ------------------------------------------------------------------


def test_wandb_runs_are_found_named_and_gated(runs: dict[str, Path], run_action: RunAction) -> None:
    result = run_action(path="wandb")
    assert result.code == 1, result.stdout  # the spiky run WARNs
    by_name = {run["name"]: run for run in result.report["runs"]}
    assert set(by_name) == {"healthy-run", "spiky-run", "resumed-run", "long-run"}
    healthy = by_name["healthy-run"]
    assert healthy["verdict"] == "pass" and healthy["metrics"]["num_steps"] == 200
    assert healthy["source"]["format"] == "wandb" and healthy["source"]["metric"] == "train/loss"
    spiky = by_name["spiky-run"]
    assert spiky["verdict"] == "warn" and spiky["events"][0]["step"] == 100
    assert spiky["events"][0]["record"] is not None  # the place: a record of the .wandb file
    assert by_name["long-run"]["metrics"]["num_steps"] == 20_000


def test_a_resumed_run_is_one_run_and_the_later_session_wins(runs: dict[str, Path], run_action: RunAction) -> None:
    result = run_action(path="wandb")
    (resumed,) = [run for run in result.report["runs"] if run["name"] == "resumed-run"]
    assert len(resumed["source"]["files"]) == 2  # two session folders, one run
    assert resumed["metrics"]["num_steps"] == 200
    # Steps 100-119 were logged in both sessions; the resumed session's values (0.001 lower) win.
    assert resumed["metrics"]["final_loss"] == pytest.approx(DECAY[-1] - 0.001)


def test_the_same_curve_gives_the_same_figures_as_a_dlm_store(
    runs: dict[str, Path], run_action: RunAction, workspace: Path
) -> None:
    write_store(workspace / "dlm" / "healthy", [list(enumerate(DECAY))])
    wandb = run_action(path=str(runs["healthy"].relative_to(workspace)))
    dlm = run_action(path="dlm/healthy")
    (got,), (want,) = wandb.report["runs"], dlm.report["runs"]
    for key in ("verdict", "score", "metrics", "failed_checks"):
        assert got[key] == want[key], key


def test_a_run_killed_mid_write_keeps_what_was_written(runs: dict[str, Path], run_action: RunAction) -> None:
    path = wandb_file(runs["long"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10 + 3])  # cut inside a record
    result = run_action(path=str(runs["long"].parent.name) + "/" + runs["long"].name)
    (run,) = result.report["runs"]
    assert run["verdict"] == "pass"
    assert 10_000 < run["metrics"]["num_steps"] < 20_000
    assert run["skipped_lines"] == 1
    curve = read(path)
    assert len(curve) == run["metrics"]["num_steps"] and curve.skipped_lines == 1
    # The damage comes right after the last record read (summary, stats or telemetry records
    # may sit between them).
    assert curve.first_skipped is not None and curve.first_skipped.unit == "record"
    assert str(curve.first_skipped).startswith(f"{path.name} record ")
    assert 0 < (curve.first_skipped.line or 0) - int(curve.line[-1]) <= 10


def test_a_damaged_chunk_is_skipped_and_reading_goes_on_at_the_next_block(runs: dict[str, Path]) -> None:
    path = wandb_file(runs["long"])
    data = bytearray(path.read_bytes())
    whole = read(path)
    data[3 * BLOCK + 100] ^= 0xFF  # inside the fourth block
    path.write_bytes(bytes(data))
    damaged = read(path)
    assert damaged.skipped_lines >= 1 and damaged.first_skipped is not None
    lost = len(whole) - len(damaged)
    assert 0 < lost < 2000  # about one block's records, not the rest of the file
    assert damaged.steps[-1] == whole.steps[-1]


def test_a_file_that_is_not_a_wandb_log_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"not a wandb file at all")
    with pytest.raises(LogError, match="is not a W&B run file"):
        read(path)


def test_a_missing_metric_lists_the_keys_logged(runs: dict[str, Path]) -> None:
    curve = read(wandb_file(runs["healthy"]), metric="accuracy")
    assert len(curve) == 0 and "lr" in curve.fields_seen and "train/loss" in curve.fields_seen


def test_the_wandb_folder_itself_is_not_a_run(runs: dict[str, Path], workspace: Path) -> None:
    found = discover(["wandb"], workspace)
    assert {run.format for run in found.runs} == {"wandb"}
    assert all("debug" not in f.display for run in found.runs for f in run.files)


# --- the framing, on records framed here ----------------------------------------------------------------


def history_record(step: int, loss: float) -> bytes:
    items = _field(1, _field(2, b"loss") + _field(16, repr(loss).encode()))
    items += _field(1, _field(2, b"_step") + _field(16, str(step).encode()))
    return _field(2, items)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=400),
    st.integers(min_value=0, max_value=3000),
)
def test_framed_histories_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, values: list[float], pad: int
) -> None:
    # A padding record of random size moves every later record across block boundaries.
    records = [_field(17, _field(8, b"x" * pad)), *(history_record(s, v) for s, v in enumerate(values))]
    path = tmp_path_factory.mktemp("framed") / "run-a.wandb"
    path.write_bytes(frame(records))
    curve = read(path)
    assert curve.skipped_lines == 0
    assert curve.steps.tolist() == list(range(len(values)))
    assert curve.values.tolist() == values


def test_a_record_larger_than_a_block_spans_chunks(tmp_path: Path) -> None:
    big = _field(17, _field(8, b"n" * (3 * BLOCK)))
    path = tmp_path / "run-a.wandb"
    path.write_bytes(frame([big, *(history_record(s, 1.0 / (s + 1)) for s in range(50))]))
    curve = read(path)
    assert len(curve) == 50 and curve.skipped_lines == 0


def test_a_file_that_is_not_a_wandb_log_after_the_first_keeps_the_file_indices(tmp_path: Path) -> None:
    """Found by the fuzzer: the points of the file after a skipped one pointed at the skipped one."""
    first, junk, last = tmp_path / "run-1.wandb", tmp_path / "run-2.wandb", tmp_path / "run-3.wandb"
    first.write_bytes(frame([history_record(0, 3.0)]))
    junk.write_bytes(b"junk")
    last.write_bytes(frame([history_record(s, 2.0 / s) for s in range(1, 4)]))
    curve = read(first, junk, last)
    assert curve.file_index.tolist() == [0, 2, 2, 2] and curve.skipped_lines == 1
    assert str(curve.first_skipped) == "run-2.wandb record 1"
