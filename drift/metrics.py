"""The metric core: pure functions from a loss array to the seed's four metrics.

Every formula is the seed probe's (``_compute_metrics`` and ``_count_spikes``), computed with
numpy instead of per-step Python so that a million-step curve costs milliseconds. Property
tests hold each function equal to a straightforward transcription of the seed's rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from drift.convergence import Trend, trend
from drift.curve import FloatArray, IntArray
from drift.robust import robust_events

BoolArray = npt.NDArray[np.bool_]

# Neighbour values copied at once in the rolling median; bounds its memory to ~8 MB.
_GATHER_BUDGET = 1_000_000


@dataclass(frozen=True, eq=False)
class Metrics:
    initial_loss: float
    final_loss: float
    convergence_ratio: float
    smoothness: float
    instability_events: int
    spike_points: IntArray  # point indices where the loss rose by a spike (delta i lands on point i+1)
    nonfinite_points: IntArray  # point indices whose loss was NaN or infinite
    spike_z: FloatArray | None = None  # robust detector: each spike's height in noise units
    spike_threshold: float | None = None  # robust detector: the height a rise had to exceed here
    spike_rise: FloatArray | None = None  # robust detector: each spike's rise over its trend / the loss level
    trend: Trend | None = None  # the loss trend's improvement (drift.convergence), beside the seed's figures


def fill_forward(values: FloatArray) -> FloatArray:
    """Replace each non-finite value by the last finite one before it (the first finite one
    for a leading run), as the seed does; input with nothing to fill comes back as it is."""
    finite = np.isfinite(values)
    if finite.all() or not finite.any():
        return values  # nothing to fill; callers never write into the result
    source = np.where(finite, np.arange(values.size), -1)
    np.maximum.accumulate(source, out=source)
    source[source < 0] = int(np.argmax(finite))
    return values[source]


def spike_mask(deltas: FloatArray, window: int, sigma: float) -> BoolArray:
    """Which deltas are instability events under the seed's rule.

    A delta counts when the loss rose and the rise exceeds ``sigma`` times the median |delta|
    of its centred neighbourhood (``window // 2`` each side, the point itself left out). A
    curve with fewer deltas than ``window`` is judged against the global median instead, and
    a zero global median means no events at all.
    """
    n = deltas.size
    mask = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return mask
    magnitude = np.abs(deltas)
    if n < window:
        baseline = float(np.median(magnitude))
        if baseline == 0.0:
            return mask
        return (deltas > 0.0) & (deltas > sigma * baseline)

    half = window // 2
    # Interior points have exactly 2*half neighbours, so the median is the mean of the two middle
    # ones. Each row of the sliding view holds a point's whole neighbourhood; the point itself is
    # set to +inf so that it sorts last and drops out of the two middle order statistics. Blocks
    # bound the temporaries, whatever the length of the curve.
    windows = sliding_window_view(magnitude, 2 * half + 1) if n > 2 * half else None
    rows = max(1, _GATHER_BUDGET // (2 * half + 1))
    for start in range(half, n - half, rows):
        stop = min(n - half, start + rows)
        chunk = start + np.flatnonzero(deltas[start:stop] > 0.0)
        if windows is None or not chunk.size:
            continue
        around = windows[chunk - half]
        around[:, half] = np.inf
        around.partition((half - 1, half), axis=1)
        with np.errstate(over="ignore"):
            baseline_row = (around[:, half - 1] + around[:, half]) / 2.0
            mask[chunk] = deltas[chunk] > sigma * baseline_row

    # At most window+1 edge points, each with a shorter, clipped neighbourhood.
    edges = [i for i in [*range(min(half, n)), *range(max(half, n - half), n)] if deltas[i] > 0.0]
    for i in edges:
        lo, hi = max(0, i - half), min(n, i + half + 1)
        around = np.concatenate([magnitude[lo:i], magnitude[i + 1 : hi]])
        with np.errstate(over="ignore"):
            baseline = float(np.median(around)) if around.size else float(magnitude[i])
        mask[i] = baseline == 0.0 or float(deltas[i]) > sigma * baseline
    return mask


def compute_metrics(
    values: FloatArray,
    *,
    rolling_window: int,
    spike_sigma: float,
    method: str = "seed",
    robust_window: int = 20,
    robust_sigma: float = 4.4,
    min_rise: float = 0.0,
) -> Metrics:
    """The seed's metrics for a curve of at least one point (non-finite values as +inf), and the
    loss trend's improvement beside them.

    ``method="robust"`` swaps the seed's spike rule for drift.robust's (with ``min_rise``, the
    share of the loss level a spike must rise by); everything else stays the seed's, non-finite
    losses included.
    """
    nonfinite = np.flatnonzero(~np.isfinite(values))
    if nonfinite.size == values.size:
        return Metrics(
            initial_loss=float("nan"),
            final_loss=float("nan"),
            convergence_ratio=float("nan"),
            smoothness=0.0,
            instability_events=int(values.size),
            spike_points=np.empty(0, dtype=np.int64),
            nonfinite_points=nonfinite.astype(np.int64),
            trend=trend(values),
        )
    filled = fill_forward(values)
    initial, final = float(filled[0]), float(filled[-1])
    ratio = final / initial if initial != 0.0 else float("inf")

    with np.errstate(over="ignore", invalid="ignore"):
        deltas = np.diff(filled)
        var_loss = float(filled.var())
        var_delta = float(deltas.var()) if deltas.size else 0.0
    # Python's max(0.0, nan) is 0.0: the seed's clip turns an overflowed ratio into 0.
    smoothness = max(0.0, 1.0 - var_delta / var_loss) if var_loss > 0.0 else 0.0

    z, cut, rise = None, None, None
    if method == "robust":
        del deltas  # a curve-sized array the robust detector does not need
        found = robust_events(filled, window=robust_window, sigma=robust_sigma, min_rise=min_rise)
        spikes, z, cut, rise = found.points, found.z, found.threshold, found.rise
    else:
        spikes = np.flatnonzero(spike_mask(deltas, rolling_window, spike_sigma)) + 1
    return Metrics(
        initial_loss=initial,
        final_loss=final,
        convergence_ratio=ratio,
        smoothness=smoothness,
        instability_events=int(spikes.size + nonfinite.size),
        spike_points=spikes.astype(np.int64),
        nonfinite_points=nonfinite.astype(np.int64),
        spike_z=z,
        spike_threshold=cut,
        spike_rise=rise,
        trend=trend(values),
    )


def sample_indices(n: int, cap: int = 512) -> IntArray:
    """The seed's uniform-stride down-sampling: every ceil(n/cap)-th point, plus the last.

    The seed's rule returns cap+1 points for some lengths (n=1024, cap=512); there we apply the
    same rule with cap-1, so the result never exceeds ``cap`` and equals the seed's elsewhere.
    """
    picked = _stride_sample(n, cap)
    return picked if picked.size <= cap or cap < 2 else _stride_sample(n, cap - 1)


def _stride_sample(n: int, cap: int) -> IntArray:
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    stride = (n + cap - 1) // cap
    picked = np.arange(0, n, stride, dtype=np.int64)
    if picked[-1] != n - 1:
        picked = np.append(picked, np.int64(n - 1))
    return picked
