"""The text reader's native scanner (drift/native/textscan.cc) is only a fast path: on any console
log, with a recogniser or the user's pattern, the reader gives through it exactly what it gives
through google-re2's Python binding, with and without the array conversion (``fast=False`` is the
reference loop)."""

from __future__ import annotations

import codecs
import ctypes
import math
import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import native
from drift.readers import text as text_reader
from drift.readers.common import LogFile, ReadSpec
from drift.readers.recognisers import MAX_MEM, RECOGNISERS, user_pattern
from tests.fuzz import formats
from tests.fuzz.mutate import mutate
from tests.fuzz.targets import Reading, reading, same
from tests.test_reader_text import FIXTURES


def built() -> ctypes.CDLL:
    lib = native.load_text()
    if lib is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "the text scanner is not built in CI: .ci/run installs libre2-dev and runs python -m drift.native"
            )
        pytest.skip(
            "SKIPPED LOUDLY: the text scanner is not built (apt-get install libre2-dev; python -m drift.native)"
        )
    return lib


def test_the_text_scanner_is_built_and_used(tmp_path: Path) -> None:
    built()
    plain, crlf = tmp_path / "a.log", tmp_path / "b.log"
    plain.write_text("".join(f"step {s:4d}/9 | loss {1 / (s + 1)} (+nanz)| norm 1\n" for s in range(9)))
    crlf.write_bytes(plain.read_bytes().replace(b"\n", b"\r\n"))
    original = text_reader._read_plain
    for path, is_plain in ((plain, True), (crlf, False)):
        answers: list[bool] = []

        def plain_path(*args: object, answers: list[bool] = answers) -> bool:
            answers.append(original(*args))  # type: ignore[arg-type]
            return answers[-1]

        with (
            mock.patch.object(text_reader, "_read_plain", side_effect=plain_path),
            mock.patch.object(text_reader, "_match_native", wraps=text_reader._match_native) as blocks,
        ):
            curve = text_reader.read_text([LogFile(path, path.name)], ReadSpec())
        assert answers == [is_plain]
        assert (blocks.call_count >= 1) != is_plain  # a file that is not plain is read again, block by block
        assert curve.steps.tolist() == list(range(9))
    with mock.patch.object(text_reader._Native, "scan") as unused:
        text_reader.read_text([LogFile(plain, "a.log")], ReadSpec(), native_scan=False)
        text_reader.read_text([LogFile(plain, "a.log")], ReadSpec(), fast=False)
    assert unused.call_count == 0


def test_without_the_library_the_python_path_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("iter 1: loss 2.5, time 1ms\niter 2: loss 2.25, time 1ms\n")
    text_reader._native.cache_clear()
    try:
        with mock.patch.object(native, "load_text", return_value=None):
            curve = text_reader.read_text([LogFile(path, "a.log")], ReadSpec())
    finally:
        text_reader._native.cache_clear()
    assert curve.steps.tolist() == [1, 2] and curve.values.tolist() == [2.5, 2.25]


# ---- the same curves through every path -------------------------------------------------------

USER_PATTERNS = (
    *formats.TEXT_PATTERNS,
    r"<it=(?P<step>\d+)> objective=(?P<value>[0-9.]+)",
    r"at (?P<step>[0-9.,]+K?) loss (?P<value>\S+)",
    r"(?m)^(?:step (?P<step>\d+))?.*?loss[=:] ?(?P<value>\S*)",  # a step group that may not take part
    r"\b(?P<step>\d*)(?P<value>[\d.,_]*)\b[a-z]",  # empty groups, matches of one byte
    r"\b(?P<step>\d*)(?P<value>[\d.]*)\b",  # empty matches (not of an empty log): the advance rule
    r"(?i)step[ =](?P<step>\S+)\s+(?:\S+\s+){0,3}?(?P<value>(?:nan|[-+]?\d[\d.eE+-]*))",
    # line-shaped (drift/readers/lineshape.py): the scanner matches them one line at a time
    r"(?m)^step +(?P<step>\d+)/\d+ \| loss (?P<value>\S+)",
    r"(?m)^(?P<step>\d*)(?P<value>\d*)\b",  # empty matches, an empty value at a line's end
    r"(?mi)^[^\w\n]{0,3}(?:(?P<step>\d+)|it)\b[^\n=]*?=(?P<value>[^ \n]*)",  # a step that may not take part
    r"(?m)^.*?\bs(?P<step>[0-9,]+K?)\b.*loss[:=] ?(?P<value>\S+)$",
)


