"""The trainer_state.json reader: which file is the run, what is a point, and the compiled scanner
held equal to the json.loads path on generated, mutated and hostile documents.

Documents are written as the Trainer writes them: ``TrainerState.save_to_json`` in transformers
(``src/transformers/trainer_callback.py``, checked at 5.23.0) is
``json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\\n"`` written as UTF-8, and
``hf_text`` below does the same with the dataclass's fields. transformers itself is not a test
dependency: without torch it still installs about 250 MB.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import native
from drift.errors import LogError
from drift.readers import trainer_state as ts
from drift.readers.common import LogFile, ReadSpec
from drift.readers.trainer_state import read_trainer_state
from tests.conftest import REAL_LOGS, real_params, shared

ROOT = Path(__file__).resolve().parent.parent
REAL = sorted((REAL_LOGS / "curves").glob("*.json"))


def hf_state(history: list[Any], global_step: int | None, **fields: Any) -> dict[str, Any]:
    """A TrainerState as dataclasses.asdict gives it (transformers 5.23.0's fields and defaults)."""
    state: dict[str, Any] = {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": 1.0,
        "eval_steps": 500,
        "global_step": global_step,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": 10,
        "max_steps": global_step or 0,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 1,
        "save_steps": 500,
        "stateful_callbacks": {"TrainerControl": {"args": {"should_save": True}, "attributes": {}}},
        "total_flos": 1.5e15,
        "train_batch_size": 8,
        "trial_name": None,
        "trial_params": None,
    }
    state.update(fields)
    if global_step is None:
        del state["global_step"]
    return state


def hf_text(state: dict[str, Any]) -> str:
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def train_entry(step: int, loss: float) -> dict[str, Any]:
    return {"epoch": step / 1000, "grad_norm": 0.5 + step % 7 / 10, "learning_rate": 5e-05, "loss": loss, "step": step}


def write(root: Path, folder: str, text: str | bytes) -> LogFile:
    path = root / folder / "trainer_state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return LogFile(path, str(path.relative_to(root)))


def outcome(files: Sequence[LogFile], metric: str = "loss", *, fast: bool) -> tuple[object, ...]:
    """Everything a reading yields, comparable across paths (NaN-free, since finish() makes +inf)."""
    try:
        curve = read_trainer_state(files, ReadSpec(metric=metric), fast=fast)
    except LogError as exc:
        return ("error", str(exc), exc.file, exc.line)
    return (
        curve.steps.tolist(),
        curve.values.tolist(),
        curve.line.tolist(),
        curve.files,
        curve.skipped_lines,
        curve.first_skipped,
        curve.ignored_records,
        curve.fields_seen,
        curve.oversized_steps,
        curve.notes,
        curve.unit,
        curve.format,
    )


def test_the_fast_path_is_built() -> None:
    # python -m drift.native builds every drift/native/*.c into one library.
    lib = native.load()
    assert lib is not None, "run: python -m drift.native"
    assert ts._library() is not None, "the library predates jsondoc.c: run python -m drift.native"


# --- Real curves -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", real_params(REAL, "curves"), ids=lambda p: p.stem)
def test_real_curves_read_back_exactly(tmp_path: Path, source: Path) -> None:
    shared("real-logs", "curves")
    # ../shared/real-logs/curves keeps each real run's (step, loss) points, taken from its trainer_state.json in
    # file order; set back into a Trainer document with eval entries and the closing summary, the
    # reader must give exactly those points back, by both paths.
    real = json.loads(source.read_text(encoding="utf-8"))
    history: list[dict[str, Any]] = []
    for i, (step, loss) in enumerate(zip(real["steps"], real["values"], strict=True)):
        history.append(train_entry(step, loss))
        if i % 10 == 9:
            history.append({"epoch": 1.0, "eval_loss": loss * 1.1, "eval_runtime": 3.2, "step": step})
    last = real["steps"][-1]
    history.append({"epoch": 3.0, "step": last, "total_flos": 1e17, "train_loss": 1.0, "train_runtime": 99.5})
    log = write(tmp_path, "out", hf_text(hf_state(history, last)))

    curve = read_trainer_state([log], ReadSpec())
    expected = dict(zip(real["steps"], real["values"], strict=True))  # a repeated step: the last wins
    assert curve.steps.tolist() == sorted(expected)
    assert curve.values.tolist() == [expected[s] for s in sorted(expected)]
    assert curve.ignored_records == 0 and curve.skipped_lines == 0 and curve.notes == ()
    assert (curve.format, curve.unit, curve.files) == ("trainer-state", "entry", ("out/trainer_state.json",))
    first = max(i for i, e in enumerate(history) if "loss" in e and e["step"] == curve.steps[0])
    assert str(curve.position(0)) == f"out/trainer_state.json log_history[{first}]"
    assert ts._scan(ts._library(), ts._load(log.path), "loss") is not None  # no json.loads needed
    assert outcome([log], fast=True) == outcome([log], fast=False)
    assert outcome([log], "eval_loss", fast=True) == outcome([log], "eval_loss", fast=False)


# --- Which file is the run ---------------------------------------------------------------------


def _run(tmp_path: Path, states: dict[str, tuple[int | None, int]]) -> list[LogFile]:
    """One file per folder; each history's steps run to its second number, loss = step."""
    return [
        write(tmp_path, folder, hf_text(hf_state([train_entry(s, float(s)) for s in range(1, last + 1)], step)))
        for folder, (step, last) in states.items()
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_the_latest_global_step_is_the_run(tmp_path: Path, reverse: bool) -> None:
    files = _run(tmp_path, {"out": (30, 30), "out/checkpoint-20": (20, 20), "out/checkpoint-40": (40, 40)})
    curve = read_trainer_state(files[::-1] if reverse else files, ReadSpec())
    assert curve.files == ("out/checkpoint-40/trainer_state.json",)
    assert curve.steps.tolist() == list(range(1, 41))


def test_a_tie_goes_to_the_output_folder_then_to_the_higher_checkpoint(tmp_path: Path) -> None:
    files = _run(tmp_path, {"o/checkpoint-9": (50, 9), "o": (50, 7), "o/checkpoint-10": (50, 8)})
    assert read_trainer_state(files, ReadSpec()).files == ("o/trainer_state.json",)
    # The folder number breaks the tie numerically, not by name.
    assert read_trainer_state(files[::2], ReadSpec()).files == ("o/checkpoint-10/trainer_state.json",)


def test_without_a_global_step_the_checkpoint_number_stands_in(tmp_path: Path) -> None:
    files = _run(tmp_path, {"o/checkpoint-300": (None, 3), "o/checkpoint-200": (250, 2)})
    assert read_trainer_state(files, ReadSpec()).files == ("o/checkpoint-300/trainer_state.json",)
    files = _run(tmp_path, {"p/checkpoint-300": (None, 3), "p/checkpoint-200": (350, 2)})
    assert read_trainer_state(files, ReadSpec()).files == ("p/checkpoint-200/trainer_state.json",)


def test_a_damaged_latest_file_gives_way_to_the_next_latest_with_a_note(tmp_path: Path) -> None:
    files = _run(tmp_path, {"o/checkpoint-10": (10, 10), "o/checkpoint-20": (20, 20)})
    good = hf_text(hf_state([train_entry(s, 1.0) for s in range(30)], 30))
    cut = good[: good.index('"step": 17')]  # the Trainer was killed while writing it
    files.append(write(tmp_path, "o", cut))
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(cut)
    where = f"o/trainer_state.json:{reference.value.lineno}:{reference.value.colno}"
    for fast in (True, False):
        curve = read_trainer_state(files, ReadSpec(), fast=fast)
        assert curve.files == ("o/checkpoint-20/trainer_state.json",)
        assert curve.steps.tolist() == list(range(1, 21))
        assert curve.notes == (
            f"{where}: not valid JSON ({reference.value.msg}); read o/checkpoint-20/trainer_state.json instead",
        )
        assert curve.skipped_lines == 1 and curve.first_skipped is not None
        assert curve.first_skipped.file == "o/trainer_state.json"


def test_an_older_damaged_checkpoint_is_not_mentioned(tmp_path: Path) -> None:
    files = _run(tmp_path, {"o/checkpoint-20": (20, 20)})
    files.append(write(tmp_path, "o/checkpoint-10", "{"))
    curve = read_trainer_state(files, ReadSpec())
    assert curve.notes == () and curve.skipped_lines == 0
    assert curve.files == ("o/checkpoint-20/trainer_state.json",)


def test_when_no_file_is_readable_the_latest_is_named(tmp_path: Path) -> None:
    files = [write(tmp_path, "o/checkpoint-5", "{}"), write(tmp_path, "o/checkpoint-7", '{"log_history": [1,]}')]
    with pytest.raises(LogError) as caught:
        read_trainer_state(files, ReadSpec())
    message = str(caught.value)
    assert message.startswith("o/checkpoint-7/trainer_state.json:1: not a trainer_state.json: ")
    assert "(nor is any of the other 1 candidate(s))" in message
    assert (caught.value.file, caught.value.line) == ("o/checkpoint-7/trainer_state.json", 1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[1, 2]", "the document is an array, not an object"),
        ('\n\n  "loss"', "the document is a string, not an object"),
        ("null", "the document is null, not an object"),
        ('{"global_step": 3}', "no log_history"),
        ('{"log_history": {"0": {"loss": 1}}}', "log_history is an object, not a list"),
        ('{"log_history": null}', "log_history is null, not a list"),
    ],
)
def test_valid_json_of_another_shape_is_an_error_with_a_fix(tmp_path: Path, text: str, reason: str) -> None:
    log = write(tmp_path, "o", text)
    for fast in (True, False):
        with pytest.raises(LogError) as caught:
            read_trainer_state([log], ReadSpec(), fast=fast)
        line = text.count("\n", 0, len(text) - len(text.lstrip())) + 1
        assert str(caught.value).startswith(f"o/trainer_state.json:{line}: not a trainer_state.json: {reason}")
        assert "point paths at a Hugging Face Trainer output folder" in str(caught.value)
        assert caught.value.line == line


def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "o" / "trainer_state.json"
    folder.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(LogError, match=r"^failed to read o/trainer_state.json: "):
        read_trainer_state([LogFile(folder, "o/trainer_state.json")], ReadSpec())


# --- What is a point ---------------------------------------------------------------------------


def test_eval_loss_reads_the_eval_entries(tmp_path: Path) -> None:
    history = [train_entry(s, 2.0) for s in range(1, 7)]
    history.insert(3, {"epoch": 0.5, "eval_loss": 1.5, "eval_runtime": 2.0, "step": 3})
    history.append({"epoch": 1.0, "eval_loss": 1.25, "eval_runtime": 2.0, "step": 6})
    log = write(tmp_path, "o", hf_text(hf_state(history, 6)))
    for fast in (True, False):
        curve = read_trainer_state([log], ReadSpec(metric="eval_loss"), fast=fast)
        assert (curve.steps.tolist(), curve.values.tolist(), curve.line.tolist()) == ([3, 6], [1.5, 1.25], [3, 7])
        assert curve.ignored_records == 0


def test_a_missing_metric_lists_every_name_the_entries_hold(tmp_path: Path) -> None:
    history = [train_entry(1, 2.0), {"eval_loss": 1.0, "step": 1}, {"step": 2, "train_loss": 1.9}, [1], "x"]
    log = write(tmp_path, "o", hf_text(hf_state(history, 2)))
    for fast in (True, False):
        curve = read_trainer_state([log], ReadSpec(metric="los"), fast=fast)
        assert len(curve) == 0 and curve.ignored_records == 0
        assert curve.fields_seen == ("epoch", "eval_loss", "grad_norm", "learning_rate", "loss", "step", "train_loss")


def test_non_finite_values_are_kept_as_inf(tmp_path: Path) -> None:
    losses = [1.0, math.nan, math.inf, -math.inf, 2.0]
    log = write(tmp_path, "o", hf_text(hf_state([train_entry(s, v) for s, v in enumerate(losses)], 5)))
    assert "NaN" in log.path.read_text() and "-Infinity" in log.path.read_text()
    for fast in (True, False):
        curve = read_trainer_state([log], ReadSpec(), fast=fast)
        assert curve.values.tolist() == [1.0, math.inf, math.inf, math.inf, 2.0]


def test_entries_whose_step_or_value_is_not_a_number_are_ignored(tmp_path: Path) -> None:
    history: list[Any] = [
        {"loss": 1.0},  # no step
        {"loss": 1.0, "step": None},
        {"loss": 1.0, "step": "seven"},
        {"loss": 1.0, "step": "7.5"},  # int("7.5") fails
        {"loss": 1.0, "step": math.nan},
        {"loss": 1.0, "step": math.inf},
        {"loss": None, "step": 1},
        {"loss": "low", "step": 2},
        {"loss": [1.0], "step": 3},
        {"loss": {"v": 1.0}, "step": 4},
        {"loss": 10**400, "step": 5},  # float() overflows
        {"loss": 1.0, "step": 2**70},  # a whole number beyond int64: counted apart
        # Python's int() and float() accept these, so they are points:
        {"loss": " 2.5 ", "step": "8"},
        {"loss": "1_0", "step": 9.99},
        {"loss": True, "step": False},
        {"loss": 7, "step": -3},
        {"epoch": 1.0, "step": 6},  # no loss: not a point, not ignored
    ]
    log = write(tmp_path, "o", hf_text(hf_state(history, 9)))
    for fast in (True, False):
        curve = read_trainer_state([log], ReadSpec(), fast=fast)
        assert curve.ignored_records == 12
        assert curve.oversized_steps == 1
        assert list(zip(curve.steps.tolist(), curve.values.tolist(), strict=True)) == [
            (-3, 7.0),
            (0, 1.0),
            (8, 2.5),
            (9, 10.0),
        ]
        assert curve.line.tolist() == [15, 14, 12, 13]


def test_a_repeated_step_keeps_the_last_entry(tmp_path: Path) -> None:
    # A resumed run logs again from its checkpoint's step.
    history = [train_entry(s, 1.0) for s in range(1, 6)] + [train_entry(s, 2.0) for s in range(3, 8)]
    log = write(tmp_path, "o", hf_text(hf_state(history, 7)))
    curve = read_trainer_state([log], ReadSpec())
    assert curve.steps.tolist() == list(range(1, 8))
    assert curve.values.tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    assert curve.line.tolist() == [0, 1, 5, 6, 7, 8, 9]


# --- Hostile input -----------------------------------------------------------------------------


def _both(files: list[LogFile]) -> tuple[object, ...]:
    fast = outcome(files, fast=True)
    assert fast == outcome(files, fast=False)
    return fast


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    log = write(tmp_path, "o", '{"log_history": [{"loss": ' + "[" * 100_000 + "]" * 100_000 + ', "step": 1}]}')
    result = _both([log])
    assert result[0] == "error"
    assert "nested too deeply" in str(result[1])


def test_bytes_that_are_not_utf8_are_an_error_at_their_place(tmp_path: Path) -> None:
    text = hf_text(hf_state([train_entry(1, 1.0)], 1))
    broken = text.encode().replace(b'"epoch": 1.0', b'"epoch": "\xff"', 1)
    line = text[: text.index('"epoch": 1.0')].count("\n") + 1
    result = _both([write(tmp_path, "o", broken)])
    assert result[0] == "error"
    assert str(result[1]).startswith(f"o/trainer_state.json:{line}: not a trainer_state.json: bytes that are not UTF-8")


def test_a_utf8_bom_is_refused_as_the_trainer_refuses_it(tmp_path: Path) -> None:
    result = _both([write(tmp_path, "o", b"\xef\xbb\xbf" + hf_text(hf_state([], 0)).encode())])
    assert result[0] == "error" and "Unexpected UTF-8 BOM" in str(result[1])


def test_huge_numbers(tmp_path: Path) -> None:
    entries = '[{"loss": 1e400, "step": 1}, {"loss": -1e400, "step": 1e400}, {"loss": 2, "step": 1e19}]'
    result = _both([write(tmp_path, "o", '{"log_history": ' + entries + ', "global_step": 1e999}')])
    assert result[:2] == ([1], [math.inf])
    assert result[6:9] == (2, (), 1)  # int(1e400) fails; 1e19 is beyond int64
    # An integer literal Python's json refuses (more than 4300 digits) damages the document.
    text = '{"log_history": [],\n "global_step": ' + "7" * 5000 + "}"
    result = _both([write(tmp_path, "p", text)])
    assert result[0] == "error" and str(result[1]).startswith("p/trainer_state.json:2: not a trainer_state.json")


def test_hundred_megabyte_documents(tmp_path: Path) -> None:
    huge = hf_state([train_entry(1, 1.0), train_entry(2, 0.5)], 2, trial_name="x" * 100_000_000)
    result = _both([write(tmp_path, "o", hf_text(huge))])
    assert result[:2] == ([1, 2], [1.0, 0.5])
    result = _both([write(tmp_path, "p", "[" * 100_000_000)])
    assert result[0] == "error" and "nested too deeply" in str(result[1])


# --- The compiled scanner equals json.loads ----------------------------------------------------

SPECIAL_NUMBERS = [
    "0", "-0", "-0.0", "1e5", "1E+5", "2.5e-3", "1e22", "1e23", "123456789012345.6", "1234567890123456.7",
    "0.000001234", "9007199254740993", "1e400", "-1e400", "1e-400", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "9.3e18", "3.99", "-3.99", "1" + "0" * 400,
]  # fmt: skip
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: repr(round(x, 4))),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(SPECIAL_NUMBERS),
)
# Tokens Python's json refuses: the scanner must leave each to json.loads.
NEAR_MISSES = [
    "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1E-", "-", "--1", "0x10", "nan", "inf", "-NaN", "+Infinity",
    "Infinity1", "1_000", "1.5.2", "1ee5", "tru", "nul", "NaNx", "trux", "nulL", "falsy", "NaM", "Infinitx",
    "-Infinitx", "'a'", '"a\\x"', '"a\\u12"', '"a\\U0041"',
    '"\\u00g0"', '"\\uZZZZ"', '"\t"', '"\x00"', '"a', "１",
]  # fmt: skip
near_misses = st.sampled_from(NEAR_MISSES)
_NEAR_MISS = "<near miss>"
strings = st.one_of(
    st.text(max_size=6).map(json.dumps),
    st.sampled_from(['"7"', '" 8 "', '"1_0"', '"nan"', '"-Infinity"', '"1e3"', '"\\u0037"', '"a\\"b\\\\"', '"\x7f"']),
)
scalars = st.one_of(numbers, st.sampled_from(["true", "false", "null", "NaN", "Infinity", "-Infinity"]), strings)
nested = st.sampled_from(['{"loss": 1, "step": 2}', "[1, [2, {}]]", "{}", "[]", '{"a": [NaN, "b"]}'])
keys = st.sampled_from(["step", "loss", "loss", "step", "epoch", "eval_loss", "st\\u0065p", "lo\\u0073s", ""])
non_ascii = st.text(min_size=1, max_size=6).map(lambda s: json.dumps(s, ensure_ascii=False))
spaces = st.sampled_from(["", " ", "\n      ", "\t", "\r\n", "  \n"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Trainer-shaped JSON text, written token by token so that it can hold what json.dumps never
    writes (near-miss numbers, duplicate keys, odd whitespace). Some are wild: they hold one
    near-miss token, or bytes that are not ASCII, which make the document json.loads's business
    (one near miss, as a second one would hide a scanner that wrongly accepts the first)."""
    sp = draw(spaces)
    wild = draw(st.sampled_from([[], [], [st.just(_NEAR_MISS)], [non_ascii]]))
    values = st.one_of(scalars, scalars, scalars, nested, *wild)
    wild_keys = st.one_of(keys, st.just("é")) if draw(st.integers(0, 7)) == 0 else keys

    def obj(pairs: list[tuple[str, str]]) -> str:
        return "{" + sp + ("," + sp).join(f'"{k}":{draw(spaces)}{v}' for k, v in pairs) + sp + "}"

    def history() -> str:
        entries = []
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.integers(0, 9))
            if kind == 0:
                entries.append(draw(values))  # not an object
                continue
            pairs = [("step", draw(values if kind < 3 else numbers)), ("loss", draw(values if kind < 5 else numbers))]
            pairs += draw(st.lists(st.tuples(wild_keys, values), max_size=3))
            entries.append(obj(draw(st.permutations(pairs))))
        return "[" + sp + ("," + sp).join(entries) + sp + "]"

    top = [("log_history", history()), ("global_step", draw(st.one_of(numbers, scalars)))]
    # Keys that repeat or spell (through an escape) the two the reader looks up.
    top_keys = st.sampled_from(["epoch", "trial_params", "log_history", "log\\u005fhistory", "global\\u005fstep"])
    for _ in range(draw(st.integers(0, 3))):
        top.append((draw(top_keys), history() if draw(st.integers(0, 3)) == 0 else draw(values)))
    text = draw(spaces) + obj(draw(st.permutations(top))) + draw(spaces)
    return text.replace(_NEAR_MISS, draw(near_misses), 1).replace(_NEAR_MISS, "0")


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(documents())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.integers(0, 3))
        if edit == 0:
            text = text[:at]
        elif edit == 1:
            text = text[:at] + text[at + 1 :]
        else:
            piece = draw(
                st.sampled_from([",", "}", "]", "{", "[", '"', "\\", "\x00", "\x1f", "é", "x", "1", ".", " ", "\f"])
            )
            text = text[:at] + piece + text[at + (edit == 3) :]
    return text


@pytest.mark.parametrize("token", NEAR_MISSES)
def test_every_near_miss_token_is_left_to_json_loads(tmp_path: Path, token: str) -> None:
    places = [
        '{"log_history": [{"loss": %s, "step": 1}]}',
        '{"log_history": [{"loss": 1, "step": %s}]}',
        '{"log_history": [{"epoch": %s, "loss": 1, "step": 1}]}',
        '{"log_history": [%s, {"loss": 1, "step": 1}]}',
        '{"global_step": %s, "log_history": [{"loss": 1, "step": 1}]}',
        '{"log_history": [{"loss": 1, "step": 1}], "trial_params": {"a": [%s]}}',
    ]
    for i, place in enumerate(places):
        files = _one_file(tmp_path, place % token, f"o{i}")
        result = _both(files)
        assert result[0] == "error", (place % token, result)


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ('{"log_history": [{"loss": 1, "step": 1}], "log_history": []}', []),  # the last one wins
        ('{"log_history": [], "log\\u005fhistory": [{"loss": 1, "step": 1}]}', [1]),
        ('{"log_history": [{"lo\\u0073s": 2, "st\\u0065p": 2, "step": 3}]}', [3]),
        ('{"log_history": [{"loss": 1, "step": 1, "loss": "x"}]}', []),
        ('\f{"log_history": []}', None),  # whitespace to Python's str, not to its json
        ('{"log_history":\v[]}', None),
        ('{"log_history": []}\u00a0', None),
        ('{"log_history": []}\u2028', None),
        ('{"log_history": []} {}', None),
        ('{"log_history": [], }', None),
        ('{"log_history": [{"loss": 1, "step": 1},]}', None),
    ],
)
def test_keys_and_whitespace_as_python_reads_them(tmp_path: Path, text: str, points: list[int] | None) -> None:
    result = _both(_one_file(tmp_path, text))
    assert result[0] == "error" if points is None else result[0] == points


def test_an_escaped_global_step_still_ranks_the_file(tmp_path: Path) -> None:
    a = write(tmp_path, "o/checkpoint-10", '{"global\\u005fstep": 50, "log_history": [{"loss": 1, "step": 1}]}')
    b = write(tmp_path, "o/checkpoint-20", '{"global_step": 20, "log_history": [{"loss": 2, "step": 2}]}')
    assert _both([a, b])[3] == ("o/checkpoint-10/trainer_state.json",)


def _one_file(tmp_path: Path, text: str, name: str = "o") -> list[LogFile]:
    return [write(tmp_path, name, text.encode("utf-8", "surrogatepass"))]


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(documents(), st.sampled_from(["loss", "step", "eval_loss", "é"]))
def test_fast_path_equals_json_loads_on_generated_documents(tmp_path: Path, text: str, metric: str) -> None:
    files = _one_file(tmp_path, text)
    assert outcome(files, metric, fast=True) == outcome(files, metric, fast=False)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(mutated())
def test_fast_path_equals_json_loads_on_mutated_documents(tmp_path: Path, text: str) -> None:
    files = _one_file(tmp_path, text)
    assert outcome(files, fast=True) == outcome(files, fast=False)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(["o", "o/checkpoint-3", "o/checkpoint-12", "o/x"]), mutated()), max_size=4))
def test_fast_path_equals_json_loads_on_a_run_of_files(tmp_path: Path, run: list[tuple[str, str]]) -> None:
    files = [f for i, (folder, text) in enumerate(run) for f in _one_file(tmp_path / str(i), text, folder)]
    if files:
        assert outcome(files, fast=True) == outcome(files, fast=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from(["loss", "eval_loss"]),
        ),
        max_size=30,
    ),
    st.integers(0, 10**6),
)
def test_trainer_documents_take_the_fast_path_and_convert_as_python(
    history: list[tuple[int, float, str]], global_step: int
) -> None:
    # What the Trainer writes is never left to json.loads, and every number reads as Python reads it.
    state = hf_state([{"epoch": 0.5, key: value, "step": step} for step, value, key in history], global_step)
    data = np.frombuffer(hf_text(state).encode(), dtype=np.uint8)
    got = ts._scan(ts._library(), data, "loss")
    assert got is not None
    expected = [(i, s, v) for i, (s, v, k) in enumerate(history) if k == "loss"]
    assert got.global_step == global_step
    assert got.entries.tolist() == [e[0] for e in expected]
    assert got.steps.tolist() == [e[1] for e in expected]
    nan_free = [("nan" if math.isnan(v) else v) for v in got.values.tolist()]
    assert nan_free == [("nan" if math.isnan(v) else v) for _, _, v in expected]


def test_numbers_convert_exactly_as_python_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**63, size=20_000, dtype=np.int64).view(np.float64)
    texts = [repr(float(x)) for x in bits if math.isfinite(x)]
    scaled = rng.normal(size=2000) * 10.0 ** rng.integers(-30, 30, size=2000)
    texts += [f"{x:.{d}e}" for d in (3, 14, 15, 16, 25) for x in scaled]
    texts += [f"{x:.{d}f}" for d in (0, 4, 12) for x in scaled[:500] / 10.0**14]
    texts += [str(x) for x in rng.integers(-(10**18), 10**18, 2000)]
    # Decimal strings that are not the shortest form of any double, with 1 to 20 digits, around
    # the 15 digits and 10^22 where exact conversion stops being a single rounding.
    lengths, exponents = rng.integers(1, 21, 20_000).tolist(), rng.integers(-26, 27, 20_000).tolist()
    for digits, exponent in zip(lengths, exponents, strict=True):
        mantissa = "".join(map(str, rng.integers(0, 10, digits).tolist())).lstrip("0") or "0"
        cut = int(rng.integers(0, len(mantissa) + 1))
        texts.append(f"{mantissa}e{exponent}" if cut % 2 else f"{mantissa[:cut] or '0'}.{mantissa[cut:] or '0'}")
    # Exactly halfway between two doubles (ties go to even), and one unit either side, written
    # as integers and as decimals.
    for bits in rng.integers(54, 64, 3000).tolist():
        tie = (int(rng.integers(2**52, 2**53)) * 2 + 1) << (bits - 54)
        digits = str(tie)
        texts += [digits, str(tie + 1), str(tie - 1), f"{digits[:9]}.{digits[9:]}e{len(digits) - 9}", f"-{digits}0e-1"]
    # Decimals of 16 to 19 digits just above or below the midpoint of two neighbouring doubles.
    for x in (rng.random(3000) * 10.0 ** rng.integers(-18, 19, 3000)).tolist():
        midpoint = (Decimal(x) + Decimal(float(np.nextafter(x, math.inf)))) / 2
        for precision, rounding in itertools.product((16, 17, 18, 19), (ROUND_CEILING, ROUND_FLOOR)):
            texts.append(str(Context(prec=precision, rounding=rounding).plus(midpoint)))
    entries = ", ".join(f'{{"loss": {t}, "step": {i}}}' for i, t in enumerate(texts))
    log = write(tmp_path, "o", f'{{"log_history": [{entries}]}}')
    curve = read_trainer_state([log], ReadSpec())
    expected = [float(t) for t in texts]
    assert curve.values.tolist() == [x if math.isfinite(x) else math.inf for x in expected]


def test_every_deferral_reaches_the_same_answer(tmp_path: Path) -> None:
    # One entry of each kind the scanner hands back (string numbers, an escaped key, a huge step)
    # among plain ones, and a document it leaves whole to json.loads (a non-ASCII byte).
    history = '[{"loss": 1, "step": 1}, {"loss": "2", "step": "2"}, {"lo\\u0073s": 3, "step": 3}, '
    history += '{"loss": 4, "step": 99999999999999999999}, {"loss": 5, "step": 5}]'
    for name, text in [("o", '{"log_history": ' + history + "}"), ("p", '{"log_history": ' + history + ', "é": 1}')]:
        files = _one_file(tmp_path, text, name)
        result = _both(files)
        assert result[:3] == ([1, 2, 3, 5], [1.0, 2.0, 3.0, 5.0], [0, 1, 2, 4])
        assert result[6] == 1 and result[8] == 1
    data = ts._load(tmp_path / "p" / "trainer_state.json")
    assert ts._scan(ts._library(), data, "loss") is None


def test_the_scanner_reads_every_real_document_shape(tmp_path: Path) -> None:
    # The writer's indentation, escapes in strings, nested callbacks state, and a summary entry.
    state = hf_state(
        [train_entry(1, 2.0), {"step": 1, "train_loss": 2.0}],
        1,
        best_model_checkpoint="C:\\runs\\out/checkpoint-1 \u00e9\u4e2d",
        trial_params={"lr": [1e-05, None, True]},
    )
    data = np.frombuffer(hf_text(state).encode(), dtype=np.uint8)
    assert re.search(rb"\\u00e9", data.tobytes())  # json.dumps escapes non-ASCII
    got = ts._scan(ts._library(), data, "loss")
    assert got is not None and got.steps.tolist() == [1] and got.global_step == 1
