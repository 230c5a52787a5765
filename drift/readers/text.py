"""Console text logs: what a trainer printed, read by a recogniser of its training lines
(``drift.readers.recognisers``) or by the user's ``pattern``.

Decoding: UTF-8 with or without a BOM, UTF-16 (LE or BE) with a BOM, CRLF or LF line ends; a lone
CR (a progress bar redrawn in place) separates records but not lines, so line numbers are those an
editor shows. ANSI colour codes are removed before matching. Bytes that are not valid UTF-8 are
matched as they are (they are never part of a number). A NUL byte means the file is not text: the
run is an ERROR naming the file and line. A last line cut in the middle is read like any other.

Each file streams in blocks of whole lines. A block is matched from where the previous one left
off, and the last 64 KiB of a block are matched again with the next, so a ``pattern`` that spans
lines still matches across a block boundary (up to that length). Through the native scanner a
plain file (no UTF-16, CR, colour code or NUL) is read into one reused buffer and scanned where it
lies, in the same blocks (``_read_plain``).

Steps (see ``StepRule``): a step printed again keeps the last value read (a resumed run), as in
every other format. A counter that restarts (Keras epochs, a progress bar per epoch, DeepSpeed-Chat's
step per epoch) continues from the last step read. Steps printed rounded with a suffix (LeRobot's
``1K``) are rebuilt (``unround``). Hugging Face Trainer prints no step: its n-th loss is step n.
"""

from __future__ import annotations

import codecs
import ctypes
import functools
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import re2  # type: ignore[import-untyped]

from drift import native
from drift.curve import Curve, FloatArray, IntArray
from drift.errors import LogError
from drift.readers.common import INT64_MAX, LogFile, Points, ReadSpec, fill, finish, reading
from drift.readers.lineshape import line_shaped
from drift.readers.recognisers import MAX_MEM, Compiled, best, user_pattern

FORMAT = "text"
BLOCK_BYTES = 8 << 20
OVERLAP = 64 << 10  # how far a pattern match may reach back across a block boundary
MAX_LINE = 1 << 20  # a longer line is skipped as damaged, without holding it in memory
SNIFF_BYTES = 1 << 20  # how much of a file picks its recogniser
_ANSI = re2.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NOT_PLAIN = (b"\x00", b"\r", b"\x1b")  # bytes _lines changes or refuses
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "Q": 1e15}
_FLOAT_TEXT = b"0123456789.eE+-nNaAiIfFtTyY"  # numpy and float() agree on numbers made of these (tested)
# What ``loss`` may mean for a console log: the trainers print their training loss under these names.
LOSS_NAMES = frozenset({"loss", "train_loss", "train/loss", "total_loss", "trl", "act_loss", "train/crossentropyloss"})


def read_text(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True, native_scan: bool = True) -> Curve:
    """``fast``: the array conversion and, when its library is built and ``native_scan`` is set, the
    native scanner (``_match_native``); ``fast=False`` is the reference loop the tests hold them to."""
    if spec.pattern:
        try:
            chosen: Compiled | None = user_pattern(spec.pattern)
        except ValueError as exc:  # config validation rejects it first; a library call may not have
            raise LogError(f"pattern {exc}") from None
    else:
        chosen = None
        if spec.metric.casefold() not in LOSS_NAMES:
            raise LogError(
                f"console logs are read for their training loss; to read {spec.metric[:60]!r}, set pattern "
                "to a regular expression with (?P<step>...) and (?P<value>...) groups",
                file=files[0].display if files else None,
            )
    run = _Run(chosen, fast=fast, native=fast and native_scan)
    for index, log in enumerate(files):
        with reading(log), log.path.open("rb") as handle:
            _read_file(run, index, log, handle)
    if run.unrecognised and not run.recognised:
        shown = run.unrecognised[0]
        raise LogError(
            f"no line of {shown} looks like the console output of a known trainer; set pattern to a regular "
            "expression with (?P<step>...) and (?P<value>...) groups that matches its training lines",
            file=shown,
        )
    return finish(run.points, files, format=FORMAT, notes=run.notes())


