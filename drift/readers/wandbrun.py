"""Weights & Biases run folders (``wandb/run-*``, ``wandb/offline-run-*``): the history in the run's
``run-<id>.wandb`` file, read natively.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic ``0xBEE1`` little-endian,
version 0), then LevelDB-log framing in 32 KiB blocks. Each chunk has a 7-byte header: a CRC-32
(zlib's) of the type byte and the data, the data's length (uint16 LE) and a type: 1 FULL, or
2 FIRST / 3 MIDDLE / 4 LAST for a record split across blocks. Fewer than 7 bytes left in a block
are zero padding. Each record is a protobuf ``Record`` (wandb_internal.proto); the fields read
here are ``history`` (2) and ``run`` (17). A ``HistoryRecord`` holds ``HistoryItem``s (1) and a
``HistoryStep`` (2, its ``num``: 1); an item names its key in ``key`` (1) or ``nested_key`` (2,
joined with ``.``) and holds its value as JSON text in ``value_json`` (16), or natively in
``integer`` (5) or ``number`` (6) in newer writers. The step is the ``_step`` item, else the
HistoryStep's ``num``. ``RunRecord.display_name`` (8) names the run.

A chunk whose checksum or type is wrong, or a record that does not decode, is damaged: it is
skipped and counted, the first one reported with its record number, and reading goes on at the
next block, as LevelDB does. A file cut short (a killed writer) ends in a damaged record.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drift.curve import Curve
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    INT64_MAX,
    INT64_MIN,
    LogFile,
    Points,
    ReadSpec,
    finish,
    metric_candidates,
    reading,
    resolve_metric,
)

MAGIC = b":W&B\xe1\xbe\x00"
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_RECORD = 64 << 20  # a record assembled from chunks larger than this is damage, not data
MAX_KEYS_SEEN = 200
STEP_KEY = "_step"
_HEADER = struct.Struct("<IHB")


class Damage(ValueError):
    """A record that cannot be decoded."""


# --- protobuf wire format, just what is needed -------------------------------------------------------


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Damage("a varint runs past its field")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
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
        if number == 0:
            raise Damage("field number 0")
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
        elif wire == 1:
            if end - pos < 8:
                raise Damage("a fixed64 runs past its message")
            yield number, wire, int.from_bytes(buf[pos : pos + 8], "little"), 0
            pos += 8
        elif wire == 5:
            if end - pos < 4:
                raise Damage("a fixed32 runs past its message")
            yield number, wire, int.from_bytes(buf[pos : pos + 4], "little"), 0
            pos += 4
        else:  # groups (3, 4) are not in these messages; 6 and 7 do not exist
            raise Damage(f"wire type {wire}")


def _text(buf: bytes, start: int, end: int) -> str:
    try:
        return buf[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Damage("a string that is not UTF-8") from exc


def _whole(value: float | None) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- the framing -------------------------------------------------------------------------------------


@dataclass
class Framing:
    """Records out of the chunked log, with the damage met on the way."""

    data: bytes
    damaged: int = 0
    first_damage: int | None = None  # the record number where it was met
    records: int = 0

    def damage(self) -> None:
        self.damaged += 1
        if self.first_damage is None:
            self.first_damage = self.records + 1

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """(record number from 1, record bytes) for each whole record."""
        data, size = self.data, len(self.data)
        pos = len(MAGIC)
        parts: list[bytes] = []
        while pos < size:
            room = BLOCK - pos % BLOCK
            if room < CHUNK_HEADER:
                pos += room
                continue
            if size - pos < CHUNK_HEADER:  # a header cut short: the writer was stopped
                self.damage()
                return
            checksum, length, kind = _HEADER.unpack_from(data, pos)
            if kind == 0 and length == 0 and checksum == 0:  # zero padding to the block's end
                pos += room
                continue
            start = pos + CHUNK_HEADER
            if length > room - CHUNK_HEADER or kind not in (FULL, FIRST, MIDDLE, LAST):
                self.damage()
                parts = []
                pos += room  # resynchronise at the next block
                continue
            if start + length > size:  # the data cut short
                self.damage()
                return
            chunk = data[start : start + length]
            pos = start + length
            if zlib.crc32(chunk, zlib.crc32(bytes((kind,)))) != checksum:
                self.damage()
                parts = []
                pos = pos + (BLOCK - pos % BLOCK) % BLOCK
                continue
            if kind == FULL:
                if parts:  # a FIRST without its LAST
                    self.damage()
                    parts = []
                self.records += 1
                yield self.records, chunk
            elif kind == FIRST:
                if parts:
                    self.damage()
                parts = [chunk]
            elif not parts:  # MIDDLE or LAST without a FIRST
                self.damage()
            else:
                parts.append(chunk)
                if sum(len(p) for p in parts) > MAX_RECORD:
                    self.damage()
                    parts = []
                elif kind == LAST:
                    self.records += 1
                    yield self.records, b"".join(parts)
                    parts = []
        if parts:
            self.damage()


# --- the records -------------------------------------------------------------------------------------


@dataclass
class History:
    """What the history records of one file held."""

    wanted: frozenset[str]  # keys (case-folded) that could be the metric
    values: dict[str, tuple[list[int], list[float], list[int]]] = field(default_factory=dict)
    keys: dict[str, None] = field(default_factory=dict)
    oversized: dict[str, set[int]] = field(default_factory=dict)
    name: str = ""
    run_id: str = ""
    ignored: int = 0  # history rows whose step could not be read


def read_record(record: bytes, number: int, history: History) -> None:
    # Writers put the fields in number order: ``num`` (1), then the record's one type. A type from
    # 3 to 15 (the summary record after every history row, output, stats...) is none of ours:
    # returning at once halves the time on a real file.
    pos = 0
    if record[:1] == b"\x08":
        _, pos = _varint(record, 1, len(record))
    if pos < len(record) and 3 <= record[pos] >> 3 <= 15:
        return
    for field_number, wire, start, end in fields(record, 0, len(record)):
        if wire != 2:
            continue
        if field_number == 2:
            _history(record, start, end, number, history)
        elif field_number == 17:
            for sub, sub_wire, s, e in fields(record, start, end):
                if sub_wire == 2 and sub == 8:
                    history.name = _text(record, s, e)
                elif sub_wire == 2 and sub == 1:
                    history.run_id = _text(record, s, e)


def _history(buf: bytes, start: int, end: int, number: int, history: History) -> None:
    step: int | None = None
    found: list[tuple[str, float]] = []
    for field_number, wire, s, e in fields(buf, start, end):
        if field_number == 1 and wire == 2:
            item = _item(buf, s, e, history)
            if item is None:
                continue
            key, value = item
            if key == STEP_KEY:
                step = (
                    int(value) if isinstance(value, int) or (isinstance(value, float) and value.is_integer()) else None
                )
            elif isinstance(value, int | float):
                found.append((key, float(value)))
        elif field_number == 2 and wire == 2 and step is None:
            step = 0  # HistoryStep with num unset is step 0
            for sub, sub_wire, value, _ in fields(buf, s, e):
                if sub == 1 and sub_wire == 0:
                    step = _signed(value)
    if step is None:
        if found:
            history.ignored += 1
        return
    for key, value in found:
        if INT64_MIN <= step <= INT64_MAX:
            steps, values, places = history.values.setdefault(key, ([], [], []))
            steps.append(step)
            values.append(value)
            places.append(number)
        else:
            history.oversized.setdefault(key, set()).add(step)


def _item(buf: bytes, start: int, end: int, history: History) -> tuple[str, int | float | None] | None:
    """(key, value) of a HistoryItem the metric or the step could be; None for any other item."""
    # The usual item starts with its one key (a short nested_key): an item that cannot be the
    # metric or the step is known from it without reading on.
    if end - start > 2 and buf[start] == 0x12 and buf[start + 1] < 0x80:
        key_end = start + 2 + buf[start + 1]
        if key_end < end and buf[key_end] != 0x12:
            key = _text(buf, start + 2, key_end)
            if key != STEP_KEY and key.casefold() not in history.wanted:
                if len(history.keys) < MAX_KEYS_SEEN:
                    history.keys.setdefault(key, None)
                return None
    key = ""
    nested: list[str] = []
    value: int | float | None = None
    raw_json = b""
    for field_number, wire, s, e in fields(buf, start, end):
        if field_number == 1 and wire == 2:
            key = _text(buf, s, e)
        elif field_number == 2 and wire == 2:
            nested.append(_text(buf, s, e))
        elif field_number == 16 and wire == 2:
            raw_json = buf[s:e]
        elif field_number == 5 and wire == 0:
            value = _signed(s)
        elif field_number == 6 and wire == 1:
            value = struct.unpack("<d", s.to_bytes(8, "little"))[0]
    key = key or ".".join(nested)
    if len(history.keys) < MAX_KEYS_SEEN and key != STEP_KEY:
        history.keys.setdefault(key, None)
    if key != STEP_KEY and key.casefold() not in history.wanted:
        return None
    if value is None and raw_json:
        try:
            parsed = json.loads(raw_json)
        except (ValueError, RecursionError):
            return key, None
        if isinstance(parsed, int | float) and not isinstance(parsed, bool):
            value = parsed
    return key, value


# --- the reader --------------------------------------------------------------------------------------


def read_wandb(files: Sequence[LogFile], spec: ReadSpec) -> Curve:
    """The curve of ``spec.metric`` (or its usual spellings) over ``_step``, from the run's ``.wandb``
    file(s) in order; the last value read for a step wins."""
    wanted = frozenset(name.casefold() for name in (spec.metric, *metric_candidates(spec.metric)))
    points = Points(unit="record")
    per_file: list[History] = []
    for index, log in enumerate(files):
        history = History(wanted)
        with reading(log):
            data = log.path.read_bytes()
        if not data.startswith(MAGIC):
            if index == 0 or len(files) == 1:
                raise LogError(
                    f"{log.display} is not a W&B run file (it does not start with ':W&B')", file=log.display, line=1
                )
            points.damaged(log.display, 1)
            per_file.append(history)  # nothing read, but file indices stay those of ``files``
            continue
        framing = Framing(data)
        for number, record in framing:
            try:
                read_record(record, number, history)
            except Damage:
                framing.damage()
                framing.first_damage = framing.first_damage or number
        for _ in range(framing.damaged):
            points.damaged(log.display, framing.first_damage)
        per_file.append(history)
    keys = [key for history in per_file for key in history.values]
    key = resolve_metric(spec.metric, keys)
    if key is None:
        seen = dict.fromkeys(k for history in per_file for k in history.keys)
        points.fields_seen = tuple(seen)[:FIELDS_SHOWN]
        points.ignored = 0
        return finish(points, files, format="wandb")
    for index, history in enumerate(per_file):
        got = history.values.get(key)
        if got is not None:
            points.add_lists(index, *got)
        points.oversized |= history.oversized.get(key, set())
        points.ignored += history.ignored
    return finish(points, files, format="wandb", metric_name=key)


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
    history = History(frozenset())
    try:
        for number, record in Framing(head):
            read_record(record, number, history)
            if history.name or number > 20:
                break
    except Damage:
        pass
    name = "".join(ch for ch in history.name if ch.isprintable()).strip()[:250]
    run_id = "".join(ch for ch in history.run_id if ch.isprintable()).strip()[:128]
    return name, run_id
