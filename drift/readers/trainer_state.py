"""Hugging Face Trainer ``trainer_state.json``: the run is the ``log_history`` of its latest checkpoint.

The Trainer rewrites the whole history into every ``checkpoint-N/trainer_state.json`` and, at the
end, into the output folder's own; so one run's files overlap, and only the latest is read. Latest
means the highest ``global_step`` the file states; on a tie, or where a file states none, the
checkpoint number N stands in, and the output folder's own file (written last) wins. A damaged
latest file (cut off while being written, edited by hand) gives way to the next-latest readable
one, with a note; when none is readable the run is an error that names the latest.

A point is a ``log_history`` entry holding the metric: ``int(step)`` and ``float(metric)`` as Python
converts them, the same rules as the JSON-lines reader, so that eval entries (no ``loss``) and the
final summary (``train_loss``) are simply not points. Its position is its index in ``log_history``.

``json.loads`` is the reference. It builds a dict per entry, which takes seconds on a
million-entry history, so a compiled scanner (``drift.native``, ``jsondoc.c``) reads the document
when it is built and hands back to ``json.loads`` any document, or any entry, it is not sure of.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drift import native
from drift.curve import Curve, FloatArray, IntArray
from drift.errors import LogError
from drift.readers.common import FIELDS_SHOWN, LogFile, Points, ReadSpec, finish, narrow, reading, record_point

FORMAT = "trainer-state"

_CHECKPOINT = re.compile(r"checkpoint-([0-9]+)")
_FIX_JSON = "let the Trainer write it again (trainer.save_state()) or point paths at an intact checkpoint-N folder"
_FIX_SHAPE = "point paths at a Hugging Face Trainer output folder, whose trainer_state.json holds a log_history list"

# The compiled scanner's return codes and counts (jsondoc.c).
_JD_OK = 0
_POINTS, _DEFERRED, _IGNORED, _HAS_GLOBAL_STEP, _GLOBAL_STEP, _KEY_BYTES, _COUNTS = range(7)
# drift_jsondoc_scan's parameters, in order; its contract errors name them.
_MAX_DEFERRED = 1 << 16  # entries handed back one by one; past that, json.loads reads the document
_KEY_BUFFER = 1 << 16

Bytes = npt.NDArray[np.uint8]
_Rank = tuple[float, int, int, int]  # stated global_step, is the output folder's own, checkpoint N, order given


@dataclass
class _History:
    """What one readable trainer_state.json holds for the reader."""

    global_step: int | None
    steps: IntArray
    values: FloatArray
    entries: IntArray  # each point's index in log_history
    ignored: int = 0
    oversized: set[int] = field(default_factory=set)
    fields: tuple[str, ...] = ()  # the sorted names of the entries' keys, when no entry is a point

    def point(self, entry: dict[str, object], metric: str) -> tuple[int, float] | None:
        """The entry's (step, value), or None with the entry counted as ignored (and a step
        beyond int64 kept, for the SKIP rule's count of distinct steps)."""
        point = record_point(entry, "step", metric)
        if isinstance(point, int):
            self.oversized.add(point)
        if isinstance(point, tuple):
            return point
        self.ignored += 1
        return None


@dataclass(frozen=True)
class _Damage:
    """Why a file is not a readable trainer_state.json, and where (1-based, as editors count)."""

    line: int
    column: int | None
    reason: str
    syntax: bool  # not JSON at all, rather than JSON of another shape

    def where(self, display: str) -> str:
        return f"{display}:{self.line}" + (f":{self.column}" if self.column is not None else "")


