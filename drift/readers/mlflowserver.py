"""MLflow tracking-server runs, read through its REST API (``/api/2.0/mlflow/...``).

Endpoints (MLflow's REST API reference): ``runs/get`` (the run's name and the keys it logged),
``experiments/get-by-name`` and ``runs/search`` (an experiment's runs, paged with ``page_token``),
and ``metrics/get-history`` (one key's every value, paged with ``max_results``/``page_token``;
the server's page is at most 25,000 values). The server sends a history ordered by
(timestamp, step, value); keeping the last value for each step keeps the one logged last, as
MLflow's own latest-value summary does.

Nothing here raises for HTTP or network trouble except :class:`TrackerError`, whose message is one
line that never holds a credential; the caller turns it into an ERROR for that run. Every request
has a timeout, a few retries (network errors, 5xx, 429) and all of them share one deadline, so an
unreachable or stalled server delays the step by a bounded time. A server found unreachable
(connection refused, unknown host) is not asked again: later runs fail at once with the same reason.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drift.curve import Curve
from drift.httpclient import (
    Request,
    Response,
    Transport,
    backoff,
    describe,
    json_body,
    one_line,
    retry_after,
    urllib_transport,
)
from drift.readers.common import (
    FIELDS_SHOWN,
    Batch,
    LogFile,
    Points,
    ReadSpec,
    finish,
    resolve_metric,
)
from drift.readers.mlflowstore import NAME_CHARS, _logging_order, _name
from drift.runner import RunnerEnv

API = "/api/2.0/mlflow"
HISTORY_PAGE = 25_000  # MLflow's MAX_RESULTS_GET_METRIC_HISTORY: the largest page the server gives
SEARCH_PAGE = 1000  # runs per runs/search page
MAX_SEARCH_PAGES = 20  # 20,000 runs of one experiment; past that the oldest are not looked at
MAX_RUNS = 100  # runs gated from one experiment search, newest first
MAX_HISTORY_PAGES = 2000  # 50 million values of one key
MAX_ATTEMPTS = 3  # per request: back-off waits of 1 and 2 s
BASE_DELAY = 1.0
MAX_WAIT = 20.0  # the longest single wait a 429 may ask for
TIMEOUT = 60.0  # per request (connect, and each read); MLflow's own client allows 120 s; a 25,000-value page is slow
DEADLINE = 300.0  # seconds for everything read from the tracker in one step
_SERVER_MESSAGE_CHARS = 160
_MESSAGE_CHARS = 400


class TrackerError(Exception):
    """A request the tracker did not answer usefully; the message is one line, free of credentials."""


@dataclass(frozen=True)
class Credentials:
    """MLflow's standard variables: a bearer token, or a user name and password (HTTP basic)."""

    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the runner masks each of these."""
        return tuple(s for s in (self.token, self.password) if s)

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username or self.password:
            import base64  # noqa: PLC0415 - only basic authentication needs it

            pair = f"{self.username}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {}

    @property
    def described(self) -> str:
        if self.token:
            return "MLFLOW_TRACKING_TOKEN"
        if self.username or self.password:
            return "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
        return ""


def credentials_from(env: RunnerEnv) -> Credentials:
    """The credentials MLflow's own client would use, from the environment the caller was given."""
    return Credentials(
        token=env.mlflow_token.strip(), username=env.mlflow_username.strip(), password=env.mlflow_password
    )


@dataclass(frozen=True)
class RemoteRun:
    run_id: str
    name: str  # the gate's name for it: the run name, made unique
    keys: tuple[str, ...]  # metric keys the run logged


@dataclass(frozen=True)
class Failed:
    """A run (or a whole selection) that could not be listed, and why."""

    name: str
    message: str


@dataclass(frozen=True)
class Access:
    """What the runtime gives for reaching a tracker: the credentials, and how a request is sent."""

    credentials: Credentials = Credentials()
    transport: Transport = urllib_transport


