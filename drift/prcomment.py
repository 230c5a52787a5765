"""The pull-request comment: one per workflow+job, posted once and updated in place on later pushes.

Transport only: the caller renders the body and decides what to say when no comment can be written.
The gate's verdict never depends on the comment, so nothing here raises for HTTP or network trouble;
``upsert`` answers with a :class:`Result` instead, and no message ever holds the token.

REST endpoints (issue comments; every pull request is an issue):
``GET {api}/repos/{owner}/{repo}/issues/{n}/comments``, ``POST`` to the same path, and
``PATCH {api}/repos/{owner}/{repo}/issues/comments/{id}``. Rate-limit handling follows GitHub's
"Rate limits for the REST API": ``retry-after`` first, then ``x-ratelimit-remaining: 0`` with
``x-ratelimit-reset`` (UTC epoch seconds), else an exponential back-off.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import string
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from drift import httpclient
from drift.httpclient import Request, Response, Transport
from drift.httpclient import describe as _describe
from drift.httpclient import one_line as _one_line
from drift.httpclient import parse_int as _int
from drift.httpclient import refused as _refused
from drift.httpclient import retry_after as _retry_after

DEFAULT_API_URL = "https://api.github.com"
MAX_COMMENT_CHARS = 65536  # GitHub rejects a longer comment body with 422
MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB; a larger file is not one
MAX_RESPONSE_BYTES = httpclient.MAX_RESPONSE_BYTES  # a page of 100 comments is far smaller
PER_PAGE = 100  # the API's maximum
MAX_PAGES = 50  # 5,000 comments; past that the marker search gives up looking and a new comment is posted

# Retry policy. Every wait goes through the injected ``sleep``; ``DEADLINE`` bounds the whole upsert so a
# struggling API delays the step by well under a minute.
MAX_ATTEMPTS = 4  # per request: back-off waits of 1, 2 and 4 s
BASE_DELAY = 1.0
MAX_WAIT = 20.0  # the longest single wait; a server asking for more gets no further request from us
DEADLINE = 40.0  # seconds from the start of upsert: no wait or request starts past it
TIMEOUT = 10.0  # per request (connect, and each read)

_MESSAGE_CHARS = 300
_SERVER_MESSAGE_CHARS = 160
_URL_CHARS = 2000

Kind = Literal["created", "updated", "forbidden", "failed"]

# --- the hidden marker ---------------------------------------------------------------------------------

MARKER_PREFIX = "<!-- training-drift:"
MARKER_SUFFIX = " -->"
# Kept as they are; everything else is percent-encoded (UTF-8), so the marker is one ASCII line with
# no ``<``, ``>``, ``!`` or ``--`` and cannot close the HTML comment early. ``%``, ``/`` and ``~`` are
# always encoded: the encoding is reversible, so distinct workflow/job pairs get distinct markers.
_KEEP = frozenset(string.ascii_letters + string.digits + " _.,:;()[]{}+=@#&'")
_NAME_CHARS = 120  # an encoded name longer than this keeps its head and a hash of the whole name
_NAME_HEAD = 80


def _encode_name(name: str) -> str:
    out: list[str] = []
    for ch in name:
        if ch in _KEEP or (ch == "-" and not (out and out[-1] == "-")):
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
    text = "".join(out)
    if len(text) > _NAME_CHARS:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[:_NAME_HEAD]}~{digest}"
    return text


def marker(workflow: str, job: str) -> str:
    """The HTML comment that identifies this workflow+job's comment; deterministic, one line, inert."""
    return f"{MARKER_PREFIX}{_encode_name(workflow)}/{_encode_name(job)}{MARKER_SUFFIX}"


# --- the target ----------------------------------------------------------------------------------------

_REPO_PART = re.compile(r"[A-Za-z0-9_.-]+")
_PR_EVENTS = frozenset({"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"})
_MAX_NUMBER = 2**53


def _target_problem(api_url: str, owner: str, repo: str, number: object, token: str) -> str | None:
    """Why these values cannot address a comment, or None. Never echoes the URL or the token."""
    if not token:
        return "no GitHub token was given"
    if not (token.isascii() and token.isprintable()) or " " in token:
        return "the GitHub token holds characters that an HTTP header cannot carry"
    for part in (owner, repo):
        if not _REPO_PART.fullmatch(part) or part in (".", ".."):
            return "GITHUB_REPOSITORY is not of the form owner/name"
    if _number(number) is None:
        return "the pull request number is not a positive integer"
    if not (api_url.isascii() and api_url.isprintable()) or " " in api_url:
        return "GITHUB_API_URL holds characters a URL cannot"
    try:
        parts = urllib.parse.urlsplit(api_url)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return "GITHUB_API_URL is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "GITHUB_API_URL is not an http(s) URL"
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return "GITHUB_API_URL must not hold credentials, a query or a fragment"
    return None


