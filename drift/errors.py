"""Exceptions that carry a user-facing, one-line message."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad input or config file: the action stops with exit code 2 before reading logs."""


class LogError(Exception):
    """A log that cannot be read at all; the run it belongs to becomes ERROR."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
