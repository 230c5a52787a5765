"""CSV training logs: the ``CSVLogger`` files of PyTorch Lightning (``metrics.csv``) and Keras.

What the writers put on disk, from their source:

- Lightning (``lightning.fabric.loggers.csv_logs._ExperimentWriter``): a header of every metric
  name logged so far, sorted (``epoch``, ``step``, ``train_loss_step``, ``val_loss``...), then one
  row per ``log_metrics`` call through ``csv.DictWriter``, so a row is sparse: the names not logged
  in that call are empty cells. Training and validation at one step are separate rows.
- Keras (``keras.src.callbacks.csv_logger.CSVLogger``): ``epoch`` then the logs' keys sorted, one
  row per epoch, no step column; a key missing from an epoch's logs is written as ``NA``, and the
  separator can be set (``,`` by default; a tab or ``;`` here too).

Both write the excel dialect (``\\r\\n`` line ends, quotes only where a cell needs them) and numbers
with ``str(float)``, so ``nan`` and ``inf`` appear as such.

The rules: the first line is the header, and a file whose first line is not one is an error. The step
is the ``step-key`` setting's column, else the first of the usual step names (``STEP_KEYS``:
``global_step``, ..., ``step``, ``epoch``) the header holds. The metric column is chosen
with ``resolve_metric``. An empty or ``NA`` cell is no point. A row with more or fewer cells than
the header (a logger that added columns later) is irregular: read when its step and metric cells
are there, and counted apart from damage. Bytes that are not UTF-8, a broken quote, or a step or
metric that is not a number make a row damaged: skipped and counted.
Values convert as ``float()`` does; steps as ``int()``, or a whole float such as ``3.0``.

A repeated step keeps the last row read. Both writers only append in logging order (Lightning
rewrites the file only to widen its header), and a resumed Keras run with ``append=True`` writes the
epochs it repeats again after the old ones: the later row is always the newer value.

Clean blocks of the file (ASCII, no quotes, every row the header's width) are cut into cells and
converted with numpy, exactly as ``float()`` and ``int()`` would (see ``to_floats``); every other
block goes through ``csv.reader`` row by row. ``tests/test_reader_csv.py`` holds both to the same
curve. These helpers (``blocks``, ``cut_cells``, ``read_blocks``...) also serve the MLflow reader,
whose metric files are tables separated by single spaces.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from drift.curve import Curve, FloatArray, IntArray
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    INT64_MAX,
    INT64_MIN,
    STEP_KEYS,
    Batch,
    LogFile,
    Points,
    ReadSpec,
    finish,
    listing,
    reading,
    resolve_metric,
)

BLOCK_BYTES = 8 << 20
# No logger writes a line this long; a longer one is read as one damaged line without holding it in
# memory. It is also csv's default field size limit, so a fast-path cell never exceeds what
# csv.reader would accept.
MAX_LINE = 1 << 17
LONG_LINE = b"\xff\n"  # stands in for a line over MAX_LINE: one line, never valid UTF-8
ABSENT = ("", "NA")  # Lightning's empty cell, Keras's missing key
_SEPARATORS = ",\t;"

ByteArray = npt.NDArray[np.uint8]
# Cells made only of these convert the same through np.fromstring as through float() and int(); the
# tests hold the fast path to the row-by-row reader on generated near-numbers.
_FLOAT_TEXT = b"0123456789.eE+-naiftyNAIFTY,"
_INT_TEXT = b"0123456789+-,"


def blocks(handle: BinaryIO, head: bytes = b"") -> Iterator[bytes]:
    """The rest of a file (``head`` first) in blocks of whole lines; lines end as in text mode.

    A block ends after a newline, or after a lone CR. A line still open past MAX_LINE bytes is
    dropped as it streams by and yields LONG_LINE in its place, so memory stays bounded.
    """
    carry = head
    dropping = False
    skip_lf = False  # a dropped line ended in a CR at the end of a read: a LF next is part of it
    while chunk := handle.read(BLOCK_BYTES):
        if skip_lf:
            skip_lf = False
            chunk = chunk.removeprefix(b"\n")
        if dropping:
            ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
            if not ends:
                continue
            end = min(ends) + 1
            if chunk[end - 1 : end + 1] == b"\r\n":
                end += 1
            skip_lf = end == len(chunk) and chunk.endswith(b"\r")
            chunk, dropping = chunk[end:], False
            yield LONG_LINE
        data = carry + chunk if carry else chunk
        del chunk  # the joined copy is enough
        cut = _line_end(data)
        if len(data) - cut > MAX_LINE:
            carry, dropping = b"", True
        else:
            carry = data[cut:]
        if cut:
            yield data if cut == len(data) else data[:cut]
        del data  # not held while the next read fills its own buffer
    if dropping:
        yield LONG_LINE
    elif carry:
        yield carry


def _line_end(data: bytes) -> int:
    """Where the last complete line of ``data`` ends (0: none). A CR as the very last byte may be
    half of a CRLF still to come, so it does not end a line here."""
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1


@dataclass(frozen=True)
class Cells:
    """A block of rows cut into cells without unquoting: each row is one line of ``width`` cells.

    ``ends[:, j]`` is the separator after cell ``j`` of each row (the delimiter, or the CR or LF
    ending the line); ``starts(j)`` is where the cell begins.
    """

    buf: ByteArray
    line_starts: IntArray
    ends: IntArray

    @property
    def rows(self) -> int:
        return int(self.line_starts.size)

    def starts(self, j: int) -> IntArray:
        return self.line_starts if j == 0 else self.ends[:, j - 1] + 1

    def lengths(self, j: int) -> IntArray:
        return self.ends[:, j] - self.starts(j)

    def float_text(self, j: int, rows: IntArray | None = None) -> bytes | None:
        """Column ``j`` (of ``rows``) for ``to_floats``; None if a cell holds more than a number can."""
        text = self._gather(j, rows)
        return None if text is None or text.translate(None, _FLOAT_TEXT) else text

    def int_text(self, j: int, rows: IntArray | None = None) -> bytes | None:
        """Column ``j`` (of ``rows``) for ``to_ints``; None if a cell holds more than a number can."""
        text = self._gather(j, rows)
        if text is None or text.translate(None, _INT_TEXT):
            return None
        starts = self.starts(j) if rows is None else self.starts(j)[rows]
        lengths = self.lengths(j) if rows is None else self.lengths(j)[rows]
        # np.fromstring reads a lone sign as 0; int() refuses it.
        return None if np.any((lengths == 1) & (self.buf[starts] < ord("0"))) else text

    def digits(self, j: int) -> bool:
        """Every cell of column ``j`` is a plain run of digits that ``int()`` accepts (Python
        refuses more than 4,300 digits)."""
        text = self._gather(j, None)
        if text is None or text.translate(None, b"0123456789,"):
            return False
        # _gather ends each cell with a comma: any other comma was inside a cell.
        return text.count(b",") == self.rows and int(self.lengths(j).max(initial=0)) <= 4300

    def _gather(self, j: int, rows: IntArray | None) -> bytes | None:
        """The cells of column ``j``, each followed by a comma; None if any is empty."""
        start, end = self.starts(j), self.ends[:, j]
        if rows is not None:
            start, end = start[rows], end[rows]
        if start.size == 0:
            return b""
        if np.any(end == start):
            return None
        out = self.buf[_stretches(self.buf.size, start, end + 1)]
        out[np.cumsum(end - start + 1) - 1] = ord(",")  # the separator after each cell
        return out.tobytes()


def _stretches(size: int, start: IntArray, stop: IntArray) -> npt.NDArray[np.bool_]:
    """A mask of ``size`` bytes, true in each [start, stop): sorted, disjoint stretches."""
    edges = np.empty(2 * start.size + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, size
    edges[1:-1:2], edges[2:-1:2] = start, stop
    inside = np.zeros(edges.size - 1, dtype=np.bool_)
    inside[1::2] = True
    return np.repeat(inside, np.diff(edges))


# A decimal of up to 18 digits converts exactly through long double where that has a 64-bit (x87)
# or 113-bit (IEEE quad) significand: its digits and the power of ten are exact there, so one
# division rounds once, and rounding that to a double gives what float() gives unless it lies
# exactly halfway between two doubles, which is checked. It is about twice as fast as
# np.fromstring, which takes every other cell (an exponent, nan, inf, more digits).
_POW10 = np.array([10**k for k in range(19)], dtype=np.longdouble)
_EXACT_DIVISION = np.finfo(np.longdouble).nmant in (63, 112)


def to_floats(text: bytes, count: int) -> FloatArray | None:
    """The numbers of ``float_text``, as ``float()`` converts each; None if any does not convert."""
    if not _EXACT_DIVISION or count == 0:
        return _parse(text, np.float64, count)
    t = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(t == ord(","))
    if ends.size != count:
        return None
    starts = np.empty(count, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    plain = np.ones(count, dtype=np.bool_)
    plain[np.searchsorted(ends, np.flatnonzero((t > ord("9")) | (t == ord("+"))))] = False
    minus = np.flatnonzero(t == ord("-"))
    in_cell = np.searchsorted(ends, minus)
    plain[in_cell[minus != starts[in_cell]]] = False
    dots = np.flatnonzero(t == ord("."))
    in_cell = np.searchsorted(ends, dots)
    plain[in_cell[1:][in_cell[1:] == in_cell[:-1]]] = False  # a second dot
    places = np.zeros(count, dtype=np.int64)
    places[in_cell] = ends[in_cell] - dots - 1
    digits = ends - starts - (t[starts] == ord("-"))
    digits[in_cell] -= 1
    plain &= (digits >= 1) & (digits <= 18)

    simple = np.flatnonzero(plain)
    keep = _stretches(t.size, starts[simple], ends[simple] + 1)
    keep[dots] = False
    whole = _parse(t[keep].tobytes(), np.int64, simple.size)
    if whole is None:
        return None
    exact = whole.astype(np.longdouble) / _POW10[places[simple]]
    near = exact.astype(np.float64)
    size = np.abs(near)
    # Below a power of two the gap between doubles halves: the smaller gap is the safe bound.
    half_gap = (size - np.nextafter(size, 0)) / 2
    # The miss spans at most the 11 bits a double lacks of x87's significand, so it is exact as a
    # double (with quad it may round, which only ever turns a borderline case unsure).
    miss = np.abs((exact - near).astype(np.float64))
    sure = (miss < half_gap) & (whole != 0)  # zero: float() keeps the sign of -0.0
    out = np.empty(count, dtype=np.float64)
    out[simple[sure]] = near[sure]
    plain[simple[~sure]] = False
    others = np.flatnonzero(~plain)
    if others.size:
        rest = _parse(t[_stretches(t.size, starts[others], ends[others] + 1)].tobytes(), np.float64, others.size)
        if rest is None:
            return None
        out[others] = rest
    return out


def to_ints(text: bytes, count: int) -> IntArray | None:
    """The numbers of ``int_text``, as ``int()`` converts each; None if any does not convert, or
    might lie outside int64 (np.fromstring saturates there instead of failing)."""
    got = _parse(text, np.int64, count)
    return None if got is None or np.any((got == INT64_MAX) | (got == INT64_MIN)) else got


PIECE_BYTES = 64 << 10

FastRead = Callable[[bytes, int], int | None]
SlowRead = Callable[[bytes, Iterator[bytes], int], int]


def read_blocks(parts: Iterator[bytes], fast: FastRead, slow: SlowRead, *, line: int = 0) -> None:
    """Read ``parts`` through ``fast`` where it takes a block, else row by row through ``slow``.

    ``fast`` returns the lines it read, or None to decline. A declined block is cut into pieces
    of about PIECE_BYTES, each offered to ``fast`` again, so one damaged line costs the row-by-row
    reader a piece, not a block. A piece declined too goes to ``slow``, which may pull further
    blocks (a quoted cell can span them) and returns the last line it read. ``line`` is the last
    line before ``parts``.
    """
    queue = _Pushback(parts)
    for block in queue:
        got = fast(block, line)
        if got is not None:
            line += got
        elif len(block) > PIECE_BYTES and len(pieces := _pieces(block)) > 1:
            queue.push(pieces)
        else:
            line = slow(block, queue, line)


class _Pushback(Iterator[bytes]):
    def __init__(self, parts: Iterator[bytes]) -> None:
        self.parts = parts
        self.front: list[bytes] = []

    def __next__(self) -> bytes:
        return self.front.pop() if self.front else next(self.parts)

    def push(self, items: list[bytes]) -> None:
        self.front.extend(reversed(items))


def _pieces(block: bytes) -> list[bytes]:
    """``block`` cut after a newline every PIECE_BYTES or so."""
    out = []
    pos = 0
    while pos < len(block):
        cut = block.find(b"\n", pos + PIECE_BYTES) + 1 or len(block)
        out.append(block[pos:cut])
        pos = cut
    return out


def cut_cells(block: bytes, width: int, delimiter: str) -> Cells | None:
    """``block`` as rows of ``width`` cells, or None when it needs the row-by-row reader: bytes
    that are not ASCII, a quote or NUL, a lone CR, a blank line, a row of another width, a line over
    MAX_LINE. Lines end in LF or CRLF; the last one may have no end."""
    if width < 1 or not block or not block.isascii() or b'"' in block or b"\x00" in block:
        return None
    crlf = b"\r" in block
    if not block.endswith(b"\n"):
        block += b"\r\n" if crlf else b"\n"
    buf = np.frombuffer(block, dtype=np.uint8)
    delim = ord(delimiter)
    if delim <= ord(","):
        # One pass finds every byte up to the delimiter; the few that are not separators (a space,
        # a '+') are dropped from that short list rather than searched for in the whole block.
        seps = np.flatnonzero(buf <= max(delim, ord("\r")))
        kind = buf[seps]
        real = (kind == delim) | (kind == ord("\n"))
        if crlf:
            real |= kind == ord("\r")
        if not bool(np.all(real)):
            seps = seps[real]
    else:
        is_sep = (buf == delim) | (buf == ord("\n"))
        if crlf:
            is_sep |= buf == ord("\r")
        seps = np.flatnonzero(is_sep)
    per_row = width + crlf
    if seps.size % per_row:
        return None
    grid = seps.reshape(-1, per_row)
    kinds = buf[grid]
    if not (np.all(kinds[:, : width - 1] == delim) and np.all(kinds[:, -1] == ord("\n"))):
        return None
    if crlf and not (np.all(kinds[:, -2] == ord("\r")) and np.all(grid[:, -1] - grid[:, -2] == 1)):
        return None
    line_starts = np.empty(grid.shape[0], dtype=np.int64)
    line_starts[0] = 0
    line_starts[1:] = grid[:-1, -1] + 1
    if np.any(grid[:, -1] + 1 - line_starts > MAX_LINE):
        return None
    return Cells(buf, line_starts, grid[:, :width])


def _parse(text: bytes, dtype: type[np.float64] | type[np.int64], count: int) -> npt.NDArray[Any] | None:
    try:
        got = np.fromstring(text, dtype=dtype, sep=",")
    except ValueError:
        return None
    return got if got.size == count else None


def clean(name: str, limit: int = 80) -> str:
    """A name from a log made safe for a one-line message: control characters shown as ``?``."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in name)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


