"""drift/prcomment.py against a loopback fake of GitHub's issue-comment endpoints, through the real transport.

The fake keeps comments in memory, records every request and can be scripted to fail; waits go through
a fake clock, so retries cost no time. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drift import httpclient, prcomment
from drift.httpclient import Request, Response
from drift.prcomment import Result, Target, marker, room, target_from_env, upsert
from drift.runner import RunnerEnv

TOKEN = "ghs_S3cretT0kenValue1234567890abcdefXYZ"
BOT = {"login": "github-actions[bot]", "type": "Bot"}
OTHER_BOT = {"login": "codecov[bot]", "type": "Bot"}
USER = {"login": "someone", "type": "User"}
OWNER, REPO, PR = "octo", "repo", 7
OURS = marker("CI", "train")


# --- the fake GitHub -----------------------------------------------------------------------------------


@dataclass
class Scripted:
    """The next request with this method (any, if None) gets this answer instead of the normal one."""

    status: int
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"message": "scripted failure"}'
    apply: bool = False  # do the real work first, then answer with this status (GitHub acted, then failed)
    delay: float = 0.0  # seconds before answering


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out leaves a broken pipe behind; that is expected, not worth printing."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.fake.handle(self)

    def do_POST(self) -> None:
        self.server.fake.handle(self)

    def do_PATCH(self) -> None:
        self.server.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests print nothing."""


class FakeGitHub:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.comments: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.script: list[Scripted] = []
        self.next_id = 1000
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def target(self, **changes: Any) -> Target:
        values: dict[str, Any] = {
            "api_url": self.url,
            "owner": OWNER,
            "repo": REPO,
            "number": PR,
            "token": TOKEN,
            "marker": OURS,
        }
        values.update(changes)
        return Target(**values)

    def add(self, body: str, user: dict[str, str] | None = None, issue: int = PR) -> int:
        with self.lock:
            self.next_id += 1
            self.comments.append({"id": self.next_id, "issue": issue, "body": body, "user": user or BOT})
            return self.next_id

    def on(self, issue: int = PR) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["issue"] == issue]

    def methods(self) -> list[str]:
        return [seen.method for seen in self.requests]

    # The server side.

    def handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        split = urllib.parse.urlsplit(handler.path)
        seen = Seen(
            handler.command,
            split.path,
            urllib.parse.parse_qs(split.query),
            {name.lower(): value for name, value in handler.headers.items()},
            body,
        )
        with self.lock:
            self.requests.append(seen)
            scripted = next((s for s in self.script if s.method in (None, seen.method)), None)
            if scripted is not None:
                self.script.remove(scripted)
        status, headers, answer = 0, {}, b""
        if scripted is None or scripted.apply:
            status, payload = self.route(seen)
            headers, answer = {"Content-Type": "application/json"}, json.dumps(payload).encode()
        if scripted is not None:
            self.release.wait(scripted.delay)
            status, headers, answer = scripted.status, scripted.headers, scripted.body
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def route(self, seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}
        if not seen.path.startswith(f"{self.prefix}/repos/{OWNER}/{REPO}/issues/"):
            return 404, {"message": "Not Found"}
        parts = seen.path[len(f"{self.prefix}/repos/{OWNER}/{REPO}/issues/") :].split("/")
        with self.lock:
            if parts[0] == "comments" and len(parts) == 2 and seen.method == "PATCH":
                for comment in self.comments:
                    if str(comment["id"]) == parts[1]:
                        comment["body"] = seen.json["body"]
                        return 200, self.render(comment)
                return 404, {"message": "Not Found"}
            if len(parts) == 2 and parts[1] == "comments" and parts[0].isdigit():
                issue = int(parts[0])
                if seen.method == "GET":
                    per_page = int(seen.query.get("per_page", ["30"])[0])
                    page = int(seen.query.get("page", ["1"])[0])
                    listed = [c for c in self.comments if c["issue"] == issue]
                    return 200, [self.render(c) for c in listed[(page - 1) * per_page : page * per_page]]
                if seen.method == "POST":
                    self.next_id += 1
                    comment = {"id": self.next_id, "issue": issue, "body": seen.json["body"], "user": BOT}
                    self.comments.append(comment)
                    return 201, self.render(comment)
        return 404, {"message": "Not Found"}

    @staticmethod
    def render(comment: dict[str, Any]) -> dict[str, Any]:
        url = f"https://github.com/{OWNER}/{REPO}/pull/{comment['issue']}#issuecomment-{comment['id']}"
        return {"id": comment["id"], "body": comment["body"], "user": comment["user"], "html_url": url}


