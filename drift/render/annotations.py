"""Annotations: one per failed threshold per run, the most important first.

GitHub shows at most 10 annotations of each kind per step; the rest would vanish silently, so
we stop at 10 and add one notice that says how many more the summary holds.
"""

from __future__ import annotations

import math
from collections import Counter

from drift.config import FailOn, IfNoLogs
from drift.gate import Check, Op, Outcome, RunResult, Verdict, fails_gate
from drift.ghactions import Annotation, Level
from drift.render.messages import message, note
from drift.render.text import num

PER_KIND = 10


def _level(run: RunResult, fail_on: FailOn) -> Level:
    return "error" if fails_gate(run.verdict, fail_on) else "warning"


def _for_run(run: RunResult, fail_on: FailOn) -> list[Annotation]:
    level = _level(run, fail_on)
    if run.verdict is Verdict.ERROR:
        pos = run.error_position
        return [
            Annotation(
                level,
                f"{run.name}: {message(run)}",
                "training-drift: unreadable log",
                pos.file if pos else (run.provenance.files[0] if run.provenance.files else None),
                pos.source_line if pos else None,
            )
        ]
    out = []
    for check in run.failed:
        name, op, setting = check.check.value, "<" if check.check.op is Op.AT_LEAST else ">", check.check.setting
        text = f"{run.name}: {name} = {num(check.value)} {op} {num(check.threshold)} ({setting})"
        if check.check is Check.IMPROVEMENT:
            shown = "n/a" if math.isnan(check.value) else f"{check.value:+.1f}%"
            text = f"{run.name}: improvement = {shown} < {num(check.threshold)}% ({setting}): {note(check)}"
        if check.check is Check.INSTABILITY_EVENTS and run.events:
            first = run.events[0]
            what = f"a rise of {num(first.rise)}" if first.rise is not None else "a non-finite loss"
            if first.relative_rise is not None:
                what += f", {first.relative_rise:+.0%} over the trend"
            if first.z is not None:
                what += f", {num(first.z, 3)}σ"
            inside = f", {first.position.within}" if first.position.within else ""
            text += f"; first event at step {first.step} ({what}{inside})"
        pos = check.position
        out.append(
            Annotation(
                level,
                text,
                f"training-drift: {name}",
                pos.file if pos else None,
                pos.source_line if pos else None,
            )
        )
    return out


def build_annotations(outcome: Outcome) -> list[Annotation]:
    """All annotations in emit order, already capped, with the closing notice if any were cut."""
    wanted: list[Annotation] = []
    if outcome.no_logs is not None and outcome.if_no_logs is not IfNoLogs.IGNORE:
        level: Level = "error" if outcome.if_no_logs is IfNoLogs.ERROR else "warning"
        wanted.append(Annotation(level, outcome.no_logs, "training-drift: no logs"))
    if outcome.baseline_problem is not None:
        level = "error" if outcome.require_baseline else "warning"
        wanted.append(Annotation(level, outcome.baseline_problem, "training-drift: baseline"))
    for run in outcome.runs:  # already worst first
        wanted += _for_run(run, outcome.fail_on)
    # Errors first (they explain the red check), then warnings; order within a kind is kept.
    wanted.sort(key=lambda a: 0 if a.level == "error" else 1)
    shown: list[Annotation] = []
    cut: Counter[str] = Counter()
    per_kind: Counter[str] = Counter()
    for item in wanted:
        if per_kind[item.level] < PER_KIND:
            shown.append(item)
            per_kind[item.level] += 1
        else:
            cut[item.level] += 1
    if cut:
        detail = " and ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(cut.items()))
        shown.append(
            Annotation(
                "notice",
                f"{detail} more: GitHub shows {PER_KIND} annotations of each kind "
                "per step; every finding is in the job summary and the JSON report.",
                "training-drift: more findings",
            )
        )
    return shown
