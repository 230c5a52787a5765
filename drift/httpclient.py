"""The small HTTP client the REST callers share (the pull-request comment, the MLflow tracking server).

One request per call through urllib: proxies from the environment, certificates verified, no
redirects (a redirect would carry the Authorization header to wherever ``Location`` points), and
a bounded answer. Every status is an answer; only a request that got no answer raises.

``Session`` sends a REST API's requests with a bearer token: retries with back-off, the waits a
rate-limited server asks for (GitHub's rules), one deadline for them all, and messages that never
hold the token. What a status means for the caller's task stays with the caller.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from enum import Enum

MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # a page of 100 comments, or of MLflow's metric history, is far smaller


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)  # holds the token
    body: bytes | None
    timeout: float


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes  # at most MAX_RESPONSE_BYTES + 1: one byte more tells "too large" from "exactly full"


# Raises OSError or http.client.HTTPException when no HTTP response came back; any status is a Response.
Transport = Callable[[Request], Response]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the Authorization header to wherever Location points; none is needed here."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status, which we report as a failure


def _header_map(headers: Message) -> dict[str, str]:
    return {name.lower(): str(value) for name, value in headers.items()}


def urllib_transport(request: Request, limit: int | None = None) -> Response:
    """One HTTP(S) request through urllib: proxies from the environment, certificates verified, no
    redirects; at most ``limit + 1`` bytes of the answer are read (default MAX_RESPONSE_BYTES)."""
    limit = MAX_RESPONSE_BYTES if limit is None else limit
    if urllib.parse.urlsplit(request.url).scheme not in ("http", "https"):
        raise ValueError("only http and https URLs are requested")
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with opener.open(req, timeout=request.timeout) as reply:
            return Response(int(reply.status), _header_map(reply.headers), reply.read(limit + 1))
    except urllib.error.HTTPError as err:  # any status urllib does not call success; still an answer
        try:
            return Response(err.code, _header_map(err.headers), err.read(limit + 1))
        finally:
            err.close()


def json_body(body: bytes, limit: int | None = None) -> object:
    """The parsed body, or None when it is too large or not JSON: response bodies are untrusted."""
    if len(body) > (MAX_RESPONSE_BYTES if limit is None else limit):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def retry_after(value: str, now: float) -> float | None:
    """``retry-after`` as seconds to wait: delta-seconds (what GitHub sends) or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    seconds = parse_int(value)
    if seconds is not None:
        return float(max(seconds, 0))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def parse_int(value: str) -> int | None:
    value = value.strip()
    if not value or len(value) > 20 or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def refused(exc: BaseException) -> bool:
    """Nothing reached the server, so even a POST may be sent again."""
    reason = getattr(exc, "reason", None)  # urllib wraps the socket error in URLError
    return isinstance(exc, ConnectionRefusedError) or isinstance(reason, ConnectionRefusedError)


def describe(exc: BaseException) -> str:
    """A request that got no answer, in a few words."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error ({exc.strerror})"
    text = str(exc)
    return f"network error ({type(exc).__name__}{': ' + text if text else ''})"


def one_line(text: str, limit: int) -> str:
    """Printable, single-line and bounded: this text ends up in a workflow annotation."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class UrlProblem(Enum):
    """Why a URL cannot address a REST API; each caller words it for the input it came from."""

    CHARACTERS = "holds characters a URL cannot"
    INVALID = "is not a valid URL"
    SCHEME = "is not an http(s) URL"
    CREDENTIALS = "must not hold credentials"
    QUERY = "must not hold a query or a fragment"


def url_problem(url: str) -> UrlProblem | None:
    """Why ``url`` cannot be the base of a REST API's requests (an http(s) URL with a host, and no
    credentials, query or fragment), or None. Never echoes the URL."""
    if not (url.isascii() and url.isprintable()) or " " in url:
        return UrlProblem.CHARACTERS
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return UrlProblem.INVALID
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return UrlProblem.SCHEME
    if parts.username is not None or parts.password is not None:
        return UrlProblem.CREDENTIALS
    if parts.query or parts.fragment:
        return UrlProblem.QUERY
    return None


def backoff(attempt: int, base: float, cap: float) -> float:
    """The wait before try ``attempt + 1`` when the server named none: doubling from ``base``, at most ``cap``."""
    return min(base * 2.0 ** min(attempt - 1, 30), cap)


# --- a REST session with retries -------------------------------------------------------------------

_MESSAGE_CHARS = 300
_SERVER_MESSAGE_CHARS = 160


@dataclass(frozen=True)
class Retry:
    wait: float | None  # what the server asked for; None: our back-off
    rate_limited: bool