def sniff(path: Path, pattern: str) -> bool:
    """Whether the start of a file reads as a console log: a recogniser, or ``pattern`` when it is
    set, finds a training line in its first MiB."""
    try:
        with path.open("rb") as handle:
            if not pattern:
                return _recognise(handle) is not None
            data, _, _ = next(_lines(handle, SNIFF_BYTES, once=True))
    except (OSError, StopIteration):
        return False
    if b"\x00" in data:
        return False
    try:
        matcher = user_pattern(pattern)
    except ValueError:
        return False
    return next(_matches(matcher.regexp, data, 0), None) is not None


@dataclass
class _Run:
    """What the files of one run have given so far, and the step state that carries across them."""

    fixed: Compiled | None  # the user's pattern, else None: each file picks its recogniser
    fast: bool = True  # whole-array conversion where it applies; False: the reference loop only
    native: bool = True  # the native scanner, when it is built
    points: Points = field(default_factory=Points)
    used: dict[str, None] = field(default_factory=dict)  # recognisers used, in order
    recognised: int = 0
    unrecognised: list[str] = field(default_factory=list)
    ordinal: int = 0  # points read so far, for trainers that print no step
    last_step: int | None = None  # for counters that restart
    last_head: int | None = None  # the step of the last head line (OLMo, Keras)
    offset: int = 0
    restarts: int = 0
    rebuilt: int = 0  # rounded steps rebuilt
    bad_steps: int = 0

    def notes(self) -> list[str]:
        out = []
        if self.used:
            out.append("read as " + ", ".join(self.used) + " console output")
        if self.restarts:
            out.append(
                f"the step counter started again {self.restarts} time(s); each restart continues from the last step"
            )
        if self.rebuilt:
            out.append(f"{self.rebuilt} step(s) were printed rounded (such as 1K); their steps were rebuilt")
        if "Hugging Face Trainer" in self.used:
            out.append("Hugging Face Trainer prints no step: the n-th logged loss is step n")
        if self.bad_steps:
            out.append(f"{self.bad_steps} match(es) with a step that is not a whole number were left out")
        return out


@dataclass
class _File:
    """Matches of one file, before their steps and values are converted: as text, or (the fast
    path, while every block converts cleanly) as arrays per block, which keeps a million-step
    log to a few bytes a point."""

    steps: list[bytes] = field(default_factory=list)  # the printed steps, when the matcher has a step group
    heads: list[int] = field(default_factory=list)  # head-line matchers: the step each value belongs to
    values: list[bytes] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    arrays: list[tuple[IntArray | None, FloatArray, IntArray]] | None = None  # None: text mode

    def add_block(self, steps: list[bytes], values: list[bytes], lines: IntArray) -> None:
        if self.arrays is not None:
            converted = _block_arrays(steps, values)
            if converted is not None:
                self.arrays.append((converted[0], converted[1], lines))
                return
            self.to_text()
        self.steps += steps
        self.values += values
        self.lines += lines.tolist()

    def add_arrays(self, steps: IntArray | None, values: FloatArray, lines: IntArray) -> None:
        """A block converted by the native scanner (``_Native``), exactly as ``_block_arrays`` would."""
        if self.arrays is not None:
            self.arrays.append((steps, values, lines))
            return
        if steps is not None:
            self.steps += [str(s).encode() for s in steps.tolist()]
        self.values += [repr(v).encode() for v in values.tolist()]
        self.lines += lines.tolist()

    def to_text(self, *, heads: bool = False) -> None:
        """Back to text mode: the arrays as text that converts to the same numbers; with ``heads``
        (a head-line matcher), their steps are the head-line steps ``_take_heads`` gave the values."""
        for steps, values, lines in self.arrays or ():
            if steps is not None and heads:
                self.heads += steps.tolist()
            elif steps is not None:
                self.steps += [str(s).encode() for s in steps.tolist()]
            self.values += [repr(v).encode() for v in values.tolist()]
            self.lines += lines.tolist()
        self.arrays = None