class FakeTime:
    """Epoch-seconds clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; loopback requests must not leave the machine through one."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def make_github() -> Iterator[Callable[[str], FakeGitHub]]:
    fakes: list[FakeGitHub] = []

    def make(prefix: str = "") -> FakeGitHub:
        fakes.append(FakeGitHub(prefix))
        return fakes[-1]

    yield make
    for fake in fakes:
        fake.stop()


@pytest.fixture
def github(make_github: Callable[[str], FakeGitHub]) -> FakeGitHub:
    return make_github("")


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


Run = Callable[..., Result]


@pytest.fixture
def run(github: FakeGitHub, clock: FakeTime) -> Run:
    def go(body: str = "## training-drift: PASS", target: Target | None = None, **options: Any) -> Result:
        return upsert(target or github.target(), body, sleep=clock.sleep, clock=clock.clock, **options)

    return go


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_clean(result: Result) -> None:
    """A message fit for one annotation line, with no piece of the token in it."""
    assert result.message and "\n" not in result.message and "\r" not in result.message
    assert result.message.isprintable()
    for start in range(len(TOKEN) - 7):
        assert TOKEN[start : start + 8] not in result.message
    assert result.url is None or TOKEN not in result.url


# --- creating and updating -----------------------------------------------------------------------------


def test_creates_the_comment_when_none_carries_the_marker(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    github.add("<!-- codecov -->\ncoverage went up", OTHER_BOT)
    github.add("> quoting it\n" + OURS, USER)  # the marker further down: a quote, not our comment
    github.add(OURS + "\nbelongs to another pull request", BOT, issue=8)

    result = run("## training-drift: PASS")

    assert result.kind == "created" and result.ok
    assert github.methods() == ["GET", "POST"]
    created = github.on()[-1]
    assert created["body"] == OURS + "\n## training-drift: PASS"
    assert result.url == f"https://github.com/{OWNER}/{REPO}/pull/{PR}#issuecomment-{created['id']}"
    listing, post = github.requests
    assert listing.path == f"/repos/{OWNER}/{REPO}/issues/{PR}/comments"
    assert listing.query == {"per_page": ["100"], "page": ["1"]}
    assert post.path == f"/repos/{OWNER}/{REPO}/issues/{PR}/comments"
    assert post.json == {"body": created["body"]}
    for seen in github.requests:
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["accept"] == "application/vnd.github+json"
        assert seen.headers["x-github-api-version"] == "2022-11-28"
        assert seen.headers["user-agent"] == "training-drift"
    assert post.headers["content-type"].startswith("application/json")
    assert clock.slept == []
    assert_clean(result)


@pytest.mark.parametrize("total", [150, 200])
def test_updates_ours_in_place_when_it_is_on_page_two(github: FakeGitHub, run: Run, total: int) -> None:
    ours = 0
    for index in range(total):
        if index == 130:
            ours = github.add(OURS + "\nold verdict")
        elif index % 3 == 0:
            github.add(marker("CI", "train-2") + "\nanother job's comment")
        elif index % 3 == 1:
            github.add("<!-- sticky-bot -->\nsomething else", OTHER_BOT)
        else:
            github.add("> " + OURS + "\nlooks good", USER)
    before = [dict(c) for c in github.comments]

    result = run("new verdict")

    assert result.kind == "updated"
    pages = [seen.query["page"] for seen in github.requests if seen.method == "GET"]
    assert pages == ([["1"], ["2"]] if total == 150 else [["1"], ["2"], ["3"]])
    patch = github.requests[-1]
    assert (patch.method, patch.path) == ("PATCH", f"/repos/{OWNER}/{REPO}/issues/comments/{ours}")
    assert "POST" not in github.methods()
    assert len(github.comments) == total
    for old, now in zip(before, github.comments, strict=True):
        assert now["body"] == (OURS + "\nnew verdict" if now["id"] == ours else old["body"])
    assert result.url is not None and result.url.endswith(f"#issuecomment-{ours}")


def test_of_several_marked_comments_the_newest_by_a_bot_is_updated(github: FakeGitHub, run: Run) -> None:
    older = github.add(OURS + "\nfirst run")
    newer = github.add(OURS + "\nsecond run, raced the first")
    pasted = github.add(OURS + "\na user pasting our marker", USER)

    result = run("third run")

    assert result.kind == "updated"
    assert github.requests[-1].path.endswith(f"/comments/{newer}")
    bodies = {c["id"]: c["body"] for c in github.comments}
    assert bodies[newer] == OURS + "\nthird run"
    assert bodies[older] == OURS + "\nfirst run" and bodies[pasted] == OURS + "\na user pasting our marker"


def test_without_bot_comments_the_newest_marked_one_is_updated(github: FakeGitHub, run: Run) -> None:
    """A personal access token comments as a user."""
    github.add(OURS + "\nfirst", USER)
    newer = github.add(OURS + "\nsecond", USER)
    assert run().kind == "updated"
    assert github.requests[-1].path.endswith(f"/comments/{newer}")


def test_a_comment_deleted_since_listing_is_replaced_by_a_new_one(github: FakeGitHub, run: Run) -> None:
    github.add(OURS + "\nold")
    github.script.append(Scripted(404, "PATCH", body=b'{"message": "Not Found"}'))
    result = run("fresh")
    assert result.kind == "created"
    assert github.methods() == ["GET", "PATCH", "POST"]
    assert github.comments[-1]["body"] == OURS + "\nfresh"


def test_the_body_must_fit_githubs_limit(github: FakeGitHub, run: Run) -> None:
    target = github.target()
    with pytest.raises(ValueError, match="65536"):
        run("x" * (room(target) + 1))
    assert github.requests == []
    assert run("x" * room(target)).kind == "created"
    assert len(github.comments[-1]["body"]) == 65536


# --- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [
        Scripted(403, "POST", body=b'{"message": "Resource not accessible by integration"}'),
        Scripted(403, "GET", body=b'{"message": "Resource not accessible by integration"}'),
        Scripted(404, "GET", body=b'{"message": "Not Found"}'),
        Scripted(403, "POST", body=b"<html>forbidden</html>"),
    ],
)
def test_a_plain_refusal_is_forbidden_and_never_raises(
    github: FakeGitHub, run: Run, clock: FakeTime, refusal: Scripted
) -> None:
    github.script.append(refusal)
    result = run()
    assert result.kind == "forbidden" and not result.ok
    assert f"HTTP {refusal.status}" in result.message
    assert clock.slept == []
    assert github.methods().count(str(refusal.method)) == 1
    assert github.comments == []
    assert_clean(result)


def test_a_patch_refused_with_a_read_only_token_ends_forbidden(github: FakeGitHub, run: Run) -> None:
    github.add(OURS + "\nold")
    github.script += [Scripted(403, "PATCH"), Scripted(403, "POST")]
    result = run()
    assert result.kind == "forbidden"
    assert github.methods() == ["GET", "PATCH", "POST"]


def test_a_rejected_token_is_a_failure(github: FakeGitHub, run: Run) -> None:
    result = run(target=github.target(token="ghs_not_the_right_one"))
    assert result.kind == "failed"
    assert "HTTP 401 (Bad credentials)" in result.message


# --- retries -------------------------------------------------------------------------------------------


def test_server_errors_are_retried_with_growing_waits(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    github.script += [Scripted(502, "GET", body=b"<html>bad gateway</html>"), Scripted(503, "GET")]
    result = run()
    assert result.kind == "created"
    assert github.methods() == ["GET", "GET", "GET", "POST"]
    assert clock.slept == [1.0, 2.0]


def test_persistent_server_errors_fail_after_bounded_attempts(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    github.script += [Scripted(502, "GET") for _ in range(10)]
    result = run()
    assert result.kind == "failed"
    assert github.methods() == ["GET"] * prcomment.MAX_ATTEMPTS
    assert clock.slept == [1.0, 2.0, 4.0]
    assert "HTTP 502" in result.message and f"{prcomment.MAX_ATTEMPTS} attempts" in result.message
    assert_clean(result)


def test_many_attempts_still_stop_at_the_deadline(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    github.script += [Scripted(500, "GET") for _ in range(60)]
    result = run(max_attempts=60)
    assert result.kind == "failed"
    assert sum(clock.slept) <= prcomment.DEADLINE
    assert max(clock.slept) <= prcomment.MAX_WAIT
    assert len(github.requests) < 10
    assert "ran out" in result.message


SECONDARY = b'{"message": "You have exceeded a secondary rate limit."}'


@pytest.mark.parametrize(
    ("limit", "waits"),
    [
        (Scripted(429, "GET", {"retry-after": "3"}, b'{"message": "slow down"}'), [3.0]),
        (Scripted(403, "GET", {"retry-after": "2"}, SECONDARY), [2.0]),
        # The primary limit: wait until the reset second has passed (reset is 5 s after the fake clock's now).
        (Scripted(403, "GET", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000005"}), [6.0]),
        (Scripted(429, "GET", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1699999990"}), [1.0]),  # passed
        (Scripted(403, "GET", {}, SECONDARY), [1.0]),  # a secondary limit that names no wait: back off
        (Scripted(429, "GET", {}, b""), [1.0]),
        (Scripted(429, "GET", {"retry-after": "Tue, 14 Nov 2023 22:13:24 GMT"}, b""), [4.0]),  # a date 4 s ahead
        (Scripted(429, "GET", {"retry-after": "soon"}, b""), [1.0]),  # unreadable: back off
    ],
)
def test_rate_limits_wait_as_github_asks(
    github: FakeGitHub, run: Run, clock: FakeTime, limit: Scripted, waits: list[float]
) -> None:
    github.script.append(limit)
    result = run()
    assert result.kind == "created"
    assert clock.slept == waits
    assert github.methods() == ["GET", "GET", "POST"]


def test_a_rate_limited_post_is_sent_again(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    """A 429 means GitHub did not act, so the POST is repeated without listing again."""
    github.script.append(Scripted(429, "POST", {"retry-after": "2"}))
    result = run()
    assert result.kind == "created"
    assert github.methods() == ["GET", "POST", "POST"]
    assert clock.slept == [2.0]
    assert len(github.comments) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "3600"},
        {"retry-after": "30"},  # within the deadline, but longer than any single wait we allow
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_700_000_000 + 1800)},
    ],
)
def test_a_rate_limit_longer_than_we_wait_gives_up_at_once(
    github: FakeGitHub, run: Run, clock: FakeTime, headers: dict[str, str]
) -> None:
    github.script.append(Scripted(403, "GET", headers, b'{"message": "API rate limit exceeded"}'))
    result = run()
    assert result.kind == "failed"  # not forbidden: the token may write, just not now
    assert clock.slept == []
    assert github.methods() == ["GET"]
    assert "rate limited" in result.message and "asked to wait" in result.message
    assert_clean(result)


def test_a_post_that_failed_after_github_stored_it_leaves_one_comment(
    github: FakeGitHub, run: Run, clock: FakeTime
) -> None:
    github.script.append(Scripted(502, "POST", apply=True))
    result = run("verdict")
    assert github.methods() == ["GET", "POST", "GET", "PATCH"]
    assert result.kind == "updated"
    assert [c["body"] for c in github.comments] == [OURS + "\nverdict"]
    assert clock.slept == [1.0]


def test_a_post_that_failed_before_github_stored_it_is_sent_again(github: FakeGitHub, run: Run) -> None:
    github.script.append(Scripted(500, "POST"))
    result = run()
    assert result.kind == "created"
    assert github.methods() == ["GET", "POST", "GET", "POST"]
    assert len(github.comments) == 1


def test_a_post_that_timed_out_after_github_stored_it_leaves_one_comment(github: FakeGitHub, run: Run) -> None:
    github.script.append(Scripted(201, "POST", apply=True, delay=5.0))
    result = run("verdict", timeout=0.3)
    assert result.kind == "updated"
    assert github.methods() == ["GET", "POST", "GET", "PATCH"]
    assert [c["body"] for c in github.comments] == [OURS + "\nverdict"]


# --- network trouble and garbage -----------------------------------------------------------------------


def test_connection_refused_fails_after_bounded_retries(github: FakeGitHub, run: Run, clock: FakeTime) -> None:
    result = run(target=github.target(api_url=f"http://127.0.0.1:{_closed_port()}"))
    assert result.kind == "failed"
    assert "connection refused" in result.message
    assert clock.slept == [1.0, 2.0, 4.0]
    assert_clean(result)


def test_a_server_that_never_answers_times_out(github: FakeGitHub, run: Run) -> None:
    github.script.append(Scripted(200, "GET", delay=5.0))
    result = run(timeout=0.3, max_attempts=1)
    assert result.kind == "failed"
    assert "timed out" in result.message


@pytest.mark.parametrize(
    "body",
    [b"<html>this is not JSON</html>", b'{"comments": []}', b"\xff\xfe\x00garbage", b"[" * 100_000, b""],
)
def test_a_garbage_listing_fails_without_raising(github: FakeGitHub, run: Run, body: bytes) -> None:
    github.script.append(Scripted(200, "GET", body=body))
    result = run()
    assert result.kind == "failed"
    assert "not a JSON list" in result.message
    assert github.comments == []
    assert_clean(result)


def test_malformed_comments_in_a_listing_are_skipped(github: FakeGitHub, run: Run) -> None:
    items = [1, "x", None, [], {"id": "12", "body": OURS}, {"id": True, "body": OURS}, {"id": 5, "body": None}]
    github.script.append(Scripted(200, "GET", body=json.dumps(items).encode()))
    result = run()
    assert result.kind == "created"
    assert github.methods() == ["GET", "POST"]


def test_an_oversized_answer_is_not_parsed(github: FakeGitHub, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpclient, "MAX_RESPONSE_BYTES", 1000)
    github.script.append(
        Scripted(200, "GET", body=json.dumps([{"id": n, "body": "x" * 50} for n in range(30)]).encode())
    )
    result = run()
    assert result.kind == "failed"
    assert "larger than" in result.message


def test_the_transport_reads_a_bounded_answer(github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpclient, "MAX_RESPONSE_BYTES", 1000)
    github.script.append(Scripted(200, "GET", body=b"x" * 5000))
    response = httpclient.urllib_transport(Request("GET", github.url + "/anything", {}, None, 5.0))
    assert (response.status, len(response.body)) == (200, 1001)


def test_a_created_comment_with_an_unreadable_answer_is_still_created(github: FakeGitHub, run: Run) -> None:
    github.script.append(Scripted(201, "POST", body=b"not json", apply=True))
    result = run()
    assert (result.kind, result.url) == ("created", None)
    assert len(github.comments) == 1


def test_redirects_are_not_followed(make_github: Callable[[str], FakeGitHub], github: FakeGitHub, run: Run) -> None:
    """Following one would hand the token to whatever host Location names."""
    elsewhere = make_github("")
    github.script.append(Scripted(301, "GET", {"Location": f"{elsewhere.url}/steal"}, b""))
    result = run()
    assert result.kind == "failed"
    assert "HTTP 301" in result.message
    assert elsewhere.requests == []


@pytest.mark.parametrize(
    "exc",
    [
        http.client.RemoteDisconnected("Remote end closed connection without response"),
        http.client.IncompleteRead(b"partial"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_any_transport_error_becomes_a_result(clock: FakeTime, github: FakeGitHub, exc: Exception) -> None:
    calls: list[Request] = []

    def broken(request: Request) -> Response:
        calls.append(request)
        raise exc

    result = upsert(github.target(), "body", transport=broken, sleep=clock.sleep, clock=clock.clock)
    assert result.kind == "failed"
    assert len(calls) == prcomment.MAX_ATTEMPTS
    assert all(call.timeout == prcomment.TIMEOUT for call in calls)
    assert TOKEN not in repr(calls[0])  # the Authorization header stays out of reprs
    assert_clean(result)


def test_a_post_lost_in_transit_lists_again_before_posting(clock: FakeTime, github: FakeGitHub) -> None:
    """A dropped connection after sending may have created the comment; posting blindly could duplicate it."""
    seen: list[str] = []

    def flaky(request: Request) -> Response:
        seen.append(request.method)
        if request.method == "POST" and seen.count("POST") == 1:
            raise ConnectionResetError(104, "Connection reset by peer")
        if request.method == "POST":
            return Response(201, {}, b'{"html_url": "https://github.com/octo/repo/pull/7#issuecomment-1"}')
        return Response(200, {}, b"[]")

    result = upsert(github.target(), "body", transport=flaky, sleep=clock.sleep, clock=clock.clock)
    assert result.kind == "created"
    assert seen == ["GET", "POST", "GET", "POST"]


# --- the token -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "method"),
    [(403, "POST"), (404, "GET"), (500, "GET"), (422, "POST"), (429, "GET")],
)
def test_the_token_never_reaches_a_message(
    github: FakeGitHub, run: Run, status: int, method: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even when the server echoes it, and even when the echo is long enough to be cut."""
    echo = json.dumps({"message": f"{'x' * 150}{TOKEN} is not allowed\n::error::{TOKEN}"}).encode()
    headers = {"retry-after": "999"} if status == 429 else {}
    github.script += [Scripted(status, method, headers, echo) for _ in range(8)]
    result = run()
    assert not result.ok
    assert_clean(result)
    assert TOKEN not in repr(github.target())
    assert capsys.readouterr() == ("", "")