def _fixture_log(rng: random.Random) -> bytes:
    """Lines of the recognisers' fixtures (every one, with OLMo's and Keras's head lines), mixed,
    repeated and damaged."""
    names = rng.sample(sorted(FIXTURES), rng.randint(1, 3))
    lines: list[str] = []
    for name in names:
        lines += FIXTURES[name][0].splitlines(keepends=True) * rng.randint(1, 3)
    if rng.random() < 0.3:
        rng.shuffle(lines)
    data = "".join(lines).encode("utf-8", "surrogatepass")
    return mutate(data, rng, [data]) if rng.random() < 0.4 else data


def _case(rng: random.Random, kind: str) -> tuple[bytes, str]:
    if kind == "console":
        data = formats.console_log(rng)
        return (mutate(data, rng, [data]) if rng.random() < 0.3 else data), ""
    if kind == "fixtures":
        return _fixture_log(rng), ""
    pattern = rng.choice(USER_PATTERNS)
    data = formats.pattern_log(rng) if rng.random() < 0.6 else _fixture_log(rng)
    return data, pattern


@contextmanager
def sizes(block: int, overlap: int, cap: int) -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(text_reader, "BLOCK_BYTES", block))
        stack.enter_context(mock.patch.object(text_reader, "OVERLAP", overlap))
        stack.enter_context(mock.patch.object(text_reader, "_SCAN_CAP", cap))
        stack.enter_context(mock.patch.object(text_reader, "_SPLIT_BYTES", max(1, cap * 8)))  # both threads busy
        yield


def readings(files: list[LogFile], spec: ReadSpec) -> tuple[Reading, Reading, Reading]:
    names = [f.display for f in files]
    native_path = reading(lambda: text_reader.read_text(files, spec), names)
    python_path = reading(lambda: text_reader.read_text(files, spec, native_scan=False), names)
    reference = reading(lambda: text_reader.read_text(files, spec, fast=False), names)
    return native_path, python_path, reference


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    kind=st.sampled_from(["console", "fixtures", "pattern"]),
    files=st.integers(min_value=1, max_value=3),
    block=st.sampled_from([1, 64, 333, 4096, 1 << 20]),
    overlap=st.sampled_from([0, 16, 300, 64 << 10]),
    cap=st.sampled_from([1, 2, 7, 1 << 16]),
)
def test_the_native_scanner_reads_as_the_python_paths(
    *, seed: int, kind: str, files: int, block: int, overlap: int, cap: int
) -> None:
    built()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        logs = []
        pattern = ""
        for i in range(files):
            data, chosen = _case(rng, kind)
            pattern = pattern or chosen
            path = Path(folder) / f"{i}.log"
            path.write_bytes(data)
            logs.append(LogFile(path, f"{i}.log"))
        spec = ReadSpec(pattern=pattern)
        with sizes(block, overlap, cap):
            native_path, python_path, reference = readings(logs, spec)
        same(native_path, reference, "native scanner vs reference")
        same(python_path, reference, "python fast path vs reference")
        default_native, _, default_reference = readings(logs, spec)
        same(default_native, default_reference, "native scanner vs reference (default sizes)")


