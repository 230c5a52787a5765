"""Structure-aware generators: inputs shaped enough like each format to get past its first checks.

Random bytes die at the first line of a JSON-lines log or the first CRC of an event file, so each
generator writes the format's structure (JSON with raw number tokens, TFRecord framing with valid
checksums around hand-encoded protocol buffers, CSV tables, MLflow metric lines, YAML documents)
from random parts, and leaves damage to ``mutate``. Every choice draws from the ``random.Random``
passed in.
"""

from __future__ import annotations

import functools
import json
import math
import random
import struct
import zlib
from collections.abc import Callable, Sequence

from tests.fuzz.mutate import hostile_text, number

# --- curves -----------------------------------------------------------------------------------


def curve(rng: random.Random, n: int | None = None) -> list[tuple[int, float]]:
    """A loss curve: decaying with noise, sometimes spiky, sometimes with a NaN or repeated steps."""
    count = n if n is not None else rng.choice((0, 1, 2, 3, 5, 8, 12, 20, 30, 50, 120))
    start, rate, noise = rng.uniform(0.5, 8), rng.uniform(0.001, 0.2), rng.choice((0.0, 0.01, 0.2))
    step = rng.choice((0, 0, 1, 100, -3))
    stride = rng.choice((1, 1, 10, 50))
    out = []
    for i in range(count):
        value = start * math.exp(-rate * i) + 0.3 + rng.gauss(0, noise)
        roll = rng.random()
        if roll < 0.02:
            value += rng.uniform(2, 20)
        elif roll < 0.025:
            value = rng.choice((math.nan, math.inf, -math.inf))
        out.append((step, value))
        step += stride if rng.random() > 0.03 else rng.choice((0, -stride))
    return out


def float_text(rng: random.Random, value: float) -> str:
    """How a logger writes a float, or an edge-case number instead."""
    roll = rng.random()
    if roll < 0.8:
        return repr(value) if math.isfinite(value) else rng.choice(("NaN", "Infinity", "-Infinity", "nan", "inf"))
    if roll < 0.9:
        return f"{value:.6g}" if math.isfinite(value) else "nan"
    return number(rng)


# --- JSON with raw tokens ---------------------------------------------------------------------

KEYS: tuple[str, ...] = (
    "type",
    "step",
    "loss",
    "epoch",
    "lr",
    "learning_rate",
    "grad_norm",
    "train/loss",
    "train_loss",
    "eval_loss",
    "Loss",
    "global_step",
    "timestamp",
    "tokens_per_sec",
    "split",
    "",
    "::error::x",
    "<b>",
    "ü",
    "a\nb",
)


def json_string(rng: random.Random, text: str) -> str:
    """``text`` as a JSON string token, escaped in one of the ways a writer may escape it."""
    roll = rng.random()
    if roll < 0.75:
        return json.dumps(text)
    if roll < 0.85:
        return json.dumps(text, ensure_ascii=False)
    if roll < 0.93 and text:  # escape every character: the same string, spelled differently
        return '"' + "".join(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else ch for ch in text) + '"'
    if roll < 0.97:
        return '"' + text + '"'  # raw: may hold a quote, a control character or a line break
    return json.dumps(text)[:-1]  # unterminated