def test_an_echoed_token_in_html_url_is_dropped(clock: FakeTime, github: FakeGitHub) -> None:
    def echo(request: Request) -> Response:
        if request.method == "GET":
            return Response(200, {}, b"[]")
        return Response(201, {}, json.dumps({"html_url": f"https://github.com/x?t={TOKEN}"}).encode())

    result = upsert(github.target(), "body", transport=echo, sleep=clock.sleep, clock=clock.clock)
    assert (result.kind, result.url) == ("created", None)


# --- the marker ----------------------------------------------------------------------------------------

HOSTILE = st.text(alphabet=st.sampled_from("-<>!/%~ \n\r\t\x00a:é\u202e"), max_size=12)
NAMES = st.one_of(HOSTILE, st.text(max_size=300))


def test_marker_examples() -> None:
    assert marker("CI", "train") == "<!-- training-drift:CI/train -->"
    assert marker("a--b", "x>y") == "<!-- training-drift:a-%2Db/x%3Ey -->"
    assert marker("ML / nightly", "gate\n-->") == "<!-- training-drift:ML %2F nightly/gate%0A-%2D%3E -->"
    assert marker("", "") == "<!-- training-drift:/ -->"


@given(NAMES, NAMES)
def test_the_marker_is_one_inert_line(workflow: str, job: str) -> None:
    text = marker(workflow, job)
    assert text == marker(workflow, job)
    assert text.startswith("<!-- training-drift:") and text.endswith(" -->")
    inner = text[len("<!-- training-drift:") : -len(" -->")]
    assert "--" not in inner and ">" not in inner and "<" not in inner
    assert inner.isascii() and inner.isprintable()
    assert text.index("-->") == len(text) - 3  # the comment closes where we close it, and only there
    assert len(text) < 300


