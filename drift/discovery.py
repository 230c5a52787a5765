"""From the ``path`` patterns to runs: which run folders exist, in which format, and which files
each one reads (``drift.layouts`` knows what each format looks like on disk).

A match may be a run folder, a folder holding run folders (searched a few levels down), or a log
file, whose run is the folder that holds it; each distinct run folder, by its real path, is one
run. Paths come from pull-request code, so with ``confine`` every match and every log file must
resolve inside the workspace.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from drift import layouts
from drift.readers.common import LogFile

# A pattern or folder tree this large is a mistake or an attack; past it, the rest is left out.
MAX_MATCHES = 100_000
WALK_FOLDERS = 200_000  # folders looked at below a named folder, or below all matches of one pattern


@dataclass(frozen=True)
class RunSource:
    name: str  # the run folder's path relative to the workspace ("." for it), or an MLflow run's name
    format: str = ""
    files: tuple[LogFile, ...] = ()
    skip: str | None = None  # nothing to read, and why (the seed's SKIP paths)
    error: str | None = None  # must not be read, and why
    hint: str | None = None  # what was looked for, when nothing was found
    folder: str = ""  # the run folder, relative to the workspace
    notes: tuple[str, ...] = ()  # what detection decided: other formats or splits passed over


@dataclass(frozen=True)
class Discovery:
    runs: tuple[RunSource, ...]
    unmatched: tuple[str, ...]  # patterns that matched nothing at all
    ignored: int = 0  # matched paths that are not logs of any format tried
    notes: tuple[str, ...] = field(default=())

    @property
    def log_count(self) -> int:
        return sum(len(run.files) for run in self.runs)


@dataclass
class _Run:
    name: str
    folder: Path
    explicit: bool  # named by a pattern without wildcards
    format: str = ""  # "" until some format claims the folder
    whole: bool = False  # read every log file of the folder's layout
    picked: dict[str, tuple[Path, str]] = field(default_factory=dict)  # single files matched by a pattern
    error: str | None = None
    layout: layouts.Layout | None = None  # the folder as detection listed it, when a match did
    notes: list[str] = field(default_factory=list)


def _display(path: Path, workspace: Path) -> str:
    """Workspace-relative, valid Unicode: a name with undecodable bytes shows them as U+FFFD."""
    try:
        text = path.relative_to(workspace).as_posix()
    except ValueError:
        text = path.as_posix()
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or "."


def _inside(path: Path, root: Path) -> bool:
    real = _real(path)
    return real is not None and real.is_relative_to(root)


def _real(path: Path) -> Path | None:
    """``path.resolve()``, or None when it cannot be resolved (a symlink loop raises RuntimeError
    on 3.11). A file that is not a symlink resolves through its folder, which is cached: a
    pattern matching 100,000 files in one folder resolves that folder once."""
    try:
        if path.name and not path.is_symlink():
            parent = _real_folder(path.parent)
            return None if parent is None else parent / path.name
        return path.resolve()
    except (OSError, RuntimeError):
        return None


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: Path) -> Path | None:
    try:
        return folder.resolve()
    except (OSError, RuntimeError):
        return None


class _Finder:
    def __init__(self, workspace: Path, formats: tuple[str, ...], confine: bool, pattern: str = "") -> None:
        self.workspace = workspace
        self.pattern = pattern
        self.root = workspace.resolve()
        self.formats = formats
        self.confine = confine
        self.runs: dict[str, _Run] = {}
        self.ignored = 0
        self.notes: list[str] = []
        self.walk_share = WALK_FOLDERS  # folders each walk below a match of the current pattern may look at

    def run_for(self, folder: Path, explicit: bool) -> _Run:
        real = _real(folder)
        key = str(real) if real is not None else str(folder)
        if key not in self.runs:
            self.runs[key] = _Run(_display(folder, self.workspace), folder, explicit)
        self.runs[key].explicit |= explicit
        return self.runs[key]

    def claim(self, layout: layouts.Layout, explicit: bool) -> None:
        run = self.run_for(layout.folder, explicit)
        run.format = run.format or layout.format
        run.whole = True
        if run.layout is None and layout.format == run.format:
            run.layout = layout  # already listed: finish() need not look at the folder again

    def match(self, path: Path, magic: bool) -> None:
        if not (path.is_file() or path.is_dir()):  # dangling link, symlink loop, socket...
            if not magic:
                self.run_for(path, True).error = f"{_display(path, self.workspace)} is not a readable file or folder"
            else:
                self.ignored += 1
            return
        if self.confine and not _inside(path, self.root):
            self.run_for(path, True).error = f"{_display(path, self.workspace)} resolves outside the workspace"
            return
        if path.is_file():
            self.match_file(path, magic)
        else:
            self.match_folder(path, magic)

    def match_file(self, path: Path, magic: bool) -> None:
        found = layouts.classify_file(path, self.formats, sniff=not magic, pattern=self.pattern)
        if found is None:
            self.ignored += 1
            return
        fmt, folder = found
        run = self.run_for(folder, not magic)
        run.format = run.format or fmt
        if fmt in ("mlflow", "trainer-state"):
            run.whole = True  # a run of these formats is its whole folder, whichever file was named
        else:
            run.picked[_key(path)] = (path, "")

    def match_folder(self, path: Path, magic: bool) -> None:
        layout = layouts.detect_folder(path, self.formats, self.pattern)
        if layout is not None:
            self.claim(layout, not magic)
            return
        if magic and not self.walk_share:
            self.ignored += 1
            return
        below, cut = layouts.walk(path, self.formats, budget=self.walk_share, pattern=self.pattern)
        for found in below:
            self.claim(found, False)
        if cut:
            where = _display(path, self.workspace)
            note = f"stopped looking for runs under {where!r} after {self.walk_share} folders"
            if not magic or not any(n.startswith("stopped looking") for n in self.notes):
                self.notes.append(note)
        if not below and magic:
            self.ignored += 1
        elif not below:
            self.run_for(path, True)  # nothing here: the seed's SKIP for a store with no logs/ folder

    def finish(self, run: _Run) -> RunSource:
        if run.error:
            return RunSource(run.name, run.format, error=run.error)
        if not run.format:
            return self.nothing_found(run)
        found = dict(run.picked)
        if run.whole:
            layout = run.layout or layouts.detect_folder(run.folder, (run.format,), self.pattern)
            for path, key in layout.files if layout else ():
                found[_key(path)] = (path, key)
        if not found:
            where = _display(run.folder, self.workspace)
            if run.format == "dlm":
                logs = layouts.dlm_logs_dir(run.folder) or run.folder
                message = f"no {layouts.DLM_GLOB} files under {_display(logs, self.workspace)}"
            else:
                message = f"no {layouts.LOOKS_FOR[run.format]} files under {where}"
            return RunSource(run.name, run.format, skip=message, folder=run.name)
        name = run.name
        if run.format == "mlflow":
            from drift.readers.mlflowstore import run_name  # noqa: PLC0415 - YAML only when MLflow runs exist

            name = run_name(run.folder) or run.name
        files = []
        ordered = sorted(found.values(), key=lambda item: (item[1], item[0].name, str(item[0])))
        if run.format == "trainer-state":
            ordered = list(found.values())  # the reader picks the latest checkpoint itself
        for path, key in ordered:
            shown = _display(path, self.workspace)
            if self.confine and not _inside(path, self.root):
                return RunSource(run.name, run.format, error=f"{shown} resolves outside the workspace")
            files.append(LogFile(path, shown, key))
        notes = (*(run.layout.notes if run.layout is not None else ()), *run.notes)
        if run.format == "wandb":
            from drift.readers.wandbrun import run_identity  # noqa: PLC0415 - only when W&B runs exist

            name = run_identity(files[0].path)[0] or run.name
        return RunSource(name, run.format, tuple(files), folder=run.name, notes=notes)

    def training_splits_only(self) -> None:
        """Run folders found side by side that are data splits (``logs/training``,
        ``logs/validation``...: a TensorBoard writer per split) are one run, the training split;
        a split named without wildcards is still read."""
        by_parent: dict[Path, list[str]] = {}
        for key, run in self.runs.items():
            if run.format and not run.error:
                by_parent.setdefault(run.folder.parent, []).append(key)
        for keys in by_parent.values():
            folders = {self.runs[k].folder: k for k in keys}
            train, others = layouts.other_splits(list(folders))
            passed = [f for f in others if not self.runs[folders[f]].explicit]
            if train is None or not passed:
                continue
            for folder in passed:
                del self.runs[folders[folder]]
            names = ", ".join(f.name for f in passed)
            self.runs[folders[train]].notes.append(
                f"read the training split {train.name}; passed over the splits beside it: {names}"
            )

    def nothing_found(self, run: _Run) -> RunSource:
        tried = "; ".join(f"{fmt}: {layouts.LOOKS_FOR[fmt]}" for fmt in self.formats)
        try:
            names = sorted(p.name for p in run.folder.iterdir())
        except OSError:
            names = []
        shown = ", ".join(_clip(n) for n in names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        hint = f"looked for {tried}; found {len(names)} entr{'y' if len(names) == 1 else 'ies'}" + (
            f": {shown}" if names else ""
        )
        logs = layouts.dlm_logs_dir(run.folder)
        if "dlm" in self.formats and logs is not None:  # the seed's words for a store without logs
            message = f"no {layouts.DLM_GLOB} files under {_display(logs, self.workspace)}"
        elif "dlm" in self.formats:
            message = f"no logs/ directory under {run.name}"  # the seed's words
        else:
            message = f"no {' or '.join(self.formats)} logs under {run.name}"
        return RunSource(run.name, skip=message, hint=hint, folder=run.name)


def _key(path: Path) -> str:
    return os.path.normpath(path)


def _clip(name: str) -> str:
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text if len(text) <= 40 else text[:39] + "…"


def discover(
    patterns: Sequence[str],
    workspace: Path,
    *,
    formats: tuple[str, ...] = layouts.FORMATS,
    confine: bool = True,
    log_pattern: str = "",
) -> Discovery:
    """``log_pattern`` is the user's expression for console logs (empty: the built-in recognisers)."""
    _real_folder.cache_clear()  # a cache per call: the tree may change between calls
    finder = _Finder(workspace, formats, confine, log_pattern)
    unmatched: list[str] = []
    budget = MAX_MATCHES
    for pattern in patterns:
        magic = glob.has_magic(pattern)
        matches = _expand(pattern, workspace)
        if not matches:
            unmatched.append(pattern)
            continue
        if len(matches) > budget:
            finder.notes.append(f"{pattern!r} matched {len(matches)} paths; only the first {budget} were read")
            matches = matches[:budget]
        budget -= len(matches)
        finder.walk_share = _walk_share(pattern, len(matches))
        for match in matches:
            path = Path(match) if Path(match).is_absolute() else workspace / match
            finder.match(path, magic)
        if budget <= 0:
            break
    finder.training_splits_only()
    runs = [finder.finish(run) for run in finder.runs.values()]
    runs = _unique_names(_join_resumed(runs))
    runs.sort(key=lambda run: run.name)
    return Discovery(tuple(runs), tuple(unmatched), finder.ignored, tuple(finder.notes))


