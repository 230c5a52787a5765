"""Property tests: the product equals the seed probe's rules (tests/seed_reference.py) to float rounding."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from drift.config import RunSettings, SpikeMethod, build_settings
from drift.curve import Curve
from drift.errors import LogError
from drift.evaluate import evaluate
from drift.gate import RunResult, judge
from drift.metrics import Metrics, compute_metrics, sample_indices, spike_mask
from drift.readers import jsonl
from drift.readers.common import LogFile
from drift.readers.jsonl import read_dlm
from drift.render.messages import message as message_of
from tests import seed_reference as ref
from tests.conftest import dlm_fixture

INF, NAN = math.inf, math.nan


def examples(count: int) -> settings:
    """Modest example counts (the whole file runs in well under a minute), no deadline."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow "explain"
        report_multiple_bugs=False,  # shrink one failure, not each distinct one in turn
    )


def same_float(a: float, b: float) -> bool:
    """Equal to float rounding; NaN equals NaN, an infinity only itself."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    if a == 0.0 and b == 0.0:  # -0.0 and 0.0 print differently ("-0.000"), so they differ here
        return math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def as_collected(values: list[float]) -> np.ndarray:
    """Non-finite losses as the seed's collector stores them: +inf."""
    return np.array([v if math.isfinite(v) else INF for v in values], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------

realistic = st.floats(min_value=1e-3, max_value=50.0)
small_ints = st.integers(-4, 6).map(float)
magnitudes = st.builds(
    lambda sign, mantissa, exponent: sign * mantissa * 10.0**exponent,
    st.sampled_from([1.0, -1.0]),
    st.floats(min_value=1.0, max_value=9.99),
    st.integers(-300, 299),
)
any_finite = st.floats(allow_nan=False, allow_infinity=False)
bounded = st.floats(min_value=-1e300, max_value=1e300)
value_pools = st.sampled_from(
    [realistic, small_ints, magnitudes, any_finite, bounded, st.sampled_from([0.0, -0.0, 1.0])]
)
non_finite = st.sampled_from([INF, -INF, NAN])


@st.composite
def base_curves(draw: st.DrawFn) -> list[float]:
    shape = draw(st.sampled_from(["elements", "segments", "equal", "decay", "walk"]))
    if shape == "elements":
        pool = draw(value_pools)
        return draw(st.lists(pool, min_size=1, max_size=300))
    if shape == "segments":
        pool = draw(value_pools)
        runs = draw(st.lists(st.tuples(pool, st.integers(1, 40)), min_size=1, max_size=25))
        return [value for value, length in runs for _ in range(length)][:300]
    if shape == "equal":
        value = draw(st.one_of(realistic, small_ints, magnitudes))
        return [value] * draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 300))
    if shape == "decay":
        start, floor = draw(st.floats(0.5, 10.0)), draw(st.floats(0.0, 2.0))
        rate, noise = draw(st.floats(0.0, 0.3)), draw(st.sampled_from([0.0, 1e-3, 0.05, 0.5]))
        curve = start * np.exp(-rate * np.arange(n)) + floor + noise * rng.standard_normal(n)
        if draw(st.booleans()):
            curve = np.round(curve, draw(st.integers(0, 3)))  # repeated values, exact ties
        return [float(v) for v in curve]
    steps = rng.choice([-1.0, 0.0, 0.0, 1.0, 2.0], size=n)
    return [float(v) for v in np.cumsum(steps)]


