"""The gate: metrics and thresholds in, verdicts out (the seed's ``_verdict_from_metrics``)."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from drift.config import RunSettings, parse_limit
from drift.convergence import TrendState
from drift.curve import Curve, IntArray, Position
from drift.metrics import Metrics, compute_metrics, fill_forward, sample_indices


class Verdict(enum.Enum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    SKIP = "skip"
    WARN = "warn"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Verdict.PASS: 0, Verdict.SKIP: 1, Verdict.WARN: 2, Verdict.ERROR: 3}


@dataclass(frozen=True)
class Check:
    metric: str  # the seed's metric name
    value: float
    op: str  # "<=" or ">="
    threshold: float
    passed: bool
    setting: str  # the input that sets the threshold
    position: Position | None = None  # where an annotation should point
    note: str = ""  # why it failed, when the figures alone do not say (a constant loss, a sign change)


@dataclass(frozen=True)
class Event:
    step: int
    kind: str  # "spike" or "non-finite"
    position: Position
    rise: float | None = None  # the loss increase, for spikes
    z: float | None = None  # robust detector: height above the trend in noise units
    relative_rise: float | None = None  # robust detector: rise over the trend / the loss level


@dataclass(frozen=True)
class Reference:
    """The same run's figures in the baseline the pull request is compared against."""

    name: str
    source: str  # what the baseline was read from, for messages
    final_loss: float | None
    smoothness: float | None
    convergence_ratio: float | None
    instability_events: int | None
    curve_sampled: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class RunResult:
    name: str
    verdict: Verdict
    score: float | None
    message: str
    settings: RunSettings
    files: tuple[str, ...] = ()
    metrics: Metrics | None = None
    num_steps: int = 0
    checks: tuple[Check, ...] = ()
    events: tuple[Event, ...] = ()  # every instability event, with where it came from
    spike_steps: tuple[int, ...] = ()
    nonfinite_steps: tuple[int, ...] = ()
    curve_sampled: tuple[tuple[int, float], ...] = ()
    skipped_lines: int = 0
    first_skipped: Position | None = None
    irregular_rows: int = 0
    first_irregular: Position | None = None
    ignored_records: int = 0
    error_position: Position | None = None
    hint: str | None = None  # how to fix a SKIP or ERROR, beyond the seed's message
    reference: Reference | None = None  # the baseline's figures for this run, when compared
    source_format: str = ""  # the reader that read it ("" when nothing was read)
    metric_name: str = ""  # the field, column, tag or key read, when not the metric setting itself
    step_name: str = ""  # the field or column read as the step (JSON lines, CSV)
    reader_notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)


def error_result(
    name: str, settings: RunSettings, message: str, files: Sequence[str] = (), position: Position | None = None
) -> RunResult:
    return RunResult(name, Verdict.ERROR, None, message, settings, tuple(files), error_position=position)


def skip_result(name: str, settings: RunSettings, message: str, files: Sequence[str] = ()) -> RunResult:
    return RunResult(name, Verdict.SKIP, None, message, settings, tuple(files))


