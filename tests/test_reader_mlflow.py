"""The MLflow reader on file stores written by MLflow itself (mlflow-skinny, pinned in
requirements-dev.txt), on real published stores (../shared/real-logs/formats/mlflow), on damaged metric files,
and the numpy fast path held equal to the line-by-line reader; ``run_name`` on hostile folders."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.curve import Curve
from drift.errors import LogError
from drift.readers import csvlog
from drift.readers.common import LogFile, ReadSpec
from drift.readers.mlflowstore import read_mlflow, run_name
from tests.conftest import REAL_LOGS, real_params, shared

REAL = REAL_LOGS / "formats" / "mlflow"


def metric_files(run_dir: Path) -> tuple[list[LogFile], list[str]]:
    """A run's metric files and their keys, as a caller lists ``metrics/`` (nested keys as folders)."""
    root = run_dir / "metrics"
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    keys = [p.relative_to(root).as_posix() for p in paths]
    return [LogFile(p, f"metrics/{k}", k) for p, k in zip(paths, keys, strict=True)], keys


def read_run(run_dir: Path, metric: str = "loss", *, fast: bool = True) -> Curve:
    files, _ = metric_files(run_dir)
    return read_mlflow(files, ReadSpec(metric=metric), fast=fast)


def read_one(path: Path, *, fast: bool = True) -> Curve:
    return read_mlflow([LogFile(path, "loss", "loss")], ReadSpec(), fast=fast)


def points(curve: Curve) -> dict[int, float]:
    return dict(zip(curve.steps.tolist(), curve.values.tolist(), strict=True))


def expected(pairs: Iterable[tuple[int, float]]) -> dict[int, float]:
    """Each step's last value (non-finite as +inf); all-zero steps in logging order instead."""
    pairs = list(pairs)
    if len(pairs) > 1 and all(step == 0 for step, _ in pairs):
        pairs = [(i, value) for i, (_, value) in enumerate(pairs)]
    out: dict[int, float] = {}
    for step, value in pairs:
        out[step] = value if math.isfinite(value) else math.inf
    return dict(sorted(out.items()))


# --- MLflow's own writer --------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import mlflow

    # MLflow 3.x keeps the file store in maintenance mode: FileStore() refuses to start without
    # this opt-in, then writes the same layout as before.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return mlflow.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())


def new_run(client: Any, tmp_path: Path, name: str = "bright-fox") -> tuple[str, Path]:
    experiment = client.create_experiment("exp")
    run = client.create_run(experiment, run_name=name)
    return run.info.run_id, tmp_path / "mlruns" / experiment / run.info.run_id


def test_mlflow_written_run_reads_back(client: Any, tmp_path: Path) -> None:
    run_id, run_dir = new_run(client, tmp_path)
    logged = [(0, 2.0), (1, math.nan), (2, 1.5), (3, math.inf), (2, 1.25), (4, -math.inf), (5, 1e-20), (6, 1.0)]
    for step, value in logged:
        client.log_metric(run_id, "train/loss", value, step=step)
        client.log_metric(run_id, "train/lr", 1e-4, step=step)
    client.set_terminated(run_id)

    got = read_run(run_dir)
    assert got.metric_name == "train/loss"
    assert points(got) == expected(logged)
    assert got.files == ("metrics/train/loss",) and got.format == "mlflow"
    # The repeated step 2 keeps its later value, from the fifth line of the file.
    assert got.line.tolist() == [1, 2, 5, 4, 6, 7, 8]
    assert got.skipped_lines == 0 and got.notes == ()
    assert run_name(run_dir) == "bright-fox"


def test_a_metric_logged_without_steps_reads_in_logging_order(client: Any, tmp_path: Path) -> None:
    run_id, run_dir = new_run(client, tmp_path)
    for value in (3.0, 2.0, 1.5):
        client.log_metric(run_id, "loss", value)
    got = read_run(run_dir)
    assert points(got) == {0: 3.0, 1: 2.0, 2: 1.5}
    assert any("logging order" in note for note in got.notes)