@st.composite
def curves(draw: st.DrawFn) -> list[float]:
    values = draw(base_curves())
    mode = draw(st.sampled_from(["finite", "finite", "sprinkled", "start", "all"]))
    if mode == "all":
        return [draw(non_finite) for _ in values]
    if mode in ("sprinkled", "start"):
        spots = draw(st.lists(st.integers(0, len(values) - 1), max_size=max(1, len(values) // 3)))
        if mode == "start":
            spots += list(range(draw(st.integers(1, len(values)))))
        for spot in spots:
            values[spot] = draw(non_finite)
    return values


@st.composite
def windows_for(draw: st.DrawFn, n: int) -> int:
    """Rolling windows from 2 to 400, biased to the short-curve boundary (n deltas vs window)."""
    near = [max(2, n + k) for k in (-2, -1, 0, 1)]
    return draw(st.one_of(st.integers(2, 12), st.integers(2, 400), st.sampled_from(near)))


sigmas = st.one_of(
    st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 10.0]),
    st.floats(min_value=0.0, max_value=10.0, exclude_min=True),
)


def check_metrics(product: Metrics, expected: dict[str, Any]) -> None:
    for name in ("initial_loss", "final_loss", "convergence_ratio", "smoothness"):
        got, want = getattr(product, name), expected[name]
        assert same_float(got, want), f"{name}: product {got!r} != seed {want!r}"
    assert isinstance(product.instability_events, int)
    assert product.instability_events == expected["instability_events"]
    spikes = [i + 1 for i in expected["spike_indices"]]
    assert product.spike_points.tolist() == spikes
    assert product.nonfinite_points.tolist() == expected["nonfinite_indices"]


@examples(400)
@given(data=st.data())
def test_compute_metrics_equals_seed(data: st.DataObject) -> None:
    values = as_collected(data.draw(curves(), label="curve"))
    window = data.draw(windows_for(values.size), label="window")
    sigma = data.draw(sigmas, label="sigma")
    expected = ref.metrics(values.copy(), window, sigma)
    with np.errstate(all="ignore"):
        product = compute_metrics(values.copy(), rolling_window=window, spike_sigma=sigma)
    check_metrics(product, expected)


# --------------------------------------------------------------------------------------------
# Spike rule on raw deltas
# --------------------------------------------------------------------------------------------


@st.composite
def delta_arrays(draw: st.DrawFn) -> np.ndarray:
    pool = draw(
        st.sampled_from(
            [
                small_ints,
                st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5]),
                realistic.map(lambda v: v - 25.0),
                magnitudes,
                bounded,
                any_finite,
                st.one_of(small_ints, st.sampled_from([INF, -INF])),
            ]
        )
    )
    if draw(st.booleans()):
        deltas = draw(st.lists(pool, min_size=0, max_size=300))
    else:
        runs = draw(st.lists(st.tuples(pool, st.integers(1, 30)), min_size=1, max_size=20))
        deltas = [value for value, length in runs for _ in range(length)][:300]
    return np.array(deltas, dtype=np.float64)


@examples(400)
@given(data=st.data())
def test_spike_mask_equals_seed(data: st.DataObject) -> None:
    deltas = data.draw(delta_arrays(), label="deltas")
    window = data.draw(windows_for(deltas.size + 1), label="window")
    sigma = data.draw(sigmas, label="sigma")
    with np.errstate(all="ignore"):
        expected = ref.spike_indices(deltas.copy(), window, sigma)
        mask = spike_mask(deltas.copy(), window, sigma)
    assert mask.dtype == np.bool_
    assert mask.shape == deltas.shape
    assert int(mask.sum()) == len(expected)
    assert np.flatnonzero(mask).tolist() == expected


# --------------------------------------------------------------------------------------------
# Down-sampling
# --------------------------------------------------------------------------------------------


def check_sample(n: int, cap: int) -> None:
    got = sample_indices(n, cap).tolist()
    seed = ref.sample_positions(n, cap)
    assert len(got) <= cap
    assert got == sorted(set(got)), "indices must be strictly increasing"
    if n > 0:
        assert got[0] == 0 and got[-1] == n - 1
        assert all(0 <= i < n for i in got)
    else:
        assert got == []
    if len(seed) <= cap:
        assert got == seed
    else:
        # The product's one deliberate deviation: the seed's rule again with cap - 1.
        assert len(seed) == cap + 1
        assert got == ref.sample_positions(n, cap - 1)


def test_sample_indices_default_cap_exhaustive() -> None:
    for n in range(6000):
        check_sample(n, ref.SAMPLE_CAP)
    assert sample_indices(1024).size <= 512
    assert len(ref.sample_positions(1024)) == 513  # the seed's overshoot the product corrects


@examples(400)
@given(
    n=st.one_of(st.integers(0, 3000), st.integers(0, 300_000)),
    cap=st.one_of(st.just(512), st.integers(2, 40), st.integers(2, 2000)),
)
def test_sample_indices_equals_seed(n: int, cap: int) -> None:
    check_sample(n, cap)