def _block_arrays(steps: list[bytes], values: list[bytes]) -> tuple[IntArray | None, FloatArray] | None:
    """A block's matches as arrays, when each converts exactly as ``_convert`` would convert it:
    numbers made only of number characters, steps of plain digits; else None."""
    if b"".join(values).translate(None, _FLOAT_TEXT):
        return None
    if steps and (not b"".join(steps).isdigit() or max(map(len, steps)) > 18):  # signs, suffixes: parse_step's
        return None
    try:
        floats = np.array(values, dtype=np.bytes_).astype(np.float64) if values else np.empty(0)
        ints = np.array(steps, dtype=np.bytes_).astype(np.int64) if steps else None
    except (ValueError, OverflowError):
        return None
    return ints, floats


def _read_file(run: _Run, index: int, log: LogFile, handle: BinaryIO) -> None:
    # The recogniser is chosen on the file's first MiB, whatever the block size; only a file whose
    # first MiB holds no training line goes on looking, block by block.
    matcher = run.fixed or _recognise(handle)
    handle.seek(0)
    scanner = _native(matcher.regexp.pattern) if matcher is not None and run.native and not matcher.head else None
    if matcher is not None and scanner is not None:
        found = _File(arrays=[])
        if _read_plain(handle, matcher, scanner, found):
            _finish_file(run, index, matcher, found)
            return
        handle.seek(0)
    found = _File(arrays=[] if run.fast else None)
    any_text = False
    carry = b""  # the tail of the previous block, matched again with the next
    base = 0  # lines before ``carry``
    pos = 0  # where matching starts in ``carry``
    for data, last, dropped in _lines(handle):
        block = carry + data if carry else data
        nul = block.find(b"\x00", len(carry))
        if nul >= 0:
            line = base + block.count(b"\n", 0, nul) + 1
            raise LogError(
                f"{log.display} holds binary data (a NUL byte on line {line}); it is not a text log",
                file=log.display,
                line=line,
            )
        if dropped:
            run.points.damaged(log.display, base + block.count(b"\n"))
        any_text = any_text or bool(block.strip())
        if matcher is None and len(block) > SNIFF_BYTES:
            matcher = best(block)
        if matcher is None:
            base += block.count(b"\n")
            carry, pos = b"", 0
            continue
        # Matches must end before ``limit``; the rest of the block is matched again with the next.
        limit = len(block) if last else _tail_start(block)
        resume, newlines = _match_block(run, matcher, block, pos=pos, limit=limit, base=base, found=found)
        if last:
            break
        keep = block.rfind(b"\n", 0, resume) + 1
        base += newlines  # the newlines before ``resume``, all of them before ``keep``
        carry, pos = block[keep:], resume - keep
    if matcher is None:
        if any_text:
            run.unrecognised.append(log.display)
        return
    _finish_file(run, index, matcher, found)


def _finish_file(run: _Run, index: int, matcher: Compiled, found: _File) -> None:
    run.recognised += 1
    run.used[matcher.name] = None
    if not (run.fast and _convert_fast(run, index, matcher, found)):
        _convert(run, index, matcher, found)


def _read_plain(handle: BinaryIO, matcher: Compiled, scanner: _Native, found: _File) -> bool:
    """``_read_file``'s loop for a plain file (UTF-8 with or without a BOM, LF line ends, no colour
    code, no NUL, no line over MAX_LINE) through the native scanner, with each block read into one
    buffer and scanned where it lies: no block is copied. The blocks are ``_lines``'s, cut where it
    cuts them, so the matches are the same. False, with nothing but ``found`` changed, as soon as
    the file turns out not to be plain: ``_read_file`` then reads it again."""
    head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    skipped = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    handle.seek(skipped)
    buffer = bytearray(4 + BLOCK_BYTES + OVERLAP + 2 * MAX_LINE + 2)  # a block, and the lines carried
    address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    view = memoryview(buffer)
    try:
        filled = pos = base = 0
        want = len(head) - skipped + BLOCK_BYTES  # _lines reads 4 bytes, then blocks
        first = True
        while True:
            if want > len(buffer) - filled:  # lines carried that _lines would have grown a block for
                return False
            got = fill(handle, view[filled : filled + want])  # type: ignore[arg-type]
            if any(buffer.find(byte, filled, filled + got) >= 0 for byte in _NOT_PLAIN):
                return False
            filled += got
            last = got == 0 or (first and got <= len(head) - skipped)
            end = filled if last else buffer.rfind(b"\n", 0, filled) + 1
            if filled - end > MAX_LINE:  # a line _lines drops
                return False
            limit = end if last else _tail_start(buffer, end)
            scanned = scanner.scan(address, end, pos, limit, matcher)
            _take_scanned(matcher, buffer, scanned, base, found)
            if last:
                return True
            keep = buffer.rfind(b"\n", 0, scanned.resume) + 1
            base += scanned.newlines
            buffer[: filled - keep] = buffer[keep:filled]
            filled, pos = filled - keep, scanned.resume - keep
            want, first = BLOCK_BYTES, False
    finally:
        view.release()


