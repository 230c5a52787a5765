"""MLflow file-store runs: ``mlruns/<experiment id>/<run id>/`` with ``meta.yaml`` and one file per
metric key under ``metrics/`` (a key ``train/loss`` is the file ``metrics/train/loss``).

A metric file is what ``FileStore._log_run_metric`` appends, one line per logged value:
``<timestamp> <value> <step>``, and ``<dataset name> <dataset digest>`` after them when the value
was logged against a dataset. Values are ``str(float)``: ``nan``, ``inf`` and ``-inf`` appear as
such. Files written before MLflow had steps hold ``<timestamp> <value>``; MLflow's own reader
(``FileStore._get_metric_from_line``) gives those step 0, and so do we, with a note. The same
reader also gives five-field lines step 0, dropping the step that its writer put in the third
field; we read that field, and say so in a note.

A line is split as MLflow splits it (``line.strip().split(" ")``, then ``int``, ``float``,
``int``); a line that does not convert is damaged: skipped and counted. A blank line, which
MLflow's reader would fail on, is skipped.

MLflow keeps every value ever logged, in logging order, and its own latest-value summary takes the
largest (step, timestamp): for a repeated step, the value logged last. Keeping the last line read
for each step gives that answer without trusting the clock.

Clean blocks go through the numpy fast path shared with the CSV reader (the file is a table
separated by single spaces); any other block is read line by line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drift.curve import Curve
from drift.errors import LogError
from drift.readers.common import (
    FIELDS_SHOWN,
    Batch,
    LogFile,
    Points,
    ReadSpec,
    finish,
    listing,
    reading,
    resolve_metric,
)
from drift.readers.csvlog import MAX_LINE, blocks, clean, cut_cells, read_blocks, to_floats, to_ints

META_BYTES = 64 << 10  # a real meta.yaml is under 1 KiB
NAME_CHARS = 250  # MLflow's own limit on a run name


def read_mlflow(files: Sequence[LogFile], spec: ReadSpec, *, fast: bool = True) -> Curve:
    """Read the file of the key ``spec.metric`` resolves to; each file's ``key`` is the metric it holds.

    ``fast=False`` reads every line by the line-by-line rules (the tests hold both paths equal).
    """
    keys = [f.key for f in files]
    points = Points(unit="line")
    key = resolve_metric(spec.metric, keys)
    if key is None:
        points.fields_seen = tuple(clean(k) for k in dict.fromkeys(keys))[:FIELDS_SHOWN]
        return finish(points, (), format="mlflow")
    log = files[list(keys).index(key)]
    src = _Source(log, points)
    with reading(log), log.path.open("rb") as handle:
        read_blocks(blocks(handle), src.fast if fast else _decline, src.slow)
    in_order = _logging_order(points)
    # Only this file was read: the curve names it alone, so annotations never point at another key's file.
    return finish(points, [log], format="mlflow", metric_name=key, notes=src.notes(key, in_order))


def _logging_order(points: Points) -> int:
    """When every value has step 0 (``log_metric`` called without a step, or lines from before
    MLflow had steps), number them in logging order instead, as MLflow's time axis shows them;
    last-value-wins would leave one point. Returns how many were renumbered (0: none)."""
    count = sum(int(s.size) for s in points.steps)
    if count < 2 or points.oversized or any(bool(s.any()) for s in points.steps):
        return 0
    first = 0
    for i, part in enumerate(points.steps):
        points.steps[i] = np.arange(first, first + part.size, dtype=np.int64)
        first += int(part.size)
    return count


def _decline(block: bytes, line: int) -> None:
    del block, line


@dataclass
class _Source:
    """One metric file being read into a run's points."""

    log: LogFile
    points: Points
    stepless: int = 0  # two-field lines, read as step 0
    datasets: dict[str, None] = field(default_factory=dict)  # dataset names of five-field lines, in order
    with_dataset: int = 0

    def fast(self, block: bytes, line: int) -> int | None:
        """A clean block of three-field lines; None when it needs the line-by-line rules: a line of
        another shape, a timestamp that is not a plain integer, a value or step that might not
        convert."""
        cells = cut_cells(block, 3, " ")
        if cells is None or not cells.digits(0):
            return None
        value_text = cells.float_text(1)
        step_text = cells.int_text(2) if value_text is not None else None
        values = to_floats(value_text, cells.rows) if value_text is not None else None
        steps = to_ints(step_text, cells.rows) if step_text is not None and values is not None else None
        if values is None or steps is None:
            return None
        self.points.add(0, steps, values, np.arange(line + 1, line + 1 + cells.rows, dtype=np.int64))
        return cells.rows

    def slow(self, block: bytes, rest: Iterator[bytes], line: int) -> int:
        """Line by line; a metric file has no quoting, so nothing spans lines and ``rest`` is unused."""
        del rest
        points, shown = self.points, self.log.display
        batch = Batch(points)
        for raw in block.splitlines():
            line += 1
            try:
                point = self._line(raw)
            except ValueError:  # UnicodeDecodeError included
                if line == 1:
                    raise LogError(
                        f"the first line of {shown} is not an MLflow metric line ('<timestamp> <value> <step>')",
                        file=shown,
                        line=1,
                    ) from None
                points.damaged(shown, line)
                continue
            if point is not None:
                batch.add(*point, line)
        batch.close()
        return line

    def _line(self, raw: bytes) -> tuple[int, float] | None:
        """(step, value); None for a blank line; ValueError for a damaged one."""
        if len(raw) > MAX_LINE:
            raise ValueError("a line too long to be a metric line")
        parts = raw.decode("utf-8").strip().split(" ")
        if parts == [""]:
            return None
        if len(parts) not in (2, 3, 5):
            raise ValueError(f"{len(parts)} fields")
        int(parts[0])  # the timestamp: MLflow refuses the line when it is not an integer
        value = float(parts[1])
        step = int(parts[2]) if len(parts) > 2 else 0
        if len(parts) == 2:
            self.stepless += 1
        elif len(parts) == 5:
            self.with_dataset += 1
            if len(self.datasets) < 20:
                self.datasets.setdefault(clean(parts[3], 40), None)
        return step, value

    def notes(self, key: str, in_order: int) -> list[str]:
        shown = self.log.display
        out = []
        if in_order:
            out.append(
                f"every value of {key!r} has step 0 (logged without a step): its {in_order} values are read "
                f"in logging order as steps 0 to {in_order - 1}"
            )
        elif self.stepless:
            out.append(
                f"{self.stepless} line(s) of {shown} have no step (an MLflow format older than steps): "
                "read as step 0, as MLflow reads them"
            )
        if self.with_dataset:
            out.append(
                f"{self.with_dataset} line(s) of {shown} were logged with a dataset: their step is the third "
                "field, where MLflow wrote it (MLflow's file-store reader reports step 0 for them)"
            )
        if len(self.datasets) > 1:
            out.append(
                f"values of {key!r} for several datasets ({listing(self.datasets, 5)}) share its file; "
                "for each step the last one logged is used"
            )
        return out