def _number(value: object) -> int | None:
    """A positive JSON integer (not a bool, a float or a string), as issue numbers and comment ids are."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < _MAX_NUMBER:
        return value
    return None


@dataclass(frozen=True)
class Target:
    """Where the comment goes, and how we recognise it on later runs."""

    api_url: str  # no trailing slash; GHES: https://host/api/v3
    owner: str
    repo: str
    number: int
    token: str = field(repr=False)
    marker: str

    def __post_init__(self) -> None:
        problem = _target_problem(self.api_url, self.owner, self.repo, self.number, self.token)
        if problem is None and ("\n" in self.marker or "\r" in self.marker or not self.marker):
            problem = "the marker must be one non-empty line"
        if problem is not None:
            raise ValueError(problem)


def target_from_env(env: Mapping[str, str], token: str, number: int | None = None) -> Target | str:
    """The comment's target from the runner's environment, or a one-line reason why there is none.

    ``number`` overrides the event's pull request: a ``workflow_run`` run for a fork's pull
    request gets no number in its payload, so the recipe passes it along as an artifact.
    """
    found = _pull_number(env) if number is None else number
    if isinstance(found, str):
        return found
    owner, _, repo = env.get("GITHUB_REPOSITORY", "").strip().partition("/")
    if not owner or not repo:
        return "GITHUB_REPOSITORY is not set to owner/name"
    api_url = (env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/")
    token = token.strip()
    problem = _target_problem(api_url, owner, repo, found, token)
    if problem is not None:
        return problem
    return Target(api_url, owner, repo, found, token, marker(env.get("GITHUB_WORKFLOW", ""), env.get("GITHUB_JOB", "")))


def _pull_number(env: Mapping[str, str]) -> int | str:
    event = env.get("GITHUB_EVENT_NAME", "").strip()
    if event and event not in _PR_EVENTS | {"issue_comment", "workflow_run"}:
        return f"the {_one_line(event, 60)!r} event is not about a pull request"
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        return "GITHUB_EVENT_PATH is not set, so the pull request is unknown"
    payload = _read_event(path)
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


# The top-level key that marks each event shape, in the order they are tried when the event name is unknown.
_SHAPES = (("pull_request", "pull_request"), ("workflow_run", "workflow_run"), ("issue", "issue_comment"))


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
    if event in _PR_EVENTS:
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
    number = _number(value)
    return f"the event payload has no valid {where}" if number is None else number


# --- the transport -------------------------------------------------------------------------------------


def urllib_transport(request: Request) -> Response:
    """One request through the shared client (drift.httpclient), answers bounded by MAX_RESPONSE_BYTES."""
    return httpclient.urllib_transport(request, MAX_RESPONSE_BYTES)


def _json(body: bytes) -> object:
    return httpclient.json_body(body, MAX_RESPONSE_BYTES)


# --- the upsert ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    kind: Kind
    url: str | None  # html_url of the comment, when known
    message: str  # one line, never the token

    @property
    def ok(self) -> bool:
        return self.kind in ("created", "updated")


def comment_text(target: Target, body: str) -> str:
    """What is posted: the marker on its own line, then the body."""
    return f"{target.marker}\n{body}"


def room(target: Target) -> int:
    """How many characters of body fit in one comment beside this target's marker."""
    return MAX_COMMENT_CHARS - len(comment_text(target, ""))


def upsert(
    target: Target,
    body: str,
    *,
    transport: Transport = urllib_transport,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    max_attempts: int = MAX_ATTEMPTS,
    timeout: float = TIMEOUT,
) -> Result:
    """Update this workflow+job's comment on the pull request, or create it.

    The caller must fit ``body`` into :func:`room`: a longer body is a programming error and raises
    ``ValueError`` (GitHub would reject it). HTTP and network problems never raise: a token that may not
    write (403, as for pull requests from forks) or cannot see the pull request (404) gives ``forbidden``,
    anything else ``failed``. ``clock`` is epoch seconds: it reads ``x-ratelimit-reset`` and keeps the
    deadline; tests advance it from their ``sleep``.

    When several comments carry the marker (two runs raced), the newest one written by a bot account is
    updated (GITHUB_TOKEN and GitHub App tokens comment as bots, so a user pasting our marker cannot
    take the comment over), else the newest one. A POST that may have reached GitHub (5xx, timeout,
    dropped connection) is not simply repeated: the comments are listed again first, so that a retry
    does not leave a second comment behind.
    """
    text = comment_text(target, body)
    if len(text) > MAX_COMMENT_CHARS:
        raise ValueError(
            f"the comment is {len(text)} characters, over GitHub's limit of {MAX_COMMENT_CHARS}; "
            f"the caller must fit the body into room(target) = {room(target)}"
        )
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    session = _Session(target, transport, sleep, clock, max_attempts, timeout, clock() + DEADLINE)
    return _upsert(session, text)