def test_values_logged_with_a_dataset_keep_their_step(client: Any, tmp_path: Path) -> None:
    from mlflow.entities import Metric

    run_id, run_dir = new_run(client, tmp_path)
    metrics = [Metric("loss", 1.0 / (s + 1), 1000 + s, s, dataset_name="train", dataset_digest="d1") for s in range(5)]
    metrics += [Metric("loss", 9.0, 2000, 4, dataset_name="val", dataset_digest="d2")]
    client.log_batch(run_id, metrics=metrics)
    assert (run_dir / "metrics" / "loss").read_text().splitlines()[0].split(" ")[3:] == ["train", "d1"]
    got = read_run(run_dir)
    assert points(got) == {0: 1.0, 1: 0.5, 2: 1 / 3, 3: 0.25, 4: 9.0}
    assert any("third field" in note for note in got.notes)
    assert any("train, val" in note for note in got.notes)


def test_only_the_resolved_key_is_read(tmp_path: Path) -> None:
    good, bad = tmp_path / "train_loss", tmp_path / "accuracy"
    good.write_text("1 0.5 0\n2 0.25 1\n")
    bad.write_bytes(b"\x00\xff garbage")
    files = [LogFile(bad, "metrics/accuracy", "accuracy"), LogFile(good, "metrics/train_loss", "train_loss")]
    got = read_mlflow(files, ReadSpec())
    assert points(got) == {0: 0.5, 1: 0.25} and got.metric_name == "train_loss"
    assert got.files == ("metrics/train_loss",) and got.file_index.tolist() == [0, 0]


def test_no_matching_key_means_no_points_and_the_keys_found(tmp_path: Path) -> None:
    path = tmp_path / "acc"
    path.write_text("1 0.5 0\n")
    got = read_mlflow([LogFile(path, "metrics/acc", "acc"), LogFile(path, "metrics/eval/f1", "eval/f1")], ReadSpec())
    assert len(got) == 0 and got.metric_name == "" and got.files == ()
    assert got.fields_seen == ("acc", "eval/f1")


# --- the file format, by hand --------------------------------------------------------------------


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "loss"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("fast", [True, False])
def test_two_field_lines_are_step_0_as_mlflow_reads_them(tmp_path: Path, fast: bool) -> None:
    got = read_one(write(tmp_path, b"100 5.0\n101 4.0 1\n102 3.0 2\n"), fast=fast)
    assert points(got) == {0: 5.0, 1: 4.0, 2: 3.0}
    assert any("no step" in note for note in got.notes)
    only_old = read_one(write(tmp_path, b"100 5.0\n101 4.0\n"), fast=fast)
    assert points(only_old) == {0: 5.0, 1: 4.0}
    assert any("logging order" in note for note in only_old.notes)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (b"1 2 3 4", "four fields"),
        (b"1  2 3", "two spaces make an empty field"),
        (b"1 x 3", "a value that is not a number"),
        (b"1.5 2 3", "a timestamp that is not an integer"),
        (b"1 2 3.0", "a step that is not an integer, as MLflow's int() refuses"),
        (b"1 2 \xff", "bytes that are not UTF-8"),
        (b"1 2\t3", "a tab is not a separator"),
    ],
)
def test_a_damaged_line_is_skipped_and_counted(tmp_path: Path, bad: bytes, why: str, fast: bool) -> None:
    got = read_one(write(tmp_path, b"1 1.0 1\n" + bad + b"\n1 0.25 3\n"), fast=fast)
    assert points(got) == {1: 1.0, 3: 0.25}, why
    assert got.skipped_lines == 1 and str(got.first_skipped) == "loss:2"
    assert got.line.tolist() == [1, 3]


@pytest.mark.parametrize("fast", [True, False])
def test_blank_lines_crlf_and_surrounding_spaces(tmp_path: Path, fast: bool) -> None:
    got = read_one(write(tmp_path, b"1 1.0 1\r\n\r\n  2 0.5 2  \r\n3 -inf 3"), fast=fast)
    assert points(got) == {1: 1.0, 2: 0.5, 3: math.inf}
    assert got.line.tolist() == [1, 3, 4] and got.skipped_lines == 0


