"""The TensorBoard reader on event files written at test time by the real writer (tensorboardX, and
its own protobuf classes and record writer for the tensor forms other writers use), on damaged
copies of them, and on the compiled scanner against its pure-Python twin."""

from __future__ import annotations

import math
import struct
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboardX import FileWriter, SummaryWriter
from tensorboardX.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboardX.record_writer import RecordWriter, masked_crc32c

from drift.curve import Curve, Position
from drift.errors import LogError
from drift.readers import tensorboard
from drift.readers.common import LogFile, ReadSpec, resolve_metric
from drift.readers.tensorboard import read_tensorboard

Summary, Value, TensorProto = summary_pb2.Summary, summary_pb2.Summary.Value, tensor_pb2.TensorProto


# ---- writing and taking apart event files -----------------------------------------------------


def write_scalars(folder: Path, points: Sequence[tuple[str, float, int]], *, suffix: str = "") -> Path:
    """An event file as tensorboardX's SummaryWriter writes it: simple_value scalars."""
    writer = SummaryWriter(logdir=str(folder), filename_suffix=suffix)
    for tag, value, step in points:
        writer.add_scalar(tag, value, step)
    writer.close()
    return only_file(folder, suffix)


def write_summaries(folder: Path, summaries: Sequence[tuple[Summary, int]], *, suffix: str = "") -> Path:
    """Summaries of any form through tensorboardX's FileWriter (which writes the file_version event)."""
    writer = FileWriter(str(folder), filename_suffix=suffix)
    for summary, step in summaries:
        writer.add_summary(summary, step)
    writer.close()
    return only_file(folder, suffix)


def only_file(folder: Path, suffix: str) -> Path:
    (path,) = sorted(folder.glob(f"events.out.tfevents.*{suffix}"))
    return path


def new_style(tag: str, value: float) -> Summary:
    """The tensor form torch's SummaryWriter writes with new_style=True: a DT_FLOAT scalar tensor in
    float_val, with the scalars plugin named in its metadata."""
    tensor = TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[value], tensor_shape=tensor_shape_pb2.TensorShapeProto())
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Value(tag=tag, tensor=tensor, metadata=metadata)])


def tensor_summary(tag: str, tensor: TensorProto) -> Summary:
    return Summary(value=[Value(tag=tag, tensor=tensor)])


def logs(*paths: Path) -> list[LogFile]:
    return [LogFile(path, path.name) for path in paths]


def split_records(blob: bytes) -> list[bytes]:
    """The data of each record of a well-formed TFRecord file (this test's own framing reader)."""
    records, pos = [], 0
    while pos < len(blob):
        (length,) = struct.unpack_from("<Q", blob, pos)
        records.append(blob[pos + 12 : pos + 12 + length])
        pos += 12 + length + 4
    return records


def frame(data: bytes, *, length: int | None = None) -> bytes:
    """One record, framed with the real writer's masked CRC (optionally claiming another length)."""
    header = struct.pack("<Q", len(data) if length is None else length)
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def frame_all(records: Sequence[bytes]) -> bytes:
    return b"".join(frame(data) for data in records)


def record_offsets(blob: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos < len(blob):
        offsets.append(pos)
        pos += 12 + struct.unpack_from("<Q", blob, pos)[0] + 4
    return offsets


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def delimited(field: int, body: bytes) -> bytes:
    return key(field, 2) + varint(len(body)) + body


def f32(x: float) -> float:
    return float(np.float32(x))


def pairs(curve: Curve) -> list[tuple[int, float]]:
    return list(zip(curve.steps.tolist(), curve.values.tolist(), strict=True))


# ---- reading what the writers wrote ---------------------------------------------------------


def test_the_scanner_is_built() -> None:
    # Without it the fast==fallback tests below would compare the fallback with itself.
    assert tensorboard._native_function() is not None, "run: python -m drift.native"


@pytest.mark.parametrize("fast", [True, False])
def test_simple_value_scalars_are_read_as_float32_widened_exactly(tmp_path: Path, fast: bool) -> None:
    written = [0.1, 1 / 3, 2.5, 1e-8, 3.0e38, -7.25, 123456.789, 0.0]
    points = []
    for step, value in enumerate(written):
        points += [("train/loss", value, step), ("train/lr", 1e-4, step)]
    path = write_scalars(tmp_path, points)

    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)

    assert curve.format == "tensorboard" and curve.unit == "record"
    assert curve.metric_name == "train/loss"
    assert pairs(curve) == [(step, f32(value)) for step, value in enumerate(written)]
    # Record 1 is the file_version event; then loss and lr alternate.
    assert curve.line.tolist() == [2 + 2 * i for i in range(len(written))]
    assert str(curve.position(0)) == f"{path.name} record 2"
    assert curve.skipped_lines == 0 and curve.first_skipped is None and curve.notes == ()


