"""What each log format looks like on disk: which files a run folder holds, and how to tell the
formats apart from names and, where names say nothing, from the first bytes of a file.

A run is a folder: a dlm store (``logs/train-*.jsonl``), a Hugging Face output folder
(``trainer_state.json``, also in ``checkpoint-*/``), a TensorBoard run folder
(``events.out.tfevents.*``), a Lightning version folder (``metrics.csv``) or any folder of
``*.csv`` files, an MLflow run folder (``meta.yaml`` and ``metrics/``), or a folder of ``*.jsonl``
(or of JSON lines under ``.json``, ``.log`` or ``.txt`` names). A folder holding logs of several
formats is read in the first of FORMATS, the most structured; the run notes the others.
Nothing here follows a symlinked folder, so a hostile link cannot make a walk loop or explode.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

# Also the order of preference when one folder holds logs of several formats: the most structured
# first (named fields and steps), console text last (recognised by content, after every structured
# format had its say). W&B run folders are recognised before any of them (see detect_folder).
FORMATS = ("dlm", "trainer-state", "tensorboard", "csv", "mlflow", "jsonl", "wandb", "text")
TEXT_SUFFIXES = (".log", ".txt", ".out", ".err")
WANDB_GLOB = "run-*.wandb"
DLM_GLOB = "train-*.jsonl"
TB_PREFIX = "events.out.tfevents."
TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"checkpoint-\d+")
# A writer per data split (PyTorch's SummaryWriter in logs/training, logs/validation...; Keras's
# TensorBoard callback in logs/train, logs/validation): the training split is the run.
TRAIN_SPLITS = frozenset({"train", "training"})
OTHER_SPLITS = frozenset({"val", "valid", "validation", "eval", "evaluation", "test", "testing", "dev"})
SNIFF_BYTES = 64 << 10
SNIFFED_PER_FOLDER = 20

# What auto detection looks for, per format, in a hint when it finds nothing.
LOOKS_FOR = {
    "dlm": f"logs/{DLM_GLOB}",
    "trainer-state": f"{TRAINER_STATE} or checkpoint-*/{TRAINER_STATE}",
    "tensorboard": f"{TB_PREFIX}*",
    "csv": "metrics.csv, *.csv, or *.log/*.txt with a CSV header",
    "mlflow": "meta.yaml with metrics/",
    "jsonl": "*.jsonl, or *.json/*.log/*.txt of JSON lines",
    "wandb": f"{WANDB_GLOB} (a wandb/run-* or wandb/offline-run-* folder)",
    "text": "recognised console-log (*.log, *.txt, *.out, *.err)",
}


@dataclass(frozen=True)
class Layout:
    """A run folder of one format; ``files`` is what to read, in reading order, with the
    MLflow metric key of each file (empty for other formats)."""

    format: str
    folder: Path
    files: tuple[tuple[Path, str], ...]
    notes: tuple[str, ...] = ()  # what detection passed over, for the run's notes


def is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _files(folder: Path, pattern: str) -> list[Path]:
    try:
        return sorted(p for p in folder.glob(pattern) if p.is_file())
    except OSError:
        return []


def _has(folder: Path, name: str) -> bool:
    return (folder / name).is_file()


def dlm_logs_dir(folder: Path) -> Path | None:
    """The folder whose train-*.jsonl a dlm store's run reads, as the seed finds it."""
    return folder / "logs" if (folder / "logs").is_dir() else None


def is_dlm_store(folder: Path) -> bool:
    """A ``logs/`` folder makes a dlm store only when it holds dlm logs; otherwise (TensorBoard's
    ``logs/training/``...) it is searched like any other folder."""
    logs = dlm_logs_dir(folder)
    return logs is not None and bool(_files(logs, DLM_GLOB))


def trainer_state_files(folder: Path) -> list[Path]:
    found = [folder / TRAINER_STATE] if _has(folder, TRAINER_STATE) else []
    try:
        subfolders = sorted(p for p in folder.iterdir() if _CHECKPOINT.fullmatch(p.name) and is_dir(p))
    except OSError:
        subfolders = []
    found += [p / TRAINER_STATE for p in subfolders if _has(p, TRAINER_STATE)]
    return found


def mlflow_metric_files(folder: Path) -> list[tuple[Path, str]]:
    """Every metric file under ``metrics/`` with its key (nested folders make ``a/b`` keys)."""
    root = folder / "metrics"
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if path.is_file():
                out.append((path, path.relative_to(root).as_posix()))
    return out


def is_mlflow_run(folder: Path) -> bool:
    return _has(folder, "meta.yaml") and is_dir(folder / "metrics")


def in_checkpoint(path: Path) -> bool:
    return _CHECKPOINT.fullmatch(path.parent.name) is not None