def _recognise(handle: BinaryIO) -> Compiled | None:
    data, _, _ = next(_lines(handle, SNIFF_BYTES, once=True))
    return None if b"\x00" in data else best(data)


def _tail_start(block: bytes | bytearray, end: int | None = None) -> int:
    """The start of the line holding the byte OVERLAP before the block's end (``end``, by default its
    length; 0 for a short block)."""
    end = len(block) if end is None else end
    return block.rfind(b"\n", 0, end - OVERLAP) + 1 if end > OVERLAP else 0


def _match_block(
    run: _Run, matcher: Compiled, block: bytes, *, pos: int, limit: int, base: int, found: _File
) -> tuple[int, int]:
    """The matches in ``block`` from ``pos`` that end by ``limit``, added to ``found`` (``base``: the
    lines before the block); returns where the next block's matching resumes and the newlines in
    the block before that point."""
    scanner = _native(matcher.regexp.pattern) if run.native else None
    if scanner is not None:
        return _match_native(run, matcher, block, pos=pos, limit=limit, base=base, found=found, scanner=scanner)
    resume = limit
    positions: list[int] = []
    block_steps: list[bytes] = []
    block_values: list[bytes] = []
    if matcher.head:
        found.to_text(heads=True)
        for spans in _matches(matcher.regexp, block, pos):
            if spans[0][1] > limit:
                resume = min(spans[0][0], limit)
                break
            step = spans[matcher.step] if matcher.step else _ABSENT
            if _event(
                run, matcher, block, head=spans[matcher.head], step=step, value=spans[matcher.value], found=found
            ):
                positions.append(spans[matcher.value][0])
    else:  # the common case, kept to a few operations per match
        step_group, value = matcher.step, matcher.value
        steps, values = block_steps.append, block_values.append
        at = positions.append
        for spans in _matches(matcher.regexp, block, pos):
            if spans[0][1] > limit:
                resume = min(spans[0][0], limit)
                break
            a, b = spans[value]
            values(block[a:b])
            at(a)
            if step_group:
                c, d = spans[step_group]
                steps(block[c:d])
    if positions:
        lines = _line_numbers(block, positions, base)
        if matcher.head:
            found.lines += lines.tolist()
        else:
            found.add_block(block_steps, block_values, lines)
    return resume, block.count(b"\n", 0, resume)


def _match_native(
    run: _Run, matcher: Compiled, block: bytes, *, pos: int, limit: int, base: int, found: _File, scanner: _Native
) -> tuple[int, int]:
    """``_match_block`` through the native scanner: the same matches, with the values and steps it
    converted as arrays; a block holding a match it left to Python (a step such as ``1K``, a value
    such as ``1,234``) goes on as text, as ``_match_block`` would give it."""
    scanned = scanner.scan(block, len(block), pos, limit, matcher)
    if not matcher.head:
        _take_scanned(matcher, block, scanned, base, found)
    elif not _take_heads(run, matcher, scanned, base, found):
        # a head line's step carries to the values after it: in order, in Python
        found.to_text(heads=True)
        kinds = scanned.kinds.tolist()
        rows = zip(kinds, scanned.spans.tolist(), scanned.lines.tolist(), strict=True)
        for kind, (a, b, c, d), line in rows:
            head, step = ((c, d), _ABSENT) if kind == _K_HEAD else (_ABSENT, (c, d))
            if _event(run, matcher, block, head=head, step=step, value=(a, b), found=found):
                found.lines.append(line + base + 1)
    return scanned.resume, scanned.newlines


