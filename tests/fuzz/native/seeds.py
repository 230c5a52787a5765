"""Seed inputs for the libFuzzer harnesses of the compiled readers, generated at build time.

    python -m tests.fuzz.native.seeds OUT      # writes OUT/jsonl, OUT/jsondoc, OUT/tfevents, OUT/text, OUT/wandb

The text harness (fuzz_textscan.cc) reads its patterns from OUT/text-patterns.txt, one a line: every
recogniser's, then the fuzz targets' fixed user patterns, each behind 1 or 0 and a tab (whether it
is line-shaped); a text seed's first byte picks one.

Each folder gets the public logs under ../shared/real-logs that its reader takes, when they are
there (read in place, never copied into the repository), and generated inputs, among them several
over 64 KiB: the sizes where jsondoc.c's key buffer fills and where a line no longer fits
libFuzzer's default input length. The findings of issue 14
are here too, so every fuzz run starts from them.
"""

from __future__ import annotations

import json
import math
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from drift.readers.tensorboard import _masked_crc  # noqa: E402 - after the path set-up above

KEY_BUFFER = 1 << 16  # trainer_state.py's _KEY_BUFFER: the keys buffer jsondoc.c is given
KEY_SLOTS = 1024  # jsondoc.c's KEY_SLOTS


def _slot(key: bytes) -> int:
    """jsondoc.c's hash slot for a key (32-bit FNV-1a)."""
    h = 2166136261
    for byte in key:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h % KEY_SLOTS


def add_key_reproducer() -> bytes:
    """A trainer_state.json on which jsondoc.c's add_key read past its keys buffer (issue 14).

    No log_history entry holds the metric, so the reader scans again collecting key names into a
    64 KiB buffer. The first key fills it to two bytes from the end, ``b`` takes those two bytes
    (itself and its NUL), and the third key lands in ``b``'s hash slot: comparing it with ``b``
    as many bytes as the third key is long reads past the buffer's end.
    """
    first = b"a" * (KEY_BUFFER - 3)
    assert _slot(first) != _slot(b"b")
    n = 0
    while _slot(third := b"b" + b"x" * 62 + str(n).encode()) != _slot(b"b"):
        n += 1
    entry = b'{"' + first + b'": 0, "b": 1, "' + third + b'": 2}'
    return b'{"global_step": 1, "log_history": [' + entry + b"]}\n"


def dlm_line(step: int, loss: float) -> str:
    return (
        f'{{"grad_norm": 0.25, "loss": {loss!r}, "lr": 0.0001, "step": {step}, '
        f'"timestamp": "2026-04-26T06:25:17", "type": "step", "val_loss": null}}\n'
    )


def jsonl_seeds() -> dict[str, bytes]:
    rng = random.Random(14)
    ordinary = "".join(dlm_line(s, 3.0 * math.exp(-s / 300) + rng.random() * 0.01) for s in range(600))
    messy = [
        '{"type": "banner", "run_id": 1}\n',
        "\n",
        "   \t\n",
        "# a comment\n",
        "INFO step 3 loss 2.5\n",
        '{"type": "step", "step": 1, "loss": 2.5}\n',
        '{"type": "step", "step": "2", "loss": "2.25"}\n',
        '{"type": "step", "step": 3, "loss": NaN}\n',
        '{"type": "step", "step": 4, "lo\\u0073s": 1.0}\n',
        '{"type": "step", "step": 5, "loss": 1e400}\n',
        '{"type": "step", "step": 1e400, "loss": 1}\n',
        '{"type": "step", "step": 6, "loss": 0.12345678901234567890123}\n',
        '{"type": "step", "step": 7, "nested": {"loss": 1}, "loss": 2}\n',
        '{"type": "step", "step": 8, "loss": 1.5\n',
        '{"type": "step", "st\n',
        '{"type": "step", "step": 99999999999999999999, "loss": 1}\n',
        ' {"type": "step", "step": 9, "loss": 1}\t\n',
        '{"type": "step", "step": 10, "loss": -0}\n',
        "\x00\x01\x02\n",
        "{\xe2\x82\xac}\n",
    ]
    return {
        "ordinary.jsonl": ordinary.encode(),
        "messy.jsonl": "".join(messy).encode("latin-1"),
        "blank-lines-over-64k.jsonl": b"{}\n" + b"\n" * 70_000 + b" \t\n" * 100,
        "junk-lines-over-64k.jsonl": b'{"type": "banner"}\n' + b"# epoch 1 done, nothing to see\n" * 2400,
        "non-matching-over-64k.jsonl": b'{"type": "banner"}\n'
        + b'{"type": "eval", "step": 5, "accuracy": 0.5}\n' * 1600,
        "single-line-over-64k.jsonl": (
            '{"type": "step", "step": 1, "loss": 2.5, "pad": "' + "x" * 70_000 + '"}'
        ).encode(),
        "crlf.jsonl": ordinary[:2000].replace("\n", "\r\n").encode(),
    }


