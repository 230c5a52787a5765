"""The short fuzz run for CI: every target of ``tests/fuzz`` on a few hundred inputs, from a fixed
seed (the same inputs every run) and from a random one (new inputs every run; set
DRIFT_FUZZ_SEED to repeat one). The long run is ``python tools/fuzz.py --inputs 1000000``.

A failure message names the seed and index of each failing input, its signature and the property
or traceback, and where its reproducer file went (``python tools/fuzz.py --replay FILE``).
Failures of a known, unfixed bug (``tests/fuzz/known.py``) do not fail the run: each of those has
its minimal reproducer below, marked ``xfail(strict=True)``, so that its fix is noticed. The bugs
the fuzzer found that are fixed keep their reproducers below as regression tests.

Then the harness itself: an unescaped property or message, a fast path that differs and raw HTML
in the summary must each be caught, a hang cut short, a failure minimised and replayed.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import io
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drift import ghactions, native
from drift.app import EXIT_USAGE, Runtime, run
from drift.config import load_config_file
from drift.errors import ConfigError
from drift.readers import jsonl
from drift.readers import text as text_reader
from drift.readers.common import LogFile, ReadSpec
from drift.readers.mlflowstore import read_mlflow
from drift.runner import RunnerEnv
from tests.conftest import parse_output_file
from tests.fuzz import corpus, engine
from tests.fuzz.engine import Case, Failure, Stats, Target
from tests.fuzz.known import known
from tests.fuzz.targets import NAMES, make_targets

ROOT = Path(__file__).resolve().parent.parent
FIXED_SEED = 20260301
COUNTS = {"e2e": 200, "commands": 500, "outputs": 500}  # fixed-seed inputs; the random seed gets half
DEFAULT_COUNT = 300
WATCHDOG = 120  # seconds: a hang in C, which SIGALRM cannot cut short, ends the test process


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    return make_targets(corpus.build())


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with engine.scratch_dir() as folder:
        yield folder


def run_target(target: Target, seed: int, count: int, scratch: Path, **options: Any) -> Stats:
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    try:
        return engine.fuzz(target, seed, range(count), scratch / target.name, classify=known, **options)
    finally:
        faulthandler.cancel_dump_traceback_later()


def describe(failures: list[Failure]) -> str:
    out = [f"{len(failures)} new fuzz failure(s):"]
    folder = ROOT / "fuzz-failures"
    for failure in failures:
        path = failure.save(folder)
        out += [
            f"- {failure.signature} (seed {failure.seed}, index {failure.index}; replay: "
            f"python tools/fuzz.py --replay {path.relative_to(ROOT)})",
            "  " + failure.detail.strip()[-1500:].replace("\n", "\n  "),
            "  case: " + json.dumps(engine.encode(failure.case))[:1500],
        ]
    return "\n".join(out)


@pytest.mark.parametrize("name", NAMES)
def test_fuzz(name: str, targets: dict[str, Target], scratch: Path) -> None:
    target = targets[name]
    count = COUNTS.get(name, DEFAULT_COUNT)
    seed = int(os.environ.get("DRIFT_FUZZ_SEED") or secrets.randbits(31))
    fixed = run_target(target, FIXED_SEED, count, scratch)
    fresh = run_target(target, seed, count // 2, scratch)
    assert fixed.inputs + fresh.inputs == count + count // 2
    failures = fixed.new() + fresh.new()
    assert not failures, describe(failures)


# --- the harness catches what it is there to catch ----------------------------------------------


def first_failure(stats: Stats) -> str:
    return stats.examples[0].signature if stats.examples else "no failure"


def test_an_unescaped_property_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ghactions, "escape_property", ghactions.escape_data)  # leaves ':' and ','
    stats = run_target(targets["commands"], 1, 300, scratch)
    assert first_failure(stats) == "commands: a command did not round-trip"


def test_a_fast_path_that_differs_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if native.load() is None:
        pytest.skip("the compiled scanner is not built (python -m drift.native)")
    merge = jsonl._merge

    def off_by_one(src: Any, scan: Any, data: bytearray, base: int) -> int:
        scan.values[:] += 1.0
        return merge(src, scan, data, base)

    monkeypatch.setattr(jsonl, "_merge", off_by_one)
    stats = run_target(targets["dlm"], 1, 300, scratch)
    assert first_failure(stats) == "dlm: fast path vs reference: values differs"


def test_a_native_text_scanner_that_differs_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if native.load_text() is None:
        pytest.skip("the text scanner is not built (apt-get install libre2-dev; python -m drift.native)")
    scan = text_reader._Native.scan

    def off_by_one(self: Any, *args: Any) -> Any:
        scanned = scan(self, *args)
        scanned.values[:] += 1.0
        return scanned

    monkeypatch.setattr(text_reader._Native, "scan", off_by_one)
    stats = run_target(targets["text"], 1, 300, scratch)
    assert first_failure(stats) == "text: fast path vs reference: values differs"


def test_an_unescaped_message_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ghactions, "escape_data", lambda text: text)
    stats = run_target(targets["e2e"], 1, 300, scratch)
    assert "e2e: a line outside stop-commands blocks that the action did not write" in stats.failures


def test_raw_html_in_the_summary_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift.render import summary, text

    def unescaped(value: str, limit: int = 200) -> str:
        return value[:limit]

    monkeypatch.setattr(text, "md", unescaped)
    monkeypatch.setattr(summary, "md", unescaped)
    stats = run_target(targets["e2e"], 1, 300, scratch)
    assert "e2e: raw HTML in the summary" in stats.failures


def test_a_hang_is_cut_short(scratch: Path) -> None:
    class Sleepy:
        name, weight = "sleepy", 1.0

        def generate(self, rng: random.Random) -> Case:
            return {"seconds": 30.0}

        def check(self, case: Case, scratch: Path) -> None:
            time.sleep(case["seconds"])

    start = time.monotonic()
    stats = run_target(Sleepy(), 1, 3, scratch, limit=0.2)
    assert time.monotonic() - start < 5
    assert stats.failures == {"sleepy: hang": 3}


def test_minimize_keeps_the_failure_and_drops_the_rest(scratch: Path) -> None:
    class NeedsX:
        name, weight = "x", 1.0

        def generate(self, rng: random.Random) -> Case:
            return {"files": [{"data": rng.randbytes(300) + b"X" + rng.randbytes(300)}, {"data": b"y" * 50}]}

        def check(self, case: Case, scratch: Path) -> None:
            if any(b"X" in item["data"] for item in case["files"]):
                raise engine.Violation("found an X")

    target = NeedsX()
    case = target.generate(random.Random(0))
    failure = Failure("x", 0, 0, "x: found an X", "", 0.0, case)
    assert engine.minimize(target, failure, scratch) == {"files": [{"data": b"X"}]}


def test_a_reproducer_file_replays(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    case: Case = {
        "text": b"min-steps: !!int abc\n\xff",
        "inputs": {"metric": "lo\udcffss"},  # a lone surrogate survives the file as well
        "run": "runs/a",
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Failure("config", 7, 3, "config: X", "detail", 0.5, case).save(Path(folder))
        again = Failure.from_json(json.loads(path.read_text(encoding="utf-8")))
        assert (again.case, again.seed, again.index) == (case, 7, 3)
        spec = importlib.util.spec_from_file_location("fuzz_tool", ROOT / "tools" / "fuzz.py")
        assert spec is not None and spec.loader is not None
        tool = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, "fuzz_tool", tool)  # its dataclasses look their module up
        spec.loader.exec_module(tool)
        assert tool.main(["--replay", str(path)]) == 0  # the invalid UTF-8 makes it a clean ConfigError
    assert "original: passes now" in capsys.readouterr().out


# --- what the fuzzer found -----------------------------------------------------------------------
# Fixed in 5c7e6a5 ("Fixes from fuzzing") and ad44114: each reproducer passes now, a regression test.
# Later fixes (an empty !!int/!!float, a duplicate key holding a line break) are regression tests too.


def _config_error(tmp_path: Path, text: str) -> str:
    """The ConfigError a config file of ``text`` gets; its message must be one line."""
    (tmp_path / "c.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config_file(tmp_path / "c.yml", "c.yml")
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    return message


def test_an_unknown_yaml_tag_is_a_one_line_config_error(tmp_path: Path) -> None:
    assert _config_error(tmp_path, "min-steps: !custom x\n").startswith("c.yml:1: min-steps: ")


def test_a_duplicate_key_with_a_line_break_is_a_one_line_config_error(tmp_path: Path) -> None:
    _config_error(tmp_path, '"a\\nb": 1\n"a\\nb": 2\n')


def test_deep_yaml_nesting_is_a_config_error(tmp_path: Path) -> None:
    _config_error(tmp_path, "min-steps: " + "[" * 1000 + "]" * 1000 + "\n")


@pytest.mark.parametrize(
    "value",
    [
        "!!int abc",
        "!!float .",
        "!!timestamp 2020-13-45",
        "!!bool maybe",
        "!!binary '%%%'",
        "!!omap x",
        "!!float",
        "!!int",
        "!!timestamp nope",
    ],
)
def test_a_bad_explicit_yaml_tag_is_a_config_error(tmp_path: Path, value: str) -> None:
    _config_error(tmp_path, f"min-steps: {value}\n")


@pytest.mark.parametrize(
    "value",
    [
        "!!int abc",
        "!!timestamp nope",
        "!!int",
    ],
)
def test_the_action_answers_a_bad_yaml_tag_with_a_usage_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "c.yml").write_text(f"min-steps: {value}\n", encoding="utf-8")
    output = tmp_path / "output"
    code = run({"path": "runs", "config": "c.yml"}, Runtime(io.StringIO(), RunnerEnv(tmp_path, output)))
    assert code == EXIT_USAGE
    assert parse_output_file(output.read_text(encoding="utf-8"))["verdict"] == "error"


@pytest.mark.parametrize("name", ["a=b", "a<<b", "a<", ""])
def test_an_output_name_the_runner_cannot_read_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        ghactions.format_outputs({name: "x"})


@pytest.mark.parametrize("timestamp", [b"1,5", b"9" * 4301])
def test_the_mlflow_fast_path_refuses_a_timestamp_int_refuses(tmp_path: Path, timestamp: bytes) -> None:
    path = tmp_path / "loss"
    path.write_bytes(b"0 1.0 5\n" + timestamp + b" 2.0 5\n")

    def points(fast: bool) -> tuple[list[int], list[float], list[int], int]:
        curve = read_mlflow([LogFile(path, "metrics/loss", "loss")], ReadSpec(), fast=fast)
        return curve.steps.tolist(), curve.values.tolist(), curve.line.tolist(), curve.skipped_lines

    assert points(fast=True) == points(fast=False) == ([5], [1.0], [1], 1)


def test_an_empty_filter_key_reads_alike_on_both_paths(tmp_path: Path) -> None:
    # Not reachable from the action (the config refuses record-filter "=x"), only through ReadSpec.
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"": 1}\n{"step": 3, "loss": 1.0}\n')
    spec = ReadSpec(step_key="step", record_filter=("", "e"))
    fast = jsonl.read_jsonl([LogFile(path, "log.jsonl")], spec)
    slow = jsonl.read_jsonl([LogFile(path, "log.jsonl")], spec, fast=False)
    assert (fast.steps.tolist(), fast.ignored_records) == (slow.steps.tolist(), slow.ignored_records)


def test_a_text_fast_path_that_differs_is_caught(
    targets: dict[str, Target], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift.readers import text

    convert = text._block_arrays

    def off_by_one(steps: Any, values: Any) -> Any:
        got = convert(steps, values)
        return None if got is None else (got[0], got[1] + 1.0)

    monkeypatch.setattr(text, "_block_arrays", off_by_one)
    stats = run_target(targets["text"], 1, 300, scratch)
    # With the native scanner built, the Python fast path is its own comparison.
    wanted = "python fast path" if native.load_text() is not None else "fast path"
    assert first_failure(stats) == f"text: {wanted} vs reference: values differs"
