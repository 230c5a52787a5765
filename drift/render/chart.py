"""Pictures of a curve: a Mermaid xychart for GitHub, a sparkline for anywhere."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

_BLOCKS = "▁▂▃▄▅▆▇█"
_CHART_POINTS = 120  # enough to show the shape; keeps many charts within the summary budget


def _thin(points: Sequence[tuple[int, float]], cap: int) -> list[tuple[int, float]]:
    if len(points) <= cap:
        return list(points)
    stride = math.ceil(len(points) / cap)
    picked = list(points[::stride])
    if picked[-1] != points[-1]:
        picked[-1] = points[-1]
    return picked


def _filled(values: Sequence[float]) -> list[float]:
    out: list[float] = []
    first = next((v for v in values if math.isfinite(v)), 0.0)
    for v in values:
        out.append(v if math.isfinite(v) else (out[-1] if out else first))
    return out


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
    """A fenced ``xychart-beta`` block: the curve as a line, instability events as bars, and the
    baseline's curve as a grey line on the same steps when there is one.

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
    d = _decimals(hi - lo)
    marks = [lo] * len(thinned)
    steps = [s for s, _ in thinned]
    for step in event_steps:
        # Mark the nearest plotted point at or after the event.
        marks[min(bisect_left(steps, step), len(steps) - 1)] = hi
    label = metric if metric.replace("_", "").replace("/", "").isalnum() and len(metric) < 40 else "value"

    def fmt(xs: Sequence[float]) -> str:
        return ", ".join(f"{x:.{d}f}" for x in xs)

    lines = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f6feb, #d1242f"}}}}%%',
        "xychart-beta",
        f'    x-axis "step" {steps[0]} --> {steps[-1]}',
        f'    y-axis "{label}" {lo:.{d}f} --> {hi:.{d}f}',
        f"    line [{fmt(values)}]",
    ]
    if event_steps:
        lines.append(f"    bar [{fmt(marks)}]")
    lines.append("```")
    return "\n".join(lines)


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
    d = _decimals(hi - lo)
    marks = [lo] * len(grid)
    for step in event_steps:
        marks[min(bisect_left(grid, step), len(grid) - 1)] = hi
    label = metric if metric.replace("_", "").replace("/", "").isalnum() and len(metric) < 40 else "value"

    def fmt(xs: Sequence[float]) -> str:
        return ", ".join(f"{x:.{d}f}" for x in xs)

    lines = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f6feb, #8c959f, #d1242f"}}}}%%',
        "xychart-beta",
        f'    x-axis "step" {grid[0]} --> {grid[-1]}',
        f'    y-axis "{label}" {lo:.{d}f} --> {hi:.{d}f}',
        f"    line [{fmt(current)}]",
        f"    line [{fmt(base)}]",
    ]
    if event_steps:
        lines.append(f"    bar [{fmt(marks)}]")
    lines.append("```")
    return "\n".join(lines)
