"""Failures the fuzzer found in ``drift/`` that are not fixed yet: a signature pattern, and where the
signature alone is too broad, a test on the input that tells the bug's inputs apart.

Each has a minimal reproducer in ``tests/test_fuzz.py`` marked ``xfail(strict=True)``: once the
bug is fixed that test passes, strict xfail turns the pass into a failure, and the entry here goes
with the marker. Until then the short CI run and ``tools/fuzz.py`` count these apart from new
failures; every other failure fails the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Case = dict[str, Any]


@dataclass(frozen=True)
class Known:
    id: str
    description: str
    signature: re.Pattern[str]
    detail: re.Pattern[str] | None = None  # searched in the violation or traceback, where the signature is broad
    applies: Callable[[Case], bool] = lambda case: True


# Found and fixed since (5c7e6a5 "Fixes from fuzzing", ad44114), their reproducers now regression tests
# in tests/test_fuzz.py: a multi-line ConfigError for a YAML constructor error; RecursionError from
# deep YAML nesting; ValueError/KeyError/AttributeError from !!int abc, !!float ., !!bool maybe,
# !!timestamp nope; output names holding '=' or '<<'; the MLflow fast path taking a timestamp int()
# refuses; an empty filter key read as no filter.
# Later fixed too: IndexError from an empty !!int/!!float; a duplicate key named raw in its message.
KNOWN: tuple[Known, ...] = ()


def known(signature: str, case: Case, detail: str = "") -> str | None:
    """The id of the known bug a failure belongs to, or None for a new one."""
    for bug in KNOWN:
        if not bug.signature.fullmatch(signature) or not bug.applies(case):
            continue
        if bug.detail is None or bug.detail.search(detail):
            return bug.id
    return None
