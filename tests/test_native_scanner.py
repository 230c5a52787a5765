"""The compiled scanner is only a fast path: on any input, read_dlm with it must give exactly what
read_dlm gives through json.loads alone (which test_seed_parity holds equal to the seed)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import native
from drift.errors import LogError
from drift.readers import jsonl
from drift.readers.common import LogFile, ReadSpec
from drift.readers.jsonl import read_dlm, read_jsonl


def test_the_scanner_is_built() -> None:
    # The README's commands and .ci/run build it; without it the action is ~20x slower.
    assert native.load() is not None, "run: python -m drift.native"


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "0",
            "-0",
            "1e5",
            "1E+5",
            "2.5e-3",
            "1e400",
            "-1e400",
            "1e-400",
            "123456789012345678901234567890",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "9.3e18",
            "-9.3e18",
            "3.0",
            "3.99",
            "-3.99",
            "1" + "0" * 400,
        ]
    ),
)
# Tokens that are not JSON numbers, or not JSON at all: each must be left to json.loads.
near_misses = st.sampled_from(
    [
        "01",
        "1.",
        ".5",
        "+1",
        "1e",
        "1e+",
        "-",
        "--1",
        "0x10",
        "nan",
        "inf",
        "-NaN",
        "Infinity1",
        "1_000",
        "１",
        "tru",
        "nul",
        "NaNx",
        # the word's length with its last letter wrong: a matcher that compares one byte short
        "trux",
        "nulL",
        "falsy",
        "NaM",
        "Infinitx",
        "-Infinitx",
        "1.5.2",
        "1ee5",
    ]
)
scalars = st.one_of(
    numbers,
    st.sampled_from(["true", "false", "null", "NaN", "Infinity", "-Infinity"]),
    st.text(max_size=6).map(json.dumps),
    near_misses,
)
keys = st.sampled_from(["type", "step", "loss", "lr", "val_loss", "x", "lo\\u0073s", "typ", "loss "])


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(
            st.sampled_from(
                [
                    "",
                    "   ",
                    "\t",
                    "{}",
                    "[]",
                    "null",
                    '"step"',
                    "{",
                    "}",
                    "{,}",
                    '{"a":1}x',
                    '{"type": "step"} {"type": "step"}',
                    "\x00",
                    "\ufeff{}",
                ]
            )
        )
    fields: list[tuple[str, str]] = []
    if kind < 8:
        fields.append(("type", draw(st.sampled_from(['"step"', '"step"', '"banner"', "1", '"Step"', "null"]))))
        fields.append(("step", draw(st.one_of(numbers, st.sampled_from(['"7"', "true", "null", '" 8 "'])))))
        fields.append(("loss", draw(scalars)))
    fields += draw(st.lists(st.tuples(keys, scalars), max_size=4))
    if kind == 9:
        fields.append(("nested", draw(st.sampled_from(['{"loss": 1}', "[1, 2]", '{"a": [1, {"b": 2}]}']))))
    fields = draw(st.permutations(fields))
    sep = draw(st.sampled_from([", ", ",", " , "]))
    colon = draw(st.sampled_from([": ", ":", " : "]))
    body = sep.join(f'"{k}"{colon}{v}' for k, v in fields)
    text = "{" + body + "}"
    if draw(st.integers(0, 20)) == 0:
        text = text[: draw(st.integers(0, len(text)))]  # a truncated line
    if draw(st.integers(0, 20)) == 0:
        text = " " + text + "\t"
    return text


def _read(files: list[LogFile], fast: bool, spec: ReadSpec | None = None) -> tuple[object, ...]:
    try:
        curve = read_dlm(files, "loss", fast=fast) if spec is None else read_jsonl(files, spec, fast=fast)
    except LogError as exc:
        return ("error", str(exc), exc.file, exc.line)
    values = [("inf" if math.isinf(v) else v) for v in curve.values.tolist()]
    return (
        curve.steps.tolist(),
        values,
        curve.line.tolist(),
        curve.file_index.tolist(),
        curve.skipped_lines,
        curve.first_skipped,
        curve.ignored_records,
        curve.fields_seen,
        curve.oversized_steps,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(lines(), max_size=25), min_size=1, max_size=3), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_fast_path_equals_json_loads(contents: list[list[str]], newline: str, trailing: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, body in enumerate(contents):
            path = Path(tmp) / f"train-{i:06d}.jsonl"
            text = newline.join(body) + (newline if trailing else "")
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
            files.append(LogFile(path, path.name))
        assert _read(files, fast=True) == _read(files, fast=False)


specs = st.builds(
    ReadSpec,
    metric=st.sampled_from(["loss", "lr", "x"]),
    step_key=st.sampled_from(["step", "x", "lr"]),
    record_filter=st.sampled_from(
        [None, ("type", "step"), ("type", "banner"), ("type", "1"), ("x", "null"), ("lr", "")]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(lines(), max_size=25), min_size=1, max_size=2), specs)
def test_fast_path_equals_json_loads_for_any_step_key_metric_and_filter(
    contents: list[list[str]], spec: ReadSpec
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, body in enumerate(contents):
            path = Path(tmp) / f"log-{i}.jsonl"
            path.write_bytes("\n".join(body).encode("utf-8", "surrogatepass"))
            files.append(LogFile(path, path.name))
        assert _read(files, True, spec) == _read(files, False, spec)


def test_generic_jsonl_filter_and_step_key(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(
        '{"it": 1, "phase": "train", "loss": 2.0}\n'
        '{"it": 1, "phase": "eval", "loss": 9.0}\n'
        '{"it": 2, "phase": "train", "loss": 1.5, "epoch": 1}\n'
        '{"it": 3, "phase": "train"}\n'
        '{"it": 4, "phase": "train", "loss": NaN}\n'
    )
    for fast in (True, False):
        curve = read_jsonl([LogFile(path, "m")], ReadSpec(step_key="it", record_filter=("phase", "train")), fast=fast)
        assert curve.steps.tolist() == [1, 2, 4]
        assert curve.values.tolist() == [2.0, 1.5, math.inf]
        assert curve.line.tolist() == [1, 3, 5]
        assert curve.ignored_records == 1  # a train record without a loss
        assert curve.format == "jsonl"
        by_epoch = read_jsonl([LogFile(path, "m")], ReadSpec(step_key="it", record_filter=("epoch", "1")), fast=fast)
        assert by_epoch.steps.tolist() == [2]  # a number filter matches by its JSON text
        unfiltered = read_jsonl([LogFile(path, "m")], ReadSpec(step_key="it"), fast=fast)
        assert unfiltered.steps.tolist() == [1, 2, 4] and unfiltered.values.tolist()[0] == 9.0  # the last at step 1


def test_chunk_boundaries_and_a_line_longer_than_a_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", 64)
    body = [
        json.dumps({"type": "step", "step": s, "loss": 1.0 / (s + 1), "pad": "x" * (s % 7) * 30}) for s in range(200)
    ]
    body[50] = body[50][:-3]  # broken line in the middle of a chunk
    body.insert(120, "\r")  # a lone CR: this chunk goes through the Python path
    path = tmp_path / "train-1.jsonl"
    path.write_text("\n".join(body))  # no final newline
    files = [LogFile(path, "train-1.jsonl")]
    fast, slow = _read(files, fast=True), _read(files, fast=False)
    assert fast == slow
    assert len(fast[0]) == 199 and fast[4] == 1  # type: ignore[arg-type]


def test_numbers_convert_exactly_as_python_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**63, size=20_000, dtype=np.int64).view(np.float64)
    texts = [repr(float(x)) for x in bits if math.isfinite(x)]
    texts += [f"{x:.25e}" for x in rng.normal(size=2000)] + [str(x) for x in rng.integers(-(10**18), 10**18, 2000)]
    path = tmp_path / "train-1.jsonl"
    path.write_text("".join(f'{{"type": "step", "step": {i}, "loss": {t}}}\n' for i, t in enumerate(texts)))
    curve = read_dlm([LogFile(path, "x")], fast=True)
    expected = [float(t) for t in texts]
    got = curve.values.tolist()
    assert all(a == b or (math.isinf(a) and math.isinf(b)) for a, b in zip(got, expected, strict=True))


def test_the_missing_metric_hint_comes_from_the_first_ignored_record(tmp_path: Path) -> None:
    # Line 1 is deferred to json.loads (surrounding whitespace), line 2 is ignored by the scanner
    # itself (int(1e400) fails): the hint must still name line 1's fields, as the slow path does.
    path = tmp_path / "train-1.jsonl"
    path.write_text(' {"type": "step", "step": 0.0, "loss": ""}\t\n{"type": "step", "loss": 0.0, "step": 1e400}\n')
    files = [LogFile(path, "train-1.jsonl")]
    assert _read(files, fast=True) == _read(files, fast=False)
    assert read_dlm(files, fast=True).fields_seen == ("type", "step", "loss")