@pytest.mark.parametrize("fast", [True, False])
def test_the_tensor_form_is_read_like_simple_value(tmp_path: Path, fast: bool) -> None:
    curve_in = [(step, 5.0 * math.exp(-step / 7) + 0.1) for step in range(30)]
    path = write_summaries(tmp_path, [(new_style("loss", value), step) for step, value in curve_in])

    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)

    assert curve.metric_name == "loss"
    assert pairs(curve) == [(step, f32(value)) for step, value in curve_in]


def _as_bits(array: np.ndarray, dtype: type) -> list[int]:
    return array.view(dtype).tolist()


TENSOR_CASES = [
    # tensor_content, as TF2's writer stores a scalar: raw little-endian bytes
    ("content-float", TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=np.float32(0.3).tobytes()), f32(0.3)),
    ("content-double", TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_content=np.float64(0.3).tobytes()), 0.3),
    ("content-int64", TensorProto(dtype=types_pb2.DT_INT64, tensor_content=np.int64(-(2**40)).tobytes()), -(2.0**40)),
    ("content-int32", TensorProto(dtype=types_pb2.DT_INT32, tensor_content=np.int32(-7).tobytes()), -7.0),
    (
        "content-half",
        TensorProto(dtype=types_pb2.DT_HALF, tensor_content=np.float16(0.1).tobytes()),
        float(np.float16(0.1)),
    ),
    # the typed lists
    ("double_val", TensorProto(dtype=types_pb2.DT_DOUBLE, double_val=[0.1 + 0.2]), 0.1 + 0.2),
    ("float_val", TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[0.7]), f32(0.7)),
    ("int_val", TensorProto(dtype=types_pb2.DT_INT32, int_val=[-123]), -123.0),
    ("int64_val", TensorProto(dtype=types_pb2.DT_INT64, int64_val=[2**53 + 1]), float(2**53)),  # rounds like float()
    (
        "half_val",
        TensorProto(dtype=types_pb2.DT_HALF, half_val=_as_bits(np.array([1.5e-5], dtype=np.float16), np.uint16)),
        float(np.float16(1.5e-5)),
    ),
    (
        "bfloat16",
        TensorProto(dtype=types_pb2.DT_BFLOAT16, half_val=[int(np.array([0.75], np.float32).view(np.uint32)[0]) >> 16]),
        0.75,
    ),
    # a shape of ones is still one element; an empty list means zero, as TensorBoard reads it
    (
        "shape-1x1",
        TensorProto(
            dtype=types_pb2.DT_FLOAT,
            float_val=[2.0],
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1), tensor_shape_pb2.TensorShapeProto.Dim(size=1)]
            ),
        ),
        2.0,
    ),
    ("empty-list", TensorProto(dtype=types_pb2.DT_FLOAT), 0.0),
]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("name", "tensor", "expected"), TENSOR_CASES, ids=[case[0] for case in TENSOR_CASES])
def test_scalar_tensors_of_every_form(
    tmp_path: Path, fast: bool, name: str, tensor: TensorProto, expected: float
) -> None:
    path = write_summaries(tmp_path, [(tensor_summary("loss", tensor), 3)])
    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)
    assert pairs(curve) == [(3, expected)]


NOT_SCALARS = [
    TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0]),  # two values for one element
    TensorProto(
        dtype=types_pb2.DT_FLOAT,
        float_val=[1.0, 2.0],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)]),
    ),
    TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"text"]),
    TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=np.array([1, 2], dtype=np.float32).tobytes()),
    TensorProto(
        dtype=types_pb2.DT_FLOAT, float_val=[1.0], tensor_shape=tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    ),
]


@pytest.mark.parametrize("fast", [True, False])
def test_tensors_that_are_not_one_number_are_not_scalars(tmp_path: Path, fast: bool) -> None:
    summaries = [(tensor_summary(f"other/{i}", tensor), 1) for i, tensor in enumerate(NOT_SCALARS)]
    histogram = Summary(value=[Value(tag="hist", histo=summary_pb2.HistogramProto(min=0, max=1, num=3))])
    summaries += [(histogram, 1), (tensor_summary("acc", TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[0.5])), 1)]
    path = write_summaries(tmp_path, summaries)

    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)

    assert len(curve) == 0 and curve.metric_name == ""
    assert curve.fields_seen == ("acc",)  # the only scalar tag
    assert curve.skipped_lines == 0