def judge(name: str, curve: Curve, settings: RunSettings) -> RunResult:
    """Gate one run's curve: SKIP when too short, else PASS or WARN with the seed's score."""
    common = {
        "files": curve.files,
        "num_steps": len(curve),
        "skipped_lines": curve.skipped_lines,
        "first_skipped": curve.first_skipped,
        "irregular_rows": curve.irregular_rows,
        "first_irregular": curve.first_irregular,
        "ignored_records": curve.ignored_records,
        "source_format": curve.format,
        "metric_name": curve.metric_name,
        "step_name": curve.step_name,
        "reader_notes": curve.notes,
    }
    # The seed counts every distinct step, even one too large for its array, before it SKIPs.
    counted = len(curve) + curve.oversized_steps
    if counted < settings.min_steps or len(curve) == 0:
        message = f"only {counted} step records (< min_steps={settings.min_steps}); curve too short to fit reliably"
        hint = None
        seen = ", ".join(curve.fields_seen) or "none"
        metric = curve.metric_name or settings.metric
        if len(curve) == 0 and curve.ignored_records and _lacks_step(curve, metric):
            step = repr(curve.step_name) if settings.step_key else "field of a usual name"
            hint = (
                f"{curve.ignored_records} record(s) hold {metric!r} but no numeric step {step}; "
                f"fields seen: {seen}. Set the step-key input to the field that counts the steps."
            )
        elif len(curve) == 0 and curve.ignored_records:
            hint = (
                f"{curve.ignored_records} step record(s) have no numeric {settings.metric!r}; "
                f"fields seen: {seen}. Set the metric input to one of them."
            )
        elif len(curve) == 0 and curve.fields_seen:
            hint = f"no {settings.metric!r} in these logs; names found: {seen}. Set the metric input to one of them."
        return RunResult(name, Verdict.SKIP, None, message, settings, hint=hint, **common)  # type: ignore[arg-type]

    probe = settings.original_checks == "true"
    metrics = compute_metrics(
        curve.values,
        rolling_window=settings.rolling_window,
        spike_sigma=settings.spike_sigma,
        method="seed" if probe else settings.spike_method,
        robust_window=settings.robust_window,
        robust_sigma=settings.robust_sigma,
        min_rise=settings.min_spike_rise / 100.0,
    )
    checks = _probe_checks(curve, metrics, settings) if probe else _checks(curve, metrics, settings)
    verdict, score, message = _verdict(metrics, checks)
    picked = sample_indices(len(curve))
    sampled = tuple(zip(curve.steps[picked].tolist(), curve.values[picked].tolist(), strict=True))
    return RunResult(
        name,
        verdict,
        score,
        message,
        settings,
        metrics=metrics,
        checks=checks,
        events=_events(curve, metrics),
        spike_steps=tuple(curve.steps[metrics.spike_points].tolist()),
        nonfinite_steps=tuple(curve.steps[metrics.nonfinite_points].tolist()),
        curve_sampled=sampled,
        **common,  # type: ignore[arg-type]
    )


def _lacks_step(curve: Curve, metric: str) -> bool:
    """Whether the records seen hold the metric but not the step field read."""
    return bool(curve.step_name) and metric in curve.fields_seen and curve.step_name not in curve.fields_seen


def _events_check(curve: Curve, metrics: Metrics, settings: RunSettings) -> Check:
    first_event = min([*metrics.spike_points.tolist(), *metrics.nonfinite_points.tolist()], default=None)
    events, high_events = metrics.instability_events, settings.max_instability_events
    return Check(
        "instability_events",
        events,
        "<=",
        high_events,
        events <= high_events,
        "max-instability-events",
        curve.position(first_event) if first_event is not None else None,
    )


def _probe_checks(curve: Curve, metrics: Metrics, settings: RunSettings) -> tuple[Check, ...]:
    """The original probe's three checks, on its own figures."""
    last = curve.position(len(curve) - 1)
    smooth, ratio = metrics.smoothness, metrics.convergence_ratio
    low_smooth, high_ratio = settings.min_smoothness, settings.max_convergence_ratio
    # Smoothness is a property of the whole curve: point at the file, not a line.
    return (
        Check("smoothness", smooth, ">=", low_smooth, smooth >= low_smooth, "min-smoothness", Position(last.file)),
        Check("convergence_ratio", ratio, "<=", high_ratio, ratio <= high_ratio, "max-convergence-ratio", last),
        _events_check(curve, metrics, settings),
    )


def _checks(curve: Curve, metrics: Metrics, settings: RunSettings) -> tuple[Check, ...]:
    """The default checks: the loss trend improved, and no material spike or non-finite loss.
    Smoothness is reported but not checked: on real runs it measures how large the noise is next to
    the total drop, not whether the run is healthy (docs/real-runs.md)."""
    events = _events_check(curve, metrics, settings)
    trend, floor = metrics.trend, settings.min_improvement
    if trend is None or floor == 0.0:
        return (events,)
    last = curve.position(len(curve) - 1)
    percent = trend.improvement * 100.0
    passed = trend.state is TrendState.MEASURED and percent >= floor
    note = "" if passed else _trend_note(trend.state, trend.start, trend.end, percent)
    return (Check("improvement", percent, ">=", floor, passed, "min-improvement", last, note), events)