@dataclass(frozen=True)
class _Comment:
    id: int
    url: str | None
    by_bot: bool

    @property
    def rank(self) -> tuple[bool, int]:
        return (self.by_bot, self.id)  # ids grow with time: the larger, the newer


@dataclass(frozen=True)
class _Reply:
    response: Response | None  # the last answer, if any came
    problem: str  # empty when the request succeeded
    maybe_applied: bool = False  # a non-idempotent request failed in a way that may have changed the server

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class _Retry:
    wait: float | None  # what the server asked for; None: our back-off
    rate_limited: bool


@dataclass(frozen=True)
class _Session:
    """The injected effects and the time budget of one upsert."""

    target: Target
    transport: Transport
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    max_attempts: int
    timeout: float
    deadline: float

    @property
    def base(self) -> str:
        quote = urllib.parse.quote
        return f"{self.target.api_url}/repos/{quote(self.target.owner, safe='')}/{quote(self.target.repo, safe='')}"

    def comments_url(self) -> str:
        return f"{self.base}/issues/{self.target.number}/comments"

    def comment_url(self, comment_id: int) -> str:
        return f"{self.base}/issues/comments/{comment_id}"

    def wait_problem(self, wait: float) -> str | None:
        """Why we will not wait this long, or None after waiting."""
        if wait > MAX_WAIT:
            return f"GitHub asked to wait {wait:.0f} s, longer than the {MAX_WAIT:.0f} s this step waits"
        if self.clock() + wait > self.deadline:
            return f"the {DEADLINE:.0f} s allowed for the comment ran out"
        self.sleep(wait)
        return None

    def call(self, method: str, url: str, payload: Mapping[str, str] | None, *, idempotent: bool) -> _Reply:
        headers = {
            "Authorization": f"Bearer {self.target.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "training-drift",
        }
        data = None
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(payload).encode("ascii")
        for attempt in range(1, self.max_attempts + 1):
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                return _Reply(None, f"the {DEADLINE:.0f} s allowed for the comment ran out")
            request = Request(method, url, headers, data, min(self.timeout, max(remaining, 1.0)))
            response: Response | None = None
            try:
                response = self.transport(request)
            except (OSError, http.client.HTTPException) as exc:
                retry, why = _Retry(None, rate_limited=False), self.clean(_describe(exc))
                if not idempotent and not _refused(exc):
                    return _Reply(None, why, maybe_applied=True)
            else:
                found = _retry_reason(response, self.clock())
                if found is None:
                    return _Reply(response, "" if 200 <= response.status < 300 else self.status_problem(response))
                retry, why = found, self.status_problem(response)
                if retry.rate_limited:
                    why = f"rate limited ({why})"
                elif not idempotent:  # a 5xx: GitHub may have acted before failing
                    return _Reply(response, why, maybe_applied=True)
            if attempt == self.max_attempts:
                return _Reply(response, f"{why}, gave up after {attempt} attempt{'s' if attempt > 1 else ''}")
            refusal = self.wait_problem(_backoff(attempt) if retry.wait is None else retry.wait)
            if refusal is not None:
                return _Reply(response, f"{why}; {refusal}")
        raise AssertionError("unreachable: the loop returns on its last attempt")

    def clean(self, text: str, limit: int = _MESSAGE_CHARS) -> str:
        """One bounded line without the token; redacted before it is cut, so no part of the token survives."""
        return _one_line(text.replace(self.target.token, "***"), limit)

    def status_problem(self, response: Response) -> str:
        if len(response.body) > MAX_RESPONSE_BYTES:
            return f"HTTP {response.status} (an answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB)"
        data = _json(response.body)
        said = data.get("message") if isinstance(data, dict) else None  # GitHub's error shape
        if not isinstance(said, str) or not said.strip():
            return f"HTTP {response.status}"
        return f"HTTP {response.status} ({self.clean(said, _SERVER_MESSAGE_CHARS)})"

    def result(self, kind: Kind, url: str | None, message: str) -> Result:
        if url is not None and (self.target.token in url or len(url) > _URL_CHARS or not url.isprintable()):
            url = None
        return Result(kind, url, self.clean(message))

    def refusal(self, reply: _Reply) -> int | None:
        """The status of a plain refusal (no rate limit, no server error), which no retry would change."""
        response = reply.response
        if reply.ok or response is None or _retry_reason(response, self.clock()) is not None:
            return None
        return response.status

    def failure(self, reply: _Reply, doing: str) -> Result:
        where = f"pull request #{self.target.number}"
        status = self.refusal(reply)
        if status is not None:
            if status == 403:
                return self.result(
                    "forbidden",
                    None,
                    f"cannot {doing} on {where}: {reply.problem}; the token may not write to pull requests "
                    "(GitHub gives pull requests from forks a read-only token)",
                )
            if status == 404:
                return self.result(
                    "forbidden",
                    None,
                    f"cannot {doing} on {where}: {reply.problem}; the token cannot see this pull request",
                )
        return self.result("failed", None, f"cannot {doing} on {where}: {reply.problem}")