@pytest.mark.parametrize(
    ("tags", "metric", "chosen"),
    [
        (["train/loss", "train/lr"], "loss", "train/loss"),
        (["Loss/train", "val/loss"], "loss", "Loss/train"),
        (["loss", "train/loss"], "loss", "loss"),  # the exact name first
        (["train_loss_step", "train_loss_epoch"], "loss", "train_loss_step"),
        (["eval/accuracy", "train/loss"], "eval/accuracy", "eval/accuracy"),
    ],
)
def test_the_metric_resolves_to_a_tag(tmp_path: Path, tags: list[str], metric: str, chosen: str) -> None:
    points = [(tag, float(10 * i + step), step) for step in range(4) for i, tag in enumerate(tags)]
    path = write_scalars(tmp_path, points)

    for fast in (True, False):
        curve = read_tensorboard(logs(path), ReadSpec(metric=metric), fast=fast)
        assert curve.metric_name == chosen
        i = tags.index(chosen)
        assert pairs(curve) == [(step, float(10 * i + step)) for step in range(4)]


def test_a_missing_metric_names_the_scalar_tags_found(tmp_path: Path) -> None:
    path = write_scalars(tmp_path, [("val/acc", 0.5, 1), ("lr", 0.1, 1), ("grad_norm", 2.0, 2)])
    for fast in (True, False):
        curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)
        assert len(curve) == 0 and curve.metric_name == ""
        assert curve.fields_seen == ("grad_norm", "lr", "val/acc")


def test_the_list_of_names_is_capped(tmp_path: Path) -> None:
    path = write_scalars(tmp_path, [(f"m{i:02d}", 1.0, 1) for i in range(60)])
    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"))
    assert curve.fields_seen == (*[f"m{i:02d}" for i in range(50)], "and 10 more")


def test_tags_are_learned_across_every_file_of_the_run(tmp_path: Path) -> None:
    # "loss" is only in the second file and "Loss/train" only in the first: the exact name wins,
    # which needs the tags of both files before choosing.
    first = write_scalars(tmp_path / "a", [("Loss/train", 9.0, 1)])
    second = write_scalars(tmp_path / "b", [("loss", 1.0, 2)])
    curve = read_tensorboard(logs(first, second), ReadSpec(metric="loss"))
    assert curve.metric_name == "loss"
    assert pairs(curve) == [(2, 1.0)]
    assert curve.file_index.tolist() == [1]


@pytest.mark.parametrize("fast", [True, False])
def test_two_files_the_later_value_of_a_step_wins(tmp_path: Path, fast: bool) -> None:
    first = write_scalars(tmp_path, [("train/loss", 1.0, step) for step in range(10)], suffix=".1")
    second = write_scalars(tmp_path, [("train/loss", 2.0, step) for step in range(5, 15)], suffix=".2")

    curve = read_tensorboard(logs(first, second), ReadSpec(metric="loss"), fast=fast)

    assert pairs(curve) == [(step, 1.0 if step < 5 else 2.0) for step in range(15)]
    assert curve.file_index.tolist() == [0] * 5 + [1] * 10
    assert curve.files == (first.name, second.name)
    assert curve.line.tolist() == [2 + step for step in range(5)] + [2 + i for i in range(10)]


@pytest.mark.parametrize("fast", [True, False])
def test_a_step_repeated_in_one_file_keeps_the_last_value(tmp_path: Path, fast: bool) -> None:
    path = write_scalars(tmp_path, [("loss", 1.0, 0), ("loss", 2.0, 1), ("loss", 3.0, 0), ("loss", 4.0, 2)])
    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)
    assert pairs(curve) == [(0, 3.0), (1, 2.0), (2, 4.0)]
    assert curve.line.tolist() == [4, 3, 5]


@pytest.mark.parametrize("fast", [True, False])
def test_non_finite_values_are_kept_as_inf(tmp_path: Path, fast: bool) -> None:
    values = [1.0, math.nan, 2.0, math.inf, -math.inf, 3.0]
    path = write_scalars(tmp_path, [("loss", value, step) for step, value in enumerate(values)])
    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)
    assert pairs(curve) == [(0, 1.0), (1, math.inf), (2, 2.0), (3, math.inf), (4, math.inf), (5, 3.0)]


@pytest.mark.parametrize("fast", [True, False])
def test_steps_are_int64(tmp_path: Path, fast: bool) -> None:
    steps = [-(2**63), -1, 0, 2**40, 2**63 - 1]
    path = write_scalars(tmp_path, [("loss", float(i), step) for i, step in enumerate(steps)])
    curve = read_tensorboard(logs(path), ReadSpec(metric="loss"), fast=fast)
    assert curve.steps.tolist() == steps


