"""The optional compiled fast paths for reading logs, loaded with ctypes: the C readers (``*.c``
here, one library, ``_scan.so``) and the text reader's RE2 scanner (``textscan.cc``, its own
library, ``_textscan.so``, since it needs a C++ compiler and libre2: Debian's ``libre2-dev``).

Build them with ``python -m drift.native`` (the Docker image has them built in). Without them
everything still works, through Python's json module and google-re2's binding, only slower.

Every entry point is declared once, in ``LIBRARIES``: its result type and its parameters (name and
ctypes type, in order). Loading a library binds them all; ``check`` names a refused parameter from
the same row. A new entry point is one more ``Entry`` there.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = tuple(sorted(HERE.glob("*.c")))  # one library for every fast path
LIBRARY = HERE / "_scan.so"
TEXT_SOURCE = HERE / "textscan.cc"
TEXT_LIBRARY = HERE / "_textscan.so"

_I64, _INT, _PTR, _TEXT = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p


@dataclass(frozen=True)
class Entry:
    """One compiled entry point: what it returns and its parameters, in order (contract errors name them)."""

    name: str
    restype: Any  # a ctypes type, or None for void
    parameters: tuple[tuple[str, Any], ...]

    @property
    def arguments(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parameters)


@dataclass(frozen=True)
class Library:
    """A shared library and its entry points. A library built from older sources (another ``abi``)
    is not loaded, since its functions would be called with arguments they do not expect."""

    path: Path
    abi_symbol: str
    abi: int
    unversioned_abi: int  # the ABI of a library without ``abi_symbol`` (the first C library had none)
    entries: tuple[Entry, ...]


def _params(spec: str, *types: Any) -> tuple[tuple[str, Any], ...]:
    names = spec.split()
    if len(names) != len(types):
        raise ValueError(f"{len(names)} parameter names for {len(types)} types")
    return tuple(zip(names, types, strict=True))


SCAN = Library(
    LIBRARY,
    "drift_abi",
    abi=3,
    unversioned_abi=1,
    entries=(
        Entry(
            "drift_scan",  # scan.c: JSON-lines records
            _I64,
            _params(
                "buf len start line0 step_key step_len metric metric_len filter_key filter_key_len "
                "filter_value filter_value_len steps values point_lines point_cap deferred deferred_cap res",
                *(_PTR, _I64, _I64, _I64, _TEXT, _I64, _TEXT, _I64, _TEXT, _I64, _TEXT, _I64),
                *(_PTR, _PTR, _PTR, _I64, _PTR, _I64, _PTR),
            ),
        ),
        Entry(
            "drift_jsondoc_scan",  # jsondoc.c: a trainer_state.json's log_history
            _INT,
            _params(
                "buf len metric metric_len steps values entries capacity deferred deferred_capacity "
                "keys keys_capacity counts",
                *(_PTR, _I64, _TEXT, _I64, _PTR, _PTR, _PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR),
            ),
        ),
        Entry(
            "drift_tfevents_scan",  # tfevents.c: TensorBoard event records
            _I64,
            _params(
                "buf start size avail record_base res recs steps values tag_ids cap tag_start tag_len "
                "tag_cap slots n_slots",
                *(_PTR, _I64, _I64, _I64, _I64, _PTR, _PTR, _PTR, _PTR, _PTR, _I64, _PTR, _PTR, _I64, _PTR, _I64),
            ),
        ),
        Entry(
            "drift_wandb_scan",  # wandb.c: a W&B run file's history records
            _I64,
            _params(
                "buf start size offset last wanted wanted_len state res recs steps values key_ids cap key_bytes "
                "key_bytes_cap key_start key_len key_wanted key_cap slots n_slots scratch scratch_cap",
                *(_PTR, _I64, _I64, _I64, _I64, _TEXT, _I64, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _I64, _PTR),
                *(_I64, _PTR, _PTR, _PTR, _I64, _PTR, _I64, _PTR, _I64),
            ),
        ),
    ),
)
TEXT = Library(
    TEXT_LIBRARY,
    "drift_text_abi",
    abi=2,
    unversioned_abi=0,
    entries=(
        Entry("drift_text_compile", _PTR, _params("pattern len max_mem groups", _TEXT, _I64, _I64, _PTR)),
        Entry("drift_text_free", None, _params("handle", _PTR)),
        Entry(
            "drift_text_scan",  # textscan.cc: console-log lines through RE2
            _I64,
            _params(
                "handle buf len start limit line0 step_group value_group head_group mode split kinds flags spans "
                "values steps lines cap res",
                *(_PTR, _PTR, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64),
                *(_PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _I64, _PTR),
            ),
        ),
    ),
)
LIBRARIES = (SCAN, TEXT)
ENTRIES = {entry.name: entry for library in LIBRARIES for entry in library.entries}

_loaded: dict[Path, ctypes.CDLL | None] = {}


class ContractError(RuntimeError):
    """A compiled entry point refused its arguments: a bug in the calling Python, never the log's."""


