"""JSON-lines training logs: dlm's, and any other with a step field and a metric field.

The rules are the seed probe's (``_collect_steps``), which read dlm logs: lines split as Python's
text mode splits them (``\\n``, ``\\r\\n`` and a lone ``\\r``), blank lines skipped, a broken
first line is an error, later broken lines are skipped, ``int(step)`` and ``float(metric)`` as
Python converts them, a non-finite loss kept as +inf, and for a repeated step the last value read
wins. dlm's records are those with ``type == "step"``; other logs name their step field and,
optionally, a ``key=value`` filter. Without a filter a record is a point when it holds the metric.
When no step field is set, and when the metric is not a field by that exact name, the first
records of the run decide (``resolve_keys``): the step is the first of ``STEP_KEYS`` they hold, the
metric its first usual spelling (``total_loss``, ``train/loss``...); every line is then read with
those two names, by either path.
Where the seed would crash (bytes that are not UTF-8, a number too large for a float or for a
64-bit step) we skip and count instead.

Files stream in chunks. Each chunk goes through the compiled scanner when it is built
(``drift.native``); the lines it does not fully understand, and every chunk when it is not
built, go through ``json.loads`` one line at a time.
"""

from __future__ import annotations

import ctypes
import io
import json
import math
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from drift import native
from drift.curve import Curve, FloatArray, IntArray, Position
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    LogFile,
    Points,
    ReadSpec,
    finish,
    narrow,
    reading,
    record_point,
    resolve_metric,
    step_candidates,
)

CHUNK_BYTES = 8 << 20
HEAD_BYTES = 64 << 10  # what resolve_keys reads of each file, at most
HEAD_FILES = 8  # files looked at before giving up on finding the keys
_T = TypeVar("_T", bound=np.generic)


@dataclass(frozen=True)
class _Source:
    """One file being read into a run's points."""

    log: LogFile
    index: int  # the file's position in the run
    spec: ReadSpec
    points: Points


DLM = ReadSpec(step_key="step", record_filter=("type", "step"))


def read_dlm(files: Sequence[LogFile], metric: str = "loss", *, fast: bool = True) -> Curve:
    return read_jsonl(files, replace(DLM, metric=metric), fast=fast, format="dlm")


def read_jsonl(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True, format: str = "jsonl") -> Curve:
    points = Points()
    lib = native.load() if fast else None
    notes: list[str] = []
    head: list[dict[str, object]] = []
    if format == "jsonl":
        head = _head_records(files, spec)
        spec, notes = resolve_keys(head, spec)
    key = _Keys.of(spec)
    for index, log in enumerate(files):
        with reading(log):
            _read_file(_Source(log, index, spec, points), key, lib)
    if format != "jsonl":
        return finish(points, files, format=format)
    if not points.fields_seen and not any(part.size for part in points.steps):
        # No record held the metric: the hint lists the fields the first records do hold.
        points.fields_seen = tuple(dict.fromkeys(str(k) for r in head for k in r))[:FIELDS_SHOWN]
    return finish(points, files, format=format, metric_name=spec.metric, step_name=spec.step_key, notes=notes)


def resolve_keys(records: Sequence[dict[str, object]], spec: ReadSpec) -> tuple[ReadSpec, list[str]]:
    """The spec with its step field chosen (when none is set) and its metric spelled as the
    records spell it, from the first records of the run (``_head_records``); and a note when no
    step field was found. What the head does not decide stays as it was."""
    metric = resolve_metric(spec.metric, [k for r in records for k in r]) or spec.metric
    if spec.step_key:
        return replace(spec, metric=metric), []
    holding = [r for r in records if metric in r]
    for candidate in step_candidates(""):
        if any(_whole(r.get(candidate)) for r in holding):
            return replace(spec, metric=metric, step_key=candidate), []
    tried = ", ".join(step_candidates(""))
    # Read on with "step": every record is then counted as ignored, and the hint says why.
    return replace(spec, metric=metric, step_key="step"), [f"no step field found (looked for {tried})"]


