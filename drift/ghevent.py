"""The workflow's event: which pull request a run is about, from the webhook payload the runner
saved at GITHUB_EVENT_PATH.

The payload comes from GitHub, but the file is read like any hostile input: bounded, only when it
is a regular file, and any problem is a one-line reason, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drift.httpclient import one_line
from drift.runner import RunnerEnv

MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB; a larger file is not one
_MAX_NUMBER = 2**53

PR_EVENTS = frozenset({"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"})
# The top-level key that marks each event shape, in the order they are tried when the event name is unknown.
_SHAPES = (("pull_request", "pull_request"), ("workflow_run", "workflow_run"), ("issue", "issue_comment"))


def positive_int(value: object) -> int | None:
    """A positive JSON integer (not a bool, a float or a string), as issue numbers and comment ids are."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < _MAX_NUMBER:
        return value
    return None


def pull_number(env: RunnerEnv) -> int | str:
    """The pull request's number, or a one-line reason why the event names none."""
    event = env.event_name.strip()
    if event and event not in PR_EVENTS | {"issue_comment", "workflow_run"}:
        return f"the {one_line(event, 60)!r} event is not about a pull request"
    if not env.event_path:
        return "GITHUB_EVENT_PATH is not set, so the pull request is unknown"
    payload = _read_event(env.event_path)
    if isinstance(payload, str):
        return payload
    if not event:  # not set outside the runner: go by the payload's shape
        event = next(
            (name for key, name in _SHAPES if isinstance(payload.get(key), dict)),
            "",
        )
        if not event:
            return "the event payload is not about a pull request"
    return _number_from(payload, event)


def _read_event(path: str) -> dict[str, Any] | str:
    try:
        file = Path(path)
        if not file.is_file():  # also keeps a FIFO or a device from blocking or streaming forever
            return "the event payload file (GITHUB_EVENT_PATH) does not exist"
        with file.open("rb") as handle:
            raw = handle.read(MAX_EVENT_BYTES + 1)
    except (OSError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return f"cannot read the event payload file: {detail}"
    if len(raw) > MAX_EVENT_BYTES:
        return f"the event payload file is larger than {MAX_EVENT_BYTES // (1024 * 1024)} MiB"
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, a 5,000-digit number, deep nesting
        return "the event payload file is not valid JSON"
    if not isinstance(payload, dict):
        return "the event payload is not a JSON object"
    return payload


def _number_from(payload: Mapping[str, Any], event: str) -> int | str:
    if event in PR_EVENTS:
        pull = payload.get("pull_request")
        value = pull.get("number") if isinstance(pull, dict) else None
        where = "pull_request.number"
    elif event == "issue_comment":
        issue = payload.get("issue")
        if not isinstance(issue, dict):
            return "the issue_comment event payload has no issue"
        if not isinstance(issue.get("pull_request"), dict):
            return "the comment is on an issue, not on a pull request"
        value, where = issue.get("number"), "issue.number"
    else:
        run = payload.get("workflow_run")
        prs = run.get("pull_requests") if isinstance(run, dict) else None
        if not isinstance(prs, list) or not prs:
            # GitHub leaves this list empty when the triggering pull request came from a fork.
            return "the workflow_run event names no pull request (GitHub leaves it out for pull requests from forks)"
        first = prs[0]
        value = first.get("number") if isinstance(first, dict) else None
        where = "workflow_run.pull_requests[0].number"
    number = positive_int(value)
    return f"the event payload has no valid {where}" if number is None else number
