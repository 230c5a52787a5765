"""The job summary (GITHUB_STEP_SUMMARY) in GitHub-flavoured Markdown.

GitHub drops a step summary over 1 MiB whole, so the page is assembled against a byte budget:
the verdict and the worst runs first; whatever does not fit is counted in a closing note.
"""

from __future__ import annotations

import math
from collections import Counter

from drift import __version__
from drift.config import SpikeMethod
from drift.gate import Check, CheckResult, Event, EventKind, Op, Outcome, RunResult, Verdict
from drift.render import messages
from drift.render.chart import mermaid, sparkline
from drift.render.text import code, md, num

LIMIT_BYTES = 1_000_000  # GitHub's hard limit is 1 MiB; keep room for the closing note
_SPARK_WIDTH = 6  # characters of the table's curve column
MAX_CHARTS = 25  # Mermaid charts are heavy for the browser; the table has a sparkline for every run

ICON = {Verdict.PASS: "✅", Verdict.SKIP: "⏭️", Verdict.WARN: "⚠️", Verdict.ERROR: "❌"}
_SHOW_OP = {Op.AT_LEAST: "≥", Op.AT_MOST: "≤"}


def _cell(check: CheckResult | None, value: float | None = None) -> str:
    """A checked figure with its mark and threshold; an unchecked one as it is."""
    if check is None:
        return "–" if value is None else num(value)
    threshold = num(check.threshold) if isinstance(check.threshold, float) else str(check.threshold)
    mark = "✅" if check.passed else "❌"
    return f"{num(check.value)} {mark} ({_SHOW_OP[check.check.op]} {threshold})"


def _row(run: RunResult) -> str:
    checks = {c.check: c for c in run.checks}
    m = run.metrics
    final = num(m.final_loss) if m else "–"
    spark = sparkline(run.curve_sampled, _SPARK_WIDTH) if run.curve_sampled else ""
    improvement = _improvement(checks.get(Check.IMPROVEMENT), run)
    return (
        f"| {code(run.name, 120)} | {ICON[run.verdict]} {run.verdict.value.upper()} | {final} | {improvement} "
        f"| {_cell(checks.get(Check.CONVERGENCE_RATIO), m.convergence_ratio if m else None)} "
        f"| {_cell(checks.get(Check.SMOOTHNESS), m.smoothness if m else None)} "
        f"| {_cell(checks.get(Check.INSTABILITY_EVENTS))} | {run.num_steps} | {spark} |"
    )


def _improvement(check: CheckResult | None, run: RunResult) -> str:
    """The trend's improvement in percent (``n/a`` when it has none: a constant or sign-changing loss)."""
    trend = run.metrics.trend if run.metrics else None
    if check is None and (trend is None or run.settings.original_checks):
        return "–"
    value = check.value if check is not None else (trend.improvement * 100 if trend else math.nan)
    shown = "n/a" if math.isnan(value) else f"{value:+.1f}%"
    if check is None:
        return shown
    return f"{shown} {'✅' if check.passed else '❌'} (≥ {num(check.threshold)}%)"


def _size(event: Event) -> str:
    """How big a spike was: the rise, and with the robust detector its height in noise units."""
    if event.rise is None:
        return ""
    share = f", {event.relative_rise:+.0%} over trend" if event.relative_rise is not None else ""
    height = f", {num(event.z, 3)}σ above trend" if event.z is not None else ""
    return f"+{num(event.rise)}{share}{height}, "