def _whole(value: object) -> bool:
    """Whether ``int()`` takes the value as a step."""
    if value is None or isinstance(value, (bool, dict, list)):
        return False
    try:
        int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _head_records(files: Sequence[LogFile], spec: ReadSpec) -> list[dict[str, object]]:
    """The JSON objects among the first lines of the first files that pass the filter, until some
    hold the metric or a usual spelling of it."""
    found: list[dict[str, object]] = []
    for log in files[:HEAD_FILES]:
        try:
            with log.path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except OSError:
            continue  # reading the file reports it, with its message
        lines = head.splitlines()
        if len(head) == HEAD_BYTES and lines:
            lines.pop()  # cut by the read
        for raw in lines[:1000]:
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and (spec.record_filter is None or _filtered(record, spec.record_filter)):
                found.append(record)
        if resolve_metric(spec.metric, [k for r in found for k in r]) is not None:
            break
    return found


@dataclass(frozen=True)
class _Keys:
    """The spec's names as the scanner compares them: raw UTF-8 bytes."""

    step: bytes
    metric: bytes
    filter_key: bytes
    filter_value: bytes

    @staticmethod
    def of(spec: ReadSpec) -> _Keys:
        def raw(text: str) -> bytes:
            return text.encode("utf-8", "surrogateescape")

        fk, fv = spec.record_filter or ("", "")
        return _Keys(raw(spec.step_key), raw(spec.metric), raw(fk), raw(fv))


def _read_file(src: _Source, key: _Keys, lib: ctypes.CDLL | None) -> None:
    line_base = 0  # lines of this file already consumed
    pending: deque[tuple[bytearray, int, Future[_Scan] | None]] = deque()

    def finish_one() -> None:
        nonlocal line_base
        buffer, size, future = pending.popleft()
        if future is None:
            line_base += _python_chunk(src, bytes(buffer[:size]), line_base)
        else:
            line_base += _merge(src, future.result(), buffer, line_base)

    with src.log.path.open("rb") as handle:
        for buffer, size, last in _chunks(handle):
            # Scans run on the pool (ctypes drops the GIL) while this thread reads ahead;
            # results are merged strictly in file order.
            # A lone CR changes the line count: such chunks take the json.loads path.
            future: Future[_Scan] | None = None
            if lib is not None and buffer.find(b"\r", 0, size) < 0:
                if last and not pending:  # the last chunk of a small file: a thread hop costs more
                    future = Future()
                    future.set_result(_scan(lib, buffer, size, key))
                else:
                    future = _pool().submit(_scan, lib, buffer, size, key)
            pending.append((buffer, size, future))
            while len(pending) > _IN_FLIGHT:
                finish_one()
    while pending:
        finish_one()


def _chunks(handle: io.BufferedReader) -> Iterator[tuple[bytearray, int, bool]]:
    """The file as chunks of whole lines: (buffer, size of the lines in it, whether the file's
    size says no bytes follow). Read lazily, so the caller's scans overlap the reading."""
    remaining = os.fstat(handle.fileno()).st_size
    carry: bytes | bytearray = b""  # bytearray: a line longer than a chunk, read so far
    while True:
        # Sized to what is left (+1 to see the end of a file that grows while we read it),
        # so a small log costs a small buffer. A line longer than a chunk is read on into its
        # own buffer, doubling, so a 100 MB line costs a few copies, not one per chunk.
        held = len(carry)
        want = max(1, min(max(CHUNK_BYTES, held), remaining + 1))
        if isinstance(carry, bytearray):
            buffer = carry
            more = handle.read(want)
            buffer += more
            got = len(more)
            del more
        else:
            buffer = bytearray(held + want)
            buffer[:held] = carry
            got = handle.readinto(memoryview(buffer)[held:])
        remaining = max(0, remaining - got)
        filled = held + got
        if got == 0:
            size = filled  # the last line, without its newline
            carry = b""
        else:
            cut = buffer.rfind(b"\n", held, filled)  # the carry holds no newline
            if cut < 0:  # a very long line: keep reading until it ends
                del buffer[filled:]
                carry = buffer
                continue
            size = cut + 1
            carry = bytes(buffer[size:filled])
        if size:
            yield buffer, size, remaining == 0
        if got == 0:
            return


@dataclass(frozen=True)
class _Scan:
    """What the compiled scanner found in one chunk; line numbers count from 0 at the chunk's start."""

    lines: int
    steps: IntArray
    values: FloatArray
    at: IntArray  # each point's line
    deferred: IntArray  # (line, start, end) rows: the lines json.loads must read
    ignored: int  # records holding the metric without a usable step or value
    first_ignored: tuple[int, int, int] | None  # its (line, start, end)
    broken: int  # lines json.loads certainly refuses
    first_broken: tuple[int, int, int] | None