# --------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------


def make_curve(values: np.ndarray, steps: np.ndarray | None = None) -> Curve:
    n = values.size
    if steps is None:
        steps = np.arange(n, dtype=np.int64)
    return Curve(
        steps=np.asarray(steps, dtype=np.int64),
        values=np.asarray(values, dtype=np.float64),
        file_index=np.zeros(n, dtype=np.int64),
        line=np.arange(1, n + 1, dtype=np.int64),
        files=("f.jsonl",),
    )


@st.composite
def run_settings(draw: st.DrawFn, n: int) -> RunSettings:
    # original-checks alone gives the probe's verdicts, whichever spike method is selected.
    return RunSettings(
        spike_method=draw(st.sampled_from(list(SpikeMethod))),
        original_checks=True,
        min_smoothness=draw(st.one_of(st.sampled_from([0.0, 0.5, 0.7, 0.9, 1.0]), st.floats(0.0, 1.0))),
        max_convergence_ratio=draw(
            st.one_of(st.sampled_from([0.7, 1.0, 0.1, 2.5]), st.floats(0.0, 10.0, exclude_min=True))
        ),
        max_instability_events=draw(st.one_of(st.just(0), st.integers(0, 10), st.integers(0, 400))),
        min_steps=draw(st.one_of(st.integers(2, 12), st.sampled_from([max(2, n - 1), max(2, n), n + 1]))),
        rolling_window=draw(windows_for(n)),
        spike_sigma=draw(sigmas),
    )


def reference_judgement(steps: np.ndarray, values: np.ndarray, s: RunSettings) -> dict[str, Any]:
    if values.size < s.min_steps:
        return {"verdict": "skip", "score": None, "message": ref.skip_message(values.size, s.min_steps)}
    m = ref.metrics(values.copy(), s.rolling_window, s.spike_sigma)
    verdict, score, message = ref.verdict(m, s.min_smoothness, s.max_convergence_ratio, s.max_instability_events)
    return {
        "verdict": verdict,
        "score": score,
        "message": message,
        "metrics": m,
        "curve": ref.downsample(steps, values),
    }


def check_judgement(result: RunResult, expected: dict[str, Any], n: int) -> None:
    assert result.verdict.value == expected["verdict"]
    assert message_of(result) == expected["message"]
    if expected["score"] is None:
        assert result.score is None
        return
    assert result.score is not None and result.metrics is not None
    assert same_float(result.score, expected["score"])
    check_metrics(result.metrics, expected["metrics"])
    sampled = list(result.curve_sampled)
    seed_curve = expected["curve"]
    assert len(sampled) <= ref.SAMPLE_CAP
    assert len(sampled) == 0 or (sampled[0] == seed_curve[0] and sampled[-1] == seed_curve[-1])
    if len(seed_curve) <= ref.SAMPLE_CAP:
        assert len(sampled) == len(seed_curve)
        for (step, value), (seed_step, seed_value) in zip(sampled, seed_curve, strict=True):
            assert step == seed_step and same_float(value, seed_value)


@examples(300)
@given(data=st.data())
def test_judge_equals_seed(data: st.DataObject) -> None:
    values = as_collected(data.draw(curves(), label="curve"))
    n = values.size
    gaps = data.draw(st.lists(st.integers(1, 50), min_size=n, max_size=n), label="gaps")
    steps = np.cumsum(np.array(gaps, dtype=np.int64)) + data.draw(st.integers(-100, 100), label="first step")
    s = data.draw(run_settings(n), label="settings")
    expected = reference_judgement(steps, values, s)
    with np.errstate(all="ignore"):
        result = judge("run", make_curve(values.copy(), steps), s)
    check_judgement(result, expected, n)