def _take_heads(run: _Run, matcher: Compiled, scanned: _Scanned, base: int, found: _File) -> bool:
    """``_event`` over a block's matches at once, for a head-line matcher without a step group (OLMo,
    Keras) whose matches the scanner converted entirely: each value takes the step of the last
    head line before it, the counter's restarts counted as ``_event`` counts them. False, with
    nothing changed, when it cannot (text mode, a match left to Python, a step that large sums
    could take beyond int64): the loop then reads the block."""
    if found.arrays is None or matcher.step or scanned.flags.any():
        return False
    is_head = scanned.kinds == _K_HEAD
    printed = scanned.steps[is_head]
    if (printed.size and int(printed.max()) >= _HEAD_LIMIT) or (run.last_head or 0) >= INT64_MAX // 4:
        return False
    before = run.last_head  # the step of values before the block's first head line
    effective = printed
    if printed.size and matcher.steps == "restarts":
        # A head at or below the one before it starts the counter again: the offset becomes the last
        # step (one more for a counter from 0), so each restart adds the step printed before it.
        previous = np.empty_like(printed)
        previous[1:] = printed[:-1]
        restart = np.empty(printed.size, dtype=bool)
        restart[1:] = printed[1:] <= printed[:-1]
        restart[0] = before is not None and int(printed[0]) + run.offset <= before
        previous[0] = 0 if before is None else before - run.offset
        offsets = run.offset + np.cumsum(np.where(restart, previous + (printed == 0), 0))
        effective = printed + offsets
        run.offset = int(offsets[-1])
        run.restarts += int(np.count_nonzero(restart))
    if printed.size:
        run.last_head = int(effective[-1])
    is_value = ~is_head
    owner = np.maximum.accumulate(np.where(is_head, np.arange(is_head.size), -1))[is_value]
    steps = np.zeros(is_head.size, dtype=np.int64)
    steps[is_head] = effective
    steps = steps[np.maximum(owner, 0)]
    keep = owner >= 0
    if before is not None:
        steps[~keep] = before
        keep[:] = True
    values, lines = scanned.values[is_value][keep], scanned.lines[is_value][keep] + (base + 1)
    found.arrays.append((steps[keep], values, lines))
    return True


def _take_scanned(matcher: Compiled, block: bytes | bytearray, scanned: _Scanned, base: int, found: _File) -> None:
    """A block's matches without head lines into ``found``: as the scanner's arrays, or as text when
    it left one of them to Python."""
    if not scanned.kinds.size:
        return
    lines = scanned.lines + (base + 1)
    if scanned.flags.any():
        spans = scanned.spans.tolist()
        block_values = [bytes(block[a:b]) for a, b, _, _ in spans]
        block_steps = [bytes(block[c:d]) for _, _, c, d in spans] if matcher.step else []
        found.add_block(block_steps, block_values, lines)
    else:
        found.add_arrays(scanned.steps if matcher.step else None, scanned.values, lines)


def _line_numbers(block: bytes, positions: Sequence[int] | IntArray, base: int) -> IntArray:
    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    lines: IntArray = np.searchsorted(newlines, positions, side="right").astype(np.int64) + (base + 1)
    return lines


def _event(
    run: _Run,
    matcher: Compiled,
    block: bytes,
    *,
    head: tuple[int, int],
    step: tuple[int, int],
    value: tuple[int, int],
    found: _File,
) -> bool:
    """One match of a head-line matcher, by its group spans ((-1, -1): not part of the match): a head
    line sets the step for the values after it; else a point to convert. Whether it added a point."""
    if head[0] >= 0:
        printed = int(block[head[0] : head[1]])
        if matcher.steps == "restarts" and run.last_head is not None and printed + run.offset <= run.last_head:
            run.offset = run.last_head + (printed == 0)  # a counter from 0 must not land on the last step
            run.restarts += 1
        run.last_head = printed + (run.offset if matcher.steps == "restarts" else 0)
        return False
    if step[0] >= 0:
        found.steps.append(block[step[0] : step[1]])
        found.heads.append(-1)
    elif run.last_head is None:
        return False  # a value before any head line has no step
    else:
        found.heads.append(run.last_head)
    found.values.append(block[value[0] : value[1]])
    return True