def _reasons(run: RunResult) -> list[str]:
    items = []
    source = run.provenance
    if run.verdict in (Verdict.ERROR, Verdict.SKIP):
        items.append(md(messages.message(run), 400))
    advice = messages.hint(run)
    if advice:
        items.append(md(advice, 600))
    for check in run.failed:
        side = "below" if check.check.op is Op.AT_LEAST else "above"
        if check.check is Check.IMPROVEMENT:
            shown = "n/a" if math.isnan(check.value) else f"{check.value:+.1f}%"
            limit = f"`min-improvement` {num(check.threshold)}%"
            told = f"n/a (against {limit})" if math.isnan(check.value) else f"{shown} is below {limit}"
            items.append(f"`improvement` {told}: {md(messages.note(check), 300)}")
            continue
        items.append(f"`{check.check}` {num(check.value)} is {side} `{check.check.setting}` {num(check.threshold)}")
    for kind, label in ((EventKind.SPIKE, "loss spike(s)"), (EventKind.NON_FINITE, "non-finite loss(es)")):
        of_kind = [e for e in run.events if e.kind is kind]
        total, listed = len(of_kind), of_kind[:5]
        if not total:
            continue
        shown = ", ".join(f"step {e.step} ({_size(e)}{code(str(e.position), 100)})" for e in listed)
        more = f" and {total - len(listed)} more" if total > len(listed) else ""
        items.append(f"{total} {label}: {shown}{more}")
    if source.skipped_lines:
        where = code(str(source.first_skipped), 120) if source.first_skipped else ""
        unit = source.first_skipped.unit if source.first_skipped else "line"
        items.append(f"{source.skipped_lines} broken {unit}(s) skipped, the first at {where}")
    if source.irregular_rows:
        where = code(str(source.first_irregular), 120) if source.first_irregular else ""
        shape = "row(s) with more or fewer cells than the header"
        items.append(f"{source.irregular_rows} {shape}, read where they hold the step and metric; the first at {where}")
    items += [md(line, 300) for line in source.notes[:5]]
    if source.ignored_records:
        metric = code(run.settings.metric, 60)
        items.append(f"{source.ignored_records} step record(s) without a numeric {metric} ignored")
    return [f"- {item}" for item in items]


def _section(run: RunResult, with_chart: bool) -> str:
    lines = [f"### {ICON[run.verdict]} {code(run.name, 120)}: {run.verdict.value.upper()}", ""]
    lines += _reasons(run)
    source = run.provenance
    if run.metrics is not None:
        keys = (f", {code(source.metric, 80)}" if source.metric else "") + (
            f" by {code(source.step, 80)}" if source.step else ""
        )
        read = f" ({source.format}{keys})"
        lines += ["", f"{run.num_steps} steps from {len(source.files)} file(s){read}; score {num(run.score, 3)}."]
    if with_chart and run.curve_sampled:
        base = run.reference.curve_sampled if run.reference else ()
        chart = mermaid(run.curve_sampled, [e.step for e in run.events], run.settings.metric, base)
        if chart:
            legend = "<sub>blue: this run; grey: the baseline; red bars: instability events</sub>"
            lines += ["", chart] + (["", legend] if base else [])
    return "\n".join(lines) + "\n\n"


def _arrow(delta: float) -> str:
    return "▲" if delta > 0 else ("▼" if delta < 0 else "=")


def _versus(check: CheckResult | None, base: float | None, now: float | None, relative: bool) -> str:
    """``base → now (▲ +4.2%) ✅``: the baseline's figure, this run's, the change and the verdict."""
    if base is None or now is None:
        return "–"
    delta = now - base
    if relative and base != 0:
        change = f"{_arrow(delta)} {delta / abs(base):+.1%}"
    else:
        change = f"{_arrow(delta)} {num(delta) if delta < 0 else '+' + num(delta)}"
    mark = "" if check is None else (" ✅" if check.passed else " ❌")
    return f"{num(base)} → {num(now)} ({change}){mark}"


def _baseline_table(runs: list[RunResult], budget: int) -> str:
    lines = [
        "### Against the baseline",
        "",
        "| Run | Baseline run | Final loss | Smoothness | Instability events |",
        "|---|---|---|---|---|",
    ]
    used = sum(len(line.encode()) + 1 for line in lines)
    for run in runs:
        ref, m = run.reference, run.metrics
        if ref is None or m is None:
            continue
        checks = {c.check: c for c in run.checks}
        events = None if ref.instability_events is None else float(ref.instability_events)
        now_events = float(m.instability_events)
        row = (
            f"| {code(run.name, 120)} | {code(ref.name, 120)} "
            f"| {_versus(checks.get(Check.FINAL_LOSS_VS_BASELINE), ref.final_loss, m.final_loss, True)} "
            f"| {_versus(checks.get(Check.SMOOTHNESS_VS_BASELINE), ref.smoothness, m.smoothness, False)} "
            f"| {_versus(checks.get(Check.INSTABILITY_EVENTS_VS_BASELINE), events, now_events, False)} |"
        )
        if used + len(row.encode()) + 1 > budget:
            lines.append(f"| {len(runs)} compared run(s) in all; the rest are in the JSON report | | | | |")
            break
        lines.append(row)
        used += len(row.encode()) + 1
    source = runs[0].reference.source if runs[0].reference else ""
    lines += ["", f"<sub>Baseline: {md(source, 200)}. ▲ higher, ▼ lower than the baseline.</sub>", ""]
    return "\n".join(lines) + "\n"


