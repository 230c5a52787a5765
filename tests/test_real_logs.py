"""Logs that real tools wrote, published in public repositories: every log under
../shared/real-logs/formats and the JSON-lines logs under ../shared/real-logs/console (SOURCES.md
there says where each came from), read with at most ``path`` and ``metric`` set and pinned by its
full curve, steps and values, through the Python API, ``python -m drift`` and entrypoint.py.

The expected curves never come from the code under test: each log is read here on its own terms
(``json.loads`` per line, the ``csv`` module, MLflow's ``timestamp value step`` lines, a Trainer's
``log_history``), with the step and metric names a reader of the file sees in it written down per
case; the console logs are also held to labels.json (point count, first and last value) and the
Trainer checkpoint to the curve kept in ../shared/real-logs/curves. The public files are read
where they are, never copied into the project.

Every log is also pinned by its expected output, a file per log under tests/expected/real-logs
written by the readers themselves (see the end of this file for the update command): the oracles
above say the curves are right, the expectation files say nothing else changed (names, counts,
notes).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drift.discovery import discover
from drift.errors import LogError
from drift.readers import read
from drift.readers.common import ReadSpec
from tests.conftest import REAL_LOGS, ROOT, RunAction, read_report, real_params, shared

REAL = REAL_LOGS / "formats"
Curve = dict[int, float]  # step -> value, the last one read for a repeated step


def last_wins(pairs: list[tuple[int, float]]) -> Curve:
    out: Curve = {}
    for step, value in pairs:
        out[step] = value if math.isfinite(value) else math.inf
    return out


def jsonl_oracle(path: Path, step: str, metric: str) -> Curve:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if isinstance(record.get(step), (int, float)) and isinstance(record.get(metric), (int, float)):
                pairs.append((int(record[step]), float(record[metric])))
    return last_wins(pairs)


def csv_oracle(path: Path, step: str, metric: str) -> Curve:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return last_wins([(int(float(r[step])), float(r[metric])) for r in rows if r[metric] not in ("", "NA")])


def mlflow_oracle(path: Path) -> Curve:
    """``timestamp value step`` per line; a key logged without steps (every step 0) is read in
    logging order as steps 0, 1, 2... (the README's rule)."""
    rows = [line.split(" ") for line in path.read_text(encoding="utf-8").splitlines() if line]
    pairs = [(int(r[2]), float(r[1])) for r in rows]
    if len(pairs) > 1 and all(s == 0 for s, _ in pairs):
        pairs = [(i, v) for i, (_, v) in enumerate(pairs)]
    return last_wins(pairs)


def trainer_state_oracle(path: Path) -> Curve:
    history = json.loads(path.read_text(encoding="utf-8"))["log_history"]
    return last_wins([(int(e["step"]), float(e["loss"])) for e in history if "loss" in e and "step" in e])


@dataclass(frozen=True)
class Run:
    """One run a case holds: its folder (relative to the case), what it is read as, and its curve."""

    folder: str
    format: str
    metric: str | None  # the field, column or key read (None where the report leaves it out)
    step: str | None  # the step field or column read (None where the format has its own steps)
    oracle: Callable[[Path], Curve]


@dataclass(frozen=True)
class Case:
    path: str  # relative to ../shared/real-logs
    runs: tuple[Run, ...]
    metric: str | None = None  # the only setting besides path, where one is needed
    notes: tuple[str, ...] = field(default=())


def csv_run(folder: str, file: str, step: str, metric: str) -> Run:
    return Run(folder, "csv", metric, step, lambda case: csv_oracle(case / folder / file, step, metric))


def jsonl_run(file: str, step: str, metric: str) -> Run:
    return Run(".", "jsonl", metric, step, lambda case: jsonl_oracle(case / file, step, metric))


def mlflow_run(folder: str, key: str) -> Run:
    return Run(folder, "mlflow", key, None, lambda case: mlflow_oracle(case / folder / "metrics" / key))


LIGHTNING = "lightning_logs/version_{}"
DTCC = "mlruns/{}/metrics"
CASES = [
    Case(
        "formats/csv-lightning/pl-wrapper-cifar10",
        (csv_run(LIGHTNING.format(0), "metrics.csv", "step", "train_loss_step"),),
    ),
    Case(
        "formats/csv-lightning/byol3d-pretrain-diverges",
        (csv_run(LIGHTNING.format(13), "metrics.csv", "step", "train/loss"),),
    ),
    Case(
        "formats/csv-lightning/byol3d-finetune-resumed-epoch100",
        (csv_run(LIGHTNING.format(18), "metrics.csv", "step", "train/loss"),),
    ),
    Case(
        "formats/csv-lightning/legacy-2020-no-step-column",
        (csv_run(LIGHTNING.format(0), "metrics.csv", "epoch", "train_loss"),),
    ),
    Case("formats/csv-keras/braincnn-mnist-smooth", (csv_run(".", "training.log", "epoch", "loss"),)),
    Case("formats/csv-keras/braincnn-age-flat-1000ep", (csv_run(".", "predict_age.log", "epoch", "loss"),)),
    Case("formats/csv-keras/braincnn-all-nan", (csv_run(".", "BrainCNN.log", "epoch", "loss"),)),
    Case("formats/csv-keras/brats2020-unet-sorted-columns", (csv_run(".", "training.log", "epoch", "loss"),)),
    Case("formats/jsonl/openpi-step-loss", (jsonl_run("train_log.jsonl", "step", "loss"),)),
    # Two record shapes; step 65900 is logged twice, so 1989 records make 1988 points.
    Case("formats/jsonl/netra-nmt-mixed-records", (jsonl_run("train_log.jsonl", "step", "loss"),)),
    # DETR's log.txt: JSON lines with epoch and train_loss; two runs appended, the later values win.
    Case("formats/jsonl/detr-epoch-log-txt", (jsonl_run("log.txt", "epoch", "train_loss"),)),
    Case(
        "formats/trainer-state/mistral-translator-checkpoints",
        (
            Run(
                ".",
                "trainer-state",
                None,
                None,
                lambda case: trainer_state_oracle(case / "checkpoint-8500" / "trainer_state.json"),
            ),
        ),
    ),
    Case(
        "formats/mlflow/sb3-dqn-nested-keys",
        (mlflow_run("mlruns/1/770cc011eb214ea997501cabcfe12f58", "train/loss"),),
    ),
    Case(
        "formats/mlflow/liver-ct-unet-1200ep",
        (mlflow_run("mlruns/1/7295b327b4d642a2b8634e1a21cfca72", "train_avg_loss"),),
        metric="train_avg_loss",
    ),
    Case(
        "formats/mlflow/dtcc-small-store-8-runs",
        tuple(
            mlflow_run(f"mlruns/{run}", "train_loss")
            for run in (
                "0/42428211ff2b4e50ac4acccc41e1f4fa",
                "0/a384553e8cf347dc86450978cf7b589b",
                "1/57668b340f1640fd89ee27574b3d9afb",
                "1/af5f35ce23d64362a9c067bf6c24e4d2",
                "1/ed7802814f0d4f36ba28c71966dd14ce",
            )
        ),
    ),
    # detectron2's output/metrics.json: JSON lines under a .json name, "iteration" and "total_loss".
    Case("console/detectron2-medwaste-metrics", (jsonl_run("metrics.json", "iteration", "total_loss"),)),
    # LLaMA-Factory's trainer_log.jsonl: "current_steps" (and a fractional "epoch") with "loss".
    Case("console/llamafactory-pairwise-flat", (jsonl_run("trainer_log.jsonl", "current_steps", "loss"),)),
    Case("console/nsllm-cpt-jsonl", (jsonl_run("trainer_log.jsonl", "current_steps", "loss"),)),
]
IDS = [case.path.split("/", 1)[1] for case in CASES]


def test_every_real_log_but_the_console_text_logs_has_a_case() -> None:
    """A log added to ../shared/real-logs must get a case here (the console text logs are pinned by
    the text reader's tests)."""
    formats = shared("real-logs", "formats")
    console = json.loads(shared("real-logs", "console", "labels.json").read_text(encoding="utf-8"))
    cased = {case.path for case in CASES}
    on_disk = {f"formats/{p.parent.name}/{p.name}" for p in formats.glob("*/*") if p.is_dir()}
    on_disk |= {f"console/{name}" for name, label in console.items() if label["format"] == "jsonl"}
    assert on_disk == cased


def expected_curves(case: Case) -> dict[str, Curve]:
    root = REAL_LOGS / case.path
    return {run.folder: run.oracle(root) for run in case.runs}


def by_folder(case: Case, run_folder: str) -> Run:
    """The case's run whose folder the discovered run folder ends with."""
    root = (REAL_LOGS / case.path).as_posix()
    relative = Path(run_folder).as_posix().removeprefix(root).strip("/") or "."
    (run,) = [r for r in case.runs if r.folder == relative]
    return run


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_api_reads_each_real_log_whole(case: Case) -> None:
    shared("real-logs", case.path.split("/")[0])
    expected = expected_curves(case)
    found = discover(["."], REAL_LOGS / case.path, confine=False)
    assert len(found.runs) == len(case.runs)
    spec = ReadSpec(metric=case.metric or "loss")
    for source in found.runs:
        run = by_folder(case, str(REAL_LOGS / case.path / source.folder))
        curve = read(source.format, source.files, spec)
        want = expected[run.folder]
        assert (source.format, curve.metric_name or None, curve.step_name or None) == (run.format, run.metric, run.step)
        assert curve.steps.tolist() == sorted(want)
        assert curve.values.tolist() == [want[s] for s in sorted(want)]
        assert curve.skipped_lines == 0 and curve.irregular_rows == 0, curve.first_skipped


def sampled(curve: Curve) -> list[list[Any]]:
    """The report's down-sampled curve, by the README's rule: every ceil(n/512)-th point plus the
    last, with 511 where that gives 513; non-finite values as null."""
    steps = sorted(curve)

    def pick(cap: int) -> list[int]:
        stride = -(-len(steps) // cap)
        picked = list(range(0, len(steps), stride))
        return picked if picked[-1] == len(steps) - 1 else [*picked, len(steps) - 1]

    picked = pick(512)
    picked = pick(511) if len(picked) > 512 else picked
    return [[steps[i], curve[steps[i]] if math.isfinite(curve[steps[i]]) else None] for i in picked]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_local_command_reads_each_real_log_whole(case: Case, tmp_path: Path) -> None:
    """``python -m drift PATH [--metric M]``: every point counted, the report's curve (all of it up
    to 512 points, else its down-sample) equal to the oracle's, and the keys read named."""
    shared("real-logs", case.path.split("/")[0])
    expected = expected_curves(case)
    short = any(len(curve) < 10 for curve in expected.values())
    # A run shorter than min-steps is a SKIP without a curve in the report: read once more with
    # min-steps 2 to see its points.
    for extra in [[], ["--min-steps", "2"]] if short else [[]]:
        report = tmp_path / "report.json"
        argv = [sys.executable, "-m", "drift", str(REAL_LOGS / case.path), "--report-path", str(report)]
        argv += ["--fail-on", "never", *extra] + (["--metric", case.metric] if case.metric else [])
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        runs = read_report(report)["runs"]
        assert len(runs) == len(case.runs)
        for got in runs:
            run = by_folder(case, got["name"] if got["source"]["format"] != "mlflow" else _mlflow_folder(got))
            want = expected[run.folder]
            source = got["source"]
            assert (source["format"], source["metric"], source["step"]) == (run.format, run.metric, run.step)
            assert got["metrics"]["num_steps"] == len(want)
            assert got["curve_sampled"] == (sampled(want) if len(want) >= 10 or extra else [])
            assert got["skipped_lines"] == 0 and got["irregular_rows"] == 0


def _mlflow_folder(run: dict[str, Any]) -> str:
    """An MLflow run's folder, from its files (it is named by its run name)."""
    return str(run["source"]["files"][0].split("/metrics/")[0])


def test_the_console_json_lines_logs_agree_with_their_labels() -> None:
    """labels.json's count, first and last value (and detectron2's regex, applied here) against the
    oracle the other tests use, so the oracle itself is checked."""
    labels = json.loads(shared("real-logs", "console", "labels.json").read_text(encoding="utf-8"))
    for case in CASES:
        name = case.path.removeprefix("console/")
        if not case.path.startswith("console/"):
            continue
        label = labels[name]
        (curve,) = expected_curves(case).values()
        values = [curve[s] for s in sorted(curve)]
        assert (len(curve), values[0], values[-1]) == (label["n_points"], label["first"], label["last"]), name
        if "regex" in label:
            text = (REAL_LOGS / "console" / label["file"]).read_text(encoding="utf-8")
            found = last_wins([(int(m["step"]), float(m["loss"])) for m in re.finditer(label["regex"], text)])
            assert found == curve, name


def test_the_trainer_checkpoint_agrees_with_the_kept_curve() -> None:
    """The curve kept in ../shared/real-logs/curves is the final trainer_state of the same run;
    checkpoint-8500's history is its first 850 points."""
    kept = json.loads(shared("real-logs", "curves", "mistral-translator-sygoat.json").read_text(encoding="utf-8"))
    case = next(c for c in CASES if c.path.endswith("mistral-translator-checkpoints"))
    (curve,) = expected_curves(case).values()
    prefix = last_wins([(s, v) for s, v in zip(kept["steps"], kept["values"], strict=True) if s <= 8500])
    assert curve == prefix and len(curve) == 850


def test_the_latest_of_real_checkpoints_is_the_run() -> None:
    shared("real-logs", "formats")
    (run,) = discover(["."], REAL / "trainer-state" / "mistral-translator-checkpoints").runs
    curve = read(run.format, run.files, ReadSpec())
    # checkpoint-8500 sorts before checkpoint-500 as text; the reader goes by global_step.
    assert curve.files == ("checkpoint-8500/trainer_state.json",)


def test_a_keras_log_whose_loss_is_nan_throughout_counts_every_step_as_an_event() -> None:
    shared("real-logs", "formats")
    (run,) = discover(["."], REAL / "csv-keras" / "braincnn-all-nan").runs
    curve = read(run.format, run.files, ReadSpec())
    assert all(math.isinf(v) for v in curve.values.tolist())


def test_mlflow_runs_logged_without_steps_keep_their_order() -> None:
    shared("real-logs", "formats")
    found = discover(["."], REAL / "mlflow" / "dtcc-small-store-8-runs")
    assert len(found.runs) == 5  # the three FAILED runs have no metrics/ folder
    for run in found.runs:
        curve = read(run.format, run.files, ReadSpec())
        assert curve.steps.tolist() == [0, 1, 2]
        assert any("logged without a step" in note for note in curve.notes)


def test_the_action_on_every_real_log_at_once(run_action: RunAction, workspace: Path) -> None:
    """entrypoint.py as the runner runs it, with path alone, on a workspace holding every log of
    formats/ and the console JSON-lines logs (copied into the test's temporary workspace)."""
    shared("real-logs", "formats")
    shared("real-logs", "console")
    shutil.copytree(REAL, workspace / "real")
    for case in CASES:
        if case.path.startswith("console/"):
            shutil.copytree(REAL_LOGS / case.path, workspace / "real" / case.path)
    result = run_action(path="real", **{"fail-on": "never"})
    assert result.code == 0, result.stdout + result.stderr
    runs = result.report["runs"]
    assert {run["source"]["format"] for run in runs} == {"csv", "jsonl", "trainer-state", "mlflow"}
    assert len(runs) == sum(len(case.runs) for case in CASES)
    by_name = {run["name"]: run for run in runs}
    for case in CASES:
        expected = expected_curves(case)
        prefix = "real/" + (case.path.removeprefix("formats/"))
        for run in case.runs:
            want = expected[run.folder]
            if case.metric:  # read with path alone, the run is a SKIP whose hint names the metric to set
                assert [r for r in runs if case.metric in (r["hint"] or "") and r["verdict"] == "skip"]
                continue
            if run.format == "mlflow":
                folder = f"{prefix}/{run.folder}/"
                (got,) = [r for r in runs if r["source"]["files"] and r["source"]["files"][0].startswith(folder)]
            else:
                got = by_name[prefix if run.folder == "." else f"{prefix}/{run.folder}"]
            assert got["verdict"] in ("pass", "warn", "skip"), (got["name"], got["message"])
            assert got["metrics"]["num_steps"] == len(want), got["name"]
            assert got["curve_sampled"] == (sampled(want) if len(want) >= 10 else []), got["name"]
    diverges = by_name["real/csv-lightning/byol3d-pretrain-diverges/lightning_logs/version_13"]
    assert diverges["verdict"] == "warn" and diverges["metrics"]["instability_events"] > 0
    # The summary names the keys a JSON-lines run was read by.
    assert "(jsonl, <code>total\\_loss</code> by <code>iteration</code>)" in result.summary


def test_the_action_reads_a_console_json_lines_log_named_alone(run_action: RunAction, workspace: Path) -> None:
    source = shared("real-logs", "console", "llamafactory-pairwise-flat", "trainer_log.jsonl")
    (workspace / "out").mkdir()
    shutil.copy(source, workspace / "out" / "trainer_log.jsonl")
    result = run_action(path="out/trainer_log.jsonl", **{"fail-on": "never"})
    assert result.code == 0, result.stdout + result.stderr
    (run,) = result.report["runs"]
    case = next(c for c in CASES if c.path.endswith("llamafactory-pairwise-flat"))
    (want,) = expected_curves(case).values()
    assert run["source"]["step"] == "current_steps" and run["source"]["metric"] == "loss"
    assert run["metrics"]["num_steps"] == len(want) and run["curve_sampled"] == sampled(want)


def test_missing_public_data_fails_under_ci_and_skips_loudly_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import conftest

    monkeypatch.setattr(conftest, "SHARED", tmp_path / "no-shared")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-shared/real-logs/formats is missing"):
        conftest.shared("real-logs", "formats")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-shared/real-logs/formats is missing"):
        conftest.shared("real-logs", "formats")
    monkeypatch.setattr(conftest, "SHARED", tmp_path)
    assert conftest.shared() == tmp_path


# --- every real log pinned by its expected output -------------------------------------------------------
#
# tests/expected/real-logs/<log>.json holds what the readers make of each log under ../shared/real-logs
# (formats/<format>/<log>/ and console/<log>/), read with path (and, where a case above says, metric)
# only: the runs detection finds, their format, the names read, the counts and notes, and each
# curve's steps and values in full (non-finite values as "inf"; a curve over EXPECTED_FULL points is
# pinned by a SHA-256 of its steps and values with its count, first and last points). The files are
# figures our code derived from public data, not copies of it. After an intended change:
#     UPDATE_EXPECTED=1 .venv/bin/python -m pytest tests/test_real_logs.py -k expected
# and read the diff.

EXPECTED = ROOT / "tests" / "expected" / "real-logs"
EXPECTED_FULL = 50_000  # points; every log of today is pinned whole
METRICS = {case.path: case.metric for case in CASES if case.metric}


def real_log_folders() -> list[str]:
    """Every log under ../shared/real-logs, as its path relative to it."""
    found = [p for p in REAL_LOGS.glob("formats/*/*") if p.is_dir()]
    found += [p for p in REAL_LOGS.glob("console/*") if p.is_dir()]
    return sorted(p.relative_to(REAL_LOGS).as_posix() for p in found)


def _value(value: float) -> float | str:
    return value if math.isfinite(value) else "inf"  # the readers keep every non-finite value as +inf


def _curve_record(curve: Any) -> dict[str, Any]:
    steps, values = curve.steps.tolist(), curve.values.tolist()
    if len(steps) <= EXPECTED_FULL:
        return {"curve": [[s, _value(v)] for s, v in zip(steps, values, strict=True)]}
    digest = hashlib.sha256(curve.steps.astype("<i8").tobytes() + curve.values.astype("<f8").tobytes())
    return {
        "sha256": digest.hexdigest(),
        "first": [steps[0], _value(values[0])],
        "last": [steps[-1], _value(values[-1])],
    }


def read_real_log(log: str) -> dict[str, Any]:
    """What the readers make of one real log, read as a user would with only path (and metric) set."""
    root = REAL_LOGS / log
    metric = METRICS.get(log)
    found = discover(["."], root, confine=False)
    runs = []
    for source in sorted(found.runs, key=lambda r: r.name):
        entry: dict[str, Any] = {"run": source.name, "format": source.format}
        if source.error or source.skip:
            entry["error" if source.error else "skip"] = source.error or source.skip
            runs.append(entry)
            continue
        try:
            curve = read(source.format, source.files, ReadSpec(metric=metric or "loss"))
        except LogError as exc:
            entry["error"] = str(exc)
            runs.append(entry)
            continue
        entry.update(
            metric=curve.metric_name,
            step=curve.step_name,
            files=list(curve.files),
            points=len(curve),
            skipped=curve.skipped_lines,
            irregular=curve.irregular_rows,
            ignored=curve.ignored_records,
            oversized=curve.oversized_steps,
            notes=list(curve.notes),
            **_curve_record(curve),
        )
        runs.append(entry)
    return {"log": log, "metric": metric, "runs": runs}


def _expected_file(log: str) -> Path:
    return EXPECTED / f"{log}.json"


def _dump(data: dict[str, Any]) -> str:
    """Indented JSON with one ``[step, value]`` point per line, so a diff shows the points that changed."""
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    # json.dumps spreads each point over four lines; fold them back into one.
    return re.sub(r"\[\n\s*(\S+),\n\s*(\S+)\n\s*\]", r"[\1, \2]", text) + "\n"


@pytest.mark.parametrize("log", real_params(real_log_folders(), "real-logs"), ids=str)
def test_each_real_log_reads_as_its_expected_output(log: str | None) -> None:
    shared("real-logs")
    assert log is not None
    got = read_real_log(log)
    file = _expected_file(log)
    if os.environ.get("UPDATE_EXPECTED") == "1":
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(_dump(got), encoding="utf-8")
    assert file.is_file(), (
        f"{log} has no expectation file {file.relative_to(ROOT)}: run "
        "UPDATE_EXPECTED=1 .venv/bin/python -m pytest tests/test_real_logs.py -k expected, and read it"
    )
    assert _dump(got) == file.read_text(encoding="utf-8")


def test_every_expected_output_belongs_to_a_real_log() -> None:
    """An expectation file whose log is gone (or renamed) is stale, not silently kept."""
    shared("real-logs")
    logs = {f"{log}.json" for log in real_log_folders()}
    files = {p.relative_to(EXPECTED).as_posix() for p in EXPECTED.rglob("*.json")}
    assert files <= logs, sorted(files - logs)


def test_the_expected_outputs_pin_real_curves() -> None:
    """The expectation files are not empty shells: every log's runs are read, with full curves."""
    shared("real-logs")
    for log in real_log_folders():
        data = json.loads(_expected_file(log).read_text(encoding="utf-8"))
        assert data["runs"], log
        for run in data["runs"]:
            assert "error" not in run and run["points"] > 0, (log, run)
            assert len(run["curve"]) == run["points"], (log, run["run"])
            steps = [point[0] for point in run["curve"]]
            assert steps == sorted(set(steps)), (log, run["run"])
