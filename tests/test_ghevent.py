"""drift/ghevent.py: the pull request's number from the event payload the runner saved, read as
hostile input (bounded, regular files only, never raising). The target built from it is in
test_prcomment.py."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import ghevent
from drift.ghevent import pull_number
from tests.test_prcomment import ISSUE_COMMENT, PULL, WORKFLOW_RUN, _env


@pytest.mark.parametrize(
    ("event", "payload", "number"),
    [
        ("pull_request", PULL, 12),
        ("pull_request_review_comment", PULL, 12),
        ("issue_comment", ISSUE_COMMENT, 13),
        ("workflow_run", WORKFLOW_RUN, 14),
        (None, WORKFLOW_RUN, 14),
        ("", ISSUE_COMMENT, 13),  # an empty name is an unknown one: go by shape
    ],
)
def test_each_event_shape_names_its_pull_request(tmp_path: Path, event: str | None, payload: Any, number: int) -> None:
    assert pull_number(_env(tmp_path, event, payload)) == number


def test_without_an_event_file(tmp_path: Path) -> None:
    env = _env(tmp_path, "pull_request", PULL)
    assert "GITHUB_EVENT_PATH is not set" in str(pull_number(replace(env, event_path="")))
    missing = str(tmp_path / "nope.json")
    assert "does not exist" in str(pull_number(replace(env, event_path=missing)))
    assert "does not exist" in str(pull_number(replace(env, event_path=str(tmp_path))))
    assert "does not exist" in str(pull_number(replace(env, event_path="a\x00b")))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_event_file_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "event.fifo"
    os.mkfifo(fifo)
    env = _env(tmp_path, "pull_request", PULL, GITHUB_EVENT_PATH=str(fifo))
    assert isinstance(pull_number(env), str)


def test_an_oversized_event_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ghevent, "MAX_EVENT_BYTES", 64)
    payload = {"pull_request": {"number": 12, "title": "x" * 100}}
    assert "larger than" in str(pull_number(_env(tmp_path, "pull_request", payload)))
    assert pull_number(_env(tmp_path, "pull_request", {"pull_request": {"number": 1}})) == 1


def test_the_event_file_is_read_with_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A huge file must not be pulled into memory just to learn that it is too large."""
    sizes: list[int] = []
    real_open = Path.open

    class Spy:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def read(self, size: int = -1) -> bytes:
            sizes.append(size)
            return bytes(self.handle.read(size))

    def spy_open(self: Path, *args: Any, **kwargs: Any) -> Spy:
        return Spy(real_open(self, *args, **kwargs))

    env = _env(tmp_path, "pull_request", PULL)
    monkeypatch.setattr(Path, "open", spy_open)
    assert pull_number(env) == 12
    assert sizes and all(0 < size <= ghevent.MAX_EVENT_BYTES + 1 for size in sizes)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["pull_request", "number", "issue", "workflow_run", "pull_requests"]) | st.text(max_size=3),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)
EVENTS = st.sampled_from([None, "pull_request", "issue_comment", "workflow_run", "push", ""])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(event=EVENTS, payload=JSONISH)
def test_never_raises_on_odd_json(tmp_path: Path, event: str | None, payload: Any) -> None:
    found = pull_number(_env(tmp_path, event, json.dumps(payload).encode()))
    if isinstance(found, int):
        assert found > 0 and not isinstance(found, bool)
    else:
        assert found and "\n" not in found


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(event=EVENTS, raw=st.binary(max_size=200))
def test_never_raises_on_odd_bytes(tmp_path: Path, event: str | None, raw: bytes) -> None:
    assert isinstance(pull_number(_env(tmp_path, event, raw)), (int, str))
