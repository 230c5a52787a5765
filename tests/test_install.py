"""``pip install .`` gives a working ``training-drift`` command, with the compiled scanner when a
compiler is there and without it (a clean fallback) when not.

The wheel is built from this checkout and installed with --no-deps into a fresh virtual
environment that sees this environment's numpy and PyYAML through a .pth file, so the test needs
no network and runs the installed copy, never the checkout (the commands run outside it).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from drift import native

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "healthy"


def _build_wheel(out: Path, env: dict[str, str]) -> Path:
    # From a copy of the tracked files: an in-tree build would leave build/ behind and could pick
    # up a library compiled in the checkout.
    source = out / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        env=env,
        cwd=out,
        capture_output=True,
    )
    (wheel,) = out.glob("training_drift-*.whl")
    return wheel


def _install(wheel: Path, where: Path) -> Path:
    venv.create(where, with_pip=False)
    purelib = subprocess.run(
        [str(where / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # numpy and PyYAML come from the environment running the tests, not from a registry.
    Path(purelib, "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(where / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return where / "bin"


def _fast_paths_loaded(bin_dir: Path, cwd: Path) -> tuple[bool, bool]:
    """Whether the installed C readers and the installed text scanner load."""
    probe = "from drift import native; print(native.load() is not None, native.load_text() is not None)"
    out = subprocess.run([str(bin_dir / "python"), "-c", probe], check=True, capture_output=True, text=True, cwd=cwd)
    c_readers, text_scanner = out.stdout.split()
    return c_readers == "True", text_scanner == "True"


@pytest.mark.parametrize("compiler", ["found", "missing"])
def test_pip_install_gives_the_command(tmp_path: Path, compiler: str) -> None:
    env = dict(os.environ)
    if compiler == "missing":
        env["CC"] = env["CXX"] = str(tmp_path / "no-such-compiler")
    wheel = _build_wheel(tmp_path, env)
    bin_dir = _install(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"  # not the checkout, so `drift` can only be the installed one
    elsewhere.mkdir()

    run = subprocess.run(
        [str(bin_dir / "training-drift"), str(EXAMPLE)], check=False, capture_output=True, text=True, cwd=elsewhere
    )
    assert run.returncode == 0, run.stderr
    assert "PASS" in run.stdout
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import drift; print(drift.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
    ).stdout
    assert str(tmp_path / "venv") in where
    # The text scanner also needs libre2-dev (.ci/run installs it): the install builds it wherever
    # this checkout's own build (python -m drift.native) could.
    text_here = native.load_text() is not None
    assert _fast_paths_loaded(bin_dir, elsewhere) == ((True, text_here) if compiler == "found" else (False, False))

    # The report's JSON Schema ships inside the package.
    schema = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.resources as r; print(r.files('drift').joinpath('report.schema.json').read_text())",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
    ).stdout
    assert json.loads(schema) == json.loads((ROOT / "drift" / "report.schema.json").read_text(encoding="utf-8"))

    usage = subprocess.run(
        [str(bin_dir / "training-drift"), "--help"], check=False, capture_output=True, text=True, cwd=elsewhere
    )
    assert usage.returncode == 0
    assert usage.stdout.startswith("usage: training-drift ")
