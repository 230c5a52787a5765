"""The optional compiled fast paths for reading logs (``*.c`` here, one library), loaded with ctypes.

Build it with ``python -m drift.native`` (needs a C compiler; the Docker image has it built in).
Without it everything still works, through Python's json module, only slower.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = tuple(sorted(HERE.glob("*.c")))  # one library for every fast path
LIBRARY = HERE / "_scan.so"

ST_STEP, ST_OTHER, ST_IGNORED, ST_DEFER = 0, 1, 2, 3

_loaded: ctypes.CDLL | bool | None = False


def load() -> ctypes.CDLL | None:
    """The compiled scanner, or None when it is not built (or not loadable here)."""
    global _loaded  # noqa: PLW0603 - loaded once per process
    if _loaded is False:
        try:
            lib = ctypes.CDLL(str(LIBRARY))
        except OSError:
            _loaded = None
        else:
            i64, ptr = ctypes.c_int64, ctypes.c_void_p
            lib.drift_scan.restype = i64
            text = ctypes.c_char_p
            lib.drift_scan.argtypes = [
                ptr,
                i64,
                text,
                i64,
                text,
                i64,
                text,
                i64,
                text,
                i64,
                ptr,
                ptr,
                i64,
                ptr,
                ptr,
                ptr,
                ptr,
            ]
            lib.drift_count_lines.restype = i64
            lib.drift_count_lines.argtypes = [ptr, i64]
            _loaded = lib
    return _loaded if isinstance(_loaded, ctypes.CDLL) else None


def build(compiler: str | None = None, output: Path = LIBRARY) -> Path:
    """Compile every source here into one library at ``output``; ``pip install`` calls this too."""
    cc = compiler or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler found (install gcc); training-drift works without the fast path")
    command = [cc, "-O2", "-std=c11", "-shared", "-fPIC", "-o", str(output), *map(str, SOURCES)]
    subprocess.run(command, check=True)
    return output


def main() -> int:
    try:
        path = build()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        print(f"training-drift: fast path not built: {exc}", file=sys.stderr)
        return 1
    print(f"built {path}")
    return 0