# What drift_text_scan (native/textscan.cc) writes: match kinds, flags and why it stopped.
_K_POINT, _K_HEAD, _K_VALUE = 0, 1, 2
_STOP_END, _STOP_MORE, _STOP_LIMIT = 0, 1, 2
_ABSENT = (-1, -1)
_SCAN_CAP = 1 << 17  # matches (line-shaped patterns: lines) per call
_MODE_SEARCH, _MODE_LINES = 0, 1
# More than this to match is matched on two threads (two cores): lines, or the search.
_SPLIT_BYTES = 1 << 20
_HEAD_LIMIT = 1 << 32  # head-line steps below this add up within int64 over a block (_take_heads)


@dataclass(frozen=True)
class _Scanned:
    """One block's matches from the native scanner, in order (see drift_text_scan)."""

    kinds: npt.NDArray[np.int8]
    flags: npt.NDArray[np.int8]
    spans: IntArray  # (n, 4): the value group's start and end, then the step's (or the head's)
    values: FloatArray
    steps: IntArray
    lines: IntArray  # the newlines in the block up to each value's first byte (0: no value)
    resume: int
    newlines: int  # the newlines in the block before ``resume``


class _Native:
    """A pattern compiled by the native scanner; freed with this object."""

    def __init__(self, lib: ctypes.CDLL, handle: int, *, lines: bool) -> None:
        self._lib = lib
        self._handle = handle
        self._mode = _MODE_LINES if lines else _MODE_SEARCH

    def __del__(self) -> None:
        self._lib.drift_text_free(self._handle)

    def scan(self, block: bytes | int, size: int, pos: int, limit: int, matcher: Compiled) -> _Scanned:
        """The matches in ``block`` (its ``size`` bytes; an address, or bytes) from ``pos``, as
        ``_matches`` finds them, up to the first that ends after ``limit``; ``resume`` as
        ``_match_block`` sets it."""
        cap = _SCAN_CAP
        kinds = np.empty(cap, dtype=np.int8)
        flags = np.empty(cap, dtype=np.int8)
        spans = np.empty((cap, 4), dtype=np.int64)
        values = np.empty(cap, dtype=np.float64)
        steps = np.empty(cap, dtype=np.int64)
        lines = np.empty(cap, dtype=np.int64)
        res = np.zeros(3, dtype=np.int64)
        split = _SPLIT_BYTES if (os.cpu_count() or 1) > 1 else 0
        parts: list[tuple[Any, ...]] = []
        line0 = 0  # the newlines before pos: none, as _read_file starts within a block's first line
        while True:
            count = native.check(
                "drift_text_scan",
                self._lib.drift_text_scan(
                    *(self._handle, block, size, pos, limit, line0),
                    *(matcher.step, matcher.value, matcher.head, self._mode, split),
                    *(kinds.ctypes.data, flags.ctypes.data, spans.ctypes.data, values.ctypes.data),
                    *(steps.ctypes.data, lines.ctypes.data, cap, res.ctypes.data),
                ),
            )
            columns = (kinds, flags, spans, values, steps, lines)
            parts.append(tuple(column[:count].copy() for column in columns))
            pos, stop, line0 = int(res[0]), int(res[1]), int(res[2])
            if stop != _STOP_MORE:
                break
        resume = pos if stop == _STOP_LIMIT else limit
        k, f, sp, v, st, ln = (
            column[0] if len(parts) == 1 else np.concatenate(column) for column in zip(*parts, strict=True)
        )
        return _Scanned(kinds=k, flags=f, spans=sp, values=v, steps=st, lines=ln, resume=resume, newlines=line0)


@functools.lru_cache(maxsize=64)
def _native(pattern: bytes) -> _Native | None:
    """The native scanner for ``pattern`` (compiled once), or None: the library is not built, or
    its RE2 refuses a pattern google-re2 took (then the Python path reads the log)."""
    lib = native.load_text()
    if lib is None:
        return None
    groups = ctypes.c_int64(0)
    handle = lib.drift_text_compile(pattern, len(pattern), MAX_MEM, ctypes.byref(groups))
    return _Native(lib, handle, lines=line_shaped(pattern)) if handle else None