def detect_folder(folder: Path, allowed: tuple[str, ...], pattern: str = "") -> Layout | None:
    """The run this folder itself is, in the first format of ``allowed`` it holds logs of; None
    when it is none of them. The logs of the other formats it holds are named in a note.
    ``pattern`` is the user's expression for console logs (empty: the built-in recognisers).

    W&B first: a W&B run folder holds a ``logs/`` folder of W&B's own debug logs, which would
    otherwise pass for a dlm store with no training logs; and the ``wandb/`` folder that holds the
    run folders is none, though its ``debug-internal.log`` is JSON lines."""
    if "wandb" in allowed and _holds_wandb_runs(folder):
        return None
    order = sorted(allowed, key=lambda name: name != "wandb")
    for i, fmt in enumerate(order):
        layout = _folder_as(fmt, folder, allowed, pattern)
        if layout is None:
            continue
        others = [alt for f in order[i + 1 :] if (alt := _folder_as(f, folder, allowed, pattern)) is not None]
        others = [alt for alt in others if alt.format != layout.format]
        if others:
            also = "; ".join(f"{alt.format} ({_names(alt)})" for alt in others)
            note = f"read {layout.format} ({_names(layout)}); also here: {also}. Set format to read another."
            layout = replace(layout, notes=(note,))
        return layout
    return None


def _names(layout: Layout, shown: int = 3) -> str:
    names = [path.relative_to(layout.folder).as_posix() for path, _ in layout.files[:shown]]
    more = len(layout.files) - shown
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _folder_as(fmt: str, folder: Path, allowed: tuple[str, ...], pattern: str = "") -> Layout | None:
    def plain(paths: list[Path]) -> Layout | None:
        return Layout(fmt, folder, tuple((p, "") for p in paths)) if paths else None

    if fmt == "dlm":
        logs = dlm_logs_dir(folder)
        if logs is not None and is_dlm_store(folder):
            return Layout("dlm", folder, tuple((p, "") for p in _files(logs, DLM_GLOB)))
        direct = _files(folder, DLM_GLOB)  # the logs/ folder itself, or a store without one
        if direct:
            run = folder.parent if folder.name == "logs" else folder
            return Layout("dlm", run, tuple((p, "") for p in direct))
        return None
    if fmt == "mlflow":
        return Layout("mlflow", folder, tuple(mlflow_metric_files(folder))) if is_mlflow_run(folder) else None
    if fmt == "trainer-state":
        return plain(trainer_state_files(folder))
    if fmt == "wandb":
        return plain(_files(folder, WANDB_GLOB))
    if fmt == "tensorboard":
        return plain(_files(folder, TB_PREFIX + "*"))
    if fmt == "csv":
        if _has(folder, "metrics.csv"):
            return plain([folder / "metrics.csv"])
        return plain(_files(folder, "*.csv") or _sniffed(folder, "csv"))
    if fmt == "jsonl":
        found = _files(folder, "*.jsonl") or _sniffed(folder, "jsonl")
        if not found:
            return None
        # A folder of JSON lines holding dlm step records is a dlm run (as dlm writes them bare too).
        kind = "dlm" if "dlm" in allowed and sniff_jsonl(found[0]) == "dlm" else "jsonl"
        return Layout(kind, folder, tuple((p, "") for p in found))
    if fmt == "text":
        return plain(_console_logs(folder, pattern))
    return None


def _console_logs(folder: Path, pattern: str) -> list[Path]:
    """Console logs (``train.log``, ``slurm-123.out``) that a recogniser or ``pattern`` reads;
    files of a structured format under such names are left to that format."""
    named = sorted(p for suffix in TEXT_SUFFIXES for p in _files(folder, "*" + suffix))
    return [p for p in named[:SNIFFED_PER_FOLDER] if sniff_content(p) is None and is_console_log(p, pattern)]


def is_console_log(path: Path, pattern: str) -> bool:
    from drift.readers.text import sniff  # noqa: PLC0415 - RE2 loads only when a folder may hold console logs

    return sniff(path, pattern)


def _holds_wandb_runs(folder: Path) -> bool:
    try:
        return any(p.is_file() for p in folder.glob(f"*run-*/{WANDB_GLOB}"))
    except OSError:
        return False


def _sniffed(folder: Path, kind: str) -> list[Path]:
    """Plain-text logs named as writers often name them (Keras's ``training.log``, DETR's
    ``log.txt``, detectron2's JSON-lines ``metrics.json``), recognised by content; only a few are
    looked at per folder."""
    found = []
    named = [*_files(folder, "*.log"), *_files(folder, "*.txt")]
    if kind == "jsonl":
        named += [p for p in _files(folder, "*.json") if p.name != TRAINER_STATE]
    for path in named[:SNIFFED_PER_FOLDER]:
        sniffed = sniff_content(path)
        if path.suffix == ".json" and not _several_lines(path):
            continue  # a one-line JSON document (a config) is not a log
        if sniffed == kind or (kind == "jsonl" and sniffed == "dlm"):
            found.append(path)
    return found


