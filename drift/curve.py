"""What a reader hands to the core: one run's curve, and where every point came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SmallIntArray = npt.NDArray[np.int32]
LineArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]


@dataclass(frozen=True)
class Position:
    """A place in a log, as annotations point at it."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True, eq=False)
class Curve:
    """Steps ascending and unique; a non-finite loss is kept as +inf, as the seed does."""

    steps: IntArray
    values: FloatArray
    file_index: SmallIntArray  # index into ``files`` for each point
    line: LineArray  # 1-based line of each point in its file
    files: tuple[str, ...]  # display paths of every file read, in read order
    skipped_lines: int = 0  # broken lines after the first, skipped as the seed does
    first_skipped: Position | None = None
    ignored_records: int = 0  # step records whose step or metric is missing or not a number
    fields_seen: tuple[str, ...] = field(default=())  # a step record's keys, for a missing-metric hint
    oversized_steps: int = 0  # distinct steps beyond int64: left out, but counted for the SKIP rule

    def __len__(self) -> int:
        return int(self.steps.size)

    def position(self, index: int) -> Position:
        return Position(self.files[int(self.file_index[index])], int(self.line[index]))