def trainer_state_seeds() -> dict[str, bytes]:
    history: list[dict[str, object]] = []
    for step in range(1, 1200):
        history.append({"epoch": step / 100, "grad_norm": 0.5, "learning_rate": 1e-4, "loss": 2.0 / step, "step": step})
        if step % 100 == 0:
            history.append({"epoch": step / 100, "eval_loss": 1.0, "step": step})
    history.append({"step": 1199, "train_loss": 0.5, "train_runtime": 10.0})
    state = {"global_step": 1199, "log_history": history, "max_steps": 1199}
    small = {"global_step": 3, "log_history": [{"loss": 1.5, "step": 1}, {"loss": "2", "step": "2"}, {"x": 1}]}
    no_metric = {"global_step": 2, "log_history": [{"eval_loss": 1.0, "step": s, f"k{s}": s} for s in range(3000)]}
    return {
        "over-64k.json": (json.dumps(state, indent=2, sort_keys=True) + "\n").encode(),
        "small.json": json.dumps(small).encode(),
        "keys-over-64k.json": json.dumps(no_metric).encode(),
        "add-key-reproducer.json": add_key_reproducer(),
    }


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, body: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(body)) + body


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked_crc(length)) + data + struct.pack("<I", _masked_crc(data))


def _event(step: int, values: list[tuple[str, float]]) -> bytes:
    summary = b"".join(_field(1, _field(1, tag.encode()) + b"\x15" + struct.pack("<f", v)) for tag, v in values)
    return _varint(2 << 3) + _varint(step) + _field(5, summary)


def tfevents_seeds() -> dict[str, bytes]:
    version = _record(b"\x09" + struct.pack("<d", 1.7e9) + _field(3, b"brain.Event:2"))
    many = version + b"".join(
        _record(_event(s, [("train/loss", 2.0 / (s + 1)), ("train/lr", 1e-4)])) for s in range(2000)
    )
    wide = version + _record(_event(1, [(f"tag/{i}", float(i)) for i in range(3000)]))  # one record, many tags
    tensor = bytes.fromhex("0801") + _field(2, b"") + bytes.fromhex("2d0000c03f")  # DT_FLOAT, shape [], 1.5
    tensor_event = _varint(2 << 3) + _varint(7) + _field(5, _field(1, _field(1, b"loss") + _field(8, tensor)))
    return {
        "over-64k.tfevents": many,
        "wide-record-over-64k.tfevents": wide,
        "tensor.tfevents": version + _record(tensor_event),
        "damaged.tfevents": many[:5000] + b"\xff" + many[5001:9000],
    }