@examples(15)
@given(
    n=st.one_of(st.sampled_from([511, 512, 513, 1023, 1024, 1025, 1536, 2048]), st.integers(300, 2100)),
    seed=st.integers(0, 2**32 - 1),
    sprinkle=st.booleans(),
)
def test_judge_long_curves_equal_seed(n: int, seed: int, sprinkle: bool) -> None:
    rng = np.random.default_rng(seed)
    values = 4.0 * np.exp(-np.arange(n) / 300.0) + 0.5 + 0.02 * rng.standard_normal(n)
    if sprinkle:
        values[rng.integers(0, n, size=5)] = INF
    steps = np.arange(n, dtype=np.int64) * 2 + 7
    s = RunSettings(spike_method=SpikeMethod.SEED, original_checks=True)
    expected = reference_judgement(steps, values, s)
    result = judge("run", make_curve(values.copy(), steps), s)
    check_judgement(result, expected, n)


@pytest.mark.parametrize("window", [200, 400])
def test_spike_mask_long_curve_in_chunks_equals_seed(window: int) -> None:
    """Long enough that the product's rolling median works through several row chunks."""
    rng = np.random.default_rng(window)
    n = 45_000
    values = np.round(5.0 * np.exp(-np.arange(n) / 9000.0) + 0.05 * rng.standard_normal(n), 2)
    values[rng.integers(0, n, size=40)] += 1.0
    deltas = np.diff(values)
    expected = ref.spike_indices(deltas, window, 3.0)
    assert expected  # the planted rises are found
    assert np.flatnonzero(spike_mask(deltas, window, 3.0)).tolist() == expected
    assert int(np.sum(deltas > 0)) > 4_000_000 // window  # more rising points than one chunk holds


def test_defaults_are_the_seeds() -> None:
    s = RunSettings(spike_method=SpikeMethod.SEED, original_checks=True)
    for name, value in ref.SEED_DEFAULTS.items():
        assert getattr(s, name) == value, name
    assert s.metric == "loss"


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------

