"""The robust spike detector: invariances, no events on curves that never rise, large spikes found."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from drift.metrics import compute_metrics
from drift.robust import heights, robust_events, threshold
from tests.conftest import shared

# Small integers make shifting and power-of-two scaling exact in floating point, so the detector
# must give identical answers, not merely close ones.
integer_curves = hnp.arrays(np.float64, st.integers(3, 600), elements=st.integers(-1000, 1000).map(float))
windows = st.integers(2, 40)
sigmas = st.sampled_from([2.0, 3.5, 5.0, 8.0])


# A curve, a detector setting, an integer shift and a power-of-two scale: both exact.
def shift_and_scale_cases(test: Callable[..., None]) -> Callable[..., None]:
    given_cases = given(integer_curves, windows, sigmas, st.integers(-(10**6), 10**6), st.integers(-20, 20))
    return settings(max_examples=200, deadline=None)(given_cases(test))


def _events(values: np.ndarray, window: int, sigma: float) -> tuple[list[int], list[float]]:  # type: ignore[type-arg]
    found = robust_events(values, window=window, sigma=sigma)
    return found.points.tolist(), found.z.tolist()


@shift_and_scale_cases
def test_shift_and_scale_do_not_change_the_events(
    values: np.ndarray,  # type: ignore[type-arg]
    window: int,
    sigma: float,
    shift: int,
    power: int,
) -> None:
    reference = _events(values, window, sigma)
    # Shifting can change the last bit of a trend carried along its slope; a step whose height
    # is within a hair of the threshold may then fall either side. Outside that, nothing moves.
    assume(_events(values, window, sigma * (1 - 1e-9))[0] == _events(values, window, sigma * (1 + 1e-9))[0])
    for moved in (values + shift, values * 2.0**power):
        points, heights = _events(moved, window, sigma)
        assert points == reference[0]
        assert np.allclose(heights, reference[1], rtol=1e-9, atol=0)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(3, 600), elements=st.floats(0, 1e6)), windows, sigmas)
def test_a_curve_that_never_rises_has_no_events(steps: np.ndarray, window: int, sigma: float) -> None:  # type: ignore[type-arg]
    values = 1e7 - np.cumsum(steps)  # monotone non-increasing, flat stretches included
    assert robust_events(values, window=window, sigma=sigma).points.size == 0


@settings(max_examples=150, deadline=None)
@given(
    st.integers(300, 3000),
    st.floats(0.001, 0.2),
    st.floats(-1.0, 1.0),
    st.integers(0, 2**32 - 1),
    st.floats(0.05, 0.95),
    st.floats(25.0, 1000.0),
)
def test_every_large_injected_spike_is_found(  # noqa: PLR0917 - hypothesis passes the drawn values by position
    n: int, noise: float, slope: float, seed: int, where: float, size: float
) -> None:
    """A rise of 25 noise units or more above a smooth trend is always reported, at its step.

    The trend falls by at most half the spike per step: a "spike" smaller than the step's own
    descent is not a loss increase at all, and the detector only reports increases."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    amplitude = min(3.0, size * noise * n / 6 / 3)  # steepest descent: amplitude * 3 / n per step
    values = amplitude * np.exp(-t / (n / 3)) + slope * noise * t / n + rng.uniform(-1, 1, n) * noise * np.sqrt(3)
    at = int(where * (n - 4)) + 2
    values[at] += size * noise
    found = robust_events(values, window=20, sigma=5.0)
    assert np.any(np.abs(found.points - at) <= 1), (at, found.points[:10])


def test_the_default_detector_is_quiet_on_pure_noise_and_finds_a_spike() -> None:
    rng = np.random.default_rng(1)
    values = np.exp(-np.arange(1000) / 300) + rng.normal(0, 0.01, 1000)
    assert compute_metrics(values, rolling_window=10, spike_sigma=3.0, method="robust").instability_events == 0
    assert compute_metrics(values, rolling_window=10, spike_sigma=3.0, method="seed").instability_events > 5
    values[500] += 0.2  # 20 noise units
    robust = compute_metrics(values, rolling_window=10, spike_sigma=3.0, method="robust")
    assert robust.spike_points.tolist() == [500] and robust.spike_z is not None and robust.spike_z[0] > 10


# --- the seed's rule, through the same properties ------------------------------------------------
def _seed_events(values: np.ndarray, window: int, sigma: float) -> list[int]:  # type: ignore[type-arg]
    return compute_metrics(values, rolling_window=window, spike_sigma=sigma, method="seed").spike_points.tolist()


@shift_and_scale_cases
def test_seed_rule_ignores_shift_and_scale(
    values: np.ndarray,  # type: ignore[type-arg]
    window: int,
    sigma: float,
    shift: int,
    power: int,
) -> None:
    # Integer curves: the deltas of a shifted curve are the same numbers, and a power-of-two scale is exact.
    reference = _seed_events(values, window, sigma)
    assert _seed_events(values + shift, window, sigma) == reference
    assert _seed_events(values * 2.0**power, window, sigma) == reference


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(3, 600), elements=st.floats(0, 1e6)), windows, sigmas)
def test_seed_rule_finds_nothing_on_a_curve_that_never_rises(steps: np.ndarray, window: int, sigma: float) -> None:  # type: ignore[type-arg]
    assert _seed_events(1e7 - np.cumsum(steps), window, sigma) == []


