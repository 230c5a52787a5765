"""Speed and scale benchmark: writes the logs, runs the action as the runner does, prints a table.

    python bench/run.py            # all cases (about two minutes, ~2 GB of logs under bench/out/)
    python bench/run.py --quick    # the 1M-step and cold-start cases only
    python bench/run.py --skips    # the JSON-lines reader on 100 MB inputs it mostly skips
    python bench/run.py --detector # the spike detector and trend at 10M steps, against the one before materiality

Each case runs ``entrypoint.py`` in a fresh process with the runner's environment (every input of
action.yml at its default, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, a workspace), and reads
wall time and peak RSS of that process from os.wait4, in a small launcher process (see
Launcher). The 1M-step case also times the seed probe's own algorithm (tests/seed_reference.py,
a loop-by-loop reconstruction of ../shared/seed/training_drift.txt) on the same file, in this
process, and checks both agree.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.formats import TEXT_PATTERN, WRITERS  # noqa: E402
from drift import native  # noqa: E402
from tests import seed_reference as ref  # noqa: E402


@dataclass
class Result:
    case: str
    steps: int
    files: int
    wall: float
    rss_mb: float
    code: int
    summary_bytes: int
    note: str = ""


def write_log(path: Path, start: int, stop: int, seed: int, *, offset: float = 0.0) -> None:
    """A dlm log as dlm writes it: json.dumps(record, sort_keys=True) per line."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"run_id": seed, "seed": 42, "type": "banner"}, sort_keys=True) + "\n")
        batch = []
        for step in range(start, stop):
            loss = round(3.0 * math.exp(-step / 200_000) + 0.5 + offset + rng.gauss(0, 0.05), 6)
            grad = round(0.5 * math.exp(-step / 300_000) + rng.random() * 0.01, 6)
            tps = round(1234.5 + rng.random() * 10, 1)
            batch.append(
                f'{{"grad_norm": {grad!r}, "loss": {loss!r}, "lr": 0.0001, "step": {step}, '
                f'"timestamp": "2026-04-26T06:25:17", "tokens_per_sec": {tps!r}, "type": "step", '
                f'"val_loss": null}}\n'
            )
            if len(batch) == 100_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
        handle.write(json.dumps({"steps": stop - start, "type": "run_complete"}, sort_keys=True) + "\n")


def action_env(workspace: Path, files: Path, path: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    for name, body in spec["inputs"].items():
        env[f"INPUT_{name.upper()}"] = str(body.get("default", ""))
    env["INPUT_PATH"] = path
    env.update(
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(files / "output"),
        GITHUB_STEP_SUMMARY=str(files / "summary"),
        GITHUB_ACTIONS="true",
    )
    return env


# Linux records the old memory's high-water mark in a process's maxrss when it execs, and
# subprocess starts children with vfork: a child started from this process, once it has grown
# (the seed's own code runs in it), would report this process's peak as its own. A small
# launcher, started before anything grows, starts every measured process instead.
_LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    start = time.perf_counter()
    proc = subprocess.Popen(job["argv"], cwd=job["cwd"], env=job["env"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    print(json.dumps([wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]), flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd), "env": env}) + "\n")
        self.proc.stdin.flush()
        wall, rss_kb, code = json.loads(self.proc.stdout.readline())
        return float(wall), rss_kb / 1024, int(code)


@functools.cache
def launcher() -> Launcher:
    return Launcher()