def read_trainer_state(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True) -> Curve:
    """The curve of the latest readable file among one run's ``trainer_state.json`` files.

    ``fast=False`` reads through ``json.loads`` only, the reference the compiled scanner is held to.
    """
    if not files:
        raise LogError("no trainer_state.json to read")
    lib = _library() if fast else None
    best: tuple[_Rank, LogFile, _History] | None = None
    damaged: list[tuple[_Rank, LogFile, _Damage]] = []
    for index, log in enumerate(files):
        with reading(log):
            data = _load(log.path)
        got = _read_document(data, spec.metric, lib)
        del data  # before the next file's buffer is made
        folder = _CHECKPOINT.fullmatch(log.path.parent.name)
        number = int(folder.group(1)) if folder else -1
        if isinstance(got, _Damage):
            # A damaged file states no global_step; its folder's number stands in for it.
            damaged.append(((number if folder else math.inf, int(folder is None), number, index), log, got))
        else:
            stated = got.global_step if got.global_step is not None else (number if folder else math.inf)
            rank: _Rank = (stated, int(folder is None), number, index)
            if best is None or rank > best[0]:
                best = (rank, log, got)  # the one it replaces is dropped: one history in memory
    damaged.sort(key=lambda item: item[0], reverse=True)
    if best is None:
        _, log, damage = damaged[0]
        others = f" (nor is any of the other {len(files) - 1} candidate(s))" if len(files) > 1 else ""
        column = f" at column {damage.column}" if damage.column is not None else ""
        fix = _FIX_JSON if damage.syntax else _FIX_SHAPE
        raise LogError(
            f"{log.display}:{damage.line}: not a trainer_state.json: {damage.reason}{column}{others}; {fix}",
            file=log.display,
            line=damage.line,
        )

    rank, chosen, history = best
    points = Points(unit="entry")
    notes = []
    for _, log, damage in (item for item in damaged if item[0] > rank):
        what = "not valid JSON" if damage.syntax else "not a trainer_state.json"
        notes.append(f"{damage.where(log.display)}: {what} ({damage.reason}); read {chosen.display} instead")
        points.damaged(log.display, None)
    largest = int(history.entries[-1]) if history.entries.size else 0
    points.add(0, history.steps, history.values, narrow(history.entries, largest))
    points.ignored = history.ignored
    points.oversized = history.oversized
    points.fields_seen = history.fields
    return finish(points, [chosen], format=FORMAT, notes=notes)


def _library() -> ctypes.CDLL | None:
    """The compiled scanner with this reader's entry point, or None (not built, or built before it)."""
    return native.load() if native.function("drift_jsondoc_scan") is not None else None


def _load(path: Path) -> Bytes:
    """The whole file. Into a fresh numpy buffer rather than ``bytes``: numpy asks the kernel for
    huge pages, which makes filling 100 MB about twice as fast (a memory map would be faster
    still, but a Trainer rewriting the file in place would make reading it crash the process)."""
    with path.open("rb") as handle:
        buffer = np.empty(os.fstat(handle.fileno()).st_size + 1, dtype=np.uint8)  # +1: see if it grew
        view = buffer.data
        filled = 0
        while filled < buffer.size and (got := handle.readinto(view[filled:])):
            filled += got
        del view
        if filled == buffer.size:
            return np.concatenate([buffer, np.frombuffer(handle.read(), dtype=np.uint8)])
    return buffer[:filled]


def _read_document(data: Bytes, metric: str, lib: ctypes.CDLL | None) -> _History | _Damage:
    if lib is not None:
        history = _scan(lib, data, metric)
        if history is not None:
            return history
    return _parse(data.tobytes(), metric)


