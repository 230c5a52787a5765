"""Weights & Biases run folders (``wandb/run-*``, ``wandb/offline-run-*``): the history in the run's
``run-<id>.wandb`` file, read natively.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic ``0xBEE1`` little-endian,
version 0), then LevelDB-log framing in 32 KiB blocks. Each chunk has a 7-byte header: a CRC-32
(zlib's) of the type byte and the data, the data's length (uint16 LE) and a type: 1 FULL, or
2 FIRST / 3 MIDDLE / 4 LAST for a record split across blocks. Fewer than 7 bytes left in a block
are zero padding. Each record is a protobuf ``Record`` (wandb_internal.proto); the fields read
here are ``history`` (2) and ``run`` (17); a record whose first field after its ``num`` is of a
type from 3 to 15 (the summary after every history row, output, stats...) is not read further.
A ``HistoryRecord`` is a row: ``HistoryItem``s (1) and a ``HistoryStep`` (2, its ``num``: 1). An
item names its key in ``key`` (1), else in ``nested_key`` (2, joined with ``.``), every one of
them UTF-8, and holds its value natively in ``integer`` (5) or ``number`` (6) in newer writers,
else as JSON text in ``value_json`` (16): a JSON number (whitespace around it allowed), ``NaN``,
``Infinity`` or ``-Infinity``, of at most 4,000 characters; anything else is not a number. The
row's step is its last ``_step`` item when that holds a whole number, else the HistoryStep's
``num``; a value in a row with neither is counted as ignored. ``RunRecord.display_name`` (8)
names the run.

A run that logged no history at all (no key but ``_step``: a script that only printed its loss) is
read from W&B's console capture, ``files/output.log`` beside each ``.wandb`` file, by the text
reader; the curve then names that file and says why in a note.

A chunk whose checksum or type is wrong is damaged, counted at the number of the record it would
have been part of, and reading goes on at the next block, as LevelDB does. A record that does
not decode is damaged as a whole (nothing of it is used) and counted at its own number. A file
cut short (a killed writer) ends in a damaged record.

The compiled walker (``drift/native/wandb.c``) reads the file in block-aligned pieces when it is
built, a file over SPLIT_BYTES in two parts on two threads (``_read_native``); the pure-Python
reference below gives the same results, only slower.
"""

from __future__ import annotations

import ctypes
import io
import os
import posixpath
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from drift import native
from drift.curve import Curve, FloatArray, IntArray
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    INT64_MAX,
    INT64_MIN,
    LogFile,
    Points,
    ReadSpec,
    fill,
    finish,
    metric_candidates,
    reading,
    resolve_metric,
)

MAGIC = b":W&B\xe1\xbe\x00"
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
BROKEN, CUT = -1, -2  # what chunks() says of a chunk that is not sound
MAX_RECORD = 64 << 20  # a record assembled from chunks larger than this is damage, not data
MAX_KEYS_SEEN = 200
MAX_NUMBER_CHARS = 4000  # a longer value_json is not read as a number (jsonlex.h's limit too)
STEP_KEY = "_step"
_HEADER = struct.Struct("<IHB")
_U64 = (1 << 64) - 1

# The compiled walker's sizes; each grows when one record needs more.
CHUNK_BYTES = 256 * BLOCK  # a piece of the file per read: a whole number of blocks
SPLIT_BYTES = 16 << 20  # a larger file is walked in two parts at once, on two cores
SYNC_BLOCKS = 64  # how far past the middle a record start is looked for
VALUES_PER_CALL = 1 << 17
KEYS_PER_CALL = 1 << 8
KEY_BYTES_PER_CALL = 1 << 14
SCRATCH_BYTES = BLOCK  # the least wandb.c takes: a FIRST chunk always fits

# Shared with wandb.c.
STOP_MORE, STOP_END, STOP_FULL, STOP_DEFER = range(4)
FULL_VALUES, FULL_KEYS, FULL_KEY_BYTES, FULL_SCRATCH = 1, 2, 4, 8
_S_RECORDS, _S_PENDING = range(2)
(
    _R_CONSUMED, _R_VALUES, _R_KEYS, _R_DAMAGED, _R_FIRST_DAMAGED, _R_FULL, _R_NEED,
    _R_DEFER_IN_SCRATCH, _R_DEFER_START, _R_DEFER_LEN, _R_DEFER_NUMBER, _R_SIZE,
) = range(12)  # fmt: skip


