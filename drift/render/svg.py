"""A standalone SVG picture of one run's curve, for the artifact beside the JSON report.

The file is opened straight from a downloaded artifact, in a browser, so it must be inert: no
script, no link, no external reference, and every piece of text (run names, labels, messages,
all attacker-controlled) escaped and stripped to what XML 1.0 allows. Only our own numbers
reach attributes, and they are checked finite before they are written.

The loss axis is linear: the gate's thresholds and spike rises are differences and ratios of
the loss itself, losses can be zero or negative, and the Mermaid chart is linear too.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from drift.gate import Check, Event, EventKind, RunResult, Verdict
from drift.metrics import sample_indices
from drift.render.messages import message as verdict_message
from drift.render.text import num

Point = tuple[int, float]

# Layout, in px. The plot box is fixed; the left margin grows with the longest tick label.
_WIDTH = 760
_TOP = 58  # below the title and the message line
_PLOT_HEIGHT = 270
_RIGHT = 24
_CHAR = 5.8  # a generous average glyph width at 11px, to size labels without a font
_MAX_POINTS = 1024  # a curve is ≤ 512 sampled points; more is thinned so a file stays small
_BUCKET = 4.0  # events closer than this many px share a marker (and a tooltip)

# GitHub's palette, as the Mermaid chart uses it: the curve blue, instability events red.
_BLUE, _RED, _ORANGE, _GREY, _INK = "#1f6feb", "#d1242f", "#bc4c00", "#57606a", "#24292f"
_VERDICT_COLOUR = {Verdict.PASS: "#1a7f37", Verdict.WARN: "#9a6700", Verdict.ERROR: _RED, Verdict.SKIP: _GREY}

_STYLE = (
    'text{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;font-size:11px;fill:#24292f}'
    ".grid{stroke:#eaeef2;stroke-width:1}.axis{stroke:#8c959f;stroke-width:1;fill:none}"
    f".run{{fill:none;stroke:{_BLUE};stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}}"
    f".base{{fill:none;stroke:{_ORANGE};stroke-width:1.4;stroke-dasharray:6 4;stroke-linejoin:round}}"
    f".thr{{stroke:{_GREY};stroke-width:1.2;stroke-dasharray:5 4}}.thr.bad{{stroke:{_RED}}}"
    f".rug{{stroke:{_BLUE};stroke-width:1.5}}.spike{{fill:{_RED};stroke:#fff;stroke-width:1}}"
    f".nf{{stroke:{_RED};stroke-width:2;fill:none}}.final{{fill:#fff;stroke:{_INK};stroke-width:1.6}}"
    ".small{font-size:10px;fill:#57606a}.title{font-size:14px;font-weight:600}"
    ".halo{fill:#fff;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
)


# --- text ----------------------------------------------------------------------------------------
def _clean(text: str, limit: int, *, middle: bool = False) -> str:
    """Untrusted text, bounded, with every non-printable character shown as U+FFFD.

    "Not printable" covers all that XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE and
    U+FFFF are Cc, Cs and Cn) and also bidi overrides and other format characters, which could
    make a name read as another. ``middle`` cuts long text in the middle: run names are paths,
    and their last part tells runs apart.
    """
    if len(text) > limit:
        head = (limit - 1) // 2 if middle else limit - 1
        text = text[:head] + "…" + (text[len(text) - (limit - 1 - head) :] if middle else "")
    return "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)


def _esc(text: str, limit: int = 200, *, middle: bool = False) -> str:
    return html.escape(_clean(text, limit, middle=middle), quote=True)


# --- numbers -------------------------------------------------------------------------------------
def _n(x: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros; never nan or inf in the file."""
    if not math.isfinite(x):
        raise ValueError(f"non-finite coordinate {x!r}")  # a bug here, never a property of the input
    out = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _frac(v: float, lo: float, hi: float) -> float:
    """Where ``v`` sits in [lo, hi], without overflow when the span exceeds the float range."""
    span = hi - lo
    if math.isfinite(span):
        return (v - lo) / span
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2)