# --- the reader ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    names: tuple[str, ...]  # as written, for recognising a repeated header row
    delimiter: str
    step: int
    metric: int | None
    metric_name: str


def read_csv(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True) -> Curve:
    """``fast=False`` reads every row by the row-by-row rules (the tests hold both paths equal)."""
    points = Points(unit="line")
    notes: list[str] = []
    read_names: list[str] = []
    step_names: list[str] = []
    missing: list[str] = []
    for index, log in enumerate(files):
        with reading(log), log.path.open("rb") as handle:
            header, rest = _header(handle, log, spec)
            if header.metric is None:
                missing.append(log.display)
                seen = dict.fromkeys(points.fields_seen + tuple(clean(n.strip()) for n in header.names))
                points.fields_seen = tuple(seen)[:FIELDS_SHOWN]
                continue
            read_names.append(header.metric_name)
            step_names.append(header.names[header.step].strip())
            if header.names[header.step].strip().casefold() == "epoch":
                notes.append(f"{log.display} has no step column: its epoch column is the step")
            _read_body(_Source(log, index, header, points), blocks(handle, rest), fast=fast)
    if missing and read_names:
        notes.append(f"no {spec.metric!r} column in {listing(missing, 3)}: read nothing from it")
    if len(set(read_names)) > 1:
        notes.append(f"the metric column differs between files: {listing(read_names)}")
    return finish(
        points,
        files,
        format="csv",
        metric_name=read_names[0] if read_names else "",
        step_name=step_names[0] if step_names else "",
        notes=notes,
    )