def _upsert(session: _Session, text: str) -> Result:
    for round_ in range(1, session.max_attempts + 1):
        found = _find(session)
        if isinstance(found, Result):
            return found
        if found is not None:
            reply = session.call("PATCH", session.comment_url(found.id), {"body": text}, idempotent=True)
            if reply.ok:
                return session.result("updated", _html_url(reply) or found.url, f"updated comment {found.id}")
            if session.refusal(reply) not in (403, 404):  # not ours to edit, or deleted since listing: post anew
                return session.failure(reply, "update the comment")
        reply = session.call("POST", session.comments_url(), {"body": text}, idempotent=False)
        if reply.ok:
            return session.result("created", _html_url(reply), "created the comment")
        if not reply.maybe_applied or round_ == session.max_attempts:
            return session.failure(reply, "create the comment")
        # GitHub may have created it before failing: list again rather than risk a duplicate.
        refusal = session.wait_problem(_backoff(round_))
        if refusal is not None:
            return session.failure(_Reply(reply.response, f"{reply.problem}; {refusal}"), "create the comment")
    raise AssertionError("unreachable: the last round returns")


def _find(session: _Session) -> _Comment | Result | None:
    """The comment to update, if one carries our marker; a Result when the listing failed."""
    best: _Comment | None = None
    for page in range(1, MAX_PAGES + 1):
        url = f"{session.comments_url()}?per_page={PER_PAGE}&page={page}"
        reply = session.call("GET", url, None, idempotent=True)
        if not reply.ok or reply.response is None:
            return session.failure(reply, "list the comments")
        items = _json(reply.response.body)
        if not isinstance(items, list):
            oversized = len(reply.response.body) > MAX_RESPONSE_BYTES
            what = f"larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB" if oversized else "not a JSON list"
            return session.result(
                "failed",
                None,
                f"cannot list the comments on pull request #{session.target.number}: GitHub's answer is {what}",
            )
        for item in items:
            comment = _ours(item, session.target.marker)
            if comment is not None and (best is None or comment.rank > best.rank):
                best = comment
        if len(items) < PER_PAGE:
            break
    return best


def _ours(item: object, mark: str) -> _Comment | None:
    if not isinstance(item, dict):
        return None
    body, comment_id = item.get("body"), _number(item.get("id"))
    # Only a body that starts with the marker: a reply quoting our comment carries it further down.
    if not isinstance(body, str) or not body.startswith(mark) or comment_id is None:
        return None
    user = item.get("user")
    by_bot = isinstance(user, dict) and user.get("type") == "Bot"
    url = item.get("html_url")
    return _Comment(
        comment_id, url if isinstance(url, str) and url.startswith(("https://", "http://")) else None, by_bot
    )


def _html_url(reply: _Reply) -> str | None:
    data = _json(reply.response.body) if reply.response is not None else None
    url = data.get("html_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


# --- pure helpers --------------------------------------------------------------------------------------


def _retry_reason(response: Response, now: float) -> _Retry | None:
    """Whether this answer is worth another try, and the wait the server asked for."""
    status, headers = response.status, response.headers
    if 500 <= status <= 599:
        return _Retry(None, rate_limited=False)
    if status not in (403, 429):
        return None
    after = _retry_after(headers.get("retry-after", ""), now)
    if after is not None:
        return _Retry(after, rate_limited=True)
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        reset = _int(headers.get("x-ratelimit-reset", ""))
        # +1 s: the reset is a whole second, and the limit lifts only once it has passed.
        return _Retry(None if reset is None else max(0.0, reset - now) + 1.0, rate_limited=True)
    if status == 429 or _says_rate_limit(response):  # a secondary limit that named no wait
        return _Retry(None, rate_limited=True)
    return None  # a plain 403: the token may not do this


def _says_rate_limit(response: Response) -> bool:
    data = _json(response.body)
    said = data.get("message") if isinstance(data, dict) else None
    return isinstance(said, str) and "rate limit" in said.lower()


def _backoff(attempt: int) -> float:
    return min(BASE_DELAY * 2.0 ** min(attempt - 1, 30), MAX_WAIT)
