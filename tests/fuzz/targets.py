"""What each input is fed to, and what must hold.

Readers (``dlm``, ``jsonl``, ``trainer-state``, ``tensorboard``, ``csv``, ``mlflow``, ``text``, and
``text-pattern``: hostile console logs read with a fixed ``pattern``): only
``LogError`` may escape; the curve is consistent (steps strictly increasing int64, float64 values
with no NaN and +inf the only non-finite, per-point arrays of one length, positions inside the
files); the compiled fast path, the pure-Python reference (``fast=False``) and the fast path with
tiny chunk and buffer sizes give the same result.

``config``: ``load_config_file`` and ``build_settings`` raise only ``ConfigError``, with a one-line
message. ``commands``: whatever the strings, the runner sees exactly the commands written, with
every property and message intact, and nothing from inside an ``untrusted`` block.
``outputs``: ``format_outputs`` accepts plain names, refuses names with line breaks, and either refuses
any other name or writes a file that reads back exactly.
``e2e``: ``drift.app.run`` on a random workspace exits 0, 1 or 2, writes only our commands, a
valid output file and a summary under 1 MiB without foreign HTML.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import random
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from drift import ghactions
from drift.curve import Curve
from drift.errors import ConfigError, LogError
from drift.readers import csvlog, jsonl, read, tensorboard, text, trainer_state, wandbrun
from drift.readers.common import LogFile, ReadSpec
from tests.conftest import parse_output_file, workflow_commands
from tests.fuzz import formats
from tests.fuzz.corpus import Corpus, cap
from tests.fuzz.engine import Case, Target, Violation
from tests.fuzz.mutate import hostile_text, mutate

READERS = ("dlm", "jsonl", "trainer-state", "tensorboard", "csv", "mlflow", "wandb", "text", "text-pattern")
UNITS = {"trainer-state": "entry", "tensorboard": "record", "wandb": "record"}


def short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --- readers ----------------------------------------------------------------------------------

# Module constants that size chunks, buffers and batches; a reading must not depend on them.
LIMITS: dict[str, tuple[tuple[Any, str, tuple[int, ...]], ...]] = {
    "dlm": ((jsonl, "CHUNK_BYTES", (1, 2, 7, 64, 1000)), (jsonl, "_IN_FLIGHT", (0, 1, 3))),
    "jsonl": ((jsonl, "CHUNK_BYTES", (1, 2, 7, 64, 1000)), (jsonl, "_IN_FLIGHT", (0, 1, 3))),
    "trainer-state": ((trainer_state, "_MAX_DEFERRED", (0, 1, 2, 5)),),
    "tensorboard": (
        (tensorboard, "CHUNK_BYTES", (1, 13, 64, 4096)),
        (tensorboard, "VALUES_PER_CALL", (1, 2, 3)),
        (tensorboard, "TAGS_PER_CALL", (1, 2)),
    ),
    "csv": ((csvlog, "BLOCK_BYTES", (1, 7, 41, 4096)), (csvlog, "PIECE_BYTES", (1, 16, 64))),
    "mlflow": ((csvlog, "BLOCK_BYTES", (1, 7, 41, 4096)), (csvlog, "PIECE_BYTES", (1, 16, 64))),
    # The recognisers match within a line, so any overlap will do; a pattern spanning lines needs
    # the overlap to hold its longest match, which the default's 64 KiB does for these inputs.
    # _SCAN_CAP: matches per call of the native scanner, so that calls resume mid-block.
    "text": (
        (text, "BLOCK_BYTES", (1, 7, 64, 4096)),
        (text, "OVERLAP", (0, 1, 16, 300)),
        (text, "_SCAN_CAP", (1, 2, 7, 1 << 16)),
    ),
    "text-pattern": ((text, "BLOCK_BYTES", (1, 7, 64, 4096)), (text, "_SCAN_CAP", (1, 2, 7, 1 << 16))),
    "wandb": (
        (wandbrun, "CHUNK_BYTES", (wandbrun.BLOCK, 2 * wandbrun.BLOCK)),
        (wandbrun, "VALUES_PER_CALL", (1, 2, 3)),
        (wandbrun, "KEYS_PER_CALL", (1, 2)),
        (wandbrun, "KEY_BYTES_PER_CALL", (1, 7)),
        (wandbrun, "SPLIT_BYTES", (0, 1 << 40)),  # 0: any file over a block and a half in two parts
    ),
}
_BYTE_LIMITS = {"CHUNK_BYTES", "BLOCK_BYTES", "PIECE_BYTES"}


@contextlib.contextmanager
def limits(fmt: str, values: dict[str, int]) -> Iterator[None]:
    saved = []
    try:
        for module, name, _ in LIMITS[fmt]:
            if name in values:
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, values[name])
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


def _reference(fmt: str, files: Sequence[LogFile], spec: ReadSpec) -> Curve:
    """The pure-Python reading (``fast=False``), the reference the fast paths are held to."""
    if fmt.startswith("text"):
        return text.read_text(files, spec, fast=False)
    if fmt == "dlm":
        return jsonl.read_jsonl(files, replace(jsonl.DLM, metric=spec.metric), fast=False, format="dlm")
    if fmt == "jsonl":
        return jsonl.read_jsonl(files, spec, fast=False)
    if fmt == "trainer-state":
        return trainer_state.read_trainer_state(files, spec, fast=False)
    if fmt == "tensorboard":
        return tensorboard.read_tensorboard(files, spec, fast=False)
    if fmt == "csv":
        return csvlog.read_csv(files, spec, fast=False)
    if fmt == "wandb":
        return wandbrun.read_wandb(files, spec, fast=False)
    from drift.readers.mlflowstore import read_mlflow

    return read_mlflow(files, spec, fast=False)


Reading = Curve | tuple[str, str, str | None, int | None]


def reading(call: Callable[[], Curve], names: Sequence[str] = ()) -> Reading:
    """The curve, or the LogError as a comparable tuple. A message must be one line apart from the
    file names it quotes (a name may hold a line break; renderers escape it)."""
    try:
        return call()
    except LogError as exc:
        own = str(exc)
        for name in names:
            own = own.replace(name, "")
        if not str(exc) or "\n" in own or "\r" in own:
            raise Violation("LogError message is not one line", short(str(exc))) from None
        return ("LogError", str(exc), exc.file, exc.line)


_CURVE_FIELDS = tuple(f.name for f in fields(Curve))


def same(a: Reading, b: Reading, what: str) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        if a != b:
            raise Violation(f"{what}: error differs", f"{short(a)} vs {short(b)}")
        return
    for name in _CURVE_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        equal = np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        if not equal:
            raise Violation(f"{what}: {name} differs", f"{short(x)} vs {short(y)}")


def _bound(data: bytes, unit: str, fmt: str = "") -> int:
    """An upper bound on a position in a file of these bytes (a W&B record may be a bare 7-byte
    chunk header; a TFRecord takes 16 bytes of framing)."""
    if unit == "line":
        return data.count(b"\n") + data.count(b"\r") + 1
    return len(data) // ((7 if fmt == "wandb" else 16) if unit == "record" else 1) + 1


def check_curve(curve: Curve, fmt: str, sizes: dict[str, bytes]) -> None:
    """What every reader promises about a curve. ``sizes``: display name -> file bytes. A note must
    be one line apart from the file names it quotes."""
    n = curve.steps.size
    arrays = {"steps": curve.steps, "values": curve.values, "file_index": curve.file_index, "line": curve.line}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.ndim != 1 or array.size != n:
            raise Violation(f"curve: {name} is not a 1-d array of {n}", short(array))
    dtypes = (curve.steps.dtype, curve.values.dtype, curve.file_index.dtype)
    wanted = (np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.int32))
    if dtypes != wanted or curve.line.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise Violation("curve: wrong dtype", short((*dtypes, curve.line.dtype)))
    if n > 1 and not bool(np.all(curve.steps[1:] > curve.steps[:-1])):
        raise Violation("curve: steps not strictly increasing", short(curve.steps.tolist()))
    if bool(np.any(np.isnan(curve.values))) or bool(np.any(curve.values == -math.inf)):
        raise Violation("curve: NaN or -inf value", short(curve.values.tolist()))
    unit = UNITS.get(fmt, "line")
    if curve.unit != unit or curve.format != fmt:
        raise Violation("curve: wrong unit or format", short((curve.unit, curve.format)))
    if n and (int(curve.file_index.min()) < 0 or int(curve.file_index.max()) >= len(curve.files)):
        raise Violation("curve: file index out of range", short((curve.file_index.tolist(), curve.files)))
    low = 0 if unit == "entry" else 1
    for index, name in enumerate(curve.files):
        data = sizes.get(name)
        if data is None:
            raise Violation("curve: names a file it was not given", short(curve.files))
        at = curve.line[curve.file_index == index]
        if at.size and not (low <= int(at.min()) and int(at.max()) <= _bound(data, unit, fmt)):
            raise Violation("curve: position out of range", f"{name}: {int(at.min())}..{int(at.max())}")
    for name in ("skipped_lines", "ignored_records", "oversized_steps"):
        if not isinstance(getattr(curve, name), int) or getattr(curve, name) < 0:
            raise Violation(f"curve: {name} is not a count", short(getattr(curve, name)))
    first = curve.first_skipped
    if (first is None) != (curve.skipped_lines == 0):
        raise Violation("curve: first_skipped disagrees with skipped_lines", short((first, curve.skipped_lines)))
    if first is not None:
        if first.file not in sizes or first.unit != unit:
            raise Violation("curve: first_skipped names another file or unit", short(first))
        if first.line is not None and not low <= first.line <= _bound(sizes[first.file], unit, fmt):
            raise Violation("curve: first_skipped position out of range", short(first))
    for note in curve.notes:
        own = note
        for name in sizes:
            own = own.replace(name, "")
        if not isinstance(note, str) or "\n" in own or "\r" in own:
            raise Violation("curve: a note is not one line", short(note))
    if not all(isinstance(name, str) for name in curve.fields_seen) or not isinstance(curve.metric_name, str):
        raise Violation("curve: fields_seen or metric_name not text", short((curve.fields_seen, curve.metric_name)))


def _spec_text(rng: random.Random, pool: Sequence[str]) -> str:
    return rng.choice(pool) if rng.random() < 0.9 else hostile_text(rng, 12)


@dataclass
class ReaderTarget:
    """One log format's reader."""

    name: str
    corpus: Corpus
    weight: float = 1.0
    _written: dict[Path, None] = field(default_factory=dict)

    def generate(self, rng: random.Random) -> Case:
        fmt = self.name
        metric = _spec_text(rng, formats.METRICS)
        step_key = "step"
        record_filter: list[str] | None = None
        if fmt == "jsonl":
            step_key, metric, spec_filter = formats.jsonl_spec(rng)
            record_filter = list(spec_filter) if spec_filter else None
        elif fmt == "csv":
            step_key = _spec_text(rng, formats.STEP_KEYS)
        elif fmt.startswith("text"):
            metric = "loss" if rng.random() < 0.9 else _spec_text(rng, formats.METRICS)
        files = self._files(rng, metric, step_key, record_filter)
        case: Case = {"files": files, "metric": metric, "step_key": step_key, "filter": record_filter}
        if fmt == "text-pattern":
            case["pattern"] = rng.choice(formats.TEXT_PATTERNS)
        if fmt == "mlflow":
            case["meta"] = self._seeded(rng, "meta", formats.mlflow_meta) if rng.random() < 0.7 else None
            case["tag"] = rng.choice((b"qb\n", b"", b"\xff\x00name", b"a" * 300)) if rng.random() < 0.3 else None
        biggest = max((len(f["data"]) for f in files), default=0)
        chosen = {}
        for _, name, choices in LIMITS[fmt]:
            value = rng.choice(choices)
            # Tiny chunks on a big file cost quadratic time in the readers' carry-over: bounded here.
            chosen[name] = max(value, biggest // 8) if name in _BYTE_LIMITS else value
        case["limits"] = chosen
        return case

    def _seeded(self, rng: random.Random, kind: str, make: Callable[[random.Random], bytes]) -> bytes:
        """Generated (structure-aware) or a mutated seed, sometimes both."""
        seeds = self.corpus.pool(kind)
        roll = rng.random()
        if roll < 0.45 or not seeds:
            data = make(rng)
        else:
            data = rng.choice(seeds)
            if kind != "tensorboard" and rng.random() < 0.95:  # small inputs are fast inputs
                data = cap(data, rng.choice((256, 1024, 4096)))
        if roll > 0.3 and rng.random() < 0.7:
            data = mutate(data, rng, seeds or (data,))
        return formats.calm_yaml(data) if kind == "meta" else data

    def _files(
        self, rng: random.Random, metric: str, step_key: str, record_filter: list[str] | None
    ) -> list[dict[str, Any]]:
        fmt = self.name
        count = rng.choice((1, 1, 1, 2, 3))
        out: list[dict[str, Any]] = []
        for i in range(count):
            if fmt in ("dlm", "jsonl"):
                if fmt == "dlm":
                    spec: tuple[str, str, tuple[str, str] | None] = ("step", metric, ("type", "step"))
                else:
                    spec = (step_key, metric, (record_filter[0], record_filter[1]) if record_filter else None)
                make = functools.partial(formats.jsonl_log, step_key=spec[0], metric=spec[1], record_filter=spec[2])
                data = self._seeded(rng, "jsonl", make)
                out.append({"path": f"logs/train-{i:06d}-x.jsonl", "data": data, "key": ""})
            elif fmt == "trainer-state":
                data = self._seeded(rng, "trainer-state", lambda r: formats.trainer_state_doc(r, metric))
                folder = formats.checkpoint_folder(rng)
                path = f"{folder}trainer_state.json"
                if any(f["path"] == path for f in out):
                    path = f"checkpoint-{rng.randint(1, 10**6)}/trainer_state.json"
                out.append({"path": path, "data": data, "key": ""})
            elif fmt == "tensorboard":
                data = self._seeded(rng, "tensorboard", formats.event_file)
                out.append({"path": f"events.out.tfevents.{1700000000 + i}.host", "data": data, "key": ""})
            elif fmt == "csv":
                data = self._seeded(rng, "csv", lambda r: formats.csv_log(r, step_key, metric))
                out.append({"path": f"version_{i}/metrics.csv", "data": data, "key": ""})
            elif fmt.startswith("text"):
                data = self._seeded(rng, fmt, formats.console_log if fmt == "text" else formats.pattern_log)
                out.append({"path": f"slurm-{i}.out", "data": data, "key": ""})
            elif fmt == "wandb":
                data = self._seeded(rng, "wandb", formats.wandb_file)
                out.append({"path": f"offline-run-2026_{i}-abc/run-abc.wandb", "data": data, "key": ""})
            else:
                key = rng.choice((metric, *formats.MLFLOW_KEYS)) if i else rng.choice((metric, "train/loss", "loss"))
                # A key is a path under metrics/: no NUL, no empty, "." or ".." segment, none too long.
                parts = [p[:100] for p in key.replace("\x00", "0").split("/") if p not in ("", ".", "..")]
                key = "/".join(parts) or "loss"
                taken = [f["key"] for f in out]
                if any(key == k or k.startswith(key + "/") or key.startswith(k + "/") for k in taken):
                    continue  # the same file, or a file where the other needs a folder
                data = self._seeded(rng, "mlflow", formats.mlflow_metric)
                out.append({"path": f"metrics/{key}", "data": data, "key": key})
        return out

    def _write(self, scratch: Path, case: Case) -> tuple[list[LogFile], Path]:
        run_dir = scratch / "run"
        wanted: dict[Path, bytes] = {}
        files = []
        for item in case["files"]:
            path = run_dir / item["path"]
            wanted[path] = item["data"]
            files.append(LogFile(path, item["path"], item["key"]))
        if self.name == "mlflow":
            for name, data in (("meta.yaml", case.get("meta")), ("tags/mlflow.runName", case.get("tag"))):
                if data is not None:
                    wanted[run_dir / name] = data
        for stale in [p for p in self._written if p not in wanted]:
            stale.unlink(missing_ok=True)
            del self._written[stale]
        for path, data in wanted.items():
            try:
                path.write_bytes(data)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            except IsADirectoryError:  # an earlier case's metric key made a folder of that name
                shutil.rmtree(path)
                path.write_bytes(data)
            self._written[path] = None
        return files, run_dir

    def check(self, case: Case, scratch: Path) -> None:
        fmt = self.name
        files, run_dir = self._write(scratch, case)
        record_filter = case["filter"]
        chosen = (record_filter[0], record_filter[1]) if record_filter else None
        spec = ReadSpec(case["metric"], case["step_key"], chosen, case.get("pattern", ""))
        contents = {item["path"]: item["data"] for item in case["files"]}
        kind = "text" if fmt.startswith("text") else fmt  # the format read and reported
        fast = reading(lambda: read(kind, files, spec), list(contents))
        if not isinstance(fast, tuple):
            check_curve(fast, kind, contents)
        reference = reading(lambda: _reference(fmt, files, spec), list(contents))
        if not isinstance(reference, tuple):
            check_curve(reference, kind, contents)
        same(fast, reference, "fast path vs reference")
        if kind == "text":  # the native scanner (when built) above; the Python fast path here
            python_fast = reading(lambda: text.read_text(files, spec, native_scan=False), list(contents))
            same(python_fast, reference, "python fast path vs reference")
        with limits(fmt, case["limits"]):
            small = reading(lambda: read(kind, files, spec), list(contents))
        same(small, reference, "small buffers vs reference")
        if fmt == "mlflow":
            check_run_name(run_dir)


def check_run_name(run_dir: Path) -> None:
    from drift.readers.mlflowstore import NAME_CHARS, run_name

    name = run_name(run_dir)
    if name is None:
        return
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_CHARS:
        raise Violation("run_name: not a non-blank name of at most 250 characters", short(name))
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise Violation("run_name: holds a control or format character", short(name))


# --- config -----------------------------------------------------------------------------------


def _field_names() -> tuple[str, ...]:
    from drift.config import FIELDS

    return tuple(f.name for f in FIELDS)


def _input_value(rng: random.Random, name: str) -> str:
    from drift.config import BY_NAME

    spec = BY_NAME[name]
    roll = rng.random()
    if roll < 0.4 and spec.choices:
        return rng.choice(spec.choices)
    if roll < 0.6:
        return formats.yaml_scalar(rng)
    if roll < 0.8:
        return rng.choice(("", " ", "1", "0.5", "5%", "off", "x=y", "nan", "inf", "1e999", "-1"))
    return hostile_text(rng, 20)


def one_line(exc: BaseException, what: str) -> None:
    message = str(exc)
    if not message or "\n" in message or "\r" in message:
        raise Violation(f"{what} message is not one line", short(message))


@dataclass
class ConfigTarget:
    corpus: Corpus
    name: str = "config"
    weight: float = 1.0

    def generate(self, rng: random.Random) -> Case:
        names = _field_names()
        seeds = self.corpus.pool("config")
        roll = rng.random()
        if roll < 0.6 or not seeds:
            text = formats.config_yaml(rng, names)
            if rng.random() < 0.3:
                text = mutate(text, rng, seeds or (text,))
        else:
            text = mutate(rng.choice(seeds), rng, seeds)
        inputs = {name: _input_value(rng, name) for name in rng.sample(names, k=rng.randint(0, 3))}
        inputs.pop("config", None)
        return {
            "text": formats.calm_yaml(text),
            "inputs": inputs,
            "run": hostile_text(rng, 20) if rng.random() < 0.5 else "runs/a",
        }

    def check(self, case: Case, scratch: Path) -> None:
        from drift.config import RunSettings, build_settings, load_config_file

        (scratch / "c.yml").write_bytes(case["text"])
        try:
            values, overrides = load_config_file(scratch / "c.yml", "c.yml")
        except ConfigError as exc:
            one_line(exc, "ConfigError")
        else:
            if not isinstance(values, dict) or not isinstance(overrides, list):
                raise Violation("load_config_file returned the wrong types", short((values, overrides)))
        try:
            settings = build_settings({**case["inputs"], "path": "runs/*", "config": "c.yml"}, scratch)
        except ConfigError as exc:
            one_line(exc, "ConfigError")
            return
        run = settings.for_run(case["run"])
        if not isinstance(run, RunSettings) or not isinstance(run.min_steps, int) or isinstance(run.min_steps, bool):
            raise Violation("settings for a run have the wrong types", short(run))
        for name in ("min_smoothness", "max_convergence_ratio", "spike_sigma", "robust_sigma"):
            value = getattr(run, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise Violation("a numeric setting is not a finite number", short((name, value)))
        from drift.config import FailOn, IfNoLogs, Limit, SpikeMethod

        limits = (run.max_final_loss_increase, run.max_smoothness_drop, run.max_new_instability_events)
        typed = (
            isinstance(run.spike_method, SpikeMethod)
            and isinstance(run.original_checks, bool)
            and all(limit is None or isinstance(limit, Limit) for limit in limits)
            and isinstance(settings.fail_on, FailOn)
            and isinstance(settings.if_no_logs, IfNoLogs)
        )
        if not typed:
            raise Violation("a setting was not parsed to its type", short((run, settings.fail_on)))


# --- workflow commands ------------------------------------------------------------------------

# str.splitlines() ends a line at these; the runner reads lines as .NET's ReadLine does (CR, LF,
# CRLF only), so a message holding one is still one command there.
_EXOTIC_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_STANDIN_BASE = 0xF0000  # supplementary private use: never produced by the generators


def runner_commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    """``tests.conftest.workflow_commands`` on the lines the runner reads.

    That parser splits with ``str.splitlines()`` and strips each line; the runner splits at CR and
    LF only and keeps a command's trailing whitespace. The characters where the two differ (the
    other line breaks, trailing whitespace) are swapped for private-use stand-ins before parsing
    and swapped back after, so the parser sees the runner's lines.
    """
    standins: dict[str, str] = {}

    def shield(ch: str) -> str:
        if ch not in standins:
            standins[ch] = chr(_STANDIN_BASE + len(standins))
        return standins[ch]

    lines = re.split(r"\r\n|\r|\n", stdout)
    shielded = []
    for line in lines:
        body = line.rstrip()
        tail = "".join(shield(ch) for ch in line[len(body) :])
        shielded.append("".join(shield(ch) if ch in _EXOTIC_BREAKS else ch for ch in body) + tail)
    if any(_STANDIN_BASE <= ord(ch) < _STANDIN_BASE + 0x10000 for ch in stdout):
        raise Violation("stdout holds a private-use stand-in character", "")
    back = {v: k for k, v in standins.items()}

    def restore(text: str) -> str:
        return "".join(back.get(ch, ch) for ch in text) if back else text

    return [
        (name, {key: restore(value) for key, value in props.items()}, restore(data))
        for name, props, data in workflow_commands("\n".join(shielded))
    ]


def lines_outside_stops(stdout: str) -> Iterator[str]:
    """The lines the runner parses for commands: those outside stop-commands blocks."""
    token: str | None = None
    for line in re.split(r"\r\n|\r|\n", stdout):
        stripped = line.strip()
        if token is not None:
            if stripped == f"::{token}::":
                token = None
            continue
        if stripped.startswith("::stop-commands::"):
            token = stripped.removeprefix("::stop-commands::")
            continue
        yield line


class _Boom(Exception):
    """Raised inside an untrusted block: the block must still close."""


def _prop_value(rng: random.Random) -> str | int | None:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.2:
        return rng.choice((0, 1, 42, -1, 10**12))
    if roll < 0.25:
        return ""
    return hostile_text(rng)


@dataclass
class CommandsTarget:
    name: str = "commands"
    weight: float = 1.0

    def generate(self, rng: random.Random) -> Case:
        token = rng.choice((None, "0" * 32, "".join(rng.choice("0123456789abcdef") for _ in range(32))))
        guess = token or "".join(rng.choice("0123456789abcdef") for _ in range(32))
        ops: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.45:
                ops.append(
                    {
                        "op": "annotate",
                        "level": rng.choice(("error", "warning", "notice")),
                        "message": hostile_text(rng, 60),
                        "title": _prop_value(rng) if rng.random() < 0.8 else None,
                        "file": _prop_value(rng) if rng.random() < 0.8 else None,
                        "line": rng.choice((None, 0, 1, 7, 10**9)),
                    }
                )
            elif roll < 0.65:
                keys = rng.sample(("title", "file", "line", "endLine", "col", "endColumn"), k=rng.randint(0, 3))
                ops.append(
                    {
                        "op": "command",
                        "name": rng.choice(("group", "endgroup", "error", "warning", "notice", "debug")),
                        "message": hostile_text(rng, 60),
                        "props": {key: _prop_value(rng) for key in keys},
                    }
                )
            else:
                texts = []
                for _ in range(rng.randint(0, 5)):
                    parts = [hostile_text(rng, 50)]
                    if rng.random() < 0.4:
                        parts.insert(
                            rng.randint(0, 1),
                            rng.choice((f"::{guess}::", f"\n::{guess}::\n::error::pwned", f"  ::{guess}::  ", guess)),
                        )
                    texts.append("".join(parts))
                ops.append({"op": "untrusted", "title": hostile_text(rng), "texts": texts, "raise": rng.random() < 0.1})
        return {"token": token, "ops": ops}

    def check(self, case: Case, scratch: Path) -> None:
        del scratch
        out = io.StringIO()
        console = ghactions.Console(out)
        expected: list[tuple[str, dict[str, str], str]] = []

        def props(values: dict[str, Any]) -> dict[str, str]:
            return {k: str(v) for k, v in values.items() if v is not None and str(v) != ""}

        token = case["token"]
        patch: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if token:
            patch = mock.patch("drift.ghactions.secrets.token_hex", lambda _: token)
        with patch:
            for op in case["ops"]:
                if op["op"] == "annotate":
                    annotation = ghactions.Annotation(op["level"], op["message"], op["title"], op["file"], op["line"])
                    console.annotate(annotation)
                    wanted = {"title": op["title"], "file": op["file"], "line": op["line"]}
                    expected.append((op["level"], props(wanted), op["message"]))
                elif op["op"] == "command":
                    console.command(op["name"], op["message"], op["props"])
                    expected.append((op["name"], props(op["props"]), op["message"]))
                else:
                    with contextlib.suppress(_Boom), console.untrusted(op["title"]) as say:
                        for text in op["texts"]:
                            say(text)
                        if op["raise"]:
                            raise _Boom
                    expected += [("group", {}, op["title"]), ("endgroup", {}, "")]
        stdout = out.getvalue()
        got = runner_commands(stdout)
        if got != expected:
            for i, (a, b) in enumerate(zip(got, expected, strict=False)):
                if a != b:
                    raise Violation("a command did not round-trip", f"#{i}: {short(a)} vs {short(b)}")
            raise Violation("a command was added or lost", f"{len(got)} vs {len(expected)}")
        for line in lines_outside_stops(stdout):
            if line.lstrip().startswith("##["):
                raise Violation("a ##[ command outside a stop-commands block", short(line))


# --- outputs ----------------------------------------------------------------------------------

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-"
_PLAIN_NAME = re.compile(r"[a-z0-9_-]+")  # every output name a workflow could use: must be accepted


@dataclass
class OutputsTarget:
    name: str = "outputs"
    weight: float = 1.0

    def generate(self, rng: random.Random) -> Case:
        collide = rng.random() < 0.3
        pool = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3)]
        outputs = []
        for _ in range(rng.randint(0, 6)):
            roll = rng.random()
            if roll < 0.85:
                name = "".join(rng.choice(_NAME_CHARS) for _ in range(rng.randint(1, 16)))
            elif roll < 0.95:
                name = rng.choice(("verdict", "passed", "report-path", "final-loss", "instability-events"))
            else:
                name = hostile_text(rng, 16)
            value = hostile_text(rng, 200)
            if collide and rng.random() < 0.5:
                value = (
                    rng.choice(("", "x\n", "a\n\nb")) + f"ghadelimiter_{rng.choice(pool)}" + rng.choice(("", "\n", "x"))
                )
            outputs.append([name, value])
        return {"outputs": outputs, "uuids": pool if collide else None}

    def check(self, case: Case, scratch: Path) -> None:
        del scratch
        outputs = dict(case["outputs"])
        uuids = case["uuids"]
        patch: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if uuids:
            values = iter([uuid.UUID(u) for u in uuids] * 2)
            fresh = uuid.uuid4
            patch = mock.patch("drift.ghactions.uuid.uuid4", lambda: next(values, None) or fresh())
        try:
            with patch:
                text = ghactions.format_outputs(outputs)
        except ValueError:
            plain = [n for n in outputs if _PLAIN_NAME.fullmatch(n)]
            if len(plain) == len(outputs):
                raise Violation("plain output names were refused", short(list(outputs))) from None
            return
        broken = [n for n in outputs if "\n" in n or "\r" in n]
        if broken:
            raise Violation("a name with a line break was accepted", short(broken))
        try:
            parsed = parse_output_file(text)
        except (ValueError, IndexError) as exc:
            parsed = {"<unparsable>": repr(exc)}
        if parsed != outputs:
            raise Violation("the output file does not read back", f"{short(outputs)} vs {short(parsed)}")