def test_an_event_file_is_recognised_by_its_first_length_header(ten_steps: Path) -> None:
    blob = ten_steps.read_bytes()
    assert tensorboard.length_header_ok(blob[:12])
    assert tensorboard.length_header_ok(frame(b"x" * 300)[:12])
    assert not tensorboard.length_header_ok(blob[:11])
    assert not tensorboard.length_header_ok(b"step,loss\n0,1.5\n")
    flipped = bytearray(blob[:12])
    flipped[3] ^= 0x01
    assert not tensorboard.length_header_ok(bytes(flipped))


def test_an_empty_file_holds_no_points(tmp_path: Path) -> None:
    empty = tmp_path / "events.out.tfevents.1.host"
    empty.write_bytes(b"")
    for fast in (True, False):
        curve = read_tensorboard(logs(empty), ReadSpec(metric="loss"), fast=fast)
        assert len(curve) == 0 and curve.skipped_lines == 0 and curve.fields_seen == ()


def test_an_unreadable_file_is_a_log_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "events.out.tfevents.1.host"
    folder.mkdir()
    with pytest.raises(LogError, match=r"failed to read events\.out\.tfevents\.1\.host") as caught:
        read_tensorboard(logs(folder), ReadSpec())
    assert caught.value.file == folder.name


# ---- damage -------------------------------------------------------------------------------


@pytest.fixture
def ten_steps(tmp_path: Path) -> Path:
    """Records: 1 file_version, then steps 0..9 of loss at records 2..11."""
    return write_scalars(tmp_path / "real", [("loss", float(step), step) for step in range(10)])


def rewrite(path: Path, blob: bytes) -> Path:
    target = path.parent.parent / "damaged" / path.name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(blob)
    return target


def read_both(path: Path, metric: str = "loss") -> Curve:
    """The curve, after checking the fast path and the fallback agree on it."""
    fast = read_tensorboard(logs(path), ReadSpec(metric=metric))
    slow = read_tensorboard(logs(path), ReadSpec(metric=metric), fast=False)
    assert_same(fast, slow)
    return fast


@pytest.mark.parametrize("cut", [1, 5, 12, 20, -1])
def test_a_truncated_last_record_is_counted(ten_steps: Path, cut: int) -> None:
    blob = ten_steps.read_bytes()
    last = record_offsets(blob)[-1]
    damaged = rewrite(ten_steps, blob[: last + cut] if cut > 0 else blob[:cut])

    curve = read_both(damaged)

    assert pairs(curve) == [(step, float(step)) for step in range(9)]
    assert curve.skipped_lines == 1
    assert curve.first_skipped == Position(damaged.name, 11, "record")
    assert curve.notes == (f"{damaged.name}: the file ends inside record 11, which was skipped",)


def test_notes_on_damaged_files_are_capped(ten_steps: Path) -> None:
    blob = ten_steps.read_bytes()
    paths = []
    for i in range(7):
        path = ten_steps.parent.parent / "many" / f"events.out.tfevents.{i}.host"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(blob[:-3])
        paths.append(path)
    curve = read_tensorboard(logs(*paths), ReadSpec(metric="loss"))
    assert curve.skipped_lines == 7
    assert curve.notes == (
        *[f"{path.name}: the file ends inside record 11, which was skipped" for path in paths[:5]],
        "2 more file(s) end at a damaged or incomplete record",
    )


def test_a_data_checksum_mismatch_skips_that_record(ten_steps: Path) -> None:
    blob = bytearray(ten_steps.read_bytes())
    offsets = record_offsets(bytes(blob))
    blob[offsets[4] + 20] ^= 0x10  # inside the data of record 5 (step 3)
    blob[offsets[7] + 14] ^= 0x01  # record 8 (step 6)
    damaged = rewrite(ten_steps, bytes(blob))

    curve = read_both(damaged)

    assert curve.steps.tolist() == [0, 1, 2, 4, 5, 7, 8, 9]
    assert curve.skipped_lines == 2
    assert curve.first_skipped == Position(damaged.name, 5, "record")
    assert curve.notes == ()


def test_a_length_checksum_mismatch_stops_that_file(ten_steps: Path) -> None:
    blob = bytearray(ten_steps.read_bytes())
    blob[record_offsets(bytes(blob))[6] + 9] ^= 0x80  # the length CRC of record 7 (step 5)
    damaged = rewrite(ten_steps, bytes(blob))
    after = write_scalars(ten_steps.parent.parent / "next", [("loss", 99.0, 20)])

    curve = read_tensorboard(logs(damaged, after), ReadSpec(metric="loss"))

    assert pairs(curve) == [*[(step, float(step)) for step in range(5)], (20, 99.0)]  # the next file is read
    assert curve.skipped_lines == 1
    assert curve.first_skipped == Position(damaged.name, 7, "record")
    assert curve.notes == (f"{damaged.name}: record 7 has a damaged length; the rest of the file was not read",)


