"""The ``robust`` spike detector: a loss increase that stands out from the local trend by many
times the local noise, with the noise measured robustly and per block of the curve.

Why not the seed's rule: it compares each rise with the median |Δloss| of only ten neighbours.
On pure noise that ratio is itself noisy, and a rise of 3x the median |Δ| is only about two
standard deviations of Δ, so about 2% of the steps of a healthy noisy run become "events".

The robust rule, for a curve y (non-finite values forward-filled, as for every metric):

- *trend*, seen from each side of a step: the median of the ``window // 2`` values next to it,
  carried to the step along the local slope (measured on each side between that median and the
  median of the ``window // 2`` values beyond it; the smaller slope when both sides agree on its
  sign, none when they do not), so a steep descent does not hide a spike behind the lag of a
  median and the start of a plateau does not invent a rise; the step itself is never in its own
  baseline, and a burst shorter than ``window // 4`` steps cannot lift it;
- *noise*: per block of ``BLOCK`` steps, averaged with the neighbouring blocks and interpolated
  between block centres, the standard deviation of the loss around its trend, from second
  differences (which cancel the slope) with a mean absolute deviation that leaves out the largest
  5% (the spikes); it follows a noise level that shrinks as the loss does, and never goes below a
  twentieth of the curve's typical noise nor below the smallest change the log shows (a log
  written with few decimals moves in quanta). The first ``2 * HEAD`` steps are also measured in
  ``HEAD``-step blocks, and the larger estimate wins there: the loss and its noise fall fastest
  at the start;
- a step is an *event* when the loss rose into it and it lies more than ``sigma`` noise units
  above its trend from *both* sides (a sudden drop, such as a learning-rate step, leaves the
  steps before it above the trend seen from after, but not above the trend seen from before).
  Near either end a side has fewer than ``window // 2`` values; its trend is then noisier, and
  the noise it is measured against grows to match. Events closer than ``window // 2`` steps to
  the previous one belong to the same episode and count once;
- ``sigma`` is the threshold for a curve of up to a thousand points; a longer curve's threshold
  is raised just enough that its pure noise is no likelier to cross it (see threshold()), so a
  healthy run does not fail for being long;
- with ``min_rise``, an event must also be *material*: its rise over the trend at least that
  share of the loss level (relative_rise()). Long per-step runs hold rises of +4% to +9% many
  noise units high (their upward noise has a longer tail than their dips); the spikes people
  label start around +10%;
- the first 2% of a run (at least three points) is warmup and has no events (see warmup()).

Multiplying the loss by a positive number changes none of this; shifting it changes only the
materiality (a rise relative to the loss level), and a curve that never rises has no events.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from drift.curve import FloatArray, IntArray

BLOCK = 128
# The first steps are measured in shorter blocks too: the loss, and with it the noise, falls
# fastest there, and a 128-step block would average the noisy start with the calmer rest.
HEAD = 32
_TRIM = 0.05
# E[|Z| given |Z| below its 95th percentile] for a standard normal Z: (2φ(0) - 2φ(1.96)) / 0.95.
_TRIMMED_ABS_MEAN = 0.71682
_BUDGET = 1_000_000
# sigma is the threshold for a curve of up to this many points; see threshold().
REFERENCE_LENGTH = 1000
# No event in a run's first 2% (at least 3 points): see warmup().
WARMUP_SHARE = 0.02
WARMUP_POINTS = 3


@dataclass(frozen=True, eq=False)
class RobustEvents:
    points: IntArray  # point index of the first step of each episode
    z: FloatArray  # how far above its trend, in noise units
    threshold: float  # the height a rise had to exceed in this curve (see threshold())
    rise: FloatArray = field(default_factory=lambda: np.empty(0))  # rise over the trend / loss level (relative_rise)


@dataclass(frozen=True, eq=False)
class NoiseModel:
    """The noise level along a curve, per block of BLOCK steps, with its floor."""

    per_block: FloatArray  # empty for a curve shorter than two blocks
    level: float  # the whole curve's noise (used when there are no blocks)
    floor: float
    head: FloatArray  # the noise of the first two HEAD-step blocks (empty for a short curve)

    def at(self, points: IntArray) -> FloatArray:
        """Noise standard deviation at these points."""
        scale = self._blocks(points)
        if self.head.size:
            # Only ever raises the noise at the start: a short block's estimate is the noisier one.
            early = points < 2 * HEAD
            centres = (np.arange(self.head.size) + 0.5) * HEAD + 1.0
            scale[early] = np.maximum(scale[early], np.interp(points[early].astype(np.float64), centres, self.head))
        return scale

    def _blocks(self, points: IntArray) -> FloatArray:
        blocks = self.per_block.size
        if blocks == 0:
            return np.full(points.size, max(self.level, self.floor))
        # The noise level drifts within a block (it shrinks with the loss): interpolate between
        # block centres rather than use a step function.
        centres = (np.arange(blocks) + 0.5) * BLOCK + 1.0
        at = points.astype(np.float64)
        scale = np.interp(at, centres, self.per_block)
        # Before the first block centre the noise is usually higher still (the loss falls fastest
        # at the start): extend the first two blocks' trend there, never below the first block.
        if blocks > 1:
            head = at < centres[0]
            slope = (self.per_block[0] - self.per_block[1]) / BLOCK
            scale[head] = np.maximum(scale[head], self.per_block[0] + slope * (centres[0] - at[head]))
        return np.asarray(scale, dtype=np.float64)


def noise_model(values: FloatArray) -> NoiseModel:
    """Estimate the noise of a curve block by block, in bounded memory."""
    n = values.size
    # A log written with few decimals moves in quanta: a rise of one quantum is not a spike.
    quantum = np.inf
    for a in range(0, max(n - 1, 0), _BUDGET):
        steps = np.abs(np.diff(values[a : a + _BUDGET + 1]))
        moved = steps[steps != 0.0]
        if moved.size:
            quantum = min(quantum, float(moved.min()))
    quantum = 0.0 if not np.isfinite(quantum) else quantum
    if n < 2 * BLOCK:
        # Second differences cancel the local slope, so a steep or bending trend does not pass
        # for noise; for independent noise of standard deviation s they have deviation s·√6.
        diffs, norm = (np.diff(values, n=2), np.sqrt(6.0)) if n > 3 else (np.diff(values), np.sqrt(2.0))
        level = float(_spread(diffs[None, :], norm)[0]) if diffs.size else 0.0
        floor = max(level / 20.0, quantum)
        return NoiseModel(np.empty(0), level, floor, _head(values, floor))
    blocks = (n - 2) // BLOCK
    per_block = np.empty(blocks)
    rows = max(1, _BUDGET // BLOCK)
    for b in range(0, blocks, rows):
        count = min(rows, blocks - b)
        segment = np.diff(values[b * BLOCK : (b + count) * BLOCK + 2], n=2)
        per_block[b : b + count] = _spread(segment[: count * BLOCK].reshape(count, BLOCK), np.sqrt(6.0))
    level = float(np.median(per_block))
    floor = max(level / 20.0, quantum)
    if blocks > 2:
        # One block's estimate wobbles by about a tenth; the noise level itself changes slowly, so
        # averaging each block with its neighbours halves the wobble at little cost in tracking.
        padded = np.concatenate([per_block[:1], per_block, per_block[-1:]])
        per_block = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    return NoiseModel(np.maximum(per_block, floor), level, floor, _head(values, floor))


def _head(values: FloatArray, floor: float) -> FloatArray:
    if values.size < 4 * HEAD:
        return np.empty(0)
    diffs = np.diff(values[: 2 * HEAD + 2], n=2).reshape(2, HEAD)
    return np.maximum(_spread(diffs, np.sqrt(6.0)), floor)


def _spread(rows: FloatArray, norm: float) -> FloatArray:
    """Noise standard deviation from each row of differences: the mean absolute
    deviation from the row's median with the largest 5% left out (robust to spikes, and far less
    noisy than the MAD), scaled so that Gaussian noise gives its standard deviation."""
    dev = np.sort(np.abs(rows - np.median(rows, axis=1, keepdims=True)), axis=1)
    kept = dev[:, : max(1, round(dev.shape[1] * (1 - _TRIM)))]
    return np.asarray(kept.mean(axis=1) / _TRIMMED_ABS_MEAN / norm, dtype=np.float64)


def rolling_median(values: FloatArray, width: int) -> FloatArray:
    """median(values[j : j + width]) for every start j, computed in bounded blocks."""
    n = values.size
    if n < width:
        return np.empty(0)
    windows = sliding_window_view(values, width)
    out = np.empty(windows.shape[0])
    middle = (width - 1) // 2, width // 2
    rows = max(1, _BUDGET // width)
    for start in range(0, out.size, rows):
        block = np.array(windows[start : start + rows])  # a copy: partition works in place
        block.partition(middle, axis=1)
        out[start : start + rows] = (block[:, middle[0]] + block[:, middle[1]]) / 2.0
    return out


def _at(table: FloatArray, index: IntArray) -> FloatArray:
    """table[index], NaN where the index falls outside the table."""
    inside = (index >= 0) & (index < table.size)
    out = np.full(index.size, np.nan)
    out[inside] = table[index[inside]]
    return out


def side_trends(values: FloatArray, medians: FloatArray, points: IntArray, half: int) -> tuple[FloatArray, FloatArray]:
    """Each point's trend as seen from before it and from after it.

    From one side: the median of the ``half`` values next to the point on that side, carried to
    the point along the local slope. Each side measures a slope between that median and the
    median of the ``half`` values beyond it; the smaller of the two is used when they agree in
    sign, none when they do not. Near an end, a side without a second window borrows the other
    side's slope; with no values at all on a side, the point's own value (so that side never
    makes an event). ``medians`` is rolling_median(values, half)."""
    near_b, far_b = _at(medians, points - half), _at(medians, points - 2 * half)
    near_a, far_a = _at(medians, points + 1), _at(medians, points + 1 + half)
    slope_b, slope_a = (near_b - far_b) / half, (far_a - near_a) / half
    slope_b = np.where(np.isnan(slope_b), slope_a, slope_b)
    slope_a = np.where(np.isnan(slope_a), slope_b, slope_a)
    # Only the slope both sides agree on: where the descent stops (a plateau begins) the two
    # disagree, and carrying the steep side's slope on would invent a rise.
    slope = np.where(np.sign(slope_b) == np.sign(slope_a), np.sign(slope_b) * np.fmin(abs(slope_b), abs(slope_a)), 0.0)
    lag = (half + 1) / 2.0
    carried = np.nan_to_num(slope)
    before = near_b + carried * lag
    after = near_a - carried * lag
    for trend, is_after in ((before, False), (after, True)):
        for k in np.flatnonzero(np.isnan(trend)).tolist():
            i = int(points[k])
            around = values[i + 1 : i + 1 + half] if is_after else values[max(0, i - half) : i]
            if not around.size:
                trend[k] = float(values[i])
                continue
            # A shorter window's median lags by (m + 1) / 2 steps: carry it along the slope too, or
            # on a steep descent the few values after a point near the end sit far below it.
            shift = float(carried[k]) * (around.size + 1) / 2.0
            trend[k] = float(np.median(around)) + (-shift if is_after else shift)
    return before, after


def _short_side(count: IntArray, half: int) -> FloatArray:
    """How much noisier a trend from ``count`` values is than one from ``half`` values.

    Near either end a side has fewer values to take its median from; the difference between
    a step and that median is then noisier (its variance is about s²(1 + π/2m) for m values),
    and the noise it is measured against grows to match."""
    m = np.maximum(count, 1).astype(np.float64)
    return np.asarray(np.sqrt((1.0 + np.pi / (2.0 * m)) / (1.0 + np.pi / (2.0 * half))), dtype=np.float64)


def _height(above: FloatArray, scale: FloatArray) -> FloatArray:
    """above / scale, where a zero scale makes any rise infinitely high and no rise zero."""
    safe = np.where(scale > 0, scale, 1.0)
    return np.asarray(np.where(scale > 0, above / safe, np.where(above > 0, np.inf, 0.0)), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class _Context:
    """What every height in one curve is measured against, computed once per curve."""

    values: FloatArray
    half: int
    noise: NoiseModel
    medians: FloatArray

    @classmethod
    def of(cls, values: FloatArray, window: int) -> _Context:
        half = max(1, window // 2)
        with np.errstate(over="ignore", invalid="ignore"):  # neighbours a float-range apart overflow to inf
            return cls(values, half, noise_model(values), rolling_median(values, half))

    def chunks(self, points: IntArray) -> Iterator[tuple[IntArray, FloatArray]]:
        """(points, heights) in bounded pieces, so a long curve never holds every height at once."""
        n, half = self.values.size, self.half
        for start in range(0, points.size, _BUDGET):
            chunk = points[start : start + _BUDGET]
            with np.errstate(over="ignore", invalid="ignore"):
                scale = self.noise.at(chunk)
                # A spike stands above what came before it and above what comes after it; a sudden
                # drop (a learning-rate step) stands above only what comes after, so it is not one.
                before, after = side_trends(self.values, self.medians, chunk, half)
                z = np.minimum(
                    _height(self.values[chunk] - before, scale * _short_side(np.minimum(chunk, half), half)),
                    _height(self.values[chunk] - after, scale * _short_side(np.minimum(n - 1 - chunk, half), half)),
                )
            yield chunk, z


def heights(values: FloatArray, points: IntArray, *, window: int) -> FloatArray:
    """How far each point lies above its trend from both sides, in noise units (the robust
    detector's ``z``); the mirror image, heights(-values, ...), measures dips."""
    parts = [z for _, z in _Context.of(values, window).chunks(points)]
    return np.concatenate(parts) if parts else np.empty(0)


def threshold(sigma: float, n: int) -> float:
    """The height a step must exceed in a curve of n points: ``sigma`` up to REFERENCE_LENGTH
    points, and beyond that as much higher as keeps pure Gaussian noise as unlikely to cross it
    anywhere in the curve (a million steps of noise hold rises that a thousand steps do not).
    For a Gaussian tail, P(Z > t) falls about as exp(-t²/2), so n/1000 times the candidates need
    t² larger by 2·ln(n/1000)."""
    if n <= REFERENCE_LENGTH:
        return sigma
    return math.sqrt(sigma * sigma + 2.0 * math.log(n / REFERENCE_LENGTH))


def relative_rise(values: FloatArray, medians: FloatArray, points: IntArray, half: int) -> FloatArray:
    """How much each point rises over its trend, as a share of the loss level there.

    The trend is the higher of the two side trends (an event stands above both). The level is
    the trend's magnitude, but never less than a tenth of the curve's typical magnitude (its
    median |loss|, from at most ~100k evenly spaced points): for a loss near zero, or one that
    crosses it, a rise relative to a trend of almost nothing would make every wiggle enormous.
    For a negative loss the magnitude is the scale too: from -0.90 to -0.81 is a rise of 10%."""
    with np.errstate(over="ignore", invalid="ignore"):  # neighbours a float-range apart overflow to inf
        return _relative_rise(values, medians, points, half)


def _relative_rise(values: FloatArray, medians: FloatArray, points: IntArray, half: int) -> FloatArray:
    before, after = side_trends(values, medians, points, half)
    base = np.maximum(before, after)
    # The typical magnitude from at most ~100k evenly spaced points (all of them in a shorter
    # curve): a median of every point of a 10M-step run would cost more than the detector.
    stride = max(1, values.size // 100_000)
    floor = 0.1 * float(np.median(np.abs(values[::stride])))
    level = np.maximum(np.abs(base), floor)
    return _height(values[points] - base, level)


def warmup(n: int) -> int:
    """The first point that can be an event: the first WARMUP_SHARE of a run (at least
    WARMUP_POINTS points) is warmup, where the loss and its noise fall fastest, a short run's noise
    estimate (one level for the whole curve) is lowest next to them, and a bump is the learning
    rate coming up, not an instability."""
    return max(WARMUP_POINTS, math.ceil(n * WARMUP_SHARE))


def robust_events(values: FloatArray, *, window: int, sigma: float, min_rise: float = 0.0) -> RobustEvents:
    """Episodes of loss spikes in a forward-filled, finite curve: points more than the threshold
    (see threshold()) noise units above their trend, and, with ``min_rise``, at least that share
    of the loss level above it (relative_rise())."""
    cut = threshold(sigma, values.size)
    empty = RobustEvents(np.empty(0, dtype=np.int64), np.empty(0), cut, np.empty(0))
    if values.size < 3:
        return empty
    rising = np.flatnonzero(values[1:] > values[:-1]) + 1
    rising = rising[rising >= warmup(values.size)]
    if not rising.size:
        return empty
    context = _Context.of(values, window)
    found: list[IntArray] = []
    tall: list[FloatArray] = []
    for chunk, z in context.chunks(rising):
        hit = z > cut
        found.append(chunk[hit])
        tall.append(z[hit])
    points, zs = np.concatenate(found), np.concatenate(tall)
    half = context.half
    # Only the few points over the noise threshold pay for their rise.
    rises = relative_rise(values, context.medians, points, half) if points.size else np.empty(0)
    if min_rise > 0.0:
        material = rises >= min_rise
        points, zs, rises = points[material], zs[material], rises[material]
    if points.size > 1:
        # Steps within one neighbourhood of the previous event are the same episode.
        starts = np.concatenate([[True], np.diff(points) > half])
        episode = np.cumsum(starts) - 1
        peak = np.full(int(starts.sum()), -np.inf)
        np.maximum.at(peak, episode, zs)
        largest = np.full(int(starts.sum()), -np.inf)
        np.maximum.at(largest, episode, rises)
        return RobustEvents(points[starts].astype(np.int64), peak, cut, largest)
    return RobustEvents(points.astype(np.int64), zs, cut, rises)