def _several_lines(path: Path) -> bool:
    return len(_head(path).strip().splitlines()) > 1


def walk(
    root: Path, allowed: tuple[str, ...], *, depth: int = 6, budget: int = 200_000, pattern: str = ""
) -> tuple[list[Layout], bool]:
    """Run folders below ``root`` (not ``root`` itself), not descending into a run; the flag says
    the walk stopped early because the folder tree had more than ``budget`` entries."""
    found: list[Layout] = []
    seen = 0
    level = [root]
    for _ in range(depth):
        below: list[Path] = []
        for folder in level:
            for child in _subfolders(folder):
                seen += 1
                if seen > budget:
                    return found, True
                layout = detect_folder(child, allowed, pattern)
                if layout is not None:
                    found.append(layout)
                elif not child.name.startswith("."):
                    below.append(child)
        level = below
    return found, False


def other_splits(folders: list[Path]) -> tuple[Path | None, list[Path]]:
    """Among sibling run folders: the training split and the other splits beside it (a writer per
    data split), or (None, []) when they are not split folders with a training one."""
    train = [f for f in folders if f.name.casefold() in TRAIN_SPLITS]
    others = sorted((f for f in folders if f.name.casefold() in OTHER_SPLITS), key=lambda f: f.name)
    return (train[0], others) if train and others else (None, [])


def _subfolders(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)
        except OSError:
            continue


def classify_file(path: Path, allowed: tuple[str, ...], *, sniff: bool, pattern: str = "") -> tuple[str, Path] | None:
    """(format, run folder) of a log file matched on its own; ``sniff`` lets an explicitly named
    file with an unknown name be recognised by its first bytes. An explicitly named file that no
    other format claims is read as a console log, whose reader says so when it recognises nothing."""
    name = path.name
    for fmt in allowed:
        if fmt == "tensorboard" and name.startswith(TB_PREFIX):
            return fmt, path.parent
        if fmt == "wandb" and path.match(WANDB_GLOB):
            return fmt, path.parent
        if fmt == "trainer-state" and name == TRAINER_STATE:
            return fmt, path.parent.parent if in_checkpoint(path) else path.parent
        if fmt == "mlflow":
            for parent in path.parents:
                if parent.name == "metrics" and _has(parent.parent, "meta.yaml"):
                    return fmt, parent.parent
        if fmt == "csv" and path.suffix.lower() == ".csv":
            return fmt, path.parent
        if fmt == "dlm" and path.suffix == ".jsonl" and (path.match(DLM_GLOB) or sniff_jsonl(path) == "dlm"):
            return "dlm", path.parent.parent if path.parent.name == "logs" else path.parent
        if fmt == "jsonl" and path.suffix == ".jsonl":
            return "jsonl", path.parent
    if sniff:
        sniffed = sniff_content(path)
        if sniffed in allowed:
            return sniffed, path.parent
        if sniffed == "dlm" and "jsonl" in allowed:
            return "jsonl", path.parent
    console = sniff or path.suffix.lower() in TEXT_SUFFIXES
    if "text" in allowed and console and sniff_content(path) is None and (sniff or is_console_log(path, pattern)):
        return "text", path.parent
    return None


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError:
        return b""


def sniff_jsonl(path: Path) -> str:
    """``dlm`` when the first records look like dlm's (a ``type`` of ``step``), else ``jsonl``."""
    for raw in _head(path).splitlines()[:200]:
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("type") == "step":
            return "dlm"
    return "jsonl"


def sniff_content(path: Path) -> str | None:
    """The format of a file whose name says nothing (``training.log``), from its first bytes."""
    head = _head(path)
    text = head.lstrip()
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        if first.rstrip().endswith(b"}"):
            # Hugging Face Trainer prints its logs as Python dicts ({'loss': 0.5, ...}): not JSON
            return sniff_jsonl(path) if _json_object_among(text.splitlines()[:50]) else None
        return "trainer-state" if b'"log_history"' in head else None
    line = text.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
    columns = [c.strip() for c in line.split(",")]
    if len(columns) > 1 and ("epoch" in columns or "step" in columns):
        return "csv"
    if len(head) >= 12 and _looks_like_tfrecord(head):
        return "tensorboard"
    return None


def _json_object_among(lines: list[bytes]) -> bool:
    """Whether one of ``lines`` that opens with a brace is a JSON object (one damaged line does not
    make a JSON-lines log something else)."""
    for raw in lines:
        if raw.lstrip().startswith(b"{"):
            try:
                if isinstance(json.loads(raw), dict):
                    return True
            except (ValueError, RecursionError):
                continue
    return False


def _looks_like_tfrecord(head: bytes) -> bool:
    from drift.readers.tensorboard import length_header_ok  # noqa: PLC0415 - only when sniffing

    return length_header_ok(head[:12])