def _matches(regexp: Any, data: bytes, pos: int) -> Iterator[list[tuple[int, int]]]:
    """Every match of ``regexp`` in ``data`` from ``pos``, as RE2's spans (group 0 first, (-1, -1)
    for a group that did not take part). The private call skips the Python match object that the
    public ``finditer`` builds for each match, which costs more than the match itself. ``data``
    before ``pos`` is context: ``^`` and ``\\b`` see it."""
    raw = regexp._regexp
    end = len(data)
    while pos <= end:
        spans = raw.Match(_UNANCHORED, data, pos, end)
        if spans[0][0] < 0:
            return
        yield spans
        pos = spans[0][1] if spans[0][1] > pos else pos + 1


def _lines(handle: BinaryIO, size: int = 0, *, once: bool = False) -> Iterator[tuple[bytes, bool, bool]]:
    """(data, last, dropped): the file in blocks of whole lines (the last may lack its newline),
    as UTF-8, CRLF as LF, without colour codes. A line over MAX_LINE is dropped as it streams by;
    an empty line takes its place and ``dropped`` says the block ends with it. ``once`` reads one
    block of ``size`` bytes (default BLOCK_BYTES) as if it were the whole file."""
    size = size or BLOCK_BYTES
    first = handle.read(4)
    decoder: Any = None
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
    carry = b""
    dropping = False
    pending = first
    while True:
        raw = handle.read(size)
        chunk = pending + raw if pending else raw
        pending = b""
        last = not raw or once
        if decoder is not None:
            chunk = decoder.decode(chunk, final=last).encode("utf-8", "surrogatepass")
        if dropping:
            cut = chunk.find(b"\n")
            if cut < 0 and not last:
                continue
            chunk = chunk[cut + 1 :] if cut >= 0 else b""
            dropping = False
        data = carry + chunk if carry else chunk
        dropped = False
        if last:
            carry = b""
        else:
            cut = data.rfind(b"\n") + 1
            if len(data) - cut > MAX_LINE:
                dropping = dropped = True
                data, carry = data[:cut] + b"\n", b""
            else:
                data, carry = data[:cut], data[cut:]
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        if b"\x1b" in data:
            data = _ANSI.sub(b"", data)
        yield data, last, dropped
        if last:
            return


def _convert(run: _Run, index: int, matcher: Compiled, found: _File) -> None:
    """Turn one file's matches into points, by the matcher's step rule."""
    points = run.points
    steps: list[int] = []
    values: list[float] = []
    lines: list[int] = []
    labels: list[tuple[float, float]] = []
    converted = [_number(v) for v in found.values]
    count = len(converted)
    step_texts = found.steps if matcher.step else [b""] * count
    heads = found.heads if matcher.head else [-1 if matcher.step else -2] * count
    for step_text, head, value, line in zip(step_texts, heads, converted, found.lines, strict=True):
        if value is None:
            points.ignored += 1
            continue
        if head == -2:
            run.ordinal += 1
            step = run.ordinal
        elif head >= 0:
            step = head
        else:
            label = parse_step(step_text)
            if label is None:
                run.bad_steps += 1
                points.ignored += 1
                continue
            if label[1] > 1 or matcher.steps == "rounded":
                labels.append(label)
                steps.append(-1)  # rebuilt below
                values.append(value)
                lines.append(line)
                continue
            step = int(label[0])
            if matcher.steps == "restarts":
                if run.last_step is not None and step + run.offset < run.last_step:
                    run.offset = run.last_step + (step == 0)  # a counter from 0 must not land on the last step
                    run.restarts += 1
                step += run.offset
        if step > INT64_MAX:
            points.oversized.add(step)
            points.ignored += 1
            continue
        run.last_step = step
        steps.append(step)
        values.append(value)
        lines.append(line)
    if labels:
        rebuilt = unround(labels)
        run.rebuilt += sum(1 for _, unit in labels if unit > 1)
        it = iter(rebuilt)
        steps = [next(it) if s == -1 else s for s in steps]
        if steps:
            run.last_step = steps[-1]
    keep = [i for i, s in enumerate(steps) if s <= INT64_MAX]
    if len(keep) < len(steps):
        for i in set(range(len(steps))) - set(keep):
            points.oversized.add(steps[i])
            points.ignored += 1
        steps, values, lines = [steps[i] for i in keep], [values[i] for i in keep], [lines[i] for i in keep]
    points.add_lists(index, steps, values, lines)