def _header(handle: BinaryIO, log: LogFile, spec: ReadSpec) -> tuple[_Header, bytes]:
    """The header line, and the bytes read past it."""
    start = handle.read(2 * MAX_LINE)
    shown = log.display
    example = "a CSV log starts with a header line such as 'epoch,step,train_loss'"
    if not start:
        raise LogError(f"{shown} is empty; {example}", file=shown, line=1)
    cut = [i for i in (start.find(b"\n"), start.find(b"\r")) if i >= 0]
    end = min(cut) if cut else len(start)
    if end > MAX_LINE:
        raise LogError(
            f"the first line of {shown} is over {MAX_LINE} bytes: not a CSV header; {example}", file=shown, line=1
        )
    rest = start[end + (2 if start[end : end + 2] == b"\r\n" else 1) :]
    try:
        text = start[:end].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LogError(
            f"the first line of {shown} is not UTF-8 text (a binary file?); {example}", file=shown, line=1
        ) from None
    delimiter = next((d for d in _SEPARATORS if d in text), ",")
    try:
        names = tuple(next(csv.reader([text], delimiter=delimiter), []))
    except csv.Error as exc:
        raise LogError(
            f"the first line of {shown} is not a CSV header ({exc}); {example}", file=shown, line=1
        ) from None
    stripped = [n.strip() for n in names]
    if not any(stripped):
        raise LogError(f"the first line of {shown} is blank; {example}", file=shown, line=1)
    step = _step_column(stripped, spec.step_key)
    if step is None:
        raise LogError(
            f"the header (line 1) of {shown} has no step or epoch column (nor {clean(spec.step_key or 'global_step')}"
            f" or another usual step name); columns found: {listing(clean(n) for n in stripped)}. Set step-key "
            f"to the step column; {example}",
            file=shown,
            line=1,
        )
    found = resolve_metric(spec.metric, [n for n in stripped if n])
    metric = stripped.index(found) if found is not None else None
    return _Header(names, delimiter, step, metric, found or ""), rest