def test_a_flipped_length_stops_the_file_too(ten_steps: Path) -> None:
    blob = bytearray(ten_steps.read_bytes())
    blob[record_offsets(bytes(blob))[3]] ^= 0x04  # the length itself no longer matches its CRC
    curve = read_both(rewrite(ten_steps, bytes(blob)))
    assert curve.steps.tolist() == [0, 1] and curve.skipped_lines == 1


@pytest.mark.parametrize("length", [2**63, 2**64 - 1, 2**40])
def test_a_hostile_length_is_a_truncated_record_not_an_allocation(ten_steps: Path, length: int) -> None:
    hostile = frame(b"", length=length)[:12] + b"\x00" * 64  # a valid length CRC, then too few bytes
    damaged = rewrite(ten_steps, ten_steps.read_bytes() + hostile)

    curve = read_both(damaged)

    assert len(curve) == 10
    assert curve.first_skipped == Position(damaged.name, 12, "record") and curve.skipped_lines == 1

    alone = rewrite(ten_steps, hostile)
    for fast in (True, False):
        with pytest.raises(LogError, match=r"the file ends inside the record \(record 1\)"):
            read_tensorboard(logs(alone), ReadSpec(), fast=fast)


MALFORMED = {
    "group-wire-type": key(1, 3),
    "truncated-varint": key(2, 0) + b"\xff",
    "varint-of-eleven-bytes": key(2, 0) + b"\xff" * 10 + b"\x01",
    "field-number-zero": key(0, 0) + b"\x01",
    "length-past-the-end": delimited(5, b"")[:-1] + b"\x09",
    "summary-value-past-the-end": delimited(5, key(1, 2) + b"\x40"),
    "tag-not-utf8": delimited(5, delimited(1, delimited(1, b"lo\xffss") + key(2, 5) + struct.pack("<f", 1.0))),
    "packed-float-not-a-multiple-of-4": delimited(
        5, delimited(1, delimited(1, b"loss") + delimited(8, key(1, 0) + b"\x01" + delimited(5, b"\x00" * 5)))
    ),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_record_with_a_good_checksum_but_no_event_is_skipped(ten_steps: Path, payload: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - protobuf agrees this is not an Event
        event_pb2.Event.FromString(payload)
    records = split_records(ten_steps.read_bytes())
    records.insert(3, payload)  # becomes record 4
    damaged = rewrite(ten_steps, frame_all(records))

    curve = read_both(damaged)

    assert pairs(curve) == [(step, float(step)) for step in range(10)]
    assert curve.skipped_lines == 1 and curve.first_skipped == Position(damaged.name, 4, "record")


def test_unpacked_lists_and_unknown_fields_are_read(ten_steps: Path) -> None:
    tensor = key(1, 0) + b"\x01" + key(5, 5) + struct.pack("<f", 0.25)  # dtype FLOAT, float_val unpacked
    value = delimited(1, b"loss") + delimited(9, b"\x0a\x00") + delimited(8, tensor) + key(15, 1) + b"\x00" * 8
    payload = key(1, 1) + struct.pack("<d", 1.0) + key(2, 0) + varint(50) + delimited(5, delimited(1, value))
    parsed = event_pb2.Event.FromString(payload)  # the real parser reads the same thing
    assert parsed.step == 50 and list(parsed.summary.value[0].tensor.float_val) == [0.25]
    records = split_records(ten_steps.read_bytes())
    damaged = rewrite(ten_steps, frame_all([*records, payload]))

    curve = read_both(damaged)

    assert pairs(curve)[-1] == (50, 0.25) and curve.skipped_lines == 0


def simple(value: float) -> bytes:
    return key(2, 5) + struct.pack("<f", value)


def float_tensor(*items: float) -> bytes:
    return delimited(8, key(1, 0) + b"\x01" + delimited(5, struct.pack(f"<{len(items)}f", *items)))


LOSS = delimited(1, b"loss")
ONEOF_CASES = {
    # Event.what and Value.value are oneofs: the member read last is the one set, and a message
    # field that comes twice is merged. Protobuf's own parse is the expected answer.
    "summary-then-file-version": delimited(5, delimited(1, LOSS + simple(1.0))) + delimited(3, b"brain.Event:2"),
    "file-version-then-summary": delimited(3, b"brain.Event:2") + delimited(5, delimited(1, LOSS + simple(2.0))),
    "two-summaries-merge": delimited(5, delimited(1, delimited(1, b"acc") + simple(3.0)))
    + delimited(5, delimited(1, LOSS + simple(4.0))),
    "log-message-between": delimited(5, delimited(1, LOSS + simple(5.0)))
    + delimited(6, b"")
    + delimited(5, delimited(1, LOSS + simple(6.0))),
    "simple-then-tensor": delimited(5, delimited(1, LOSS + simple(1.0) + float_tensor(7.0))),
    "tensor-then-simple": delimited(5, delimited(1, LOSS + float_tensor(7.0) + simple(8.0))),
    "tensor-merges-with-tensor": delimited(5, delimited(1, LOSS + float_tensor(7.0) + float_tensor(9.0))),
    "simple-between-tensors": delimited(5, delimited(1, LOSS + float_tensor(7.0) + simple(8.0) + float_tensor(9.0))),
    "histo-after-simple": delimited(5, delimited(1, LOSS + simple(1.0) + delimited(5, b""))),
    "step-after-summary": delimited(5, delimited(1, LOSS + simple(1.5))) + key(2, 0) + varint(77),
}


@pytest.mark.parametrize("payload", ONEOF_CASES.values(), ids=ONEOF_CASES.keys())
def test_oneof_members_and_merging_follow_protobuf(ten_steps: Path, payload: bytes) -> None:
    expected = expected_scalars([event_pb2.Event.FromString(payload)])
    damaged = rewrite(ten_steps, frame_all([split_records(ten_steps.read_bytes())[0], payload]))
    for tag in ("loss", "acc"):
        last = {step: value for other, step, value, _ in expected if other == tag}
        curve = read_both(damaged, tag)
        assert pairs(curve) == sorted(last.items())
        assert curve.skipped_lines == 0


def test_deeply_nested_fields_do_not_recurse(ten_steps: Path) -> None:
    nested = b""
    for level in range(3000):  # deeper than Python's recursion limit
        nested = delimited((5, 1, 8, 2)[level % 4], nested)
    records = split_records(ten_steps.read_bytes())
    curve = read_both(rewrite(ten_steps, frame_all([*records[:2], nested, *records[2:]])))
    assert len(curve) == 10


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"step,loss\n0,1.5\n1,1.2\n" * 3, "the record length fails its checksum"),
        (b'{"type": "step"}', "the record length fails its checksum"),
        (b"\x00" * 5, "the file ends inside the record"),
    ],
)
def test_a_file_that_is_not_an_event_file_is_a_log_error(tmp_path: Path, blob: bytes, reason: str) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(blob)
    for fast in (True, False):
        with pytest.raises(LogError) as caught:
            read_tensorboard(logs(path), ReadSpec(), fast=fast)
        assert str(caught.value) == f"{path.name} is not a TensorBoard event file: {reason} (record 1)"
        assert caught.value.file == path.name


