"""What every reader shares: the files it is given, what to read from them, and how the points
it found become one run's curve (steps ascending, the last value read for a repeated step)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drift.curve import Curve, FloatArray, IntArray, LineArray, Position, SmallIntArray
from drift.errors import LogError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_LIMIT = 2**31 - 1  # positions below it are kept as int32
FIELDS_SHOWN = 50  # names kept for a missing-metric hint, which lists them all; a hostile log may hold thousands


@dataclass(frozen=True)
class LogFile:
    path: Path
    display: str  # workspace-relative, for messages and annotations
    key: str = ""  # MLflow: the metric key the file holds


@dataclass(frozen=True)
class ReadSpec:
    """What to take from a run's files."""

    metric: str = "loss"  # field, column, tag or key
    step_key: str = ""  # JSON-lines and CSV logs: the field that holds the step; "" finds one of STEP_KEYS
    record_filter: tuple[str, str] | None = None  # JSON-lines logs: only records with key == value
    pattern: str = ""  # text logs: the user's expression with step and value groups; empty: recognisers


@dataclass
class Points:
    """What one run's files yielded so far, in reading order."""

    unit: str = "line"
    steps: list[IntArray] = field(default_factory=list)
    values: list[FloatArray] = field(default_factory=list)
    files: list[SmallIntArray] = field(default_factory=list)
    lines: list[LineArray] = field(default_factory=list)
    skipped: int = 0
    first_skipped: Position | None = None
    irregular: int = 0  # CSV rows of another width than the header: read, not damaged
    first_irregular: Position | None = None
    ignored: int = 0
    fields_seen: tuple[str, ...] = ()
    oversized: set[int] = field(default_factory=set)  # distinct whole-number steps beyond int64

    def add(self, file_index: int, steps: IntArray, values: FloatArray, lines: LineArray) -> None:
        if steps.size:
            self.steps.append(steps)
            self.values.append(values)
            self.files.append(np.full(steps.size, file_index, dtype=np.int32))
            self.lines.append(lines)

    def add_lists(self, file_index: int, steps: list[int], values: list[float], lines: list[int]) -> None:
        self.add(
            file_index,
            np.asarray(steps, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
            np.asarray(lines, dtype=np.int64),
        )

    def irregular_row(self, file: str, at: int) -> None:
        """Count one row of another width than its header; the first is reported with its line."""
        self.irregular += 1
        if self.first_irregular is None:
            self.first_irregular = Position(file, at, self.unit)

    def damaged(self, file: str, at: int | None) -> None:
        """Count one damaged line or record; the first one is reported with its position."""
        self.skipped += 1
        if self.first_skipped is None:
            self.first_skipped = Position(file, at, self.unit)


@dataclass
class Batch:
    """Points gathered one at a time (step, value, place), joined to a run's Points as arrays by
    ``close``. A whole-number step beyond int64 is counted as oversized, not kept."""

    points: Points
    file_index: int = 0
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    places: list[int] = field(default_factory=list)

    def add(self, step: int, value: float, place: int) -> None:
        if INT64_MIN <= step <= INT64_MAX:
            self.steps.append(step)
            self.values.append(value)
            self.places.append(place)
        else:
            self.points.oversized.add(step)

    def close(self) -> None:
        self.points.add_lists(self.file_index, self.steps, self.values, self.places)


@contextmanager
def reading(log: LogFile) -> Iterator[None]:
    """An OSError while ``log`` is read becomes the LogError that names it."""
    try:
        yield
    except OSError as exc:
        raise LogError(f"failed to read {log.display}: {exc.strerror or exc}", file=log.display) from None


def narrow(positions: LineArray, largest: int) -> LineArray:
    """A copy of ``positions`` (lines, records, entries), as int32 when ``largest``, the greatest of
    them, fits: any log under two billion lines or records, and it halves the column's memory."""
    if largest < INT32_LIMIT:
        return positions.astype(np.int32)
    return positions.astype(np.int64)


def fill(handle: io.FileIO, view: memoryview, offset: int | None = None) -> int:
    """Read into ``view`` until it is full or the file ends; the bytes read. With ``offset``, from
    that offset through ``preadv``: the handle's position is neither used nor moved, so threads
    may read one handle at once."""
    got = 0
    while got < len(view):
        n = handle.readinto(view[got:]) if offset is None else os.preadv(handle.fileno(), [view[got:]], offset + got)
        if not n:
            break
        got += n
    return got


def record_point(record: dict[str, object], step_key: str, metric: str) -> tuple[int, float] | int | None:
    """A JSON record's (step, value) by the seed's rules, ``int(step)`` and ``float(value)``: None
    when either is missing or not a number; the step alone when it is a whole number beyond int64
    (the seed counts those, then crashes building its array)."""
    try:
        step = int(record[step_key])  # type: ignore[call-overload]
        value = float(record[metric])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not INT64_MIN <= step <= INT64_MAX:
        return int(step)
    return step, value


def finish(
    points: Points,
    files: Sequence[LogFile],
    *,
    format: str,
    metric_name: str = "",
    step_name: str = "",
    notes: Iterable[str] = (),
) -> Curve:
    """Keep the last value read for each step, steps ascending.

    A stable sort keeps equal steps in reading order, so the last of each run of equal steps is
    the one read last. Each column is joined, gathered and released in turn, which keeps the peak
    memory of a ten-million-step run to a few copies of one column.
    """

    def take(parts: list[np.ndarray], empty: np.dtype, keep: IntArray | None) -> np.ndarray:
        column = np.concatenate(parts) if parts else np.empty(0, dtype=empty)
        parts.clear()
        return column if keep is None else column[keep]

    steps = take(points.steps, np.dtype(np.int64), None)
    keep: IntArray | None = None
    if steps.size > 1 and not bool(np.all(steps[1:] > steps[:-1])):
        order = np.argsort(steps, kind="stable")
        ordered = steps[order]
        del steps
        last = np.empty(ordered.size, dtype=np.bool_)
        np.not_equal(ordered[1:], ordered[:-1], out=last[:-1])
        last[-1] = True
        keep = order[last]
        steps = ordered[last]
        del order, ordered, last
    values = take(points.values, np.dtype(np.float64), keep)
    # Every reader keeps a non-finite value as +inf, as the seed does with dlm's NaN/Infinity.
    values[~np.isfinite(values)] = np.inf
    return Curve(
        steps=steps,
        values=values,
        file_index=take(points.files, np.dtype(np.int32), keep),
        line=take(points.lines, np.dtype(np.int64), keep),
        files=tuple(f.display for f in files),
        skipped_lines=points.skipped,
        first_skipped=points.first_skipped,
        irregular_rows=points.irregular,
        first_irregular=points.first_irregular,
        ignored_records=points.ignored,
        fields_seen=points.fields_seen,
        oversized_steps=len(points.oversized),
        unit=points.unit,
        format=format,
        metric_name=metric_name,
        step_name=step_name,
        notes=tuple(notes),
    )


# The step fields of common trainers, in the order auto detection takes them when a record holds
# several: a run-wide counter by name (Hugging Face and Lightning's ``global_step``, W&B's export
# of it), iteration counters (detectron2's ``iteration``, nanoGPT's ``iter``), LLaMA-Factory's
# ``current_steps``, then the plain ``step`` and W&B's row index ``_step``, and ``epoch`` last
# because it is the coarsest and often fractional.
STEP_KEYS = ("global_step", "trainer/global_step", "iteration", "iter", "current_steps", "step", "_step", "epoch")


def step_candidates(step_key: str) -> tuple[str, ...]:
    """The step fields to try: the one set, else the usual ones."""
    return (step_key,) if step_key else STEP_KEYS


def metric_candidates(metric: str) -> tuple[str, ...]:
    """Names under which common trainers log ``metric``, most specific first."""
    return (
        metric,
        f"train/{metric}",
        f"train_{metric}",
        f"{metric}_step",
        f"train_{metric}_step",
        f"train/{metric}_step",
        f"{metric}/train",
        f"training/{metric}",
        f"total_{metric}",
        f"train/total_{metric}",
        f"train/{metric}_epoch",
        f"train_{metric}_epoch",
        f"{metric}_epoch",
    )


def resolve_metric(metric: str, available: Iterable[str]) -> str | None:
    """The name to read for ``metric`` among the names a log holds: the exact name, else the first
    common spelling of it (``train/loss``, ``train_loss_step``, ``Loss/train``, detectron2's
    ``total_loss``...), compared
    without case. None when there is none; the caller lists ``available`` in its hint."""
    names = sorted(set(available))
    if metric in names:
        return metric
    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(name.casefold(), name)
    for candidate in metric_candidates(metric):
        hit = folded.get(candidate.casefold())
        if hit is not None:
            return hit
    return None


def listing(names: Iterable[str], limit: int = 12) -> str:
    """A short, sorted list of names for a hint."""
    shown = sorted(set(names))
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return (", ".join(shown[:limit]) or "none") + more