def json_scalar(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return number(rng)
    if roll < 0.8:
        return json_string(rng, rng.choice((*KEYS, number(rng), hostile_text(rng, 12))))
    return rng.choice(("true", "false", "null", "NaN", "Infinity", "-Infinity", "nul", "True"))


def json_value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 3 or roll < 0.8:
        return json_scalar(rng)
    if roll < 0.9:
        return "[" + ",".join(json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    items = [(json_string(rng, rng.choice(KEYS)), json_value(rng, depth + 1)) for _ in range(rng.randint(0, 3))]
    return json_object(rng, items)


def json_object(rng: random.Random, items: Sequence[tuple[str, str]], indent: str = "") -> str:
    """An object from raw key and value tokens, with the whitespace a writer might use."""
    if indent:
        inner = indent + "  "
        body = ",\n".join(f"{inner}{key}: {value}" for key, value in items)
        return "{\n" + body + "\n" + indent + "}" if items else "{}"
    colon = rng.choice((": ", ":", " : "))
    comma = rng.choice((", ", ",", " ,\t"))
    text = "{" + comma.join(f"{key}{colon}{value}" for key, value in items) + "}"
    if rng.random() < 0.02:
        text = text[:-1] + ",}"  # a trailing comma: not JSON
    return text


# --- JSON lines (dlm and generic) -------------------------------------------------------------

STEP_KEYS = (
    "step",
    "step",
    "step",
    "epoch",
    "iter",
    "global_step",
    "Step",
    "st\u00e9p",
    "a b",
    "",
    '"',
    "\\",
    "\u2028",
)
METRICS = ("loss", "loss", "loss", "train/loss", "val_loss", "Loss", "acc", "", "lo\u00df", "::x", "step")
FILTER_KEYS = (
    "type",
    "type",
    "split",
    "mode",
    "train",
    "step",
    "a b",
    "\u00fc",
)  # never empty: the config refuses that
FILTER_VALUES = ("step", "train", "eval", "1", "1.0", "true", "false", "null", '"x"', "", " step", "[1]", "{}")


def jsonl_spec(rng: random.Random) -> tuple[str, str, tuple[str, str] | None]:
    step_key = rng.choice(STEP_KEYS)
    metric = rng.choice(METRICS)
    record_filter = None if rng.random() < 0.4 else (rng.choice(FILTER_KEYS), rng.choice(FILTER_VALUES))
    return step_key, metric, record_filter


def _filter_token(rng: random.Random, wanted: str) -> str:
    """A JSON value for the filter field: one that matches ``wanted``, or one that nearly does."""
    roll = rng.random()
    if roll < 0.6:
        return json.dumps(wanted)
    if roll < 0.8 and wanted:
        return wanted  # as a bare token: matches when it is a JSON literal or number (epoch=1, train=true)
    return json_scalar(rng)


def jsonl_log(rng: random.Random, step_key: str, metric: str, record_filter: tuple[str, str] | None) -> bytes:
    """A JSON-lines log whose records mostly carry the spec's step, metric and filter fields."""
    lines: list[str] = []
    extras = rng.sample(KEYS, k=rng.randint(0, 4))
    for step, value in curve(rng):
        roll = rng.random()
        if roll < 0.75:
            items = [(json_string(rng, step_key), str(step) if rng.random() < 0.9 else json_scalar(rng))]
            if rng.random() < 0.95:
                items.append((json_string(rng, metric), float_text(rng, value)))
            if record_filter is not None and rng.random() < 0.9:
                items.append((json_string(rng, record_filter[0]), _filter_token(rng, record_filter[1])))
            items += [(json_string(rng, key), json_value(rng)) for key in extras if rng.random() < 0.7]
            if rng.random() < 0.3:
                rng.shuffle(items)
            if rng.random() < 0.03 and items:
                items.append(rng.choice(items[:2]) if rng.random() < 0.5 else (items[0][0], json_scalar(rng)))
            lines.append(json_object(rng, items))
        elif roll < 0.85:
            lines.append(json_object(rng, [(json_string(rng, rng.choice(KEYS)), json_value(rng))]))
        elif roll < 0.9:
            lines.append(rng.choice(("", " ", "\t", "  \t ")))
        elif roll < 0.95:
            lines.append(json_value(rng, 1))  # JSON, but not an object
        else:
            lines.append(hostile_text(rng, 30).replace("\n", " "))
    eol = rng.choice(("\n", "\n", "\n", "\r\n", "\r"))
    text = eol.join(lines) + (eol if rng.random() < 0.85 else "")
    if rng.random() < 0.03:
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


# --- Hugging Face trainer_state.json ----------------------------------------------------------

_STATE_EXTRAS = ("epoch", "learning_rate", "grad_norm", "eval_loss", "eval_runtime", "train_loss", "total_flos", "x")


def trainer_state_doc(rng: random.Random, metric: str) -> bytes:
    """A trainer_state.json: a log_history of entries holding step and (mostly) the metric."""
    indent = "  " if rng.random() < 0.5 else ""
    entries = []
    for step, value in curve(rng):
        roll = rng.random()
        if roll < 0.8:
            items = [(json_string(rng, "step"), str(step) if rng.random() < 0.9 else json_scalar(rng))]
            if rng.random() < 0.85:
                items.append((json_string(rng, metric), float_text(rng, value)))
            for key in rng.sample(_STATE_EXTRAS, k=rng.randint(0, 3)):
                items.append((json_string(rng, key), json_value(rng, 2)))
            if rng.random() < 0.4:
                rng.shuffle(items)
            if rng.random() < 0.02:
                items.append((json_string(rng, rng.choice(("step", metric))), json_scalar(rng)))
            entries.append(json_object(rng, items, indent + "    " if indent else ""))
        else:
            entries.append(json_value(rng, 1))
    sep = ",\n    " if indent else rng.choice((",", ", "))
    history = "[" + ("\n    " if indent else "") + sep.join(entries) + ("\n  " if indent else "") + "]"
    top: list[tuple[str, str]] = []
    roll = rng.random()
    if roll < 0.9:
        top.append(('"log_history"', history))
    elif roll < 0.95:
        top.append(('"log_history"', json_value(rng, 2)))  # not a list
    if rng.random() < 0.8:
        top.append(('"global_step"', str(rng.randint(0, 10_000)) if rng.random() < 0.8 else json_scalar(rng)))
    for key in rng.sample(("best_metric", "epoch", "max_steps", "trial_params", "stateful_callbacks"), k=2):
        top.append((json.dumps(key), json_value(rng, 1)))
    if rng.random() < 0.03:
        top.append(('"log_history"', history))  # the key twice: json.loads keeps the last
    rng.shuffle(top)
    text = _pretty_object(top) if indent else json_object(rng, top)
    if rng.random() < 0.05:
        text = json_value(rng, 1)  # not an object at all
    return (text + ("\n" if rng.random() < 0.8 else "")).encode("utf-8", "surrogatepass")


def _pretty_object(items: Sequence[tuple[str, str]]) -> str:
    return "{\n" + ",\n".join(f"  {key}: {value}" for key, value in items) + "\n}"


def checkpoint_folder(rng: random.Random) -> str:
    return rng.choice(("", "", "checkpoint-500/", "checkpoint-1000/", "checkpoint-0/", "checkpoint-01/", "ckpt/"))


# --- TensorBoard event files ------------------------------------------------------------------


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C (Castagnoli), rotated and offset."""
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes, rng: random.Random | None = None) -> bytes:
    """One record: length, its checksum, data, its checksum; with ``rng``, sometimes damaged framing."""
    length = struct.pack("<Q", len(data))
    length_crc, data_crc = masked_crc32c(length), masked_crc32c(data)
    if rng is not None and rng.random() < 0.06:
        roll = rng.random()
        if roll < 0.35:
            data_crc ^= 1 << rng.randrange(32)
        elif roll < 0.55:
            length_crc ^= 1 << rng.randrange(32)
        elif roll < 0.8:  # a length beyond the file, with a valid checksum
            length = struct.pack("<Q", rng.choice((len(data) + 1, 2**31, 2**63, 2**64 - 1)))
            length_crc = masked_crc32c(length)
        else:
            return (length + struct.pack("<I", length_crc) + data)[: rng.randint(0, 12 + len(data))]
    return length + struct.pack("<I", length_crc) + data + struct.pack("<I", data_crc)


def varint(value: int, rng: random.Random | None = None) -> bytes:
    if 0 <= value < 0x80 and rng is None:
        return bytes((value,))
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            break
        out.append(byte | 0x80)
    if rng is not None and rng.random() < 0.02:  # an over-long spelling: valid up to 10 bytes, 11 is not
        size = rng.randint(len(out) + 1, 11)
        out[-1] |= 0x80
        out += b"\x80" * (size - len(out) - 1) + b"\x00"
    return bytes(out)


class Proto:
    """Encodes protocol-buffer fields, now and then with an unknown field or a wrong wire type."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.odd = rng if rng.random() < 0.1 else None  # over-long varints in this message, now and then

    def key(self, number: int, wire: int) -> bytes:
        return varint(number << 3 | wire, self.odd)

    def uint(self, number: int, value: int) -> bytes:
        return self.key(number, 0) + varint(value, self.odd)

    def fixed32(self, number: int, raw: bytes) -> bytes:
        return self.key(number, 5) + raw

    def fixed64(self, number: int, raw: bytes) -> bytes:
        return self.key(number, 1) + raw

    def message(self, number: int, body: bytes) -> bytes:
        return self.key(number, 2) + varint(len(body), self.odd) + body

    def noise(self) -> bytes:
        """An unknown field of any wire type, a group, or a malformed key (rarely)."""
        rng = self.rng
        number = rng.choice((11, 12, 15, 99, 536870911))
        roll = rng.random()
        if roll < 0.3:
            return self.uint(number, rng.getrandbits(64))
        if roll < 0.5:
            return self.message(number, rng.randbytes(rng.randint(0, 8)))
        if roll < 0.65:
            return self.fixed32(number, rng.randbytes(4))
        if roll < 0.8:
            return self.fixed64(number, rng.randbytes(8))
        if roll < 0.9:
            return self.key(number, 3) + self.key(number, 4)  # a group: not read
        return rng.choice((b"\x00", b"\x07", b"\x80", b"\xff" * 11))

    def fields(self, parts: list[bytes]) -> bytes:
        rng = self.rng
        if rng.random() < 0.1:
            parts.insert(rng.randint(0, len(parts)), self.noise())
        if rng.random() < 0.15:
            rng.shuffle(parts)
        return b"".join(parts)


_F32_SPECIAL = (0x7FC00000, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF, 0xFFFFFFFF, 0x7F800001)
_F64_SPECIAL = (0x7FF8000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x8000000000000000, 1, 0x7FEFFFFFFFFFFFFF)
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_BFLOAT16, DT_HALF = 1, 2, 3, 9, 14, 19


def _f32_bits(rng: random.Random, value: float) -> int:
    if rng.random() < 0.05:
        return rng.choice((*_F32_SPECIAL, rng.getrandbits(32)))
    try:
        return int.from_bytes(struct.pack("<f", value), "little")
    except OverflowError:
        return 0x7F800000


def _tensor(rng: random.Random, value: float) -> bytes:
    pb = Proto(rng)
    dtype = rng.choice((DT_FLOAT, DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_BFLOAT16, DT_HALF, 0, 7, 2**32 + 1))
    parts = [pb.uint(1, dtype)] if dtype or rng.random() < 0.5 else []
    shape_roll = rng.random()
    if shape_roll < 0.6:
        parts.append(pb.message(2, b""))
    elif shape_roll < 0.8:
        dims = b"".join(
            pb.message(2, pb.uint(1, rng.choice((1, 1, 0, 2, 2**64 - 1)))) for _ in range(rng.randint(1, 2))
        )
        parts.append(pb.message(2, dims))
    elif shape_roll < 0.85:
        parts.append(pb.message(2, pb.uint(3, 1)))  # unknown rank
    bits32 = _f32_bits(rng, value)
    content_roll = rng.random()
    if content_roll < 0.25:
        size = {DT_DOUBLE: 8, DT_INT64: 8, DT_BFLOAT16: 2, DT_HALF: 2}.get(dtype, 4)
        if rng.random() < 0.1:
            size = rng.choice((0, 1, 3, 16))
        raw = struct.pack("<d", value) if size == 8 else bits32.to_bytes(4, "little")
        parts.append(pb.message(4, (raw * 2)[:size]))
    else:
        count = rng.choice((1, 1, 1, 0, 2))
        field_number = {DT_DOUBLE: 6, DT_INT32: 7, DT_INT64: 10, DT_BFLOAT16: 13, DT_HALF: 13}.get(dtype, 5)
        if rng.random() < 0.05:
            field_number = rng.choice((5, 6, 7, 10, 13))
        if field_number == 5:
            items = [bits32.to_bytes(4, "little")] * count
            element = b"".join(items)
            unit = [pb.fixed32(5, item) for item in items]
        elif field_number == 6:
            bits = rng.choice(_F64_SPECIAL) if rng.random() < 0.05 else None
            raw = bits.to_bytes(8, "little") if bits is not None else struct.pack("<d", value)
            element = raw * count
            unit = [pb.fixed64(6, raw)] * count
        else:
            whole = int(value) if math.isfinite(value) else 0
            numbers = [rng.choice((whole, -1, 2**63, bits32 >> 16, rng.getrandbits(64)))] * count
            element = b"".join(varint(x) for x in numbers)
            unit = [pb.uint(field_number, x) for x in numbers]
        parts += [pb.message(field_number, element)] if rng.random() < 0.5 else unit
    return pb.fields(parts)


def _summary_value(rng: random.Random, tag: bytes, value: float) -> bytes:
    pb = Proto(rng)
    parts = [pb.message(1, tag)]
    roll = rng.random()
    if roll < 0.6:
        parts.append(pb.fixed32(2, _f32_bits(rng, value).to_bytes(4, "little")))
    elif roll < 0.9:
        parts.append(pb.message(8, _tensor(rng, value)))
    else:
        parts.append(pb.message(rng.choice((3, 4, 5, 6)), rng.randbytes(rng.randint(0, 12))))
    if rng.random() < 0.3:
        parts.append(pb.message(9, pb.message(1, pb.message(1, b"scalars"))))
    if rng.random() < 0.05:
        parts.append(pb.message(1, rng.choice((b"other", b"\xff\xfe", b""))))  # the tag again
    return pb.fields(parts)


TB_TAGS: tuple[bytes, ...] = (
    b"loss",
    b"loss",
    b"train/loss",
    b"Loss/train",
    b"train_loss_step",
    b"LOSS",
    b"train/lr",
    b"val/loss",
    b"",
    b"\xff\xfeloss",
    b"\xed\xa0\x80",
    b"loss\x00",
    "t\u00e4g/::error::x".encode(),
    b"a" * 300,
)


def tf_event(rng: random.Random, step: int, scalars: Sequence[tuple[bytes, float]]) -> bytes:
    pb = Proto(rng)
    parts = []
    if rng.random() < 0.7:
        parts.append(pb.fixed64(1, struct.pack("<d", 1.7e9 + rng.random())))
    if rng.random() < 0.95:
        parts.append(pb.uint(2, step))
    summary = b"".join(pb.message(1, _summary_value(rng, tag, value)) for tag, value in scalars)
    parts.append(pb.message(5, summary))
    if rng.random() < 0.03:  # another member of the oneof after the summary replaces it
        parts.append(pb.message(rng.choice((3, 4, 6, 7)), b"x"))
    return pb.fields(parts)


def event_file(rng: random.Random, tags: Sequence[bytes] | None = None) -> bytes:
    """An event file: the file_version record, then events holding scalars of a few tags."""
    pb = Proto(rng)
    chosen = list(tags) if tags is not None else rng.sample(TB_TAGS, k=rng.randint(1, 4))
    records = []
    if rng.random() < 0.9:
        records.append(tfrecord(pb.fixed64(1, struct.pack("<d", 1.7e9)) + pb.message(3, b"brain.Event:2")))
    damage = rng.random() < 0.4
    for step, value in curve(rng, rng.choice((0, 1, 2, 3, 5, 10, 20, 40))):
        count = rng.choice((1, 1, 1, 2, 3))
        scalars = [(rng.choice(chosen), value) for _ in range(count)]
        data = tf_event(rng, step, scalars)
        if damage and rng.random() < 0.05:
            data = bytes(rng.randrange(256) if rng.random() < 0.1 else b for b in data)
        records.append(tfrecord(data, rng if damage else None))
    return b"".join(records)


# --- CSV (Lightning, Keras) -------------------------------------------------------------------

CSV_COLUMNS = (
    "epoch",
    "step",
    "loss",
    "train_loss",
    "train_loss_step",
    "train_loss_epoch",
    "val_loss",
    "lr-SGD",
    "train/loss",
    "Loss",
    "created_at",
    "acc",
    " step",
    "Step",
    "EPOCH",
    "",
    "NA",
    "a,b",
    'q"uote',
    "\u00fc",
)


def _csv_cell(rng: random.Random, text: str, delimiter: str) -> str:
    if delimiter in text or '"' in text or "\n" in text or "\r" in text or rng.random() < 0.03:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_log(rng: random.Random, step_key: str, metric: str) -> bytes:
    """A CSV log: a header with a step (or epoch) column and a metric column, then sparse rows."""
    delimiter = rng.choice((",", ",", ",", ";", "\t"))
    columns = list(dict.fromkeys(rng.sample(CSV_COLUMNS, k=rng.randint(1, 5))))
    if rng.random() < 0.85:
        columns.insert(rng.randint(0, len(columns)), rng.choice((step_key, "step", "epoch")))
    if rng.random() < 0.85:
        columns.insert(rng.randint(0, len(columns)), rng.choice((metric, "train_loss_step", "train/loss")))
    if rng.random() < 0.5:
        columns = sorted(columns)
    eol = rng.choice(("\n", "\n", "\r\n", "\r"))

    def row(cells: Sequence[str]) -> str:
        return delimiter.join(_csv_cell(rng, cell, delimiter) for cell in cells)

    lines = [row(columns)]
    sparse = rng.random() < 0.5
    for step, value in curve(rng):
        roll = rng.random()
        cells = []
        for name in columns:
            low = name.strip().casefold()
            if low in ("step", "epoch", step_key.casefold()):
                cells.append(str(step) if rng.random() < 0.93 else rng.choice((f"{step}.0", "1e3", "", number(rng))))
            elif sparse and rng.random() < 0.4:
                cells.append(rng.choice(("", "NA")))
            else:
                cells.append(float_text(rng, value))
        if roll < 0.03:
            cells.append("extra")  # a row of another width
        elif roll < 0.05 and cells:
            cells.pop()
        if roll > 0.98:
            lines.append(row(columns))  # the header again
        elif roll > 0.96:
            lines.append("")
        else:
            lines.append(row(cells))
    text = eol.join(lines) + (eol if rng.random() < 0.9 else "")
    if rng.random() < 0.05:
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


# --- MLflow file store ------------------------------------------------------------------------

MLFLOW_KEYS = (
    "loss",
    "train/loss",
    "train_loss",
    "val_loss",
    "Loss",
    "train/loss_step",
    "rollout/ep_rew_mean",
    "time/total timesteps",
    "loss.1",
    "\u00fc/\u00e9",
    "::error::x",
    "a%0Ab",
)


def mlflow_metric(rng: random.Random) -> bytes:
    """A metric file: ``<timestamp> <value> <step>`` lines, now and then two or five fields."""
    stamp = rng.choice((1615322768702, 0, 1700000000000))
    shape = rng.choice((3, 3, 3, 3, 2, 5, 0))
    lines = []
    for step, value in curve(rng):
        fields = shape or rng.choice((2, 3, 5, 1, 4, 6))
        stamp += rng.randint(0, 5000)
        parts = [str(stamp) if rng.random() < 0.97 else number(rng), float_text(rng, value)]
        if fields >= 3:
            parts.append(str(step) if rng.random() < 0.95 else number(rng))
        if fields == 5:
            parts += [rng.choice(("train", "eval", "ds::x", "d\u00e9")), rng.choice(("abc123", "0" * 8))]
        parts = parts[:fields] if fields < 3 else parts + ["x"] * (fields - len(parts))
        sep = " " if rng.random() < 0.97 else rng.choice(("  ", "\t", " \x00"))
        line = sep.join(parts)
        if rng.random() < 0.03:
            line = rng.choice(("", " ", line + " ", " " + line))
        lines.append(line)
    eol = rng.choice(("\n", "\n", "\n", "\r\n", "\r"))
    return (eol.join(lines) + (eol if lines and rng.random() < 0.95 else "")).encode("utf-8", "surrogatepass")


def mlflow_meta(rng: random.Random) -> bytes:
    """A run's meta.yaml, its run_name anything from a plain name to hostile YAML."""
    name_roll = rng.random()
    if name_roll < 0.4:
        name = rng.choice(("bright-fox-42", "qb", "run 1", "", "~", "null", "123", "1.5", "true"))
    elif name_roll < 0.7:
        name = json.dumps(hostile_text(rng))  # a double-quoted YAML string
    elif name_roll < 0.85:
        name = rng.choice(("[1, 2]", "{a: b}", "&a x", "*a", "!!binary aGk=", "!!timestamp 2020-01-01", "|\n  a\n  b"))
    else:
        name = yaml_scalar(rng)
    lines = [
        "artifact_uri: file:///mlruns/1/abc/artifacts",
        "end_time: 1615364152677",
        f"run_name: {name}",
        "run_id: 7295b327b4d642a2b8634e1a21cfca72",
        "status: 3",
    ]
    rng.shuffle(lines)
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.01:
        text = "run_name: " + "[" * rng.choice((100, 600)) + "\n"
    return text.encode("utf-8", "surrogatepass")


# --- YAML configs -----------------------------------------------------------------------------

YAML_OPENERS = 700


def calm_yaml(data: bytes, limit: int = YAML_OPENERS) -> bytes:
    """``data`` cut before its ``limit``-th ``[`` or ``{``. PyYAML's scanner is super-linear in the
    nesting of flow collections (about a second for a few thousand levels, where its composer hits
    the recursion limit); 700 levels still reach that limit in the config loader, in a few tenths
    of a second, which keeps YAML inputs within the time limit."""
    if data.count(b"[") + data.count(b"{") < limit:
        return data
    seen = 0
    for at, byte in enumerate(data):
        if byte in b"[{":
            seen += 1
            if seen == limit:
                return data[:at]
    return data


_YAML_SCALARS = (
    "0.5",
    "1",
    "10",
    "-1",
    "0",
    "2",
    "1000",
    "1001",
    "5%",
    "off",
    "Off",
    "0.02",
    "1e3",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "1_000",
    "1:30",
    "2020-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "yes",
    "no",
    "on",
    "true",
    "false",
    "~",
    "null",
    "",
    "''",
    '""',
    "'it''s'",
    '"\\x00"',
    '"\\u2028"',
    '"\\N\\_\\L\\P\\e"',
    '"a\\nb"',
    "robust",
    "seed",
    "warn",
    "error",
    "never",
    "ignore",
    "auto",
    "dlm",
    "csv",
    "type=step",
    "=x",
    "loss",
    "train/loss",
    "!!int 5",
    "!!int abc",
    "!!int 0x_",
    "!!float abc",
    "!!float .",
    "!!bool maybe",
    "!!null x",
    "!!str 5",
    "!!binary aGVsbG8=",
    "!!binary '%%%'",
    "!!timestamp nope",
    "!!timestamp 2020-13-45",
    "!!set {a: null}",
    "!!set x",
    "!!omap x",
    "!!python/object:os.system x",
    "!!python/name:os.system ''",
    "!custom x",
    "!<tag:yaml.org,2002:int> 7",
    "&a 5",
    "*a",
    "*undefined",
    "|\n  multi\n  line",
    ">-\n  folded\n  text",
    "[1, 2]",
    "{a: 1}",
    "? complex",
    "@reserved",
    "`reserved",
    "%",
    "- item",
)


def yaml_scalar(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(_YAML_SCALARS)
    if roll < 0.8:
        return number(rng)
    if roll < 0.9:
        return json.dumps(hostile_text(rng))
    return hostile_text(rng, 20).replace("\n", " ")


def config_yaml(rng: random.Random, names: Sequence[str]) -> bytes:
    """A config file: known settings (kebab or snake case), unknown ones, per-run overrides."""

    def key() -> str:
        roll = rng.random()
        if roll < 0.75:
            name = rng.choice(names)
            return name.replace("-", "_") if rng.random() < 0.3 else name
        if roll < 0.85:
            return rng.choice(("path", "config", "min_smothness", "overrides", "github-token", "report-path"))
        return yaml_scalar(rng) if rng.random() < 0.5 else json.dumps(hostile_text(rng, 12))

    def entries(indent: str, count: int) -> list[str]:
        out = []
        for _ in range(count):
            value = yaml_scalar(rng)
            if "\n" in value:
                value = value.replace("\n", "\n" + indent + "  ")
            out.append(f"{indent}{key()}: {value}")
        return out

    lines: list[str] = []
    if rng.random() < 0.05:
        lines.append(rng.choice(("%YAML 1.1", "%TAG ! tag:x,2000:", "%YAML 2.0")))
        lines.append("---")
    lines += entries("", rng.randint(0, 6))
    if rng.random() < 0.4:
        lines.append("overrides:" if rng.random() < 0.9 else f"overrides: {yaml_scalar(rng)}")
        for _ in range(rng.randint(0, 3)):
            pattern = rng.choice(("runs/*", '"runs/noisy-*"', "'*'", "[a]", json.dumps(hostile_text(rng, 10)), "~"))
            lines.append(f"  {pattern}:")
            lines += entries("    ", rng.randint(0, 3))
    if rng.random() < 0.1:
        rng.shuffle(lines)
    if rng.random() < 0.05:
        lines.append(rng.choice(("---", "...", "--- x", "# comment", "\t- tab")))
    if rng.random() < 0.02:
        depth = rng.choice((10, 200, 600))
        lines.append(f"{key()}: " + "[" * depth + "]" * depth)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


# --- clean logs for end-to-end runs -----------------------------------------------------------


def clean_logs(rng: random.Random, fmt: str, points: Sequence[tuple[int, float]]) -> list[tuple[str, bytes]]:
    """A well-formed run of ``fmt`` for ``points``: (path relative to the run folder, bytes)."""

    def num(value: float) -> str:
        return repr(value) if math.isfinite(value) else "NaN"

    if fmt == "dlm":
        body = "".join(json.dumps({"type": "step", "step": s, "loss": v}) + "\n" for s, v in points)
        return [("logs/train-000001-20260301T100000.jsonl", body.encode())]
    if fmt == "jsonl":
        body = "".join(json.dumps({"step": s, "loss": v}) + "\n" for s, v in points)
        return [("train_log.jsonl", body.encode())]
    if fmt == "trainer-state":
        history = ",".join(f'{{"step": {s}, "loss": {num(v)}}}' for s, v in points)
        doc = f'{{"global_step": {points[-1][0] if points else 0}, "log_history": [{history}]}}\n'
        return [("trainer_state.json", doc.encode())]
    if fmt == "tensorboard":
        pb = Proto(random.Random(0))
        head = tfrecord(pb.fixed64(1, struct.pack("<d", 1.7e9)) + pb.message(3, b"brain.Event:2"))
        events = b"".join(
            tfrecord(pb.uint(2, s) + pb.message(5, pb.message(1, pb.message(1, b"train/loss") + _f32(v))))
            for s, v in points
        )
        return [("events.out.tfevents.1700000000.host", head + events)]
    if fmt == "csv":
        body = "epoch,step,train_loss_step\n" + "".join(f"0,{s},{num(v)}\n" for s, v in points)
        return [("metrics.csv", body.encode())]
    if fmt.startswith("text"):
        body = "".join(f"step {s:4d}/{len(points)} | loss {num(v)} (+nanz)| norm 1.0\n" for s, v in points)
        return [("slurm-7.out", ("config dump\nval loss 3.0\n" + body).encode())]
    if fmt == "wandb":
        records = [
            _wandb_field(
                2,
                _wandb_field(1, _wandb_field(2, b"train/loss") + _wandb_field(16, num(v).encode()))
                + _wandb_field(1, _wandb_field(2, b"_step") + _wandb_field(16, str(s).encode())),
            )
            for s, v in points
        ]
        return [("run-abc.wandb", wandb_frame(records))]
    body = "".join(f"{1700000000000 + i} {num(v)} {s}\n" for i, (s, v) in enumerate(points))
    return [("meta.yaml", b"run_name: fuzz\n"), ("metrics/train/loss", body.encode())]


def _f32(value: float) -> bytes:
    try:
        raw = struct.pack("<f", value)
    except OverflowError:
        raw = struct.pack("<f", math.inf)
    return b"\x15" + raw  # field 2, wire type 5: simple_value


Generator = Callable[[random.Random], bytes]


# --- console text logs --------------------------------------------------------------------------

_CONSOLE_LINES = (
    "step {s:4d}/{n} | loss {v} (+nanz)| norm 1.2 (+nanz)| lr 6.00e-04 | 12.3 ms",
    "step {s}: train loss {v} (took 12.5 ms)",
    "step:{s}/{n} train_loss:{v} train_time:{s}ms step_avg:nanms",
    "step:{s}/{n} val_loss:{v} train_time:1ms",
    "s:{s} trl:{v} lr:0.0018",
    "s:{s} tel:{v}",
    "INFO\t[step={s}/{n},epoch=0]",
    "    train/CrossEntropyLoss={v}",
    "    train/Perplexity=83,461",
    "[11/17 15:16:42] d2.utils.events INFO:  eta: 0:01:00  iter: {s}  total_loss: {v}  loss_cls: 0.2",
    "epoch: 0|step: {s}|ppo_ep: 1|act_loss: {v}|cri_loss: 0.1|unsuper_loss: 0.0",
    "INFO ts/train.py:1 step:{k} smpl:{k} ep:1 epch:0.1 loss:{v} grdn:1.0",
    "iter {s}: loss {v}, time 12.34ms, mfu 30.00%",
    "step {s}: train loss {v}, val loss {v}",
    "{{'loss': {v}, 'grad_norm': 1.9, 'learning_rate': 4.9e-05, 'epoch': 0.3}}",
    "{{'eval_loss': {v}, 'epoch': 0.3}}",
    "Epoch {s}/{n}",
    "{s}/{n} [==============================] - 5s 3ms/step - loss: {v} - val_loss: {v}",
    "Epoch 0:  45%|████▌     | {s}/{n} [00:10<00:12,  4.50it/s, loss={v}, v_num=0]",
    "Traceback (most recent call last):",
    "    # Avoid Inf/NaN error",
    "val loss {v}",
)


def _console_value(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return float_text(rng, rng.uniform(-5, 20))
    return rng.choice(("nan", "inf", "-inf", "NaN", "nanz", "1e400", "-0.0", "1.", ".5", "1e-3", "x", "", "1,234.5"))


def _console_step(rng: random.Random, s: int) -> str:
    roll = rng.random()
    if roll < 0.85:
        return str(s)
    return rng.choice((f"{s}K", f"{s / 10:.1f}M", "99999999999999999999", "-1", f"{s:,}", "0"))


def console_log(rng: random.Random) -> bytes:
    """A console log: training lines of one or several trainers, noise, redraws and damage."""
    templates = rng.sample(_CONSOLE_LINES, rng.randint(1, 4))
    n = rng.randint(1, 60)
    lines: list[str] = []
    for s in range(rng.choice((0, 1)), n + 1):
        if rng.random() < 0.05:
            s = rng.randint(0, n)  # a resumed or restarted counter
        template = rng.choice(templates)
        value = _console_value(rng)
        lines.append(template.format(s=s, n=n, v=value, k=_console_step(rng, s)))
        if rng.random() < 0.1:
            lines.append(hostile_text(rng, 30))
    ends = rng.choice(("\n", "\r\n", "\r"))
    text = ends.join(lines) + (ends if rng.random() < 0.8 else "")
    if rng.random() < 0.1:
        text = text.replace("step", "\x1b[1;32mstep\x1b[0m")
    roll = rng.random()
    if roll < 0.08:
        return b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")
    if roll < 0.12:
        return b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass")
    data = text.encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" + data) if roll < 0.18 else data


# Fixed expressions the pattern target reads hostile logs with: one line, several lines, dot-all.
TEXT_PATTERNS = (
    r"step (?P<step>\S+) loss (?P<value>\S+)",
    r"(?m)^== (?P<step>[0-9.,]+[KM]?)\n(?:[^=\n][^\n]*\n)*?loss=(?P<value>[^ \n]+)",
    r"(?s)it=(?P<step>\d+).*?v=(?P<value>[-+.\deEnaif]+)",
    # line-shaped (drift/readers/lineshape.py): matched one line at a time by the native scanner
    r"(?m)^step (?P<step>\S+) loss (?P<value>\S+)$",
    r"(?m)^(?:== )?(?P<step>[0-9.,]*[KM]?)\b[^\n]*?(?:loss|v)=(?P<value>[^ \n]*)",
)


def pattern_log(rng: random.Random) -> bytes:
    """Lines for the fixed patterns above, mixed with hostile text and long runs of near-matches."""
    parts: list[str] = []
    for s in range(rng.randint(0, 40)):
        roll = rng.random()
        value = _console_value(rng)
        if roll < 0.3:
            parts.append(f"step {_console_step(rng, s)} loss {value}")
        elif roll < 0.55:
            parts.append(f"== {_console_step(rng, s)}\n" + "noise\n" * rng.randint(0, 3) + f"loss={value}")
        elif roll < 0.75:
            parts.append(f"it={s} " + "x" * rng.randint(0, 50) + f" v={value}")
        elif roll < 0.85:
            parts.append(rng.choice(("a" * 500, "step " * 200, "== " * 100, "it=1 " * 100)))
        else:
            parts.append(hostile_text(rng, 40))
    text = "\n".join(parts) + ("\n" if rng.random() < 0.7 else "")
    return text.encode("utf-8", "surrogatepass")


# --- W&B run files ----------------------------------------------------------------------------


def _wandb_varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _wandb_field(number: int, payload: bytes) -> bytes:
    return _wandb_varint(number << 3 | 2) + _wandb_varint(len(payload)) + payload


def _wandb_item(rng: random.Random, key: str, value: float | int | str) -> bytes:
    name = key.encode("utf-8", "surrogatepass")
    head = _wandb_field(1, name) if rng.random() < 0.3 else _wandb_field(2, name)
    roll = rng.random()
    if isinstance(value, str):
        return head + _wandb_field(16, value.encode("utf-8", "surrogatepass"))
    if roll < 0.15:  # newer writers: the value natively
        if isinstance(value, int):
            return head + _wandb_varint(5 << 3) + _wandb_varint(value)
        return head + _wandb_varint(6 << 3 | 1) + struct.pack("<d", value)
    text = json.dumps(value) if rng.random() < 0.9 else number(rng)
    return head + _wandb_field(16, text.encode())


def wandb_file(rng: random.Random) -> bytes:
    """A ``.wandb`` file: the header, a run record, history records of a curve under W&B's framing
    (32 KiB blocks, records split into FIRST/MIDDLE/LAST chunks), and some records of other kinds."""
    metric = rng.choice((*METRICS, "train/loss", "loss"))
    records = [
        _wandb_field(17, _wandb_field(1, b"abc123") + _wandb_field(8, hostile_text(rng, 20).encode("utf-8", "replace")))
    ]
    for step, value in curve(rng):
        items = [
            _wandb_item(rng, metric, value if math.isfinite(value) else rng.choice(("NaN", "Infinity", "-Infinity")))
        ]
        if rng.random() < 0.9:
            items.append(_wandb_item(rng, "_step", step))
        if rng.random() < 0.3:
            items.append(_wandb_item(rng, rng.choice(("lr", "_runtime", hostile_text(rng, 8))), rng.random()))
        rng.shuffle(items)
        history = b"".join(_wandb_field(1, item) for item in items)
        if rng.random() < 0.2:
            history += _wandb_field(2, _wandb_varint(1 << 3) + _wandb_varint(step))
        records.append(_wandb_varint(1 << 3) + _wandb_varint(len(records)) + _wandb_field(2, history))
        if rng.random() < 0.1:
            records.append(_wandb_field(rng.choice((3, 4, 5, 13, 100)), rng.randbytes(rng.randint(0, 300))))
    if rng.random() < 0.1:
        records.append(_wandb_field(17, b"x" * rng.randint(30_000, 70_000)))  # a record over a block
    return wandb_frame(records, block=rng.choice((32768, 32768, 32768, 64)))


def wandb_frame(records: Sequence[bytes], block: int = 32768) -> bytes:
    out = bytearray(b":W&B\xe1\xbe\x00")
    for record in records:
        rest, first = record, True
        while True:
            room = 32768 - len(out) % 32768
            if room < 7:
                out += b"\0" * room
                room = 32768
            take = min(len(rest), room - 7, block)
            last = take == len(rest)
            kind = 1 if first and last else 2 if first else 4 if last else 3
            chunk = rest[:take]
            out += struct.pack("<IHB", zlib.crc32(bytes([kind]) + chunk), len(chunk), kind) + chunk
            rest, first = rest[take:], False
            if last:
                break
    return bytes(out)