@pytest.mark.parametrize("where", ["data", "proto"])
def test_a_damaged_first_record_is_a_log_error(ten_steps: Path, where: str) -> None:
    blob = bytearray(ten_steps.read_bytes())
    if where == "data":
        blob[14] ^= 0x01
        reason = "the record data fails its checksum"
    else:
        blob = bytearray(frame(key(1, 4)) + blob)
        reason = "the record data is not an Event protocol buffer"
    damaged = rewrite(ten_steps, bytes(blob))
    for fast in (True, False):
        with pytest.raises(LogError, match=rf"is not a TensorBoard event file: {reason} \(record 1\)"):
            read_tensorboard(logs(damaged), ReadSpec(), fast=fast)


# ---- the compiled scanner is only a fast path ---------------------------------------------


def assert_same(a: Curve, b: Curve) -> None:
    assert a.steps.tolist() == b.steps.tolist()
    assert a.values.tobytes() == b.values.tobytes()
    assert a.file_index.tolist() == b.file_index.tolist()
    assert a.line.tolist() == b.line.tolist()
    assert (a.files, a.skipped_lines, a.first_skipped, a.ignored_records) == (
        b.files,
        b.skipped_lines,
        b.first_skipped,
        b.ignored_records,
    )
    assert (a.fields_seen, a.unit, a.format, a.metric_name, a.notes) == (
        b.fields_seen,
        b.unit,
        b.format,
        b.metric_name,
        b.notes,
    )


@contextmanager
def limits(chunk: int, values: int, tags: int) -> Iterator[None]:
    """Small chunks and arrays, so records straddle chunks and native calls resume mid-buffer."""
    saved = tensorboard.CHUNK_BYTES, tensorboard.VALUES_PER_CALL, tensorboard.TAGS_PER_CALL
    tensorboard.CHUNK_BYTES, tensorboard.VALUES_PER_CALL, tensorboard.TAGS_PER_CALL = chunk, values, tags
    try:
        yield
    finally:
        tensorboard.CHUNK_BYTES, tensorboard.VALUES_PER_CALL, tensorboard.TAGS_PER_CALL = saved