def headline(outcome: Outcome) -> str:
    counts = Counter(run.verdict for run in outcome.runs)
    tally = ", ".join(
        f"{counts[v]} {v.value}" for v in (Verdict.ERROR, Verdict.WARN, Verdict.SKIP, Verdict.PASS) if counts[v]
    )
    gate = "passed" if outcome.passed else "failed"
    return (
        f"{ICON[outcome.verdict]} training-drift: {outcome.verdict.value.upper()}, the gate {gate} "
        f"({len(outcome.runs)} run(s){': ' + tally if tally else ''}; fail-on: {outcome.fail_on})"
    )


def render_summary(outcome: Outcome, report_path: str | None = None, limit: int = LIMIT_BYTES) -> str:
    parts: list[str] = [f"## {headline(outcome)}\n\n"]
    for note in outcome.notes:
        parts.append(f"> {md(note, 500)}\n\n")
    used = sum(len(p.encode()) for p in parts)
    reserve = 2_000  # the closing notes
    table = [
        # Short headers and a short sparkline: the table fits GitHub's page at 1,280 px.
        "| Run | Verdict | Final loss | Improved | Conv. ratio | Smoothness | Events | Steps | Curve |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table_bytes = sum(len(line.encode()) + 1 for line in table)
    rows_shown = 0
    for run in outcome.runs:
        row = _row(run)
        if used + table_bytes + len(row.encode()) + 1 + reserve > limit:
            break
        table.append(row)
        table_bytes += len(row.encode()) + 1
        rows_shown += 1
    if outcome.runs:
        parts.append("\n".join(table) + "\n\n")
        used += table_bytes + 1
        robust = [
            run.settings
            for run in outcome.runs
            if run.settings.spike_method is SpikeMethod.ROBUST and not run.settings.original_checks
        ]
        if robust:
            note = (
                f"<sub>Spikes by the `robust` detector (robust-sigma {num(robust[0].robust_sigma)}, "
                f"robust-window {robust[0].robust_window}, min-spike-rise {num(robust[0].min_spike_rise)}%); "
                "smoothness and convergence ratio are shown, not checked. Set `original-checks: true` for the "
                "original probe's checks and numbers.</sub>\n\n"
            )
            parts.append(note)
            used += len(note.encode())

    compared = [run for run in outcome.runs if run.reference is not None]
    if compared:
        block = _baseline_table(compared, limit - used - reserve)
        parts.append(block)
        used += len(block.encode())

    sections_shown, charts = 0, 0
    for run in outcome.runs:
        needs_section = run.verdict is not Verdict.PASS or charts < MAX_CHARTS
        if not needs_section:
            continue
        section = _section(run, with_chart=charts < MAX_CHARTS)
        size = len(section.encode())
        if used + size + reserve > limit:
            section = _section(run, with_chart=False)
            size = len(section.encode())
            if used + size + reserve > limit:
                break
        elif run.curve_sampled and charts < MAX_CHARTS:
            charts += 1
        parts.append(section)
        used += size
        sections_shown += 1

    omitted_rows = len(outcome.runs) - rows_shown
    detailed = sum(1 for run in outcome.runs if run.verdict is not Verdict.PASS)
    omitted_notes = []
    if omitted_rows:
        omitted_notes.append(f"{omitted_rows} run(s) left out of the table")
    if sections_shown < detailed:
        omitted_notes.append(f"details of {detailed - sections_shown} failing or skipped run(s) left out")
    charted = sum(1 for run in outcome.runs if run.curve_sampled)
    if charted > charts:
        omitted_notes.append(f"charts drawn for {charts} of {charted} curves (every row has a sparkline)")
    if omitted_notes:
        where = f" in {code(report_path, 200)}" if report_path else " in the JSON report"
        parts.append(
            f"> [!NOTE]\n> To stay under GitHub's 1 MiB summary limit: {'; '.join(omitted_notes)}. "
            f"Every run is{where}.\n\n"
        )
    parts.append(f"<sub>training-drift {__version__}</sub>\n")
    return "".join(parts)
