"""The engine: inputs as a pure function of (seed, target, index), each checked under a time limit,
failures deduplicated by a stable signature and saved as reproducer files.

A target generates a *case*: JSON-like data (dicts, lists, str, int, float, bool, None and bytes)
from a ``random.Random``, and checks it in a scratch folder it may reuse, raising on any failure.
A ``Violation`` is a property that does not hold (its ``kind`` is the signature); any other
exception is a crash, signed by its type and the innermost frame in ``drift/``. A check running
past the time limit is a hang: SIGALRM interrupts it (a ``BaseException``, so the code under test
cannot swallow it), and an input that ran over the limit without being interrupted (a long C
call) counts as one too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

TIME_LIMIT = 2.0
Case = dict[str, Any]


class Violation(AssertionError):
    """A property of a target that does not hold. ``kind`` names the property, not the input."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Hang(BaseException):
    """Raised by SIGALRM when one input runs past the time limit."""


class Target(Protocol):
    name: str
    weight: float  # share of a long run's inputs, relative to the other targets

    def generate(self, rng: random.Random) -> Case: ...

    def check(self, case: Case, scratch: Path) -> None: ...


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder in memory where there is one: rewriting a file on a disk costs a journal
    commit (about 0.3 ms here), on tmpfs a few microseconds."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="drift-fuzz-", dir=base) as folder:
        yield Path(folder)


def case_rng(seed: int, target: str, index: int) -> random.Random:
    return random.Random(f"{seed}/{target}/{index}")


@dataclass
class Failure:
    target: str
    seed: int
    index: int
    signature: str
    detail: str  # the traceback or the violation
    seconds: float
    case: Case
    minimized: Case | None = None
    known: str | None = None  # the id of the known bug it is (tests/fuzz/known.py), if any

    @property
    def key(self) -> str:
        """What failures are counted and deduplicated by: the signature, and the known bug if any."""
        return f"{self.signature} [known bug {self.known}]" if self.known else self.signature

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.seed,
            "index": self.index,
            "signature": self.signature,
            "known": self.known,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "case": encode(self.case),
            "minimized": encode(self.minimized) if self.minimized is not None else None,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Failure:
        minimized = data.get("minimized")
        return Failure(
            data["target"],
            data["seed"],
            data["index"],
            data["signature"],
            data["detail"],
            data["seconds"],
            decode(data["case"]),
            decode(minimized) if minimized is not None else None,
            data.get("known"),
        )

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(self.signature.encode()).hexdigest()[:10]
        path = folder / f"{self.target}-{digest}-seed{self.seed}-{self.index}.json"
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
        return path


def encode(value: Any) -> Any:
    """A case as JSON: bytes as {"base64": ...}, strings with lone surrogates as {"utf-8b": ...}."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {"surrogates": base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")}
        return value
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"base64"}:
            return base64.b64decode(value["base64"])
        if set(value) == {"surrogates"}:
            return base64.b64decode(value["surrogates"]).decode("utf-8", "surrogatepass")
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def signature(target: str, exc: BaseException) -> str:
    """Stable across inputs that fail the same way: the violated property, or the exception type and
    the innermost frame of the code under test."""
    if isinstance(exc, Violation):
        return f"{target}: {exc.kind}"
    if isinstance(exc, Hang):
        return f"{target}: hang"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/drift/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].name}" if ours else "?"
    return f"{target}: {type(exc).__name__} in {where}"


@dataclass
class Outcome:
    seconds: float
    error: BaseException | None = None

    def signature(self, target: str) -> str | None:
        return None if self.error is None else signature(target, self.error)

    def detail(self) -> str:
        if self.error is None:
            return ""
        if isinstance(self.error, Violation):
            return str(self.error)
        return "".join(traceback.format_exception(self.error))


def _alarm(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise Hang


def run_case(target: Target, case: Case, scratch: Path, limit: float = TIME_LIMIT) -> Outcome:
    """Check one case; the alarm handler must be installed (``alarms()``) for hangs to be cut short."""
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        target.check(case, scratch)
    except Hang as exc:
        return Outcome(time.perf_counter() - start, exc)
    except Exception as exc:  # anything else the target raised is a finding
        return Outcome(time.perf_counter() - start, exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - start
    if elapsed > limit:  # ran over without being interrupted: a long call in C
        return Outcome(elapsed, Hang(f"{elapsed:.1f} s"))
    return Outcome(elapsed)


class alarms:  # used as a context manager, like a function
    """Installs the SIGALRM handler for the duration (main thread only)."""

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGALRM, _alarm)

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


@dataclass
class Stats:
    """What one target's inputs gave."""

    inputs: int = 0
    seconds: float = 0.0  # time spent generating and checking, summed over workers
    slowest: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # Failure.key -> count
    examples: list[Failure] = field(default_factory=list)  # the first few of each key

    def add(self, other: Stats, keep: int = 3) -> None:
        self.inputs += other.inputs
        self.seconds += other.seconds
        self.slowest = max(self.slowest, other.slowest)
        for key, count in other.failures.items():
            self.failures[key] = self.failures.get(key, 0) + count
        for failure in other.examples:
            if sum(f.key == failure.key for f in self.examples) < keep:
                self.examples.append(failure)

    def new(self) -> list[Failure]:
        """The kept failures that are no known bug."""
        return [f for f in self.examples if f.known is None]


