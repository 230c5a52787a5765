"""The CSV reader on files shaped exactly as PyTorch Lightning's and Keras's ``CSVLogger`` write
them, on real published logs (../shared/real-logs/formats/csv-*), on damaged and hostile files, and the numpy
fast path held equal to the row-by-row reader."""

from __future__ import annotations

import csv
import math
import tempfile
import tracemalloc
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.curve import Curve
from drift.errors import LogError
from drift.readers import csvlog
from drift.readers.common import LogFile, ReadSpec, resolve_metric
from drift.readers.csvlog import read_csv
from tests.conftest import REAL_LOGS, real_params, shared

REAL = REAL_LOGS / "formats"


def read(*paths: Path, metric: str = "loss", fast: bool = True) -> Curve:
    return read_csv([LogFile(p, p.name) for p in paths], ReadSpec(metric=metric), fast=fast)


def points(curve: Curve) -> dict[int, float]:
    return dict(zip(curve.steps.tolist(), curve.values.tolist(), strict=True))


def last_wins(pairs: Iterable[tuple[int, float]]) -> dict[int, float]:
    """What a reader must return: each step's last value, a non-finite one as +inf."""
    out: dict[int, float] = {}
    for step, value in pairs:
        out[step] = value if math.isfinite(value) else math.inf
    return dict(sorted(out.items()))


# --- the writers ---------------------------------------------------------------------------------


