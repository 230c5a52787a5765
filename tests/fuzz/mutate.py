"""Byte-level damage: what a crash mid-write, a hand edit, a wrong encoding or an attacker does to a file.

``mutate`` applies a few random operations to a seed; ``hostile_text`` makes strings for names,
titles and messages. Everything draws from the ``random.Random`` it is given, so an input is a
pure function of its seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

# Bytes that mean something to one of the parsers or to the runner.
TOKENS: tuple[bytes, ...] = (
    b"::",
    b"::error::pwned",
    b"::warning file=x,line=1::pwned",
    b"::stop-commands::x",
    b"::endgroup::",
    b"##[error]pwned",
    b"%",
    b"%0A",
    b"%0D",
    b"%25",
    b"%3A",
    b"%2C",
    b"\r\n",
    b"\r",
    b"\n",
    b"\n\n",
    b"\x00",
    b"\t",
    b" ",
    b"\x0b",
    b"\x0c",
    b"\x1b[31m",
    b"\x7f",
    b"\xef\xbb\xbf",  # BOM
    b"\xff",
    b"\xfe\xff",
    b"\xc3",  # a cut UTF-8 sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xc0\xaf",  # an overlong encoding
    b"\xe2\x80\xa8",  # U+2028
    b"\xc2\x85",  # U+0085
    b"\xe2\x80\xae",  # right-to-left override
    b'"',
    b"'",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b'\\"',
    b",",
    b";",
    b":",
    b"=",
    b"<<",
    b"{",
    b"}",
    b"[",
    b"]",
    b"{}",
    b"[]",
    b"- ",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"<script>alert(1)</script>",
    b"<img src=x onerror=alert(1)>",
    b"ghadelimiter_00000000-0000-0000-0000-000000000000",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"nan",
    b"inf",
    b"null",
    b"true",
    b"NA",
    b'"step"',
    b'"loss"',
    b'"type": "step"',
    b'"log_history": [',
    b"train/loss",
)

# Number spellings at the edges of int64, float64 and of what each parser accepts.
NUMBERS: tuple[str, ...] = (
    "0",
    "-0",
    "1",
    "-1",
    "7",
    "42",
    "1000",
    "0.0",
    "-0.0",
    "3.0",
    "2.5",
    "0.1",
    "1e3",
    "1E+3",
    "2.5e-3",
    "1e308",
    "1e309",
    "1e400",
    "-1e400",
    "1e-400",
    "5e-324",
    "2.2250738585072014e-308",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "9.3e18",
    "-9.3e18",
    "9.223372036854775807e18",
    "123456789012345678901234567890",
    "1" + "0" * 40,
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    "-inf",
    "+1",
    "01",
    "1.",
    ".5",
    "1e",
    "1e+",
    "-",
    "--1",
    "0x10",
    "1_000",
    "\uff11",  # a full-width digit: int() takes it, JSON does not
    "1.5.2",
    "1ee5",
    " 7 ",
)

_NUMBER = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_CONTROL = (b"\x00", b"\r", b"\n", b"\r\n", b"\x0b", b"\x0c", b"\x1b", b"\x7f", b"\xc2\x85", b"\xe2\x80\xa8", b"\t")


def number(rng: random.Random) -> str:
    """A number as text: an edge case, or a random integer or float in one of several spellings."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(NUMBERS)
    if roll < 0.6:
        return str(rng.randint(-(10**6), 10**6))
    if roll < 0.75:
        return str(rng.randint(-(2**64), 2**64))
    if roll < 0.9:
        return repr(rng.uniform(-10, 10) * 10 ** rng.randint(-30, 30))
    mantissa = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
    exponent = rng.choice(("", f"e{rng.randint(-400, 400)}"))
    return f"{rng.choice(('', '-'))}{mantissa}{rng.choice(('', '.5', '.0'))}{exponent}"