@dataclass(frozen=True)
class Reply:
    response: Response | None  # the last answer, if any came
    problem: str  # empty when the request succeeded
    maybe_applied: bool = False  # a non-idempotent request failed in a way that may have changed the server

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class Session:
    """The injected effects, the token and the time budget of one task's requests to a REST API.

    Every wait goes through ``sleep``; ``clock`` is epoch seconds: it reads ``x-ratelimit-reset``
    and keeps the deadline. ``purpose`` names the task in the message when its time runs out."""

    token: str = field(repr=False)
    transport: Transport
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    max_attempts: int
    timeout: float  # per request
    deadline: float  # epoch seconds: no wait or request starts past it
    budget: float  # the seconds the deadline allowed, for messages
    max_wait: float  # the longest single wait; a server asking for more gets no further request
    base_delay: float
    purpose: str

    def wait_problem(self, wait: float) -> str | None:
        """Why we will not wait this long, or None after waiting."""
        if wait > self.max_wait:
            return f"GitHub asked to wait {wait:.0f} s, longer than the {self.max_wait:.0f} s this step waits"
        if self.clock() + wait > self.deadline:
            return f"the {self.budget:.0f} s allowed for {self.purpose} ran out"
        self.sleep(wait)
        return None

    def call(self, method: str, url: str, payload: Mapping[str, str] | None, *, idempotent: bool) -> Reply:
        """One request, tried again on a server error or a rate limit while attempts and time last.
        A non-idempotent request that may have reached the server is not repeated: ``maybe_applied``."""
        headers = {
            "Authorization": f"Bearer {self.token}",
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
                return Reply(None, f"the {self.budget:.0f} s allowed for {self.purpose} ran out")
            request = Request(method, url, headers, data, min(self.timeout, max(remaining, 1.0)))
            response: Response | None = None
            try:
                response = self.transport(request)
            except (OSError, http.client.HTTPException) as exc:
                retry, why = Retry(None, rate_limited=False), self.clean(describe(exc))
                if not idempotent and not refused(exc):
                    return Reply(None, why, maybe_applied=True)
            else:
                found = retry_reason(response, self.clock())
                if found is None:
                    return Reply(response, "" if 200 <= response.status < 300 else self.status_problem(response))
                retry, why = found, self.status_problem(response)
                if retry.rate_limited:
                    why = f"rate limited ({why})"
                elif not idempotent:  # a 5xx: the server may have acted before failing
                    return Reply(response, why, maybe_applied=True)
            if attempt == self.max_attempts:
                return Reply(response, f"{why}, gave up after {attempt} attempt{'s' if attempt > 1 else ''}")
            wait = backoff(attempt, self.base_delay, self.max_wait) if retry.wait is None else retry.wait
            refusal = self.wait_problem(wait)
            if refusal is not None:
                return Reply(response, f"{why}; {refusal}")
        raise AssertionError("unreachable: the loop returns on its last attempt")

    def clean(self, text: str, limit: int = _MESSAGE_CHARS) -> str:
        """One bounded line without the token; redacted before it is cut, so no part of the token survives."""
        return one_line(text.replace(self.token, "***"), limit)

    def status_problem(self, response: Response) -> str:
        if len(response.body) > MAX_RESPONSE_BYTES:
            return f"HTTP {response.status} (an answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB)"
        data = json_body(response.body)
        said = data.get("message") if isinstance(data, dict) else None  # GitHub's error shape
        if not isinstance(said, str) or not said.strip():
            return f"HTTP {response.status}"
        return f"HTTP {response.status} ({self.clean(said, _SERVER_MESSAGE_CHARS)})"

    def refusal(self, reply: Reply) -> int | None:
        """The status of a plain refusal (no rate limit, no server error), which no retry would change."""
        response = reply.response
        if reply.ok or response is None or retry_reason(response, self.clock()) is not None:
            return None
        return response.status


def retry_reason(response: Response, now: float) -> Retry | None:
    """Whether this answer is worth another try, and the wait the server asked for. Rate limits
    follow GitHub's "Rate limits for the REST API": ``retry-after`` first, then
    ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset`` (UTC epoch seconds), else a back-off."""
    status, headers = response.status, response.headers
    if 500 <= status <= 599:
        return Retry(None, rate_limited=False)
    if status not in (403, 429):
        return None
    after = retry_after(headers.get("retry-after", ""), now)
    if after is not None:
        return Retry(after, rate_limited=True)
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        reset = parse_int(headers.get("x-ratelimit-reset", ""))
        # +1 s: the reset is a whole second, and the limit lifts only once it has passed.
        return Retry(None if reset is None else max(0.0, reset - now) + 1.0, rate_limited=True)
    if status == 429 or _says_rate_limit(response):  # a secondary limit that named no wait
        return Retry(None, rate_limited=True)
    return None  # a plain 403: the token may not do this


def _says_rate_limit(response: Response) -> bool:
    data = json_body(response.body)
    said = data.get("message") if isinstance(data, dict) else None
    return isinstance(said, str) and "rate limit" in said.lower()