def _fit(values: Sequence[float]) -> tuple[float, float]:
    """A range holding ``values`` (finite, possibly empty) with some air; never empty or inverted."""
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    mid = lo / 2 + hi / 2
    # A flat curve, one whose wiggle is below what 7 digits of a tick label can show, or one
    # within the subnormal floats, where spans and steps lose their precision.
    if hi - lo <= max(abs(lo), abs(hi)) * 1e-6 or hi - lo < 1e-290:
        half = max(abs(mid) * 0.05, 1e-300) if mid else 1.0
        return max(mid - half, -sys.float_info.max), min(mid + half, sys.float_info.max)
    pad = (hi / 2 - lo / 2) * 0.1  # 5% of the span, computed so that it cannot overflow
    return max(lo - pad, -sys.float_info.max), min(hi + pad, sys.float_info.max)


def _ticks(lo: float, hi: float, target: int = 5) -> tuple[float, list[float]]:
    """A round tick interval (1, 2 or 5 times a power of ten) giving about ``target`` ticks in [lo, hi]."""
    raw = hi / target - lo / target  # the span over target, without overflow
    power = 10.0 ** math.floor(math.log10(raw))
    step, best = raw, math.inf
    for candidate in (10 * power, 5 * power, 2 * power, power, power / 2):  # larger first: ties go to it
        if not math.isfinite(candidate) or candidate <= 0:
            continue
        miss = abs(math.floor(hi / candidate) - math.ceil(lo / candidate) + 1 - target)
        if miss < best:
            step, best = candidate, miss
    first, last = math.ceil(lo / step), math.floor(hi / step)
    return step, [k * step for k in range(first, last + 1)[:12]]


def _y_label(v: float, step: float, biggest: float) -> str:
    """A loss tick: fixed point for everyday sizes, else scientific, with just the digits the step needs."""
    if v == 0:
        return "0"
    exponent = math.floor(math.log10(step))
    if 1e-3 <= biggest < 1e5:
        return f"{v:.{max(0, -exponent)}f}"
    digits = min(6, max(0, math.floor(math.log10(biggest)) - exponent))
    mantissa, _, power = f"{v:.{digits}e}".partition("e")
    return f"{mantissa}e{int(power)}"


def _x_label(v: float, step: float, biggest: float) -> str:
    """A step tick: plain below 100k, else with k/M/G/T, else scientific."""
    if biggest < 1e5:
        return str(round(v))
    for unit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if biggest >= unit and biggest < unit * 1e3:
            digits = max(0, math.ceil(math.log10(unit / step) - 1e-9))
            return f"{v / unit:.{digits}f}{suffix}"
    return _y_label(v, step, biggest)


@dataclass(frozen=True)
class _Axis:
    """A linear map from data [lo, hi] to pixels [p0, p1] (p1 < p0 for the loss axis)."""

    lo: float
    hi: float
    p0: float
    p1: float

    def __call__(self, v: float) -> float:
        f = min(1.0, max(0.0, _frac(v, self.lo, self.hi)))
        return self.p0 + (self.p1 - self.p0) * f


# --- data ----------------------------------------------------------------------------------------
def _thinned(points: Sequence[Point]) -> list[Point]:
    ordered = sorted(points, key=lambda p: p[0])
    return [ordered[i] for i in sample_indices(len(ordered), _MAX_POINTS)]


def _loss_at(points: Sequence[Point], steps: Sequence[int], step: int) -> float | None:
    """The loss at ``step``: sampled, or interpolated between the nearest finite sampled neighbours."""
    i = bisect.bisect_left(steps, step)
    if i < len(steps) and steps[i] == step and math.isfinite(points[i][1]):
        return points[i][1]
    before = next((points[j] for j in range(i - 1, -1, -1) if math.isfinite(points[j][1])), None)
    after = next((points[j] for j in range(i, len(points)) if math.isfinite(points[j][1])), None)
    if before is None or after is None:
        found = before or after
        return found[1] if found else None
    if after[0] == before[0]:
        return after[1]
    t = (step - before[0]) / (after[0] - before[0])
    return before[1] + (after[1] - before[1]) * t


@dataclass(frozen=True)
class _Threshold:
    value: float
    label: str
    failed: bool