class Damage(ValueError):
    """A record that cannot be decoded."""


# --- protobuf wire format, just what is needed -------------------------------------------------------


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """At most ten bytes; bits beyond 64 are dropped, as protobuf's decoders drop them."""
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Damage("a varint runs past its field")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7


def fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) for each field of one message: for a varint
    or fixed field the value is its integer and end is unused; for a length-delimited one, its
    bytes are ``buf[start:end]``."""
    while pos < end:
        key = buf[pos]
        if key < 0x80:  # one-byte tags are nearly all of them
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0 or key > 0xFFFFFFFF:
            raise Damage("field number 0, or a key beyond 32 bits")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value, 0
        elif wire == 2:
            length = buf[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(buf, pos, end)
            if length > end - pos:
                raise Damage("a field runs past its message")
            yield number, wire, pos, pos + length
            pos += length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if end - pos < width:
                raise Damage("a fixed field runs past its message")
            yield number, wire, int.from_bytes(buf[pos : pos + width], "little"), 0
            pos += width
        else:  # groups (3, 4) are not in these messages; 6 and 7 do not exist
            raise Damage(f"wire type {wire}")


def _text(buf: bytes, start: int, end: int) -> str:
    try:
        return buf[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Damage("a string that is not UTF-8") from exc


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- values ------------------------------------------------------------------------------------------

_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_SPECIAL = {b"NaN": float("nan"), b"Infinity": float("inf"), b"-Infinity": float("-inf")}
Native = int | float | None  # an item's integer (5) or number (6)


def _number(raw: bytes) -> tuple[bytes, bool] | None:
    """value_json's number: (its text, whether an integer literal); None when it is not one."""
    text = raw.strip(b" \t\n\r")
    if len(text) > MAX_NUMBER_CHARS:
        return None
    if text in _SPECIAL:
        return text, False
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    return text, match.group(1) is None and match.group(2) is None


def _metric_value(native: Native, raw: bytes | None) -> float | None:
    if native is not None:
        return float(native)
    number = _number(raw) if raw is not None else None
    if number is None:
        return None
    text = number[0]
    return _SPECIAL[text] if text in _SPECIAL else float(text)


def _whole_step(native: Native, raw: bytes | None) -> int | None:
    """The value as a step: a whole number, however large, else None."""
    if isinstance(native, int):
        return native
    if native is None:
        number = _number(raw) if raw is not None else None
        if number is None or number[0] in _SPECIAL:
            return None
        text, is_int = number
        if is_int:
            return int(text)
        native = float(text)
    return int(native) if native.is_integer() else None


# --- the records (the reference rules; wandb.c follows them) --------------------------------------------


@dataclass(frozen=True)
class Row:
    """One history row: its step (None without one; possibly beyond int64) and the values of the
    keys that could be the metric."""

    step: int | None
    items: tuple[tuple[str, float], ...]


def _item(buf: bytes, start: int, end: int) -> tuple[str, Native, bytes | None]:
    """(key, native value, value_json) of a HistoryItem."""
    key = ""
    nested: list[str] = []
    native: Native = None
    raw: bytes | None = None
    for number, wire, s, e in fields(buf, start, end):
        if number == 1 and wire == 2:
            key = _text(buf, s, e)
        elif number == 2 and wire == 2:
            nested.append(_text(buf, s, e))
        elif number == 16 and wire == 2:
            raw = buf[s:e]
        elif number == 5 and wire == 0:
            native = _signed(s)
        elif number == 6 and wire == 1:
            native = struct.unpack("<d", s.to_bytes(8, "little"))[0]
    return key or ".".join(nested), native, raw


