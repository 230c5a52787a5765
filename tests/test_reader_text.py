"""Console text logs (``format: text``): every recogniser on the real logs in
``../shared/real-logs/console`` (pinned by the full curve, derived here with Python's ``re`` from
the labels' own expressions, not by the reader) and on fixtures written in each trainer's format;
decoding, damage, the ``pattern`` input, and property tests."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.config import build_settings
from drift.curve import Curve
from drift.discovery import discover
from drift.errors import ConfigError, LogError
from drift.readers import text as text_reader
from drift.readers.common import LogFile, ReadSpec
from drift.readers.recognisers import RECOGNISERS, user_pattern
from drift.readers.text import parse_step, read_text, unround
from tests.conftest import RunAction, doc_section

CONSOLE = Path(__file__).resolve().parent.parent.parent / "shared" / "real-logs" / "console"


def shared_console() -> Path:
    if not CONSOLE.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CONSOLE} is missing: CI must check out ../shared beside the repository")
        pytest.skip(f"SKIPPED LOUDLY: {CONSOLE} is missing (the real console logs live beside the repository)")
    return CONSOLE


def labels() -> dict[str, dict[str, object]]:
    path = CONSOLE / "labels.json"
    if not path.is_file():
        return {}
    return {k: v for k, v in json.loads(path.read_text()).items() if v["format"] == "text"}


def read(path: Path, spec: ReadSpec | None = None) -> Curve:
    return read_text([LogFile(path, path.name)], spec or ReadSpec())


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def curve_of(curve: Curve) -> list[tuple[int, float]]:
    return [(int(s), float(v)) for s, v in zip(curve.steps, curve.values, strict=True)]


def finite(value: float) -> float:
    return value if math.isfinite(value) else math.inf


# ---- the real logs --------------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(labels()) or ["(shared folder missing)"])
def test_real_console_logs_give_their_labelled_curve(slug: str) -> None:
    root = shared_console()
    label = labels()[slug]
    path = root / str(label["file"])
    encoding = "utf-16" if label.get("encoding") == "utf-16" else "utf-8"
    content = path.read_bytes().decode(encoding, "replace").replace("\r\n", "\n")
    matches = [(m.group("step"), float(m.group("loss"))) for m in re.finditer(str(label["regex"]), content)]
    assert len(matches) == label["n_points"]
    assert (math.isnan(matches[0][1]) and label["first"] != label["first"]) or matches[0][1] == label["first"]
    assert (math.isnan(matches[-1][1]) and label["last"] != label["last"]) or matches[-1][1] == label["last"]
    values = [finite(v) for _, v in matches]

    curve = read(path)  # no settings: the recogniser is found from the content
    got = curve_of(curve)
    if slug.startswith("keras"):
        # Four fit() calls restart the epoch counter; each restart continues from the last epoch.
        assert got == list(zip(range(1, len(values) + 1), values, strict=True))
        assert curve.notes[-1].startswith("the step counter started again 3 time(s)")
    elif slug.startswith("lerobot"):
        # Steps print rounded (1K for 1,000, 1,200 and 1,400); the exact ones say it logs every 200.
        assert [int(s) for s, _ in matches[:4]] == [200, 400, 600, 800]
        assert got == [(200 * (i + 1), v) for i, v in enumerate(values)]
        for (printed, _), (step, _) in zip(matches, got, strict=True):
            value, unit = parse_step(printed.encode())
            assert abs(step - value) <= unit / 2, (printed, step)
    else:
        expected: dict[int, float] = {}
        for step, value in zip((int(s) for s, _ in matches), values, strict=True):
            expected[step] = value  # a repeated step keeps the last value read
        assert got == sorted(expected.items())
        assert len(got) == label["distinct_steps"]
    assert curve.skipped_lines == 0 and curve.ignored_records == 0


def test_real_console_logs_are_read_by_the_action_with_path_alone(run_action: RunAction, workspace: Path) -> None:
    root = shared_console()
    for slug in labels():
        shutil.copytree(root / slug, workspace / "runs" / slug)  # into the test's own workspace only
    result = run_action(path="runs/*")
    assert result.code in (0, 1), result.stdout + result.stderr
    report = {run["name"]: run for run in result.report["runs"]}
    assert sorted(report) == sorted(f"runs/{slug}" for slug in labels())
    for slug, label in labels().items():
        run = report[f"runs/{slug}"]
        assert run["source"]["format"] == "text", slug
        assert run["verdict"] in ("pass", "warn"), (slug, run["message"])
        rounded_or_restarted = slug.startswith(("keras", "lerobot"))
        assert run["metrics"]["num_steps"] == (label["n_points"] if rounded_or_restarted else label["distinct_steps"])


# ---- fixtures written in each trainer's format ------------------------------------------------

FIXTURES: dict[str, tuple[str, list[tuple[int, float]]]] = {
    "llm.c": (
        "| max_steps | 3 |\n| val_loss_every | 250 |\nval loss 11.0079\n"
        "step    1/3 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | 4230.95 ms | 31.9% bf16 MFU\n"
        "step    2/3 | loss 10.956554 (+0.50z)| norm 15.2427 (+nanz)| lr 1.71e-06 | 4385.98 ms\n"
        "val loss 10.9\ngenerating:\n---\nstep 3 of the story\n---\n"
        "step    3/3 | loss     nan (+nanz)| norm    nan (+nanz)| lr 2.57e-06\n",
        [(1, 11.009662), (2, 10.956554), (3, math.inf)],
    ),
    "llm.c (CPU)": (
        "train dataset num_batches: 1192\nval loss 5.32\nstep 0: train loss 5.356086 (took 1452.1 ms)\n"
        "step 1: train loss 4.300644 (took 1288.7 ms)\ngenerating:\n",
        [(0, 5.356086), (1, 4.300644)],
    ),
    "modded-nanogpt": (
        "import torch\n    print(f'step:{step}/{n} train_loss:{loss}')\n"
        "step:0/3 val_loss:10.8258 train_time:0ms step_avg:nanms\n"
        "step:1/3 train_loss:10.8258 train_time:22ms step_avg:nanms\n"
        "step:2/3 train_loss:9.9013 train_time:40ms step_avg:nanms\n"
        "step:3/3 val_loss:9.1 train_time:55ms\nstep:3/3 train_loss:8.5 train_time:61ms\n",
        [(1, 10.8258), (2, 9.9013), (3, 8.5)],
    ),
    "llm.c main.log / modded-nanogpt (2024 records)": (
        "s:0 tel:10.968871\ns:0 trl:10.965596 lr:0.0018 norm:1.2\ns:1 trl:10.814037\ns:2 tel:9.1\ns:2 trl:9.2541\n",
        [(0, 10.965596), (1, 10.814037), (2, 9.2541)],
    ),
    "OLMo": (
        "2024-01-01 00:00:00\tnode:0\tolmo.train:979\tINFO\tPre-train system metrics\n"
        "    System/Peak GPU Memory (MB)=10,244\n"
        "2024-01-01 00:00:10\tnode:0\tolmo.train:979\tINFO\t[step=1/100,epoch=0]\n"
        "    optim/total_grad_norm=11.55\n    train/CrossEntropyLoss=11.33\n    train/Perplexity=83,461\n"
        "2024-01-01 00:00:20\tnode:0\tolmo.train:979\tINFO\t[step=2/100,epoch=0]\n"
        "    throughput/total_tokens=8,388,608\n    train/CrossEntropyLoss=10.5\n"
        "2024-01-01 00:00:30\tnode:0\tolmo.train:979\tINFO\tEval: v3-small\n"
        "    eval/v3-small-c4_en-validation/CrossEntropyLoss=10.9\n"
        "2024-01-01 00:00:40\tnode:0\tolmo.train:979\tINFO\t[step=3]\n    train/CrossEntropyLoss=9.75\n"
        "[step=4/100,epoch=0]\n    train/CE loss=9.5\n",  # OLMo-core's name
        [(1, 11.33), (2, 10.5), (3, 9.75), (4, 9.5)],
    ),
    "detectron2": (
        "[11/17 15:16:10] d2.config INFO: Full config:\nSOLVER:\n  CLIP_GRADIENTS:\n    # Avoid Inf/NaN error\n"
        "    ENABLED: false\n  MAX_ITER: 40\n"
        "[11/17 15:16:42] d2.utils.events INFO:  eta: 21:12:23  iter: 19  total_loss: 0.4109  loss_cls: 0.2853\n"
        "[11/17 15:16:55] d2.utils.events INFO:  eta: 21:12:09  iter: 39  total_loss: 0.3992  loss_cls: 0.2716\n"
        "[11/17 15:17:00] d2.evaluation INFO: Evaluation results for bbox: AP 30.1\n",
        [(19, 0.4109), (39, 0.3992)],
    ),
    "DeepSpeed-Chat": (
        "[deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536\n"
        "epoch: 0|step: 0|ppo_ep: 1|act_loss: 0.2099609375|cri_loss: 0.12|unsuper_loss: 0.0\n"
        "average reward score: 1.5\n"
        "epoch: 0|step: 1|ppo_ep: 1|act_loss: -0.5|cri_loss: 0.1|unsuper_loss: 0.0\n"
        "epoch: 1|step: 0|ppo_ep: 1|act_loss: 0.25|cri_loss: 0.1|unsuper_loss: 0.0\n",
        [(0, 0.2099609375), (1, -0.5), (2, 0.25)],  # step 0 of the second epoch continues after step 1
    ),
    "LeRobot": (
        "INFO 2024-06-01 12:00:00 ts/train.py:200 step:500 smpl:16K ep:2 epch:0.10 loss:0.9 grdn:9.1 lr:1.0e-05\n"
        "INFO 2024-06-01 12:01:00 ts/train.py:200 step:1K smpl:32K ep:4 epch:0.20 loss:0.5 grdn:7.2 lr:1.0e-05\n"
        "INFO 2024-06-01 12:01:30 ts/train.py:210 step:1K smpl:32K ep:4 epch:0.20 ∑rwrd:2.5 success:10.0\n"
        "INFO 2024-06-01 12:02:00 ts/train.py:200 step:2K smpl:48K ep:6 epch:0.30 loss:0.25 grdn:5.0\n"
        "INFO 2024-06-01 12:03:00 ts/train.py:200 step:2K smpl:64K ep:8 epch:0.40 loss:0.2 grdn:5.0\n",
        # one exact step gives no interval: the two points printed as 2K spread from it to the next 1K
        [(500, 0.9), (1000, 0.5), (2000, 0.25), (2500, 0.2)],
    ),
    "nanoGPT": (
        "step 0: train loss 10.8765, val loss 10.8698\niter 0: loss 10.8837, time 31402.36ms, mfu -100.00%\n"
        "iter 10: loss 9.6502, time 101.55ms, mfu 34.01%\nsaving checkpoint to out\n"
        "step 20: train loss 9.1, val loss 9.2\niter 20: loss 8.9126, time 99.12ms, mfu 34.30%\n",
        [(0, 10.8837), (10, 9.6502), (20, 8.9126)],
    ),
    "Hugging Face Trainer": (
        "  0%|          | 0/300 [00:00<?, ?it/s]\r  3%|▎         | 10/300 [00:05<02:30,  1.93it/s]"
        "{'loss': 2.1234, 'grad_norm': 1.94, 'learning_rate': 4.9e-05, 'epoch': 0.1}\n"
        "{'eval_loss': 1.95, 'eval_runtime': 3.2, 'epoch': 0.1}\n"
        "{'loss': '1.8', 'grad_norm': '1.2', 'learning_rate': '4.8e-05', 'epoch': '0.2'}\n"
        "{'loss': 1.5, 'grad_norm': nan, 'learning_rate': 4.7e-05, 'epoch': 0.3}\n"
        "{'train_runtime': 100.1, 'train_samples_per_second': 2.9, 'train_loss': 1.8, 'epoch': 1.0}\n",
        [(1, 2.1234), (2, 1.8), (3, 1.5)],
    ),
    "Keras": (
        "Epoch 1/3\n"
        "\r 1/10 [==>...........................] - ETA: 3s - loss: 2.5000 - accuracy: 0.10"
        "\x08\x08\x08\x08\r10/10 [==============================] - 5s 3ms/step - loss: 2.0000 - accuracy: 0.2"
        " - val_loss: 2.5 - val_accuracy: 0.1\n"
        "Epoch 2/3\n10/10 [==============================] - 1s 3ms/step - loss: 1.5000 - val_loss: 2.0\n"
        "Epoch 3/3\n10/10 ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - accuracy: 0.5 - loss: 1.2500 - val_loss: 1.9\n"
        "Epoch 1/2\n219s - loss: 1.1000 - acc: 0.6\nEpoch 00001: early stopping\n"
        "Epoch 2/2\n218s - loss: 1.0 - acc: 0.7\n",
        [(1, 2.0), (2, 1.5), (3, 1.25), (4, 1.1), (5, 1.0)],
    ),
    "tqdm / Lightning progress bar": (
        "Epoch 0:  10%|█         | 1/10 [00:00<00:05,  1.80it/s, loss=2.31, v_num=0]"
        "\rEpoch 0:  50%|█████     | 5/10 [00:02<00:02,  1.90it/s, loss=1.9, v_num=0]"
        "\rEpoch 0: 100%|██████████| 10/10 [00:05<00:00,  1.95it/s, loss=1.5, v_num=0, val_loss=1.8]\n"
        "Epoch 1:  50%|█████     | 5/10 [00:02<00:02,  1.90it/s, train_loss=1.2, v_num=0]"
        "\rEpoch 1: 100%|██████████| 10/10 [00:05<00:00,  1.95it/s, train_loss_step=1.0, v_num=0]\n",
        [(1, 2.31), (5, 1.9), (10, 1.5), (15, 1.2), (20, 1.0)],
    ),
    "epoch, step and loss": (
        "Epoch [1/2], Step [100/200], Loss: 0.9000\nEpoch [1/2], Step [200/200], Loss: 0.7000\n"
        "Epoch [1/2] validation loss: 0.8\nEpoch [2/2], Step [100/200], Loss: 0.5000\n"
        "epoch 2 | step 200 | loss 0.4\n",
        [(100, 0.9), (200, 0.7), (300, 0.5), (400, 0.4)],  # the step counts within an epoch
    ),
    "step and loss": (
        "using device cuda\n    print(f'step {step} | loss {loss:.4f}')\nstep 0 | loss 10.9 | lr 0.0\n"
        "step 0 | val loss 10.8\nstep 0: train loss 10.87, val loss 10.86\nStep 10, Loss: 8.25, lr 1e-4\n"
        "[iter 20] loss=7.5\nIteration 30/100 - train_loss: nan\n",
        [(0, 10.9), (10, 8.25), (20, 7.5), (30, math.inf)],
    ),
}


def test_every_recogniser_has_a_fixture() -> None:
    assert sorted(FIXTURES) == sorted(r.name for r in RECOGNISERS)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_recogniser_reads_its_format(name: str, tmp_path: Path) -> None:
    content, expected = FIXTURES[name]
    curve = read(write(tmp_path / "train.log", content))
    assert curve_of(curve) == expected
    assert curve.notes[0] == f"read as {name} console output"
    # and the folder holding it is found as a console-log run, with nothing configured
    found = discover(["."], tmp_path)
    assert [(run.format, [f.display for f in run.files]) for run in found.runs] == [("text", ["train.log"])]


def test_example_lines_in_the_registry_are_read() -> None:
    from drift.readers.recognisers import compiled

    for recogniser, matcher in zip(RECOGNISERS, compiled(), strict=True):
        if matcher.head:
            continue  # their examples describe two lines
        assert matcher.regexp.search(recogniser.example.encode()) is not None, recogniser.name


# ---- steps --------------------------------------------------------------------------------


def test_parse_step() -> None:
    assert parse_step(b"120") == (120, 1)
    assert parse_step(b"1,000") == (1000, 1)
    assert parse_step(b"1K") == (1000, 1000)
    assert parse_step(b"2.5M") == (2_500_000, 100_000)
    assert parse_step(b"3.0") == (3, 1)
    assert parse_step(b"0.5") is None
    assert parse_step(b"x") is None


def test_unround_rebuilds_a_constant_interval_and_spreads_otherwise() -> None:
    lerobot = [(200 * k, 1) if k < 5 else (round(200 * k / 1000) * 1000, 1000) for k in range(1, 16)]
    assert unround([(float(v), float(u)) for v, u in lerobot]) == [200 * k for k in range(1, 16)]
    # no exact steps to learn the interval from: the points of a label spread towards the next one
    assert unround([(1000, 1000), (1000, 1000), (2000, 1000), (3000, 1000)]) == [1000, 1500, 2000, 3000]
    # a label that goes back (a resumed run) starts again at that label
    assert unround([(1000, 1000), (2000, 1000), (1000, 1000)]) == [1000, 2000, 1000]


def test_a_resumed_run_keeps_the_last_value_of_a_repeated_step(tmp_path: Path) -> None:
    lines = [f"iter {i}: loss {10 - i}.0, time 1ms" for i in range(5)]
    lines += [f"iter {i}: loss {i}.5, time 1ms" for i in range(3, 7)]  # resumed from a checkpoint at 3
    curve = read(write(tmp_path / "out.log", "\n".join(lines) + "\n"))
    assert curve_of(curve) == [(0, 10.0), (1, 9.0), (2, 8.0), (3, 3.5), (4, 4.5), (5, 5.5), (6, 6.5)]


# ---- decoding and damage --------------------------------------------------------------------

LLMC = "step    {s}/9 | loss {v} (+nanz)| norm 1.0 (+nanz)"


def llmc(n: int = 3) -> str:
    return "\n".join(LLMC.format(s=s, v=10.0 - s) for s in range(1, n + 1)) + "\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.replace("\n", "\r\n").encode("utf-16"),  # with its BOM, in the machine's order
        lambda t: b"\xff\xfe" + t.replace("\n", "\r\n").encode("utf-16-le"),
        lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
        lambda t: t.replace("step", "\x1b[32mstep\x1b[0m").replace("\n", "\r\n").encode(),
    ],
    ids=["utf8", "utf8-bom", "utf16-crlf", "utf16le-bom", "utf16be-bom", "ansi-crlf"],
)
def test_encodings_line_ends_and_colour_codes(encode: object, tmp_path: Path) -> None:
    path = write(tmp_path / "a.log", encode("noise\n" + llmc()))  # type: ignore[operator]
    curve = read(path)
    assert curve_of(curve) == [(1, 9.0), (2, 8.0), (3, 7.0)]
    assert curve.line.tolist() == [2, 3, 4]


def test_a_last_line_cut_in_the_middle_is_read(tmp_path: Path) -> None:
    curve = read(write(tmp_path / "a.log", llmc(3) + "step    4/9 | loss 6.5 (+nanz)|slurmstepd: CANCELLED"))
    assert curve_of(curve)[-1] == (4, 6.5)
    curve = read(write(tmp_path / "b.log", llmc(3) + "step    4/9 | lo"))
    assert len(curve) == 3


def test_binary_data_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(LogError) as caught:
        read(write(tmp_path / "a.log", llmc(3).encode() + b"\x00\x01\x02\nmore"))
    assert caught.value.file == "a.log" and caught.value.line == 4
    assert "binary data" in str(caught.value)


def test_a_huge_line_is_skipped_and_counted(tmp_path: Path) -> None:
    with mock.patch.object(text_reader, "MAX_LINE", 1000), mock.patch.object(text_reader, "BLOCK_BYTES", 256):
        curve = read(write(tmp_path / "a.log", llmc(2) + "x" * 5000 + "\n" + LLMC.format(s=3, v=7.0) + "\n"))
    assert curve_of(curve) == [(1, 9.0), (2, 8.0), (3, 7.0)]
    assert curve.skipped_lines == 1 and curve.first_skipped is not None and curve.first_skipped.line == 3
    assert curve.line.tolist() == [1, 2, 4]


def test_nan_and_inf_are_points_but_words_holding_them_are_not(tmp_path: Path) -> None:
    content = "iter 1: loss nan, t\niter 2: loss inf, t\niter 3: loss -Infinity, t\niter 4: loss nanz, t\n"
    content += "iter 5: loss infinite, t\niter 6: loss 2.5, t\n"
    assert curve_of(read(write(tmp_path / "a.log", content))) == [
        (1, math.inf),
        (2, math.inf),
        (3, math.inf),
        (6, 2.5),
    ]


def test_an_unrecognised_named_file_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(LogError, match=r"no line of notes\.txt looks like the console output of a known trainer"):
        read(write(tmp_path / "notes.txt", "hello\nworld\n"))
    assert len(read(write(tmp_path / "empty.log", ""))) == 0  # an empty file is a short run, as elsewhere


def test_another_metric_needs_a_pattern(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="set pattern"):
        read(write(tmp_path / "a.log", llmc()), ReadSpec(metric="grad_norm"))


def test_csv_and_json_lines_under_log_names_stay_theirs(tmp_path: Path) -> None:
    write(tmp_path / "keras" / "training.log", "epoch,loss,val_loss\n0,1.0,1.1\n1,0.9,1.0\n")
    write(tmp_path / "console" / "slurm-123.out", llmc())
    write(
        tmp_path / "jsonl" / "train.log", '{"step": 1, "loss": }\n{"step": 2, "loss": 2.25}\n'
    )  # a damaged first line
    found = discover(["."], tmp_path)
    assert {run.name: run.format for run in found.runs} == {"keras": "csv", "console": "text", "jsonl": "jsonl"}


def test_a_log_of_hugging_face_dicts_alone_is_a_console_log_not_json_lines(tmp_path: Path) -> None:
    """Found while timing: a Trainer log without progress bars starts with a brace on every line,
    and was taken for JSON lines, whose reader then refused its first line."""
    lines = [
        f"{{'loss': {2.0 / s}, 'grad_norm': 1.5, 'learning_rate': 4.9e-05, 'epoch': {s / 10}}}" for s in range(1, 6)
    ]
    write(tmp_path / "run" / "train.log", "\n".join(lines) + "\n")
    (run,) = discover(["."], tmp_path).runs
    assert run.format == "text"
    assert curve_of(read(run.files[0].path)) == [(s, 2.0 / s) for s in range(1, 6)]


# ---- the pattern input ----------------------------------------------------------------------


def test_pattern_reads_what_no_recogniser_knows(tmp_path: Path) -> None:
    content = "boot\n[it 10] objective=3.5 lr=1e-3\n[it 20] objective=3.25\n[val] objective=9\n"
    path = write(tmp_path / "run" / "train.log", content)
    with pytest.raises(LogError):
        read(path)
    curve = read(path, ReadSpec(pattern=r"\[it (?P<step>\d+)\] objective=(?P<value>\S+)"))
    assert curve_of(curve) == [(10, 3.5), (20, 3.25)]
    found = discover(["run"], tmp_path, log_pattern=r"\[it (?P<step>\d+)\] objective=(?P<value>\S+)")
    assert found.runs[0].format == "text"


def test_a_multi_line_pattern_matches_across_block_boundaries(tmp_path: Path) -> None:
    lines = []
    for step in range(1, 400):
        lines += [f"== step {step}", "  noise", f"  loss = {step / 7:.6f}"]
    path = write(tmp_path / "a.log", "\n".join(lines) + "\n")
    pattern = r"== step (?P<step>\d+)\n(?:  noise\n)*  loss = (?P<value>\S+)"
    with mock.patch.object(text_reader, "BLOCK_BYTES", 333), mock.patch.object(text_reader, "OVERLAP", 100):
        curve = read(path, ReadSpec(pattern=pattern))
    assert curve_of(curve) == [(s, float(f"{s / 7:.6f}")) for s in range(1, 400)]
    assert curve.line.tolist() == [3 * s for s in range(1, 400)]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?P<step>\\d+", "pattern is not a valid regular expression"),
        ("step (?P<step>\\d+) loss (\\S+)", "missing value"),
        ("(?P<step>\\d*)(?P<value>\\d*)", "matches the empty string"),
        ("(a+)+(?P<step>\\d)(?P<value>x)\\1", "not a valid regular expression"),  # backreferences: not in RE2
    ],
)
def test_a_bad_pattern_is_a_config_error_naming_the_input(pattern: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        build_settings({"path": "x", "pattern": pattern}, tmp_path)
    assert str(caught.value).startswith("workflow input: pattern ")


def test_pattern_steps_may_have_separators_and_suffixes(tmp_path: Path) -> None:
    content = "at 999 loss 3.0\nat 1,000 loss 2.0\nat 2K loss 1.5\nat 0.5 loss 9\n"
    curve = read(write(tmp_path / "a.log", content), ReadSpec(pattern=r"at (?P<step>[0-9.,]+K?) loss (?P<value>\S+)"))
    assert curve_of(curve) == [(999, 3.0), (1000, 2.0), (2000, 1.5)]
    assert curve.ignored_records == 1


def test_hostile_content_against_a_fixed_pattern_is_linear(tmp_path: Path) -> None:
    # (a|a)*-style blow-ups cost Python's re exponential time; RE2 reads this in milliseconds.
    path = write(tmp_path / "a.log", "a" * 200_000 + "!\n" + "step 1 " + "a" * 50 + " 2.5\n")
    curve = read(path, ReadSpec(pattern=r"(?:a|aa)*b|step (?P<step>\d+) (?:a|a)* (?P<value>\S+)"))
    assert curve_of(curve) == [(1, 2.5)]


# ---- properties -----------------------------------------------------------------------------

NOISE = st.sampled_from(
    [
        "",
        "val loss 3.25",
        "step 5: train loss 1.0, val loss 1.1",
        "s:3 tel:2.0",
        "Traceback (most recent call last):",
        '  File "train.py", line 3, in <module>',
        "WARNING: loss is nan, skipping",
        "| val_loss_every | 250 |",
        "    print(f'step {step}/{n} | loss {loss}')",
        "step    x/10 | loss 1.0",
        "\x1b[31mred\x1b[0m",
        "ünïcödé ✓",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True, width=32),
            st.lists(NOISE, max_size=3),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(min_value=64, max_value=4096),
)
def test_generated_lines_in_noise_give_back_the_generated_curve(
    rows: list[tuple[float, list[str]]], newline: str, block: int
) -> None:
    lines = ["llm.c config", "step    0/9 | loss 1.0 (+nanz)| norm 1"]
    expected = [(0, 1.0)]
    for step, (value, noise) in enumerate(rows, start=1):
        lines += noise
        lines.append(f"step {step:4d}/{len(rows)} | loss {value!r:>7} (+nanz)| norm 1.0 (+nanz)| lr 1e-4")
        expected.append((step, finite(value)))
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "a.log", newline.join(lines) + newline)
        with mock.patch.object(text_reader, "BLOCK_BYTES", block), mock.patch.object(text_reader, "OVERLAP", 32):
            curve = read(path)
            through_pattern = read(path, ReadSpec(pattern=r"(?m)^step\s+(?P<step>\d+)/\d+ \| loss\s+(?P<value>\S+)"))
    assert curve_of(curve) == expected
    assert curve_of(through_pattern) == expected


# ---- the action, as the runner runs it --------------------------------------------------------


def test_the_action_reads_a_console_log_with_path_alone(run_action: RunAction, workspace: Path) -> None:
    lines = [LLMC.format(s=s, v=f"{10 * 0.97**s:.6f}") for s in range(1, 60)]
    lines.insert(10, "val loss 9.5")
    write(workspace / "runs" / "gpt" / "slurm-4242.out", "\n".join(lines) + "\n")
    result = run_action(path="runs/gpt")
    assert result.code == 0, result.stdout + result.stderr
    run = result.report["runs"][0]
    assert run["source"]["format"] == "text" and run["source"]["files"] == ["runs/gpt/slurm-4242.out"]
    assert run["metrics"]["num_steps"] == 59
    assert run["metrics"]["initial_loss"] == pytest.approx(9.7) and run["notes"][0] == "read as llm.c console output"


def test_the_action_reads_a_console_log_with_pattern(run_action: RunAction, workspace: Path) -> None:
    lines = [f"<it={s}> objective={10 * 0.97**s:.6f} ::warning::x" for s in range(1, 40)]
    write(workspace / "runs" / "custom" / "train.log", "\n".join(lines) + "\n")
    result = run_action(path="runs/custom", pattern=r"<it=(?P<step>\d+)> objective=(?P<value>[0-9.]+)")
    assert result.code == 0, result.stdout + result.stderr
    run = result.report["runs"][0]
    assert run["source"]["format"] == "text" and run["metrics"]["num_steps"] == 39
    bad = run_action(path="runs/custom", pattern="(?P<step>")
    assert bad.code == 2
    assert any("pattern is not a valid regular expression" in c[2] for c in bad.annotations("error"))
    unknown = run_action(path="runs/custom/train.log")
    assert unknown.code == 1
    assert unknown.report["runs"][0]["verdict"] == "error"
    assert "no line of runs/custom/train.log looks like the console output" in unknown.report["runs"][0]["message"]
    assert not any(c[2] == "x" for c in unknown.commands + result.commands)


def test_the_readme_pattern_examples_read_their_lines() -> None:
    section = doc_section("My log is not recognised")
    rows = re.findall(r"^\| `(.+?)`(?: then, on the next line, `(.+?)`)?[^|]* \| `(.+)` \|$", section, re.M)
    assert len(rows) == 3
    for first, second, pattern in rows:
        line = first + ("\n" + second if second else "") + "\n"
        matcher = user_pattern(pattern)
        spans = next(text_reader._matches(matcher.regexp, line.encode(), 0))
        assert spans[matcher.step][0] >= 0 and spans[matcher.value][0] >= 0, pattern
    yaml_pattern = re.search(r"pattern: '(.+)'", section)
    assert yaml_pattern is not None
    line = b"[2024-06-01 12:00:00] it=1200 objective=2.3401 lr=3e-4"
    assert user_pattern(yaml_pattern.group(1)).regexp.search(line) is not None


def test_a_step_beyond_two_to_the_53_is_read_exactly_by_every_path(tmp_path: Path) -> None:
    """Found by the property test: the reference loop read a step through float() and rounded it."""
    path = tmp_path / "a.log"
    path.write_text("step 0 | loss 10.9 | lr 0.0\nstep 499297429296392405 | loss 10.5 | lr 0.0\n")
    for options in ({}, {"native_scan": False}, {"fast": False}):
        curve = read_text([LogFile(path, "a.log")], ReadSpec(), **options)  # type: ignore[arg-type]
        assert curve.steps.tolist() == [0, 499297429296392405], options