def _threshold(run: RunResult) -> _Threshold | None:
    """The convergence check as a limit on the final loss: ratio = final / initial ≤ max.

    For a negative initial loss the inequality flips, so the line is a floor; with a zero or
    non-finite initial loss there is no finite limit to draw.
    """
    m = run.metrics
    checked = any(c.check is Check.CONVERGENCE_RATIO for c in run.checks)
    if m is None or not checked or not math.isfinite(m.initial_loss) or m.initial_loss == 0:
        return None
    value = m.initial_loss * run.settings.max_convergence_ratio
    if not math.isfinite(value):
        return None
    failed = any(c.check is Check.CONVERGENCE_RATIO and not c.passed for c in run.checks)
    side = "max" if m.initial_loss > 0 else "min"
    return _Threshold(value, f"{side} final loss (max-convergence-ratio)", failed)


def _final(run: RunResult, points: Sequence[Point]) -> Point | None:
    """The gate's final loss (the last finite loss, carried to the last step), where it is drawn."""
    if run.metrics is not None and math.isfinite(run.metrics.final_loss):
        return points[-1][0], run.metrics.final_loss
    return next(((s, v) for s, v in reversed(points) if math.isfinite(v)), None)


# --- drawing -------------------------------------------------------------------------------------
def _path(points: Sequence[Point], x: _Axis, y: _Axis) -> tuple[str, list[tuple[float, float]]]:
    """A path through the finite points, broken at non-finite ones, and the points left alone
    between two breaks (a path would not show them, so they get a dot)."""
    parts: list[str] = []
    lonely: list[tuple[float, float]] = []
    segment: list[tuple[float, float]] = []
    for s, v in [*points, (0, math.nan)]:
        if math.isfinite(v):
            segment.append((x(s), y(v)))
            continue
        if len(segment) == 1:
            lonely.append(segment[0])
        elif segment:
            parts.append("M" + "L".join(f"{_n(px)} {_n(py)}" for px, py in segment))
        segment = []
    return "".join(parts), lonely


def _event_tip(group: Sequence[Event]) -> str:
    first = group[0]
    if len(group) == 1 and first.kind is EventKind.SPIKE:
        size = f" by +{num(first.rise)}" if first.rise is not None else ""
        share = f", {first.relative_rise:+.0%} over trend" if first.relative_rise is not None else ""
        height = f"{share}, {num(first.z, 3)}σ above trend" if first.z is not None else share
        return f"step {first.step}: loss spike{size}{height}"
    if len(group) == 1:
        return f"step {first.step}: non-finite loss (NaN or ∞)"
    steps = f"steps {first.step}–{group[-1].step}"
    if first.kind is EventKind.SPIKE:
        rises = [e.rise for e in group if e.rise is not None]
        biggest = f", largest rise +{num(max(rises))}" if rises else ""
        return f"{len(group)} loss spikes, {steps}{biggest}"
    return f"{len(group)} non-finite losses, {steps}"


