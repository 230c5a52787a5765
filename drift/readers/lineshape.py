"""Whether a pattern's matches are line-shaped: each starts at a line start and holds no newline.

For such a pattern the native scanner (drift/native/textscan.cc, MODE_LINES) runs one anchored
match at each line start, within its line, instead of RE2's unanchored search from the end of the
last match: the same matches (the leftmost from any position is at the first line start where the
pattern matches), at about a third of the cost, and the lines can be split between threads.

The test is on the pattern's text and errs towards no: a pattern passes only when it opens with
the multi-line flag and ``^`` (``(?m)^``, with ``i`` or ``U`` beside ``m`` allowed), has no ``|``
outside a group, and everything in it that consumes text is one of a few constructs known never
to match a newline: literal characters, ``.`` (no ``s`` flag anywhere), ``\\d``, ``\\w``, ``\\S``,
escaped punctuation, ``\\t``-style escapes other than ``\\n``, and classes that leave out the
newline (a positive class without it, a negated one with it). Anything else (``\\s``, ``\\D``,
``\\x0a``, ``\\p{..}``, ``[[:space:]]``, a range over the newline, ``\\A``, another flag) answers no,
and the scanner runs RE2's search as before.
"""

from __future__ import annotations

_FLAGS = frozenset(b"imU")  # case folding and ungreediness change nothing about newlines
_QUANTIFIERS = frozenset(b"*+?{")
_SAFE_ESCAPES = frozenset(b"dwSbBtrfav")  # never a newline, or empty-width
_NEWLINE_CLASSES = frozenset(b"sDW")  # classes that hold the newline
_NO_NEWLINE_CLASSES = frozenset(b"dwS")
_CHAR_ESCAPES = {ord("t"): 9, ord("n"): 10, ord("r"): 13, ord("f"): 12, ord("v"): 11, ord("a"): 7}
_NEWLINE = 10


def line_shaped(pattern: bytes) -> bool:
    """Whether every match of ``pattern`` (RE2 syntax) starts at a line start and holds no newline."""
    body = _after_anchor(pattern)
    if body is None or (len(body) > 0 and body[0] in _QUANTIFIERS):  # ^* would not anchor
        return False
    depth = 0
    i = 0
    while i < len(body):
        byte = body[i]
        if byte == ord("\\"):
            if i + 1 >= len(body) or not _safe_escape(body[i + 1]):
                return False
            i += 2
        elif byte == ord("["):
            end = _class_end(body, i)
            if end < 0:
                return False
            i = end
        elif byte == ord("("):
            opened = _group_open(body, i)
            if opened < 0:
                return False
            depth += 1
            i = opened
        elif byte == ord(")"):
            depth -= 1
            if depth < 0:
                return False
            i += 1
        elif (byte == ord("|") and depth == 0) or byte == _NEWLINE:
            return False
        else:
            i += 1
    return depth == 0


def _after_anchor(pattern: bytes) -> bytes | None:
    """The pattern after its opening ``(?m)^`` (flags in any order), or None."""
    if not pattern.startswith(b"(?"):
        return None
    close = pattern.find(b")")
    flags = pattern[2:close]
    if close < 0 or ord("m") not in flags or not set(flags) <= _FLAGS or pattern[close + 1 : close + 2] != b"^":
        return None
    return pattern[close + 2 :]


def _safe_escape(byte: int) -> bool:
    """``\\`` then ``byte`` outside a class: never a newline, never a look at text beyond the line."""
    return byte in _SAFE_ESCAPES or (byte < 128 and not chr(byte).isalnum() and byte != _NEWLINE)


def _group_open(body: bytes, i: int) -> int:
    """Past the opening of a group at ``body[i]``: ``(``, ``(?:``, ``(?P<name>``, ``(?<name>`` or
    ``(?flags:`` with the flags above; -1 for anything else."""
    if body[i + 1 : i + 2] != b"?":
        return i + 1
    rest = body[i + 2 :]
    if rest.startswith((b"P<", b"<")):
        close = rest.find(b">")
        name = rest[rest.find(b"<") + 1 : close]
        return i + 2 + close + 1 if close > 0 and name and (name.replace(b"_", b"").isalnum()) else -1
    colon = rest.find(b":")
    if colon < 0 or not set(rest[:colon]) <= _FLAGS:
        return -1
    return i + 2 + colon + 1


def _class_end(body: bytes, i: int) -> int:
    """Past the class opening at ``body[i]`` when it leaves out the newline, else -1."""
    j = i + 1
    negated = body[j : j + 1] == b"^"
    j += negated
    first = True
    has_newline = False
    while j < len(body) and (body[j] != ord("]") or first):
        first = False
        low, j = _class_char(body, j)
        if low is None:
            return -1
        if low < 0:  # a class escape: -1 holds no newline, -2 holds one
            has_newline = has_newline or low == -2
            continue
        high: int | None = low
        if body[j : j + 1] == b"-" and body[j + 1 : j + 2] not in (b"]", b""):
            high, j = _class_char(body, j + 1)
            if high is None or high < 0:
                return -1
        assert high is not None
        has_newline = has_newline or low <= _NEWLINE <= high
    if j >= len(body):
        return -1
    return j + 1 if has_newline == negated else -1


def _class_char(body: bytes, j: int) -> tuple[int | None, int]:
    """One member of a class at ``body[j]``: (its code, past it), (-1 or -2, past it) for a class
    escape without or with the newline, (None, j) for what this test does not read."""
    byte = body[j]
    if byte == ord("[") and body[j + 1 : j + 2] == b":":
        return None, j
    if byte != ord("\\"):
        j += 1
        while byte >= 0x80 and j < len(body) and 0x80 <= body[j] < 0xC0:  # the rest of a UTF-8 character
            j += 1
        return byte, j
    if j + 1 >= len(body):
        return None, j
    escaped = body[j + 1]
    if escaped in _NO_NEWLINE_CLASSES:
        return -1, j + 2
    if escaped in _NEWLINE_CLASSES:
        return -2, j + 2
    if escaped in _CHAR_ESCAPES:
        return _CHAR_ESCAPES[escaped], j + 2
    if escaped < 128 and not chr(escaped).isalnum():
        return escaped, j + 2
    return None, j