def test_the_fixtures_and_a_suffixed_step_read_alike_through_both_paths(tmp_path: Path) -> None:
    # Every recogniser's fixture, one by one: each kind of match (step and value, head line, value
    # alone) and each flag (a step such as 1K, a value such as '1.8' in quotes) goes through.
    built()
    for name, (content, expected) in FIXTURES.items():
        path = tmp_path / "a.log"
        path.write_text(content)
        native_path, python_path, reference = readings([LogFile(path, "a.log")], ReadSpec())
        same(native_path, reference, name)
        same(python_path, reference, name)
        assert not isinstance(native_path, tuple) and native_path.steps.tolist() == [s for s, _ in expected], name


# ---- the entry points' contracts -----------------------------------------------------------------


def _handle(lib: ctypes.CDLL, pattern: bytes) -> tuple[int, int]:
    groups = ctypes.c_int64(-1)
    handle = lib.drift_text_compile(pattern, len(pattern), MAX_MEM, ctypes.byref(groups))
    return handle, groups.value


def test_compile_refuses_what_re2_refuses_and_counts_groups() -> None:
    lib = built()
    handle, groups = _handle(lib, rb"(?P<step>\d+) (x)(?P<value>\S+)")
    assert handle and groups == 3
    lib.drift_text_free(handle)
    assert _handle(lib, rb"(?P<step>\d+")[0] is None
    assert _handle(lib, rb"(a)\1")[0] is None  # a backreference: not RE2
    lib.drift_text_free(None)  # freeing nothing is allowed
    for recogniser in RECOGNISERS:  # every recogniser compiles as google-re2 compiled it
        handle, groups = _handle(lib, recogniser.pattern)
        assert handle, recogniser.name
        assert groups == user_pattern_groups(recogniser.pattern), recogniser.name
        lib.drift_text_free(handle)


def user_pattern_groups(pattern: bytes) -> int:
    import re2  # type: ignore[import-untyped]

    return int(re2.compile(pattern).groups)


def test_scan_refuses_arguments_that_break_its_contract() -> None:
    lib = built()
    handle, _ = _handle(lib, rb"s(?P<step>\d+) (?P<value>\S+)")
    assert user_pattern(r"s(?P<step>\d+) (?P<value>\S+)").step == 1
    kinds, flags = np.empty(8, np.int8), np.empty(8, np.int8)
    spans, values, steps = np.empty(32, np.int64), np.empty(8, np.float64), np.empty(8, np.int64)
    lines, res = np.empty(8, np.int64), np.zeros(3, np.int64)
    data = b"s1 2.5\ns2 x\n"

    def call(**changed: object) -> int:
        args: dict[str, object] = {
            "handle": handle, "buf": data, "len": len(data), "start": 0, "limit": len(data), "line0": 0,
            "step_group": 1, "value_group": 2, "head_group": 0, "mode": 0, "split": 0, "kinds": kinds.ctypes.data,
            "flags": flags.ctypes.data, "spans": spans.ctypes.data, "values": values.ctypes.data,
            "steps": steps.ctypes.data, "lines": lines.ctypes.data, "cap": 8, "res": res.ctypes.data,
        }  # fmt: skip
        args.update(changed)
        return int(lib.drift_text_scan(*(args[name] for name in native.ENTRIES["drift_text_scan"].arguments)))

    try:
        for mode in (0, 1):  # RE2's search, and one match per line: the pattern is not line-shaped,
            # but its matches here start lines and hold no newline, so both modes find them
            assert call(mode=mode) == 2
            assert kinds[:2].tolist() == [0, 0] and flags[:2].tolist() == [0, 1]  # 'x' goes to Python
            assert values[0] == 2.5 and steps[:2].tolist() == [1, 2]
            assert spans[:8].tolist() == [3, 6, 1, 2, 10, 11, 8, 9] and lines[:2].tolist() == [0, 1]
            assert res[1:].tolist() == [0, 2]  # no match after the last one; the newlines before the limit
            assert call(limit=5, mode=mode) == 0 and res.tolist() == [0, 2, 0]  # the first match ends after it
        assert call(cap=1) == 1 and res.tolist() == [6, 1, 0]  # full: called again from the match's end
        # cap 4 in MODE_LINES: one line walked (and a line's slack): again from the match's end
        assert call(cap=4, mode=1) == 1 and res.tolist() == [6, 1, 0]
        assert call(start=7, line0=1, mode=1) == 1 and lines[0] == 1
        refused = {
            "handle": None, "buf": None, "len": -1, "start": len(data) + 1, "limit": len(data) + 1, "line0": -1,
            "step_group": 3, "value_group": 0, "head_group": -1, "mode": 2, "split": -1, "kinds": None,
            "flags": None, "spans": None, "values": None, "steps": None, "lines": None, "cap": 0, "res": None,
        }  # fmt: skip
        for name, value in refused.items():
            n = native.ENTRIES["drift_text_scan"].arguments.index(name) + 1
            assert call(**{name: value}) == -n, name
            with pytest.raises(native.ContractError, match=rf"refused argument {n} \({name}\)"):
                native.check("drift_text_scan", call(**{name: value}))
    finally:
        lib.drift_text_free(handle)


