"""One-million-step logs of every format, for the reader speed table of bench/run.py.

TensorBoard, MLflow and W&B logs come from their real writers (tensorboardX, mlflow's file store via
``log_batch``, wandb offline); the others in the exact shape their writers produce (``TrainerState.save_to_json``,
Lightning's ``CSVLogger``, a plain JSON-lines logger). Files are written once and kept under
bench/out/formats/ (writing the TensorBoard file takes about a minute).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from drift.discovery import discover
from drift.readers import read
from drift.readers.common import ReadSpec

STEPS = 1_000_000


def losses(seed: int = 7) -> Iterator[tuple[int, float]]:
    rng = random.Random(seed)
    for step in range(STEPS):
        yield step, round(3.0 * math.exp(-step / 200_000) + 0.5 + rng.gauss(0, 0.05), 6)


def write_jsonl(folder: Path) -> None:
    _write_lines(
        folder,
        "metrics.jsonl",
        lambda step, loss: f'{{"step": {step}, "loss": {loss!r}, "lr": 0.0001, "tokens": {step * 4096}}}\n',
    )


def write_trainer_state(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    history = [
        {"epoch": round(step / 10_000, 4), "grad_norm": 0.5, "learning_rate": 1e-4, "loss": loss, "step": step}
        for step, loss in losses()
    ]
    state = {
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": 100.0,
        "eval_steps": 500,
        "global_step": STEPS - 1,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": 1,
        "max_steps": STEPS - 1,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 100,
        "save_steps": 500,
        "stateful_callbacks": {"TrainerControl": {"args": {"should_save": True}, "attributes": {}}},
        "total_flos": 1.5e18,
        "train_batch_size": 8,
        "trial_name": None,
        "trial_params": None,
    }
    (folder / "trainer_state.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def write_csv(folder: Path) -> None:
    """Lightning CSVLogger rows: train_loss_step every step, an epoch row every 10,000 steps."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "metrics.csv").open("w") as handle:
        handle.write("epoch,step,train_loss_epoch,train_loss_step,val_loss\n")
        batch = []
        for step, loss in losses():
            batch.append(f"{step // 10_000},{step},,{loss!r},\n")
            if step % 10_000 == 9_999:
                batch.append(f"{step // 10_000},{step},{loss!r},,{loss * 1.1!r}\n")
            if len(batch) >= 100_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))


def write_tensorboard(folder: Path) -> None:
    from tensorboardX import SummaryWriter  # noqa: PLC0415 - see time_reader

    writer = SummaryWriter(logdir=str(folder), max_queue=10_000, flush_secs=3600)
    for step, loss in losses():
        writer.add_scalar("train/loss", loss, step)
    writer.close()


def write_mlflow(folder: Path) -> None:
    import mlflow  # noqa: PLC0415 - see time_reader
    from mlflow.entities import Metric  # noqa: PLC0415

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps the file store behind an opt-in
    client = mlflow.MlflowClient(tracking_uri=(folder / "mlruns").resolve().as_uri())
    run = client.create_run(client.create_experiment("bench"), run_name="bench-1m")
    batch: list[Metric] = []
    for step, loss in losses():
        batch.append(Metric("train/loss", loss, 1_700_000_000_000 + step, step))
        if len(batch) == 1000:  # log_batch's limit
            client.log_batch(run.info.run_id, metrics=batch)
            batch = []
    if batch:
        client.log_batch(run.info.run_id, metrics=batch)
    client.set_terminated(run.info.run_id)


def _llmc(step: int, loss: float) -> str:
    """llm.c's line for a step, with a validation line every 250 steps and a warning every 1,000."""
    line = (
        f"step {step:7d}/{STEPS} | loss {loss:.6f} (+nanz)| norm 1.2345 (+nanz)| lr 6.00e-04 "
        f"| 123.45 ms | 45.6% bf16 MFU | 123456 tok/s\n"
    )
    if step % 250 == 0:
        line += f"val loss {loss * 1.05:.6f}\n"
    if step % 1000 == 0:
        line += "Writing model to log124M/model_00001000.bin: warning, loss scale nan skipped\n"
    return line


def write_text(folder: Path) -> None:
    """llm.c's console output (``train_gpt2cu``) as a slurm job's output file."""
    head = "+-----------------------+\n| Parameter | Value |\n| val_loss_every | 250 |\n"
    _write_lines(folder, "slurm-1234567.out", _llmc, head=head)


