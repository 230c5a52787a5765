"""``pip install .`` compiles the optional log scanner when a C compiler is there.

Everything else is declared in pyproject.toml. Without a compiler (or when compiling fails) the
install still succeeds, with a warning: training-drift then reads logs through Python only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from drift import native  # noqa: E402 - the build reuses the one compile command


class BuildWithScanner(build_py):
    def run(self) -> None:
        super().run()
        folder = Path(self.build_lib) / "drift" / "native"
        for build, library, compiler in (
            (native.build, native.LIBRARY, os.environ.get("CC")),
            (native.build_text, native.TEXT_LIBRARY, os.environ.get("CXX")),
        ):
            output = folder / library.name
            output.unlink(missing_ok=True)  # a library left by an earlier build must not ship unchecked
            try:
                build(compiler or None, output)
            except Exception as exc:  # any failure leaves that reader's pure-Python path
                print(f"training-drift: {library.name} not built ({exc}); read through Python", file=sys.stderr)


class PlatformDistribution(Distribution):
    # The wheel carries a compiled library, so it must be tagged for this platform.
    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithScanner}, distclass=PlatformDistribution)
