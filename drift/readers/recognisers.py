"""What a training line looks like in the console output of common trainers, and the user's own
``pattern``: regular expressions run by RE2, whose matching time is linear in the log's length
whatever the log holds (Python's ``re`` backtracks, and a hostile log could make it take hours).

A recogniser's expression has named groups:

- ``step`` and ``value`` on one line (llm.c, detectron2...);
- ``head``, a line that only gives the step (OLMo's ``[step=120/1000]``, Keras's ``Epoch 3/10``),
  and, as another alternative, ``value`` on a later line, which belongs to the last ``head``;
- ``value`` alone (Hugging Face Trainer's printed dicts): the step is the point's ordinal.

Only training lines match: validation lines (``val loss``, ``tel:``, ``val_loss``), warnings and
echoed source code do not have the shape. ``nan`` and ``inf`` are values only as whole words, so
llm.c's ``(+nanz)`` is not a NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import re2  # type: ignore[import-untyped]

# How a recogniser's steps are read (see drift/readers/text.py):
# "plain": the step as printed; a step printed again (a resumed run) keeps the last value read.
# "restarts": a counter that starts again at each epoch or fit() call; each restart continues from
#   the last step read, so the points stay in the order printed.
# "rounded": steps printed rounded with a suffix (1K, 2.5M) are reconstructed.
# "count": no step printed: the n-th point is step n.
StepRule = Literal["plain", "restarts", "rounded", "count"]

# The sign is factored out of the two alternatives (a number; nan/inf as a whole word), which start
# with different characters: then RE2 can take each match's groups in one pass (its OnePass engine)
# instead of backtracking over the alternatives, which costs a third of a console log's reading.
NUMBER = rb"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?i:nan|inf(?:inity)?)\b)"
_V = rb"(?P<value>" + NUMBER + rb")"
STEP_TEXT = rb"[0-9][0-9,]*(?:\.[0-9]+)?[KMBTkmbt]?"  # what a user pattern's step group may hold
MAX_MEM = 64 << 20  # RE2's budget for its automata; past it RE2 falls back to a slower, still linear, engine


@dataclass(frozen=True)
class Recogniser:
    name: str
    pattern: bytes
    steps: StepRule = "plain"
    example: str = ""  # a line it reads, for the README and the tests


RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser(
        "llm.c",
        rb"(?m)^step[ \t]+(?P<step>[0-9]+)/[0-9]+ \| loss[ \t]+" + _V,
        example="step    1/19560 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07",
    ),
    Recogniser(
        "llm.c (CPU)",
        rb"(?m)^step (?P<step>[0-9]+): train loss " + _V + rb" \(took",
        example="step 40: train loss 4.377385 (took 1052.6 ms)",
    ),
    Recogniser(
        "modded-nanogpt",
        rb"(?m)^step:(?P<step>[0-9]+)/[0-9]+ train_loss:" + _V,
        example="step:946/6200 train_loss:3.4102 train_time:190420ms step_avg:201.70ms",
    ),
    Recogniser(
        "llm.c main.log / modded-nanogpt (2024 records)",
        rb"(?m)^s:(?P<step>[0-9]+) trl:" + _V,
        example="s:12 trl:9.2541 lr:0.0018 norm:1.21",
    ),
    Recogniser(
        "OLMo",
        rb"(?m)\[step=(?P<head>[0-9]+)(?:/[0-9]+)?(?:,[^\]\n]*)?\][ \t\r]*$|^[ \t]+train/(?:CrossEntropyLoss|CE loss)="
        + _V
        + rb"[ \t\r]*$",
        example="[step=120/1000,epoch=0] then, indented on its own line, train/CrossEntropyLoss=3.674",
    ),
    Recogniser(
        "detectron2",
        rb"\biter: (?P<step>[0-9]+)[ \t]+total_loss: " + _V,
        example="d2.utils.events INFO:  eta: 0:05:00  iter: 19  total_loss: 1.214  loss_cls: 0.52",
    ),
    Recogniser(
        "DeepSpeed-Chat",
        rb"\bstep: (?P<step>[0-9]+)\|ppo_ep: [0-9]+\|act_loss: " + _V,
        steps="restarts",
        example="epoch: 0|step: 12|ppo_ep: 1|act_loss: 0.2099|cri_loss: 0.1204|unsuper_loss: 0.0",
    ),
    Recogniser(
        "LeRobot",
        rb"\bstep:(?P<step>[0-9]+(?:\.[0-9]+)?[KMBTQ]?) smpl:[^\n]*? loss:" + _V,
        steps="rounded",
        example="INFO 2024-06-01 12:00:00 ts/train.py:200 step:1K smpl:32K ep:2 epch:0.25 loss:0.023 grdn:1.2",
    ),
    Recogniser(
        "nanoGPT",
        rb"(?m)^iter (?P<step>[0-9]+): loss " + _V,
        example="iter 100: loss 3.2100, time 12.34ms, mfu 30.00%",
    ),
    Recogniser(
        "Hugging Face Trainer",
        rb"\{['\"]loss['\"]: ['\"]?" + _V + rb"['\"]?[,}]",
        steps="count",
        example="{'loss': 0.5213, 'grad_norm': 1.94, 'learning_rate': 4.9e-05, 'epoch': 0.3}",
    ),
    Recogniser(
        "Keras",
        rb"(?m)^Epoch (?P<head>[0-9]+)/[0-9]+[ \t\r]*$|(?:^|[ \x08])- loss: " + _V,
        steps="restarts",
        example="Epoch 3/10 then, on a later line, 128/128 [====] - 5s 3ms/step - loss: 0.4102 - val_loss: 0.45",
    ),
    Recogniser(
        "tqdm / Lightning progress bar",
        rb"(?P<step>[0-9]+)/[0-9]+ \[[^\]\n]*[ ,](?:train_)?loss(?:_step)?=" + _V,
        steps="restarts",
        example="Epoch 0:  45%|████▌     | 45/100 [00:10<00:12,  4.50it/s, loss=0.231, v_num=0]",
    ),
    # Hand-written training loops (nanoGPT-style scripts, diffusion LMs, tutorials). Listed last: a
    # trainer's own recogniser wins a tie. A step counted within an epoch starts again each epoch.
    Recogniser(
        "epoch, step and loss",
        rb"(?i)\bepoch[ :=\[]*[0-9]+(?:/[0-9]+)?\]?[ ,|:\t-]+(?:step|iter(?:ation)?|batch)[ :=\[]*(?P<step>[0-9]+)"
        rb"(?:/[0-9]+)?\]?[ ,|:\t-]+(?:train_)?loss[ :=]+" + _V,
        steps="restarts",
        example="Epoch [1/10], Step [100/600], Loss: 0.2154",
    ),
    Recogniser(
        "step and loss",
        rb"(?mi)^[^\w\n]{0,4}(?:step|iter(?:ation)?)[ :=\[]*(?P<step>[0-9]+)(?:/[0-9]+)?\]?"
        rb"[ ,|:\t-]+(?:train_)?loss[ :=]+" + _V,
        example="step 100 | loss 3.2100 | lr 6.0e-04 | 45.2ms",
    ),
)


@dataclass(frozen=True)
class Compiled:
    """A recogniser (or the user's pattern) compiled, with its group numbers (0: absent)."""

    name: str
    regexp: Any  # re2._Regexp
    steps: StepRule
    step: int
    value: int
    head: int


def _options() -> Any:
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.log_errors = False
    return options


@cache
def compiled() -> tuple[Compiled, ...]:
    return tuple(_compile(r.name, r.pattern, r.steps) for r in RECOGNISERS)


def _compile(name: str, pattern: bytes, steps: StepRule) -> Compiled:
    regexp = re2.compile(pattern, _options())
    groups = _groups(regexp)
    return Compiled(name, regexp, steps, groups.get("step", 0), groups.get("value", 0), groups.get("head", 0))


def _groups(regexp: Any) -> dict[str, int]:
    """Group names to numbers (RE2 names a bytes pattern's groups with bytes)."""
    return {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k): v for k, v in regexp.groupindex.items()}


