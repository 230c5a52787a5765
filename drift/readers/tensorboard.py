"""TensorBoard event files (``events.out.tfevents.*``): the scalars of one tag, by step.

An event file is a TFRecord stream: per record a little-endian uint64 length, a masked CRC-32C
of those 8 bytes, the data, and a masked CRC-32C of the data. Each record's data is an ``Event``
protocol buffer; its ``summary`` holds tagged values. A value is a scalar in either of the two
forms writers use: ``simple_value`` (a float32: tensorboardX's default) or a ``tensor`` that holds
exactly one element of a float, double, int32, int64, half or bfloat16 type (TF2's
``tf.summary.scalar``, torch's ``new_style``), read as TensorBoard reads tensors:
``tensor_content`` when present, else the typed list, an empty list being zero. The parser is our
own (no TensorFlow, no protobuf): it reads only the messages on the way to a scalar and skips
every other field by its wire type, so no input can make it recurse or allocate beyond the file.

The tag read is ``resolve_metric(spec.metric, tags)`` over every scalar tag of the run's files,
so ``loss`` finds ``train/loss`` or ``Loss/train``. The files are read once: the points of each
tag that could be the answer (the metric itself, or a common spelling of it without case) are
kept, every other tag is only named. With no match the curve is empty and names what was found.

A repeated step keeps the last value read (``finish()``), the files taken in the order given
(the caller sorts them by name, which the writer's timestamp makes chronological). TensorBoard
treats a step that does not increase as a job restarted from a checkpoint: its loader (RustBoard's
"preemption", the older ``purge_orphaned_data``) drops every earlier point of the tag at that step
or later. Where the restarted job logs past its old last step, as it normally does, both give the
same curve. We do not purge: every reader here follows the same last-value-wins rule, so a run
gates alike whatever format it is logged in, and the points a purge would hide (a tail the
restarted job never rewrote, or several writers sharing a directory out of step order) stay in
the curve for the gate to see rather than vanishing silently.

Damage, as for text logs: what can be read is used, and the damage is counted and reported with
its file and record number (1-based; record 1 is normally the ``file_version`` event). A data
checksum that fails, or data that is not an ``Event`` (malformed wire format, a tag that is not
UTF-8), skips that record. A length checksum that fails means the framing cannot be trusted: the
rest of that file is not read. A file that ends inside a record counts that record. A file whose
first record cannot be read is not an event file at all: that is a ``LogError``. An empty file
holds no points.

The compiled scanner (``drift/native/tfevents.c``) walks the records when it is built; the pure
Python twin below (``_scan_python``) gives the same results, only slower.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from drift import native
from drift.curve import Curve, FloatArray, IntArray, LineArray, SmallIntArray
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    LogFile,
    Points,
    ReadSpec,
    fill,
    finish,
    metric_candidates,
    narrow,
    reading,
    resolve_metric,
)

CHUNK_BYTES = 8 << 20
VALUES_PER_CALL = 1 << 17  # scalars per native call; the call resumes when they are used up
TAGS_PER_CALL = 1 << 10  # distinct tags per native call, likewise
TAGS_LIMIT = 2**31 - 1  # tag ids are 32-bit in tfevents.c: the most distinct tags one record may hold
NAMES_KEPT = 10_000  # distinct tags remembered; beyond it only the first FIELDS_SHOWN are kept
NOTES_SHOWN = 5  # files whose damage gets its own note

# Shared with tfevents.c.
STOP_MORE, STOP_END, STOP_FULL, STOP_LENGTH, STOP_TRUNCATED = range(5)
DAMAGE_DATA, DAMAGE_PROTO = 1, 2
_R_CONSUMED, _R_RECORDS, _R_VALUES, _R_TAGS, _R_NEED, _R_DAMAGED, _R_FIRST_DAMAGED, _R_FIRST_KIND, _R_SIZE = range(9)
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_BFLOAT16, DT_HALF = 1, 2, 3, 9, 14, 19

_HEADER, _FOOTER = 12, 4
_U64 = (1 << 64) - 1
_REASONS = {
    STOP_LENGTH: "the record length fails its checksum",
    STOP_TRUNCATED: "the file ends inside the record",
    DAMAGE_DATA: "the record data fails its checksum",
    DAMAGE_PROTO: "the record data is not an Event protocol buffer",
}


def read_tensorboard(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True) -> Curve:
    """The run's curve for ``spec.metric`` from its event files, read in the order given."""
    run = _Run(spec.metric)
    scanner: _Scanner = _scan_python
    function = _native_function() if fast else None
    if function is not None:
        scanner = _Native(function)
    for index, log in enumerate(files):
        with reading(log):
            _read_file(run, log, index, scanner)
    return run.curve(files)


