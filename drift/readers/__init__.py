"""Readers turn one run's log files into a Curve; ``read`` picks the reader for a format.

Each reader is imported on first use, so a job that reads only dlm logs never imports the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from drift.curve import Curve
from drift.readers.common import LogFile, ReadSpec


def read(fmt: str, files: Sequence[LogFile], spec: ReadSpec) -> Curve:
    # Imports inside: each reader loads only when a run of its format is read.
    if fmt == "dlm":
        from drift.readers.jsonl import read_dlm  # noqa: PLC0415

        return read_dlm(files, spec.metric)
    if fmt == "jsonl":
        from drift.readers.jsonl import read_jsonl  # noqa: PLC0415

        return read_jsonl(files, spec)
    if fmt == "trainer-state":
        from drift.readers.trainer_state import read_trainer_state  # noqa: PLC0415

        return read_trainer_state(files, spec)
    if fmt == "tensorboard":
        from drift.readers.tensorboard import read_tensorboard  # noqa: PLC0415

        return read_tensorboard(files, spec)
    if fmt == "csv":
        from drift.readers.csvlog import read_csv  # noqa: PLC0415

        return read_csv(files, spec)
    if fmt == "mlflow":
        from drift.readers.mlflowstore import read_mlflow  # noqa: PLC0415

        return read_mlflow(files, spec)
    if fmt == "text":
        from drift.readers.text import read_text  # noqa: PLC0415

        return read_text(files, spec)
    if fmt == "wandb":
        from drift.readers.wandbrun import read_wandb_run  # noqa: PLC0415

        return read_wandb_run(files, spec)
    raise ValueError(f"unknown log format {fmt!r}")