def lightning_csv(path: Path, calls: Sequence[Mapping[str, float | int]], *, sorted_keys: bool = True) -> Path:
    """``metrics.csv`` as lightning.fabric.loggers.csv_logs._ExperimentWriter writes it: each
    ``log_metrics`` call is one record with ``step`` added, ``save`` writes a header of every key
    seen (sorted since Lightning 2.x; in first-seen order in 1.x, ``last_m.update``) and the records
    through ``csv.DictWriter`` on a file opened with ``newline=""``, so rows are sparse and end
    in CRLF (the excel dialect)."""
    keys: dict[str, None] = {}
    for call in calls:
        keys.update(dict.fromkeys(call))
    fieldnames = sorted(keys) if sorted_keys else list(keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(calls)
    return path


def lightning_training(curve: Sequence[tuple[int, float]], steps_per_epoch: int = 10) -> list[dict[str, float | int]]:
    """The calls a Trainer makes for ``self.log("train_loss", loss, on_step=True, on_epoch=True)``
    and a validation loss: the logger connector adds ``epoch``, the writer adds ``step``; the
    epoch-end values come in calls of their own at the epoch's last step."""
    calls: list[dict[str, float | int]] = []
    epoch_losses: list[float] = []
    for i, (step, loss) in enumerate(curve):
        epoch = i // steps_per_epoch
        calls.append({"train_loss_step": loss, "epoch": epoch, "step": step})
        epoch_losses.append(loss)
        if (i + 1) % steps_per_epoch == 0:
            calls.append({"val_loss": loss * 1.1, "epoch": epoch, "step": step})
            calls.append({"train_loss_epoch": sum(epoch_losses) / len(epoch_losses), "epoch": epoch, "step": step})
            epoch_losses = []
    return calls


def keras_csv(
    path: Path, epochs: Sequence[tuple[int, Mapping[str, float]]], *, separator: str = ",", append: bool = False
) -> Path:
    """As keras.src.callbacks.csv_logger.CSVLogger writes: keys sorted from the first epoch's logs,
    a header ``epoch`` + keys only when the file is new or empty, a missing key as ``NA``, the excel
    dialect with the separator, the file opened in text mode (so CRLF on Linux too)."""
    header = not (append and path.exists() and path.stat().st_size)
    keys = sorted(epochs[0][1])

    class Dialect(csv.excel):
        delimiter = separator

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", *keys], dialect=Dialect)
        if header:
            writer.writeheader()
        for epoch, logs in epochs:
            writer.writerow({"epoch": epoch, **{key: logs.get(key, "NA") for key in keys}})
    return path


def decaying(n: int, start: int = 0) -> list[tuple[int, float]]:
    return [(start + i, 4.0 * math.exp(-0.03 * i) + 0.5) for i in range(n)]


# --- Lightning -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sorted_keys", [True, False])
def test_lightning_reads_the_step_rows_of_train_loss_step(tmp_path: Path, sorted_keys: bool) -> None:
    curve = decaying(95)
    calls = lightning_training(curve)
    path = lightning_csv(tmp_path / "version_0" / "metrics.csv", calls, sorted_keys=sorted_keys)
    got = read(path)
    assert got.metric_name == "train_loss_step"
    assert points(got) == last_wins(curve)
    assert got.skipped_lines == 0 and got.format == "csv" and got.unit == "line"
    # Each point names the physical line of its row: the header is line 1, the first call line 2.
    rows = [i + 2 for i, call in enumerate(calls) if "train_loss_step" in call]
    assert got.line.tolist() == rows


def test_lightning_other_metrics_by_name(tmp_path: Path) -> None:
    curve = decaying(40)
    path = lightning_csv(tmp_path / "metrics.csv", lightning_training(curve))
    val = read(path, metric="val_loss")
    assert val.metric_name == "val_loss"
    assert points(val) == last_wins((s, v * 1.1) for i, (s, v) in enumerate(curve) if (i + 1) % 10 == 0)
    epoch = read(path, metric="train_loss_epoch")
    assert epoch.steps.tolist() == [9, 19, 29, 39]


def test_a_resumed_run_keeps_the_later_value_of_a_repeated_step(tmp_path: Path) -> None:
    # A run resumed from a checkpoint at step 30 logs steps 30.. again, after the old rows.
    first, second = decaying(50), [(s, v / 2) for s, v in decaying(30, start=30)]
    calls = [{"train_loss_step": v, "epoch": 0, "step": s} for s, v in first + second]
    got = read(lightning_csv(tmp_path / "metrics.csv", calls))
    assert points(got) == last_wins(first + second)
    assert got.values[got.steps.tolist().index(35)] == second[5][1]
    assert got.line[got.steps.tolist().index(35)] == 2 + 50 + 5


def test_nan_and_inf_are_kept_as_inf(tmp_path: Path) -> None:
    curve = [(0, 1.0), (1, math.nan), (2, math.inf), (3, -math.inf), (4, 0.5)]
    got = read(lightning_csv(tmp_path / "metrics.csv", [{"loss": v, "step": s, "epoch": 0} for s, v in curve]))
    assert got.values.tolist() == [1.0, math.inf, math.inf, math.inf, 0.5]
    assert got.skipped_lines == 0


# --- Keras ---------------------------------------------------------------------------------------


def test_keras_epoch_is_the_step(tmp_path: Path) -> None:
    curve = decaying(30)
    epochs = [(s, {"loss": v, "val_loss": v * 1.2, "accuracy": 0.5}) for s, v in curve]
    path = keras_csv(tmp_path / "training.log", epochs)
    assert path.read_bytes().startswith(b"epoch,accuracy,loss,val_loss\r\n")
    got = read(path)
    assert got.metric_name == "loss"
    assert points(got) == last_wins(curve)
    assert got.line.tolist() == list(range(2, 32))
    assert any("epoch column is the step" in note for note in got.notes)


def test_keras_na_cells_are_no_points(tmp_path: Path) -> None:
    # validation_freq=2: val_loss is in the logs of every other epoch only.
    epochs = [
        (e, {"loss": 1.0 / (e + 1), "val_loss": 2.0 / (e + 1)} if e % 2 else {"loss": 1.0 / (e + 1)}) for e in range(8)
    ]
    epochs[0] = (0, {"loss": 1.0, "val_loss": 2.0})  # the first epoch fixes the keys
    path = keras_csv(tmp_path / "log.csv", epochs)
    assert b",NA\r\n" in path.read_bytes()
    got = read(path, metric="val_loss")
    assert got.steps.tolist() == [0, 1, 3, 5, 7]
    assert got.skipped_lines == 0


@pytest.mark.parametrize("separator", [";", "\t"])
def test_keras_with_another_separator(tmp_path: Path, separator: str) -> None:
    curve = decaying(12)
    got = read(keras_csv(tmp_path / "log.csv", [(s, {"loss": v}) for s, v in curve], separator=separator))
    assert points(got) == last_wins(curve)


def test_keras_append_after_a_resume_repeats_epochs(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    keras_csv(path, [(e, {"loss": 1.0 + e}) for e in range(10)])
    keras_csv(path, [(e, {"loss": 100.0 + e}) for e in range(6, 12)], append=True)
    got = read(path)
    assert points(got) == {**{e: 1.0 + e for e in range(6)}, **{e: 100.0 + e for e in range(6, 12)}}


def test_keras_iterable_values_are_quoted_and_read_around(tmp_path: Path) -> None:
    # handle_value writes an iterable as '"[1, 2]"', which csv then quotes again; a list holding a
    # 2-D array even spans lines. The loss column is unaffected; rows keep their first line.
    path = tmp_path / "log.csv"
    path.write_bytes(
        b'epoch,confusion,loss\r\n0,"""[1, 2]""",0.5\r\n1,"""[[1 2]\n [3 4]]""",0.25\r\n2,"""[5, 6]""",0.125\r\n'
    )
    for fast in (True, False):
        got = read(path, fast=fast)
        assert points(got) == {0: 0.5, 1: 0.25, 2: 0.125}
        assert got.line.tolist() == [2, 3, 5]
        assert got.skipped_lines == 0


# --- choosing columns ----------------------------------------------------------------------------


def test_no_metric_column_means_no_points_and_the_names_found(tmp_path: Path) -> None:
    path = lightning_csv(tmp_path / "metrics.csv", [{"acc": 0.5, "epoch": 0, "step": 1}])
    got = read(path)
    assert len(got) == 0 and got.metric_name == ""
    assert got.fields_seen == ("acc", "epoch", "step")


def test_no_step_or_epoch_column_is_an_error_naming_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("time,loss\n1,2.0\n")
    with pytest.raises(LogError) as caught:
        read(path)
    assert caught.value.file == "log.csv" and caught.value.line == 1
    assert "loss, time" in str(caught.value)


def test_a_headerless_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("0,1.5\n1,1.4\n")
    with pytest.raises(LogError, match="no step or epoch column") as caught:
        read(path)
    assert caught.value.line == 1


def test_step_key_setting_picks_the_step_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("epoch,global_step,loss\n0,100,2.0\n0,200,1.0\n")
    got = read_csv([LogFile(path, "log.csv")], ReadSpec(step_key="global_step"))
    assert points(got) == {100: 2.0, 200: 1.0}


def test_several_files_keep_their_index_and_notes(tmp_path: Path) -> None:
    a = lightning_csv(tmp_path / "a" / "metrics.csv", [{"train_loss_step": 1.0, "epoch": 0, "step": 0}])
    b = keras_csv(tmp_path / "b" / "log.csv", [(5, {"loss": 2.0})])
    c = lightning_csv(tmp_path / "c" / "metrics.csv", [{"acc": 1.0, "epoch": 0, "step": 9}])
    got = read_csv([LogFile(a, "a.csv"), LogFile(b, "b.csv"), LogFile(c, "c.csv")], ReadSpec())
    assert points(got) == {0: 1.0, 5: 2.0}
    assert got.files == ("a.csv", "b.csv", "c.csv")
    assert got.file_index.tolist() == [0, 1]
    assert got.metric_name == "train_loss_step"
    assert any("c.csv" in n and "no 'loss' column" in n for n in got.notes)
    assert any("differs between files" in n for n in got.notes)


# --- damage --------------------------------------------------------------------------------------

HEADER = b"epoch,step,loss\n"


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (b"0,two,0.5", "a step that is not a number"),
        (b"0,2.5,0.5", "a step that is not whole"),
        (b"0,2,lots", "a metric that is not a number"),
        (b"0,2,0.\xff5", "bytes that are not UTF-8"),
        (b"0,\xc3\xa9,0.5", "UTF-8, but not a number"),
        (b"0,2,0.5\x00", "a NUL"),
        (b"0,2, ", "a blank metric cell"),
    ],
)
def test_a_damaged_row_is_skipped_and_counted(tmp_path: Path, bad: bytes, why: str, fast: bool) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER + b"0,1,1.0\n" + bad + b"\n0,3,0.25\n")
    got = read(path, fast=fast)
    assert points(got) == {1: 1.0, 3: 0.25}, why
    assert got.skipped_lines == 1
    assert str(got.first_skipped) == "log.csv:3"
    assert got.line.tolist() == [2, 4]


