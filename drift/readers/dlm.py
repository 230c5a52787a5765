"""dlm training logs: JSON lines, ``type == "step"`` records, latest file wins per step.

The rules are the seed probe's (``_collect_steps``): lines split as Python's text mode splits
them (``\\n``, ``\\r\\n`` and a lone ``\\r``), blank lines skipped, a broken first line is an
error, later broken lines are skipped, ``int(step)`` and ``float(metric)`` as Python converts
them, a non-finite loss kept as +inf, and for a repeated step the last value read wins.
Where the seed would crash (bytes that are not UTF-8, a number too large for a float) we skip or
report instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drift.curve import Curve, Position
from drift.errors import LogError


@dataclass(frozen=True)
class LogFile:
    path: Path
    display: str  # workspace-relative, for messages and annotations


def _lines(raw_lines: Iterator[bytes]) -> Iterator[bytes]:
    for raw in raw_lines:
        if b"\r" in raw:
            # Text mode treats a lone CR as a line end; keep the seed's line numbers.
            yield from raw.splitlines() or [b""]
        else:
            yield raw


_INT64_MAX = 2**63 - 1


def read_dlm(files: Sequence[LogFile], metric: str = "loss") -> Curve:
    steps: list[int] = []
    values: list[float] = []
    file_ix: list[int] = []
    lines: list[int] = []
    skipped = 0
    first_skipped: Position | None = None
    ignored = 0
    fields_seen: tuple[str, ...] = ()

    for index, log in enumerate(files):
        try:
            with log.path.open("rb") as handle:
                for line_no, raw in enumerate(_lines(iter(handle)), start=1):
                    try:
                        text = raw.decode("utf-8").strip()
                        if not text:
                            continue
                        record = json.loads(text)
                    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
                        if line_no == 1:
                            raise LogError(
                                f"first line of {log.display} is not valid JSON: {_reason(exc)}",
                                file=log.display,
                                line=1,
                            ) from None
                        skipped += 1
                        if first_skipped is None:
                            first_skipped = Position(log.display, line_no)
                        continue
                    if not isinstance(record, dict) or record.get("type") != "step":
                        continue
                    point = _point(record, metric)
                    if point is None:
                        ignored += 1
                        if not fields_seen:
                            fields_seen = tuple(str(key) for key in list(record)[:20])
                        continue
                    step, value = point
                    steps.append(step)
                    values.append(value if math.isfinite(value) else math.inf)
                    file_ix.append(index)
                    lines.append(line_no)
        except OSError as exc:
            raise LogError(f"failed to read {log.display}: {exc.strerror or exc}", file=log.display) from None

    return _dedupe(
        steps=steps,
        values=values,
        file_ix=file_ix,
        lines=lines,
        files=files,
        skipped=skipped,
        first_skipped=first_skipped,
        ignored=ignored,
        fields_seen=fields_seen,
    )


def _point(record: dict[str, object], metric: str) -> tuple[int, float] | None:
    try:
        step = int(record["step"])  # type: ignore[call-overload]
        value = float(record[metric])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not -_INT64_MAX - 1 <= step <= _INT64_MAX:
        return None  # the seed would crash building its int64 array
    return step, value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "bytes that are not UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _dedupe(
    *,
    steps: list[int],
    values: list[float],
    file_ix: list[int],
    lines: list[int],
    files: Sequence[LogFile],
    skipped: int,
    first_skipped: Position | None,
    ignored: int,
    fields_seen: tuple[str, ...],
) -> Curve:
    """Keep the last value read for each step, steps ascending."""
    step_arr = np.asarray(steps, dtype=np.int64)
    # np.unique on the reversed array finds each step's last occurrence in read order.
    reversed_steps = step_arr[::-1]
    unique_steps, first_in_reversed = np.unique(reversed_steps, return_index=True)
    keep = step_arr.size - 1 - first_in_reversed
    return Curve(
        steps=unique_steps.astype(np.int64),
        values=np.asarray(values, dtype=np.float64)[keep] if keep.size else np.empty(0, dtype=np.float64),
        file_index=np.asarray(file_ix, dtype=np.int64)[keep] if keep.size else np.empty(0, dtype=np.int64),
        line=np.asarray(lines, dtype=np.int64)[keep] if keep.size else np.empty(0, dtype=np.int64),
        files=tuple(f.display for f in files),
        skipped_lines=skipped,
        first_skipped=first_skipped,
        ignored_records=ignored,
        fields_seen=fields_seen,
    )