def outcome(paths: Sequence[Path], metric: str, *, fast: bool) -> Curve | str:
    try:
        return read_tensorboard(logs(*paths), ReadSpec(metric=metric), fast=fast)
    except LogError as exc:
        return f"LogError({exc}, file={exc.file})"


def assert_paths_agree(paths: Sequence[Path], metric: str) -> None:
    reference = outcome(paths, metric, fast=False)
    defaults = (tensorboard.CHUNK_BYTES, tensorboard.VALUES_PER_CALL, tensorboard.TAGS_PER_CALL)
    for chunk, values, tags in [(1, 1, 1), (37, 2, 1), (64, 3, 2), defaults]:
        with limits(chunk, values, tags):
            for fast in (True, False):
                got = outcome(paths, metric, fast=fast)
                if isinstance(reference, str) or isinstance(got, str):
                    assert got == reference
                else:
                    assert_same(got, reference)


# Events of every scalar form, and of forms that are not scalars, built with the writer's classes.
tags = st.sampled_from(["loss", "train/loss", "Loss/train", "lr", "é/ü", ""])
finite_or_not = st.floats(width=32) | st.sampled_from([math.nan, math.inf, -math.inf])
shapes = st.sampled_from([(), (1,), (1, 1), (2,), (0,), None])


@st.composite
def tensors(draw: st.DrawFn) -> TensorProto:
    dtype = draw(st.sampled_from([1, 2, 3, 9, 14, 19, 7, 10]))  # and DT_STRING, DT_BOOL
    shape = draw(shapes)
    proto = TensorProto(dtype=dtype)
    if shape is None:
        proto.tensor_shape.unknown_rank = True
    else:
        proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape)
    if draw(st.booleans()):
        proto.tensor_content = draw(st.binary(max_size=9))
    elif dtype in (1, 2):
        getattr(proto, "float_val" if dtype == 1 else "double_val").extend(draw(st.lists(finite_or_not, max_size=2)))
    elif dtype in (3, 9):
        bound = 2**31 if dtype == 3 else 2**63
        getattr(proto, "int_val" if dtype == 3 else "int64_val").extend(
            draw(st.lists(st.integers(-bound, bound - 1), max_size=2))
        )
    elif dtype in (14, 19):
        proto.half_val.extend(draw(st.lists(st.integers(0, 2**16 - 1), max_size=2)))
    return proto


@st.composite
def values(draw: st.DrawFn) -> Value:
    value = Value(tag=draw(tags))
    form = draw(st.sampled_from(["simple", "tensor", "tensor", "tensor", "histo", "none"]))
    if form == "simple":
        value.simple_value = draw(finite_or_not)
    elif form == "tensor":
        value.tensor.CopyFrom(draw(tensors()))
    elif form == "histo":
        value.histo.num = 3
    if draw(st.booleans()):
        value.metadata.plugin_data.plugin_name = "scalars"
    return value


@st.composite
def events(draw: st.DrawFn) -> event_pb2.Event:
    step = draw(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 5))
    event = event_pb2.Event(wall_time=draw(st.floats(0, 2e9)), step=step)
    what = draw(st.sampled_from(["summary", "summary", "summary", "file_version", "log"]))
    if what == "summary":
        event.summary.value.extend(draw(st.lists(values(), max_size=3)))
    elif what == "file_version":
        event.file_version = "brain.Event:2"
    else:
        event.log_message.message = "hello"
    return event


def write_events(path: Path, items: Sequence[event_pb2.Event]) -> Path:
    writer = RecordWriter(str(path))
    writer.write(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString())
    for event in items:
        writer.write(event.SerializeToString())
    writer.close()
    return path


def expected_scalars(items: Sequence[event_pb2.Event]) -> list[tuple[str, int, float, int]]:
    """(tag, step, value, record) by the rules, read off the protobuf objects themselves."""
    found = []
    for record, event in enumerate(items, start=2):
        if event.WhichOneof("what") != "summary":
            continue
        for value in event.summary.value:
            form = value.WhichOneof("value")
            number = one_element(value.tensor) if form == "tensor" else None
            if form == "simple_value":
                number = value.simple_value
            if number is not None:
                found.append((value.tag, event.step, number, record))
    return found