@pytest.mark.parametrize("fast", [True, False])
def test_rows_of_another_width_are_read_where_their_cells_are_there_and_counted_apart(
    tmp_path: Path, fast: bool
) -> None:
    path = tmp_path / "log.csv"
    # A logger that added a column later: rows before it are short, one row is long; the short row
    # of line 5 stops before the loss cell, so it is no point, but no damage either.
    rows = [b"1,1.0", b"0,2,0.5,9", b"0,3,0.25", b"0,4", b"0,5,0.125,,", b"0,x,1.0,7"]
    path.write_bytes(b"epoch,step,loss\n" + b"\n".join(rows) + b"\n")
    got = read(path, fast=fast)
    assert points(got) == {2: 0.5, 3: 0.25, 5: 0.125}
    assert got.line.tolist() == [3, 4, 6]
    assert got.irregular_rows == 4 and str(got.first_irregular) == "log.csv:2"
    assert got.skipped_lines == 1 and str(got.first_skipped) == "log.csv:7"  # a bad step is still damage


def test_a_first_row_shorter_than_a_header_with_more_columns_later_is_read(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"step,loss,val_loss\n0,2.0\n1,1.5,1.7\n2,1.2\n")
    got = read(path)
    assert points(got) == {0: 2.0, 1: 1.5, 2: 1.2}
    assert got.irregular_rows == 2 and got.skipped_lines == 0


