"""The gate: metrics and thresholds in, verdicts out (the seed's ``_verdict_from_metrics``).

Verdicts are data (which check, its value and limit, whether it passed, and why); the words are
the renderers' (``drift.render.messages``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from drift.config import FailOn, IfNoLogs, Limit, RunSettings, SpikeMethod
from drift.convergence import Trend, TrendState
from drift.curve import Curve, IntArray, Position, Provenance
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


class Op(StrEnum):
    AT_MOST = "<="
    AT_LEAST = ">="


class Check(StrEnum):
    """Every check the gate makes, by the name the report and the annotations give it."""

    SMOOTHNESS = "smoothness"
    CONVERGENCE_RATIO = "convergence_ratio"
    INSTABILITY_EVENTS = "instability_events"
    IMPROVEMENT = "improvement"
    FINAL_LOSS_VS_BASELINE = "final_loss_vs_baseline"
    SMOOTHNESS_VS_BASELINE = "smoothness_vs_baseline"
    INSTABILITY_EVENTS_VS_BASELINE = "instability_events_vs_baseline"

    @property
    def op(self) -> Op:
        """How the value must stand to the limit to pass."""
        return _RULES[self][0]

    @property
    def setting(self) -> str:
        """The input that sets the limit."""
        return _RULES[self][1]


_RULES = {
    Check.SMOOTHNESS: (Op.AT_LEAST, "min-smoothness"),
    Check.CONVERGENCE_RATIO: (Op.AT_MOST, "max-convergence-ratio"),
    Check.INSTABILITY_EVENTS: (Op.AT_MOST, "max-instability-events"),
    Check.IMPROVEMENT: (Op.AT_LEAST, "min-improvement"),
    Check.FINAL_LOSS_VS_BASELINE: (Op.AT_MOST, "max-final-loss-increase"),
    Check.SMOOTHNESS_VS_BASELINE: (Op.AT_LEAST, "max-smoothness-drop"),
    Check.INSTABILITY_EVENTS_VS_BASELINE: (Op.AT_MOST, "max-new-instability-events"),
}


@dataclass(frozen=True)
class CheckResult:
    check: Check
    value: float
    threshold: float
    passed: bool
    position: Position | None = None  # where an annotation should point
    trend: Trend | None = None  # IMPROVEMENT: the trend measured; its state says why it failed


class EventKind(StrEnum):
    SPIKE = "spike"
    NON_FINITE = "non-finite"


@dataclass(frozen=True)
class Event:
    step: int
    kind: EventKind
    position: Position
    rise: float | None = None  # the loss increase, for spikes
    z: float | None = None  # robust detector: height above the trend in noise units
    relative_rise: float | None = None  # robust detector: rise over the trend / the loss level


class Missing(StrEnum):
    """Why a run read no point at all, when the records it saw say."""

    STEP = "step"  # the records hold the metric but not the step field read
    VALUE = "value"  # the step records hold no numeric metric
    METRIC = "metric"  # the logs hold other names, not the metric


@dataclass(frozen=True)
class TooShort:
    """A SKIP by the min-steps rule."""

    counted: int  # distinct steps, counting those too large to keep, as the seed counts them
    missing: Missing | None = None


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
    settings: RunSettings
    provenance: Provenance = field(default_factory=Provenance)
    problem: str = ""  # why it could not be judged, as the reader or discovery worded it (ERROR, SKIP)
    too_short: TooShort | None = None
    metrics: Metrics | None = None
    num_steps: int = 0
    checks: tuple[CheckResult, ...] = ()
    events: tuple[Event, ...] = ()  # every instability event in step order, with where it came from
    curve_sampled: tuple[tuple[int, float], ...] = ()
    error_position: Position | None = None
    hint: str | None = None  # discovery's advice on a SKIP or ERROR, beyond its problem
    reference: Reference | None = None  # the baseline's figures for this run, when compared

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def steps_of(self, kind: EventKind) -> tuple[int, ...]:
        """The steps of the events of one kind, ascending."""
        return tuple(event.step for event in self.events if event.kind is kind)


def error_result(
    name: str, settings: RunSettings, message: str, files: Sequence[str] = (), position: Position | None = None
) -> RunResult:
    return RunResult(
        name, Verdict.ERROR, None, settings, Provenance(tuple(files)), problem=message, error_position=position
    )


def skip_result(name: str, settings: RunSettings, message: str, files: Sequence[str] = ()) -> RunResult:
    return RunResult(name, Verdict.SKIP, None, settings, Provenance(tuple(files)), problem=message)


def judge(name: str, curve: Curve, settings: RunSettings) -> RunResult:
    """Gate one run's curve: SKIP when too short, else PASS or WARN with the seed's score."""
    # The seed counts every distinct step, even one too large for its array, before it SKIPs.
    counted = len(curve) + curve.oversized_steps
    if counted < settings.min_steps or len(curve) == 0:
        too_short = TooShort(counted, _missing(curve, settings))
        return RunResult(
            name, Verdict.SKIP, None, settings, curve.provenance, too_short=too_short, num_steps=len(curve)
        )
    metrics = compute_metrics(
        curve.values,
        rolling_window=settings.rolling_window,
        spike_sigma=settings.spike_sigma,
        method=SpikeMethod.SEED if settings.original_checks else settings.spike_method,
        robust_window=settings.robust_window,
        robust_sigma=settings.robust_sigma,
        min_rise=settings.min_spike_rise / 100.0,
    )
    checks = (_probe_checks if settings.original_checks else _checks)(curve, metrics, settings)
    verdict, score = _verdict(metrics, checks)
    picked = sample_indices(len(curve))
    sampled = tuple(zip(curve.steps[picked].tolist(), curve.values[picked].tolist(), strict=True))
    return RunResult(
        name,
        verdict,
        score,
        settings,
        curve.provenance,
        metrics=metrics,
        num_steps=len(curve),
        checks=checks,
        events=_events(curve, metrics),
        curve_sampled=sampled,
    )


def _missing(curve: Curve, settings: RunSettings) -> Missing | None:
    if len(curve) != 0:
        return None
    if curve.ignored_records and _lacks_step(curve, curve.metric_name or settings.metric):
        return Missing.STEP
    if curve.ignored_records:
        return Missing.VALUE
    return Missing.METRIC if curve.fields_seen else None


def _lacks_step(curve: Curve, metric: str) -> bool:
    """Whether the records seen hold the metric but not the step field read."""
    return bool(curve.step_name) and metric in curve.fields_seen and curve.step_name not in curve.fields_seen


def _events_check(curve: Curve, metrics: Metrics, settings: RunSettings) -> CheckResult:
    first_event = min([*metrics.spike_points.tolist(), *metrics.nonfinite_points.tolist()], default=None)
    events, high_events = metrics.instability_events, settings.max_instability_events
    return CheckResult(
        Check.INSTABILITY_EVENTS,
        events,
        high_events,
        events <= high_events,
        curve.position(first_event) if first_event is not None else None,
    )


def _probe_checks(curve: Curve, metrics: Metrics, settings: RunSettings) -> tuple[CheckResult, ...]:
    """The original probe's three checks, on its own figures."""
    last = curve.position(len(curve) - 1)
    smooth, ratio = metrics.smoothness, metrics.convergence_ratio
    low_smooth, high_ratio = settings.min_smoothness, settings.max_convergence_ratio
    # Smoothness is a property of the whole curve: point at the file, not a line.
    return (
        CheckResult(Check.SMOOTHNESS, smooth, low_smooth, smooth >= low_smooth, Position(last.file)),
        CheckResult(Check.CONVERGENCE_RATIO, ratio, high_ratio, ratio <= high_ratio, last),
        _events_check(curve, metrics, settings),
    )