# --- end to end -------------------------------------------------------------------------------

ALLOWED = {"error", "warning", "notice", "group", "endgroup"}
_TAGS = re.compile(r"</?(sub|code|details|summary)>")
_FRAME = re.compile(r'File "([^"]*)", line \d+, in (\S+)')


def _name_part(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        text = rng.choice(("run", "main", "a b", "noisy-1", "x.jsonl", "ckpt"))
    elif roll < 0.95:
        text = hostile_text(rng, 30)
    else:
        return rng.choice((b"\xff\xfe", b"bad\xc3name", b"\xed\xa0\x80"))
    part = text.replace("/", "\u2215").replace("\x00", "0").encode("utf-8")[:120]
    return part if part not in (b"", b".", b"..") else b"r"


def _files_for(rng: random.Random, fmt: str, corpus: Corpus) -> list[tuple[bytes, bytes]]:
    """A run of ``fmt``: (path relative to the run folder, bytes), clean or damaged."""
    if rng.random() < 0.5:
        return [(p.encode(), d) for p, d in formats.clean_logs(rng, fmt, formats.curve(rng, rng.choice((3, 15, 40))))]
    kind = {"dlm": "jsonl", "text-pattern": "text"}.get(fmt, fmt)
    makers: dict[str, Callable[[random.Random], bytes]] = {
        "jsonl": lambda r: formats.jsonl_log(r, "step", "loss", ("type", "step") if fmt == "dlm" else None),
        "trainer-state": lambda r: formats.trainer_state_doc(r, "loss"),
        "tensorboard": formats.event_file,
        "csv": lambda r: formats.csv_log(r, "step", "loss"),
        "mlflow": formats.mlflow_metric,
        "text": formats.console_log,
        "wandb": formats.wandb_file,
    }
    seeds = corpus.pool(kind)
    data = makers[kind](rng) if rng.random() < 0.5 or not seeds else rng.choice(seeds)
    if rng.random() < 0.5:
        data = mutate(data, rng, seeds or (data,))
    hostile = _name_part(rng)
    names = {
        "dlm": [b"logs/train-000001-" + hostile + b".jsonl"],
        "jsonl": [hostile + b".jsonl", b"log.txt"],
        "trainer-state": [b"trainer_state.json", b"checkpoint-5/trainer_state.json"],
        "tensorboard": [b"events.out.tfevents." + hostile],
        "csv": [b"metrics.csv", hostile + b".csv", b"training.log"],
        "mlflow": [b"metrics/" + hostile, b"metrics/train/loss"],
        "text": [hostile + b".log", b"slurm-1.out", b"train.txt", b"job.err"],
        "wandb": [b"run-" + hostile + b".wandb", b"run-abc.wandb"],
    }["text" if kind == "text" else fmt]
    out = [(rng.choice(names), data)]
    if fmt == "mlflow":
        out.append((b"meta.yaml", formats.mlflow_meta(rng)))
    return out


@dataclass
class EndToEndTarget:
    corpus: Corpus
    name: str = "e2e"
    weight: float = 0.25

    def generate(self, rng: random.Random) -> Case:
        entries: list[dict[str, Any]] = []
        run_folders: list[bytes] = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            folder = b"runs/" + _name_part(rng) if rng.random() < 0.9 else _name_part(rng)
            run_folders.append(folder)
            fmt = rng.choice(READERS)
            for path, data in _files_for(rng, fmt, self.corpus):
                entries.append({"path": folder + b"/" + path, "kind": "file", "data": data})
        for _ in range(rng.choice((0, 0, 1, 2))):
            roll = rng.random()
            path = b"runs/" + _name_part(rng) + b"/" + _name_part(rng)
            if roll < 0.6:
                entries.append(
                    {"path": path, "kind": "file", "data": mutate(rng.choice(self.corpus.everything()), rng)}
                )
            elif roll < 0.75:
                entries.append({"path": b"runs/x/events.out.tfevents.fifo", "kind": "fifo", "data": b""})
            elif roll < 0.9:
                entries.append({"path": path, "kind": "symlink", "data": rng.choice((b"/etc", b"..", b".", b"../.."))})
            else:
                entries.append({"path": b"runs/" + _name_part(rng), "kind": "dir", "data": b""})
        inputs: dict[str, str] = {}
        shown = [f.decode("utf-8", "replace") for f in run_folders]
        roll = rng.random()
        if roll < 0.5:
            inputs["path"] = "runs/*"
        elif roll < 0.8 or not shown:
            inputs["path"] = rng.choice(
                ("runs", "**", "*", "runs/*/", "runs/*, nothing", "runs/**/*.jsonl", "", "../..")
            )
        else:
            inputs["path"] = ", ".join(rng.sample(shown, k=rng.randint(1, len(shown))))
        if rng.random() < 0.3:
            inputs["format"] = rng.choice(("auto", *READERS, *READERS, "DLM", "xml"))
        if rng.random() < 0.2:
            inputs["metric"] = rng.choice(("loss", "train/loss", "val_loss", hostile_text(rng, 10)))
        for name, choices in (
            ("spike-method", ("seed", "robust")),
            ("min-steps", ("2", "3", "100")),
            ("fail-on", ("warn", "error", "never")),
            ("if-no-logs", ("error", "warn", "ignore")),
            ("max-instability-events", ("0", "5")),
            ("record-filter", ("type=step", "type=step", "split=train", "x")),
            ("step-key", ("step", "epoch")),
        ):
            if rng.random() < 0.15:
                inputs[name] = rng.choice(choices)
        if rng.random() < 0.15:
            base = rng.choice(self.corpus.pool("report") or (b"{}",))
            entries.append(
                {"path": b"base/report.json", "kind": "file", "data": mutate(base, rng) if rng.random() < 0.7 else base}
            )
            inputs["baseline"] = rng.choice(("base/report.json", "runs/*", "missing.json"))
            if rng.random() < 0.3:
                inputs["require-baseline"] = "true"
        if rng.random() < 0.1:
            entries.append({"path": b"cfg.yml", "kind": "file", "data": formats.config_yaml(rng, _field_names())})
            inputs["config"] = "cfg.yml"
        if rng.random() < 0.05:
            inputs["report-path"] = rng.choice(("out/r.json", "../r.json", "runs", hostile_text(rng, 10)))
        return {"entries": entries, "inputs": inputs}

    def check(self, case: Case, scratch: Path) -> None:
        from drift.app import Runtime, run
        from drift.runner import RunnerEnv

        workspace = scratch / "ws"
        if workspace.exists() or workspace.is_symlink():
            shutil.rmtree(workspace)
        workspace.mkdir(parents=True)
        _lay_out(workspace, case["entries"])
        output, summary = scratch / "output", scratch / "summary"
        output.write_bytes(b"")
        summary.write_bytes(b"")
        out = io.StringIO()
        code = run(case["inputs"], Runtime(out, RunnerEnv(workspace, output, summary)))
        stdout = out.getvalue()
        if code == 3:
            frames = [m for m in _FRAME.findall(stdout) if "/drift/" in m[0]]
            where = f"{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else "?"
            kind = re.search(r"internal error \((\w+)", stdout)
            raise Violation(f"internal error ({kind.group(1) if kind else '?'} in {where})", stdout[-3000:])
        if code not in (0, 1, 2):
            raise Violation("exit code not 0, 1 or 2", str(code))
        try:
            stdout.encode("utf-8")
        except UnicodeEncodeError:
            raise Violation("stdout is not valid UTF-8 text", short(stdout)) from None
        _check_stop_blocks(stdout)
        check_commands(runner_commands(stdout))
        for line in lines_outside_stops(stdout):
            if line.lstrip().startswith("##["):
                raise Violation("a ##[ command outside a stop-commands block", short(line))
            if line and not line.startswith(("::", OURS)):
                raise Violation("a line outside stop-commands blocks that the action did not write", short(line))
        try:
            outputs = parse_output_file(output.read_text(encoding="utf-8"))
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise Violation("the output file does not parse", repr(exc)) from None
        if outputs.get("verdict") not in ("pass", "warn", "skip", "error") or outputs.get("passed") not in (
            "true",
            "false",
        ):
            raise Violation("outputs without a verdict", short(outputs))
        if code in (0, 1) and (code == 0) != (outputs["passed"] == "true"):
            raise Violation("exit code disagrees with the passed output", short((code, outputs["passed"])))
        text = summary.read_bytes()
        if len(text) >= 1 << 20:
            raise Violation("summary of 1 MiB or more", str(len(text)))
        rest = _TAGS.sub("", text.decode("utf-8"))
        if "<" in rest:
            at = rest.index("<")
            raise Violation("raw HTML in the summary", short(rest[max(0, at - 80) : at + 80]))
        if code != 2 and "report-path" not in case["inputs"]:
            json.loads((workspace / "training-drift-report.json").read_text(encoding="utf-8"))


OURS = "training-drift: "  # how every title, group name and plain line of the action starts
_TOKEN = re.compile(r"[0-9a-f]{32}")


def check_commands(commands: Sequence[tuple[str, dict[str, str], str]]) -> None:
    """Only the commands the action writes, as it writes them: annotations with one of its titles
    and no other properties than title, file and line; groups it names, each closed before the next."""
    open_group = False
    for name, props, data in commands:
        if name not in ALLOWED:
            raise Violation("a foreign workflow command", short((name, props, data)))
        if name in ("error", "warning", "notice"):
            if not props.get("title", "").startswith(OURS) or not set(props) <= {"title", "file", "line"}:
                raise Violation("an annotation the action did not write", short((name, props, data)))
        elif name == "group":
            if open_group or not data.startswith(OURS):
                raise Violation("a group the action did not open", short(data))
            open_group = True
        else:
            if not open_group:
                raise Violation("an endgroup without its group", short(data))
            open_group = False
    if open_group:
        raise Violation("a group never closed", "")


def _check_stop_blocks(stdout: str) -> None:
    token: str | None = None
    for line in re.split(r"\r\n|\r|\n", stdout):
        stripped = line.strip()
        if token is None and stripped.startswith("::stop-commands::"):
            token = stripped.removeprefix("::stop-commands::")
            if not _TOKEN.fullmatch(token):
                raise Violation("a stop-commands token that is not 32 random hex digits", short(token))
        elif token is not None and stripped == f"::{token}::":
            token = None
    if token is not None:
        raise Violation("a stop-commands block never ends", "")


def _lay_out(workspace: Path, entries: Sequence[dict[str, Any]]) -> None:
    root = os.fsencode(workspace)
    for entry in entries:
        path = os.path.join(root, entry["path"])
        with contextlib.suppress(OSError):  # a name too long, or a path through a file: leave it out
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if entry["kind"] == "file":
                with open(path, "wb") as handle:
                    handle.write(entry["data"])
            elif entry["kind"] == "fifo":
                os.mkfifo(path)
            elif entry["kind"] == "symlink":
                os.symlink(entry["data"], path)
            else:
                os.makedirs(path, exist_ok=True)


# --- all --------------------------------------------------------------------------------------


def make_targets(corpus: Corpus) -> dict[str, Target]:
    targets: list[Target] = [ReaderTarget(name, corpus) for name in READERS]
    targets += [ConfigTarget(corpus), CommandsTarget(), OutputsTarget(), EndToEndTarget(corpus)]
    return {t.name: t for t in targets}


NAMES = (*READERS, "config", "commands", "outputs", "e2e")
