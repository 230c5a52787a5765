"""The compiled readers (drift/native) against the findings of issue 14, each a regression test
that failed before its fix, and the argument contract every entry point now checks.

- jsondoc.c's add_key read past its 64 KiB keys buffer: the reproducer is read fast and slow, with
  the keys buffer against a no-access page in a normal build (a segfault before the fix), and under
  AddressSanitizer through the libFuzzer harness (a heap-buffer-overflow report before the fix).
- Blank lines (and junk lines) each crossed into Python: the work per byte is counted here, as
  json.loads calls and memory traced, against an ordinary log of the same size; bench/run.py
  times it.
- strtod followed the process locale: a comma-decimal locale is generated and switched on in the
  process that calls the C code.
- tfevents.c trusted n_slots and its caller's tag_cap, and kept tag ids in 32 bits.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from drift import native
from drift.errors import LogError
from drift.readers import jsonl, tensorboard, trainer_state, wandbrun
from drift.readers.common import LogFile, ReadSpec
from drift.readers.jsonl import read_dlm
from drift.readers.trainer_state import read_trainer_state
from tests.fuzz.native.seeds import KEY_BUFFER, add_key_reproducer, dlm_line

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def need(condition: bool, what: str) -> None:
    """A tool this test needs: missing fails under CI (.ci/fuzz-deps installs it), skips loudly here."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{what} is missing: .ci/fuzz-deps installs it")
        pytest.skip(f"{what} is missing (bash .ci/fuzz-deps installs it)")


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    loaded = native.load()
    assert loaded is not None, "run: python -m drift.native"
    return loaded


# ---- jsondoc.c add_key --------------------------------------------------------------------------