def _trend_note(state: TrendState, start: float, end: float, percent: float) -> str:
    if state is TrendState.NO_FINITE:
        return "no finite loss to measure a trend on"
    if state is TrendState.CONSTANT:
        return f"the loss is {start:.4g} at every step: nothing was learned"
    if state is TrendState.CROSSES_ZERO:
        return (
            f"the loss changes sign (trend {start:.4g} to {end:.4g}), so an improvement relative to its start "
            "means nothing; set min-improvement: 0 for losses that are not meant to fall (RL policy losses)"
        )
    if state is TrendState.ZERO_START:
        return f"the loss trend starts at 0 (to {end:.4g}), so an improvement relative to it means nothing"
    verb = "rose" if percent < 0 else "improved"
    return f"the loss trend {verb} from {start:.4g} to {end:.4g}"


def _verdict(metrics: Metrics, checks: tuple[Check, ...]) -> tuple[Verdict, float, str]:
    smooth, ratio = metrics.smoothness, metrics.convergence_ratio
    headline = (
        f"smoothness={smooth:.2f}, convergence_ratio={ratio:.2f}, "
        f"instability_events={metrics.instability_events}, final_loss={metrics.final_loss:.3f}"
    )
    failures = [_failure_text(check) for check in checks if not check.passed]
    if not failures:
        return Verdict.PASS, min(1.0, max(0.0, smooth)), headline
    return Verdict.WARN, min(1.0, max(0.0, smooth * 0.5)), f"{headline}; warnings: {'; '.join(failures)}"


def compare(run: RunResult, ref: Reference) -> RunResult:
    """Add the checks against the baseline to a judged run; a failed one makes it WARN as a failed
    fixed threshold does. Runs without metrics (SKIP, ERROR) are left as they are."""
    metrics = run.metrics
    if metrics is None:
        return run
    settings = run.settings
    last = next((c.position for c in run.checks if c.metric in {"convergence_ratio", "improvement"}), None)
    first_event = next((c.position for c in run.checks if c.metric == "instability_events"), None)
    extra: list[Check] = []

    def allowance(text: str, base: float) -> float | None:
        limit = parse_limit(text) if text else None
        if limit is None:
            return None
        value, relative = limit
        return abs(base) * value / 100 if relative else value

    def add(metric: str, value: float, op: str, base: float | None, setting: str, pos: Position | None) -> None:  # noqa: PLR0917
        if base is None or not math.isfinite(base):
            return
        room = allowance(getattr(settings, setting.replace("-", "_")), base)
        if room is None:
            return
        threshold = base + room if op == "<=" else base - room
        passed = value <= threshold if op == "<=" else value >= threshold  # NaN never passes
        extra.append(Check(metric, value, op, threshold, passed, setting, pos))

    add("final_loss_vs_baseline", metrics.final_loss, "<=", ref.final_loss, "max-final-loss-increase", last)
    add("smoothness_vs_baseline", metrics.smoothness, ">=", ref.smoothness, "max-smoothness-drop", None)
    events = None if ref.instability_events is None else float(ref.instability_events)
    add(
        "instability_events_vs_baseline",
        metrics.instability_events,
        "<=",
        events,
        "max-new-instability-events",
        first_event,
    )
    checks = run.checks + tuple(extra)
    verdict, score, message = _verdict(metrics, checks)
    return replace(run, verdict=verdict, score=score, message=message, checks=checks, reference=ref)


