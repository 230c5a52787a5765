"""The GitHub Actions runtime contract, and the only module that knows its syntax.

Escaping follows @actions/core (packages/core/src/command.ts): data escapes ``%``, CR and LF;
properties additionally escape ``:`` and ``,``. Outputs use the heredoc form with a random
delimiter, as ``core.setOutput`` does when ``GITHUB_OUTPUT`` is set.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TextIO

# Annotation properties the runner understands, in the order @actions/core writes them.
_ANNOTATION_KEYS = ("title", "file", "line", "endLine", "col", "endColumn")


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", properties: Mapping[str, str | int | None] | None = None) -> str:
    """One workflow-command line, without the trailing newline."""
    text = f"::{name}"
    props = [
        f"{key}={escape_property(str(val))}"
        for key, val in (properties or {}).items()
        if val is not None and str(val) != ""
    ]
    if props:
        text += " " + ",".join(props)
    return f"{text}::{escape_data(message)}"


Level = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None

    def to_command(self) -> str:
        props: dict[str, str | int | None] = {"title": self.title, "file": self.file, "line": self.line}
        return command(self.level, self.message, {k: props.get(k) for k in _ANNOTATION_KEYS if k in props})


class Console:
    """Writes workflow commands and plain log text to the step's stdout."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def command(self, name: str, message: str = "", properties: Mapping[str, str | int | None] | None = None) -> None:
        self._stream.write(command(name, message, properties) + "\n")

    def annotate(self, annotation: Annotation) -> None:
        self._stream.write(annotation.to_command() + "\n")

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` in every later line of the log (@actions/core setSecret)."""
        if secret:
            self.command("add-mask", secret)

    def info(self, text: str) -> None:
        """Plain text that we wrote ourselves; must not hold log-derived content."""
        self._stream.write(text + "\n")

    @contextmanager
    def untrusted(self, title: str) -> Iterator[Callable[[str], None]]:
        """A collapsed group whose body is never parsed for workflow commands.

        Anything derived from a log (file names, field names) goes through here: the runner
        ignores every command until it sees the random token again, so a ``::error::`` or
        ``##[error]`` inside a log line stays text.
        """
        token = secrets.token_hex(16)
        self.command("group", title)
        self.command("stop-commands", token)

        def say(text: str) -> None:
            for line in text.split("\n"):
                clean = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in line)
                self._stream.write(clean.replace(token, "[token]") + "\n")

        try:
            yield say
        finally:
            self._stream.write(f"::{token}::\n")
            self.command("endgroup")
            self._stream.flush()


def format_outputs(outputs: Mapping[str, str]) -> str:
    """The text to append to ``GITHUB_OUTPUT`` for these outputs."""
    chunks = []
    for name, value in outputs.items():
        # The runner reads `name<<delimiter` up to the first `<<` and `name=value` up to the first `=`.
        if not name or any(bad in name for bad in ("\n", "\r", "=", "<")):
            raise ValueError(f"output name {name!r} cannot be written to GITHUB_OUTPUT")
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        # A collision is astronomically unlikely, but a hostile value must never end the block early.
        while delimiter in value or delimiter in name:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)