def user_pattern(text: str) -> Compiled:
    """The ``pattern`` input compiled; ValueError with the reason when it cannot be used."""
    try:
        regexp = re2.compile(text.encode("utf-8"), _options())
    except re2.error as exc:
        raise ValueError(f"is not a valid regular expression ({_reason(exc)})") from None
    groups = _groups(regexp)
    missing = [name for name in ("step", "value") if name not in groups]
    if missing:
        raise ValueError("needs the named groups (?P<step>...) and (?P<value>...); missing " + " and ".join(missing))
    if regexp.search(b"") is not None:
        raise ValueError("matches the empty string, so it would match everywhere")
    return Compiled("pattern", regexp, "rounded", groups["step"], groups["value"], 0)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else "rejected by RE2"
    return text[:200]


def best(head: bytes) -> Compiled | None:
    """The recogniser with the most training lines in ``head``; None when none matches. Ties go to
    the one listed first."""
    found: Compiled | None = None
    most = 0
    for candidate in compiled():
        count = 0
        for match in candidate.regexp.finditer(head):
            count += match.span(candidate.value)[0] >= 0  # a head line alone is no training line
            if count >= 64:  # enough to decide
                break
        if count > most:
            found, most = candidate, count
    return found


def names() -> tuple[str, ...]:
    return tuple(r.name for r in RECOGNISERS)