def _walk_share(pattern: str, matches: int) -> int:
    """Folders to look at below each folder a pattern matched that is no run itself (``runs/*``
    matching a folder whose runs sit in ``logs/training/``...): a named folder gets the whole
    budget, the matches of one wildcard level share it, and a ``**`` pattern, which walks the tree
    itself and whose matches nest, walks below none (that would be quadratic)."""
    if not glob.has_magic(pattern):
        return WALK_FOLDERS
    if "**" in pattern:
        return 0
    return max(8, WALK_FOLDERS // matches)


def _join_resumed(runs: list[RunSource]) -> list[RunSource]:
    """A W&B run resumed offline leaves one folder per session (``offline-run-<time>-<id>``, with
    ``-1``... added when two start in the same second), each recording the same run id: they are one
    run, read session by session in folder-name order, so a step logged again after the resume
    keeps its later value."""
    wandb_runs = [run for run in runs if run.format == "wandb" and run.files]
    if len(wandb_runs) < 2:
        return runs
    from drift.readers.wandbrun import run_identity  # noqa: PLC0415 - only when W&B runs exist

    groups: dict[tuple[str, str], list[RunSource]] = {}
    key_of: dict[int, tuple[str, str]] = {}
    for run in wandb_runs:
        run_id = run_identity(run.files[0].path)[1]
        if run_id:
            key = (str(PurePosixPath(run.folder).parent), run_id)
            groups.setdefault(key, []).append(run)
            key_of[id(run)] = key
    out = []
    for run in runs:
        found = key_of.get(id(run))
        if found is None or len(groups[found]) == 1:
            out.append(run)
            continue
        sessions = sorted(groups[found], key=lambda session: session.folder)
        if sessions[0] is run:
            out.append(replace(run, files=tuple(f for session in sessions for f in session.files)))
    return out


def _unique_names(runs: list[RunSource]) -> list[RunSource]:
    """MLflow run names can repeat; a repeated name keeps its folder too."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    return [
        replace(run, name=f"{run.name} ({run.folder})") if counts[run.name] > 1 and run.name != run.folder else run
        for run in runs
    ]


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