def _step_column(names: list[str], step_key: str) -> int | None:
    """The ``step-key`` column, else the first usual step column; exact names before any case."""
    wanted = [name for name in dict.fromkeys((step_key, *STEP_KEYS)) if name]
    for name in wanted:
        if name in names:
            return names.index(name)
    folded = [n.casefold() for n in names]
    for name in wanted:
        if name.casefold() in folded:
            return folded.index(name.casefold())
    return None


@dataclass(frozen=True)
class _Source:
    """One file being read into a run's points."""

    log: LogFile
    index: int
    header: _Header
    points: Points


def _read_body(src: _Source, parts: Iterator[bytes], *, fast: bool) -> None:
    def quick(block: bytes, line: int) -> int | None:
        return _fast_block(src, block, line) if fast else None

    read_blocks(parts, quick, lambda block, rest, line: _slow_rows(src, block, rest, line), line=1)


def _fast_block(src: _Source, block: bytes, line: int) -> int | None:
    """Add a clean block's points and return its lines; None (adding nothing) when it needs the
    row-by-row rules."""
    header = src.header
    metric = header.metric
    assert metric is not None
    cells = cut_cells(block, len(header.names), header.delimiter)
    if cells is None:
        return None
    lengths = cells.lengths(metric)
    present = lengths > 0
    maybe_na = np.flatnonzero(lengths == 2)
    if maybe_na.size:
        first = cells.starts(metric)[maybe_na]
        na = (cells.buf[first] == ord("N")) & (cells.buf[first + 1] == ord("A"))
        present[maybe_na[na]] = False
    rows = None if bool(np.all(present)) else np.flatnonzero(present)
    count = cells.rows if rows is None else int(rows.size)
    value_text = cells.float_text(metric, rows)
    step_text = cells.int_text(header.step, rows) if value_text is not None else None
    values = to_floats(value_text, count) if value_text is not None else None
    steps = to_ints(step_text, count) if step_text is not None and values is not None else None
    if values is None or steps is None:
        return None
    at = np.arange(cells.rows, dtype=np.int64) if rows is None else rows
    src.points.add(src.index, steps, values, at + (line + 1))
    return cells.rows