def _checks(curve: Curve, metrics: Metrics, settings: RunSettings) -> tuple[CheckResult, ...]:
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
    return (CheckResult(Check.IMPROVEMENT, percent, floor, passed, last, trend), events)


def _verdict(metrics: Metrics, checks: tuple[CheckResult, ...]) -> tuple[Verdict, float]:
    smooth = metrics.smoothness
    if all(check.passed for check in checks):
        return Verdict.PASS, min(1.0, max(0.0, smooth))
    return Verdict.WARN, min(1.0, max(0.0, smooth * 0.5))


def compare(run: RunResult, ref: Reference) -> RunResult:
    """Add the checks against the baseline to a judged run; a failed one makes it WARN as a failed
    fixed threshold does. Runs without metrics (SKIP, ERROR) are left as they are."""
    metrics = run.metrics
    if metrics is None:
        return run
    settings = run.settings
    last = next((c.position for c in run.checks if c.check in {Check.CONVERGENCE_RATIO, Check.IMPROVEMENT}), None)
    first_event = next((c.position for c in run.checks if c.check is Check.INSTABILITY_EVENTS), None)
    events = None if ref.instability_events is None else float(ref.instability_events)
    against = (
        _against(
            Check.FINAL_LOSS_VS_BASELINE, metrics.final_loss, ref.final_loss, settings.max_final_loss_increase, last
        ),
        _against(Check.SMOOTHNESS_VS_BASELINE, metrics.smoothness, ref.smoothness, settings.max_smoothness_drop, None),
        _against(
            Check.INSTABILITY_EVENTS_VS_BASELINE,
            metrics.instability_events,
            events,
            settings.max_new_instability_events,
            first_event,
        ),
    )
    extra = tuple(check for check in against if check is not None)
    checks = run.checks + extra
    verdict, score = _verdict(metrics, checks)
    return replace(run, verdict=verdict, score=score, checks=checks, reference=ref)