def _convert_fast(run: _Run, index: int, matcher: Compiled, found: _File) -> bool:
    """``_convert`` on the arrays of a file read in array mode, whose steps only go up where the
    counter may restart; False leaves the file to ``_convert`` (the tests hold the two equal)."""
    if found.arrays is None:
        return False
    if not found.arrays:
        return True
    values = np.concatenate([v for _, v, _ in found.arrays])
    lines = np.concatenate([line for _, _, line in found.arrays])
    count = values.size
    if matcher.head or matcher.step:  # the steps _take_heads gave, or the printed ones
        steps = np.concatenate([s for s, _, _ in found.arrays if s is not None])
        if matcher.steps == "restarts" and not matcher.head:  # _take_heads counted a head's restarts
            if np.any(steps[1:] < steps[:-1]) or (run.last_step is not None and steps[0] + run.offset < run.last_step):
                found.to_text()
                return False
            steps += run.offset
    else:
        steps = np.arange(run.ordinal + 1, run.ordinal + count + 1, dtype=np.int64)
        run.ordinal += count
    found.arrays = []
    if steps.size:  # a head-line file's blocks may all be head lines
        run.last_step = int(steps[-1])
        run.points.add(index, steps, values, lines)
    return True


def _number(text: bytes) -> float | None:
    try:
        return float(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        try:
            return float(text.replace(b",", b"").replace(b"_", b"").decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None


def parse_step(text: bytes) -> tuple[float, float] | None:
    """A printed step as (value, unit): ``120`` is (120, 1), ``1,000`` is (1000, 1), ``1K`` is
    (1000, 1000) and ``2.5M`` is (2,500,000, 100,000): the unit is what the last printed digit
    counts. None when it is not a whole number (``0.5`` with no suffix) or not a number."""
    body = text.strip().replace(b",", b"").decode("ascii", "replace")
    scale = _SUFFIX.get(body[-1:].upper(), 1.0) if body else 1.0
    if scale > 1:
        body = body[:-1]
    try:
        number = float(body)
    except ValueError:
        return None
    if not np.isfinite(number) or number < 0:
        return None
    decimals = len(body.partition(".")[2])
    unit = scale / 10**decimals
    if unit < 1:
        if not number.is_integer():
            return None
        unit = 1.0
    if scale == 1 and body.isdigit():  # exact beyond 2**53, as the fast paths' int64 steps are
        return int(body), 1.0
    return number * scale, max(unit, 1.0)


def unround(labels: list[tuple[float, float]]) -> list[int]:
    """Steps for printed steps, some rounded: ``(value, unit)`` as ``parse_step`` gives them.

    LeRobot logs every N steps but prints 1,000 as ``1K``, and 1,200 and 1,400 as ``1K`` too. Where
    the exact steps printed before rounding set in have a constant interval, and carrying that
    interval on reproduces every rounded label (each within half a unit of its label), those are
    the steps. Otherwise the points that share a label are spread evenly from it towards the next
    label, in the order printed; a label that goes back starts again (a resumed run).
    """
    exact = [int(v) for v, u in labels if u == 1]
    n = len(labels)
    first_rounded = next((i for i, (_, u) in enumerate(labels) if u > 1), n)
    head = [int(v) for v, _ in labels[:first_rounded]]
    if len(head) >= 2 and all(u == 1 for _, u in labels[:first_rounded]):
        gaps = {b - a for a, b in itertools.pairwise(head)}
        if len(gaps) == 1 and (gap := gaps.pop()) > 0:
            candidate = [head[0] + gap * i for i in range(n)]
            if all(abs(c - v) <= u / 2 for c, (v, u) in zip(candidate, labels, strict=True)):
                return candidate
    del exact
    out: list[int] = []
    i = 0
    while i < n:
        value, unit = labels[i]
        j = i
        while j + 1 < n and labels[j + 1] == labels[i]:
            j += 1
        count = j - i + 1
        if unit == 1:  # an exact step printed again is a repeated step, not a rounded one
            out.extend([int(value)] * count)
            i = j + 1
            continue
        following = labels[j + 1][0] if j + 1 < n and labels[j + 1][0] > value else value + unit
        span = following - value
        out.extend(int(value + span * k / count) for k in range(count))
        i = j + 1
    return out
