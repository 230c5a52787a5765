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
import re
import string
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from drift import httpclient
from drift.ghevent import positive_int, pull_number
from drift.httpclient import Reply, Session, Transport, backoff, url_problem, urllib_transport
from drift.runner import RunnerEnv

DEFAULT_API_URL = "https://api.github.com"
MAX_COMMENT_CHARS = 65536  # GitHub rejects a longer comment body with 422
PER_PAGE = 100  # the API's maximum
MAX_PAGES = 50  # 5,000 comments; past that the marker search gives up looking and a new comment is posted

# Retry policy. Every wait goes through the injected ``sleep``; ``DEADLINE`` bounds the whole upsert so a
# struggling API delays the step by well under a minute.
MAX_ATTEMPTS = 4  # per request: back-off waits of 1, 2 and 4 s
BASE_DELAY = 1.0
MAX_WAIT = 20.0  # the longest single wait; a server asking for more gets no further request from us
DEADLINE = 40.0  # seconds from the start of upsert: no wait or request starts past it
TIMEOUT = 10.0  # per request (connect, and each read)

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


def _target_problem(api_url: str, owner: str, repo: str, number: object, token: str) -> str | None:
    """Why these values cannot address a comment, or None. Never echoes the URL or the token."""
    if not token:
        return "no GitHub token was given"
    if not (token.isascii() and token.isprintable()) or " " in token:
        return "the GitHub token holds characters that an HTTP header cannot carry"
    for part in (owner, repo):
        if not _REPO_PART.fullmatch(part) or part in (".", ".."):
            return "GITHUB_REPOSITORY is not of the form owner/name"
    if positive_int(number) is None:
        return "the pull request number is not a positive integer"
    problem = url_problem(api_url)
    return None if problem is None else f"GITHUB_API_URL {problem.value}"


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


def target_from_env(env: RunnerEnv, token: str, number: int | None = None, leg: str | None = None) -> Target | str:
    """The comment's target from the runner's environment, or a one-line reason why there is none.

    ``number`` overrides the event's pull request: a ``workflow_run`` run for a fork's pull
    request gets no number in its payload, so the recipe passes it along as an artifact. ``leg``
    tells apart the comments of one job's matrix legs (default: the job's id); the marker is
    built here, from the workflow and the leg.
    """
    found = pull_number(env) if number is None else number
    if isinstance(found, str):
        return found
    owner, _, repo = env.repository.strip().partition("/")
    if not owner or not repo:
        return "GITHUB_REPOSITORY is not set to owner/name"
    api_url = (env.api_url.strip() or DEFAULT_API_URL).rstrip("/")
    token = token.strip()
    problem = _target_problem(api_url, owner, repo, found, token)
    if problem is not None:
        return problem
    return Target(api_url, owner, repo, found, token, marker(env.workflow, env.job if leg is None else leg))


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
    http = Session(
        target.token,
        transport,
        sleep,
        clock,
        max_attempts,
        timeout,
        deadline=clock() + DEADLINE,
        budget=DEADLINE,
        max_wait=MAX_WAIT,
        base_delay=BASE_DELAY,
        purpose="the comment",
    )
    return _upsert(_Session(target, http), text)


@dataclass(frozen=True)
class _Comment:
    id: int
    url: str | None
    by_bot: bool

    @property
    def rank(self) -> tuple[bool, int]:
        return (self.by_bot, self.id)  # ids grow with time: the larger, the newer


@dataclass(frozen=True)
class _Session:
    """One upsert: its target and the REST session (retries, deadline) its requests go through."""

    target: Target
    http: Session

    @property
    def base(self) -> str:
        quote = urllib.parse.quote
        return f"{self.target.api_url}/repos/{quote(self.target.owner, safe='')}/{quote(self.target.repo, safe='')}"

    def comments_url(self) -> str:
        return f"{self.base}/issues/{self.target.number}/comments"

    def comment_url(self, comment_id: int) -> str:
        return f"{self.base}/issues/comments/{comment_id}"

    def result(self, kind: Kind, url: str | None, message: str) -> Result:
        if url is not None and (self.target.token in url or len(url) > _URL_CHARS or not url.isprintable()):
            url = None
        return Result(kind, url, self.http.clean(message))

    def failure(self, reply: Reply, doing: str) -> Result:
        where = f"pull request #{self.target.number}"
        status = self.http.refusal(reply)
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
    http = session.http
    for round_ in range(1, http.max_attempts + 1):
        found = _find(session)
        if isinstance(found, Result):
            return found
        if found is not None:
            reply = http.call("PATCH", session.comment_url(found.id), {"body": text}, idempotent=True)
            if reply.ok:
                return session.result("updated", _html_url(reply) or found.url, f"updated comment {found.id}")
            if http.refusal(reply) not in (403, 404):  # not ours to edit, or deleted since listing: post anew
                return session.failure(reply, "update the comment")
        reply = http.call("POST", session.comments_url(), {"body": text}, idempotent=False)
        if reply.ok:
            return session.result("created", _html_url(reply), "created the comment")
        if not reply.maybe_applied or round_ == http.max_attempts:
            return session.failure(reply, "create the comment")
        # GitHub may have created it before failing: list again rather than risk a duplicate.
        refusal = http.wait_problem(backoff(round_, BASE_DELAY, MAX_WAIT))
        if refusal is not None:
            return session.failure(Reply(reply.response, f"{reply.problem}; {refusal}"), "create the comment")
    raise AssertionError("unreachable: the last round returns")


def _find(session: _Session) -> _Comment | Result | None:
    """The comment to update, if one carries our marker; a Result when the listing failed."""
    best: _Comment | None = None
    for page in range(1, MAX_PAGES + 1):
        url = f"{session.comments_url()}?per_page={PER_PAGE}&page={page}"
        reply = session.http.call("GET", url, None, idempotent=True)
        if not reply.ok or reply.response is None:
            return session.failure(reply, "list the comments")
        items = httpclient.json_body(reply.response.body)
        if not isinstance(items, list):
            limit = httpclient.MAX_RESPONSE_BYTES
            oversized = len(reply.response.body) > limit
            what = f"larger than {limit // (1024 * 1024)} MiB" if oversized else "not a JSON list"
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
    body, comment_id = item.get("body"), positive_int(item.get("id"))
    # Only a body that starts with the marker: a reply quoting our comment carries it further down.
    if not isinstance(body, str) or not body.startswith(mark) or comment_id is None:
        return None
    user = item.get("user")
    by_bot = isinstance(user, dict) and user.get("type") == "Bot"
    url = item.get("html_url")
    return _Comment(
        comment_id, url if isinstance(url, str) and url.startswith(("https://", "http://")) else None, by_bot
    )


def _html_url(reply: Reply) -> str | None:
    data = httpclient.json_body(reply.response.body) if reply.response is not None else None
    url = data.get("html_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