def _row(buf: bytes, start: int, end: int, run: _Run) -> Row:
    step_item: int | None = None
    step_num: int | None = None
    found: list[tuple[str, float]] = []
    for number, wire, s, e in fields(buf, start, end):
        if number == 1 and wire == 2:
            key, native, raw = _item(buf, s, e)
            if key == STEP_KEY:
                step_item = _whole_step(native, raw)
                continue
            run.see(key)
            if run.wanted(key):
                value = _metric_value(native, raw)
                if value is not None:
                    found.append((key, value))
        elif number == 2 and wire == 2:
            step_num = 0
            for sub, sub_wire, value_, _ in fields(buf, s, e):
                if sub == 1 and sub_wire == 0:
                    step_num = _signed(value_)
    return Row(step_item if step_item is not None else step_num, tuple(found))


def _run_strings(buf: bytes, start: int, end: int) -> tuple[str, str]:
    """A RunRecord's (display_name, id)."""
    name = run_id = ""
    for number, wire, s, e in fields(buf, start, end):
        if number == 8 and wire == 2:
            name = _text(buf, s, e)
        elif number == 1 and wire == 2:
            run_id = _text(buf, s, e)
    return name, run_id


def _skipped_type(record: bytes) -> bool:
    """Whether the record's first field after its ``num`` is of a type from 3 to 15."""
    pos = 0
    if record[:1] == b"\x08":
        _, pos = _varint(record, 1, len(record))
    return pos < len(record) and 3 <= record[pos] >> 3 <= 15


def record_rows(record: bytes, run: _Run) -> list[Row]:
    """The history rows of one record; Damage when it does not decode."""
    if _skipped_type(record):
        return []
    rows = []
    for number, wire, start, end in fields(record, 0, len(record)):
        if wire == 2 and number == 2:
            rows.append(_row(record, start, end, run))
        elif wire == 2 and number == 17:
            _run_strings(record, start, end)
    return rows


# --- the framing (reference) ----------------------------------------------------------------------------


def chunks(data: bytes, pos: int) -> Iterator[tuple[int, int, int]]:
    """(kind, data start, data end) of each chunk in ``data`` from ``pos`` (``data`` starts on a block
    boundary): FULL to LAST for a sound chunk, BROKEN for one whose header or checksum is wrong (the
    walk goes on at the next block), CUT for a header or data cut short by the end of ``data`` (the
    last). Chunks never cross a block, so the walk from any block's start meets the chunks the walk
    from the file's start meets."""
    size = len(data)
    while pos < size:
        room = BLOCK - pos % BLOCK
        if room < CHUNK_HEADER:
            pos += room
            continue
        if size - pos < CHUNK_HEADER:
            yield CUT, pos, pos
            return
        checksum, length, kind = _HEADER.unpack_from(data, pos)
        if kind == 0 and length == 0 and checksum == 0:  # zero padding to the block's end
            pos += room
            continue
        start = pos + CHUNK_HEADER
        if length > room - CHUNK_HEADER or kind not in (FULL, FIRST, MIDDLE, LAST):
            yield BROKEN, pos, pos
            pos += room  # resynchronise at the next block
            continue
        if start + length > size:
            yield CUT, pos, pos
            return
        pos = start + length
        if zlib.crc32(data[start:pos], zlib.crc32(bytes((kind,)))) != checksum:
            yield BROKEN, start, pos
            pos = pos + (BLOCK - pos % BLOCK) % BLOCK
            continue
        yield kind, start, pos


@dataclass
class Framing:
    """Records out of the chunked log, with the damage met on the way."""

    data: bytes
    damaged: int = 0
    first_damage: int | None = None
    records: int = 0

    def damage(self, at: int | None = None) -> None:
        """Count damage at record ``at``, by default the record being read."""
        self.damaged += 1
        if self.first_damage is None:
            self.first_damage = self.records + 1 if at is None else at

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """(record number from 1, record bytes) for each whole record."""
        data = self.data
        parts: list[bytes] | None = None  # a record being assembled
        for kind, start, end in chunks(data, len(MAGIC)):
            if kind == CUT:  # the writer was stopped
                self.damage()
                return
            if kind == BROKEN:
                self.damage()
                parts = None
                continue
            parts, record = self._chunk(parts, kind, data[start:end])
            if record is not None:
                self.records += 1
                yield self.records, record
        if parts is not None:
            self.damage()

    def _chunk(self, parts: list[bytes] | None, kind: int, chunk: bytes) -> tuple[list[bytes] | None, bytes | None]:
        """(the parts now being assembled, a whole record or None) after one sound chunk."""
        if kind in (FULL, FIRST):
            if parts is not None:  # a FIRST without its LAST
                self.damage()
            return ([chunk], None) if kind == FIRST else (None, chunk)
        if parts is None:  # MIDDLE or LAST without a FIRST
            self.damage()
            return None, None
        parts.append(chunk)
        if sum(len(p) for p in parts) > MAX_RECORD:
            self.damage()
            return None, None
        return (None, b"".join(parts)) if kind == LAST else (parts, None)


