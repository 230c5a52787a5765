"""drift/gate.py: structured verdicts (checks, events, skips, the baseline comparison, the gate's
decision), and their words in drift/render/messages.py."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drift.config import BY_NAME, FailOn, IfNoLogs, Limit, RunSettings
from drift.convergence import Trend, TrendState
from drift.curve import Curve, Position, Provenance
from drift.gate import (
    Check,
    CheckResult,
    EventKind,
    Missing,
    Op,
    Reference,
    TooShort,
    Verdict,
    compare,
    decide,
    error_result,
    fails_gate,
    judge,
    skip_result,
)
from drift.render.messages import failure, hint, message, note
from tests.test_units import _curve


def _falling(n: int = 40, spike_at: int | None = None) -> Curve:
    values = [10.0 - 0.1 * s for s in range(n)]
    if spike_at is not None:
        values[spike_at] += 5.0
    return _curve(values)


# --- checks ------------------------------------------------------------------------------------
def test_each_check_names_its_operator_and_the_input_that_sets_its_limit() -> None:
    # A min- setting or an allowed drop is a floor; a max- setting or an allowed increase a ceiling.
    for check in Check:
        assert check.setting in BY_NAME, check
        floor = check.setting.startswith("min-") or check.setting.endswith("-drop")
        assert check.op is (Op.AT_LEAST if floor else Op.AT_MOST), check
    assert len({check.setting for check in Check}) == len(Check)
    assert Check.IMPROVEMENT.setting == "min-improvement" and Check.SMOOTHNESS_VS_BASELINE.op is Op.AT_LEAST


def test_the_default_checks_and_the_probes() -> None:
    run = judge("r", _falling(spike_at=20), RunSettings())
    assert [c.check for c in run.checks] == [Check.IMPROVEMENT, Check.INSTABILITY_EVENTS]
    improvement, events = run.checks
    assert improvement.passed and improvement.trend is not None and improvement.threshold == 1.0
    assert not events.passed and events.value == 1 and events.threshold == 0
    assert events.position == Position("runs/x/logs/train-1.jsonl", 22)  # the spike's own line
    assert run.verdict is Verdict.WARN and run.failed == (events,)
    probe = judge("r", _falling(), RunSettings(original_checks=True))
    assert [c.check for c in probe.checks] == [Check.SMOOTHNESS, Check.CONVERGENCE_RATIO, Check.INSTABILITY_EVENTS]
    for c in probe.checks:
        holds = c.value >= c.threshold if c.check.op is Op.AT_LEAST else c.value <= c.threshold
        assert c.passed == holds
    assert probe.checks[0].position == Position("runs/x/logs/train-1.jsonl")  # the whole file
    assert all(c.trend is None for c in probe.checks)


def test_events_are_structured_and_their_steps_derived_from_them() -> None:
    values = [10.0 - 0.1 * s for s in range(40)]
    values[10] += 5.0
    values[30] = math.inf
    run = judge("r", _curve(values), RunSettings(max_instability_events=5))
    assert [(e.step, e.kind) for e in run.events] == [(10, EventKind.SPIKE), (30, EventKind.NON_FINITE)]
    assert run.steps_of(EventKind.SPIKE) == (10,) and run.steps_of(EventKind.NON_FINITE) == (30,)
    assert run.metrics is not None
    spike = run.events[0]
    assert spike.rise == pytest.approx(4.9) and spike.position == Position("runs/x/logs/train-1.jsonl", 12)


def test_a_run_carries_its_provenance() -> None:
    curve = replace(_falling(), format="csv", metric_name="train/loss", step_name="it", notes=("n",), skipped_lines=2)
    run = judge("r", curve, RunSettings())
    assert run.provenance == curve.provenance
    assert run.provenance == Provenance(
        ("runs/x/logs/train-1.jsonl",), "csv", "train/loss", "it", ("n",), skipped_lines=2
    )
    failed = error_result("e", RunSettings(), "boom", ["a", "b"], Position("a", 3))
    assert failed.provenance == Provenance(("a", "b")) and failed.problem == "boom" and message(failed) == "boom"
    skipped = skip_result("s", RunSettings(), "no logs", ["a"])
    assert skipped.verdict is Verdict.SKIP and message(skipped) == "no logs" and hint(skipped) is None


# --- skips -------------------------------------------------------------------------------------
def _empty(ignored_records: int = 0, step_name: str = "", fields_seen: tuple[str, ...] = ()) -> Curve:
    """A log that gave no point, and what its records held."""
    none = np.zeros(0, dtype=np.int64)
    return replace(
        Curve(none, none.astype(np.float64), none.astype(np.int32), none, ("log.jsonl",)),
        ignored_records=ignored_records,
        step_name=step_name,
        fields_seen=fields_seen,
    )


def test_a_short_run_is_skipped_with_the_count_the_seed_makes() -> None:
    run = judge("r", replace(_falling(5), oversized_steps=2), RunSettings())
    assert run.verdict is Verdict.SKIP and run.too_short == TooShort(7, None) and run.metrics is None
    assert message(run) == "only 7 step records (< min_steps=10); curve too short to fit reliably"
    assert hint(run) is None and run.num_steps == 5


@pytest.mark.parametrize(
    ("curve", "settings", "missing", "words"),
    [
        (
            _empty(ignored_records=3, step_name="step", fields_seen=("loss", "it")),
            RunSettings(),
            Missing.STEP,
            "3 record(s) hold 'loss' but no numeric step field of a usual name; fields seen: loss, it. "
            "Set the step-key input to the field that counts the steps.",
        ),
        (
            _empty(ignored_records=3, step_name="iter", fields_seen=("loss", "it")),
            RunSettings(step_key="iter"),
            Missing.STEP,
            "3 record(s) hold 'loss' but no numeric step 'iter'; fields seen: loss, it. "
            "Set the step-key input to the field that counts the steps.",
        ),
        (
            _empty(ignored_records=2, fields_seen=("acc",)),
            RunSettings(),
            Missing.VALUE,
            "2 step record(s) have no numeric 'loss'; fields seen: acc. Set the metric input to one of them.",
        ),
        (
            _empty(fields_seen=("acc", "lr")),
            RunSettings(),
            Missing.METRIC,
            "no 'loss' in these logs; names found: acc, lr. Set the metric input to one of them.",
        ),
        (_empty(), RunSettings(), None, None),
    ],
)
def test_an_empty_run_says_what_is_missing(
    curve: Curve, settings: RunSettings, missing: Missing | None, words: str | None
) -> None:
    run = judge("r", curve, settings)
    assert run.too_short == TooShort(0, missing)
    assert hint(run) == words


# --- the baseline ------------------------------------------------------------------------------
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, st.floats(min_value=0, max_value=500), st.booleans())
def test_the_final_loss_limit_is_the_baseline_plus_the_allowance(
    base: float, shift: float, allowed: float, relative: bool
) -> None:
    settings = RunSettings(max_final_loss_increase=Limit.parse(f"{allowed!r}%" if relative else repr(allowed)))
    values = [10.0 - 0.1 * s for s in range(40)]
    values[-1] = base + shift
    run = judge("r", _curve(values), settings)
    ref = Reference("r", "test", base, None, None, None)
    compared = compare(run, ref)
    (check,) = [c for c in compared.checks if c.check is Check.FINAL_LOSS_VS_BASELINE]
    room = abs(base) * allowed / 100 if relative else allowed
    assert check.threshold == base + room
    assert check.passed == (base + shift <= base + room)
    if not check.passed:
        assert compared.verdict is Verdict.WARN


def test_the_baseline_checks_and_where_they_point() -> None:
    run = judge("r", _falling(spike_at=20), RunSettings(max_instability_events=5))
    assert run.metrics is not None and run.verdict is Verdict.PASS
    base_final = run.metrics.final_loss * 0.5
    ref = Reference("r", "main", base_final, run.metrics.smoothness + 0.05, None, 0)
    compared = compare(run, ref)
    extra = compared.checks[len(run.checks) :]
    assert [c.check for c in extra] == [
        Check.FINAL_LOSS_VS_BASELINE,
        Check.SMOOTHNESS_VS_BASELINE,
        Check.INSTABILITY_EVENTS_VS_BASELINE,
    ]
    final, smooth, events = extra
    assert final.threshold == pytest.approx(base_final * 1.05) and not final.passed
    assert final.position == run.checks[0].position  # the last point, as the improvement check
    assert smooth.threshold == pytest.approx(run.metrics.smoothness - 0.05) and smooth.passed
    assert smooth.position is None
    assert events.threshold == 0.0 and not events.passed and events.position == run.checks[1].position
    assert compared.verdict is Verdict.WARN and compared.reference == ref
    assert compare(compared, ref).checks[: len(run.checks)] == run.checks


def test_an_off_limit_or_a_missing_figure_makes_no_check() -> None:
    run = judge("r", _falling(), RunSettings(max_final_loss_increase=None))
    compared = compare(run, Reference("r", "main", 1.0, math.nan, None, None))
    assert compared.checks == run.checks and compared.verdict is Verdict.PASS
    skipped = judge("r", _falling(3), RunSettings())
    assert compare(skipped, Reference("r", "main", 1.0, 1.0, 1.0, 0)) is skipped


def test_a_nan_figure_never_passes_against_the_baseline() -> None:
    run = judge("r", _curve([math.inf] * 12), RunSettings(max_instability_events=100, min_improvement=0.0))
    assert run.metrics is not None and math.isnan(run.metrics.final_loss)
    (final,) = [c for c in compare(run, Reference("r", "m", 1.0, None, None, None)).checks if c.check.endswith("line")]
    assert not final.passed


# --- the gate's decision -----------------------------------------------------------------------
@pytest.mark.parametrize("fail_on", list(FailOn))
@pytest.mark.parametrize("verdict", list(Verdict))
def test_fail_on_decides_which_verdicts_fail(fail_on: FailOn, verdict: Verdict) -> None:
    fails = {
        FailOn.WARN: {Verdict.WARN, Verdict.ERROR},
        FailOn.ERROR: {Verdict.ERROR},
        FailOn.NEVER: set(),
    }[fail_on]
    assert fails_gate(verdict, fail_on) == (verdict in fails)


def test_decide_orders_worst_first_and_applies_the_policies() -> None:
    good = judge("b", _falling(), RunSettings())
    bad = judge("a", _falling(spike_at=20), RunSettings())
    short = judge("c", _falling(3), RunSettings())
    outcome = decide([good, short, bad], FailOn.WARN)
    assert [r.name for r in outcome.runs] == ["a", "c", "b"] and outcome.verdict is Verdict.WARN
    assert not outcome.passed and outcome.fail_on is FailOn.WARN
    assert decide([good, bad], FailOn.ERROR).passed
    none = decide([], FailOn.NEVER, no_logs="nothing", if_no_logs=IfNoLogs.ERROR)
    assert none.verdict is Verdict.ERROR and not none.passed and none.notes == ("nothing",)
    assert decide([], FailOn.WARN, no_logs="nothing", if_no_logs=IfNoLogs.WARN).passed
    base = decide([good], FailOn.WARN, baseline_problem="gone", require_baseline=True, notes=("n",))
    assert base.verdict is Verdict.ERROR and not base.passed and base.notes == ("gone", "n")
    assert decide([good], FailOn.WARN, baseline_problem="gone").passed


# --- the words (drift/render/messages.py) -----------------------------------------------------
@pytest.mark.parametrize(
    ("check", "words"),
    [
        (CheckResult(Check.SMOOTHNESS, 0.5, 0.7, False), "smoothness=0.50 < 0.7"),
        (CheckResult(Check.CONVERGENCE_RATIO, 1.234, 0.7, False), "convergence_ratio=1.23 > 0.7"),
        (CheckResult(Check.INSTABILITY_EVENTS, 3, 0, False), "instability_events=3 > 0"),
        (
            CheckResult(Check.IMPROVEMENT, -5.0, 1.0, False, None, Trend(2.0, 2.1, -0.05, TrendState.MEASURED)),
            "improvement=-5.0% < 1% (the loss trend rose from 2 to 2.1)",
        ),
        (
            CheckResult(Check.IMPROVEMENT, math.nan, 1.0, False, None, Trend(0.5, 0.5, math.nan, TrendState.CONSTANT)),
            "improvement=n/a < 1% (the loss is 0.5 at every step: nothing was learned)",
        ),
        (CheckResult(Check.FINAL_LOSS_VS_BASELINE, 1.2, 1.05, False), "final_loss=1.2 > 1.05 allowed by the baseline"),
        (CheckResult(Check.SMOOTHNESS_VS_BASELINE, 0.5, 0.6, False), "smoothness=0.5 < 0.6 allowed by the baseline"),
        (
            CheckResult(Check.INSTABILITY_EVENTS_VS_BASELINE, 4, 2.0, False),
            "instability_events=4 > baseline + allowed = 2",
        ),
    ],
)
def test_a_failed_check_in_the_seeds_words(check: CheckResult, words: str) -> None:
    assert failure(check) == words


@pytest.mark.parametrize(
    ("state", "start", "end", "words"),
    [
        (TrendState.NO_FINITE, math.nan, math.nan, "no finite loss to measure a trend on"),
        (TrendState.ZERO_START, 0.0, 0.5, "the loss trend starts at 0 (to 0.5), so an improvement relative"),
        (TrendState.CROSSES_ZERO, -0.1, 0.2, "the loss changes sign (trend -0.1 to 0.2), so an improvement"),
        (TrendState.MEASURED, 2.0, 1.99, "the loss trend improved from 2 to 1.99"),
    ],
)
def test_why_the_trend_failed(state: TrendState, start: float, end: float, words: str) -> None:
    percent = (start - end) / abs(start) * 100 if state is TrendState.MEASURED else math.nan
    check = CheckResult(Check.IMPROVEMENT, percent, 1.0, False, None, Trend(start, end, percent / 100, state))
    assert note(check).startswith(words)
    assert note(replace(check, passed=True)) == ""


def test_a_runs_message_is_its_figures_then_its_failures() -> None:
    run = judge("r", _falling(spike_at=20), RunSettings())
    m = run.metrics
    assert m is not None
    head = (
        f"smoothness={m.smoothness:.2f}, convergence_ratio={m.convergence_ratio:.2f}, "
        f"instability_events=1, final_loss={m.final_loss:.3f}"
    )
    assert message(run) == f"{head}; warnings: instability_events=1 > 0"
    assert message(replace(run, checks=run.checks[:1])) == head