def _failure_text(check: Check) -> str:
    """The seed's wording: smoothness with 2 decimals, the threshold as Python prints it."""
    if check.metric == "instability_events":
        return f"instability_events={int(check.value)} > {int(check.threshold)}"
    if check.metric == "improvement":
        shown = "n/a" if math.isnan(check.value) else f"{check.value:.1f}%"
        return f"improvement={shown} < {check.threshold:g}% ({check.note})"
    if check.metric == "instability_events_vs_baseline":
        return f"instability_events={int(check.value)} > baseline + allowed = {check.threshold:.4g}"
    if check.metric.endswith("_vs_baseline"):
        name = check.metric.removesuffix("_vs_baseline")
        op = "<" if check.op == ">=" else ">"
        return f"{name}={check.value:.4g} {op} {check.threshold:.4g} allowed by the baseline"
    op = "<" if check.op == ">=" else ">"
    return f"{check.metric}={check.value:.2f} {op} {check.threshold}"


def _events(curve: Curve, metrics: Metrics) -> tuple[Event, ...]:
    """Every instability event in step order, with its file, line and size."""
    spikes, nonfinite = metrics.spike_points, metrics.nonfinite_points
    filled = fill_forward(curve.values) if spikes.size else curve.values
    rises = (filled[spikes] - filled[spikes - 1]).tolist()  # a spike's own value is finite
    zs = metrics.spike_z.tolist() if metrics.spike_z is not None else [None] * spikes.size
    shares = metrics.spike_rise.tolist() if metrics.spike_rise is not None else [None] * spikes.size
    files, file_index, lines, steps = curve.files, curve.file_index, curve.line, curve.steps

    def where(points: IntArray) -> list[tuple[int, Position]]:
        return [
            (s, Position(files[f], ln, curve.unit))
            for s, f, ln in zip(
                steps[points].tolist(), file_index[points].tolist(), lines[points].tolist(), strict=True
            )
        ]

    out = [
        Event(s, "spike", p, r, z, share) for (s, p), r, z, share in zip(where(spikes), rises, zs, shares, strict=True)
    ]
    out += [Event(s, "non-finite", p) for s, p in where(nonfinite)]
    out.sort(key=lambda event: event.step)
    return tuple(out)


def overall(results: Sequence[RunResult]) -> Verdict:
    return max((r.verdict for r in results), key=lambda v: v.rank, default=Verdict.SKIP)


def fails_gate(verdict: Verdict, fail_on: str) -> bool:
    if fail_on == "never":
        return False
    if fail_on == "error":
        return verdict is Verdict.ERROR
    return verdict in (Verdict.WARN, Verdict.ERROR)


@dataclass(frozen=True)
class Outcome:
    """Everything the renderers need: the runs, the overall verdict and the gate's decision."""

    runs: tuple[RunResult, ...]
    verdict: Verdict
    passed: bool
    fail_on: str
    notes: tuple[str, ...] = ()  # run-independent findings (no logs first, ignored paths), already worded
    no_logs: str | None = None  # why nothing was read, when nothing was
    if_no_logs: str = "error"  # the policy that applied to it
    baseline_problem: str | None = None  # why the comparison was skipped, when a baseline was asked for
    require_baseline: bool = False  # the policy that applied to it


def decide(
    runs: Sequence[RunResult],
    fail_on: str,
    *,
    no_logs: str | None = None,
    if_no_logs: str = "error",
    notes: Sequence[str] = (),
    baseline_problem: str | None = None,
    require_baseline: bool = False,
) -> Outcome:
    """Combine the runs; ``no_logs`` says why nothing was read, and ``if_no_logs`` what that means;
    ``baseline_problem`` why the baseline comparison did not happen, and ``require_baseline`` whether
    that fails the gate."""
    ordered = tuple(sorted(runs, key=lambda r: (-r.verdict.rank, r.score if r.score is not None else -1.0, r.name)))
    verdict = overall(ordered)
    failing_no_logs = no_logs is not None and if_no_logs == "error"
    failing_baseline = baseline_problem is not None and require_baseline
    if failing_no_logs or failing_baseline:
        verdict = Verdict.ERROR
    passed = not fails_gate(verdict, fail_on) and not failing_no_logs and not failing_baseline
    head = tuple(n for n in (no_logs, baseline_problem) if n is not None)
    return Outcome(
        ordered, verdict, passed, fail_on, (*head, *notes), no_logs, if_no_logs, baseline_problem, require_baseline
    )