def _scan(lib: ctypes.CDLL, data: Bytes, metric: str, *, collect: bool = False) -> _History | None:
    """The compiled scanner's reading, or None when json.loads must read the whole document."""
    key = metric.encode("utf-8", "surrogateescape")
    # The shortest entry the scanner takes as a point, {"step":0,"loss":0} and its comma, bounds
    # the points; the arrays are only reserved, and only the pages written are ever backed.
    shortest = 11 if key == b"step" else 16 + len(key)
    capacity = data.size // shortest + 1
    steps = np.empty(capacity, dtype=np.int64)
    values = np.empty(capacity, dtype=np.float64)
    entries = np.empty(capacity, dtype=np.int64)
    deferred = np.empty(3 * _MAX_DEFERRED, dtype=np.int64)
    keys = ctypes.create_string_buffer(_KEY_BUFFER) if collect else None
    counts = np.zeros(_COUNTS, dtype=np.int64)
    status = lib.drift_jsondoc_scan(
        data.ctypes.data, data.size, key, len(key),
        steps.ctypes.data, values.ctypes.data, entries.ctypes.data, capacity,
        deferred.ctypes.data, _MAX_DEFERRED, keys, _KEY_BUFFER if collect else 0, counts.ctypes.data,
    )  # fmt: skip
    if native.check("drift_jsondoc_scan", status) != _JD_OK:
        return None
    n = int(counts[_POINTS])
    history = _History(
        int(counts[_GLOBAL_STEP]) if counts[_HAS_GLOBAL_STEP] else None,
        steps[:n],
        values[:n],
        entries[:n],
        ignored=int(counts[_IGNORED]),
    )
    names: set[str] = set()
    if keys is not None:
        names.update(name.decode("ascii") for name in keys.raw[: int(counts[_KEY_BYTES])].split(b"\0")[:-1])
    # Entries the scanner left to Python: a string-typed number, an escaped key, a huge step.
    extra: list[tuple[int, int, float]] = []
    for index, start, end in deferred[: 3 * int(counts[_DEFERRED])].reshape(-1, 3).tolist():
        entry = json.loads(data[start:end].tobytes())  # the scanner has validated the whole document
        names.update(entry)
        if metric not in entry:
            continue
        point = history.point(entry, metric)
        if point is not None:
            extra.append((index, *point))
    if extra:  # back into log_history order, which decides the value kept for a repeated step
        indexes, more_steps, more_values = zip(*extra, strict=True)
        entries = np.concatenate([history.entries, np.asarray(indexes, dtype=np.int64)])
        order = np.argsort(entries, kind="stable")
        history.entries = entries[order]
        history.steps = np.concatenate([history.steps, np.asarray(more_steps, dtype=np.int64)])[order]
        history.values = np.concatenate([history.values, np.asarray(more_values, dtype=np.float64)])[order]
    if history.steps.size == 0:
        if not collect:
            return _scan(lib, data, metric, collect=True)  # the gate's hint lists the names found
        history.fields = tuple(sorted(names)[:FIELDS_SHOWN])
    return history


def _parse(data: bytes, metric: str) -> _History | _Damage:
    """The reference: the document through json.loads, then each entry through ``_point``."""
    try:
        text = data.decode("utf-8")  # as the Trainer reads it back: strict UTF-8, no BOM
    except UnicodeDecodeError as exc:
        return _damage_at(data, exc.start, "bytes that are not UTF-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return _Damage(exc.lineno, exc.colno, exc.msg, syntax=True)
    except RecursionError:
        return _Damage(1, None, "nested too deeply for Python's json module", syntax=True)
    except ValueError as exc:  # an integer of more than 4300 digits
        long_number = re.search(rb"[0-9]{4301,}", data)
        reason = str(exc).split(":", 1)[0] or "a number Python cannot read"
        return _damage_at(data, long_number.start() if long_number else 0, reason)
    if not isinstance(document, dict):
        start = len(text) - len(text.lstrip(" \t\n\r"))
        return _damage_at(data, start, f"the document is {_kind(document)}, not an object", syntax=False)
    history = document.get("log_history")
    if not isinstance(history, list):
        missing = "log_history" not in document
        reason = "no log_history" if missing else f"log_history is {_kind(history)}, not a list"
        return _Damage(1, None, reason, syntax=False)
    stated = document.get("global_step")
    steps: list[int] = []
    values: list[float] = []
    entries: list[int] = []
    result = _History(stated if type(stated) is int else None, *_empty())
    for index, entry in enumerate(history):
        if not isinstance(entry, dict) or metric not in entry:
            continue
        point = result.point(entry, metric)
        if point is not None:
            steps.append(point[0])
            values.append(point[1])
            entries.append(index)
    result.steps = np.asarray(steps, dtype=np.int64)
    result.values = np.asarray(values, dtype=np.float64)
    result.entries = np.asarray(entries, dtype=np.int64)
    if not steps:
        names = {name for entry in history if isinstance(entry, dict) for name in entry}
        result.fields = tuple(sorted(names)[:FIELDS_SHOWN])
    return result


def _empty() -> tuple[IntArray, FloatArray, IntArray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)


def _damage_at(data: bytes, offset: int, reason: str, *, syntax: bool = True) -> _Damage:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return _Damage(data.count(b"\n", 0, offset) + 1, offset - line_start + 1, reason, syntax=syntax)


def _kind(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