def _write_lines(folder: Path, name: str, lines: Callable[[int, float], str], *, head: str = "") -> None:
    """``head``, then ``lines`` of each step of ``losses()``, written in batches."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w") as handle:
        handle.write(head)
        batch = []
        for step, loss in losses():
            batch.append(lines(step, loss))
            if len(batch) >= 100_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))


# Console logs of trainers whose recogniser the native scanner cannot match line by line: RE2's
# search over the block (Hugging Face, detectron2), or a head line whose step the values after it
# take, which is followed in Python (OLMo, Keras). Not covered by the 2x target; timed to show it.
CONSOLE_VARIANTS: dict[str, tuple[str, Callable[[int, float], str]]] = {
    "text-hf": (
        "train.log",
        lambda step, loss: f"{{'loss': {loss}, 'grad_norm': 1.94, 'learning_rate': 4.9e-05, 'epoch': {step / 1e4}}}\n",
    ),
    "text-detectron2": (
        "log.txt",
        lambda step, loss: (
            f"[11/17 15:16:42] d2.utils.events INFO:  eta: 1:02:03  iter: {step}  total_loss: "
            f"{loss:.4f}  loss_cls: 0.2853  lr: 0.02  max_mem: 3012M\n"
        ),
    ),
    "text-olmo": (
        "train.log",
        lambda step, loss: (
            f"2024-01-01 00:00:10\tnode:0\tolmo.train:979\tINFO\t[step={step}/{STEPS},epoch=0]\n"
            f"    optim/total_grad_norm=1.55\n    train/CrossEntropyLoss={loss}\n"
        ),
    ),
    "text-keras": (
        "train.log",
        lambda step, loss: (
            f"Epoch {step + 1}/{STEPS}\n10/10 [==============================] - 1s 3ms/step "
            f"- loss: {loss:.4f} - val_loss: {loss * 1.05:.4f}\n"
        ),
    ),
}


# What a user would write as ``pattern`` for the text log above.
TEXT_PATTERN = r"(?m)^step +(?P<step>\d+)/\d+ \| loss (?P<value>\S+)"


def write_wandb(folder: Path) -> None:
    """The real wandb package, offline. Slow: about 2,000 logged steps a second here (the Python side
    of every ``run.log`` call), so the 1M-step folder takes minutes to write, once."""
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    import wandb  # noqa: PLC0415 - only this writer needs it, and it is slow to import

    shutil.rmtree(folder, ignore_errors=True)  # an interrupted write leaves a run folder behind
    folder.mkdir(parents=True)
    run = wandb.init(project="bench", name="bench-1m", mode="offline", dir=str(folder))
    for step, loss in losses():
        run.log({"train/loss": loss}, step=step)
    run.finish()


WRITERS: dict[str, Callable[[Path], None]] = {
    "jsonl": write_jsonl,
    "trainer-state": write_trainer_state,
    "csv": write_csv,
    "tensorboard": write_tensorboard,
    "mlflow": write_mlflow,
    "text": write_text,
    "wandb": write_wandb,
    **{
        name: functools.partial(_write_lines, name=file, lines=lines)
        for name, (file, lines) in CONSOLE_VARIANTS.items()
    },
}


def time_reader(workspace: Path, pattern: str = "") -> dict[str, float]:
    """The reader alone on the workspace's run: best of 3. The writers' libraries are imported only
    by the writers: imported here, mlflow left OpenBLAS's worker threads spinning beside the reader
    (W&B's 1M-step file: 0.23 to 0.38 s against a steady 0.21 s with one BLAS thread), which the
    action's own process never does."""
    (source,) = discover(["run"], workspace, log_pattern=pattern).runs
    times = []
    steps = 0
    for _ in range(3):
        start = time.perf_counter()
        steps = len(read(source.format, source.files, ReadSpec(pattern=pattern)))
        times.append(time.perf_counter() - start)
    size = sum(f.path.stat().st_size for f in source.files)
    return {"seconds": min(times), "steps": steps, "files": len(source.files), "bytes": size}


def main() -> int:
    """Each step in its own process, so the benchmark's parent stays small: the peak RSS it
    reads for the action's process would otherwise include the parent's memory."""
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["write", "time"])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--format", default="dlm")
    parser.add_argument("--pattern", default="")
    args = parser.parse_args()
    if args.action == "write":
        WRITERS[args.format](args.workspace / "run")
        (args.workspace / ".complete").write_text("")
    else:
        print(json.dumps(time_reader(args.workspace, args.pattern)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
