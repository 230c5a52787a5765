"""W&B run folders: the ``.wandb`` reader on folders the real ``wandb`` package wrote offline
(tests/wandb_runs.py), damaged copies of them, and hand-framed records for the framing's corners."""

from __future__ import annotations

import math
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.curve import Curve
from drift.discovery import discover
from drift.errors import LogError
from drift.readers import wandbrun
from drift.readers.common import LogFile, ReadSpec
from drift.readers.wandbrun import BLOCK, read_wandb
from tests import wandb_runs
from tests.conftest import RunAction, write_store
from tests.fuzz.formats import _wandb_field as _field
from tests.fuzz.formats import _wandb_varint as _varint
from tests.fuzz.formats import wandb_frame as frame
from tests.fuzz.targets import Reading, limits, reading, same

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
    assert set(by_name) == {"healthy-run", "spiky-run", "resumed-run", "long-run", "console-run"}
    healthy = by_name["healthy-run"]
    assert healthy["verdict"] == "pass" and healthy["metrics"]["num_steps"] == 200
    assert healthy["source"]["format"] == "wandb" and healthy["source"]["metric"] == "train/loss"
    spiky = by_name["spiky-run"]
    assert spiky["verdict"] == "warn" and spiky["events"][0]["step"] == 100
    assert spiky["events"][0]["record"] is not None  # the place: a record of the .wandb file
    assert by_name["long-run"]["metrics"]["num_steps"] == 20_000


def test_a_run_without_history_is_read_from_its_console_capture(runs: dict[str, Path], run_action: RunAction) -> None:
    folder = runs["console"]
    capture = folder / "files" / "output.log"
    assert "step 199 | loss" in capture.read_text()  # written by wandb itself, from the script's stdout
    result = run_action(path=f"wandb/{folder.name}")
    (run,) = result.report["runs"]
    assert run["name"] == "console-run" and run["verdict"] == "pass"
    assert run["metrics"]["num_steps"] == 200
    assert run["metrics"]["final_loss"] == pytest.approx(DECAY[-1], abs=1e-6)
    shown = f"wandb/{folder.name}/files/output.log"
    assert run["source"]["format"] == "text" and run["source"]["files"] == [shown]
    assert any("logged no history" in note and shown in note for note in run["notes"])