class _Feed:
    """Lines for csv.reader from one block, then from the blocks after it when a quoted cell runs
    on past the block's end."""

    def __init__(self, block: bytes, parts: Iterator[bytes]) -> None:
        self.lines = block.splitlines(keepends=True)
        self.next = 0
        self.parts = parts
        self.count = 0  # lines handed out

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        while self.next >= len(self.lines):
            self.lines = next(self.parts).splitlines(keepends=True)
            self.next = 0
        raw = self.lines[self.next]
        self.next += 1
        self.count += 1
        if len(raw) > MAX_LINE:
            raw = LONG_LINE
        # Bytes that are not UTF-8 become lone surrogates, which mark the row as damaged.
        return raw.decode("utf-8", "surrogateescape")

    @property
    def drained(self) -> bool:
        return self.next >= len(self.lines)


def _slow_rows(src: _Source, block: bytes, parts: Iterator[bytes], line: int) -> int:
    """Read ``block`` (and any blocks a quoted cell spans) row by row; returns the last line read."""
    header, points, shown = src.header, src.points, src.log.display
    metric = header.metric
    assert metric is not None
    feed = _Feed(block, parts)
    reader = csv.reader(feed, delimiter=header.delimiter)
    batch = Batch(points, src.index)
    while True:
        at = line + feed.count + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            points.damaged(shown, at)
        else:
            try:
                point = _row_point(row, header)
            except ValueError:
                points.damaged(shown, at)
                point = None
            else:
                if row and len(row) != len(header.names):
                    points.irregular_row(shown, at)
            if point is not None:
                batch.add(*point, at)
        if feed.drained:
            # csv.reader never reads ahead, so a row that used up the block ends at its end: the
            # next block may take the fast path again.
            break
    batch.close()
    return line + feed.count


def _row_point(row: list[str], header: _Header) -> tuple[int, float] | None:
    """(step, value), or None for no point (a blank line, an empty cell, the header again, a short
    row without the metric or step cell); ValueError for a damaged row."""
    metric = header.metric
    assert metric is not None
    if not row or tuple(row) == header.names:
        return None
    if not all(cell.isascii() for cell in row):
        "".join(row).encode("utf-8")  # UnicodeEncodeError (a ValueError) on bytes that were not UTF-8
    if max(metric, header.step) >= len(row):
        return None
    text = row[metric]
    if text in ABSENT:
        return None
    value = float(text)
    step = _whole_number(row[header.step])
    if step is None:
        raise ValueError("a step that is not a whole number")
    return step, value


def _whole_number(text: str) -> int | None:
    """``int(text)``, or a float that is a whole number (``3.0``, ``1e3``); None otherwise."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