def _event_groups(events: Sequence[Event], x: _Axis) -> Iterator[tuple[EventKind, list[Event]]]:
    """Events of one kind that would be drawn on top of each other, as one group each."""
    groups: dict[tuple[EventKind, int], list[Event]] = {}
    for event in events:
        groups.setdefault((event.kind, int(x(event.step) // _BUCKET)), []).append(event)
    for (kind, _), group in groups.items():
        yield kind, group


def _cross(cx: float, cy: float, r: float = 3.5) -> str:
    return f"M{_n(cx - r)} {_n(cy - r)}L{_n(cx + r)} {_n(cy + r)}M{_n(cx - r)} {_n(cy + r)}L{_n(cx + r)} {_n(cy - r)}"


def _markers(
    run: RunResult, points: Sequence[Point], x: _Axis, y: _Axis, top: float
) -> tuple[list[str], set[EventKind]]:
    steps = [s for s, _ in points]
    out: list[str] = []
    kinds: set[EventKind] = set()
    for kind, group in _event_groups(sorted(run.events, key=lambda e: e.step), x):
        tip = f"<title>{_esc(_event_tip(group))}</title>"
        if kind is EventKind.SPIKE:
            worst = max(group, key=lambda e: e.rise if e.rise is not None else -math.inf)
            loss = _loss_at(points, steps, worst.step)
            cy = y(loss) if loss is not None else top
            out.append(f'<circle class="spike" cx="{_n(x(worst.step))}" cy="{_n(cy)}" r="4.5">{tip}</circle>')
            kinds.add(EventKind.SPIKE)
        else:
            out.append(f'<path class="nf" d="{_cross(x(group[0].step), top)}">{tip}</path>')
            kinds.add(EventKind.NON_FINITE)
    return out, kinds


@dataclass(frozen=True)
class _Item:
    swatch: Callable[[float, float], str]  # draws the key at (x, baseline of the text)
    label: str  # already escaped


def _legend(items: Sequence[_Item], left: float, top: float) -> tuple[list[str], float]:
    """Legend entries in rows under the plot; returns the drawing and the bottom of the last row."""
    out: list[str] = []
    cx, cy = left, top
    for item in items:
        width = 28 + _CHAR * len(html.unescape(item.label)) + 18
        if cx > left and cx + width > _WIDTH - _RIGHT:
            cx, cy = left, cy + 18
        out.append(item.swatch(cx, cy))
        out.append(f'<text x="{_n(cx + 28)}" y="{_n(cy)}">{item.label}</text>')
        cx += width
    return out, cy + 10


def _summary(run: RunResult, final: Point | None, threshold: _Threshold | None, baseline: str | None) -> str:
    """One sentence for screen readers: verdict, final loss against its limit, events."""
    spikes = list(run.steps_of(EventKind.SPIKE))
    nonfinite = list(run.steps_of(EventKind.NON_FINITE))
    parts = [
        f"Loss curve of run {_clean(run.name, 120, middle=True)} over {run.num_steps} steps: verdict {run.verdict.name}"
    ]
    if final is not None:
        limit = ""
        if threshold is not None:
            word = "maximum" if threshold.label.startswith("max") else "minimum"
            limit = f" against a {word} of {num(threshold.value)}" + (" (failed)" if threshold.failed else "")
        parts.append(f"final loss {num(final[1])}{limit}")

    def listed(steps: list[int], one: str, many: str) -> str:
        shown = ", ".join(str(s) for s in steps[:5]) + (", …" if len(steps) > 5 else "")
        return f"1 {one} (step {shown})" if len(steps) == 1 else f"{len(steps)} {many} (steps {shown})"

    events = [
        listed(found, one, many)
        for found, one, many in (
            (spikes, "loss spike", "loss spikes"),
            (nonfinite, "non-finite loss", "non-finite losses"),
        )
        if found
    ]
    parts.append(" and ".join(events) if events else "no instability events")
    if baseline is not None:
        parts.append(f"with the baseline “{baseline}” overlaid")
    return ", ".join(parts) + "."


def render_svg(
    run: RunResult, baseline: Sequence[Point] | None = None, *, baseline_label: str = "baseline"
) -> str | None:
    """The run's sampled curve as a standalone SVG document, or None when it has no curve.

    ``baseline`` (another run's sampled curve) is drawn on the same axes, labelled ``baseline_label``.
    """
    if not run.curve_sampled:
        return None
    points = _thinned(run.curve_sampled)
    base = _thinned(baseline) if baseline else []
    threshold = _threshold(run)
    final = _final(run, points)

    # Ranges: every finite loss of both curves; the threshold too unless it would squash them.
    losses = [v for _, v in (*points, *base) if math.isfinite(v)]
    if final is not None:
        losses.append(final[1])
    threshold_off: str | None = None  # "above" or "below" the plot when left out of the range
    if threshold is not None and losses:
        lo, hi = min(losses), max(losses)
        reach = max(hi / 2 - lo / 2, abs(lo) / 2, abs(hi) / 2)
        if lo - reach <= threshold.value <= hi + reach:
            losses.append(threshold.value)
        else:
            threshold_off = "above" if threshold.value > hi else "below"
    elif threshold is not None:
        losses.append(threshold.value)
    y_lo, y_hi = _fit(losses)
    step_values = [float(s) for s, _ in (*points, *base)]
    x_lo, x_hi = min(step_values), max(step_values)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1

    y_step, y_ticks = _ticks(y_lo, y_hi)
    y_big = max((abs(t) for t in y_ticks), default=0.0) or max(abs(y_lo), abs(y_hi))
    y_labels = [_y_label(t, y_step, y_big) for t in y_ticks]
    x_step, x_ticks = _ticks(x_lo, x_hi)
    if x_step < 1:  # steps are integers: no tick between two of them
        x_step, x_ticks = 1.0, [float(t) for t in range(math.ceil(x_lo), math.floor(x_hi) + 1)]
    x_big = max((abs(t) for t in x_ticks), default=0.0) or max(abs(x_lo), abs(x_hi))
    x_labels = [_x_label(t, x_step, x_big) for t in x_ticks]

    left = 34 + _CHAR * max((len(label) for label in y_labels), default=1)
    right, top, bottom = _WIDTH - _RIGHT, _TOP, _TOP + _PLOT_HEIGHT
    nf_band = top + 8  # non-finite losses sit in a band along the top edge, above every finite one
    x = _Axis(x_lo, x_hi, left, right)
    y = _Axis(y_lo, y_hi, bottom, nf_band + 10)

    name = _esc(run.name, int((right - left - 60) / 11), middle=True)  # after the verdict; 14px bold, wide glyphs
    verdict = run.verdict.name
    metric = _esc(run.provenance.metric or run.settings.metric, 40)
    base_label = _esc(baseline_label, 60) if base else None
    body: list[str] = ['<g class="axes">']

    # Grid, ticks and axes.
    for t, label in zip(y_ticks, y_labels, strict=True):
        py = _n(y(t))
        body.append(f'<line class="grid" x1="{_n(left)}" x2="{_n(right)}" y1="{py}" y2="{py}"/>')
        body.append(f'<text x="{_n(left - 6)}" y="{py}" dy="3.5" text-anchor="end">{label}</text>')
    for t, label in zip(x_ticks, x_labels, strict=True):
        px = _n(x(t))
        body.append(f'<line class="grid" x1="{px}" x2="{px}" y1="{_n(top)}" y2="{_n(bottom)}"/>')
        body.append(f'<text x="{px}" y="{_n(bottom + 16)}" text-anchor="middle">{label}</text>')
    body.append(f'<rect class="axis" x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" height="{_PLOT_HEIGHT}"/>')
    body.append(
        f'<text class="small" x="{_n((left + right) / 2)}" y="{_n(bottom + 32)}" text-anchor="middle">step</text>'
    )
    mid_y = _n((top + bottom) / 2)
    body.append(
        f'<text class="small" transform="translate(14 {mid_y}) rotate(-90)" text-anchor="middle">{metric}</text>'
    )

    body += ["</g>", '<g class="plot">']

    # The convergence threshold, labelled on the line (or at the edge it lies beyond).
    if threshold is not None:
        cls = "thr bad" if threshold.failed else "thr"
        colour = _RED if threshold.failed else _GREY
        text = f"{threshold.label} = {num(threshold.value)}" + (" (failed)" if threshold.failed else "")
        if threshold_off is None:
            ty = y(threshold.value)
            body.append(f'<line class="{cls}" x1="{_n(left)}" x2="{_n(right)}" y1="{_n(ty)}" y2="{_n(ty)}"/>')
            label_y = ty - 4 if ty - 4 > nf_band + 12 else ty + 12
        else:
            label_y = nf_band + 14 if threshold_off == "above" else bottom - 6
            text = f"{'↑' if threshold_off == 'above' else '↓'} {text}, {threshold_off} the chart"
        # A white copy underneath keeps the label readable over the curves (paint-order is not everywhere).
        at = f'x="{_n(right - 12)}" y="{_n(label_y)}" text-anchor="end"'
        body.append(f'<text class="small halo" {at}>{_esc(text)}</text>')
        body.append(f'<text class="small" {at} style="fill:{colour}">{_esc(text)}</text>')

    # Curves: the baseline under the run.
    if base:
        d, lonely = _path(base, x, y)
        if d:
            body.append(f'<path class="base" d="{d}"/>')
        body += [f'<circle cx="{_n(px)}" cy="{_n(py)}" r="2" fill="{_ORANGE}"/>' for px, py in lonely]
    d, lonely = _path(points, x, y)
    if d:
        body.append(f'<path class="run" d="{d}"/>')
    body += [f'<circle cx="{_n(px)}" cy="{_n(py)}" r="2.5" fill="{_BLUE}"/>' for px, py in lonely]
    # A non-finite loss is drawn once: as its event's cross, or as a tick where no event covers it.
    covered = set(run.steps_of(EventKind.NON_FINITE))
    rug = "".join(
        f"M{_n(x(s))} {_n(top)}v{_n(nf_band - top + 4)}" for s, v in points if not math.isfinite(v) and s not in covered
    )
    if rug:
        body.append(f'<path class="rug" d="{rug}"/>')

    # The final loss, then the events on top of everything.
    if final is not None:
        tip = f"final loss {num(final[1])} at step {final[0]}"
        body.append(
            f'<circle class="final" cx="{_n(x(final[0]))}" cy="{_n(y(final[1]))}" r="4.5">'
            f"<title>{_esc(tip)}</title></circle>"
        )
    markers, kinds = _markers(run, points, x, y, nf_band)
    body += markers

    # Legend.
    def line_key(cls: str) -> Callable[[float, float], str]:
        return lambda kx, ky: f'<path class="{cls}" d="M{_n(kx)} {_n(ky - 4)}h22"/>'

    items = [_Item(line_key("run"), f"{metric} (this run)")] if d or lonely else []
    if base_label is not None:
        items.append(_Item(line_key("base"), base_label))
    if rug:
        items.append(
            _Item(lambda kx, ky: f'<path class="rug" d="M{_n(kx + 11)} {_n(ky - 10)}v10"/>', "non-finite loss (NaN/∞)")
        )
    if final is not None:
        items.append(
            _Item(
                lambda kx, ky: f'<circle class="final" cx="{_n(kx + 11)}" cy="{_n(ky - 4)}" r="4"/>',
                f"final loss {_esc(num(final[1]))}",
            )
        )
    if EventKind.SPIKE in kinds:
        items.append(
            _Item(lambda kx, ky: f'<circle class="spike" cx="{_n(kx + 11)}" cy="{_n(ky - 4)}" r="4.5"/>', "loss spike")
        )
    if EventKind.NON_FINITE in kinds:
        items.append(_Item(lambda kx, ky: f'<path class="nf" d="{_cross(kx + 11, ky - 4)}"/>', "non-finite event"))
    legend, legend_bottom = _legend(items, left, bottom + 54)
    body += ["</g>", '<g class="legend">', *legend, "</g>"]
    height = math.ceil(legend_bottom + 8)

    summary = _esc(_summary(run, final, threshold, _clean(baseline_label, 60) if base else None), 1200)
    message = _esc(verdict_message(run), 130)
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" aria-labelledby="svg-title svg-desc">',
        f'<title id="svg-title">{name}: {verdict} (loss curve)</title>',
        f'<desc id="svg-desc">{summary}</desc>',
        f"<style>{_STYLE}</style>",
        f'<rect width="{_WIDTH}" height="{height}" fill="#fff"/>',
        f'<text class="title" x="{_n(left)}" y="24"><tspan style="fill:{_VERDICT_COLOUR[run.verdict]}">{verdict}'
        f"</tspan> {name}</text>",
        f'<text class="small" x="{_n(left)}" y="42">{message}</text>',
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


# --- file names ----------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_STEM = 64
# Windows refuses these as file names whatever the extension; an artifact may be unpacked there.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def svg_filename(run_name: str, taken: set[str]) -> str:
    """A file name for the run's SVG: ``[A-Za-z0-9._-]`` only, at most 78 characters, readable.

    A name that came through unchanged is used as it is; any other (characters replaced, cut
    short, a Windows device name) gets a short hash of the full run name, so that different runs
    get different files whatever order they come in. Against ``taken`` (compared ignoring case,
    as macOS and Windows file systems do) a collision is resolved by hashing again with a counter.
    The caller adds the result to ``taken``.
    """
    ascii_name = unicodedata.normalize("NFKD", run_name).encode("ascii", "ignore").decode("ascii")
    stem = _DOTS.sub(".", _UNSAFE.sub("_", ascii_name)).strip("._-")[:_STEM].rstrip("._-")
    stem = stem or "run"
    changed = stem != run_name or stem.split(".")[0].lower() in _RESERVED
    folded = {name.lower() for name in taken}
    candidate = f"{stem}-{_digest(run_name)}.svg" if changed else f"{stem}.svg"
    attempt = 0
    while candidate.lower() in folded:
        attempt += 1
        candidate = f"{stem}-{_digest(run_name + chr(0) + str(attempt))}.svg"
    return candidate
