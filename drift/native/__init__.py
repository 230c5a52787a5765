"""The optional compiled fast paths for reading logs (``*.c`` here, one library), loaded with ctypes.

Build it with ``python -m drift.native`` (needs a C compiler; the Docker image has it built in).
Without it everything still works, through Python's json module, only slower.
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

# The calling convention of the entry points: a library built from older sources is not loaded,
# since its functions would be called with arguments they do not expect.
ABI = 2

_loaded: ctypes.CDLL | bool | None = False

# drift_scan's parameters, in order; its contract errors name them.
SCAN_ARGUMENTS = (
    "buf", "len", "start", "line0", "step_key", "step_len", "metric", "metric_len", "filter_key",
    "filter_key_len", "filter_value", "filter_value_len", "steps", "values", "point_lines", "point_cap",
    "deferred", "deferred_cap", "res",
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


def _abi(lib: ctypes.CDLL) -> int:
    try:
        function = lib.drift_abi
    except AttributeError:
        return 1  # the first library had no version
    function.restype = ctypes.c_int64
    function.argtypes = []
    return int(function())


def build(compiler: str | None = None) -> Path:
    cc = compiler or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler found (install gcc); training-drift works without the fast path")
    command = [cc, "-O2", "-std=c11", "-shared", "-fPIC", "-o", str(LIBRARY), *map(str, SOURCES)]
    subprocess.run(command, check=True)
    return LIBRARY


def main() -> int:
    try:
        path = build()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        print(f"training-drift: fast path not built: {exc}", file=sys.stderr)
        return 1
    print(f"built {path}")
    return 0
