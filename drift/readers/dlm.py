"""dlm training logs: the JSON-lines reader with dlm's record shape (``type == "step"``)."""

from drift.readers.jsonl import DLM, read_dlm

__all__ = ["DLM", "read_dlm"]