def run_action(case: str, workspace: Path, path: str, steps: int, files: int, **inputs: str) -> Result:
    commands = OUT / "file_commands"
    shutil.rmtree(commands, ignore_errors=True)
    commands.mkdir(parents=True)
    (commands / "output").write_text("")
    (commands / "summary").write_text("")
    env = {**action_env(workspace, commands, path), **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    wall, rss, code = launcher().run([sys.executable, str(ROOT / "entrypoint.py")], workspace, env)
    summary = (commands / "summary").stat().st_size
    return Result(case, steps, files, wall, rss, code, summary)


def seed_time(log: Path) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    by_step = ref.collect([log])
    ordered = sorted(by_step.items())
    losses = np.asarray([loss for _, loss in ordered], dtype=np.float64)
    metrics = ref.metrics(losses, 10, 3.0)
    ref.verdict(metrics, 0.7, 0.7, 0)
    return time.perf_counter() - start, metrics


def case_1m(results: list[Result], with_seed: bool) -> None:
    workspace = OUT / "one-million"
    log = workspace / "run" / "logs" / "train-000001-20260426T062514.jsonl"
    if not log.exists():
        write_log(log, 0, 1_000_000, 1)
    runs = [run_action("1M steps, 1 file", workspace, "run", 1_000_000, 1) for _ in range(3)]
    best = min(runs, key=lambda r: r.wall)
    best.note = f"{log.stat().st_size / 1e6:.0f} MB; best of 3 ({', '.join(f'{r.wall:.2f}' for r in runs)} s)"
    results.append(best)
    if with_seed:
        # Parity and speed against the seed's own code need the seed's spike rule.
        seeded = run_action("1M steps, spike-method: seed", workspace, "run", 1_000_000, 1, **{"SPIKE-METHOD": "seed"})
        report = json.loads((workspace / "training-drift-report.json").read_text())["runs"][0]["metrics"]
        seconds, metrics = seed_time(log)
        agree = all(
            math.isclose(report[k], metrics[k], rel_tol=1e-12)
            for k in ("final_loss", "convergence_ratio", "smoothness", "instability_events")
        )
        seeded.note = f"{seeded.wall:.2f} s; metrics equal the seed's: {agree}"
        results.append(seeded)
        results.append(
            Result(
                "seed probe's own code, same file",
                1_000_000,
                1,
                seconds,
                float("nan"),
                0,
                0,
                f"action is {seconds / best.wall:.1f}x faster (default), {seconds / seeded.wall:.1f}x (seed rule)",
            )
        )


def case_10m(results: list[Result]) -> None:
    workspace = OUT / "ten-million"
    logs = workspace / "run" / "logs"
    if not logs.exists():
        for i in range(10):
            # Each resumed attempt restarts 50,000 steps before where the last one stopped.
            start = max(0, i * 1_000_000 - 50_000)
            write_log(
                logs / f"train-{i + 1:06d}-20260426T{i:02d}0000.jsonl", start, (i + 1) * 1_000_000, i, offset=0.01 * i
            )
    result = run_action("10M steps, 10 resumed files", workspace, "run", 10_000_000, 10)
    result.note = f"{sum(p.stat().st_size for p in logs.iterdir()) / 1e9:.2f} GB, 450,000 overlapping steps"
    results.append(result)


def case_stores(results: list[Result]) -> None:
    workspace = OUT / "thousand-stores"
    if not workspace.exists():
        for i in range(1000):
            write_log(workspace / "runs" / f"run-{i:04d}" / "logs" / "train-000001-20260426T062514.jsonl", 0, 1000, i)
    result = run_action("1,000 stores x 1,000 steps", workspace, "runs/*", 1_000_000, 1000)
    result.note = f"summary {result.summary_bytes / 1024:.0f} KiB"
    results.append(result)


def case_cold(results: list[Result]) -> None:
    workspace = OUT / "cold-start"
    log = workspace / "run" / "logs" / "train-000001-20260426T062514.jsonl"
    if not log.exists():
        write_log(log, 0, 10, 3)
    runs = sorted((run_action("cold start, 10 steps", workspace, "run", 10, 1) for _ in range(5)), key=lambda r: r.wall)
    median = runs[2]
    median.note = "median of 5"
    results.append(median)


def case_readers(results: list[Result], only: Sequence[str] = ()) -> list[str]:
    """Each format's reader alone on a 1M-step log (best of 3) against the dlm reader on the
    1M-step case's file, and the whole action on the same log; each in a fresh process. ``only``:
    these formats alone (the dlm row, the reference, is always there)."""
    script = str(ROOT / "bench" / "formats.py")
    workspaces = {"dlm": OUT / "one-million"}
    if not (workspaces["dlm"] / "run").exists():
        write_log(workspaces["dlm"] / "run" / "logs" / "train-000001-20260426T062514.jsonl", 0, 1_000_000, 1)
    for fmt in [f for f in WRITERS if not only or f in only]:
        workspaces[fmt] = OUT / "formats" / fmt
        if not (workspaces[fmt] / ".complete").exists():
            subprocess.run([sys.executable, script, "write", str(workspaces[fmt]), "--format", fmt], check=True)
    rows = ["| format | files | MB | reader s | reader steps/s | time vs dlm reader | action s | peak RSS MB |"]
    rows.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    dlm_seconds = 0.0
    cases = [(fmt, workspace, "") for fmt, workspace in workspaces.items()]
    if "text" in workspaces:
        cases.append(("text (`pattern`)", workspaces["text"], TEXT_PATTERN))
    for fmt, workspace, pattern in cases:
        timed = subprocess.run(
            [sys.executable, script, "time", str(workspace), "--pattern", pattern],
            check=True,
            capture_output=True,
            text=True,
        )
        got = json.loads(timed.stdout)
        dlm_seconds = dlm_seconds or got["seconds"]
        inputs = {"pattern": pattern} if pattern else {}
        action = run_action(f"1M steps, {fmt}", workspace, "run", int(got["steps"]), int(got["files"]), **inputs)
        rows.append(
            f"| {fmt} | {got['files']:.0f} | {got['bytes'] / 1e6:.0f} | {got['seconds']:.2f} "
            f"| {got['steps'] / got['seconds']:,.0f} | {got['seconds'] / dlm_seconds:.2f}x "
            f"| {action.wall:.2f} | {action.rss_mb:.0f} |"
        )
        results.append(action)
    return rows


# What a log can repeat that the reader skips, each 100 MB (bench/out/skips/), against an ordinary
# dlm log of the same size read in the same run. The bound the native path keeps (issue 14): no
# input costs more than 2x per byte what the ordinary log costs. Before the bulk skipping in
# scan.c each blank line crossed into Python one by one (8 MiB of blank lines: 9.7 s, 502 MB).
SKIP_BYTES = 100_000_000
SKIP_BOUND = 2.0


def _repeat(path: Path, line: str) -> None:
    first = json.dumps({"run_id": 1, "type": "banner"}) + "\n"  # a valid first line: the rest is skipped
    with path.open("w", encoding="utf-8") as handle:
        handle.write(first)
        block = line * max(1, (1 << 20) // len(line))
        written = len(first)
        while written + len(block) <= SKIP_BYTES:
            handle.write(block)
            written += len(block)
        handle.write(line * ((SKIP_BYTES - written) // len(line)))


SKIP_INPUTS = {
    "ordinary dlm log": None,
    "blank lines": "\n",
    "non-matching records": '{"type": "eval", "step": 5, "accuracy": 0.5}\n',
    "nested, escaped non-matching records": '{"type": "eval", "step": 5, "m": {"acc": [0.5, 0.25]}, "s": "a\\"b"}\n',
    "junk lines": "# epoch 1 step 300: loss=2.5 (a console line)\n",
    "cut-off records": '{"type": "step", "step": 5, "loss": 1.\n',
}

_TIME_READER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from drift.readers.common import LogFile
from drift.readers.jsonl import read_dlm
path = Path(sys.argv[2])
start = time.perf_counter()
curve = read_dlm([LogFile(path, path.name)])
seconds = time.perf_counter() - start
Path(sys.argv[3]).write_text(json.dumps([seconds, int(curve.steps.size), curve.skipped_lines]))
"""


def case_skips() -> list[str]:
    """The JSON-lines reader alone (read_dlm, native path) in a fresh process per input, best of 3."""
    folder = OUT / "skips"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, line in SKIP_INPUTS.items():
        path = folder / (name.replace(" ", "-") + ".jsonl")
        if not path.exists():
            if line is None:
                write_log(path, 0, SKIP_BYTES // 168, 1)  # these dlm lines average 168 bytes
            else:
                _repeat(path, line)
        paths[name] = path
    single = folder / "single-line.jsonl"
    if not single.exists():
        head = '{"type": "step", "step": 1, "loss": 2.5, "note": "'
        single.write_text(head + "x" * (SKIP_BYTES - len(head) - 3) + '"}\n')
    paths["one 100 MB line (a record)"] = single
    result = OUT / "skips-result.json"
    rows = [
        "| input (JSON lines) | MB | reader s (best of 3) | MB/s | s per MB vs ordinary log | peak RSS MB "
        "| points | skipped |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = 0.0
    worst = 0.0
    for name, path in paths.items():
        runs = []
        for _ in range(3):
            _, rss, code = launcher().run(
                [sys.executable, "-c", _TIME_READER, str(ROOT), str(path), str(result)], ROOT, dict(os.environ)
            )
            if code != 0:
                raise RuntimeError(f"reading {path} failed (exit {code})")
            seconds, points, skipped = json.loads(result.read_text())
            runs.append((seconds, rss))
        seconds, rss = min(runs)
        per_mb = seconds / (path.stat().st_size / 1e6)
        base = base or per_mb
        worst = max(worst, per_mb / base)
        rows.append(
            f"| {name} | {path.stat().st_size / 1e6:.0f} | {seconds:.2f} | {1 / per_mb:.0f} | {per_mb / base:.2f}x "
            f"| {rss:.0f} | {points:,} | {skipped:,} |"
        )
    verdict = "holds" if worst <= SKIP_BOUND else "BROKEN"
    rows.append(
        f"\nbound: no input over {SKIP_BOUND:.0f}x the ordinary log's time per byte; worst {worst:.2f}x, {verdict}"
    )
    return rows


DETECTOR_BEFORE = "65d984c"  # the last commit before material spikes and the trend (issue 13)


def case_detector(rounds: int = 5) -> list[str]:
    """The gate's per-curve work beyond the seed's metrics at 10M steps, against the detector before
    materiality and the trend (``DETECTOR_BEFORE``) in the same process and on the same curve (only
    the ratio is meaningful on shared cores): robust_events with the default materiality plus the
    trend, and the earlier robust_events (read with ``git show``). Rounds alternate, medians kept."""
    import importlib.util  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from drift.convergence import trend  # noqa: PLC0415
    from drift.robust import robust_events  # noqa: PLC0415

    try:
        source = subprocess.run(
            ["git", "show", f"{DETECTOR_BEFORE}:drift/robust.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [f"the earlier detector is not available (git show {DETECTOR_BEFORE} failed); nothing to compare"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "main_robust.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("main_robust", path)
        assert spec is not None and spec.loader is not None
        main_robust = importlib.util.module_from_spec(spec)
        sys.modules["main_robust"] = main_robust  # dataclasses look their module up there
        spec.loader.exec_module(main_robust)
    rng = np.random.default_rng(10)
    n = 10_000_000
    t = np.arange(n, dtype=np.float64)
    values = 0.8 + 3.0 * np.exp(-t / 2e6) + 0.02 * (1 + np.exp(-t / 2e6)) * rng.standard_normal(n)
    values[rng.integers(n // 20, n, size=30)] += 1.0  # a few real spikes, so the material test runs
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        main_robust.robust_events(values, window=20, sigma=4.4)
        theirs.append(time.perf_counter() - start)
        start = time.perf_counter()
        robust_events(values, window=20, sigma=4.4, min_rise=0.10)
        trend(values)
        ours.append(time.perf_counter() - start)
    mine, base = float(np.median(ours)), float(np.median(theirs))
    return [
        "| detector at 10M steps (median of 5, same process) | seconds |",
        "|---|---:|",
        f"| before ({DETECTOR_BEFORE}): robust_events | {base:.2f} |",
        f"| now: robust_events with min-spike-rise, and the trend | {mine:.2f} |",
        f"| ratio | {mine / base:.2f}x |",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 1M-step and cold-start cases")
    parser.add_argument("--no-seed", action="store_true", help="skip timing the seed's code (~15 s)")
    parser.add_argument("--formats", action="store_true", help="only the reader of every format on 1M steps")
    parser.add_argument(
        "--format",
        action="append",
        default=[],
        choices=list(WRITERS),
        help="with --formats: only this one (repeatable)",
    )
    parser.add_argument("--skips", action="store_true", help="only the JSON-lines reader on 100 MB it mostly skips")
    parser.add_argument(
        "--detector", action="store_true", help="only the detector at 10M steps, against the earlier one"
    )
    args = parser.parse_args()
    if args.detector:
        print("\n".join(case_detector()))
        return 0
    launcher()  # started now, while this process is small
    if native.load() is None:
        print("warning: the compiled scanner is not built (python -m drift.native); timing the fallback")
    results: list[Result] = []
    if args.formats:
        print("\n".join(case_readers(results, args.format)))
        return 0
    if args.skips:
        print("\n".join(case_skips()))
        return 0
    case_cold(results)
    case_1m(results, with_seed=not args.no_seed)
    if not args.quick:
        case_10m(results)
        case_stores(results)
        readers = case_readers(results)
        skips = case_skips()

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print("| case | steps | files | wall s | steps/s | peak RSS MB | exit | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        rss = "–" if math.isnan(r.rss_mb) else f"{r.rss_mb:.0f}"
        print(
            f"| {r.case} | {r.steps:,} | {r.files:,} | {r.wall:.2f} | {r.steps / r.wall:,.0f} | {rss} "
            f"| {r.code} | {r.note} |"
        )
    if not args.quick:
        print("\n" + "\n".join(readers))
        print("\n" + "\n".join(skips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
