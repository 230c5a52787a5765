"""The small HTTP client the REST callers share (the pull-request comment, the MLflow tracking server).

One request per call through urllib: proxies from the environment, certificates verified, no
redirects (a redirect would carry the Authorization header to wherever ``Location`` points), and
a bounded answer. Every status is an answer; only a request that got no answer raises. Retry
policy, deadlines and what a status means belong to the caller.
"""

from __future__ import annotations

import email.utils
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message

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


def urllib_transport(request: Request, limit: int = MAX_RESPONSE_BYTES) -> Response:
    """One HTTP(S) request through urllib: proxies from the environment, certificates verified, no
    redirects; at most ``limit + 1`` bytes of the answer are read."""
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


def json_body(body: bytes, limit: int = MAX_RESPONSE_BYTES) -> object:
    """The parsed body, or None when it is too large or not JSON: response bodies are untrusted."""
    if len(body) > limit:
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