@settings(max_examples=150, deadline=None)
@given(st.integers(50, 3000), st.floats(0.001, 0.2), st.integers(0, 2**32 - 1), st.floats(0.05, 0.95))
def test_seed_rule_finds_a_large_injected_spike(n: int, noise: float, seed: int, where: float) -> None:
    """A rise of 25 times the largest possible noise change is a seed spike, at its step."""
    rng = np.random.default_rng(seed)
    values = 3.0 - np.arange(n) * noise / n + rng.uniform(-1, 1, n) * noise
    at = int(where * (n - 4)) + 2
    values[at] += 25 * 2 * noise
    assert at in _seed_events(values, 10, 3.0)


# --- the start and the end of a curve ---------------------------------------------------------------
def test_a_noisy_fast_falling_start_is_not_a_spike() -> None:
    """The loss, and its noise with it, falls sevenfold in the first hundred steps: the first
    128-step block's noise is mostly the calm part, so the start is measured in shorter blocks."""
    quiet = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        t = np.arange(1000, dtype=np.float64)
        level = 1.0 + 6.0 * np.exp(-t / 30)
        values = level + 0.08 * level * rng.normal(size=t.size)
        quiet += robust_events(values, window=20, sigma=4.4).points.size == 0
    assert quiet == 40


def test_a_rise_with_few_values_on_one_side_needs_to_be_taller() -> None:
    """Next to either end a side's trend is the median of fewer values, so it is noisier; the same
    rise counts for less there than in the middle."""
    values = np.tile([1.0, -1.0], 100)  # the same neighbourhood everywhere
    values[[2, 100, 198]] += 6.0
    z = heights(values, np.array([2, 100, 198]), window=20)
    assert z[0] < z[1] and z[2] < z[1]


def test_the_warmup_bump_of_a_real_run_is_not_a_spike() -> None:
    """Mistral-7B LoRA (../shared/real-logs/curves): the loss rises from 2.50 to 2.84 over its first
    four logged steps while the learning rate warms up; a trend taken from one or two values made it
    an event."""
    curve = json.loads(shared("real-logs", "curves", "mistral-translator-sygoat.json").read_text())
    values = np.asarray(curve["values"], dtype=np.float64)
    assert robust_events(values, window=20, sigma=4.4).points.size == 0


def test_heights_of_the_mirrored_curve_are_its_dips() -> None:
    values = np.array([5.0, 4.0, 5.0, 4.0, 5.0, 4.0, 0.0, 4.0, 5.0, 4.0, 5.0, 4.0, 5.0] * 3)
    dips = heights(-values, np.array([6]), window=6)
    assert dips[0] > 3 and heights(values, np.array([6]), window=6)[0] < 0


def test_a_long_healthy_run_does_not_fail_for_being_long() -> None:
    """Half a million steps of Gaussian noise hold rises of 4.4 standard deviations (about three
    are expected); the threshold grows with the length so that pure noise stays quiet."""
    above_sigma = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        t = np.arange(500_000, dtype=np.float64)
        values = 3.0 * np.exp(-t / 100_000) + 0.5 + rng.normal(0, 0.05, t.size)
        assert robust_events(values, window=20, sigma=4.4).points.size == 0
        above_sigma += int((heights(values, np.flatnonzero(np.diff(values) > 0) + 1, window=20) > 4.4).sum())
    assert above_sigma > 0  # without the longer run's higher threshold these would be events
    assert threshold(4.4, 1000) == 4.4 and threshold(4.4, 10) == 4.4
    assert 5.7 < threshold(4.4, 1_000_000) < 5.8


def test_the_detection_benchmark_runs_and_prints_every_table() -> None:
    """The README's benchmark command keeps working (on few runs; its figures are not assertions)."""
    shared("real-logs", "curves")
    shared("real-logs", "formats")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "detection.py"), "--runs", "8"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for heading in (
        "| detector | false events per 100k healthy steps",
        "Healthy 1,000-step runs with at least one spike event, by noise family",
        "Recall of spikes of exactly 5x the local noise",
        "| oracle threshold t (noise units) |",
        "| curves | tail ratio |",
        "Verdicts, robust (defaults)",
    ):
        assert heading in out, heading
    assert "spikes of at least 5x the local noise that also rise at least 15%" in out
    assert out.count("| robust (defaults) |") == 4  # the main table and the three family tables


def test_the_frontier_table_is_monotone_and_the_oracle_keeps_its_budget() -> None:
    """bench/detection.py --frontier: every (robust-sigma, min-spike-rise) row for each family, and the
    oracle bound. A higher threshold or a higher materiality can only remove events, so the share of
    healthy runs with an event never grows along either; the oracle's rows keep to 1% false alarms."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "detection.py"), "--frontier", "--runs", "8"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    alarms: dict[tuple[str, float, float], float] = {}
    bound: dict[str, float] = {}
    sweep, oracle = done.stdout.split("A bound:")
    for text, table in ((sweep, "detector"), (oracle, "oracle")):
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) != 7 or cells[0] not in ("gaussian", "gaussian-averaged", "heavy-microbatch"):
                continue
            if table == "detector":  # family, robust-sigma, min-spike-rise, runs with an event, recall...
                alarms[(cells[0], float(cells[1]), float(cells[2][:-1]))] = float(cells[3][:-1])
            else:  # family, t, r, runs with an event, ...
                bound[cells[0]] = float(cells[3][:-1])
    assert len(alarms) == 3 * 5 * 4 and set(bound) == {"gaussian", "gaussian-averaged", "heavy-microbatch"}
    assert all(share <= 1.0 for share in bound.values())
    for (family, sigma, rise), share in alarms.items():
        for (f, s, r), other in alarms.items():
            if f == family and s >= sigma and r >= rise:
                assert other <= share, (family, sigma, rise, s, r)
