"""Making untrusted text inert in Markdown and on a terminal."""

from __future__ import annotations

import html
import math
import re

# Backslash-escapable ASCII punctuation that GFM gives meaning to (tables, links, emphasis, code,
# headings, lists, emoji shortcodes); & < > " ' become HTML entities after this pass.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:^$=])")


def md(text: str, limit: int = 200) -> str:
    """Untrusted text as literal Markdown inline content: no HTML, no links, no table breaks."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    escaped = html.escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=True)
    return escaped.replace("@", "&#64;")


def code(text: str, limit: int = 200) -> str:
    """Untrusted text in monospace: a ``<code>`` element around fully escaped content.

    A Markdown code span would show ``<`` literally but leave it raw in the file; here every
    ``<`` from the text is an entity, so the only tags in the summary are our own.
    """
    return f"<code>{md(text, limit)}</code>"


def plain(text: str, limit: int = 200) -> str:
    """Untrusted text for a terminal or a log line: no control characters."""
    flat = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def num(x: float | int | None, digits: int = 4) -> str:
    """A metric for people: integers as they are, floats to a few significant digits."""
    if x is None:
        return "–"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"
