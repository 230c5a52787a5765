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
    """A place in a log, as annotations point at it.

    ``line`` numbers the place in ``unit``s: a text line (1-based), a TFRecord record (1-based),
    or an ``entry`` of a JSON array such as ``log_history`` (0-based, as Python indexes it).
    """

    file: str
    line: int | None = None
    unit: str = "line"

    @property
    def source_line(self) -> int | None:
        """The line an annotation can point at; binary and JSON-array positions have none."""
        return self.line if self.unit == "line" else None

    @property
    def within(self) -> str:
        """The place inside the file that a line number cannot say: ``log_history[3]``, ``record 7``."""
        if self.line is None or self.unit == "line":
            return ""
        return f"log_history[{self.line}]" if self.unit == "entry" else f"{self.unit} {self.line}"

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.unit == "line":
            return f"{self.file}:{self.line}"
        return f"{self.file} {self.within}"


@dataclass(frozen=True)
class Provenance:
    """Where a run's figures came from: what was read, how, and what the reader noticed on the way."""

    files: tuple[str, ...] = ()  # display paths of every file read, in read order
    format: str = ""  # the reader that read it ("" when nothing was read)
    metric: str = ""  # the field, column, tag or key read, when not the metric setting itself
    step: str = ""  # the field or column read as the step (JSON lines, CSV)
    notes: tuple[str, ...] = ()  # what the reader and discovery decided that a user should know
    skipped_lines: int = 0
    first_skipped: Position | None = None
    irregular_rows: int = 0
    first_irregular: Position | None = None
    ignored_records: int = 0
    fields_seen: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Curve:
    """Steps ascending and unique; a non-finite loss is kept as +inf, as the seed does."""

    steps: IntArray
    values: FloatArray
    file_index: SmallIntArray  # index into ``files`` for each point
    line: LineArray  # where each point is in its file, in ``unit``s (see Position)
    files: tuple[str, ...]  # display paths of every file read, in read order
    skipped_lines: int = 0  # damaged lines or records, skipped as the seed skips broken lines
    first_skipped: Position | None = None
    irregular_rows: int = 0  # CSV rows of another width than the header, read where their cells were there
    first_irregular: Position | None = None
    ignored_records: int = 0  # step records whose step or metric is missing or not a number
    fields_seen: tuple[str, ...] = field(default=())  # a step record's keys, for a missing-metric hint
    oversized_steps: int = 0  # distinct steps beyond int64: left out, but counted for the SKIP rule
    unit: str = "line"  # what ``line`` counts: "line", "record" or "entry"
    format: str = "dlm"  # the reader that made it
    metric_name: str = ""  # the field, column, tag or key read, when it differs from the requested metric
    step_name: str = ""  # JSON-lines and CSV logs: the field or column read as the step
    notes: tuple[str, ...] = ()  # what the reader decided that a user should know (one line each)

    def __len__(self) -> int:
        return int(self.steps.size)

    @property
    def provenance(self) -> Provenance:
        return Provenance(
            self.files,
            self.format,
            self.metric_name,
            self.step_name,
            self.notes,
            self.skipped_lines,
            self.first_skipped,
            self.irregular_rows,
            self.first_irregular,
            self.ignored_records,
            self.fields_seen,
        )

    def position(self, index: int) -> Position:
        return Position(self.files[int(self.file_index[index])], int(self.line[index]), self.unit)
