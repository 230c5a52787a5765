"""A plain-text table for the terminal (the local command)."""

from __future__ import annotations

import math

from drift.gate import Check, Outcome, RunResult, Verdict
from drift.render.chart import sparkline
from drift.render.messages import hint, message
from drift.render.summary import headline
from drift.render.text import num, plain

_COLOUR = {Verdict.PASS: "32", Verdict.SKIP: "36", Verdict.WARN: "33", Verdict.ERROR: "31"}


def _cells(run: RunResult) -> list[str]:
    checks = {c.check: c for c in run.checks}

    m = run.metrics

    def cell(which: Check, value: float | None = None) -> str:
        check = checks.get(which)
        if check is None:
            return "-" if value is None else num(value)
        return f"{num(check.value)}{'' if check.passed else '!'}"

    improvement = checks.get(Check.IMPROVEMENT)
    improved = "-"
    if improvement is not None:
        shown = "n/a" if math.isnan(improvement.value) else f"{improvement.value:+.1f}%"
        improved = shown + ("" if improvement.passed else "!")
    return [
        plain(run.name, 48),
        run.verdict.value.upper(),
        num(m.final_loss) if m else "-",
        improved,
        cell(Check.CONVERGENCE_RATIO, m.convergence_ratio if m else None),
        cell(Check.SMOOTHNESS, m.smoothness if m else None),
        cell(Check.INSTABILITY_EVENTS),
        str(run.num_steps),
        sparkline(run.curve_sampled, 20) if run.curve_sampled else "",
    ]


def render_table(outcome: Outcome, colour: bool = False) -> str:
    header = ["run", "verdict", "final", "improved", "conv.ratio", "smooth", "events", "steps", "curve"]
    rows = [_cells(run) for run in outcome.runs]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    for run, row in zip(outcome.runs, rows, strict=True):
        text = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        if colour:
            text = f"\033[{_COLOUR[run.verdict]}m{text}\033[0m"
        lines.append(text)
    details = []
    for run in outcome.runs:
        if run.verdict is not Verdict.PASS:
            details.append(f"- {plain(run.name, 80)}: {plain(message(run), 400)}")
            advice = hint(run)
            if advice:
                details.append(f"  {plain(advice, 600)}")
    notes = [f"note: {plain(n, 400)}" for n in outcome.notes]
    if any(not run.settings.original_checks for run in outcome.runs):
        notes.append(
            "checks: trend improvement and material spikes (robust detector); "
            "--original-checks true gives the original probe's checks and numbers"
        )
    tail = "(! marks a failed threshold)"
    blocks = [lines, details, notes, [headline(outcome), tail]]
    return "\n\n".join("\n".join(block) for block in blocks if block)