def check(entry: str, code: int) -> int:
    """``code`` when it is not an error; each entry point returns -n when its argument n
    (1-based) breaks its contract, instead of reading or writing where it should not."""
    if code >= 0:
        return code
    n = -code
    arguments = ENTRIES[entry].arguments
    name = arguments[n - 1] if n <= len(arguments) else "?"
    raise ContractError(f"{entry} refused argument {n} ({name}): the caller broke its contract (a training-drift bug)")


def _open(library: Library) -> ctypes.CDLL | None:
    """The library with every entry point it has bound from the table, once per process; None when
    it is not built, not loadable here, or of another ABI."""
    if library.path not in _loaded:
        try:
            lib: ctypes.CDLL | None = ctypes.CDLL(str(library.path))
        except OSError:
            lib = None
        if lib is not None and _abi(lib, library) != library.abi:
            lib = None
        if lib is not None:
            for entry in library.entries:
                function = getattr(lib, entry.name, None)  # a library may predate an entry point
                if function is not None:
                    function.restype = entry.restype
                    function.argtypes = [ctype for _, ctype in entry.parameters]
        _loaded[library.path] = lib
    return _loaded[library.path]


def load() -> ctypes.CDLL | None:
    """The compiled C readers, or None when they are not built (or not loadable here)."""
    return _open(SCAN)


def load_text() -> ctypes.CDLL | None:
    """The text reader's RE2 scanner, or None when it is not built (or not loadable here)."""
    return _open(TEXT)


def function(name: str) -> ctypes._NamedFuncPointer | None:
    """The bound entry point ``name`` (a ctypes function), or None: its library is not built, or was
    built before the entry point existed."""
    library = next(library for library in LIBRARIES if any(e.name == name for e in library.entries))
    lib = _open(library)
    found: ctypes._NamedFuncPointer | None = None if lib is None else getattr(lib, name, None)
    return found


def _abi(lib: ctypes.CDLL, library: Library) -> int:
    version = getattr(lib, library.abi_symbol, None)
    if version is None:
        return library.unversioned_abi
    version.restype = ctypes.c_int64
    version.argtypes = []
    return int(version())


def build(compiler: str | None = None, output: Path | None = None) -> Path:
    """The C readers' library (at ``output``, default LIBRARY); ``pip install`` calls this too."""
    cc = compiler or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler found (install gcc); training-drift works without the fast path")
    target = output or LIBRARY
    command = [cc, "-O2", "-std=c11", "-shared", "-fPIC", "-o", str(target), *map(str, SOURCES)]
    subprocess.run(command, check=True)
    return target


def build_text(compiler: str | None = None, output: Path | None = None) -> Path:
    """The text reader's RE2 scanner (at ``output``, default TEXT_LIBRARY): needs a C++ compiler
    and libre2's headers and library (Debian: ``apt-get install g++ libre2-dev``)."""
    cxx = compiler or shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        raise RuntimeError("no C++ compiler found (install g++ and libre2-dev)")
    target = output or TEXT_LIBRARY
    command = [cxx, "-O2", "-std=c++17", "-shared", "-fPIC", "-pthread", "-o", str(target), str(TEXT_SOURCE), "-lre2"]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise RuntimeError(f"{first[:300]} (needs libre2-dev)")
    return target


def main() -> int:
    try:
        path = build()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        print(f"training-drift: fast path not built: {exc}", file=sys.stderr)
        return 1
    print(f"built {path}")
    try:
        text = build_text()
    except (RuntimeError, OSError) as exc:  # the C readers and the pure-Python text path still work
        print(f"training-drift: text fast path not built: {exc}", file=sys.stderr)
    else:
        print(f"built {text}")
    return 0