def run_name(run_dir: Path) -> str | None:
    """The run's name: ``run_name`` in ``meta.yaml``, else the ``mlflow.runName`` tag file.

    Both files come from the workspace and may hold anything, so each is read only when it is a
    regular file, only its first META_BYTES, and any failure means no name (None), never an error.
    Control and format characters are dropped so the name is safe in one-line output.
    """
    return _meta_name(run_dir / "meta.yaml") or _tag_name(run_dir / "tags" / "mlflow.runName")


def _meta_name(path: Path) -> str | None:
    try:
        text = _small_text(path)
        if text is None:
            return None
        import yaml  # noqa: PLC0415 - only runs that are MLflow runs pay for importing PyYAML

        meta = yaml.safe_load(text)
    except Exception:  # hostile YAML fails in many ways (deep nesting: RecursionError); no name is fine
        return None
    return _name(meta.get("run_name")) if isinstance(meta, dict) else None


def _tag_name(path: Path) -> str | None:
    try:
        text = _small_text(path)
    except (OSError, ValueError):
        return None
    return _name(text) if text is not None else None


def _small_text(path: Path) -> str | None:
    if not path.is_file():  # not a FIFO or device that would block or never end
        return None
    with path.open("rb") as handle:
        data = handle.read(META_BYTES + 1)
    return None if len(data) > META_BYTES else data.decode("utf-8", "replace")


def _name(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = "".join(ch for ch in str(value) if not unicodedata.category(ch).startswith("C")).strip()
    return text[:NAME_CHARS] or None