@pytest.mark.parametrize(
    "content", [b"\x7fELF\x02\x01\x01\x00\x00\n1 2 3\n", b"timestamp value step\n1 2 3\n", b"1 2 3 4\n"]
)
def test_a_broken_first_line_is_an_error_at_line_1(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(LogError, match="first line") as caught:
        read_one(write(tmp_path, content))
    assert caught.value.file == "loss" and caught.value.line == 1


def test_an_empty_file_has_no_points(tmp_path: Path) -> None:
    got = read_one(write(tmp_path, b""))
    assert len(got) == 0 and got.skipped_lines == 0


def test_a_step_beyond_int64_is_counted_not_kept(tmp_path: Path) -> None:
    for fast in (True, False):
        got = read_one(write(tmp_path, b"1 1.0 1\n1 2.0 99999999999999999999\n1 3.0 2\n"), fast=fast)
        assert points(got) == {1: 1.0, 2: 3.0} and got.oversized_steps == 1


def test_a_huge_line_is_one_damaged_line(tmp_path: Path) -> None:
    path = tmp_path / "loss"
    with path.open("wb") as handle:
        handle.write(b"1 1.0 1\n1 ")
        handle.write(b"5" * (20 << 20))
        handle.write(b" 2\n1 0.5 3\n")
    got = read_one(path)
    assert points(got) == {1: 1.0, 3: 0.5} and got.skipped_lines == 1 and got.line.tolist() == [1, 3]


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="failed to read metrics/loss") as caught:
        read_mlflow([LogFile(tmp_path / "nope", "metrics/loss", "loss")], ReadSpec())
    assert caught.value.file == "metrics/loss"


# --- run names -----------------------------------------------------------------------------------


def run_folder(tmp_path: Path, meta: bytes | None, tag: bytes | None = None) -> Path:
    run_dir = tmp_path / "0" / "abc"
    (run_dir / "tags").mkdir(parents=True)
    if meta is not None:
        (run_dir / "meta.yaml").write_bytes(meta)
    if tag is not None:
        (run_dir / "tags" / "mlflow.runName").write_bytes(tag)
    return run_dir


@pytest.mark.parametrize(
    ("meta", "tag", "name"),
    [
        (b"run_id: abc\nrun_name: calm-owl\n", b"other", "calm-owl"),
        (b"run_id: abc\nname: ''\n", b"from-tag", "from-tag"),  # MLflow < 1.29 had no run_name
        (None, b"from-tag", "from-tag"),
        (b"run_name: 2024\n", None, "2024"),
        (b"run_name: true\n", b"from-tag", "from-tag"),
        (b"run_name: [a, b]\n", None, None),
        (b'run_name: "a\\x1b[31mb\\u202ec\\n"\n', None, "a[31mbc"),
        (b"run_name: '   '\n", b"  \x07tag\r\n", "tag"),
        (b"run_name: !!python/object/apply:os.system ['true']\n", b"safe", "safe"),
        (b"a: &a [*a]\n", b"loop", "loop"),
        (b"[" * 5000 + b"]" * 5000, b"deep", "deep"),
        (b"run_name: " + b"x" * (70 << 10) + b"\n", b"short", "short"),
        (b"\x00\xff\xfe binary", None, None),
        (b"run_name: " + "é".encode() * 400 + b"\n", None, "é" * 250),
        (b"", b"", None),
    ],
)
def test_run_name_reads_what_it_safely_can(
    tmp_path: Path, meta: bytes | None, tag: bytes | None, name: str | None
) -> None:
    assert run_name(run_folder(tmp_path, meta, tag)) == name


def test_run_name_never_blocks_or_raises_on_odd_files(tmp_path: Path) -> None:
    run_dir = run_folder(tmp_path, None, None)
    os.mkfifo(run_dir / "meta.yaml")  # opening a FIFO would wait for a writer forever
    (run_dir / "tags" / "mlflow.runName").mkdir()
    assert run_name(run_dir) is None
    assert run_name(tmp_path / "missing") is None
    assert run_name(Path("/dev")) is None


# --- real published stores -----------------------------------------------------------------------


def real_runs() -> list[Path]:
    return sorted(p.parent for p in REAL.glob("*/mlruns/*/*/meta.yaml"))