def length_header_ok(header: bytes) -> bool:
    """Whether ``header`` opens with a TFRecord length whose masked CRC-32C matches: a chance match
    is one in four billion, so this recognises an event file whose name says nothing."""
    return len(header) >= _HEADER and _masked_crc(bytes(header[:8])) == int.from_bytes(header[8:12], "little")


@dataclass(frozen=True)
class _Scan:
    """What one scanner call found in ``buffer[start:size]``.

    The arrays may be views of buffers the next call overwrites: copy what you keep.
    """

    stop: int  # STOP_*
    consumed: int  # buffer offset of the first record not walked
    records: int  # records walked, damaged ones included
    need: int  # STOP_MORE: bytes the next record needs in the buffer
    damaged: int  # records skipped (data checksum or Event damage)
    first_damaged: int  # the first one's record number, 0 for none
    first_kind: int  # DAMAGE_*
    recs: LineArray  # per scalar: its record number in the file
    steps: IntArray
    values: FloatArray
    tag_ids: SmallIntArray  # index into tags
    tags: tuple[str, ...]


# buffer, start, size, avail (bytes from buffer[0] to the end of the file), records before start
_Scanner = Callable[[bytearray, int, int, int, int], _Scan]


@dataclass
class _Run:
    """One run's points, by tag, as the files are read."""

    metric: str
    points: Points = field(default_factory=lambda: Points(unit="record"))
    series: dict[str, list[tuple[int, IntArray, FloatArray, LineArray]]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    names_complete: bool = True
    notes: list[str] = field(default_factory=list)
    _candidates: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self._candidates = frozenset(name.casefold() for name in metric_candidates(self.metric))

    def wanted(self, tag: str) -> bool:
        """Whether ``tag`` could be what resolve_metric picks, whatever other tags there are."""
        return tag == self.metric or tag.casefold() in self._candidates

    def take(self, log: LogFile, index: int, scan: _Scan) -> None:
        if scan.damaged:
            if scan.first_damaged == 1:
                raise _not_event(log, scan.first_kind)
            for _ in range(scan.damaged):
                self.points.damaged(log.display, scan.first_damaged)
        if not scan.values.size:
            return
        # Tags come from the values kept: a tag seen only in a skipped record is not in the run.
        present = np.flatnonzero(np.bincount(scan.tag_ids, minlength=len(scan.tags))).tolist()
        for tag_id in present:
            tag = scan.tags[tag_id]
            self.learn(tag)
            if not self.wanted(tag):
                continue
            keep = None if len(present) == 1 else scan.tag_ids == tag_id
            recs = scan.recs if keep is None else scan.recs[keep]
            recs = narrow(recs, int(recs[-1]) if recs.size else 0)
            steps = scan.steps.copy() if keep is None else scan.steps[keep]
            values = scan.values.copy() if keep is None else scan.values[keep]
            self.series.setdefault(tag, []).append((index, steps, values, recs))

    def learn(self, tag: str) -> None:
        if not tag:  # an empty tag cannot be asked for: naming it would not help
            return
        self.names.add(tag)
        if len(self.names) > NAMES_KEPT:
            self.names = set(sorted(self.names)[:FIELDS_SHOWN])
            self.names_complete = False

    def cut(self, log: LogFile, number: int, stop: int) -> None:
        """The file's framing ended at record ``number``: count it, and say what was lost."""
        if number == 1:
            raise _not_event(log, stop)
        self.points.damaged(log.display, number)
        if stop == STOP_LENGTH:
            self.notes.append(f"{log.display}: record {number} has a damaged length; the rest of the file was not read")
        else:
            self.notes.append(f"{log.display}: the file ends inside record {number}, which was skipped")

    def curve(self, files: Sequence[LogFile]) -> Curve:
        chosen = resolve_metric(self.metric, self.series)
        if chosen is None:
            self.points.fields_seen = self.names_found()
        else:
            for index, steps, values, recs in self.series[chosen]:
                self.points.add(index, steps, values, recs)
        notes = self.notes[:NOTES_SHOWN]
        if len(self.notes) > NOTES_SHOWN:
            notes.append(f"{len(self.notes) - NOTES_SHOWN} more file(s) end at a damaged or incomplete record")
        return finish(self.points, files, format="tensorboard", metric_name=chosen or "", notes=notes)

    def names_found(self) -> tuple[str, ...]:
        shown = sorted(self.names)[:FIELDS_SHOWN]
        if not self.names_complete:
            return (*shown, f"and over {NAMES_KEPT - FIELDS_SHOWN} more")
        more = len(self.names) - len(shown)
        return (*shown, f"and {more} more") if more else tuple(shown)


def _not_event(log: LogFile, reason: int) -> LogError:
    message = f"{log.display} is not a TensorBoard event file: {_REASONS[reason]} (record 1)"
    return LogError(message, file=log.display)


def _read_file(run: _Run, log: LogFile, index: int, scanner: _Scanner) -> None:
    """Stream one file through the scanner; records that straddle a chunk are carried over."""
    with log.path.open("rb", buffering=0) as handle:
        unread = os.fstat(handle.fileno()).st_size  # read up to the size it had when opened
        buffer = bytearray()
        held = 0  # unconsumed bytes at the front of the buffer
        need = 0
        record_base = 0  # records of this file before the buffer's first byte
        while True:
            # A record larger than a chunk grows the buffer to fit it; the scanner only asks
            # for what the file still holds, so a hostile length never allocates.
            target = min(held + unread, max(CHUNK_BYTES, need))
            if len(buffer) < target:
                grown = bytearray(target)
                grown[:held] = buffer[:held]
                buffer = grown
            got = fill(handle, memoryview(buffer)[held:target])
            unread = 0 if got < target - held else unread - got  # a file that shrank ends where it stops
            size = held + got
            start = 0
            while True:
                try:
                    scan = scanner(buffer, start, size, size + unread, record_base)
                except RecordTooLarge:
                    raise LogError(
                        f"{log.display}: record {record_base + 1} holds more than {TAGS_LIMIT:,} distinct tags",
                        file=log.display,
                    ) from None
                run.take(log, index, scan)
                record_base += scan.records
                start = scan.consumed
                if scan.stop != STOP_FULL:
                    break
            if scan.stop != STOP_MORE:
                break
            need = scan.need
            held = size - start
            buffer[:held] = buffer[start:size]
        if scan.stop in (STOP_LENGTH, STOP_TRUNCATED):
            run.cut(log, record_base + 1, scan.stop)


# ---- the compiled scanner ---------------------------------------------------------------------


def _native_function() -> ctypes._NamedFuncPointer | None:
    """drift_tfevents_scan, or None when the library is not built (or was built without it)."""
    return native.function("drift_tfevents_scan")


class RecordTooLarge(Exception):
    """One record holds more distinct tags than the compiled scanner numbers (``TAGS_LIMIT``)."""


class _Native:
    """The compiled scanner and its output arrays, reused from call to call within one read."""

    def __init__(self, function: ctypes._NamedFuncPointer) -> None:
        self.function = function
        self.res = np.zeros(_R_SIZE, dtype=np.int64)
        self.size(VALUES_PER_CALL, TAGS_PER_CALL)

    def size(self, cap: int, tag_cap: int) -> None:
        self.recs = np.empty(cap, dtype=np.int64)
        self.steps = np.empty(cap, dtype=np.int64)
        self.values = np.empty(cap, dtype=np.float64)
        self.tag_ids = np.empty(cap, dtype=np.int32)
        self.tag_start = np.empty(tag_cap, dtype=np.int64)
        self.tag_len = np.empty(tag_cap, dtype=np.int64)
        self.slots = np.empty(1 << (2 * tag_cap - 1).bit_length(), dtype=np.int32)  # under half full

    def __call__(self, buffer: bytearray, start: int, size: int, avail: int, record_base: int) -> _Scan:
        res = self.res
        while True:
            address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
            stop = native.check(
                "drift_tfevents_scan",
                self.function(
                    address, start, size, avail, record_base, res.ctypes.data,
                    self.recs.ctypes.data, self.steps.ctypes.data, self.values.ctypes.data, self.tag_ids.ctypes.data,
                    self.recs.size, self.tag_start.ctypes.data, self.tag_len.ctypes.data, self.tag_start.size,
                    self.slots.ctypes.data, self.slots.size,
                ),
            )  # fmt: skip
            if stop != STOP_FULL or res[_R_RECORDS]:
                break
            # One record holds more scalars or tags than the arrays: make room, walk it again.
            if self.tag_start.size >= TAGS_LIMIT:
                raise RecordTooLarge
            self.size(2 * self.recs.size, min(2 * self.tag_start.size, TAGS_LIMIT))
        n = int(res[_R_VALUES])
        # The scanner checked every tag it kept for UTF-8, so decoding cannot fail.
        tags = tuple(
            bytes(buffer[s : s + length]).decode("utf-8")
            for s, length in zip(
                self.tag_start[: res[_R_TAGS]].tolist(), self.tag_len[: res[_R_TAGS]].tolist(), strict=True
            )
        )
        return _Scan(
            stop=int(stop),
            consumed=int(res[_R_CONSUMED]),
            records=int(res[_R_RECORDS]),
            need=int(res[_R_NEED]),
            damaged=int(res[_R_DAMAGED]),
            first_damaged=int(res[_R_FIRST_DAMAGED]),
            first_kind=int(res[_R_FIRST_KIND]),
            recs=self.recs[:n],
            steps=self.steps[:n],
            values=self.values[:n],
            tag_ids=self.tag_ids[:n],
            tags=tags,
        )


# ---- the pure-Python twin ---------------------------------------------------------------------
# Rule for rule what tfevents.c does; the tests hold the two equal on real and damaged files.


class _Malformed(Exception):
    """The record's data is not an Event as far as we read it."""


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _masked_crc(data: bytes) -> int:
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _scan_python(buffer: bytearray, start: int, size: int, avail: int, record_base: int) -> _Scan:
    found = _Found()
    p, records, damaged, first_damaged, first_kind = start, 0, 0, 0, 0
    while True:
        stop, need, length = _frame(buffer, p, size, avail)
        if stop is not None:
            break
        whole = _HEADER + length + _FOOTER
        data = bytes(buffer[p + _HEADER : p + _HEADER + length])
        number = record_base + records + 1
        kind = 0
        if _masked_crc(data) != int.from_bytes(buffer[p + _HEADER + length : p + whole], "little"):
            kind = DAMAGE_DATA
        else:
            try:
                found.add(number, *_event(data))
            except _Malformed:
                kind = DAMAGE_PROTO
        if kind:
            if not damaged:
                first_damaged, first_kind = number, kind
            damaged += 1
        records += 1
        p += whole
    return _Scan(
        stop=stop,
        consumed=p,
        records=records,
        need=need,
        damaged=damaged,
        first_damaged=first_damaged,
        first_kind=first_kind,
        recs=np.asarray(found.recs, dtype=np.int64),
        steps=np.asarray(found.steps, dtype=np.int64),
        values=np.asarray(found.values, dtype=np.float64),
        tag_ids=np.asarray(found.tag_ids, dtype=np.int32),
        tags=tuple(found.tags),
    )


def _frame(buffer: bytearray, p: int, size: int, avail: int) -> tuple[int | None, int, int]:
    """The framing of the record at ``p``: (None, 0, its data's length) when the whole record is in
    the buffer, else (why the walk stops there, the bytes it needs to go on, 0)."""
    left, in_buffer = avail - p, size - p
    if left == 0:
        return STOP_END, 0, 0
    if left < _HEADER:
        return STOP_TRUNCATED, 0, 0
    if in_buffer < _HEADER:
        return STOP_MORE, _HEADER, 0
    length_bytes = bytes(buffer[p : p + 8])
    if _masked_crc(length_bytes) != int.from_bytes(buffer[p + 8 : p + 12], "little"):
        return STOP_LENGTH, 0, 0
    length = int.from_bytes(length_bytes, "little")
    if left < _HEADER + _FOOTER or length > left - _HEADER - _FOOTER:
        return STOP_TRUNCATED, 0, 0
    whole = _HEADER + length + _FOOTER
    if in_buffer < whole:
        return STOP_MORE, whole, 0
    return None, 0, length


@dataclass
class _Found:
    """The scalars of the records walked so far, as the compiled scanner returns them."""

    recs: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)

    def add(self, number: int, step: int, scalars: list[tuple[str, float]]) -> None:
        for tag, value in scalars:
            self.recs.append(number)
            self.steps.append(step)
            self.values.append(value)
            self.tag_ids.append(self.tags.setdefault(tag, len(self.tags)))


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A varint of at most ten bytes; bits beyond 64 are dropped, as protobuf's decoders drop them."""
    value = 0
    for i in range(10):
        if pos >= end:
            raise _Malformed
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value & _U64, pos
    raise _Malformed