def test_the_add_key_reproducer_is_read_alike_fast_and_slow(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_bytes(add_key_reproducer())
    assert 65_536 < path.stat().st_size < 66_000
    files = [LogFile(path, "trainer_state.json")]
    fast, slow = read_trainer_state(files, ReadSpec(), fast=True), read_trainer_state(files, ReadSpec(), fast=False)
    assert fast.steps.size == slow.steps.size == 0
    assert fast.fields_seen == slow.fields_seen and len(fast.fields_seen) == 3


_GUARD_PAGE = """
import ctypes, mmap, sys
import numpy as np
from drift.readers import trainer_state as ts

size = int(sys.argv[2])
data = np.fromfile(sys.argv[1], dtype=np.uint8)
lib = ts._library()
page = mmap.PAGESIZE
region = mmap.mmap(-1, size + page)  # the keys buffer, then a page nothing may touch
keys = ctypes.addressof(ctypes.c_char.from_buffer(region))
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
assert libc.mprotect(keys + size, page, 0) == 0, ctypes.get_errno()
cap = data.size // 20 + 1
steps, values, entries = np.empty(cap, np.int64), np.empty(cap), np.empty(cap, np.int64)
deferred, counts = np.empty(3 * 16, np.int64), np.zeros(6, np.int64)
status = lib.drift_jsondoc_scan(
    data.ctypes.data, data.size, b"loss", 4, steps.ctypes.data, values.ctypes.data, entries.ctypes.data, cap,
    deferred.ctypes.data, 16, keys, size, counts.ctypes.data,
)
print(status, counts[5])
"""


def test_add_key_reads_nothing_past_the_keys_buffer(tmp_path: Path, lib: ctypes.CDLL) -> None:
    """A normal -O2 build, the keys buffer ending at a no-access page: it segfaulted before the fix."""
    path = tmp_path / "trainer_state.json"
    path.write_bytes(add_key_reproducer())
    done = subprocess.run(
        [sys.executable, "-c", _GUARD_PAGE, str(path), str(KEY_BUFFER)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    status, key_bytes = map(int, done.stdout.split())
    assert status == 1 and key_bytes == KEY_BUFFER  # the buffer filled up: Python collects the names


def _clang_with_libfuzzer() -> bool:
    return shutil.which("clang") is not None


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The harnesses, as tools/fuzz_native.sh builds them; .ci/run names its own build in
    DRIFT_FUZZ_NATIVE (built from this checkout minutes before) rather than building twice."""
    built = os.environ.get("DRIFT_FUZZ_NATIVE")
    if built and all((Path(built) / "bin" / f"fuzz_{h}").exists() for h in ("textscan", "wandb")):
        return Path(built)
    need(_clang_with_libfuzzer(), "clang")
    out = tmp_path_factory.mktemp("fuzz-native")
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", "tools/fuzz_native.sh", "build", str(out)], cwd=ROOT, env=env, check=True, timeout=600)
    return out


def test_add_key_under_address_sanitizer(fuzz_build: Path, tmp_path: Path) -> None:
    """The jsondoc harness (ASan + UBSan, keys buffer malloc'd to its exact size) on the reproducer:
    AddressSanitizer reported a heap-buffer-overflow in add_key before the fix."""
    path = tmp_path / "trainer_state.json"
    path.write_bytes(add_key_reproducer())
    done = subprocess.run(
        [str(fuzz_build / "bin" / "fuzz_jsondoc"), str(path)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "AddressSanitizer" not in done.stderr


def test_every_harness_runs_its_seeds_clean(fuzz_build: Path) -> None:
    """Every seed (the test data, the findings, inputs over 64 KiB) through its harness once."""
    # fuzz_textscan (the text reader's scanner) takes every recogniser's pattern from a file.
    patterns = {"DRIFT_TEXT_PATTERNS": str(fuzz_build / "seeds" / "text-patterns.txt")}
    harnesses = (("scan", "jsonl"), ("jsondoc", "jsondoc"), ("tfevents", "tfevents"), ("textscan", "text"))
    harnesses += (("wandb", "wandb"),)
    for harness, seeds in harnesses:
        folder = fuzz_build / "seeds" / seeds
        assert any(p.stat().st_size > 64 * 1024 for p in folder.iterdir()), f"no {seeds} seed over 64 KiB"
        done = subprocess.run(
            [str(fuzz_build / "bin" / f"fuzz_{harness}"), "-runs=0", str(folder)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **patterns},
        )
        assert done.returncode == 0, f"fuzz_{harness}: {done.stderr[-3000:]}"


# ---- the per-byte cost of lines the scanner skips ---------------------------------------------


def _write(path: Path, first: str, line: str, size: int) -> Path:
    """A log of about ``size`` bytes: ``first``, then ``line`` repeated."""
    path.write_text(first + line * ((size - len(first)) // len(line)))
    return path


def _ordinary(path: Path, size: int) -> Path:
    lines, total, step = [], 0, 0
    while total < size:
        lines.append(dlm_line(step, 1.0 / (step + 1)))
        total += len(lines[-1])
        step += 1
    path.write_text("".join(lines))
    return path


LOG_BYTES = 4 << 20
KINDS: dict[str, Callable[[Path, int], Path]] = {
    "ordinary": _ordinary,
    "blank": lambda p, n: _write(p, dlm_line(0, 1.0), "\n", n),
    "whitespace": lambda p, n: _write(p, dlm_line(0, 1.0), " \t\n", n),
    "junk": lambda p, n: _write(p, dlm_line(0, 1.0), "# epoch 1 step 300: loss=2.5, nothing JSON here\n", n),
    "short junk": lambda p, n: _write(p, dlm_line(0, 1.0), "x\n", n),
    "non-matching": lambda p, n: _write(p, dlm_line(0, 1.0), '{"type": "eval", "step": 5, "accuracy": 0.5}\n', n),
    "nested records": lambda p, n: _write(
        p, dlm_line(0, 1.0), '{"type": "eval", "step": 5, "m": {"acc": [0.5, 0.25]}, "s": "a\\"b"}\n', n
    ),
    "cut records": lambda p, n: _write(p, dlm_line(0, 1.0), '{"type": "step", "step": 5, "loss": 1.\n', n),
}


def _cost(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(lines sent through json.loads, peak bytes allocated) for reading one log."""
    calls = 0
    python_line = jsonl._python_line

    def counted(*args: object) -> object:
        nonlocal calls
        calls += 1
        return python_line(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(jsonl, "_python_line", counted)
    tracemalloc.start()
    try:
        read_dlm([LogFile(path, path.name)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return calls, peak


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("cost")
    yield {kind: write(folder / f"{kind.replace(' ', '-')}.jsonl", LOG_BYTES) for kind, write in KINDS.items()}


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "ordinary"])
def test_skipped_lines_cost_no_more_per_byte_than_an_ordinary_log(
    kind: str, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, lib: ctypes.CDLL
) -> None:
    """Before the fix each blank line crossed into Python one by one, and the scanner's per-line
    arrays took about 33 bytes of memory per blank line."""
    path, ordinary = logs[kind], logs["ordinary"]
    assert abs(path.stat().st_size - ordinary.stat().st_size) < 0.01 * LOG_BYTES
    ordinary_calls, ordinary_peak = _cost(ordinary, monkeypatch)
    calls, peak = _cost(path, monkeypatch)
    assert ordinary_calls == 0
    assert calls == 0, f"{calls} lines of a {kind} log went through json.loads"
    assert peak <= 2 * ordinary_peak, f"{kind}: {peak / 1e6:.1f} MB traced against {ordinary_peak / 1e6:.1f} MB"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "ordinary"])
def test_skipped_lines_read_as_json_loads_reads_them(kind: str, tmp_path: Path) -> None:
    files = [LogFile(KINDS[kind](tmp_path / "log.jsonl", 256 << 10), "log.jsonl")]
    fast, slow = read_dlm(files, fast=True), read_dlm(files, fast=False)
    assert (fast.steps.tolist(), fast.values.tolist(), fast.line.tolist()) == (
        slow.steps.tolist(),
        slow.values.tolist(),
        slow.line.tolist(),
    )
    assert (fast.skipped_lines, fast.first_skipped, fast.ignored_records) == (
        slow.skipped_lines,
        slow.first_skipped,
        slow.ignored_records,
    )


def test_a_broken_first_line_is_json_loads_error(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("# not a log\n" + dlm_line(1, 1.0))
    errors = []
    for fast in (True, False):
        with pytest.raises(LogError) as caught:
            read_dlm([LogFile(path, "train.jsonl")], fast=fast)
        errors.append((str(caught.value), caught.value.line))
    assert errors[0] == errors[1] and errors[0][1] == 1


def test_the_first_skipped_line_is_the_earliest_of_scanner_and_json_loads(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    # line 3 json.loads refuses (the scanner hands it over: data after the object), line 5 the scanner does
    path.write_text(dlm_line(1, 1.0) * 2 + '{"a": 1} x\n' + dlm_line(2, 1.0) + "junk\n")
    curves = [read_dlm([LogFile(path, "t")], fast=fast) for fast in (True, False)]
    assert curves[0].first_skipped == curves[1].first_skipped and curves[0].first_skipped.line == 3  # type: ignore[union-attr]
    assert curves[0].skipped_lines == curves[1].skipped_lines == 2


# ---- numbers whatever the locale ---------------------------------------------------------------

# Numbers that take every conversion path: Clinger's fast path, exact integer arithmetic for up to
# 19 digits, and strtod beyond (over 19 significant digits, huge and tiny exponents).
NUMBERS = ["1.5", "0.1", "2.5e-3", "0.30000000000000004", "123456.789012345678", "0.12345678901234567890123",
           "3.14159265358979323846264338327950288", "1e400", "-2.5e-320", "1234567890123456789012.5", "7"]  # fmt: skip

_UNDER_LOCALE = """
import ctypes, json, locale, sys
from dataclasses import replace
from pathlib import Path
locale.setlocale(locale.LC_NUMERIC, "de_DE.UTF-8")
libc = ctypes.CDLL(None)
libc.strtod.restype = ctypes.c_double
libc.strtod.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
from drift.readers.common import LogFile, ReadSpec
from drift.readers.jsonl import read_dlm
from drift.readers.trainer_state import read_trainer_state
folder = Path(sys.argv[1])
jsonl = read_dlm([LogFile(folder / "train.jsonl", "train.jsonl")], fast=True)
state = read_trainer_state([LogFile(folder / "trainer_state.json", "trainer_state.json")], ReadSpec(), fast=True)
print(json.dumps({
    "decimal_point": locale.localeconv()["decimal_point"],
    "c_strtod": libc.strtod(b"1.5", None),
    "jsonl": [repr(v) for v in jsonl.values.tolist()],
    "trainer_state": [repr(v) for v in state.values.tolist()],
}))
"""


@pytest.fixture(scope="module")
def comma_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """de_DE.UTF-8 generated with localedef into a folder that LOCPATH names: the machine's own
    locales (often only C and C.UTF-8) do not matter."""
    need(shutil.which("localedef") is not None and Path("/usr/share/i18n/locales/de_DE").exists(), "localedef's de_DE")
    folder = tmp_path_factory.mktemp("locales")
    subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", str(folder / "de_DE.UTF-8")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder


def test_numbers_are_read_alike_under_a_comma_decimal_locale(
    comma_locale: Path, tmp_path: Path, lib: ctypes.CDLL
) -> None:
    """Before the fix the JSON-lines scanner read "1.5" as 1.0 under de_DE (strtod stopped at the
    '.'), and jsondoc.c every number of more than 19 digits."""
    (tmp_path / "train.jsonl").write_text(
        "".join(f'{{"type": "step", "step": {i}, "loss": {n}}}\n' for i, n in enumerate(NUMBERS))
    )
    history = ",".join(f'{{"loss": {n}, "step": {i}}}' for i, n in enumerate(NUMBERS))
    (tmp_path / "trainer_state.json").write_text(f'{{"global_step": 11, "log_history": [{history}]}}')
    env = {**os.environ, "LOCPATH": str(comma_locale), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _UNDER_LOCALE, str(tmp_path)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    # The locale really is switched in the process that calls the C code: libc's strtod obeys it.
    assert got["decimal_point"] == "," and got["c_strtod"] == 1.0
    expected = [repr(math.inf if math.isinf(float(n)) else float(n)) for n in NUMBERS]
    assert got["jsonl"] == expected
    assert got["trainer_state"] == [repr(float(n)) for n in NUMBERS]


# ---- tfevents.c: n_slots and 32-bit tag ids ----------------------------------------------------


def _event_file(path: Path, tags: int) -> Path:
    from tests.fuzz.native.seeds import _event, _field, _record

    version = _record(b"\x09" + np.float64(1.7e9).tobytes() + _field(3, b"brain.Event:2"))
    path.write_bytes(version + _record(_event(1, [(f"tag/{i}", float(i)) for i in range(tags)])))
    return path


def test_the_wrapper_never_asks_for_tag_ids_beyond_32_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record with more distinct tags than the C side can number stops with a clear error; before
    the fix the wrapper doubled tag_cap without bound."""
    monkeypatch.setattr(tensorboard, "TAGS_LIMIT", 8)
    monkeypatch.setattr(tensorboard, "TAGS_PER_CALL", 2)
    path = _event_file(tmp_path / "events.out.tfevents.1.host", tags=20)
    with pytest.raises(LogError, match=r"record 2 holds more than 8 distinct tags"):
        tensorboard.read_tensorboard([LogFile(path, "events")], ReadSpec(metric="tag/3"))
    ok = _event_file(tmp_path / "events.out.tfevents.2.host", tags=8)
    assert tensorboard.read_tensorboard([LogFile(ok, "events")], ReadSpec(metric="tag/3")).values.tolist() == [3.0]


# ---- every entry point checks its own arguments -------------------------------------------------


def _i64(n: int) -> ctypes.Array[ctypes.c_int64]:
    return (ctypes.c_int64 * n)()


def _scan_args(**broken: object) -> list[object]:
    buf = ctypes.create_string_buffer(b'{"type": "step", "step": 1, "loss": 2}\n')
    a: dict[str, object] = dict(
        buf=buf, len=len(buf.value), start=0, line0=0, step_key=b"step", step_len=4, metric=b"loss", metric_len=4,
        filter_key=b"type", filter_key_len=4, filter_value=b"step", filter_value_len=4, steps=_i64(4),
        values=(ctypes.c_double * 4)(), point_lines=_i64(4), point_cap=4, deferred=_i64(12), deferred_cap=4,
        res=_i64(12),
    )  # fmt: skip
    a.update(broken)
    return [a[name] for name in native.ENTRIES["drift_scan"].arguments]


def _jsondoc_args(**broken: object) -> list[object]:
    buf = ctypes.create_string_buffer(b'{"log_history": [{"loss": 1, "step": 1}]}')
    a: dict[str, object] = dict(
        buf=buf, len=len(buf.value), metric=b"loss", metric_len=4, steps=_i64(4), values=(ctypes.c_double * 4)(),
        entries=_i64(4), capacity=4, deferred=_i64(12), deferred_capacity=4, keys=None, keys_capacity=0,
        counts=_i64(6),
    )  # fmt: skip
    a.update(broken)
    return [a[name] for name in native.ENTRIES["drift_jsondoc_scan"].arguments]


def _tfevents_args(**broken: object) -> list[object]:
    buf = ctypes.create_string_buffer(b"\0" * 16)
    a: dict[str, object] = dict(
        buf=buf, start=0, size=16, avail=16, record_base=0, res=_i64(9), recs=_i64(4), steps=_i64(4),
        values=(ctypes.c_double * 4)(), tag_ids=(ctypes.c_int32 * 4)(), cap=4, tag_start=_i64(2), tag_len=_i64(2),
        tag_cap=2, slots=(ctypes.c_int32 * 4)(), n_slots=4,
    )  # fmt: skip
    a.update(broken)
    return [a[name] for name in native.ENTRIES["drift_tfevents_scan"].arguments]


def _wandb_args(**broken: object) -> list[object]:
    buf = ctypes.create_string_buffer(b":W&B\xe1\xbe\x00" + b"\0" * 9)
    a: dict[str, object] = dict(
        buf=buf, start=7, size=16, offset=0, last=1, wanted=b"loss\0", wanted_len=5, state=_i64(2), res=_i64(11),
        recs=_i64(4), steps=_i64(4), values=(ctypes.c_double * 4)(), key_ids=(ctypes.c_int32 * 4)(), cap=4,
        key_bytes=ctypes.create_string_buffer(8), key_bytes_cap=8, key_start=_i64(2), key_len=_i64(2),
        key_wanted=ctypes.create_string_buffer(2), key_cap=2, slots=(ctypes.c_int32 * 4)(), n_slots=4,
        scratch=ctypes.create_string_buffer(wandbrun.BLOCK), scratch_cap=wandbrun.BLOCK,
    )  # fmt: skip
    a["state"][1] = -1  # type: ignore[index]
    a.update(broken)
    return [a[name] for name in native.ENTRIES["drift_wandb_scan"].arguments]


CONTRACTS = [
    ("drift_scan", _scan_args, {}, 0),
    ("drift_scan", _scan_args, {"buf": None}, -1),
    ("drift_scan", _scan_args, {"len": -1}, -2),
    ("drift_scan", _scan_args, {"start": 100}, -3),
    ("drift_scan", _scan_args, {"line0": -1}, -4),
    ("drift_scan", _scan_args, {"step_key": None}, -5),
    ("drift_scan", _scan_args, {"metric_len": -4}, -8),
    ("drift_scan", _scan_args, {"filter_key": None}, -9),
    ("drift_scan", _scan_args, {"steps": None}, -13),
    ("drift_scan", _scan_args, {"point_cap": 0}, -16),
    ("drift_scan", _scan_args, {"deferred_cap": 0}, -18),
    ("drift_scan", _scan_args, {"res": None}, -19),
    ("drift_jsondoc_scan", _jsondoc_args, {}, 0),
    ("drift_jsondoc_scan", _jsondoc_args, {"len": -1}, -2),
    ("drift_jsondoc_scan", _jsondoc_args, {"steps": None}, -5),
    ("drift_jsondoc_scan", _jsondoc_args, {"capacity": -1}, -8),
    ("drift_jsondoc_scan", _jsondoc_args, {"deferred_capacity": 2**62}, -10),
    ("drift_jsondoc_scan", _jsondoc_args, {"keys_capacity": 2**31}, -12),
    ("drift_jsondoc_scan", _jsondoc_args, {"counts": None}, -13),
    ("drift_tfevents_scan", _tfevents_args, {}, tensorboard.STOP_LENGTH),
    ("drift_tfevents_scan", _tfevents_args, {"start": 17}, -2),
    ("drift_tfevents_scan", _tfevents_args, {"avail": 15}, -4),
    ("drift_tfevents_scan", _tfevents_args, {"record_base": -1}, -5),
    ("drift_tfevents_scan", _tfevents_args, {"cap": 0}, -11),
    ("drift_tfevents_scan", _tfevents_args, {"tag_cap": 2**31}, -14),
    ("drift_tfevents_scan", _tfevents_args, {"slots": None}, -15),
    ("drift_tfevents_scan", _tfevents_args, {"n_slots": 2}, -16),  # not above tag_cap: probes never end
    ("drift_tfevents_scan", _tfevents_args, {"n_slots": 6}, -16),  # not a power of two
    ("drift_wandb_scan", _wandb_args, {}, wandbrun.STOP_END),
    ("drift_wandb_scan", _wandb_args, {"buf": None}, -1),
    ("drift_wandb_scan", _wandb_args, {"start": 17}, -2),
    ("drift_wandb_scan", _wandb_args, {"last": 0}, -3),  # a piece that is not the last ends on a block
    ("drift_wandb_scan", _wandb_args, {"offset": 100}, -4),
    ("drift_wandb_scan", _wandb_args, {"wanted_len": -1}, -7),
    ("drift_wandb_scan", _wandb_args, {"cap": 0}, -14),
    ("drift_wandb_scan", _wandb_args, {"key_cap": 2**31}, -20),
    ("drift_wandb_scan", _wandb_args, {"n_slots": 2}, -22),  # not above key_cap: probes never end
    ("drift_wandb_scan", _wandb_args, {"n_slots": 6}, -22),  # not a power of two
    ("drift_wandb_scan", _wandb_args, {"scratch_cap": 100}, -24),  # a FIRST chunk would not fit
]


@pytest.mark.parametrize(("entry", "args", "broken", "code"), CONTRACTS, ids=[f"{c[0]}-{c[2]}" for c in CONTRACTS])
def test_every_entry_point_checks_its_arguments(
    lib: ctypes.CDLL, entry: str, args: Callable[..., list[object]], broken: dict[str, object], code: int
) -> None:
    if entry == "drift_jsondoc_scan":
        assert trainer_state._library() is not None
    if entry == "drift_tfevents_scan":
        assert tensorboard._native_function() is not None
    if entry == "drift_wandb_scan":
        assert wandbrun._native_function() is not None
    assert getattr(lib, entry)(*args(**broken)) == code


def test_a_contract_error_names_the_entry_point_and_argument() -> None:
    with pytest.raises(native.ContractError, match=r"drift_scan refused argument 16 \(point_cap\)"):
        native.check("drift_scan", -16)
    assert native.check("drift_scan", 1) == 1


def test_a_library_built_from_older_sources_is_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its drift_scan takes other arguments: calling it would read and write out of bounds."""
    old = tmp_path / "old.c"
    old.write_text("#include <stdint.h>\nint64_t drift_scan(void) { return 0; }\n")
    library = tmp_path / "_scan.so"
    subprocess.run([shutil.which("cc") or "gcc", "-shared", "-fPIC", "-o", str(library), str(old)], check=True)
    monkeypatch.setattr(native, "SCAN", replace(native.SCAN, path=library))
    monkeypatch.setattr(native, "_loaded", {})  # the real ones again after this test
    assert native.load() is None


def test_a_chunk_walked_in_many_calls_reads_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One-row output arrays: drift_scan stops when they are full and resumes where it stopped."""
    path = tmp_path / "train.jsonl"
    lines = []
    for s in range(60):
        lines += [dlm_line(s, 1.0 / (s + 1)), "\n", f'{{"type": "step", "step": "{s}", "loss": "1"}}\n']
        lines += ["# junk\n", '{"type": "step", "step": 1e400, "loss": 1}\n', '{"type": "eval", "m": [1]}\n']
    path.write_text("".join(lines))
    files = [LogFile(path, "train.jsonl")]
    whole = read_dlm(files, fast=True)
    monkeypatch.setattr(jsonl, "POINTS_PER_CALL", 1)
    monkeypatch.setattr(jsonl, "DEFERRED_PER_CALL", 1)
    resumed, slow = read_dlm(files, fast=True), read_dlm(files, fast=False)
    for curve in (whole, resumed):
        assert (curve.steps.tolist(), curve.values.tolist(), curve.line.tolist()) == (
            slow.steps.tolist(),
            slow.values.tolist(),
            slow.line.tolist(),
        )
        assert (curve.skipped_lines, curve.first_skipped, curve.ignored_records, curve.fields_seen) == (
            slow.skipped_lines,
            slow.first_skipped,
            slow.ignored_records,
            slow.fields_seen,
        )
    assert slow.skipped_lines == 60 and slow.ignored_records == 60