def one_element(tensor: TensorProto) -> float | None:
    dims = [d.size for d in tensor.tensor_shape.dim]
    kinds = {1: ("float_val", np.float32), 2: ("double_val", np.float64), 3: ("int_val", np.int32)}
    kinds.update({9: ("int64_val", np.int64), 14: ("half_val", None), 19: ("half_val", np.float16)})
    if tensor.tensor_shape.unknown_rank or any(d != 1 for d in dims) or tensor.dtype not in kinds:
        return None
    name, dtype = kinds[tensor.dtype]
    if tensor.tensor_content:
        raw = np.frombuffer(tensor.tensor_content, dtype=np.uint8)
        itemsize = 2 if dtype is None else np.dtype(dtype).itemsize
        if raw.size != itemsize:
            return None
        bits = raw
    else:
        items = list(getattr(tensor, name))
        if len(items) > 1:
            return None
        item = items[0] if items else 0
        if dtype is None or dtype is np.float16:
            bits = np.array([item], dtype=np.uint16).view(np.uint8)
        else:
            bits = np.array([item], dtype=dtype).view(np.uint8)
    if dtype is None:  # bfloat16: the top half of a float32
        return float(np.frombuffer(b"\x00\x00" + bits.tobytes(), dtype="<f4")[0])
    return float(np.frombuffer(bits.tobytes(), dtype=dtype)[0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(events(), max_size=8), missing=tags.filter(bool))
def test_every_scalar_form_matches_the_protobuf_objects(items: list[event_pb2.Event], missing: str) -> None:
    found = expected_scalars(items)
    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder) / "events.out.tfevents.1.host", items)
        for tag in sorted({tag for tag, *_ in found}):
            assert_paths_agree([path], tag)
            curve = read_tensorboard(logs(path), ReadSpec(metric=tag))
            last: dict[int, tuple[float, int]] = {}
            for other, step, value, record in found:
                if other == tag:
                    last[step] = (value if math.isfinite(value) else math.inf, record)
            assert curve.metric_name == tag
            assert pairs(curve) == [(step, last[step][0]) for step in sorted(last)]
            assert curve.line.tolist() == [last[step][1] for step in sorted(last)]
            assert curve.skipped_lines == 0
        if resolve_metric(missing, [tag for tag, *_ in found]) is None:
            curve = read_tensorboard(logs(path), ReadSpec(metric=missing))
            assert len(curve) == 0
            assert curve.fields_seen == tuple(sorted({tag for tag, *_ in found if tag}))


@st.composite
def mutations(draw: st.DrawFn, blob: bytes) -> bytes:
    """A real file, damaged: bit flips, cuts, random bytes spliced in, or a record's data changed
    behind a valid checksum (so the Event parsers, not the CRC, meet the damage)."""
    data = bytearray(blob)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "overwrite", "insert", "delete", "reframe"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(chunk)] = chunk
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            try:
                records = split_records(bytes(data))
            except struct.error:
                continue
            if not records:
                continue
            i = draw(st.integers(0, len(records) - 1))
            payload = bytearray(records[i])
            if payload and draw(st.booleans()):
                payload[draw(st.integers(0, len(payload) - 1))] ^= 1 << draw(st.integers(0, 7))
            else:
                payload = bytearray(draw(st.binary(max_size=40)))
            records[i] = bytes(payload)
            data = bytearray(frame_all(records))
    return bytes(data)


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("real")
    simple = write_scalars(
        folder / "simple", [(tag, 1.0 / (step + 1), step) for step in range(12) for tag in ("train/loss", "lr")]
    )
    tensor = write_summaries(folder / "tensor", [(new_style("loss", 2.0 - step / 10), step) for step in range(12)])
    content = write_summaries(
        folder / "content",
        [
            (tensor_summary("Loss/train", TensorProto(dtype=2, tensor_content=np.float64(step).tobytes())), step)
            for step in range(8)
        ],
    )
    return [path.read_bytes() for path in (simple, tensor, content)]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data(), metric=st.sampled_from(["loss", "lr", "missing"]))
def test_fast_path_equals_fallback_on_damaged_real_files(
    real_files: list[bytes], data: st.DataObject, metric: str
) -> None:
    base = data.draw(st.sampled_from(real_files))
    damaged = data.draw(mutations(base))
    second = data.draw(st.sampled_from(real_files))
    with tempfile.TemporaryDirectory() as folder:
        first_path = Path(folder) / "events.out.tfevents.1.host"
        second_path = Path(folder) / "events.out.tfevents.2.host"
        first_path.write_bytes(damaged)
        second_path.write_bytes(second)
        assert_paths_agree([first_path, second_path], metric)
        assert_paths_agree([first_path], metric)


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=300))
def test_fast_path_equals_fallback_on_random_bytes(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.out.tfevents.1.host"
        path.write_bytes(blob)
        assert_paths_agree([path], "loss")