@pytest.mark.parametrize("fast", [True, False])
def test_whole_float_steps_and_blank_lines(tmp_path: Path, fast: bool) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER + b"0,1.0,1.0\n\n0,2e1,0.5\n0,,\n0,3,\n")
    got = read(path, fast=fast)
    assert points(got) == {1: 1.0, 20: 0.5}
    assert got.line.tolist() == [2, 4]
    assert got.skipped_lines == 0


@pytest.mark.parametrize("fast", [True, False])
def test_a_repeated_header_is_no_damage(tmp_path: Path, fast: bool) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER + b"0,1,1.0\n" + HEADER + b"0,2,0.5\n")
    got = read(path, fast=fast)
    assert points(got) == {1: 1.0, 2: 0.5} and got.skipped_lines == 0


def test_a_step_beyond_int64_is_counted_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER + b"0,1,1.0\n0,99999999999999999999,0.5\n0,-9223372036854775808,0.25\n")
    for fast in (True, False):
        got = read(path, fast=fast)
        assert points(got) == {-(2**63): 0.25, 1: 1.0}
        assert got.oversized_steps == 1 and got.skipped_lines == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"\n0,1,2\n", "blank"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b"\xff\xfee\x00p\x00o\x00c\x00h\x00", "not UTF-8"),  # UTF-16, as PowerShell saves it
        (b"x" * (csvlog.MAX_LINE + 10), "over"),
    ],
)
def test_a_broken_first_line_is_an_error_at_line_1(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    with pytest.raises(LogError, match=words) as caught:
        read(path)
    assert caught.value.file == "log.csv" and caught.value.line == 1
    assert "header line such as" in str(caught.value)


def test_a_header_alone_has_no_points(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(b"\xef\xbb\xbfepoch,step,loss\r\n")  # with the BOM Excel adds
    got = read(path)
    assert len(got) == 0 and got.skipped_lines == 0 and got.metric_name == "loss"


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LogError, match=r"failed to read gone\.csv") as caught:
        read_csv([LogFile(tmp_path / "gone.csv", "gone.csv")], ReadSpec())
    assert caught.value.file == "gone.csv"


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_numbers_for_every_line_ending(tmp_path: Path, ending: bytes) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(ending.join([b"epoch,step,loss", b"0,1,1.0", b"", b"0,2,x", b"0,3,0.5"]) + ending)
    for fast in (True, False):
        got = read(path, fast=fast)
        assert points(got) == {1: 1.0, 3: 0.5}
        assert got.line.tolist() == [2, 5]
        assert str(got.first_skipped) == "log.csv:4"


def test_an_unclosed_quote_runs_to_the_field_limit_and_reading_goes_on(tmp_path: Path) -> None:
    # csv.reader keeps reading lines into a quoted cell until the quote closes; past its field
    # size limit it raises csv.Error, which is one damaged row, not a traceback.
    filler = b"0,1,1.0\n" * (2 * csvlog.MAX_LINE // 8)
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER + b'0,1,"oops\n' + filler + b"0,7,0.5\n" * 3)
    got = read(path)
    assert got.skipped_lines >= 1 and str(got.first_skipped) == "log.csv:2"
    assert got.steps.tolist()[-1] == 7


def test_a_huge_single_line_is_one_damaged_line_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    size = 48 << 20
    with path.open("wb") as handle:
        handle.write(HEADER + b"0,1,1.0\n0,2,")
        handle.write(b"9" * size)
        handle.write(b"\n0,3,0.5\n")
    tracemalloc.start()
    try:
        got = read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert points(got) == {1: 1.0, 3: 0.5}
    assert got.skipped_lines == 1 and str(got.first_skipped) == "log.csv:3"
    assert got.line.tolist() == [2, 4]
    assert peak < size // 2, f"peak {peak} bytes while reading a {size}-byte line"


# --- real published logs -------------------------------------------------------------------------


def real_csv_files() -> list[Path]:
    return sorted(p for p in REAL.glob("csv*/**/*") if p.is_file() and p.suffix in (".csv", ".log"))


def reference(path: Path, metric: str) -> tuple[str, dict[int, float]]:
    """An independent reading with csv.DictReader: the column, and the last value of each step."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = list(rows[0])
    column = resolve_metric(metric, names)
    assert column is not None
    step = "step" if "step" in names else "epoch"
    pairs = [(int(float(r[step])), float(r[column])) for r in rows if r[column] not in ("", "NA")]
    return column, last_wins(pairs)


@pytest.mark.parametrize("path", real_params(real_csv_files(), "csv"), ids=lambda p: str(p.relative_to(REAL)))
@pytest.mark.parametrize("fast", [True, False])
def test_real_logs_read_as_csv_dictreader_reads_them(path: Path, fast: bool) -> None:
    shared("real-logs", "formats")
    column, expected = reference(path, "loss")
    got = read(path, fast=fast)
    assert got.metric_name == column
    assert points(got) == expected
    assert got.skipped_lines == 0
    assert len(got) > 10


def test_real_logs_cover_both_writers_and_their_quirks() -> None:
    shared("real-logs", "formats")
    legacy = next(REAL.glob("csv-lightning/legacy-*/**/metrics.csv"), None)
    if legacy is not None:  # Lightning 0.x: no step column, one row per epoch
        assert any("epoch column is the step" in n for n in read(legacy).notes)
    all_nan = next(REAL.glob("csv-keras/*all-nan*/**/*.log"), None)
    if all_nan is not None:
        got = read(all_nan)
        assert len(got) > 0 and bool(np.all(np.isinf(got.values)))


# --- properties ----------------------------------------------------------------------------------

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(lambda v: repr(float(v))),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-0", "+1", "1e5", "1E-5", "1.", ".5", "Infinity", "-inf", "NaN", "1_0", "1e500"]),
)
cells = st.one_of(
    values,
    st.sampled_from(["", "NA", " 1.5", "1.5 ", "x", "1.5.5", "--1", "0x10", "nan(1)", "+", "-", "e5", "1e", "infinit"]),
)
steps = st.one_of(
    st.integers(min_value=-5, max_value=60).map(str),
    st.sampled_from(["3.0", "1e1", "+4", "-0", " 5", "5 ", "2.5", "", "x", "9223372036854775807", "1" * 25, "+", "-"]),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    names = draw(st.sampled_from([["step", "loss"], ["epoch", "step", "loss"], ["loss", "epoch", "step", "lr"]]))
    width, step_at, loss_at = len(names), names.index("step"), names.index("loss")
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = [",".join(names).encode()]
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        kind = draw(st.integers(min_value=0, max_value=9))
        row = [draw(st.integers(0, 3).map(str)) for _ in range(width)]
        row[step_at] = draw(steps)
        row[loss_at] = draw(cells)
        line = ",".join(row).encode()
        if kind == 0:
            line = draw(st.sampled_from([b"", b"0,1", b'0,1,"2', b'"0",1,2', b"0,1,2\xff", b"0,\x00,2", b"0\r1,2"]))
        elif kind == 1:
            line += b"," + draw(steps).encode()
        elif kind == 2:
            line = b",".join(line.split(b",")[: draw(st.integers(1, width - 1))])
        lines.append(line)
    return ending.join(lines) + draw(st.sampled_from([ending, b""]))


def same(a: Curve, b: Curve) -> None:
    assert a.steps.tolist() == b.steps.tolist()
    assert np.array_equal(a.values, b.values)
    assert a.line.tolist() == b.line.tolist()
    assert a.file_index.tolist() == b.file_index.tolist()
    assert (a.skipped_lines, a.first_skipped, a.oversized_steps) == (
        b.skipped_lines,
        b.first_skipped,
        b.oversized_steps,
    )
    assert (a.irregular_rows, a.first_irregular) == (b.irregular_rows, b.first_irregular)
    assert a.notes == b.notes and a.metric_name == b.metric_name


def small_blocks() -> Any:
    # Blocks and pieces of a few dozen bytes, so that a generated file crosses many of them.
    return patch.multiple(csvlog, BLOCK_BYTES=37, PIECE_BYTES=16)


@given(content=csv_files())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_reads_what_the_row_by_row_reader_reads(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        path.write_bytes(content)
        reference_curve = read(path, fast=False)
        same(read(path), reference_curve)
        with small_blocks():
            same(read(path), reference_curve)
            same(read(path, fast=False), reference_curve)


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 30), st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 3)), max_size=40
    ),
    fast=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_extra_or_missing_trailing_cells_change_nothing_but_the_irregular_count(
    rows: list[tuple[int, float, int]], fast: bool
) -> None:
    """Rows ``step,loss`` under a header of four columns, each followed by 0 to 3 cells: every row
    is a point, and every row not four cells wide is counted as irregular, none as damaged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        lines = [b"step,loss,lr,val_loss"]
        lines += [",".join([str(s), repr(v), *["1"] * extra]).encode() for s, v, extra in rows]
        path.write_bytes(b"\n".join(lines) + b"\n")
        got = read(path, fast=fast)
        assert points(got) == last_wins((s, v) for s, v, _ in rows)
        assert got.irregular_rows == sum(1 for *_, extra in rows if extra != 2)
        assert got.skipped_lines == 0


@given(
    curve=st.lists(
        st.tuples(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True)), max_size=60
    ),
    keras=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_any_curve_written_by_either_logger_reads_back_last_wins(curve: list[tuple[int, float]], keras: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        if keras:
            keras_csv(path, [(s, {"loss": v, "val_loss": 1.0}) for s, v in curve] or [(0, {"loss": 1.0})])
            expected = last_wins(curve or [(0, 1.0)])
        else:
            lightning_csv(path, [{"train_loss_step": v, "epoch": 0, "step": s} for s, v in curve] or [{"step": 0}])
            expected = last_wins(curve)
        for fast in (True, False):
            got = read(path, fast=fast)
            assert points(got) == expected
            assert got.skipped_lines == 0


@given(
    content=st.binary(max_size=300),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(0, 255)), max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_random_damage_never_raises_anything_but_log_error(content: bytes, flips: list[tuple[int, int]]) -> None:
    base = bytearray(HEADER + b"0,1,1.0\r\n0,2,0.5\r\n" + content)
    for at, byte in flips:
        base[at % len(base)] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        path.write_bytes(bytes(base))
        for fast in (True, False):
            try:
                got = read(path, fast=fast)
            except LogError as exc:
                assert exc.line == 1 and exc.file == "log.csv"
            else:
                assert len(got) == len(set(got.steps.tolist()))
                assert bool(np.all(got.line >= 2))


# --- the number conversion of the fast path --------------------------------------------------------


def as_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def check_to_floats(cells: list[str]) -> None:
    """to_floats gives float() of every cell, or declines when any cell would not convert; on
    cells as float_text hands them over (not empty, only characters that can make a number)."""
    allowed = set(csvlog._FLOAT_TEXT.decode()) - {","}
    cells = [c for c in cells if c and set(c) <= allowed] or ["1"]
    text = "".join(f"{c}," for c in cells).encode()
    want = [as_float(c) for c in cells]
    for exact_division in (True, False):
        with patch.object(csvlog, "_EXACT_DIVISION", exact_division and csvlog._EXACT_DIVISION):
            got = csvlog.to_floats(text, len(cells))
        if any(w is None for w in want):
            assert got is None
        else:
            assert got is not None
            assert [float(x).hex() for x in got] == [float(w).hex() for w in want]  # type: ignore[arg-type]


decimal_cells = st.builds(
    lambda sign, whole, dot, frac: f"{sign}{whole}{dot}{frac}",
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", max_size=12),
    st.sampled_from(["", ".", ".."]),
    st.text("0123456789", max_size=12),
)


@given(cells=st.lists(st.one_of(decimal_cells, values, cells), min_size=1, max_size=20))
@settings(max_examples=400, deadline=None)
def test_to_floats_is_float_on_near_numbers(cells: list[str]) -> None:
    check_to_floats(cells)


@given(value=st.floats(min_value=1e-3, max_value=1e6), digits=st.integers(min_value=15, max_value=18))
@settings(max_examples=400, deadline=None)
def test_to_floats_is_float_halfway_between_doubles(value: float, digits: int) -> None:
    # Decimals at and beside the midpoint of two doubles, and at powers of two where the gap
    # between doubles changes: where a double rounding would go wrong if anywhere.
    import decimal

    context = decimal.Context(prec=60)
    cells = []
    for low in (value, 2.0 ** math.floor(math.log2(value))):
        for high in (math.nextafter(low, math.inf), math.nextafter(low, 0)):
            middle = context.divide(context.add(decimal.Decimal(low), decimal.Decimal(high)), 2)
            places = max(0, digits - 1 - middle.adjusted())
            for shift in (-1, 0, 1):
                step = decimal.Decimal(1).scaleb(-places)
                cell = format(context.add(middle.quantize(step), step * shift), "f")
                cells.append(cell)
    check_to_floats(cells)