def mutate(
    data: bytes, rng: random.Random, others: Sequence[bytes] = (), *, max_size: int = 1 << 15, max_depth: int = 3000
) -> bytes:
    """``data`` after one to a dozen random damage operations (the result stays under ``max_size``,
    except for the rare deliberately long line; nesting stays under ``max_depth``)."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 12))):
        _one(buf, rng, others, max_depth)
        if len(buf) > max_size and rng.random() < 0.98:
            del buf[max_size:]
    return bytes(buf)


def _pos(buf: bytearray, rng: random.Random) -> int:
    if buf and rng.random() < 0.3:  # at a line start: where a line-oriented parser looks
        at = buf.find(b"\n", rng.randrange(len(buf)))
        return at + 1 if at >= 0 else len(buf)
    return rng.randint(0, len(buf))


def _insert(buf: bytearray, rng: random.Random, piece: bytes) -> None:
    at = _pos(buf, rng)
    buf[at:at] = piece


def _one(buf: bytearray, rng: random.Random, others: Sequence[bytes], max_depth: int) -> None:
    op = rng.randrange(17)
    n = len(buf)
    if op == 0 and n:  # flip a bit
        i = rng.randrange(n)
        buf[i] ^= 1 << rng.randrange(8)
    elif op == 1 and n:  # set a byte
        buf[rng.randrange(n)] = rng.randrange(256)
    elif op == 2 and n:  # a byte one up or down: digits, quotes, brackets shift into their neighbours
        i = rng.randrange(n)
        buf[i] = (buf[i] + rng.choice((-1, 1))) % 256
    elif op in (3, 4):  # insert a token that means something to some parser
        _insert(buf, rng, rng.choice(TOKENS))
    elif op == 5 and n:  # delete a range
        i = rng.randrange(n)
        del buf[i : i + rng.choice((1, 2, 4, 16, 64, n))]
    elif op == 6 and n:  # duplicate a range somewhere else
        i = rng.randrange(n)
        piece = bytes(buf[i : i + rng.choice((1, 8, 64, 512))])
        j = _pos(buf, rng)
        buf[j:j] = piece
    elif op == 7 and n:  # truncate: a crash mid-write
        del buf[rng.randrange(n) :]
    elif op == 8 and others:  # splice with another seed
        other = rng.choice(others)
        i = rng.randint(0, n)
        j = rng.randint(0, len(other))
        buf[i:] = other[j : j + rng.choice((16, 256, 4096))]
    elif op == 9:  # a control character
        _insert(buf, rng, rng.choice(_CONTROL))
    elif op == 10 and n:  # replace a number with an edge-case number
        found = _NUMBER.search(buf, rng.randrange(n))
        if found:
            buf[found.start() : found.end()] = number(rng).encode("utf-8")
    elif op == 11:  # a long run: a long line, a long token
        piece = rng.choice((b"a", b"9", b" ", b"\x00", b"[", b'"', b"\\", b"::", b"\xff", b"x,"))
        count = rng.choice((100, 1000, 5000)) if rng.random() < 0.97 else 140_000  # past csv's MAX_LINE
        _insert(buf, rng, piece * count)
    elif op == 12:  # deep nesting
        depth = min(max_depth, rng.choice((50, 500, 500, 3000)))
        opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}"), (b"- ", b""), (b"[", b"")))
        i = _pos(buf, rng)
        buf[i:i] = opener * depth + b"1" + closer * depth
    elif op == 13 and n > 1:  # swap two lines
        lines = bytes(buf).split(b"\n")
        if len(lines) > 1:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            buf[:] = b"\n".join(lines)
    elif op == 14:  # random bytes
        _insert(buf, rng, rng.randbytes(rng.randint(1, 16)))
    elif op == 15 and n:  # line endings
        old, new = rng.choice(((b"\n", b"\r\n"), (b"\n", b"\r"), (b"\r\n", b"\n"), (b"\n", b"\n\n")))
        buf[:] = bytes(buf).replace(old, new, -1 if rng.random() < 0.5 else 1)
    elif op == 16 and n:  # repeat the whole thing: many more lines or records
        buf[:] = bytes(buf) * rng.choice((2, 3, 10))


ALPHABET = (
    "abcxyz019 _-./",
    ":,%=<>\"'`|*[]()#@!&;\\",
    "\r\n\t\x00\x0b\x0c\x1b\x7f\x85\u2028\u2029\x1c\x1d\x1e",
    "éü中文😀\u202e\u200b\ufeff\ufffd\xa0\u3000",
)
STRING_TOKENS: tuple[str, ...] = (
    "::",
    "::error::pwned",
    "::warning title=x::pwned",
    "::stop-commands::pwned",
    "::endgroup::",
    "::add-mask::secret",
    "##[error]pwned",
    "##[set-output name=x;]y",
    "%",
    "%0A",
    "%0D",
    "%25",
    "%3A",
    "%2C",
    "%250A",
    "\r\n",
    "\n",
    "\r",
    "<<",
    "=",
    "ghadelimiter_",
    "ghadelimiter_00000000-0000-0000-0000-000000000000",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</code>",
    "<sub>",
    "[link](http://evil)",
    "@someone",
    "`",
    "|",
    "${{ secrets.X }}",
    "train/loss",
    "loss",
)


def hostile_text(rng: random.Random, max_len: int = 40) -> str:
    """A string built from runner syntax, markdown/HTML, line breaks, control and odd Unicode."""
    parts: list[str] = []
    for _ in range(rng.randint(0, 6)):
        roll = rng.random()
        if roll < 0.35:
            parts.append(rng.choice(STRING_TOKENS))
        elif roll < 0.9:
            pool = rng.choice(ALPHABET)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        else:
            parts.append(" " * rng.randint(1, 3))
    text = "".join(parts)
    return text[:max_len] if rng.random() < 0.9 else text