def wandb_seeds() -> dict[str, bytes]:
    """W&B run files from the fuzz generator's framer (tests/fuzz/formats.py), whole, cut short and
    with a byte flipped; fuzz_wandb.c reads an input whose first byte is odd as the magic plus the
    rest, so each also goes in that way."""
    from tests.fuzz.formats import _wandb_field, wandb_file, wandb_frame

    rng = random.Random(16)
    seeds = {f"generated-{i}.wandb": wandb_file(rng) for i in range(12)}
    big = _wandb_field(17, _wandb_field(8, b"n" * 70_000))  # a record over two blocks
    rows = [
        _wandb_field(1, _wandb_field(2, b"loss") + _wandb_field(16, repr(1.0 / (s + 1)).encode()))
        + _wandb_field(1, _wandb_field(2, b"_step") + _wandb_field(16, str(s).encode()))
        for s in range(3000)
    ]
    seeds["over-64k.wandb"] = wandb_frame([big, *(_wandb_field(2, row) for row in rows)])
    seeds["cut.wandb"] = seeds["over-64k.wandb"][:50_000]
    damaged = bytearray(seeds["over-64k.wandb"])
    damaged[40_000] ^= 0xFF
    seeds["damaged.wandb"] = bytes(damaged)
    for name, data in list(seeds.items()):
        seeds["odd-" + name] = b"\x01" + data[7:]
    return seeds


def text_patterns() -> list[bytes]:
    """Each pattern behind ``1\t`` when it is line-shaped (the harness then also scans it one line
    at a time and holds that to RE2's search), else ``0\t``."""
    from drift.readers.lineshape import line_shaped
    from drift.readers.recognisers import RECOGNISERS
    from tests.fuzz.formats import TEXT_PATTERNS

    patterns = [r.pattern for r in RECOGNISERS] + [p.encode() for p in TEXT_PATTERNS]
    return [(b"1\t" if line_shaped(p) else b"0\t") + p for p in patterns]


def text_seeds() -> dict[str, bytes]:
    """Generated console logs (tests/fuzz/formats.py), each behind the byte that picks its pattern."""
    from drift.readers.recognisers import RECOGNISERS
    from tests.fuzz.formats import console_log, pattern_log

    rng = random.Random(12)
    seeds: dict[str, bytes] = {}
    for i, recogniser in enumerate(RECOGNISERS):
        seeds[f"example-{i}.log"] = bytes([i]) + (recogniser.example + "\n").encode() * 20
        for k in range(3):
            seeds[f"console-{i}-{k}.log"] = bytes([i]) + console_log(rng)
    for k, _ in enumerate(text_patterns()[len(RECOGNISERS) :]):
        for j in range(3):
            seeds[f"pattern-{k}-{j}.log"] = bytes([len(RECOGNISERS) + k]) + pattern_log(rng)
    big = b"".join(console_log(rng) for _ in range(60))
    seeds["console-over-64k.log"] = bytes([0]) + (big * (1 + (70_000 // max(len(big), 1))))[:300_000]
    return seeds


def _real(folder: Path, patterns: tuple[str, ...]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if folder.is_dir():
        for pattern in patterns:
            for path in sorted(folder.rglob(pattern)):
                if path.is_file() and path.stat().st_size <= 4 << 20:
                    found["real-" + "-".join(path.relative_to(folder).parts)] = path.read_bytes()
    return found


def write_seeds(out: Path) -> dict[str, int]:
    shared = ROOT.parent / "shared" / "real-logs"
    groups = {
        "jsonl": {
            **jsonl_seeds(),
            **_real(shared, ("*.jsonl",)),
            **_real(shared / "formats" / "jsonl", ("*.txt",)),
        },
        "jsondoc": {
            **trainer_state_seeds(),
            **_real(shared, ("trainer_state*.json",)),
            **_real(shared / "curves", ("*.json",)),
        },
        "tfevents": {**tfevents_seeds(), **_real(shared, ("events.out.tfevents*",))},
        "text": text_seeds(),
        "wandb": {**wandb_seeds(), **_real(shared, ("*.wandb",))},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "text-patterns.txt").write_bytes(b"".join(p + b"\n" for p in text_patterns()))
    counts = {}
    for name, seeds in groups.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, blob in seeds.items():
            (folder / file_name).write_bytes(blob)
        counts[name] = len(seeds)
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT")
    for group, n in write_seeds(Path(sys.argv[1])).items():
        print(f"{group}: {n} seeds")
