"""Real-runs benchmark: the gate's verdicts, with every setting at its default, on the public
training logs in ``../shared/real-logs`` (never copied into the project).

    python bench/real_runs.py                               # the defaults and the original checks
    python bench/real_runs.py --settings min-spike-rise=15  # any settings, by input name
    python bench/real_runs.py --as-user                     # read as a user's action would read them
    python bench/real_runs.py --rises                       # labelled spikes against the runs' own rises

Each run has a label (healthy, spiky, diverging or flat) given by the rule in docs/real-runs.md,
written down before the gate's output on these runs was looked at. Reading is taken out of the
picture as in issue 13's own experiment: a console log's curve is what its ``labels.json`` regex
gives (steps and values), the other logs go through the action's own readers with ``metric`` and
``step-key`` set where needed. With ``--as-user`` reading is put back in: every log (all but
``curves/``, which are curves, not logs) is found and read by the action's own discovery and
readers with only ``path``, and ``metric`` where a user must set it. The script prints the verdict
confusion table and, per check, the share of healthy runs it fails (false failures) and the share
of unhealthy runs it should fail that it passes (misses).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drift.config import BY_NAME, RunSettings, parse_value  # noqa: E402
from drift.curve import Curve  # noqa: E402
from drift.discovery import discover  # noqa: E402
from drift.gate import EventKind, RunResult, judge  # noqa: E402
from drift.readers import read  # noqa: E402
from drift.readers.common import LogFile, ReadSpec  # noqa: E402
from drift.render.messages import message  # noqa: E402
from drift.robust import heights, noise_model, relative_rise, rolling_median, warmup  # noqa: E402

DATA = ROOT.parent / "shared" / "real-logs"
LABELS = ("healthy", "spiky", "diverging", "flat")


@dataclass(frozen=True)
class RealRun:
    name: str  # folder/slug
    label: str  # one of LABELS (docs/real-runs.md)
    kind: str  # what sort of training it is
    spike_rise: float  # the largest labelled spike's rise over the local median (0 when none)
    steps: np.ndarray  # type: ignore[type-arg]
    values: np.ndarray  # type: ignore[type-arg]
    spike_steps: tuple[int, ...] = ()
    note: str = ""


# The labels of docs/real-runs.md, one entry per run: (label, kind of run, note).
# Spike sizes are measured from the data by labelled_rise() below, not written here.
RUNS: dict[str, tuple[str, str, str]] = {
    # curves/: Hugging Face trainer_state.json curves (curves/SOURCES.md)
    "curves/chatglm-flat-linhuall": ("flat", "fine-tune (LoRA)", "source: flat, non-learning run"),
    "curves/covbert-hunarbatra": ("healthy", "fine-tune (classifier)", ""),
    "curves/lora-alpaca-sherryxzhao": ("healthy", "fine-tune (LoRA)", "50-step sawtooth, not labelled"),
    "curves/metamath-ljh696": ("spiky", "SFT, per step", "labelled spike at step 28"),
    "curves/mistral-translator-sygoat": ("healthy", "fine-tune (LoRA)", ""),
    "curves/morazubot-v4-arkb": ("healthy", "fine-tune", ""),
    "curves/phi2-oasst-shettysaish20": ("healthy", "SFT (PEFT), short", ""),
    "curves/qlora-fujump": ("healthy", "fine-tune (QLoRA)", "50-step sawtooth, not labelled"),
    "curves/reviewnlp-bert-kpower7": ("spiky", "fine-tune (classifier), warm restarts", "labelled spike at 99000"),
    "curves/rugpt3-poetry-ansarill": ("healthy", "fine-tune (LoRA), short", ""),
    "curves/stanford-alpaca-yc1999": ("healthy", "SFT, per step", ""),
    "curves/star-specdec-hangeryang": ("healthy", "draft-model training", "16% jump at 23300 judged noise"),
    # console/: labels.json
    "console/detectron2-lr010-finetune": ("healthy", "vision fine-tune (detectron2)", ""),
    "console/detectron2-medwaste-metrics": ("healthy", "vision (detectron2)", "borderline +11-14% plateau blips"),
    "console/dschat-ppo-actor": ("flat", "RL (PPO policy loss)", "crosses zero, no trend"),
    "console/keras1-kanji-cnn-restarts": ("healthy", "vision (Keras), small", "last of four fit() calls"),
    "console/lerobot-act-utf16": ("healthy", "robotics (ACT)", "rounded steps: line order"),
    "console/llamafactory-pairwise-flat": ("flat", "reward/DPO pairwise", "stopped in warmup"),
    "console/llmc-gpt2-124m-console": ("healthy", "pretraining from scratch, per step", ""),
    "console/llmc-gpt2-allnan": ("diverging", "pretraining from scratch, per step", "NaN from step 1"),
    "console/mng-adamw-baseline": ("spiky", "pretraining from scratch, per step", "borderline: one +10.4% blip"),
    "console/mng-scaleup1b-spiky": ("spiky", "pretraining from scratch, per step", "106 labelled spikes"),
    "console/nsllm-cpt-jsonl": ("healthy", "continued pretraining", ""),
    "console/olmo-1b-reproduce": ("healthy", "pretraining from scratch, per step", ""),
    # formats/: logs written by real tools (formats/SOURCES.md; its spike notes are candidates)
    "formats/csv-keras/braincnn-age-flat-1000ep": ("flat", "Keras regression", "5.79394 -> 5.79118"),
    "formats/csv-keras/braincnn-all-nan": ("diverging", "Keras", "every loss NaN"),
    "formats/csv-keras/braincnn-mnist-smooth": ("healthy", "Keras vision, small", ""),
    "formats/csv-keras/brats2020-unet-sorted-columns": ("healthy", "Keras segmentation, small", ""),
    "formats/csv-lightning/byol3d-finetune-resumed-epoch100": ("flat", "Lightning fine-tune", "flat ~0.35"),
    "formats/csv-lightning/byol3d-pretrain-diverges": ("diverging", "Lightning self-supervised", "blows up"),
    "formats/csv-lightning/legacy-2020-no-step-column": ("flat", "Lightning", "15.9175 -> 15.9045"),
    "formats/csv-lightning/pl-wrapper-cifar10": ("healthy", "Lightning vision", ""),
    "formats/jsonl/detr-epoch-log-txt": ("healthy", "vision (DETR), per epoch", "second of two appended runs"),
    "formats/jsonl/netra-nmt-mixed-records": ("spiky", "translation", "7 isolated +20-45% excursions"),
    "formats/jsonl/openpi-step-loss": ("healthy", "robotics policy", ""),
    "formats/mlflow/liver-ct-unet-1200ep": ("spiky", "segmentation, per epoch", "+24% blip at 1148"),
    "formats/mlflow/sb3-dqn-nested-keys": ("flat", "RL (DQN TD loss)", "no trend"),
}

# formats/SOURCES.md names spike candidates, not labels; these are the ones the rule labels.
FORMAT_SPIKES: dict[str, tuple[int, ...]] = {
    "jsonl/netra-nmt-mixed-records": (23050, 29050, 29600, 58250, 75350, 78450, 90100),
    "mlflow/liver-ct-unet-1200ep": (1148,),
}

# How formats/ logs are read: (format, metric, step-key).
FORMAT_SPECS: dict[str, tuple[str, str, str]] = {
    "csv-keras/braincnn-age-flat-1000ep": ("csv", "loss", "step"),
    "csv-keras/braincnn-all-nan": ("csv", "loss", "step"),
    "csv-keras/braincnn-mnist-smooth": ("csv", "loss", "step"),
    "csv-keras/brats2020-unet-sorted-columns": ("csv", "loss", "step"),
    "csv-lightning/byol3d-finetune-resumed-epoch100": ("csv", "loss", "step"),
    "csv-lightning/byol3d-pretrain-diverges": ("csv", "loss", "step"),
    "csv-lightning/legacy-2020-no-step-column": ("csv", "loss", "step"),
    "csv-lightning/pl-wrapper-cifar10": ("csv", "loss", "step"),
    "jsonl/detr-epoch-log-txt": ("jsonl", "train_loss", "epoch"),
    "jsonl/netra-nmt-mixed-records": ("jsonl", "loss", "step"),
    "jsonl/openpi-step-loss": ("jsonl", "loss", "step"),
    "mlflow/liver-ct-unet-1200ep": ("mlflow", "train_avg_loss", "step"),
    "mlflow/sb3-dqn-nested-keys": ("mlflow", "loss", "step"),
}


def labelled_rise(steps: np.ndarray, values: np.ndarray, spike_steps: tuple[int, ...]) -> float:  # type: ignore[type-arg]
    """The largest labelled spike's rise over the median of its +-5 neighbours (the labellers' measure)."""
    best = 0.0
    for step in spike_steps:
        i = int(np.searchsorted(steps, step))
        if i >= steps.size or steps[i] != step:
            continue
        around = np.concatenate([values[max(0, i - 5) : i], values[i + 1 : i + 6]])
        around = around[np.isfinite(around)]
        if around.size and np.median(around) != 0:
            best = max(best, float(values[i] / np.median(around) - 1.0))
    return best


def _console(slug: str, entry: dict) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    raw = (DATA / "console" / entry["file"]).read_bytes()
    text = raw.decode(entry.get("encoding", "utf-8-sig")).replace("\r\n", "\n")
    if "regex" not in entry:  # JSON lines without a regex: the jsonl reader with the step key
        return _read_jsonl(DATA / "console" / entry["file"], entry["metric"], entry["step_key"])
    steps_raw, values = [], []
    for match in re.finditer(entry["regex"], text):
        steps_raw.append(match.group("step"))
        values.append(float(match.group("loss")))
    vals = np.asarray(values, dtype=np.float64)
    if slug == "keras1-kanji-cnn-restarts":
        # Four fit() calls, the epoch counter restarting at 1: the latest run is the last segment.
        numbers = np.asarray([int(s) for s in steps_raw])
        start = int(np.flatnonzero(np.diff(numbers) <= 0)[-1]) + 1
        return numbers[start:], vals[start:]
    if not all(s.isdigit() for s in steps_raw) or any(int(b) <= int(a) for a, b in pairwise(steps_raw)):
        # Rounded steps ("1K" repeated): the points in line order.
        return np.arange(1, vals.size + 1), vals
    return np.asarray([int(s) for s in steps_raw]), vals


def _read_jsonl(path: Path, metric: str, step_key: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    curve = read("jsonl", [LogFile(path, path.name)], ReadSpec(metric=metric, step_key=step_key))
    return curve.steps, curve.values


def _formats(rel: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    fmt, metric, step_key = FORMAT_SPECS[rel]
    folder = DATA / "formats" / rel
    runs = [r for r in discover(["."], folder).runs if not r.skip and not r.error]
    if len(runs) != 1:
        raise RuntimeError(f"{rel}: expected one run, found {len(runs)}")
    curve = read(fmt if fmt != "csv" else runs[0].format, runs[0].files, ReadSpec(metric=metric, step_key=step_key))
    return curve.steps, curve.values


# The metric a user has to name for a log; every other log reads with `path` alone.
USER_METRIC = {"formats/mlflow/liver-ct-unet-1200ep": "train_avg_loss"}


def _as_user(name: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """The curve as the action reads it from ``path`` (and ``metric`` only where it must be set)."""
    folder = DATA / name
    runs = [r for r in discover(["."], folder).runs if not r.skip and not r.error]
    if len(runs) != 1:
        raise RuntimeError(f"{name}: expected one run read with path alone, found {len(runs)}")
    curve = read(runs[0].format, runs[0].files, ReadSpec(metric=USER_METRIC.get(name, "loss"), step_key=""))
    return curve.steps, curve.values


def load(as_user: bool = False) -> list[RealRun]:
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: the real logs live beside the checkout, in ../shared/real-logs")
    labels = json.loads((DATA / "console" / "labels.json").read_text())
    out = []
    for name, (label, kind, note) in RUNS.items():
        where, rel = name.split("/", 1)
        spikes: tuple[int, ...] = ()
        if where == "curves":
            data = json.loads((DATA / "curves" / f"{rel}.json").read_text())
            steps, values = np.asarray(data["steps"]), np.asarray(data["values"], dtype=np.float64)
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], values[order]
            spikes = tuple(int(s) for s in data.get("spikes", []))
        elif where == "console":
            steps, values = _as_user(name) if as_user else _console(rel, labels[rel])
            spikes = tuple(int(s) for s in labels[rel].get("spike_steps", []))
        else:
            steps, values = _as_user(name) if as_user else _formats(rel)
            spikes = FORMAT_SPIKES.get(rel, ())
        out.append(RealRun(name, label, kind, labelled_rise(steps, values, spikes), steps, values, spikes, note))
    return out


def curve_of(run: RealRun) -> Curve:
    n = run.values.size
    # Repeated steps keep the last value, as every reader does.
    steps, index = np.unique(run.steps[::-1], return_index=True)
    keep = n - 1 - index
    stored = np.where(np.isfinite(run.values[keep]), run.values[keep], np.inf)
    return Curve(
        steps.astype(np.int64),
        stored,
        np.zeros(steps.size, dtype=np.int32),
        (keep + 1).astype(np.int64),
        (run.name,),
    )


def expected(run: RealRun) -> str:
    """What the run should get: fail, pass, or either (borderline spikes)."""
    if run.label == "healthy":
        return "pass"
    if run.label == "spiky" and run.spike_rise < 0.2:
        return "either"
    return "fail"


def group(run: RealRun) -> str:
    if run.label == "spiky":
        return "spiky >=+20%" if run.spike_rise >= 0.2 else "spiky <+20% (borderline)"
    return run.label


def settings_from(pairs: list[str]) -> RunSettings:
    settings = RunSettings()
    for pair in pairs:
        key, _, raw = pair.partition("=")
        field = BY_NAME[key.strip()]
        settings = replace(settings, **{field.name.replace("-", "_"): parse_value(field, raw, "--settings")})
    return settings


def noise_share(run: RealRun) -> str:
    """The noise of one logged point (the robust detector's estimate) as a share of the loss at the end."""
    values = run.values[np.isfinite(run.values)]
    end = float(np.median(values[-max(3, values.size // 10) :])) if values.size else 0.0
    if values.size < 4 or end == 0.0:
        return "n/a"
    return f"{noise_model(values).level / abs(end):.1%} of the loss"


def found_labels(run: RealRun, result: RunResult) -> tuple[int, int]:
    """(labelled spikes with an event within one logged point, labelled spikes)."""
    steps = curve_of(run).steps
    events = np.searchsorted(steps, np.asarray(result.steps_of(EventKind.SPIKE), dtype=np.int64))
    hits = 0
    for step in run.spike_steps:
        at = int(np.searchsorted(steps, step))
        hits += bool(events.size) and bool(np.min(np.abs(events - at)) <= 1)
    return hits, len(run.spike_steps)


def tables(runs: list[RealRun], settings: RunSettings, shown: str) -> None:
    results: list[tuple[RealRun, RunResult]] = [(run, judge(run.name, curve_of(run), settings)) for run in runs]
    print(f"## {shown}\n")
    groups = ["healthy", "spiky >=+20%", "spiky <+20% (borderline)", "diverging", "flat"]
    verdicts = ("pass", "warn", "skip", "error")
    table: Counter[tuple[str, str]] = Counter((group(run), result.verdict.value) for run, result in results)
    print("Verdicts (rows: the label of docs/real-runs.md):\n")
    print("| label | runs | " + " | ".join(verdicts) + " | as expected |")
    print("|---|---:|" + "---:|" * len(verdicts) + "---:|")
    for name in groups:
        members = [(r, res) for r, res in results if group(r) == name]
        good = sum(
            expected(r) == "either" or (res.verdict.value == "pass") == (expected(r) == "pass") for r, res in members
        )
        cells = " | ".join(str(table[(name, v)]) for v in verdicts)
        print(f"| {name} | {len(members)} | {cells} | {good}/{len(members)} |")

    checks = sorted({c.check for _, res in results for c in res.checks})
    print("\nPer check: the share of healthy runs it fails (false failures) and of the runs that must fail it passes")
    print("(misses; a check need not catch every kind, the verdict is what counts):\n")
    fail_groups = ["spiky >=+20%", "diverging", "flat"]
    print("| check | healthy runs failed | " + " | ".join(f"{g} passed" for g in fail_groups) + " |")
    print("|---|---:|" + "---:|" * len(fail_groups))
    for metric in checks:
        row = []
        for name in ["healthy", *fail_groups]:
            members = [res for r, res in results if group(r) == name]
            judged = [res for res in members if any(c.check == metric for c in res.checks)]
            if name == "healthy":
                bad = sum(any(c.check == metric and not c.passed for c in res.checks) for res in judged)
            else:
                bad = sum(any(c.check == metric and c.passed for c in res.checks) for res in judged)
            row.append(f"{bad}/{len(judged)} ({bad / len(judged):.0%})" if judged else "-")
        print(f"| {metric} | " + " | ".join(row) + " |")

    hits = [found_labels(r, res) for r, res in results if r.spike_steps]
    print(
        f"\nLabelled spikes with an event within one logged point: {sum(h for h, _ in hits)} of "
        f"{sum(n for _, n in hits)}, in "
        + ", ".join(f"{r.name} {found_labels(r, res)[0]}/{len(r.spike_steps)}" for r, res in results if r.spike_steps)
    )
    wrong = [
        (r, res)
        for r, res in results
        if expected(r) != "either" and (res.verdict.value == "pass") != (expected(r) == "pass")
    ]
    print("\nRuns judged against their label:" if wrong else "\nEvery run judged as labelled.")
    for run, res in wrong:
        print(f"- {run.name} ({group(run)}, {run.kind}): {res.verdict.value.upper()}: {message(res)}")
    for run, res in results:
        if expected(run) == "either":
            print(f"- borderline {run.name}: {res.verdict.value.upper()}: {message(res)}")
    print()


def rises(runs: list[RealRun], window: int) -> None:
    """Why the quiet labelled spikes are not flagged: each labelled spike's height over its trend in
    noise units (the detector's z) and its rise, next to the tallest point of the same run, and of
    every healthy run, that rises +20% or more over its trend (the labels' own bar)."""
    print(f"Labelled spikes against the runs' own rises (robust-window {window}; z in noise units):\n")
    print("| run | label | points | labelled spikes: z, rise | tallest of the rises of +20% or more | 99th pct. of z |")
    print("|---|---|---:|---|---|---:|")
    half = max(1, window // 2)
    for run in runs:
        curve = curve_of(run)
        values = curve.values
        points = np.flatnonzero(values[1:] > values[:-1]) + 1
        points = points[points >= warmup(values.size)]
        if run.label not in ("healthy", "spiky") or not points.size or not np.isfinite(values).all():
            continue
        medians = rolling_median(values, half)
        labelled = np.searchsorted(curve.steps, np.asarray(run.spike_steps, dtype=np.int64))[:8]
        marks = zip(
            heights(values, labelled, window=window), relative_rise(values, medians, labelled, half), strict=True
        )
        z, share = heights(values, points, window=window), relative_rise(values, medians, points, half)
        big = np.flatnonzero(share >= 0.2)
        top = f"{z[big].max():.1f} {share[big][np.argmax(z[big])]:+.0%}" if big.size else "-"
        shown = ", ".join(f"{h:.1f} {r:+.0%}" for h, r in marks) or "-"
        print(f"| {run.name} | {group(run)} | {values.size} | {shown} | {top} | {np.percentile(z, 99):.1f} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="*", default=None, help="key=value settings by input name: robust-sigma=5")
    parser.add_argument("--runs", action="store_true", help="also print every run's verdict, message and noise level")
    parser.add_argument("--as-user", action="store_true", help="read every log as the action does, from path alone")
    parser.add_argument("--rises", action="store_true", help="labelled spikes' heights against the runs' own rises")
    args = parser.parse_args()
    runs = load(as_user=args.as_user)
    how = "read as the action reads them" if args.as_user else "reading taken out of the picture"
    print(f"{len(runs)} real runs from {DATA.relative_to(DATA.parent.parent)} ({how}; labels: docs/real-runs.md)\n")
    if args.settings is not None:
        tables(runs, settings_from(args.settings), ", ".join(args.settings))
    else:
        tables(runs, RunSettings(), "Every setting at its default")
        tables(runs, settings_from(["original-checks=true"]), "original-checks: true (the original probe's checks)")
    if args.rises:
        rises(runs, settings_from(args.settings or []).robust_window)
    if args.runs:
        settings = settings_from(args.settings or [])
        print("Every run:")
        for run in runs:
            res = judge(run.name, curve_of(run), settings)
            print(f"- {run.name} [{run.label}, noise {noise_share(run)}]: {res.verdict.value.upper()}: {message(res)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
