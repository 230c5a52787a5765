"""drift/readers/lineshape.py: a pattern it calls line-shaped has only matches that start at a line
start and hold no newline (checked against RE2 on hostile text), and the constructs that could
match a newline or anchor elsewhere are refused."""

from __future__ import annotations

import random

import re2  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.readers.lineshape import line_shaped
from drift.readers.recognisers import RECOGNISERS

SHAPED = [
    rb"(?m)^step +(?P<step>\d+)/\d+ \| loss (?P<value>\S+)",
    rb"(?mi)^[^\w\n]{0,4}(?:step|iter)[ :=\[]*(?P<step>[0-9]+)",
    rb"(?m)^[]a-c]x$",
    rb"(?m)^[^]\n]+\b",
    rb"(?Um)^a.*b",
    rb"(?m)^(?P<a>x)(?:y|z)(?i:nan|inf)",
]
REFUSED = [
    rb"^step",  # not multi-line: the start of the text only
    rb"(?m)step",  # no anchor
    rb"(?m)^a|b",  # the second alternative starts anywhere
    rb"(?m)^*a",
    rb"(?m)^a\sb",  # \s holds the newline
    rb"(?m)^a\Db",
    rb"(?m)^a\Wb",
    rb"(?m)^a\nb",
    rb"(?m)^a\x0ab",
    rb"(?m)^a\012",
    rb"(?m)^a\pLb",
    rb"(?m)^a\Cb",
    rb"(?m)^a\z",
    rb"(?m)^a\Ab",
    rb"(?ms)^a.b",
    rb"(?m)^a(?s:.)b",
    rb"(?m)^a(?-m:$)",
    rb"(?m)^a[^b]",  # a negated class without the newline matches it
    rb"(?m)^a[\t-\r]",
    rb"(?m)^a[\x00-z]",
    rb"(?m)^a[[:space:]]",
    rb"(?m)^a[\s]",
    rb"(?m)^a\Qx\E",
    rb"(?m)^(a))|((b)",
    b"(?m)^a\nb",  # a literal newline
]


def test_the_table() -> None:
    for pattern in SHAPED:
        assert line_shaped(pattern), pattern
    for pattern in REFUSED:
        assert not line_shaped(pattern), pattern
    shaped = {r.name for r in RECOGNISERS if line_shaped(r.pattern)}
    assert shaped == {
        "llm.c",
        "llm.c (CPU)",
        "modded-nanogpt",
        "llm.c main.log / modded-nanogpt (2024 records)",
        "nanoGPT",
        "step and loss",
    }


_PIECES = [
    "a", "b", "\\d", "\\w", "\\S", "\\s", "\\D", "\\W", ".", "\\n", "\\t", "\\b", "$", "^", "[ab]", "[^a]",
    "[^a\\n]", "[\\t-\\r]", "[ -~]", "(?:a|\\n)", "(?:a|b)", "(?s:.)", "(?i:A)", "\\|", "\\.", "x*", "y+?", "z{0,2}",
    "|", "(?P<step>\\d+)",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_a_line_shaped_pattern_matches_only_whole_line_starts_without_newlines(seed: int) -> None:
    rng = random.Random(seed)
    body = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6)))
    pattern = (rng.choice(["(?m)^", "(?mi)^", "(?m)", "^", "(?s)(?m)^"]) + body).encode()
    try:
        regexp = re2.compile(pattern)
    except re2.error:
        return
    if not line_shaped(pattern):
        return
    text = "".join(rng.choice(["a", "b", "A", "1", " ", "\n", "\t", "\r", "é", "|", "."]) for _ in range(80)).encode()
    for match in regexp.finditer(text):
        start, end = match.span()
        assert start == 0 or text[start - 1 : start] == b"\n", (pattern, text, start)
        assert b"\n" not in text[start:end], (pattern, text, start, end)