# --- one run's points ------------------------------------------------------------------------------


@dataclass
class _Run:
    """What the run's files yielded, by key, as they are read."""

    metric: str
    points: Points = field(default_factory=lambda: Points(unit="record"))
    series: dict[str, list[tuple[int, IntArray, FloatArray, IntArray]]] = field(default_factory=dict)
    ignored: Counter[str] = field(default_factory=Counter)
    oversized: dict[str, set[int]] = field(default_factory=dict)
    seen: dict[str, None] = field(default_factory=dict)
    lists: dict[str, tuple[list[int], list[float], list[int]]] = field(default_factory=dict)
    folded: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.folded = frozenset(name.casefold() for name in (self.metric, *metric_candidates(self.metric)))

    def wanted(self, key: str) -> bool:
        """Whether ``key`` could be what resolve_metric picks, whatever other keys there are."""
        return key.casefold() in self.folded

    def see(self, key: str) -> None:
        if len(self.seen) < MAX_KEYS_SEEN:
            self.seen.setdefault(key, None)

    def add(self, index: int, key: str, steps: IntArray, values: FloatArray, recs: IntArray) -> None:
        if steps.size:
            self.series.setdefault(key, []).append((index, steps, values, recs))

    def commit(self, number: int, rows: Sequence[Row]) -> None:
        """The rows of record ``number``; ``flush`` hands their points on."""
        for row in rows:
            for key, value in row.items:
                if row.step is None:
                    self.ignored[key] += 1
                elif INT64_MIN <= row.step <= INT64_MAX:
                    steps, values, recs = self.lists.setdefault(key, ([], [], []))
                    steps.append(row.step)
                    values.append(value)
                    recs.append(number)
                else:
                    self.oversized.setdefault(key, set()).add(row.step)

    def flush(self, index: int) -> None:
        """The points committed since the last flush, as file ``index``'s."""
        for key, (steps, values, recs) in self.lists.items():
            self.add(
                index,
                key,
                np.array(steps, dtype=np.int64),
                np.array(values, dtype=np.float64),
                np.array(recs, dtype=np.int64),
            )
        self.lists.clear()

    def absorb(self, later: _Run, records: int) -> None:
        """What ``later`` read of the same file after this run's ``records`` records, as if read
        here: its record numbers count on from them."""
        for key in later.seen:
            self.see(key)
        for key, parts in later.series.items():
            self.series.setdefault(key, []).extend((i, s, v, recs + records) for i, s, v, recs in parts)
        self.ignored.update(later.ignored)
        for key, steps in later.oversized.items():
            self.oversized.setdefault(key, set()).update(steps)

    def curve(self, files: Sequence[LogFile]) -> Curve:
        key = resolve_metric(self.metric, self.series)
        if key is None:
            self.points.fields_seen = tuple(self.seen)[:FIELDS_SHOWN]
            return finish(self.points, files, format="wandb")
        for index, steps, values, recs in self.series[key]:
            self.points.add(index, steps, values, recs)
        self.points.oversized = self.oversized.get(key, set())
        self.points.ignored = self.ignored[key]
        return finish(self.points, files, format="wandb", metric_name=key)


# --- the reader --------------------------------------------------------------------------------------