def test_the_comparison_catches_a_native_scanner_that_differs(tmp_path: Path) -> None:
    # The property above can fail: a scanner whose values are off by one is caught.
    built()
    path = tmp_path / "a.log"
    path.write_text("".join(f"s:{s} trl:{s / 3:.4f} lr:0.1\n" for s in range(50)))
    scan = text_reader._Native.scan

    def off_by_one(self: text_reader._Native, *args: object) -> object:
        scanned = scan(self, *args)  # type: ignore[arg-type]
        scanned.values[:] += 1.0
        return scanned

    with mock.patch.object(text_reader._Native, "scan", off_by_one):
        native_path, _, reference = readings([LogFile(path, "a.log")], ReadSpec())
    with pytest.raises(AssertionError, match="values differs"):
        try:
            same(native_path, reference, "native scanner vs reference")
        except Exception as exc:
            raise AssertionError(str(exc)) from None


def test_user_pattern_matches_come_back_in_the_same_places() -> None:
    built()
    matcher = user_pattern(r"(?m)^(?:step (?P<step>\d+))?.*?loss[=:] ?(?P<value>\S*)")
    data = b"step 3 loss=1.5\nloss: \nxx step 4 loss=2\n"
    scanner = text_reader._native(matcher.regexp.pattern)
    assert scanner is not None
    scanned = scanner.scan(data, len(data), 0, len(data), matcher)
    expected = [
        (spans[matcher.value][0], spans[matcher.value][1], spans[matcher.step][0], spans[matcher.step][1])
        for spans in text_reader._matches(matcher.regexp, data, 0)
    ]
    assert [tuple(row) for row in scanned.spans.tolist()] == expected


@pytest.mark.parametrize("block", [40, 97, 333, 1000])
def test_multi_line_matches_across_block_boundaries_read_alike(block: int, tmp_path: Path) -> None:
    # A match that starts before a block's tail and ends after it is matched again with the next
    # block, from its start; OLMo's head and value lines, and a pattern spanning lines.
    built()
    lines = []
    for step in range(1, 200):
        lines += [f"[step={step}/200,epoch=0]", "    optim/total_grad_norm=1.5", f"    train/CE loss={step / 7:.6f}"]
        lines += [f"== {step}", "noise", f"loss={step / 9:.5f}"]
    path = tmp_path / "a.log"
    path.write_text("\n".join(lines) + "\n")
    for pattern in ("", formats.TEXT_PATTERNS[1], formats.TEXT_PATTERNS[2]):
        with sizes(block, 30, 5):
            native_path, python_path, reference = readings([LogFile(path, "a.log")], ReadSpec(pattern=pattern))
        same(native_path, reference, f"native scanner vs reference, {pattern!r}")
        same(python_path, reference, f"python fast path vs reference, {pattern!r}")


def _printed(x: float, style: int, digits: int) -> str:
    """One way a trainer may print a float."""
    if style == 0:
        return repr(x)
    if style == 1:
        return f"{x:.{digits}e}"
    if style == 2:
        return f"{x:+.{digits}f}"
    return f"{x:.{digits}g}".upper()