@dataclass
class Client:
    """One tracking server, the credentials for it, and the time budget every request shares."""

    uri: str
    credentials: Credentials
    transport: Transport = urllib_transport
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    timeout: float = TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    budget: float = DEADLINE
    deadline: float = field(init=False)
    down: str = field(init=False, default="")  # set once the server proved unreachable

    def __post_init__(self) -> None:
        self.uri = self.uri.rstrip("/")
        self.deadline = self.clock() + self.budget

    @property
    def where(self) -> str:
        parts = urllib.parse.urlsplit(self.uri)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    def get(self, endpoint: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        return self.call("GET", f"{API}/{endpoint}?{urllib.parse.urlencode(params)}", None)

    def post(self, endpoint: str, payload: Mapping[str, object]) -> dict[str, Any]:
        return self.call("POST", f"{API}/{endpoint}", json.dumps(payload).encode("utf-8"))

    def call(self, method: str, path: str, body: bytes | None) -> dict[str, Any]:
        """The answer's JSON object; TrackerError for anything else. Every request here only reads,
        so each may be repeated."""
        if self.down:
            raise TrackerError(self.down)
        headers = {"Accept": "application/json", "User-Agent": "training-drift", **self.credentials.headers()}
        if body is not None:
            headers["Content-Type"] = "application/json"
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                raise TrackerError(self.clean(f"the {self.budget:.0f} s allowed for the MLflow server ran out"))
            request = Request(method, self.uri + path, headers, body, min(self.timeout, max(remaining, 1.0)))
            wait: float | None = None
            try:
                response = self.transport(request)
            except (OSError, http.client.HTTPException) as exc:
                said = describe(exc)
                if said == "timed out":
                    problem = f"the MLflow server at {self.where} did not answer within {request.timeout:g} s"
                else:
                    problem = f"cannot reach the MLflow server at {self.where}: {said}"
            else:
                if 200 <= response.status < 300:
                    data = json_body(response.body)
                    if not isinstance(data, dict):
                        endpoint = path.partition("?")[0]
                        raise TrackerError(
                            self.clean(f"the MLflow server at {self.where} answered {endpoint} with no JSON object")
                        )
                    return data
                if response.status != 429 and not 500 <= response.status <= 599:
                    raise TrackerError(self.status_problem(response, path))
                problem = self.status_problem(response, path)
                wait = retry_after(response.headers.get("retry-after", ""), time.time())
            if attempt == self.max_attempts:
                break
            wait = backoff(attempt, BASE_DELAY, MAX_WAIT) if wait is None else wait
            if wait > MAX_WAIT or self.clock() + wait > self.deadline:
                break
            self.sleep(wait)
        tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
        message = self.clean(f"{problem} ({tries})")
        if problem.startswith("cannot reach"):
            self.down = message
        raise TrackerError(message)

    def clean(self, text: str, limit: int = _MESSAGE_CHARS) -> str:
        """One bounded line without a credential; redacted before it is cut, so no part survives."""
        for secret in self.credentials.secrets:
            text = text.replace(secret, "***")
        return one_line(text, limit)

    def status_problem(self, response: Response, path: str) -> str:
        data = json_body(response.body)
        code = data.get("error_code") if isinstance(data, dict) else None
        said = data.get("message") if isinstance(data, dict) else None
        status = f"HTTP {response.status}"
        if isinstance(code, str) and code:
            status += f" {self.clean(code, 40)}"
        if isinstance(said, str) and said.strip():
            status += f": {self.clean(said, _SERVER_MESSAGE_CHARS)}"
        if response.status == 401:
            using = self.credentials.described
            fix = (
                f"check {using}"
                if using
                else "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, "
                "in the step's env"
            )
            return self.clean(f"the MLflow server at {self.where} refused the credentials ({status}); {fix}")
        if response.status == 403:
            return self.clean(f"the MLflow server at {self.where} does not let these credentials read this ({status})")
        if response.status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
            return self.clean(f"not found on the MLflow server at {self.where} ({status})")
        if response.status == 404:
            return self.clean(
                f"the MLflow server at {self.where} has no {path.partition('?')[0]} ({status}); "
                "is mlflow-tracking-uri the tracking server's address?"
            )
        if 300 <= response.status < 400:
            return self.clean(f"the MLflow server at {self.where} redirected ({status}); give the final address")
        return self.clean(f"the MLflow server at {self.where} answered {status}")


def _clean_id(value: str) -> str:
    return one_line(value, 64)


def _run_entry(run: object) -> tuple[str, str, tuple[str, ...], int] | None:
    """(run id, run name, metric keys, start time) of a ``Run`` object of the REST API."""
    if not isinstance(run, dict):
        return None
    info, data = run.get("info"), run.get("data")
    if not isinstance(info, dict):
        return None
    run_id = info.get("run_id") or info.get("run_uuid")
    if not isinstance(run_id, str) or not run_id:
        return None
    name = _name(info.get("run_name")) or ""
    if not name and isinstance(data, dict):  # older servers keep the name only as a tag
        for tag in data.get("tags") or ():
            if isinstance(tag, dict) and tag.get("key") == "mlflow.runName":
                name = _name(tag.get("value")) or ""
    keys: list[str] = []
    if isinstance(data, dict):
        metrics = data.get("metrics")
        for metric in metrics if isinstance(metrics, list) else ():
            key = metric.get("key") if isinstance(metric, dict) else None
            if isinstance(key, str) and key:
                keys.append(key)
    start = info.get("start_time")
    started = int(start) if isinstance(start, int | str) and str(start).isdigit() else 0
    return run_id, name, tuple(dict.fromkeys(keys)), started


def find_runs(
    client: Client, run_ids: Sequence[str], experiment: str, name_glob: str
) -> tuple[list[RemoteRun | Failed], list[str]]:
    """The runs to gate, in the order given (ids first, then the experiment's, newest first), and notes.

    Runs named by id that share a name get their run id added, so each stays its own gate run. From
    an experiment, only the newest run of each name is gated (a nightly job that reuses a run name
    leaves one run per night); a note says how many older ones were left out.
    """
    found: list[RemoteRun | Failed] = []
    notes: list[str] = []
    seen: set[str] = set()
    by_id: list[tuple[str, str, tuple[str, ...]]] = []
    for raw in run_ids:
        run_id = raw.strip()
        if not run_id or run_id in seen:
            continue
        seen.add(run_id)
        try:
            entry = _run_entry(client.get("runs/get", {"run_id": run_id}).get("run"))
        except TrackerError as exc:
            found.append(Failed(_clean_id(run_id), f"MLflow run {_clean_id(run_id)}: {exc}"))
            continue
        if entry is None:
            found.append(Failed(_clean_id(run_id), f"MLflow run {_clean_id(run_id)}: the server's answer holds no run"))
            continue
        by_id.append((entry[0], entry[1] or entry[0], entry[2]))
    names = [name for _, name, _ in by_id]
    for run_id, name, keys in by_id:
        shown = f"{name} [{run_id[:12]}]" if names.count(name) > 1 else name
        found.append(RemoteRun(run_id, shown[: NAME_CHARS + 16], keys))
    if experiment:
        found += _search(client, experiment, name_glob or "*", seen, notes)
    return found, notes


def _search(
    client: Client, experiment: str, name_glob: str, seen: set[str], notes: list[str]
) -> list[RemoteRun | Failed]:
    label = f"MLflow experiment {one_line(experiment, 80)!r}"
    try:
        found = client.get("experiments/get-by-name", {"experiment_name": experiment}).get("experiment")
        experiment_id = found.get("experiment_id") if isinstance(found, dict) else None
        if not isinstance(experiment_id, str | int) or isinstance(experiment_id, bool):
            return [Failed(label, f"{label}: the server's answer holds no experiment id")]
        newest: dict[str, tuple[str, tuple[str, ...]]] = {}
        older = 0
        token = ""
        for _ in range(MAX_SEARCH_PAGES):
            payload: dict[str, object] = {
                "experiment_ids": [str(experiment_id)],
                "max_results": SEARCH_PAGE,
                "order_by": ["attributes.start_time DESC"],
            }
            if token:
                payload["page_token"] = token
            page = client.post("runs/search", payload)
            runs = page.get("runs")
            for run in runs if isinstance(runs, list) else ():
                entry = _run_entry(run)
                if entry is None or entry[0] in seen:
                    continue
                run_id, name, keys, _ = entry
                name = name or run_id
                if not fnmatch.fnmatchcase(name, name_glob):
                    continue
                if name in newest:  # the pages come newest first
                    older += 1
                    continue
                newest[name] = (run_id, keys)
            next_token = page.get("next_page_token")
            if not isinstance(next_token, str) or not next_token:
                break
            token = next_token
    except TrackerError as exc:
        return [Failed(label, f"{label}: {exc}")]
    if not newest:
        return [Failed(label, f"{label}: no run's name matches {one_line(name_glob, 80)!r}")]
    if older:
        notes.append(f"{label}: {older} older run(s) sharing a name with a newer one were left out")
    if len(newest) > MAX_RUNS:
        notes.append(f"{label}: {len(newest)} runs match; the newest {MAX_RUNS} were gated")
    picked = list(newest.items())[:MAX_RUNS]
    for _, (run_id, _) in picked:
        seen.add(run_id)
    return [RemoteRun(run_id, name, keys) for name, (run_id, keys) in picked]


def read_remote(client: Client, run: RemoteRun, spec: ReadSpec) -> Curve:
    """The run's curve of the key ``spec.metric`` resolves to; TrackerError when a request fails.

    A value is one point of the history: its place (``value N``, from 1) is what positions count.
    """
    points = Points(unit="value")
    key = resolve_metric(spec.metric, run.keys)
    if key is None:
        points.fields_seen = tuple(one_line(k, 80) for k in run.keys)[:FIELDS_SHOWN]
        return finish(points, (), format="mlflow-server")
    shown = f"mlflow:{run.run_id}/{one_line(key, 120)}"
    token = ""
    read = 0
    for _ in range(MAX_HISTORY_PAGES):
        params: dict[str, str | int] = {"run_id": run.run_id, "metric_key": key, "max_results": HISTORY_PAGE}
        if token:
            params["page_token"] = token
        page = client.get("metrics/get-history", params)
        read = _add_page(points, page.get("metrics"), read, shown)
        next_token = page.get("next_page_token")
        if not isinstance(next_token, str) or not next_token:
            break
        token = next_token
    in_order = _logging_order(points)
    notes = []
    if in_order:
        notes.append(
            f"every value of {key!r} has step 0 (logged without a step): its {in_order} values are read "
            f"in logging order as steps 0 to {in_order - 1}"
        )
    # A remote history has no file: the LogFile's path is never opened, only its display shown.
    return finish(points, [LogFile(Path(), shown, key)], format="mlflow-server", metric_name=key, notes=notes)


def _add_page(points: Points, metrics: object, read: int, shown: str) -> int:
    """Add one page's values; returns how many values have been read so far."""
    batch = Batch(points)
    for item in metrics if isinstance(metrics, list) else ():
        read += 1
        point = _point(item)
        if point is None:
            points.damaged(shown, read)
        else:
            batch.add(*point, read)
    batch.close()
    return read


def _point(item: object) -> tuple[int, float] | None:
    """(step, value) of one ``Metric``; proto JSON may send int64 as a string and NaN as ``"NaN"``."""
    if not isinstance(item, dict):
        return None
    raw_value, raw_step = item.get("value"), item.get("step", 0)
    try:
        if isinstance(raw_value, bool) or not isinstance(raw_value, int | float | str):
            return None
        if isinstance(raw_step, bool) or not isinstance(raw_step, int | str):
            return None
        return int(raw_step), float(raw_value)
    except (ValueError, OverflowError):
        return None