def read_wandb_run(files: Sequence[LogFile], spec: ReadSpec) -> Curve:
    """``read_wandb``; for a run that logged no history, its console capture through the text reader."""
    curve = read_wandb(files, spec)
    if len(curve) or curve.fields_seen:
        return curve
    consoles = [console for console in map(console_capture, files) if console is not None]
    if not consoles:
        return curve
    from drift.readers.text import read_text  # noqa: PLC0415 - only for a run without history

    text = read_text(consoles, spec)
    if not len(text):
        return curve
    logs = ", ".join(log.display for log in files)
    note = f"{logs} logged no history; read the console capture {', '.join(c.display for c in consoles)}"
    return replace(text, notes=(note, *text.notes))


def console_capture(log: LogFile) -> LogFile | None:
    """``files/output.log`` in the run folder of a ``.wandb`` file, when it is a file inside that folder
    (a link out of it is not followed: the folder came from the workspace, the link may not)."""
    folder = log.path.parent
    path = folder / "files" / "output.log"
    try:
        if not path.is_file() or not path.resolve().is_relative_to(folder.resolve()):
            return None
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (before Python 3.13)
        return None
    return LogFile(path, posixpath.join(posixpath.dirname(log.display), "files", "output.log"))


def read_wandb(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True) -> Curve:
    """The curve of ``spec.metric`` (or its usual spellings) over ``_step``, from the run's ``.wandb``
    file(s) in order; the last value read for a step wins."""
    run = _Run(spec.metric)
    function = _native_function() if fast else None
    for index, log in enumerate(files):
        with reading(log), log.path.open("rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size  # read up to the size it had when opened
            head = handle.read(len(MAGIC))
            if head != MAGIC:
                if index == 0 or len(files) == 1:
                    message = f"{log.display} is not a W&B run file (it does not start with ':W&B')"
                    raise LogError(message, file=log.display, line=1)
                run.points.damaged(log.display, 1)
                continue
            if function is None:
                rest = bytearray(max(0, size - len(MAGIC)))
                _read_python(run, log, index, head + rest[: fill(handle, memoryview(rest))])
            else:
                _read_native(log, handle, size, _Native(function, run, index))
    return run.curve(files)


def _read_python(run: _Run, log: LogFile, index: int, data: bytes) -> None:
    framing = Framing(data)
    for number, record in framing:
        try:
            rows = record_rows(record, run)
        except Damage:
            framing.damage(number)
        else:
            run.commit(number, rows)
    run.flush(index)
    for _ in range(framing.damaged):
        run.points.damaged(log.display, framing.first_damage)


def _read_native(log: LogFile, handle: io.FileIO, size: int, walker: _Native) -> None:
    """The file through the walker: a large file in two parts at once, the second part's records
    read into a run of their own and then taken over as if read in order (``_Run.absorb``)."""
    middle = _middle(handle.fileno(), size)
    if middle is None:
        damage = walker.walk_range(handle, len(MAGIC), size)
    else:
        second = _Native(walker.function, _Run(walker.run.metric), walker.index)
        with ThreadPoolExecutor(max_workers=1) as pool:  # the walker's calls let go of the GIL
            later = pool.submit(second.walk_range, handle, middle, size)
            damage = walker.walk_range(handle, len(MAGIC), middle)
            after = later.result()
        records = int(walker.state[_S_RECORDS])
        walker.run.absorb(second.run, records)
        damage = _Damage(damage.damaged + after.damaged, damage.first or (after.first and after.first + records))
    for _ in range(damage.damaged):
        walker.run.points.damaged(log.display, damage.first)


def _middle(fd: int, size: int) -> int | None:
    """Where a second walker may start in a file over SPLIT_BYTES: the first sound FIRST or FULL
    chunk from the block nearest the middle, within SYNC_BLOCKS blocks. A walk from the file's start
    meets the same chunk, with nothing pending once it is met (or a FIRST without its LAST, which
    the first walker counts where its range ends, as the file's end). None: no split."""
    if size <= SPLIT_BYTES or (os.cpu_count() or 1) < 2:
        return None
    begin = max(1, round(size / 2 / BLOCK)) * BLOCK
    if begin >= size:
        return None
    data = os.pread(fd, min(SYNC_BLOCKS * BLOCK, size - begin), begin)
    for kind, start, _ in chunks(data, 0):
        if kind in (FULL, FIRST):
            return begin + start - CHUNK_HEADER
        if kind == CUT:
            break
    return None


# --- the compiled walker ---------------------------------------------------------------------------


def _native_function() -> ctypes._NamedFuncPointer | None:
    """drift_wandb_scan, or None when the library is not built (or was built without it)."""
    return native.function("drift_wandb_scan")


class _Damage(NamedTuple):
    """Damaged records met by a walk: how many, and the first one's number."""

    damaged: int
    first: int | None


class _Native:
    """The compiled walker over one file, its arrays reused from call to call."""

    def __init__(self, function: ctypes._NamedFuncPointer, run: _Run, index: int) -> None:
        self.function = function
        self.run = run
        self.index = index  # the file's, in the run
        # ASCII names are compared in C; a key that is not ASCII is always handed back.
        self.wanted = b"".join(name.encode() + b"\0" for name in sorted(run.folded) if name.isascii())
        self.state = np.array([0, -1], dtype=np.int64)
        self.res = np.zeros(_R_SIZE, dtype=np.int64)
        self.scratch = np.empty(SCRATCH_BYTES, dtype=np.uint8)
        self.size(VALUES_PER_CALL, KEYS_PER_CALL, KEY_BYTES_PER_CALL)

    def size(self, cap: int, key_cap: int, key_bytes: int) -> None:
        self.recs = np.empty(cap, dtype=np.int64)
        self.steps = np.empty(cap, dtype=np.int64)
        self.values = np.empty(cap, dtype=np.float64)
        self.key_ids = np.empty(cap, dtype=np.int32)
        self.key_bytes = np.empty(key_bytes, dtype=np.uint8)
        self.key_start = np.empty(key_cap, dtype=np.int64)
        self.key_len = np.empty(key_cap, dtype=np.int64)
        self.key_wanted = np.empty(key_cap, dtype=np.uint8)
        self.slots = np.empty(1 << (2 * key_cap - 1).bit_length(), dtype=np.int32)  # under half full

    def walk_range(self, handle: io.FileIO, begin: int, end: int) -> _Damage:
        """The records whose first chunk starts in file bytes [begin, end), in pieces of CHUNK_BYTES
        on block boundaries; ``begin`` is a chunk's start and the walk ends at ``end`` as at the
        file's end."""
        piece = max(BLOCK, CHUNK_BYTES // BLOCK * BLOCK)
        buffer = bytearray(piece)
        view = memoryview(buffer)
        offset = begin // BLOCK * BLOCK
        start = begin - offset
        damage = _Damage(0, None)
        try:
            while True:
                got = fill(handle, view[: min(piece, end - offset)], offset)
                last = got < piece or offset + got >= end
                count, at = self.walk(buffer, got, offset, last, start)
                damage = _Damage(damage.damaged + count, damage.first or at)
                if last:
                    return damage
                offset += got
                start = 0
        finally:
            view.release()

    def walk(self, buffer: bytearray, size: int, offset: int, last: bool, start: int) -> tuple[int, int | None]:
        """Every record of the piece; (damaged records, the first one's number or None)."""
        damaged, first = 0, None
        address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
        while True:
            stop = self.call(address, start, size, offset, last)
            res = self.res
            count, at = self.take()
            damaged += count
            first = first or at
            if stop == STOP_FULL and res[_R_CONSUMED] == start:
                self.grow(int(res[_R_FULL]), int(res[_R_NEED]))
            elif stop == STOP_DEFER:
                count, at = self.defer(buffer)
                damaged += count
                first = first or at
            elif stop != STOP_FULL:
                return damaged, first
            start = int(res[_R_CONSUMED])

    def call(self, address: int, start: int, size: int, offset: int, last: bool) -> int:
        return native.check(
            "drift_wandb_scan",
            self.function(
                address, start, size, offset, int(last), self.wanted, len(self.wanted), self.state.ctypes.data,
                self.res.ctypes.data, self.recs.ctypes.data, self.steps.ctypes.data, self.values.ctypes.data,
                self.key_ids.ctypes.data, self.recs.size, self.key_bytes.ctypes.data, self.key_bytes.size,
                self.key_start.ctypes.data, self.key_len.ctypes.data, self.key_wanted.ctypes.data,
                self.key_start.size, self.slots.ctypes.data, self.slots.size, self.scratch.ctypes.data,
                self.scratch.size,
            ),
        )  # fmt: skip

    def grow(self, full: int, need: int) -> None:
        """One record needs more room than the arrays have: double what was full."""
        if full & FULL_SCRATCH:
            grown = np.empty(max(2 * self.scratch.size, need), dtype=np.uint8)
            pending = int(self.state[_S_PENDING])
            grown[: max(pending, 0)] = self.scratch[: max(pending, 0)]
            self.scratch = grown
        if full & (FULL_VALUES | FULL_KEYS | FULL_KEY_BYTES):
            cap, keys, key_bytes = self.recs.size, self.key_start.size, self.key_bytes.size
            self.size(
                2 * cap if full & FULL_VALUES else cap,
                2 * keys if full & FULL_KEYS else keys,
                2 * key_bytes if full & FULL_KEY_BYTES else key_bytes,
            )

    def take(self) -> tuple[int, int | None]:
        """The call's keys and values into the run; (damaged records, the first one's number)."""
        res, run = self.res, self.run
        n_keys, n = int(res[_R_KEYS]), int(res[_R_VALUES])
        key_bytes = self.key_bytes.tobytes()
        keys = [
            key_bytes[s : s + length].decode("utf-8")  # wandb.c kept only UTF-8 keys
            for s, length in zip(self.key_start[:n_keys].tolist(), self.key_len[:n_keys].tolist(), strict=True)
        ]
        for key in keys:
            run.see(key)
        if n:
            present = np.flatnonzero(np.bincount(self.key_ids[:n], minlength=n_keys)).tolist()
            for key_id in present:
                if run.wanted(keys[key_id]):
                    self.take_key(keys[key_id], None if len(present) == 1 else self.key_ids[:n] == key_id)
        damaged = int(res[_R_DAMAGED])
        return damaged, int(res[_R_FIRST_DAMAGED]) if damaged else None

    def take_key(self, key: str, keep: np.ndarray | None) -> None:
        n = int(self.res[_R_VALUES])
        recs, steps, values = self.recs[:n], self.steps[:n], self.values[:n]
        if keep is not None:
            recs, steps, values = recs[keep], steps[keep], values[keep]
        stepped = recs > 0
        if bool(stepped.all()):
            self.run.add(self.index, key, steps.copy(), values.copy(), recs.copy())
            return
        self.run.ignored[key] += int(recs.size - np.count_nonzero(stepped))
        self.run.add(self.index, key, steps[stepped], values[stepped], recs[stepped])

    def defer(self, buffer: bytearray) -> tuple[int, int | None]:
        """The record the walker handed back, read by the reference rules."""
        res = self.res
        start, length, number = int(res[_R_DEFER_START]), int(res[_R_DEFER_LEN]), int(res[_R_DEFER_NUMBER])
        source = self.scratch if res[_R_DEFER_IN_SCRATCH] else np.frombuffer(buffer, dtype=np.uint8)
        record = source[start : start + length].tobytes()
        try:
            rows = record_rows(record, self.run)
        except Damage:
            return 1, number
        self.run.commit(number, rows)
        self.run.flush(self.index)
        return 0, None


def run_identity(path: Path) -> tuple[str, str]:
    """(the name the run recorded, its run id) from the first records of a ``.wandb`` file; empty
    strings when the file does not say."""
    try:
        with path.open("rb") as handle:
            head = handle.read(BLOCK)
    except OSError:
        return "", ""
    if not head.startswith(MAGIC):
        return "", ""
    name = run_id = ""
    try:
        for number, record in Framing(head):
            if not _skipped_type(record):
                for field_number, wire, start, end in fields(record, 0, len(record)):
                    if field_number == 17 and wire == 2:
                        name, run_id = _run_strings(record, start, end)
            if name or number > 20:
                break
    except Damage:
        pass
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:250]
    run_id = "".join(ch for ch in run_id if ch.isprintable()).strip()[:128]
    return name, run_id
