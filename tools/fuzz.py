"""The long fuzz run: a million generated inputs over every target, in parallel worker processes.

    python tools/fuzz.py --inputs 1000000 [--target NAME ...] [--seed N] [--jobs 2]
    python tools/fuzz.py --replay fuzz-failures/<file>.json
    python tools/fuzz.py --list

The inputs are shared out between the targets by weight (the end-to-end target is slower and gets
a quarter share) and cut into batches that worker processes take in turn. Each input is a pure
function of (seed, target, index): a failure is found again by its index, and its reproducer file
under ``--out`` (``fuzz-failures/`` by default) holds the exact input, its minimised form, the
traceback or violated property, and the command that replays it. A worker stuck in C (where
SIGALRM cannot reach) or killed by a signal is replaced; the input it was on is recorded as a hang
or a crash. Prints per-target counts, inputs per second and every distinct failure; exits 1 when
any failure that ``tests/fuzz/known.py`` does not list was found.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from drift import native  # noqa: E402 - after the path set-up above
from tests.fuzz import engine  # noqa: E402
from tests.fuzz.corpus import Corpus, build  # noqa: E402
from tests.fuzz.known import known  # noqa: E402
from tests.fuzz.targets import NAMES, make_targets  # noqa: E402

BATCH = {"e2e": 100, "config": 250}  # inputs per task; 1000 for the others
HARD_LIMIT = 30.0  # seconds on one input before the worker is killed


@dataclass(frozen=True)
class Task:
    target: str
    start: int
    stop: int


WIDTH = 5  # per worker in the shared progress array: target, index, since (0: idle), task start, task stop


# --- the worker process -----------------------------------------------------------------------


def _worker(*, number: int, corpus: Corpus, seed: int, limit: float, tasks: Any, results: Any, progress: Any) -> None:
    targets = make_targets(corpus)
    at = WIDTH * number
    with engine.scratch_dir() as scratch:
        while True:
            task: Task | None = tasks.get()
            if task is None:
                return
            target = targets[task.target]
            progress[at : at + WIDTH] = [NAMES.index(task.target), task.start, time.monotonic(), task.start, task.stop]

            def seen(index: int) -> None:
                progress[at + 1] = index
                progress[at + 2] = time.monotonic()

            indices = range(task.start, task.stop)
            stats = engine.fuzz(
                target, seed, indices, scratch / task.target, limit=limit, on_input=seen, classify=known
            )
            progress[at + 2] = 0.0
            results.put((number, task, stats))


# --- the parent -------------------------------------------------------------------------------


@dataclass
class Run:
    seed: int
    limit: float
    corpus: Corpus
    totals: dict[str, engine.Stats] = field(default_factory=dict)
    lost: list[engine.Failure] = field(default_factory=list)  # hangs and crashes that killed a worker


def shares(total: int, names: list[str]) -> dict[str, int]:
    targets = make_targets(Corpus())
    weights = {name: targets[name].weight for name in names}
    scale = total / sum(weights.values())
    counts = {name: int(weights[name] * scale) for name in names}
    counts[names[0]] += total - sum(counts.values())
    return counts


def tasks_for(counts: dict[str, int]) -> list[Task]:
    """Batches of every target, interleaved, so that a run cut short has covered each target."""
    per_target = {
        name: [Task(name, i, min(i + BATCH.get(name, 1000), count)) for i in range(0, count, BATCH.get(name, 1000))]
        for name, count in counts.items()
    }
    out: list[Task] = []
    while any(per_target.values()):
        for name in list(per_target):
            if per_target[name]:
                out.append(per_target[name].pop(0))
    return out


def run_parallel(run: Run, pending: list[Task], jobs: int, deadline: float | None) -> None:
    ctx = mp.get_context("spawn")
    task_queue: Any = ctx.Queue()
    results: Any = ctx.Queue()
    progress = ctx.Array("d", WIDTH * jobs, lock=False)
    for task in pending:
        task_queue.put(task)
    remaining = len(pending)
    workers: dict[int, Any] = {}

    def start(number: int) -> None:
        progress[WIDTH * number + 2] = 0.0
        workers[number] = ctx.Process(
            target=_worker,
            kwargs={
                "number": number,
                "corpus": run.corpus,
                "seed": run.seed,
                "limit": run.limit,
                "tasks": task_queue,
                "results": results,
                "progress": progress,
            },
            daemon=True,
        )
        workers[number].start()

    for number in range(jobs):
        start(number)
    last_report = wall = time.monotonic()
    stopped = False
    try:
        while remaining > 0:
            try:
                _, task, stats = results.get(timeout=1.0)
            except queue.Empty:
                pass
            else:
                run.totals.setdefault(task.target, engine.Stats()).add(stats)
                remaining -= 1
            now = time.monotonic()
            for number, process in list(workers.items()):
                settled = _watch(run, number, process, progress=progress, now=now, tasks=task_queue)
                if settled is not None:
                    remaining -= settled
                    start(number)
            if deadline is not None and now > deadline and not stopped:
                stopped = True
                while True:  # drop what has not started; the batches in flight finish
                    try:
                        task_queue.get_nowait()
                    except queue.Empty:
                        break
                    remaining -= 1
            if now - last_report > 30:
                last_report = now
                done = sum(s.inputs for s in run.totals.values())
                print(f"  ... {done} inputs in {now - wall:.0f} s ({done / (now - wall):.0f}/s)", flush=True)
    finally:
        for _ in workers:
            task_queue.put(None)
        for process in workers.values():
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _watch(run: Run, number: int, process: Any, *, progress: Any, now: float, tasks: Any) -> int | None:
    """Kill a worker stuck on one input, or notice one that died. The input it was on is recorded as
    a failure and the rest of its batch queued again. Returns None while the worker is fine, else
    how many tasks that settled (0 or 1) and the caller starts a new worker."""
    at = WIDTH * number
    code, index, since, first, stop = progress[at : at + WIDTH]
    stuck = since > 0 and now - since > max(HARD_LIMIT, 5 * run.limit)
    if process.is_alive() and not stuck:
        return None
    if stuck:
        process.kill()
    process.join()
    if since == 0:  # died while idle: nothing was lost
        print(f"worker {number} exited with {process.exitcode} between batches", flush=True)
        return 0
    name, index, first, stop = NAMES[int(code)], int(index), int(first), int(stop)
    how = "hang (worker killed)" if stuck else f"crash (worker died, exit code {process.exitcode})"
    case = make_targets(run.corpus)[name].generate(engine.case_rng(run.seed, name, index))
    failure = engine.Failure(name, run.seed, index, f"{name}: {how}", how, now - since, case, known=None)
    run.lost.append(failure)
    stats = run.totals.setdefault(name, engine.Stats())
    stats.failures[failure.key] = stats.failures.get(failure.key, 0) + 1
    stats.inputs += index - first + 1  # the ones before it ran; any failures among them went with the worker
    print(f"worker {number}: {failure.signature} at {name} #{index}", flush=True)
    if index + 1 < stop:
        tasks.put(Task(name, index + 1, stop))
        return 0
    return 1


def report(run: Run, wall: float, out: Path, minimize: bool) -> int:
    print()
    print(f"{'target':<14} {'inputs':>9} {'per core/s':>10} {'slowest ms':>10}  failures")
    total = 0
    for name in NAMES:
        stats = run.totals.get(name)
        if stats is None:
            continue
        total += stats.inputs
        rate = stats.inputs / stats.seconds if stats.seconds else 0.0
        found = sum(stats.failures.values())
        print(f"{name:<14} {stats.inputs:>9} {rate:>10.0f} {stats.slowest * 1000:>10.0f}  {found}")
    print(f"{'all':<14} {total:>9} {total / wall:>10.0f} (wall-clock, all workers) in {wall:.0f} s")
    new = 0
    examples = [f for stats in run.totals.values() for f in stats.examples] + run.lost
    seen: set[str] = set()
    targets = make_targets(run.corpus)
    for failure in examples:
        if failure.key in seen:
            continue
        seen.add(failure.key)
        count = run.totals[failure.target].failures.get(failure.key, 0)
        if failure.known is None:
            new += 1
        if minimize and "hang" not in failure.signature and "crash (worker" not in failure.signature:
            with engine.scratch_dir() as scratch:
                target = targets[failure.target]
                failure.minimized = engine.minimize(target, failure, scratch, limit=run.limit, classify=known)
        path = failure.save(out)
        label = f"known bug {failure.known}" if failure.known else "NEW"
        print(f"\n[{label}] {failure.signature} ({count} inputs)\n  first: seed {failure.seed} index {failure.index}")
        print(f"  reproducer: {path}\n  replay: python tools/fuzz.py --replay {path}")
        print("  " + (failure.detail.strip().splitlines() or [""])[-1][:300])
    if not seen:
        print("\nno failures")
    return 1 if new else 0


def replay(path: Path) -> int:
    failure = engine.Failure.from_json(json.loads(path.read_text(encoding="utf-8")))
    target = make_targets(build(writers=False))[failure.target]
    status = 0
    for label, case in (("minimized", failure.minimized), ("original", failure.case)):
        if case is None:
            continue
        with engine.scratch_dir() as scratch, engine.alarms():
            outcome = engine.run_case(target, case, scratch)
        sig = outcome.signature(target.name)
        print(f"{label}: {sig or 'passes now'} ({outcome.seconds * 1000:.0f} ms)")
        if sig is not None:
            status = 1
            print(outcome.detail())
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs in all, shared out by target weight")
    parser.add_argument("--target", action="append", choices=NAMES, help="only this target (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--time-limit", type=float, default=engine.TIME_LIMIT, help="seconds per input")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop starting batches after this")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where reproducer files go")
    parser.add_argument("--no-minimize", action="store_true", help="save failures as found")
    parser.add_argument("--replay", type=Path, help="run one reproducer file again")
    parser.add_argument("--list", action="store_true", help="list the targets and their weights")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    if args.list:
        for name, target in make_targets(Corpus()).items():
            print(f"{name:<14} weight {target.weight}")
        return 0
    seed = args.seed if args.seed is not None else secrets.randbits(31)
    names = args.target or list(NAMES)
    started = time.monotonic()
    corpus = build()
    print(f"seed {seed}; compiled fast path: {'built' if native.load() else 'NOT built (python -m drift.native)'}")
    print(f"corpus: {corpus.sizes()} ({time.monotonic() - started:.1f} s)")
    counts = shares(args.inputs, names)
    print("inputs: " + ", ".join(f"{n} {c}" for n, c in counts.items()) + f"; {args.jobs} worker(s)", flush=True)
    run = Run(seed, args.time_limit, corpus)
    wall = time.monotonic()
    deadline = wall + args.max_seconds if args.max_seconds else None
    try:
        run_parallel(run, tasks_for(counts), max(1, args.jobs), deadline)
    except KeyboardInterrupt:
        print("interrupted: the counts below are what finished")
    return report(run, time.monotonic() - wall, args.out, not args.no_minimize)


if __name__ == "__main__":
    sys.exit(main())