def _key(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    key, pos = _varint(data, pos, end)
    if key > 0xFFFFFFFF or key >> 3 == 0:
        raise _Malformed
    return key >> 3, key & 7, pos


def _body(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's body: (start, end); the caller continues at its end."""
    length, pos = _varint(data, pos, end)
    if length > end - pos:
        raise _Malformed
    return pos, pos + length


def _skip(data: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return _varint(data, pos, end)[1]
    if wire == 2:
        return _body(data, pos, end)[1]
    if wire in (1, 5):
        width = 8 if wire == 1 else 4
        if end - pos < width:
            raise _Malformed
        return pos + width
    raise _Malformed  # groups (3, 4) and the unused wire types


def _event(data: bytes) -> tuple[int, list[tuple[str, float]]]:
    """An Event's step and the scalars of its summary, when the summary is the oneof's member."""
    step = 0
    found: list[tuple[str, float]] = []
    pos, end = 0, len(data)
    while pos < end:
        number, wire, pos = _key(data, pos, end)
        if number == 2 and wire == 0:
            raw, pos = _varint(data, pos, end)
            step = raw - (1 << 64) if raw >> 63 else raw
        elif number == 5 and wire == 2:
            body, pos = _body(data, pos, end)
            found += _summary(data, body, pos)
        elif 3 <= number <= 9 and wire == 2:
            found = []
            pos = _skip(data, pos, end, wire)
        else:
            pos = _skip(data, pos, end, wire)
    return step, found


def _summary(data: bytes, pos: int, end: int) -> list[tuple[str, float]]:
    found = []
    while pos < end:
        number, wire, pos = _key(data, pos, end)
        if number == 1 and wire == 2:
            body, pos = _body(data, pos, end)
            scalar = _value(data, body, pos)
            if scalar is not None:
                found.append(scalar)
        else:
            pos = _skip(data, pos, end, wire)
    return found


def _value(data: bytes, pos: int, end: int) -> tuple[str, float] | None:
    raw_tag = b""
    kind, simple = 0, 0
    tensor = _Tensor()
    while pos < end:
        number, wire, pos = _key(data, pos, end)
        if number == 1 and wire == 2:
            body, pos = _body(data, pos, end)
            raw_tag = data[body:pos]
        elif number == 2 and wire == 5:
            if end - pos < 4:
                raise _Malformed
            simple = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
            kind = 2
        elif 3 <= number <= 6 and wire == 2:
            pos = _skip(data, pos, end, wire)
            kind = number
        elif number == 8 and wire == 2:
            if kind != 8:
                tensor = _Tensor()
            kind = 8
            body, pos = _body(data, pos, end)
            tensor.parse(data, body, pos)
        else:
            pos = _skip(data, pos, end, wire)
    try:
        tag = raw_tag.decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed from None
    value = _f32(simple) if kind == 2 else tensor.scalar() if kind == 8 else None
    return None if value is None else (tag, value)


def _f32(bits: int) -> float:
    return float(struct.unpack("<f", bits.to_bytes(4, "little"))[0])


@dataclass
class _List:
    """A repeated number of a TensorProto: how many elements, and the first."""

    count: int = 0
    first: int = 0

    def add(self, items: Iterable[int]) -> None:
        for item in items:
            if not self.count:
                self.first = item
            self.count += 1


_ELEMENT_WIRE = {5: 5, 6: 1, 7: 0, 10: 0, 13: 0}  # float_val, double_val, int_val, int64_val, half_val


@dataclass
class _Tensor:
    """A TensorProto as far as a scalar needs it; a second occurrence merges into the first."""

    dtype: int = 0
    not_one: bool = False  # a dimension whose size is not 1
    unknown_rank: bool = False
    content: bytes = b""
    lists: dict[int, _List] = field(default_factory=lambda: {n: _List() for n in _ELEMENT_WIRE})

    def parse(self, data: bytes, pos: int, end: int) -> None:
        while pos < end:
            number, wire, pos = _key(data, pos, end)
            if number == 1 and wire == 0:
                self.dtype, pos = _varint(data, pos, end)
            elif number == 2 and wire == 2:
                body, pos = _body(data, pos, end)
                self.parse_shape(data, body, pos)
            elif number == 4 and wire == 2:
                body, pos = _body(data, pos, end)
                self.content = data[body:pos]
            elif number in _ELEMENT_WIRE:
                items, pos = _list_items(data, pos, end, wire, _ELEMENT_WIRE[number])
                self.lists[number].add(items)
            else:
                pos = _skip(data, pos, end, wire)

    def parse_shape(self, data: bytes, pos: int, end: int) -> None:
        while pos < end:
            number, wire, pos = _key(data, pos, end)
            if number == 2 and wire == 2:
                body, pos = _body(data, pos, end)
                if _dim_size(data, body, pos) != 1:
                    self.not_one = True
            elif number == 3 and wire == 0:
                flag, pos = _varint(data, pos, end)
                self.unknown_rank = flag != 0
            else:
                pos = _skip(data, pos, end, wire)

    def scalar(self) -> float | None:
        """The one element, when the tensor holds exactly one of a numeric type we read."""
        dtype = self.dtype & 0xFFFFFFFF  # an enum: protobuf keeps its low 32 bits
        sources = {DT_FLOAT: (4, 5), DT_DOUBLE: (8, 6), DT_INT32: (4, 7), DT_INT64: (8, 10)}
        sources.update({DT_BFLOAT16: (2, 13), DT_HALF: (2, 13)})
        if dtype not in sources or self.not_one or self.unknown_rank:
            return None
        itemsize, list_field = sources[dtype]
        items = self.lists[list_field]
        if self.content:
            if len(self.content) != itemsize:
                return None
            bits = int.from_bytes(self.content, "little")
        elif items.count <= 1:
            bits = items.first if items.count else 0
        else:
            return None
        if dtype == DT_FLOAT:
            return _f32(bits & 0xFFFFFFFF)
        if dtype == DT_DOUBLE:
            return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])
        if dtype == DT_INT32:
            low = bits & 0xFFFFFFFF
            return float(low - (1 << 32) if low >> 31 else low)
        if dtype == DT_INT64:
            return float(bits - (1 << 64) if bits >> 63 else bits)
        if dtype == DT_BFLOAT16:
            return _f32((bits & 0xFFFF) << 16)
        return float(struct.unpack("<e", (bits & 0xFFFF).to_bytes(2, "little"))[0])


def _list_items(data: bytes, pos: int, end: int, wire: int, element_wire: int) -> tuple[list[int], int]:
    """One element, or a packed run of them; any other wire type is an unknown field (no items)."""
    width = {1: 8, 5: 4}.get(element_wire, 0)
    if wire == element_wire:
        if not width:
            value, pos = _varint(data, pos, end)
            return [value], pos
        if end - pos < width:
            raise _Malformed
        return [int.from_bytes(data[pos : pos + width], "little")], pos + width
    if wire != 2:
        return [], _skip(data, pos, end, wire)
    body, pos = _body(data, pos, end)
    items = []
    if not width:
        while body < pos:
            value, body = _varint(data, body, pos)
            items.append(value)
        return items, pos
    if (pos - body) % width:
        raise _Malformed
    return [int.from_bytes(data[i : i + width], "little") for i in range(body, pos, width)], pos


def _dim_size(data: bytes, pos: int, end: int) -> int:
    size = 0  # proto3: an absent size is 0
    while pos < end:
        number, wire, pos = _key(data, pos, end)
        if number == 1 and wire == 0:
            size, pos = _varint(data, pos, end)
        else:
            pos = _skip(data, pos, end, wire)
    return size