def _against(
    check: Check, value: float, base: float | None, limit: Limit | None, position: Position | None
) -> CheckResult | None:
    """A figure against the baseline's, allowed ``limit`` of room; None when either is missing."""
    if base is None or not math.isfinite(base) or limit is None:
        return None
    room = limit.room(base)
    if check.op is Op.AT_MOST:
        threshold = base + room
        return CheckResult(check, value, threshold, value <= threshold, position)  # NaN never passes
    threshold = base - room
    return CheckResult(check, value, threshold, value >= threshold, position)


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
        Event(s, EventKind.SPIKE, p, r, z, share)
        for (s, p), r, z, share in zip(where(spikes), rises, zs, shares, strict=True)
    ]
    out += [Event(s, EventKind.NON_FINITE, p) for s, p in where(nonfinite)]
    out.sort(key=lambda event: event.step)
    return tuple(out)


def overall(results: Sequence[RunResult]) -> Verdict:
    return max((r.verdict for r in results), key=lambda v: v.rank, default=Verdict.SKIP)


def fails_gate(verdict: Verdict, fail_on: FailOn) -> bool:
    if fail_on is FailOn.NEVER:
        return False
    if fail_on is FailOn.ERROR:
        return verdict is Verdict.ERROR
    return verdict in (Verdict.WARN, Verdict.ERROR)


@dataclass(frozen=True)
class Outcome:
    """Everything the renderers need: the runs, the overall verdict and the gate's decision."""

    runs: tuple[RunResult, ...]
    verdict: Verdict
    passed: bool
    fail_on: FailOn
    notes: tuple[str, ...] = ()  # run-independent findings (no logs first, ignored paths), already worded
    no_logs: str | None = None  # why nothing was read, when nothing was
    if_no_logs: IfNoLogs = IfNoLogs.ERROR  # the policy that applied to it
    baseline_problem: str | None = None  # why the comparison was skipped, when a baseline was asked for
    require_baseline: bool = False  # the policy that applied to it


def decide(
    runs: Sequence[RunResult],
    fail_on: FailOn,
    *,
    no_logs: str | None = None,
    if_no_logs: IfNoLogs = IfNoLogs.ERROR,
    notes: Sequence[str] = (),
    baseline_problem: str | None = None,
    require_baseline: bool = False,
) -> Outcome:
    """Combine the runs; ``no_logs`` says why nothing was read, and ``if_no_logs`` what that means;
    ``baseline_problem`` why the baseline comparison did not happen, and ``require_baseline`` whether
    that fails the gate."""
    ordered = tuple(sorted(runs, key=lambda r: (-r.verdict.rank, r.score if r.score is not None else -1.0, r.name)))
    verdict = overall(ordered)
    failing_no_logs = no_logs is not None and if_no_logs is IfNoLogs.ERROR
    failing_baseline = baseline_problem is not None and require_baseline
    if failing_no_logs or failing_baseline:
        verdict = Verdict.ERROR
    passed = not fails_gate(verdict, fail_on) and not failing_no_logs and not failing_baseline
    head = tuple(n for n in (no_logs, baseline_problem) if n is not None)
    return Outcome(
        ordered, verdict, passed, fail_on, (*head, *notes), no_logs, if_no_logs, baseline_problem, require_baseline
    )