def oracle(path: Path) -> dict[int, float]:
    """An independent reading: split each line, step from the third field."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        pairs.append((int(parts[2]) if len(parts) > 2 else 0, float(parts[1])))
    return expected(pairs)


@pytest.mark.parametrize("run_dir", real_params(real_runs(), "mlflow"), ids=lambda p: f"{p.parts[-4]}/{p.name[:8]}")
@pytest.mark.parametrize("fast", [True, False])
def test_real_stores_read_every_key(run_dir: Path, fast: bool) -> None:
    shared("real-logs", "formats", "mlflow")
    files, keys = metric_files(run_dir) if (run_dir / "metrics").is_dir() else ([], [])
    for log, key in zip(files, keys, strict=True):
        got = read_mlflow(files, ReadSpec(metric=key), fast=fast)
        assert got.metric_name == key
        assert points(got) == oracle(log.path), key
        assert got.skipped_lines == 0
    meta = yaml.safe_load((run_dir / "meta.yaml").read_text(encoding="utf-8"))
    tag = run_dir / "tags" / "mlflow.runName"
    want = meta.get("run_name") or (tag.read_text(encoding="utf-8").strip() if tag.is_file() else None)
    assert run_name(run_dir) == want


def test_real_stores_hold_the_cases_they_were_chosen_for() -> None:
    shared("real-logs", "formats", "mlflow")
    nested = [r for r in real_runs() if (r / "metrics" / "train" / "loss").is_file()]
    if nested:  # Stable-Baselines3 logs train/loss as a nested key: the reader finds it for "loss"
        got = read_run(nested[0])
        assert got.metric_name == "train/loss" and len(got) > 10


# --- properties ----------------------------------------------------------------------------------


def filestore_line(timestamp: int, value: float, step: int) -> str:
    """A line as FileStore._log_run_metric appends it."""
    return f"{timestamp} {value} {step}\n"


@given(
    curve=st.lists(
        st.tuples(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True)), max_size=80
    )
)
@settings(max_examples=150, deadline=None)
def test_any_curve_in_the_filestore_format_reads_back(curve: list[tuple[int, float]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loss"
        path.write_text("".join(filestore_line(1_700_000_000_000 + i, v, s) for i, (s, v) in enumerate(curve)))
        for fast in (True, False):
            assert points(read_one(path, fast=fast)) == expected(curve)


fields = st.one_of(
    st.integers(min_value=-3, max_value=2**64).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "3.0", "+4", "-", "+", "nan", "Infinity", "1_0", "x", "1e5", "\xe9", "0x1", "train", "\t5"]),
)


@st.composite
def metric_files_content(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        n = draw(st.sampled_from([3, 3, 3, 3, 2, 5, 1, 4]))
        line = " ".join(draw(fields) for _ in range(n))
        if draw(st.integers(0, 9)) == 0:
            line = draw(st.sampled_from(["", " 1 2 3", "1 2 3 ", "1  2 3", "1 2\r3", "\x00"]))
        lines.append(line.encode("utf-8", "surrogateescape"))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return ending.join(lines) + draw(st.sampled_from([ending, b""]))


def same(a: Curve, b: Curve) -> None:
    assert a.steps.tolist() == b.steps.tolist()
    assert np.array_equal(a.values, b.values)
    assert a.line.tolist() == b.line.tolist()
    assert (a.skipped_lines, a.first_skipped, a.oversized_steps, a.notes) == (
        b.skipped_lines,
        b.first_skipped,
        b.oversized_steps,
        b.notes,
    )


def outcome(path: Path, fast: bool) -> Curve | str:
    try:
        return read_one(path, fast=fast)
    except LogError as exc:
        return f"{exc} @ {exc.file}:{exc.line}"


@given(content=metric_files_content())
@settings(max_examples=300, deadline=None)
def test_fast_path_reads_what_the_line_by_line_reader_reads(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loss"
        path.write_bytes(content)
        reference = outcome(path, fast=False)
        small: dict[str, Any] = {"BLOCK_BYTES": 41, "PIECE_BYTES": 16}
        for blocks in (None, small):
            with patch.multiple(csvlog, **blocks) if blocks else nullcontext():
                got = outcome(path, fast=True)
            if isinstance(reference, str) or isinstance(got, str):
                assert got == reference
            else:
                same(got, reference)


@given(
    content=st.binary(max_size=300),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(0, 255)), max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_random_damage_never_raises_anything_but_log_error(content: bytes, flips: list[tuple[int, int]]) -> None:
    base = bytearray(b"1700000000000 1.5 0\n1700000000001 1.25 1\n" + content)
    for at, byte in flips:
        base[at % len(base)] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loss"
        path.write_bytes(bytes(base))
        for fast in (True, False):
            try:
                got = read_one(path, fast=fast)
            except LogError as exc:
                assert exc.line == 1 and exc.file == "loss"
            else:
                assert len(got) == len(set(got.steps.tolist()))