@given(NAMES, NAMES, NAMES, NAMES)
def test_distinct_jobs_get_distinct_markers(w1: str, j1: str, w2: str, j2: str) -> None:
    if (w1, j1) != (w2, j2):
        assert marker(w1, j1) != marker(w2, j2)


@given(HOSTILE, HOSTILE)
def test_short_names_can_be_read_back_from_the_marker(workflow: str, job: str) -> None:
    inner = marker(workflow, job)[len("<!-- training-drift:") : -len(" -->")]
    encoded_workflow, encoded_job = inner.split("/")
    assert (urllib.parse.unquote(encoded_workflow), urllib.parse.unquote(encoded_job)) == (workflow, job)


def test_long_names_stay_short_and_distinct() -> None:
    """Matrix-generated job names can be long and share a long prefix; only their ends differ."""
    head = "train (" + "x" * 200
    first, second = marker("CI", head + "a)"), marker("CI", head + "b)")
    assert first != second
    assert len(first) < 300 and len(second) < 300


def test_a_comment_from_a_similar_job_is_not_ours() -> None:
    assert not marker("CI", "train-2").startswith(marker("CI", "train"))
    assert not marker("CI", "train").startswith(marker("C", "I/train"))


# --- the target from the environment -------------------------------------------------------------------


def _env(tmp_path: Path, event: str | None, payload: Any, **extra: str) -> RunnerEnv:
    path = tmp_path / "event.json"
    path.write_bytes(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    env = {
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_JOB": "train",
        "GITHUB_EVENT_PATH": str(path),
    }
    if event is not None:
        env["GITHUB_EVENT_NAME"] = event
    env.update(extra)
    return RunnerEnv.from_environ(env, tmp_path)


PULL = {"pull_request": {"number": 12, "head": {"sha": "abc"}}, "number": 12}
ISSUE_COMMENT = {"issue": {"number": 13, "pull_request": {"url": "https://api.github.com/x"}}, "comment": {}}
WORKFLOW_RUN = {"workflow_run": {"pull_requests": [{"number": 14}, {"number": 99}], "event": "pull_request"}}


@pytest.mark.parametrize(
    ("event", "payload", "number"),
    [
        ("pull_request", PULL, 12),
        ("pull_request_target", PULL, 12),
        ("pull_request_review", PULL, 12),
        ("issue_comment", ISSUE_COMMENT, 13),
        ("workflow_run", WORKFLOW_RUN, 14),
        (None, PULL, 12),  # outside the runner the event name may be missing: go by shape
        (None, ISSUE_COMMENT, 13),
        (None, WORKFLOW_RUN, 14),
    ],
)
def test_target_from_each_event_shape(tmp_path: Path, event: str | None, payload: Any, number: int) -> None:
    target = target_from_env(_env(tmp_path, event, payload), f"  {TOKEN}\n")
    assert isinstance(target, Target)
    assert (target.api_url, target.owner, target.repo, target.number) == ("https://api.github.com", OWNER, REPO, number)
    assert target.token == TOKEN
    assert target.marker == "<!-- training-drift:CI/train -->"
    assert TOKEN not in repr(target)


def test_ghes_api_url_with_a_path_prefix_end_to_end(
    make_github: Callable[[str], FakeGitHub], tmp_path: Path, clock: FakeTime
) -> None:
    ghes = make_github("/api/v3")
    target = target_from_env(_env(tmp_path, "pull_request", PULL, GITHUB_API_URL=ghes.url + "/"), TOKEN)
    assert isinstance(target, Target)
    assert target.api_url == ghes.url
    result = upsert(target, "on GHES", sleep=clock.sleep, clock=clock.clock)
    assert result.kind == "created"
    assert [seen.path for seen in ghes.requests] == ["/api/v3/repos/octo/repo/issues/12/comments"] * 2
    assert ghes.on(12)[0]["body"] == "<!-- training-drift:CI/train -->\non GHES"


@dataclass(frozen=True)
class Why:
    """An environment that cannot address a comment, and words its reason must hold."""

    event: str | None
    payload: Any
    says: str
    extra: dict[str, str] = field(default_factory=dict)
    token: str = TOKEN


@pytest.mark.parametrize(
    "case",
    [
        Why("push", {"ref": "refs/heads/main"}, "not about a pull request"),
        Why("schedule\n::error::x", {}, "not about a pull request"),
        Why("issue_comment", {"issue": {"number": 3}}, "not on a pull request"),
        Why("issue_comment", {"comment": {}}, "no issue"),
        Why("workflow_run", {"workflow_run": {"pull_requests": []}}, "forks"),
        Why("workflow_run", {"workflow_run": None}, "names no pull request"),
        Why("workflow_run", {"workflow_run": {"pull_requests": ["7"]}}, "workflow_run.pull_requests[0]"),
        Why(None, {"ref": "x"}, "not about a pull request"),
        Why("pull_request", b"\xff\xfe garbage", "not valid JSON"),
        Why("pull_request", b"{not json", "not valid JSON"),
        Why("pull_request", b"[" * 100_000, "not valid JSON"),
        Why("pull_request", b'{"pull_request": {"number": 1' + b"0" * 5000 + b"}}", "not valid JSON"),
        Why("pull_request", b"", "not valid JSON"),
        Why("pull_request", [1, 2], "not a JSON object"),
        Why("pull_request", "a string", "not a JSON object"),
        Why("pull_request", {"pull_request": {"number": "12"}}, "pull_request.number"),
        Why("pull_request", {"pull_request": {"number": True}}, "pull_request.number"),
        Why("pull_request", {"pull_request": {"number": 12.0}}, "pull_request.number"),
        Why("pull_request", {"pull_request": {"number": 0}}, "pull_request.number"),
        Why("pull_request", {"pull_request": {"number": -3}}, "pull_request.number"),
        Why("pull_request", {"pull_request": {"number": 2**64}}, "pull_request.number"),
        Why("pull_request", {"pull_request": []}, "pull_request.number"),
        Why("pull_request", PULL, "GITHUB_REPOSITORY", extra={"GITHUB_REPOSITORY": ""}),
        Why("pull_request", PULL, "GITHUB_REPOSITORY", extra={"GITHUB_REPOSITORY": "octo"}),
        Why("pull_request", PULL, "GITHUB_REPOSITORY", extra={"GITHUB_REPOSITORY": "octo/repo/extra"}),
        Why("pull_request", PULL, "GITHUB_REPOSITORY", extra={"GITHUB_REPOSITORY": "../repo"}),
        Why("pull_request", PULL, "GITHUB_REPOSITORY", extra={"GITHUB_REPOSITORY": "octo/re po"}),
        Why("pull_request", PULL, "no GitHub token", token=""),
        Why("pull_request", PULL, "no GitHub token", token="   \n"),
        Why("pull_request", PULL, "cannot carry", token=f"{TOKEN}\nX-Evil: 1"),
        Why("pull_request", PULL, "http(s)", extra={"GITHUB_API_URL": "ftp://example.com"}),
        Why("pull_request", PULL, "http(s)", extra={"GITHUB_API_URL": "api.github.com"}),
        Why("pull_request", PULL, "not a valid URL", extra={"GITHUB_API_URL": "http://[::1"}),
        Why("pull_request", PULL, "not a valid URL", extra={"GITHUB_API_URL": "http://host:99999"}),
        Why("pull_request", PULL, "credentials", extra={"GITHUB_API_URL": "https://user:pw@host"}),
        Why("pull_request", PULL, "characters", extra={"GITHUB_API_URL": "https://host/a b"}),
    ],
)
def test_target_from_env_explains_why_not(tmp_path: Path, case: Why) -> None:
    reason = target_from_env(_env(tmp_path, case.event, case.payload, **case.extra), case.token)
    assert isinstance(reason, str)
    assert case.says in reason
    assert "\n" not in reason and reason.isprintable()
    assert TOKEN not in reason and "user:pw" not in reason


def test_a_target_built_by_hand_is_checked() -> None:
    good: dict[str, Any] = {
        "api_url": "https://api.github.com",
        "owner": OWNER,
        "repo": REPO,
        "number": 1,
        "marker": OURS,
    }
    assert Target(**good, token=TOKEN).number == 1
    for bad in ({"number": 0}, {"api_url": "file:///etc"}, {"owner": "a/b"}, {"marker": "two\nlines"}):
        with pytest.raises(ValueError):
            Target(**{**good, "token": TOKEN, **bad})
    with pytest.raises(ValueError):
        Target(**good, token="")