_IN_FLIGHT = 3
_executor: ThreadPoolExecutor | None = None

# drift_scan's results (scan.c): its return values and the fields of its res array.
_SCAN_END, _SCAN_FULL = 0, 1
_R_CONSUMED, _R_LINES, _R_POINTS, _R_DEFERRED, _R_IGNORED, _R_FIRST_IGNORED = range(6)
_R_BROKEN, _R_FIRST_BROKEN, _R_SIZE = 8, 9, 12
# Output rows per native call; a chunk that holds more is walked in several calls. The arrays are
# written only as far as they fill, so a chunk of blank lines costs no memory per line.
POINTS_PER_CALL = 1 << 16
DEFERRED_PER_CALL = 1 << 12


def _pool() -> ThreadPoolExecutor:
    global _executor  # noqa: PLW0603 - one pool per process, made on first use
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)))
    return _executor


def _scan(lib: ctypes.CDLL, buffer: bytearray, size: int, key: _Keys) -> _Scan:
    """The chunk buffer[:size] through drift_scan, called until it has walked every line."""
    address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    points = min(POINTS_PER_CALL, size // 8 + 1)  # a step record takes more than 8 bytes
    deferred_rows = min(DEFERRED_PER_CALL, size // 2 + 1)  # a deferred line takes 2 at least
    steps, values, at, deferred = [], [], [], []
    res = np.zeros(_R_SIZE, dtype=np.int64)
    start = lines = ignored = broken = 0
    first_ignored: tuple[int, int, int] | None = None
    first_broken: tuple[int, int, int] | None = None
    out_steps = np.empty(points, dtype=np.int64)
    out_values = np.empty(points, dtype=np.float64)
    out_at = np.empty(points, dtype=np.int64)
    out_deferred = np.empty(3 * deferred_rows, dtype=np.int64)
    while True:
        stop = native.check(
            "drift_scan",
            lib.drift_scan(
                address, size, start, lines, key.step, len(key.step), key.metric, len(key.metric),
                key.filter_key, len(key.filter_key), key.filter_value, len(key.filter_value),
                out_steps.ctypes.data, out_values.ctypes.data, out_at.ctypes.data, points,
                out_deferred.ctypes.data, deferred_rows, res.ctypes.data,
            ),
        )  # fmt: skip
        k, d = int(res[_R_POINTS]), int(res[_R_DEFERRED])
        last = stop != _SCAN_FULL  # else the next call writes over the arrays: keep copies
        steps.append(out_steps[:k] if last else out_steps[:k].copy())
        values.append(out_values[:k] if last else out_values[:k].copy())
        at.append(out_at[:k] if last else out_at[:k].copy())
        deferred.append((out_deferred[: 3 * d] if last else out_deferred[: 3 * d].copy()).reshape(-1, 3))
        if res[_R_IGNORED] and first_ignored is None:
            first_ignored = _span(res, _R_FIRST_IGNORED)
        if res[_R_BROKEN] and first_broken is None:
            first_broken = _span(res, _R_FIRST_BROKEN)
        ignored += int(res[_R_IGNORED])
        broken += int(res[_R_BROKEN])
        lines += int(res[_R_LINES])
        start = int(res[_R_CONSUMED])
        if last:
            break
    return _Scan(
        lines,
        _joined(steps),
        _joined(values),
        _joined(at),
        deferred[0] if len(deferred) == 1 else np.concatenate(deferred),
        ignored,
        first_ignored,
        broken,
        first_broken,
    )


def _span(res: IntArray, field: int) -> tuple[int, int, int]:
    line, start, end = res[field : field + 3].tolist()
    return int(line), int(start), int(end)


def _joined(parts: Sequence[npt.NDArray[_T]]) -> npt.NDArray[_T]:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _python_chunk(src: _Source, data: bytes, base: int) -> int:
    """Complete lines through json.loads; returns how many lines (in the seed's counting) they were."""
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    steps: list[int] = []
    values: list[float] = []
    lines: list[int] = []
    line_no = base
    for piece in pieces:
        # Text mode also ends a line at a lone CR; keep the seed's line numbers.
        for raw in (piece.splitlines() or [b""]) if b"\r" in piece else (piece,):
            line_no += 1
            point = _python_line(src, raw, line_no)
            if point is not None:
                steps.append(point[0])
                values.append(point[1])
                lines.append(line_no)
    src.points.add(
        src.index,
        np.asarray(steps, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        np.asarray(lines, dtype=np.int64),
    )
    return line_no - base


def _merge(src: _Source, scan: _Scan, data: bytearray, base: int) -> int:
    """Fold one scanned chunk into the run, sending the lines it deferred through json.loads."""
    steps, values = scan.steps, scan.values
    lines = narrow(scan.at + (base + 1), base + scan.lines)
    # dlm writes a non-finite loss as a bare NaN/Infinity; the seed keeps each as +inf.
    values[~np.isfinite(values)] = math.inf

    points = src.points
    points.ignored += scan.ignored
    # The hint names the fields of the first ignored record in reading order, whether the
    # scanner or json.loads (a deferred line) found it.
    hint = scan.first_ignored if scan.first_ignored is not None and not points.fields_seen else None

    # Lines json.loads refuses, which the scanner only counted; json.loads words the error when
    # the file's first line is one of them.
    first_broken = None
    if scan.first_broken is not None:
        line, start, end = scan.first_broken
        if base + line == 0:
            _python_line(src, bytes(data[start:end]), 1)
        points.skipped += scan.broken
        if points.first_skipped is None:
            first_broken = base + 1 + line

    extra = []
    for i, start, end in scan.deferred.tolist():
        if hint is not None and i > hint[0] and not points.fields_seen:
            points.fields_seen = _keys(bytes(data[hint[1] : hint[2]]))
        line_no = base + 1 + i
        point = _python_line(src, bytes(data[start:end]), line_no)
        if point is not None:
            extra.append((point[0], point[1], line_no))
    if hint is not None and not points.fields_seen:
        points.fields_seen = _keys(bytes(data[hint[1] : hint[2]]))
    if first_broken is not None:  # the first damaged line: the scanner's or one json.loads refused
        found = points.first_skipped
        if found is None or (found.line is not None and found.line > first_broken):
            points.first_skipped = Position(src.log.display, first_broken)
    if extra:
        steps = np.concatenate([steps, np.asarray([e[0] for e in extra], dtype=np.int64)])
        values = np.concatenate([values, np.asarray([e[1] for e in extra], dtype=np.float64)])
        lines = np.concatenate([lines, np.asarray([e[2] for e in extra], dtype=np.int64)])
        order = np.argsort(lines, kind="stable")  # keep reading order for "last one wins"
        steps, values, lines = steps[order], values[order], lines[order]
    points.add(src.index, steps, values, lines)
    return scan.lines


def _python_line(src: _Source, raw: bytes, line_no: int) -> tuple[int, float] | None:
    """One line by the reference rules; a step record's (step, value), or None."""
    log, points = src.log, src.points
    try:
        text = raw.decode("utf-8").strip()
        if not text:
            return None
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if line_no == 1:
            raise LogError(
                f"first line of {log.display} is not valid JSON: {_reason(exc)}", file=log.display, line=1
            ) from None
        points.skipped += 1
        if points.first_skipped is None:
            points.first_skipped = Position(log.display, line_no)
        return None
    if not isinstance(record, dict) or not _selected(record, src.spec):
        return None
    point = record_point(record, src.spec.step_key, src.spec.metric)
    if isinstance(point, int):
        points.oversized.add(point)
        points.ignored += 1
        return None
    if point is None:
        points.ignored += 1
        if not points.fields_seen:
            points.fields_seen = tuple(str(k) for k in list(record)[:FIELDS_SHOWN])
        return None
    step, value = point
    return step, (value if math.isfinite(value) else math.inf)


def _keys(raw: bytes) -> tuple[str, ...]:
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return ()
    return tuple(str(k) for k in list(record)[:FIELDS_SHOWN]) if isinstance(record, dict) else ()


def _selected(record: dict[str, object], spec: ReadSpec) -> bool:
    """Whether a record is meant to be a point: it passes the filter, or holds the metric."""
    if spec.record_filter is None or not spec.record_filter[0]:  # an empty key filters nothing, as in the scanner
        return spec.metric in record
    return _filtered(record, spec.record_filter)


def _filtered(record: dict[str, object], record_filter: tuple[str, str]) -> bool:
    key, wanted = record_filter
    if not key:
        return True
    if key not in record:
        return False
    got = record[key]
    if isinstance(got, str):
        return got == wanted
    try:  # a number or literal matches by its JSON text: epoch=1, train=true
        return json.dumps(got) == wanted
    except (ValueError, TypeError, RecursionError):
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "bytes that are not UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
