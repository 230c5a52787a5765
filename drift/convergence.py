"""Did the run learn? The loss trend's improvement from the start of the run to its end.

The seed's ``convergence_ratio`` divides the last logged loss by the first: two single noisy
steps, and for a loss that is not positive a figure with no meaning (a negative Dice loss that
improves from -0.46 to -0.90 has ratio 1.95). Here the start and the end are each the median of a
tenth of the run (at least three points), and the improvement is how far the end lies below the
start, relative to the start's magnitude: (start - end) / |start|. Going down is improving
whatever the sign, so a negative loss that falls improves.

Two runs have no relative improvement, and get a state of their own instead of a silent ratio:

- *constant*: every finite loss is the same number (a loss column that is 0.0 throughout);
- *crosses zero*: the loss takes both signs, each on at least a twentieth of the run (a PPO
  policy loss oscillating around 0): a change relative to a start near zero means nothing.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from drift.curve import FloatArray

# Each end of the run is the median of this share of its points, and of at least MIN_POINTS.
SHARE = 0.1
MIN_POINTS = 3
# Both signs on at least this share of the points: the loss crosses zero.
SIGNED_SHARE = 0.05


class TrendState(enum.Enum):
    MEASURED = "measured"
    CONSTANT = "constant"
    CROSSES_ZERO = "crosses-zero"
    ZERO_START = "zero-start"
    NO_FINITE = "no-finite"


@dataclass(frozen=True)
class Trend:
    start: float  # median of the first tenth of the run (NaN without finite losses)
    end: float  # median of the last tenth
    improvement: float  # (start - end) / |start|; NaN unless state is MEASURED
    state: TrendState


def trend(values: FloatArray) -> Trend:
    """The trend's improvement of a curve (non-finite values are left out)."""
    mask = np.isfinite(values)
    finite = values if mask.all() else values[mask]
    if finite.size == 0:
        return Trend(math.nan, math.nan, math.nan, TrendState.NO_FINITE)
    k = max(MIN_POINTS, math.ceil(finite.size * SHARE))
    start, end = float(np.median(finite[:k])), float(np.median(finite[-k:]))
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        return Trend(start, end, math.nan, TrendState.CONSTANT)
    least = SIGNED_SHARE * finite.size
    # Counting signs costs two passes over the curve: only a curve that has both needs them.
    if low < 0.0 < high and np.count_nonzero(finite > 0) >= least and np.count_nonzero(finite < 0) >= least:
        return Trend(start, end, math.nan, TrendState.CROSSES_ZERO)
    if start == 0.0:
        # One-signed but starting at zero: any change is infinite relative to the start.
        return Trend(start, end, math.nan, TrendState.ZERO_START)
    return Trend(start, end, (start - end) / abs(start), TrendState.MEASURED)