def test_a_console_capture_linked_out_of_the_run_folder_is_not_read(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = runs["console"]
    capture = folder / "files" / "output.log"
    outside = tmp_path / "elsewhere.log"
    outside.write_text(capture.read_text())
    capture.unlink()
    capture.symlink_to(outside)
    path = wandb_file(folder)
    curve = wandbrun.read_wandb_run([LogFile(path, path.name)], ReadSpec())
    assert curve.format == "wandb" and len(curve) == 0


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


# --- the compiled walker against the reference -------------------------------------------------------


def test_the_compiled_walker_is_built() -> None:
    assert wandbrun._native_function() is not None, "run: python -m drift.native"


TINY = {"CHUNK_BYTES": BLOCK, "VALUES_PER_CALL": 1, "KEYS_PER_CALL": 1, "KEY_BYTES_PER_CALL": 1}


def readings(paths: list[Path], metric: str) -> tuple[Reading, ...]:
    """The reference, the compiled walker, the walker with one-value arrays and one-block pieces, and
    the walker in two parts on two threads for any file over a block and a half."""
    files = [LogFile(p, p.name) for p in paths]
    spec = ReadSpec(metric=metric)
    names = [p.name for p in paths]
    reference = reading(lambda: read_wandb(files, spec, fast=False), names)
    fast = reading(lambda: read_wandb(files, spec), names)
    with limits("wandb", TINY):
        tiny = reading(lambda: read_wandb(files, spec), names)
    with limits("wandb", {**TINY, "SPLIT_BYTES": 0}):
        split = reading(lambda: read_wandb(files, spec), names)
    return reference, fast, tiny, split


def assert_agree(paths: list[Path], metric: str) -> Reading:
    reference, fast, tiny, split = readings(paths, metric)
    same(fast, reference, "compiled walker vs reference")
    same(tiny, reference, "compiled walker, tiny arrays, vs reference")
    same(split, reference, "compiled walker in two parts vs reference")
    return reference


def test_the_walker_and_the_reference_agree_on_the_real_runs(
    runs: dict[str, Path], written: tuple[Path, dict[str, str]]
) -> None:
    resumed = sorted(runs["resumed"].parent.glob(f"offline-run-*-{written[1]['resumed']}*/run-*.wandb"))
    assert len(resumed) == 2
    for label, folder in runs.items():
        got = assert_agree(resumed if label == "resumed" else [wandb_file(folder)], "loss")
        assert isinstance(got, Curve) and (len(got) > 0) == (label != "console")
    cut = wandb_file(runs["long"])
    data = cut.read_bytes()
    for end in (len(data) // 3, len(data) // 3 + 5, len(data) - 1, 3 * BLOCK, 3 * BLOCK + 3):
        cut.write_bytes(data[:end])
        assert_agree([cut], "loss")


JSON_TEXTS = [
    "1", "-0", "2.5", " 3 ", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e19", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "4.0", "4.5", "1E2", "01", "1.", ".5",
    "true", "null", '"7"', "", "\t8\n", "1" * 4001, "1" + "0" * 3999, "0.1e-400", "12345678901234567890.0",
]  # fmt: skip
KEYS = [
    "loss",
    "Loss",
    "train/loss",
    "TRAIN/LOSS",
    "train_loss_step",
    "lr",
    "_step",
    "_runtime",
    "",
    "lo\u017fs",
    "\u212a",
]


@st.composite
def items(draw: st.DrawFn) -> bytes:
    key = draw(st.sampled_from(KEYS) | st.text(max_size=4))
    encoded = key.encode("utf-8", "surrogatepass")
    naming = draw(st.integers(0, 4))
    if naming == 0:
        head = _field(1, encoded)
    elif naming == 1:
        head = _field(2, encoded)
    elif naming == 2:  # nested parts, sometimes too long for the walker's buffer
        parts = encoded.split(b"/") + ([b"x" * 1100] if draw(st.booleans()) else [])
        head = b"".join(_field(2, part) for part in parts)
    elif naming == 3:
        head = _field(1, b"") + _field(2, encoded)
    else:
        head = b""
    values = []
    for kind in draw(st.lists(st.integers(0, 3), max_size=2)):
        if kind == 0:
            values.append(_field(16, draw(st.sampled_from(JSON_TEXTS)).encode()))
        elif kind == 1:
            values.append(_varint(5 << 3) + _varint(draw(st.integers(-(2**63), 2**64 - 1))))
        elif kind == 2:
            values.append(_varint(6 << 3 | 1) + struct.pack("<d", draw(st.floats(width=64) | st.just(1e19))))
        else:
            values.append(_field(16, draw(st.binary(max_size=6))))
    return head + b"".join(values)


@st.composite
def records(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    number = _varint(1 << 3) + _varint(draw(st.integers(0, 2**64 - 1))) if draw(st.booleans()) else b""
    if kind <= 5:
        body = b"".join(_field(1, item) for item in draw(st.lists(items(), max_size=5)))
        if draw(st.booleans()):  # the usual row around the odd items
            step = draw(st.integers(0, 50).map(str) | st.sampled_from(["1e19", "3.0", "-1"]))
            loss = _field(1, _field(2, b"loss") + _field(16, repr(draw(st.floats(width=64))).encode()))
            body = loss + body + _field(1, _field(2, b"_step") + _field(16, step.encode()))
        if draw(st.booleans()):
            body += _field(2, _varint(1 << 3) + _varint(draw(st.integers(0, 2**64 - 1))))
        return number + _field(2, body)
    if kind == 6:
        return number + _field(17, _field(8, draw(st.binary(max_size=8))) + _field(1, b"id"))
    if kind == 7:
        return number + _field(draw(st.integers(3, 15)), draw(st.binary(max_size=40)))
    if kind == 8:
        return number + _field(17, b"x" * draw(st.integers(30_000, 70_000)))  # across blocks
    return draw(st.binary(max_size=30))


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """Records framed (sometimes into small chunks), then bytes flipped anywhere (chunk headers,
    checksums, records) and the file perhaps cut short."""
    data = bytearray(
        frame(draw(st.lists(records(), min_size=1, max_size=30)), block=draw(st.sampled_from([32768, 100, 7])))
    )
    for at, byte in draw(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3)):
        data[int(at * (len(data) - 1))] ^= byte
    cut = draw(st.none() | st.floats(0, 1))
    return bytes(data if cut is None else data[: int(cut * len(data))])


@settings(max_examples=150, deadline=None)
@given(damaged_files(), st.sampled_from(["loss", "LOSS", "lr", "\u212a", "lo\u017fs"]))
def test_the_walker_and_the_reference_agree_on_any_records(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, metric: str
) -> None:
    path = tmp_path_factory.mktemp("any") / "run-a.wandb"
    path.write_bytes(data)
    assert_agree([path], metric)


def test_a_step_beyond_int64_is_counted_by_both_paths(tmp_path: Path) -> None:
    rows = [history_record(s, 1.0) for s in range(3)]
    big = _field(1, _field(2, b"loss") + _field(16, b"2.0")) + _field(1, _field(2, b"_step") + _field(16, b"1e19"))
    path = tmp_path / "run-a.wandb"
    path.write_bytes(frame([*rows, _field(2, big), _field(2, big)]))
    curve = assert_agree([path], "loss")
    assert isinstance(curve, Curve) and len(curve) == 3 and curve.oversized_steps == 1


def test_damage_is_placed_alike_by_both_paths(tmp_path: Path) -> None:
    rows = [history_record(s, 1.0 / (s + 1)) for s in range(40)]
    bad = _field(2, _field(1, _field(2, b"loss") + b"\xff\xff"))  # an item that does not decode
    path = tmp_path / "run-a.wandb"
    path.write_bytes(frame([*rows[:10], bad, *rows[10:]]))
    curve = assert_agree([path], "loss")
    assert isinstance(curve, Curve) and len(curve) == 40
    assert curve.skipped_lines == 1 and str(curve.first_skipped) == "run-a.wandb record 11"


def middle(path: Path) -> int | None:
    with path.open("rb") as handle, limits("wandb", {"SPLIT_BYTES": 0}):
        return wandbrun._middle(handle.fileno(), path.stat().st_size)


@pytest.fixture(scope="module")
def long_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    """Six blocks of rows, some split into chunks, and the offset the second part starts at."""
    rows = [history_record(s, 1.0 / (s + 1)) for s in range(2600)]
    pads = [_field(17, _field(8, b"p" * (BLOCK // 3 + i))) for i in range(0, 2600, 500)]
    data = frame([*rows[:1300], *pads, *rows[1300:]])
    path = tmp_path_factory.mktemp("long") / "run-a.wandb"
    path.write_bytes(data)
    at = middle(path)
    assert at is not None and at > BLOCK and len(data) > 5 * BLOCK
    return data, at


@pytest.mark.parametrize("shift", [-7, -1, 0, 6, 7, 300])
@pytest.mark.parametrize("change", ["flip", "cut", "zero header"])
def test_the_two_parts_agree_with_the_reference_on_damage_near_where_they_meet(
    tmp_path: Path, long_file: tuple[bytes, int], shift: int, change: str
) -> None:
    data, at = long_file
    damaged = bytearray(data)
    where = at + shift
    if change == "flip":
        damaged[where] ^= 0x5A
    elif change == "zero header":
        damaged[where : where + 7] = bytes(7)
    else:
        del damaged[where:]
    path = tmp_path / "run-a.wandb"
    path.write_bytes(damaged)
    got = assert_agree([path], "loss")
    assert isinstance(got, Curve) and len(got) > 1000


def test_a_large_file_is_read_in_two_parts_where_a_record_starts(long_file: tuple[bytes, int]) -> None:
    data, at = long_file
    header = struct.unpack_from("<IHB", data, at)
    assert header[2] in (wandbrun.FULL, wandbrun.FIRST) and at % BLOCK < BLOCK - 7
