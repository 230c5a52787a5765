"""The optional compiled fast paths for reading logs, loaded with ctypes: the C readers (``*.c``
here, one library, ``_scan.so``) and the text reader's RE2 scanner (``textscan.cc``, its own
library, ``_textscan.so``, since it needs a C++ compiler and libre2: Debian's ``libre2-dev``).

Build them with ``python -m drift.native`` (the Docker image has them built in). Without them
everything still works, through Python's json module and google-re2's binding, only slower.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = tuple(sorted(HERE.glob("*.c")))  # one library for every fast path
LIBRARY = HERE / "_scan.so"
TEXT_SOURCE = HERE / "textscan.cc"
TEXT_LIBRARY = HERE / "_textscan.so"
TEXT_ABI = 2

# The calling convention of the entry points: a library built from older sources is not loaded,
# since its functions would be called with arguments they do not expect.
ABI = 2

_loaded: ctypes.CDLL | bool | None = False
_text_loaded: ctypes.CDLL | bool | None = False

# drift_scan's parameters, in order; its contract errors name them.
SCAN_ARGUMENTS = (
    "buf", "len", "start", "line0", "step_key", "step_len", "metric", "metric_len", "filter_key",
    "filter_key_len", "filter_value", "filter_value_len", "steps", "values", "point_lines", "point_cap",
    "deferred", "deferred_cap", "res",
)  # fmt: skip
# drift_text_scan's parameters, in order.
TEXT_SCAN_ARGUMENTS = (
    "handle", "buf", "len", "start", "limit", "line0", "step_group", "value_group", "head_group", "mode",
    "split", "kinds", "flags", "spans", "values", "steps", "lines", "cap", "res",
)  # fmt: skip


class ContractError(RuntimeError):
    """A compiled entry point refused its arguments: a bug in the calling Python, never the log's."""


def check(entry: str, code: int, arguments: Sequence[str]) -> int:
    """``code`` when it is not an error; each entry point returns -n when its argument n
    (1-based) breaks its contract, instead of reading or writing where it should not."""
    if code >= 0:
        return code
    n = -code
    name = arguments[n - 1] if n <= len(arguments) else "?"
    raise ContractError(f"{entry} refused argument {n} ({name}): the caller broke its contract (a training-drift bug)")


def load() -> ctypes.CDLL | None:
    """The compiled scanner, or None when it is not built (or not loadable here)."""
    global _loaded  # noqa: PLW0603 - loaded once per process
    if _loaded is False:
        try:
            lib = ctypes.CDLL(str(LIBRARY))
        except OSError:
            _loaded = None
        else:
            _loaded = lib if _abi(lib) == ABI else None
            if _loaded is not None:
                i64, ptr, text = ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p
                lib.drift_scan.restype = i64
                lib.drift_scan.argtypes = [
                    *(ptr, i64, i64, i64, text, i64, text, i64, text, i64, text, i64),
                    *(ptr, ptr, ptr, i64, ptr, i64, ptr),
                ]
    return _loaded if isinstance(_loaded, ctypes.CDLL) else None


def load_text() -> ctypes.CDLL | None:
    """The text reader's RE2 scanner, or None when it is not built (or not loadable here)."""
    global _text_loaded  # noqa: PLW0603 - loaded once per process
    if _text_loaded is False:
        try:
            lib = ctypes.CDLL(str(TEXT_LIBRARY))
        except OSError:
            _text_loaded = None
        else:
            _text_loaded = lib if _abi(lib, "drift_text_abi") == TEXT_ABI else None
            if _text_loaded is not None:
                i64, ptr = ctypes.c_int64, ctypes.c_void_p
                lib.drift_text_compile.restype = ptr
                lib.drift_text_compile.argtypes = [ctypes.c_char_p, i64, i64, ptr]
                lib.drift_text_free.restype = None
                lib.drift_text_free.argtypes = [ptr]
                lib.drift_text_scan.restype = i64
                lib.drift_text_scan.argtypes = [ptr, ctypes.c_char_p, *(i64,) * 9, *(ptr,) * 6, i64, ptr]
    return _text_loaded if isinstance(_text_loaded, ctypes.CDLL) else None


def _abi(lib: ctypes.CDLL, name: str = "drift_abi") -> int:
    try:
        function = getattr(lib, name)
    except AttributeError:
        return 1 if name == "drift_abi" else 0  # the first C library had no version
    function.restype = ctypes.c_int64
    function.argtypes = []
    return int(function())


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