def fuzz(
    target: Target,
    seed: int,
    indices: Iterable[int],
    scratch: Path,
    *,
    limit: float = TIME_LIMIT,
    keep: int = 3,
    on_input: Callable[[int], None] | None = None,
    classify: Callable[[str, Case, str], str | None] | None = None,
) -> Stats:
    """Generate and check every index; keeps the first ``keep`` failures of each signature (and
    known bug: ``classify`` names the known bug a failure is, if any)."""
    stats = Stats()
    scratch.mkdir(parents=True, exist_ok=True)
    with alarms():
        for index in indices:
            if on_input is not None:
                on_input(index)
            start = time.perf_counter()
            try:
                case = target.generate(case_rng(seed, target.name, index))
            except Exception as exc:  # a bug in the generator: report it like any other failure
                outcome = Outcome(0.0, exc)
                case = {}
            else:
                outcome = run_case(target, case, scratch, limit)
            elapsed = time.perf_counter() - start
            stats.inputs += 1
            stats.seconds += elapsed
            stats.slowest = max(stats.slowest, outcome.seconds)
            sig = outcome.signature(target.name)
            if sig is not None:
                detail = outcome.detail()
                bug = classify(sig, case, detail) if classify is not None else None
                failure = Failure(target.name, seed, index, sig, detail, outcome.seconds, case, known=bug)
                stats.failures[failure.key] = stats.failures.get(failure.key, 0) + 1
                if stats.failures[failure.key] <= keep:
                    stats.examples.append(failure)
    return stats


def minimize(
    target: Target,
    failure: Failure,
    scratch: Path,
    *,
    budget: float = 20.0,
    limit: float = TIME_LIMIT,
    classify: Callable[[str, Case, str], str | None] | None = None,
) -> Case:
    """A smaller case that fails with the same signature (and is the same known bug, or none):
    ranges of bytes, characters and list items are cut away, halving the range size down to one,
    while the failure holds."""
    deadline = time.monotonic() + budget
    best = failure.case

    def still_fails(candidate: Case) -> bool:
        try:
            outcome = run_case(target, candidate, scratch, limit)
        except Exception:
            return False
        sig = outcome.signature(target.name)
        if sig != failure.signature:
            return False
        return classify is None or classify(sig, candidate, outcome.detail()) == failure.known

    with alarms():
        for path in _leaves(best):
            try:  # an earlier cut may have removed the list item this path went through
                size = len(_get(best, path))
            except (IndexError, KeyError, TypeError):
                continue
            chunk = max(1, size // 2)
            while chunk >= 1 and time.monotonic() < deadline:
                start = 0
                while start < len(_get(best, path)) and time.monotonic() < deadline:
                    value = _get(best, path)
                    candidate = _set(best, path, value[:start] + value[start + chunk :])
                    if still_fails(candidate):
                        best = candidate
                    else:
                        start += chunk
                chunk //= 2
    return best


Path_ = tuple[str | int, ...]


def _leaves(value: Any, path: Path_ = ()) -> list[Path_]:
    """Paths to every bytes, str and list in a case, the outer ones first."""
    found: list[Path_] = []
    if isinstance(value, bytes | str) and value:
        found.append(path)
    elif isinstance(value, list):
        if value:
            found.append(path)
        for i, item in enumerate(value):
            found += _leaves(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _leaves(item, (*path, key))
    return found


def _get(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(value: Any, path: Path_, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _set(value[head], rest, new)}
    assert isinstance(head, int)
    copy = list(value)
    copy[head] = _set(copy[head], rest, new)
    return copy