PAD = st.sampled_from(["", "", "", " ", "\t", "  \t", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"])


def mostly(common: st.SearchStrategy[object], *rare: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``common`` about 70% of the time, else one of ``rare``."""
    return st.integers(0, 9).flatmap(lambda roll: common if roll < 7 else st.one_of(*rare))


steps_in_json = mostly(
    st.integers(-3, 40),
    st.sampled_from([2**62, 2**63 - 1, -(2**63)]),
    st.floats(min_value=-5.0, max_value=45.0),
    st.sampled_from(["7", " 8 ", "x", "3.5", "", "1_0", "-2", "0x10"]),
    st.booleans(),
    st.none(),
    st.just(NAN),
    st.lists(st.integers(0, 3), max_size=2),
)
losses_in_json = mostly(
    st.floats(min_value=0.0, max_value=20.0),
    st.floats(),  # NaN, Infinity, -Infinity as json.dumps writes them, and every finite float
    st.sampled_from([NAN, INF, -INF]),
    st.integers(-10, 10**6),
    st.sampled_from(["0.5", "abc", "nan", "inf", "-Infinity", "1e3", " 2.5 ", "", "1e400", "1_5"]),
    st.booleans(),
    st.none(),
    st.lists(st.floats(0.0, 1.0), max_size=2),
    st.just({"v": 1.0}),
)
EXTRAS = {"lr": 0.0001, "grad_norm": 0.42, "tokens_per_sec": 1234.5, "timestamp": "2026-04-26T06:25:17"}


@st.composite
def step_record(draw: st.DrawFn, metric: str) -> str:
    record: dict[str, object] = {"type": "step"}
    if draw(st.integers(0, 9)) > 0:
        record["step"] = draw(steps_in_json)
    if draw(st.integers(0, 9)) > 0:
        record[metric] = draw(losses_in_json)
    if metric != "loss" and draw(st.booleans()):
        record["loss"] = draw(losses_in_json)
    for key in draw(st.lists(st.sampled_from(sorted(EXTRAS)), unique=True)):
        record[key] = EXTRAS[key]
    if draw(st.integers(0, 7)) == 0:
        record["note"] = draw(st.sampled_from(["日本語", "é\x85", "\u2028sep", "tab\there"]))
    order = draw(st.permutations(list(record)))
    return json.dumps({key: record[key] for key in order}, ensure_ascii=draw(st.booleans()))


@st.composite
def other_record(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["banner", "run_complete", "delta", "Step", "STEP", " step", None, 1, "missing"]))
    record: dict[str, object] = {"step": draw(st.integers(0, 40)), "loss": draw(st.floats(0.0, 9.0))}
    if kind != "missing":
        record["type"] = kind
    if draw(st.booleans()):
        record["run_id"] = 1
    order = draw(st.permutations(list(record)))
    return json.dumps({key: record[key] for key in order})


@st.composite
def broken_line(draw: st.DrawFn, metric: str) -> str:
    if draw(st.booleans()):
        whole = draw(step_record(metric))
        cut = draw(st.integers(1, len(whole) - 1))
        text = whole[:cut]
    else:
        text = draw(
            st.sampled_from(
                [
                    "not json",
                    "{'type': 'step', 'step': 1, 'loss': 1.0}",
                    '{"type": "step", "step": 1, "loss": 1.0,}',
                    '{"type": "step", "step": 1, "loss": nan}',
                    "NaNx",
                    "{",
                    '{"type": "step"} trailing',
                    "\ufeff{}",
                    '{"type": "step", "step": 1, "loss": 1.0}\x00',
                ]
            )
        )
    assume(text.strip())
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.strip())
    return text


@st.composite
def duplicate_key_record(draw: st.DrawFn, metric: str) -> str:
    step = draw(st.integers(0, 40))
    first, second = draw(st.floats(0.0, 9.0)), draw(st.floats(0.0, 9.0))
    return f'{{"type": "step", "step": {step}, "{metric}": {first!r}, "{metric}": {second!r}, "step": {step + 1}}}'


# Number tokens written by hand: forms json.dumps never writes ("-0", "1E+2", long integers).
NUMBER_TOKENS = [
    "0", "-0", "1", "-1", "7", "12", "0.0", "-0.0", "-0e0", "0E-5", "1e2", "1E+2", "2.5", "-2.5", "3.7", "-3.7",
    "1e-400", "4.9e-324", "1.7976931348623157e308", "9007199254740993", "123456789012345678901234567890",
    "9223372036854775807", "-9223372036854775808", "-9.223372036854775808e18", "NaN",
]  # fmt: skip
STEP_TOKENS = [*NUMBER_TOKENS, "true", "false", "null", '"3"', '"-0"', "[1]", "{}", '"x"']
LOSS_TOKENS = [*NUMBER_TOKENS, "Infinity", "-Infinity", "1e400", "-1e400", "true", "null", '"0.5"', '"-0"', "[1]"]
RARE_TOKENS = ["9223372036854775808", "-9223372036854775809", "9.3e18", "Infinity", "1" + "0" * 400]


@st.composite
def literal_record(draw: st.DrawFn, metric: str) -> str:
    """A step record written token by token, compact or spaced, keys sometimes escaped."""

    def key(name: str) -> str:
        if draw(st.integers(0, 7)) == 0:
            return f'"\\u{ord(name[0]):04x}{name[1:]}"'
        return f'"{name}"'

    def token(pool: list[str]) -> str:
        return draw(st.sampled_from(RARE_TOKENS)) if draw(st.integers(0, 29)) == 0 else draw(st.sampled_from(pool))

    fields = [(key("type"), draw(st.sampled_from(['"step"'] * 6 + ['"Step"', "1", "null"])))]
    if draw(st.integers(0, 9)) > 0:
        fields.append((key("step"), token(STEP_TOKENS)))
    if draw(st.integers(0, 9)) > 0:
        fields.append((key(metric), token(LOSS_TOKENS)))
    extras = [('"lr"', "0.0001"), ('"note"', '"x"'), ('"inner"', '{"step": 99, "loss": 1}'), ('"arr"', "[1, 2]")]
    fields += draw(st.lists(st.sampled_from(extras), max_size=2, unique=True))
    if draw(st.integers(0, 5)) == 0 and len(fields) > 1:
        fields.append(draw(st.sampled_from(fields)))  # a duplicate key: the last one wins
    fields = draw(st.permutations(fields))
    comma, colon = draw(st.sampled_from([(",", ":"), (", ", ": "), (",\t", ":\t"), (" , ", " : ")]))
    inner = comma.join(f"{name}{colon}{value}" for name, value in fields)
    return "{" + draw(st.sampled_from(["", " "])) + inner + draw(st.sampled_from(["", " "])) + "}"


@st.composite
def log_line(draw: st.DrawFn, metric: str, first: bool = False) -> str:
    kinds = ["step"] * 6 + ["literal"] * 4 + ["other", "other", "nondict", "blank", "dup"]
    kind = draw(st.sampled_from(kinds + ([] if first else ["broken"])))
    if kind == "literal":
        text = draw(literal_record(metric))
    elif kind == "step":
        text = draw(step_record(metric))
    elif kind == "other":
        text = draw(other_record())
    elif kind == "nondict":
        text = draw(st.sampled_from(["[1, 2]", "3", '"step"', "null", "true", "NaN", "Infinity", "-Infinity", "[]"]))
    elif kind == "blank":
        return draw(PAD)
    elif kind == "broken":
        text = draw(broken_line(metric))
    else:
        text = draw(duplicate_key_record(metric))
    return draw(PAD) + text + draw(PAD)


@st.composite
def log_file(draw: st.DrawFn, metric: str) -> str:
    count = draw(st.integers(0, 40))
    lines = [draw(log_line(metric, first=index == 0)) for index in range(count)]
    break_first: bool = draw(st.sampled_from([False] * 11 + [True]))
    if lines and break_first:
        lines[0] = draw(broken_line(metric))  # the rare broken first line: an error
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    if draw(st.integers(0, 5)) == 0:  # mixed endings, still no lone CR
        return "".join(line + draw(st.sampled_from(["\n", "\r\n"])) for line in lines)
    text = newline.join(lines)
    trailing: bool = draw(st.booleans())
    if lines and trailing:
        text += newline
    return text


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def small_chunks(size: int | None) -> contextlib.AbstractContextManager[object]:
    """Make the reader stream in tiny chunks, so that chunk edges fall everywhere in small files."""
    if size is None:
        return contextlib.nullcontext()
    return mock.patch.object(jsonl, "CHUNK_BYTES", size)


def write_logs(folder: Path, texts: list[str]) -> list[LogFile]:
    logs = folder / "logs"
    logs.mkdir()
    files = []
    for index, text in enumerate(texts, start=1):
        name = f"train-{index:06d}-20260426T06{index + 10:02d}00.jsonl"
        (logs / name).write_bytes(text.encode("utf-8"))
        files.append(LogFile(logs / name, f"logs/{name}"))
    return sorted(files, key=lambda f: f.path.name)


@examples(250)
@given(data=st.data())
def test_read_dlm_equals_seed_collector(data: st.DataObject) -> None:
    metric = data.draw(st.sampled_from(["loss", "loss", "loss", "eval_loss"]), label="metric")
    texts = data.draw(st.lists(log_file(metric), min_size=1, max_size=3), label="files")
    chunk = data.draw(st.sampled_from([None, None, 1, 2, 7, 64]), label="chunk bytes")
    with tempfile.TemporaryDirectory() as tmp, small_chunks(chunk):
        files = write_logs(Path(tmp), texts)
        try:
            expected = ref.collect_detailed([f.path for f in files], metric)
        except ref.ReferenceLogError as exc:
            with pytest.raises(LogError) as caught:
                read_dlm(files, metric)
            assert caught.value.line == 1
            assert caught.value.file == f"logs/{exc.path.name}"
            return
        except OverflowError:
            # The seed crashes (int(inf), float(10**400)); the product must not.
            with contextlib.suppress(LogError):  # a later file's broken first line is still an error
                read_dlm(files, metric)
            return
        curve = read_dlm(files, metric)
        plain = ref.collect([f.path for f in files], metric)

    # A step beyond int64 cannot be in the curve (the seed would crash on it, after counting it).
    expected.points = {k: v for k, v in expected.points.items() if INT64_MIN <= k <= INT64_MAX}
    expected.origin = {k: v for k, v in expected.origin.items() if INT64_MIN <= k <= INT64_MAX}
    plain = expected.points if len(plain) != len(expected.points) else plain
    got = dict(zip(curve.steps.tolist(), curve.values.tolist(), strict=True))
    # Both sides store a non-finite loss as +inf, never NaN, so plain dict equality is exact.
    assert not any(math.isnan(v) for v in got.values())
    assert got == plain
    assert sorted(got) == sorted(expected.points)
    for step, value in expected.points.items():
        assert same_float(got[step], value), f"step {step}: product {got[step]!r} != seed {value!r}"
    assert curve.steps.tolist() == sorted(expected.points)
    assert curve.skipped_lines == expected.broken_lines
    origins = {
        step: (int(fi), int(line))
        for step, fi, line in zip(curve.steps.tolist(), curve.file_index, curve.line, strict=True)
    }
    assert origins == expected.origin
    assert curve.files == tuple(f.display for f in files)


def seed_run(paths: list[Path], s: RunSettings) -> dict[str, Any]:
    """The seed probe's ``run`` from the log files on: SKIP when short, else metrics and verdict."""
    points = ref.collect(paths, s.metric)
    if len(points) < s.min_steps:  # the seed decides SKIP before it builds any array
        return {"verdict": "skip", "score": None, "message": ref.skip_message(len(points), s.min_steps)}
    ordered = sorted(points.items())
    steps = np.array([step for step, _ in ordered], dtype=np.int64)
    values = np.array([value for _, value in ordered], dtype=np.float64)
    return reference_judgement(steps, values, s)


@examples(150)
@given(data=st.data())
def test_reader_and_gate_equal_seed_run(data: st.DataObject) -> None:
    texts = data.draw(st.lists(log_file("loss"), min_size=1, max_size=3), label="files")
    s = RunSettings(
        spike_method=SpikeMethod.SEED,
        original_checks=True,
        min_steps=data.draw(st.integers(2, 12), label="min_steps"),
        rolling_window=data.draw(st.integers(2, 12), label="rolling_window"),
        spike_sigma=data.draw(sigmas, label="spike_sigma"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = write_logs(Path(tmp), texts)
        try:
            expected = seed_run([f.path for f in files], s)
        except ref.ReferenceLogError:
            with pytest.raises(LogError):
                read_dlm(files, s.metric)
            return
        except OverflowError:
            # The seed crashes: int(inf), float(10**400), or a step beyond int64 in its array.
            # The product must not (a later file's broken first line is still an error).
            with contextlib.suppress(LogError):
                judge("run", read_dlm(files, s.metric), s)
            return
        curve = read_dlm(files, s.metric)
    with np.errstate(all="ignore"):
        result = judge("run", curve, s)
    check_judgement(result, expected, len(curve))


def test_skip_message_without_metric_is_the_seeds(tmp_path: Path) -> None:
    """A log whose only step record has no loss: the seed SKIPs with its fixed message."""
    files = write_logs(tmp_path, ['{"type": "step", "step": 0}\n'])
    s = RunSettings(spike_method=SpikeMethod.SEED, original_checks=True)
    expected = seed_run([f.path for f in files], s)
    result = judge("run", read_dlm(files, s.metric), s)
    assert result.verdict.value == expected["verdict"] == "skip"
    assert message_of(result) == expected["message"]


def test_step_beyond_int64_counts_as_the_seed_counts_it(tmp_path: Path) -> None:
    """The seed's collector keeps any Python int step; a short log SKIPs with that count."""
    files = write_logs(
        tmp_path,
        ['{"type": "step", "step": 0, "loss": 1.0}\n{"type": "step", "step": 9223372036854775808, "loss": 0.5}\n'],
    )
    s = RunSettings(spike_method=SpikeMethod.SEED, original_checks=True)
    expected = seed_run([f.path for f in files], s)
    result = judge("run", read_dlm(files, s.metric), s)
    assert result.verdict.value == expected["verdict"] == "skip"
    assert message_of(result) == expected["message"]  # seed: "only 2 step records (< min_steps=10); ..."


def test_integer_minus_zero_loss_is_a_plain_zero(tmp_path: Path) -> None:
    """json.loads reads the integer literal -0 as int 0, so float() gives +0.0, never -0.0."""
    files = write_logs(tmp_path, ['{"type": "step", "step": 0, "loss": 1}\n{"type": "step", "step": 1, "loss": -0}\n'])
    curve = read_dlm(files)
    seed = ref.collect([f.path for f in files])
    assert seed == {0: 1.0, 1: 0.0} and math.copysign(1.0, seed[1]) == 1.0
    assert same_float(float(curve.values[-1]), seed[1]), f"product {curve.values[-1]!r}, seed {seed[1]!r}"
    s = RunSettings(spike_method=SpikeMethod.SEED, original_checks=True, min_steps=2)
    expected = seed_run([f.path for f in files], s)  # "... convergence_ratio=0.00, ... final_loss=0.000; ..."
    assert message_of(judge("run", curve, s)) == expected["message"]


def test_read_dlm_large_files_equal_seed_collector(tmp_path: Path) -> None:
    """Files past several MB, as a reader that streams in chunks sees them: CRLF and broken lines
    around every few-MB mark, resumed (repeated) steps, and one line longer than 9 MB."""
    rng = np.random.default_rng(7)
    parts = []
    for step in range(150_000):
        loss = float(rng.uniform(0.5, 5.0))
        text = f'{{"type":"step","step":{step},"loss":{loss!r},"lr":0.0001}}'
        if step % 997 == 0:
            text = f'{{"type": "step", "step": {step - 5}, "loss": {loss!r}}}'  # a repeat, spaced
        if step % 1500 == 0:
            text += "\r"  # CRLF line ending
        if step % 2001 == 1000:
            text = text[:25]  # a broken line
        if step % 3001 == 7:
            text = f'{{"type":"step","step":{step},"loss":NaN}}'
        parts.append(text + "\n")
    first = "".join(parts)
    huge = '{"type": "step", "step": 3, "note": "' + "x" * (9 << 20) + '", "loss": 0.25}'
    second = (
        f'{{"type":"banner"}}\n{huge}\n{{"type":"step","step":4,"loss":-0}}\n{{"type":"step","step":5,"loss":1e400}}'
    )
    files = write_logs(tmp_path, [first, second])
    assert files[0].path.stat().st_size > 9 << 20

    expected = ref.collect_detailed([f.path for f in files])
    curve = read_dlm(files)
    got = dict(zip(curve.steps.tolist(), curve.values.tolist(), strict=True))
    assert sorted(got) == sorted(expected.points)
    assert all(same_float(got[k], v) for k, v in expected.points.items())
    assert curve.skipped_lines == expected.broken_lines > 0
    origins = {
        k: (int(f), int(line)) for k, f, line in zip(curve.steps.tolist(), curve.file_index, curve.line, strict=True)
    }
    assert origins == expected.origin


def test_read_dlm_broken_first_line_in_a_later_file(tmp_path: Path) -> None:
    files = write_logs(tmp_path, ['{"type": "step", "step": 1, "loss": 2.0}\n', '{"type": "st\n'])
    with pytest.raises(ref.ReferenceLogError):
        ref.collect([f.path for f in files])
    with pytest.raises(LogError) as caught:
        read_dlm(files)
    assert caught.value.line == 1 and caught.value.file == files[1].display


# --------------------------------------------------------------------------------------------
# End to end on the real dlm fixture
# --------------------------------------------------------------------------------------------


def test_fixture_end_to_end_equals_seed(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    logs = workspace / "store" / "logs"
    logs.mkdir(parents=True)
    log = logs / "train-000001-20260426T062514.jsonl"
    shutil.copyfile(dlm_fixture(), log)

    outcome = evaluate(build_settings({"path": "store", "original-checks": "true"}, workspace), workspace)
    assert len(outcome.runs) == 1
    run = outcome.runs[0]

    points = ref.collect([log])
    d = ref.SEED_DEFAULTS
    assert len(points) >= d["min_steps"]
    ordered = sorted(points.items())
    steps = np.array([s for s, _ in ordered], dtype=np.int64)
    values = np.array([v for _, v in ordered], dtype=np.float64)
    m = ref.metrics(values, d["rolling_window"], d["spike_sigma"])
    verdict, score, message = ref.verdict(
        m, d["min_smoothness"], d["max_convergence_ratio"], d["max_instability_events"]
    )

    assert run.num_steps == len(points) == 30
    assert run.score is not None and run.metrics is not None
    check_metrics(run.metrics, m)
    assert run.verdict.value == verdict
    assert same_float(run.score, score)
    assert message_of(run) == message
    assert list(run.curve_sampled) == ref.downsample(steps, values)
    assert outcome.verdict.value == verdict
