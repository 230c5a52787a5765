"""From the ``path`` patterns to runs: which stores exist and which log files each one holds.

A match may be a dlm store (a folder with ``logs/``), a ``logs/`` folder, or a ``*.jsonl`` file;
each distinct store, by its real path, is one run. Paths come from pull-request code, so with
``confine`` every match and every log file must resolve inside the workspace.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drift.readers.common import LogFile

LOG_GLOB = "train-*.jsonl"


@dataclass(frozen=True)
class RunSource:
    name: str  # the store's path relative to the workspace ("." for the workspace itself)
    files: tuple[LogFile, ...] = ()
    skip: str | None = None  # nothing to read, and why (the seed's SKIP paths)
    error: str | None = None  # must not be read, and why


@dataclass(frozen=True)
class Discovery:
    runs: tuple[RunSource, ...]
    unmatched: tuple[str, ...]  # patterns that matched nothing at all
    ignored: int = 0  # matched paths that are neither stores nor logs
    notes: tuple[str, ...] = field(default=())

    @property
    def log_count(self) -> int:
        return sum(len(run.files) for run in self.runs)


@dataclass
class _Store:
    name: str
    explicit: bool  # named by a pattern without wildcards
    whole: bool = False  # read every train-*.jsonl under logs/
    picked: dict[str, Path] = field(default_factory=dict)  # single files matched by a pattern
    logs_dir: Path | None = None
    error: str | None = None


def _display(path: Path, workspace: Path) -> str:
    """Workspace-relative, valid Unicode: a name with undecodable bytes shows them as U+FFFD."""
    try:
        text = path.relative_to(workspace).as_posix()
    except ValueError:
        text = path.as_posix()
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or "."


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop raises RuntimeError on 3.11
        return False


def discover(patterns: Sequence[str], workspace: Path, *, confine: bool = True) -> Discovery:
    root = workspace.resolve()
    stores: dict[str, _Store] = {}
    unmatched: list[str] = []
    ignored = 0

    def store_for(folder: Path, explicit: bool) -> _Store:
        try:
            key = str(folder.resolve())
        except (OSError, RuntimeError):
            key = str(folder)
        if key not in stores:
            stores[key] = _Store(_display(folder, workspace), explicit)
        stores[key].explicit |= explicit
        return stores[key]

    for pattern in patterns:
        magic = glob.has_magic(pattern)
        matches = _expand(pattern, workspace)
        if not matches:
            unmatched.append(pattern)
            continue
        for match in matches:
            path = Path(match) if Path(match).is_absolute() else workspace / match
            if not (path.is_file() or path.is_dir()):  # dangling link, symlink loop, socket...
                if not magic:
                    store_for(path, True).error = f"{_display(path, workspace)} is not a readable file or folder"
                else:
                    ignored += 1
                continue
            if confine and not _inside(path, root):
                store_for(path, True).error = f"{_display(path, workspace)} resolves outside the workspace"
                continue
            if path.is_file():
                if path.suffix != ".jsonl":
                    ignored += 1
                    continue
                folder = path.parent.parent if path.parent.name == "logs" else path.parent
                store = store_for(folder, not magic)
                store.picked[path.name] = path
                store.logs_dir = path.parent
            elif (path / "logs").is_dir():
                store = store_for(path, not magic)
                store.whole, store.logs_dir = True, path / "logs"
            elif path.name == "logs" or any(path.glob(LOG_GLOB)):
                store = store_for(path.parent if path.name == "logs" else path, not magic)
                store.whole, store.logs_dir = True, path
            elif not magic:
                store_for(path, True)  # the seed's SKIP: a store with no logs/ folder
            else:
                ignored += 1

    runs = [_finish(store, workspace, root, confine) for store in stores.values()]
    runs.sort(key=lambda run: run.name)
    return Discovery(tuple(runs), tuple(unmatched), ignored)


def _expand(pattern: str, workspace: Path) -> list[str]:
    """Matches of one pattern, sorted. ``**`` goes through pathlib, which does not follow
    symlinked folders there: a hostile symlink loop cannot make the walk explode."""
    if "**" not in pattern:
        return sorted(glob.glob(pattern, root_dir=workspace, recursive=False))
    as_path = Path(pattern)
    base = Path(as_path.anchor) if as_path.is_absolute() else workspace
    relative = as_path.relative_to(as_path.anchor).as_posix() if as_path.is_absolute() else pattern
    try:
        return sorted(str(match) for match in base.glob(relative))
    except (OSError, ValueError):
        return []


def _finish(store: _Store, workspace: Path, root: Path, confine: bool) -> RunSource:
    if store.error:
        return RunSource(store.name, error=store.error)
    if store.logs_dir is None:
        return RunSource(store.name, skip=f"no logs/ directory under {store.name}")
    found = dict(store.picked)
    if store.whole:
        found.update((p.name, p) for p in store.logs_dir.glob(LOG_GLOB))
    if not found:
        return RunSource(store.name, skip=f"no {LOG_GLOB} files under {_display(store.logs_dir, workspace)}")
    files = []
    for name in sorted(found):  # the seed reads files in name order: the timestamp suffix is chronological
        path = found[name]
        shown = _display(path, workspace)
        if confine and not _inside(path, root):
            return RunSource(store.name, error=f"{shown} resolves outside the workspace")
        files.append(LogFile(path, shown))
    return RunSource(store.name, tuple(files))
