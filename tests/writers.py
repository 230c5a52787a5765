"""Logs written by the real writers where they install from PyPI (tensorboardX, mlflow), and in
the exact on-disk shape of the others (Hugging Face Trainer, Lightning and Keras CSV loggers),
for the end-to-end tests. Each writer takes a curve of (step, loss) pairs."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

Curve = Sequence[tuple[int, float]]


def trainer_state(folder: Path, curve: Curve, *, checkpoints: Sequence[int] = ()) -> Path:
    """An HF output folder: ``trainer_state.json`` as ``TrainerState.save_to_json`` writes it
    (``json.dumps(asdict(state), indent=2, sort_keys=True) + "\\n"``), once per checkpoint with
    the history up to that step, and the final one in the folder itself."""
    folder.mkdir(parents=True, exist_ok=True)

    def state(upto: int) -> str:
        history: list[dict[str, object]] = []
        for step, loss in curve:
            if step > upto:
                break
            history.append(
                {"epoch": round(step / 100, 4), "grad_norm": 0.5, "learning_rate": 1e-4, "loss": loss, "step": step}
            )
            if step % 50 == 0:
                history.append(
                    {"epoch": round(step / 100, 4), "eval_loss": loss * 1.1, "eval_runtime": 1.2, "step": step}
                )
        body = {
            "best_metric": None,
            "best_model_checkpoint": None,
            "epoch": round(upto / 100, 4),
            "eval_steps": 50,
            "global_step": upto,
            "is_hyper_param_search": False,
            "is_local_process_zero": True,
            "is_world_process_zero": True,
            "log_history": history,
            "logging_steps": 1,
            "max_steps": curve[-1][0],
            "num_input_tokens_seen": 0,
            "num_train_epochs": 3,
            "save_steps": 100,
            "stateful_callbacks": {"TrainerControl": {"args": {"should_save": True}, "attributes": {}}},
            "total_flos": 1.5e15,
            "train_batch_size": 8,
            "trial_name": None,
            "trial_params": None,
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    for step in checkpoints:
        target = folder / f"checkpoint-{step}" / "trainer_state.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(state(step))
    (folder / "trainer_state.json").write_text(state(curve[-1][0]))
    return folder


def tensorboard(folder: Path, curve: Curve, *, tag: str = "train/loss", tensor_form: bool = False) -> Path:
    """tensorboardX's SummaryWriter (``simple_value`` scalars), or with ``tensor_form`` the form
    torch's ``add_scalar(new_style=True)`` and TF2 write: a one-element DT_FLOAT tensor with the
    scalars plugin in its metadata, through tensorboardX's own FileWriter and protobuf classes."""
    from tensorboardX import FileWriter, SummaryWriter
    from tensorboardX.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    if not tensor_form:
        writer = SummaryWriter(logdir=str(folder))
        for step, loss in curve:
            writer.add_scalar(tag, loss, step)
            writer.add_scalar("train/lr", 1e-4, step)
        writer.close()
        return folder
    plugin = summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    files = FileWriter(str(folder))
    for step, loss in curve:
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, float_val=[loss], tensor_shape=tensor_shape_pb2.TensorShapeProto()
        )
        value = summary_pb2.Summary.Value(
            tag=tag, tensor=tensor, metadata=summary_pb2.SummaryMetadata(plugin_data=plugin)
        )
        files.add_summary(summary_pb2.Summary(value=[value]), step)
    files.close()
    return folder


def mlflow_run(mlruns: Path, curve: Curve, *, key: str = "train/loss", run_name: str = "mlflow-run") -> Path:
    import os

    import mlflow

    # MLflow 3.x keeps the file store in maintenance mode behind this opt-in; it still writes it.
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    client = mlflow.MlflowClient(tracking_uri=mlruns.resolve().as_uri())
    experiment = client.create_experiment(f"exp-{run_name}")
    run = client.create_run(experiment, run_name=run_name)
    for step, loss in curve:
        client.log_metric(run.info.run_id, key, loss, step=step)
    client.set_terminated(run.info.run_id)
    return mlruns


def lightning_csv(folder: Path, curve: Curve) -> Path:
    """``CSVLogger``'s ``metrics.csv``: one row per log call, sparse, columns sorted by name
    (lightning.fabric.loggers.csv_logs._ExperimentWriter), values written by ``csv.DictWriter``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["epoch,step,train_loss_epoch,train_loss_step,val_loss"]
    for step, loss in curve:
        rows.append(f"{step // 100},{step},,{loss!r},")
        if step % 100 == 99:
            rows.append(f"{step // 100},{step},{loss!r},,{loss * 1.1!r}")
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def keras_csv(path: Path, curve: Curve) -> Path:
    """Keras ``CSVLogger``: a row per epoch, ``epoch`` first, the rest sorted by name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["epoch,loss,val_loss"] + [f"{step},{loss!r},{loss * 1.1!r}" for step, loss in curve]
    path.write_text("\r\n".join(rows) + "\r\n")  # csv.writer's default line terminator
    return path


def jsonl(path: Path, curve: Curve) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"step": step, "loss": loss, "lr": 1e-4, "tokens": 1024 * step}) for step, loss in curve]
    path.write_text("\n".join(lines) + "\n")
    return path


def decaying(n: int = 200, start: float = 4.0, rate: float = 0.03, offset: int = 0) -> list[tuple[int, float]]:
    return [(offset + i, start * math.exp(-rate * i) + 0.5) for i in range(n)]


def with_spike(curve: Curve, at: int, rise: float) -> list[tuple[int, float]]:
    return [(s, v + rise if i == at else v) for i, (s, v) in enumerate(curve)]