EDGE_NUMBERS = [
    "1e400", "-1e400", "1e-400", "4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
    "1.7976931348623157e308", "1.7976931348623159e308", "+0", "-0.0", "000012.50000", "9007199254740993",
    "0.1000000000000000055511151231257827", "NaN", "-inf", "+Infinity", "nAn", "1.", ".5", "1e5",
]  # fmt: skip
NUMBER_TEXTS = st.one_of(
    st.builds(_printed, st.floats(width=64), st.integers(0, 3), st.integers(0, 20)),
    st.sampled_from(EDGE_NUMBERS),
    st.from_regex(r"\A[+-]?[0-9]{1,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,3})?\Z"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NUMBER_TEXTS, min_size=1, max_size=40))
def test_the_scanner_converts_numbers_exactly_as_float_does(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    """The scanner's own conversion (from_chars, strtod beyond double's range) against float()."""
    built()
    path = tmp_path_factory.mktemp("numbers") / "a.log"
    path.write_text("".join(f"step {i} | loss {t}\n" for i, t in enumerate(texts)))
    spec = ReadSpec(pattern=r"(?m)^step (?P<step>\d+) \| loss (?P<value>\S+)")
    curve = text_reader.read_text([LogFile(path, "a.log")], spec)
    expected = np.array([float(t) for t in texts])
    expected[~np.isfinite(expected)] = np.inf  # every reader keeps a non-finite value as +inf
    assert curve.steps.tolist() == list(range(len(texts)))
    np.testing.assert_array_equal(curve.values, expected)
    assert np.signbit(curve.values).tolist() == np.signbit(expected).tolist()  # -0.0 stays -0.0


@pytest.mark.parametrize(
    ("tail", "is_plain"),
    [
        (b"", True),
        (b"\r\n", False),
        (b"\x1b[31m", False),
        (b"noise\n" * 200_000 + b"\x00", False),  # past the MiB that picks the recogniser
        (b"x" * (2 << 20), False),
    ],
)
def test_a_file_that_stops_being_plain_is_read_again_as_the_reference_reads_it(
    tmp_path: Path, tail: bytes, is_plain: bool
) -> None:
    """A BOM, then plain lines, then (blocks later) a byte the plain path leaves to _lines."""
    built()
    lines = [f"step {s:4d}/99 | loss {1 / (s + 1)} (+nanz)| norm 1\n".encode() for s in range(60)]
    data = codecs.BOM_UTF8 + b"".join(lines[:40]) + tail + b"".join(lines[40:])
    path = tmp_path / "a.log"
    path.write_bytes(data)
    files = [LogFile(path, "a.log")]
    original = text_reader._read_plain
    answers: list[bool] = []

    def plain_path(*args: object) -> bool:
        answers.append(original(*args))  # type: ignore[arg-type]
        return answers[-1]

    with sizes(64, 16, 1 << 16), mock.patch.object(text_reader, "_read_plain", side_effect=plain_path):
        got = reading(lambda: text_reader.read_text(files, ReadSpec()), ["a.log"])
    assert answers == [is_plain]
    with sizes(64, 16, 1 << 16):
        same(got, reading(lambda: text_reader.read_text(files, ReadSpec(), fast=False), ["a.log"]), "plain path")
    assert isinstance(got, tuple) == tail.endswith(b"\x00")  # binary data: the run's error


@settings(max_examples=200, deadline=None)
@given(
    trainer=st.sampled_from(["Keras", "OLMo"]),
    rows=st.lists(
        st.tuples(st.integers(0, 6), st.lists(st.floats(0, 10) | st.just(math.nan), max_size=3)),
        max_size=40,
    ),
    values_first=st.booleans(),
    block=st.sampled_from([1, 64, 333, 1 << 20]),
    cap=st.sampled_from([1, 7, 1 << 16]),
)
def test_head_lines_read_alike_through_the_arrays_and_the_loop(
    *, trainer: str, rows: list[tuple[int, list[float]]], values_first: bool, block: int, cap: int
) -> None:
    """Head lines (Keras's epochs, OLMo's steps) whose counter goes back, repeats and starts from 0,
    with values before the first of them: the scanner's arrays (_take_heads) against the loop."""
    built()
    head, value = {
        "Keras": ("Epoch {}/9\n", "10/10 [====] - 1s 3ms/step - loss: {} - val_loss: 2.0\n"),
        "OLMo": ("x\tINFO\t[step={}/100,epoch=0]\n", "    train/CrossEntropyLoss={}\n"),
    }[trainer]
    text = value.format(1.5) if values_first else ""
    for printed, losses in rows:
        text += head.format(printed) + "".join(value.format(loss) for loss in losses)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.log"
        path.write_text(text)
        files = [LogFile(path, "a.log")]
        with sizes(block, 300, cap):
            native_path, python_path, reference = readings(files, ReadSpec())
    same(native_path, reference, "native scanner vs reference")
    same(python_path, reference, "python fast path vs reference")


def _search(lib: ctypes.CDLL, handle: int, data: bytes, *, split: int, cap: int, limit: int) -> tuple[object, ...]:
    """Every match of RE2's search (mode 0) of ``data`` up to ``limit`` in calls of ``cap``, as the
    reader makes them; the matches, the last stop and resume, and the newlines it counted."""
    kinds, flags = np.empty(cap, np.int8), np.empty(cap, np.int8)
    spans, values, steps = np.empty((cap, 4), np.int64), np.empty(cap, np.float64), np.empty(cap, np.int64)
    lines, res = np.empty(cap, np.int64), np.zeros(3, np.int64)
    found: list[tuple[object, ...]] = []
    pos = line0 = 0
    for _ in range(4 * len(data) + 8):
        n = lib.drift_text_scan(
            handle, data, len(data), pos, limit, line0, 1, 2, 0, 0, split, kinds.ctypes.data, flags.ctypes.data,
            spans.ctypes.data, values.ctypes.data, steps.ctypes.data, lines.ctypes.data, cap, res.ctypes.data,
        )  # fmt: skip
        assert n >= 0
        found += zip(spans[:n].tolist(), lines[:n].tolist(), flags[:n].tolist(), strict=True)
        pos, line0 = int(res[0]), int(res[2])
        if res[1] != 1:  # STOP_MORE: called again
            return found, res.tolist()
    raise AssertionError("the scan did not end")


SEARCH_PATTERNS = [
    rb"(?m)^(?P<step>\d*)(?P<value>\d*)\b",  # empty matches at each line start, found twice
    rb"\b(?P<step>\d*)(?P<value>[\d.]*)\b",  # empty matches at word boundaries
    rb"(?s)s(?P<step>\d+).*?l(?P<value>\d+)",  # matches across lines, over where the halves meet
    rb"s(?P<step>\d+) l(?P<value>\S+)",
]


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(SEARCH_PATTERNS),
    lines=st.lists(st.text(alphabet="s1l2 .x\n", max_size=12), max_size=30),
    cap=st.sampled_from([4, 5, 9, 1 << 16]),
    end=st.floats(0, 1),
)
def test_the_search_on_two_threads_finds_what_one_finds(pattern: bytes, lines: list[str], cap: int, end: float) -> None:
    """The search split where the halves meet at every place the text puts it: the other thread's
    matches join only where both searches agree on a match and the position after it (an empty
    match at the middle found twice by the one search, once by the other)."""
    lib = built()
    handle, _ = _handle(lib, pattern)
    try:
        data = "\n".join(lines).encode()
        limit = int(end * len(data))
        one = _search(lib, handle, data, split=0, cap=cap, limit=limit)
        assert _search(lib, handle, data, split=1, cap=cap, limit=limit) == one
        assert _search(lib, handle, data, split=len(data) // 3, cap=cap, limit=limit) == one
    finally:
        lib.drift_text_free(handle)
