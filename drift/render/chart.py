"""Pictures of a curve: a Mermaid xychart for GitHub, a sparkline for anywhere."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drift.metrics import fill_forward, sample_indices

_BLOCKS = "▁▂▃▄▅▆▇█"
_CHART_POINTS = 120  # enough to show the shape; keeps many charts within the summary budget
_HEADROOM = 0.06  # how far an event's needle reaches above the curve, as a share of its range


def _thin(points: Sequence[tuple[int, float]], cap: int) -> list[tuple[int, float]]:
    return [points[i] for i in sample_indices(len(points), cap)]


def _filled(values: Sequence[float]) -> list[float]:
    return [float(v) for v in fill_forward(np.asarray(values, dtype=np.float64))]


def sparkline(points: Sequence[tuple[int, float]], width: int = 32) -> str:
    thinned = _thin(points, width)
    values = [v for _, v in thinned]
    filled = _filled(values)
    if not filled:
        return ""
    lo, hi = min(filled), max(filled)
    span = hi - lo
    chars = []
    for raw, v in zip(values, filled, strict=True):
        if not math.isfinite(raw):
            chars.append("×")
        elif span <= 0 or not math.isfinite(span):
            chars.append(_BLOCKS[0])
        else:
            chars.append(_BLOCKS[min(len(_BLOCKS) - 1, int((v - lo) / span * len(_BLOCKS)))])
    return "".join(chars)


def _decimals(span: float) -> int:
    if span <= 0 or not math.isfinite(span):
        return 4
    return max(0, min(12, 3 - math.floor(math.log10(span))))


@dataclass(frozen=True)
class _Axis:
    """How values are written: Mermaid's numbers are plain decimals with no exponent, so a curve of
    tiny or huge values is drawn as (value - offset) / scale, and the axis title says so."""

    offset: float
    scale: float
    decimals: int
    title: str

    def text(self, x: float) -> str:
        return f"{(x - self.offset) / self.scale:.{self.decimals}f}"


def _axis(lo: float, hi: float, label: str) -> _Axis:
    span = hi - lo
    d = _decimals(span)
    if span >= 1e-9 and max(abs(lo), abs(hi)) < 1e7:
        return _Axis(0.0, 1.0, d, label)
    scale = 10.0 ** (math.floor(math.log10(span)) - 2)
    offset = lo if abs(lo) >= 1e7 or span < 1e-9 else 0.0
    shift = f" - {offset:.6g}" if offset else ""
    return _Axis(offset, scale, 0, f"({label}{shift}) / {scale:.0e}")


def _on_grid(points: Sequence[tuple[int, float]], grid: Sequence[int]) -> list[float]:
    """The curve's value at each grid step: the last point at or before it (the first before it)."""
    steps = [s for s, _ in points]
    values = _filled([v for _, v in points])
    return [values[max(0, bisect_right(steps, g) - 1)] for g in grid]


def mermaid(
    points: Sequence[tuple[int, float]],
    event_steps: Sequence[int],
    metric: str = "loss",
    baseline: Sequence[tuple[int, float]] = (),
) -> str:
    """A fenced ``xychart-beta`` block: the curve as a line, instability events as red needles, and
    the baseline's curve as a grey line on the same steps when there is one.

    Nothing untrusted goes in: the metric name is only used if it is a plain identifier.
    """
    if len(baseline) >= 2 and len(points) >= 2:
        return _overlay(points, event_steps, metric, baseline)
    thinned = _thin(points, _CHART_POINTS)
    if len(thinned) < 2:
        return ""
    values = _filled([v for _, v in thinned])
    lo, hi = min(values), max(values)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)
    steps = [s for s, _ in thinned]
    marks = _needles(steps, values, event_steps, hi, lo)
    return _block(steps, [values], marks, _axis(lo, hi, _label(metric)))


def _needles(
    grid: Sequence[int], under: Sequence[float], event_steps: Sequence[int], hi: float, lo: float
) -> list[float] | None:
    """The event series: the curve itself, hidden under it, but for a needle at the plotted point
    nearest at or after each event, up past the curve's highest point so that it shows even where
    the event is the curve's own peak. Mermaid bars would need a value at every step, and bars at
    the axis floor still draw a band along it."""
    if not event_steps:
        return None
    marks = list(under)
    top = hi + _HEADROOM * (hi - lo)
    for step in event_steps:
        marks[min(bisect_left(grid, step), len(grid) - 1)] = top
    return marks


def _label(metric: str) -> str:
    return metric if metric.replace("_", "").replace("/", "").isalnum() and len(metric) < 40 else "value"


def _block(steps: Sequence[int], lines: Sequence[Sequence[float]], marks: Sequence[float] | None, axis: _Axis) -> str:
    """The fenced block. The event series comes first so the run's line is drawn over it; the
    palette follows the series order: red events, the run in blue, the baseline in grey."""
    colours = (["#d1242f"] if marks is not None else []) + ["#1f6feb", "#8c959f"][: len(lines)]
    drawn = [*lines, marks] if marks is not None else lines
    lo, hi = min(min(xs) for xs in drawn), max(max(xs) for xs in drawn)
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)

    def fmt(xs: Sequence[float]) -> str:
        return ", ".join(axis.text(x) for x in xs)

    out = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + ", ".join(colours) + '"}}}}%%',
        "xychart-beta",
        f'    x-axis "step" {steps[0]} --> {steps[-1]}',
        f'    y-axis "{axis.title}" {axis.text(lo)} --> {axis.text(hi)}',
    ]
    out += [f"    line [{fmt(xs)}]" for xs in ([marks] if marks is not None else []) + list(lines)]
    out.append("```")
    return "\n".join(out)


def _overlay(
    points: Sequence[tuple[int, float]],
    event_steps: Sequence[int],
    metric: str,
    baseline: Sequence[tuple[int, float]],
) -> str:
    """Both curves sampled on one grid of steps, since an xychart's lines share their x values."""
    first, last = min(points[0][0], baseline[0][0]), max(points[-1][0], baseline[-1][0])
    if last <= first:
        return ""
    count = min(_CHART_POINTS, last - first + 1)
    grid = sorted({first + round(i * (last - first) / (count - 1)) for i in range(count)})
    current, base = _on_grid(points, grid), _on_grid(baseline, grid)
    both = current + base
    lo, hi = min(both), max(both)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)
    marks = _needles(grid, current, event_steps, hi, lo)
    return _block(grid, [current, base], marks, _axis(lo, hi, _label(metric)))
