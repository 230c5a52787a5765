"""The gate's verdicts in words: a run's message and hint, and why a check failed.

Every renderer (summary, annotations, report, terminal table, SVG) and the progress lines take
their words from here, so a verdict reads the same everywhere. The seed's wording is kept where
the seed had one: smoothness with 2 decimals, its thresholds as Python prints them.
"""

from __future__ import annotations

import math

from drift.convergence import Trend, TrendState
from drift.gate import Check, CheckResult, Missing, Op, RunResult


def message(run: RunResult) -> str:
    """The run's one-line verdict: its figures and failed checks, why it was skipped, or its error."""
    if run.too_short is not None:
        return (
            f"only {run.too_short.counted} step records (< min_steps={run.settings.min_steps}); "
            "curve too short to fit reliably"
        )
    m = run.metrics
    if m is None:
        return run.problem
    headline = (
        f"smoothness={m.smoothness:.2f}, convergence_ratio={m.convergence_ratio:.2f}, "
        f"instability_events={m.instability_events}, final_loss={m.final_loss:.3f}"
    )
    failures = [failure(check) for check in run.failed]
    return f"{headline}; warnings: {'; '.join(failures)}" if failures else headline


def hint(run: RunResult) -> str | None:
    """How to fix a SKIP or ERROR, beyond its message."""
    missing = run.too_short.missing if run.too_short is not None else None
    if missing is None:
        return run.hint
    source, settings = run.provenance, run.settings
    seen = ", ".join(source.fields_seen) or "none"
    if missing is Missing.STEP:
        metric = source.metric or settings.metric
        step = repr(source.step) if settings.step_key else "field of a usual name"
        return (
            f"{source.ignored_records} record(s) hold {metric!r} but no numeric step {step}; "
            f"fields seen: {seen}. Set the step-key input to the field that counts the steps."
        )
    if missing is Missing.VALUE:
        return (
            f"{source.ignored_records} step record(s) have no numeric {settings.metric!r}; "
            f"fields seen: {seen}. Set the metric input to one of them."
        )
    return f"no {settings.metric!r} in these logs; names found: {seen}. Set the metric input to one of them."


def failure(check: CheckResult) -> str:
    """A failed check as the message lists it."""
    if check.check is Check.INSTABILITY_EVENTS:
        return f"instability_events={int(check.value)} > {int(check.threshold)}"
    if check.check is Check.IMPROVEMENT:
        shown = "n/a" if math.isnan(check.value) else f"{check.value:.1f}%"
        return f"improvement={shown} < {check.threshold:g}% ({note(check)})"
    if check.check is Check.INSTABILITY_EVENTS_VS_BASELINE:
        return f"instability_events={int(check.value)} > baseline + allowed = {check.threshold:.4g}"
    op = "<" if check.check.op is Op.AT_LEAST else ">"
    if check.check in (Check.FINAL_LOSS_VS_BASELINE, Check.SMOOTHNESS_VS_BASELINE):
        name = check.check.removesuffix("_vs_baseline")
        return f"{name}={check.value:.4g} {op} {check.threshold:.4g} allowed by the baseline"
    return f"{check.check}={check.value:.2f} {op} {check.threshold}"


def note(check: CheckResult) -> str:
    """Why a check failed when its figures alone do not say (a constant loss, a sign change); else ""."""
    if check.passed or check.trend is None:
        return ""
    return _trend_note(check.trend, check.value)


def _trend_note(trend: Trend, percent: float) -> str:
    start, end = trend.start, trend.end
    if trend.state is TrendState.NO_FINITE:
        return "no finite loss to measure a trend on"
    if trend.state is TrendState.CONSTANT:
        return f"the loss is {start:.4g} at every step: nothing was learned"
    if trend.state is TrendState.CROSSES_ZERO:
        return (
            f"the loss changes sign (trend {start:.4g} to {end:.4g}), so an improvement relative to its start "
            "means nothing; set min-improvement: 0 for losses that are not meant to fall (RL policy losses)"
        )
    if trend.state is TrendState.ZERO_START:
        return f"the loss trend starts at 0 (to {end:.4g}), so an improvement relative to it means nothing"
    verb = "rose" if percent < 0 else "improved"
    return f"the loss trend {verb} from {start:.4g} to {end:.4g}"
