"""Runs on an MLflow tracking server, read through its REST API: against a real ``mlflow server``
(tests/mlflow_server.py) through entrypoint.py as the runner runs it, and the client's retry,
timeout and redaction rules against loopback stand-ins."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import yaml

from drift.config import build_settings
from drift.errors import ConfigError
from drift.evaluate import evaluate
from drift.httpclient import Request, Response, urllib_transport
from drift.readers.common import ReadSpec
from drift.readers.mlflowserver import (
    HISTORY_PAGE,
    Client,
    Credentials,
    RemoteRun,
    TrackerError,
    credentials_from,
    find_runs,
    read_remote,
)
from drift.runner import RunnerEnv
from tests import mlflow_server
from tests.conftest import ROOT, RunAction, read_report, write_store
from tests.mlflow_server import PASSWORD, USER, MlflowServer

DECAY = [5.0 * math.exp(-0.05 * s) + 0.5 for s in range(200)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    started = mlflow_server.start(tmp_path_factory.mktemp("mlflow"))
    try:
        yield started
    finally:
        mlflow_server.stop(started.process)


def client(server: MlflowServer, **kwargs: object) -> Client:
    return Client(server.url, Credentials(username=USER, password=PASSWORD), **kwargs)  # type: ignore[arg-type]


def by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    runs = report["runs"]
    assert isinstance(runs, list)
    return {run["name"]: run for run in runs}


# --- through entrypoint.py, against the real server ------------------------------------------------------


def test_runs_by_id_are_gated_and_a_missing_run_is_an_error(server: MlflowServer, run_action: RunAction) -> None:
    missing = "0123456789abcdef0123456789abcdef"
    ids = f"{server.runs['healthy']}, {server.runs['drifting']}\n{missing}"
    result = run_action(server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_run_ids=ids)
    assert result.code == 1, result.stdout + result.stderr
    runs = by_name(result.report)
    assert set(runs) == {"healthy", "drifting", missing}
    healthy, drifting, gone = runs["healthy"], runs["drifting"], runs[missing]
    assert healthy["verdict"] == "pass" and healthy["metrics"]["num_steps"] == 200  # type: ignore[index]
    assert healthy["source"] == {  # type: ignore[comparison-overlap]
        "format": "mlflow-server",
        "metric": "loss",
        "step": None,  # MLflow's own step, as for the file store: no field name was chosen
        "files": [f"mlflow:{server.runs['healthy']}/loss"],
    }
    assert drifting["verdict"] == "warn" and drifting["metrics"]["instability_events"] == 1  # type: ignore[index]
    assert drifting["events"][0]["step"] == 100  # type: ignore[index]
    assert gone["verdict"] == "error"
    assert "not found on the MLflow server" in str(gone["message"]) and "HTTP 404" in str(gone["message"])
    errors = [a for a in result.annotations("error") if missing in a[2]]
    assert len(errors) == 1 and "\n" not in errors[0][2]
    # The password is masked before anything else is printed, and shown nowhere.
    assert result.stdout.startswith(f"::add-mask::{PASSWORD}\n")
    assert PASSWORD not in result.stdout.replace(f"::add-mask::{PASSWORD}", "")
    report_text = (result.workspace / "training-drift-report.json").read_text()
    assert PASSWORD not in report_text and PASSWORD not in result.summary
    assert "| <code>healthy</code> | ✅ PASS |" in result.summary


def test_a_tracked_run_gives_the_figures_the_same_curve_gives_from_files(
    server: MlflowServer, run_action: RunAction, workspace: Path
) -> None:
    write_store(workspace / "files" / "healthy", [list(enumerate(DECAY))])
    remote = run_action(server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_run_ids=server.runs["healthy"])
    local = run_action(path="files/healthy")
    (got,) = remote.report["runs"]
    (want,) = local.report["runs"]
    for key in ("verdict", "score", "metrics", "failed_checks", "spike_threshold"):
        if key == "metrics":
            assert {k: v for k, v in got[key].items() if k != "num_log_files"} == {
                k: v for k, v in want[key].items() if k != "num_log_files"
            }
        else:
            assert got[key] == want[key], key


def test_an_experiment_gates_the_newest_run_of_each_matching_name(server: MlflowServer, run_action: RunAction) -> None:
    result = run_action(
        server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_experiment="nightly", mlflow_run_name="h*"
    )
    assert result.code == 0, result.stdout
    (run,) = result.report["runs"]
    # Two runs are called "healthy"; the older one has a spike, the newer one does not.
    assert run["name"] == "healthy" and run["verdict"] == "pass"
    assert run["source"]["files"] == [f"mlflow:{server.runs['healthy']}/loss"]
    assert any("1 older run(s)" in note for note in result.report["notes"])


def test_a_whole_experiment_with_hostile_names_and_odd_runs(server: MlflowServer, run_action: RunAction) -> None:
    result = run_action(server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_experiment="nightly")
    runs = by_name(result.report)
    hostile = "<img src=x>::error::pwned"
    assert set(runs) == {"healthy", "drifting", "nan", "no-steps", "accuracy-only", hostile}
    assert runs["nan"]["nonfinite_steps"] == [150]
    assert runs["no-steps"]["metrics"]["num_steps"] == 50  # type: ignore[index]
    assert any("logging order" in note for note in runs["no-steps"]["notes"])  # type: ignore[union-attr]
    assert runs["accuracy-only"]["verdict"] == "skip" and "accuracy" in str(runs["accuracy-only"]["hint"])
    assert "<img" not in result.summary
    assert not [c for c in result.commands if "pwned" in c[2] and c[0] in ("error", "warning")]


def test_a_baseline_report_matches_tracked_runs_by_name(
    server: MlflowServer, run_action: RunAction, workspace: Path
) -> None:
    ids = server.runs["healthy"]
    first = run_action(server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_run_ids=ids)
    (workspace / "main-report.json").write_text((workspace / "training-drift-report.json").read_text())
    assert first.code == 0
    second = run_action(
        server.auth_env, path="", mlflow_tracking_uri=server.url, mlflow_run_ids=ids, baseline="main-report.json"
    )
    (run,) = second.report["runs"]
    assert run["baseline"] is not None and run["baseline"]["name"] == "healthy"
    assert run["baseline"]["metrics"]["final_loss"] == run["metrics"]["final_loss"]


@pytest.mark.parametrize(
    "case",
    [
        ({"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": "wrong-password-91"}, "USERNAME", False),
        ({}, "set MLFLOW_TRACKING_TOKEN", False),
        ({"MLFLOW_TRACKING_TOKEN": "bad-token-4e2f"}, "MLFLOW_TRACKING_TOKEN", True),
    ],
)
def test_refused_credentials_are_an_error_for_each_run_and_stay_secret(
    server: MlflowServer, run_action: RunAction, workspace: Path, case: tuple[dict[str, str], str, bool]
) -> None:
    env, using, behind = case
    write_store(workspace / "files" / "healthy", [list(enumerate(DECAY))])
    ids = f"{server.runs['healthy']},{server.runs['drifting']}"
    with mlflow_server.token_proxy(server.url) if behind else nullcontext(server.url) as url:
        result = run_action(env, path="files", mlflow_tracking_uri=url, mlflow_run_ids=ids)
    assert result.code == 1
    runs = by_name(result.report)
    assert runs["files/healthy"]["verdict"] == "pass"  # the other runs go on
    for run_id in (server.runs["healthy"], server.runs["drifting"]):
        message = str(runs[run_id]["message"])
        assert runs[run_id]["verdict"] == "error"
        assert "refused the credentials (HTTP 401" in message and using in message
    secret = env.get("MLFLOW_TRACKING_PASSWORD") or env.get("MLFLOW_TRACKING_TOKEN")
    if secret:
        assert f"::add-mask::{secret}\n" in result.stdout
        assert result.stdout.count(secret) == 1
        assert secret not in result.summary
        assert secret not in (workspace / "training-drift-report.json").read_text()


def test_a_good_token_reads_through_a_token_gateway(server: MlflowServer, run_action: RunAction) -> None:
    with mlflow_server.token_proxy(server.url) as url:
        result = run_action(
            {"MLFLOW_TRACKING_TOKEN": mlflow_server.TOKEN},
            path="",
            mlflow_tracking_uri=url,
            mlflow_experiment="nightly",
            mlflow_run_name="drifting",
        )
    (run,) = result.report["runs"]
    assert run["name"] == "drifting" and run["verdict"] == "warn"
    assert result.stdout.startswith(f"::add-mask::{mlflow_server.TOKEN}\n")
    assert result.stdout.count(mlflow_server.TOKEN) == 1


def test_an_unreachable_server_is_an_error_and_files_still_gate(run_action: RunAction, workspace: Path) -> None:
    write_store(workspace / "files" / "healthy", [list(enumerate(DECAY))])
    url = f"http://127.0.0.1:{mlflow_server.free_port()}"
    started = time.monotonic()
    result = run_action(path="files", mlflow_tracking_uri=url, mlflow_run_ids="aaa,bbb")
    assert time.monotonic() - started < 60
    runs = by_name(result.report)
    assert runs["files/healthy"]["verdict"] == "pass"
    for name in ("aaa", "bbb"):
        assert runs[name]["verdict"] == "error"
        assert f"cannot reach the MLflow server at {url}: connection refused" in str(runs[name]["message"])
    assert result.code == 1


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"mlflow_run_ids": "abc"}, "mlflow-tracking-uri is empty"),
        ({"mlflow_tracking_uri": "http://127.0.0.1:5000"}, "names no run"),
        ({"mlflow_tracking_uri": "http://u:p@127.0.0.1:5000", "mlflow_run_ids": "a"}, "must not hold credentials"),
        ({"mlflow_tracking_uri": "file:///tmp/mlruns", "mlflow_run_ids": "a"}, "http(s) address"),
        ({"mlflow_tracking_uri": "http://h", "mlflow_run_name": "x*", "mlflow_run_ids": "a"}, "mlflow-experiment"),
        ({"mlflow_tracking_uri": "http://h", "mlflow_run_ids": "a b"}, "not an MLflow run id"),
    ],
)
def test_bad_tracker_inputs_are_configuration_errors(run_action: RunAction, inputs: dict[str, str], says: str) -> None:
    result = run_action(path="", **inputs)
    assert result.code == 2
    (annotation,) = result.annotations("error")
    assert says in annotation[2]
    assert "u:p@" not in result.stdout


def test_the_command_line_reads_a_tracker(
    server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    report = tmp_path / "r.json"
    code = main(
        ["--mlflow-tracking-uri", server.url, "--mlflow-run-ids", server.runs["healthy"], "--report-path", str(report)]
    )
    assert code == 0
    assert read_report(report)["runs"][0]["name"] == "healthy"


# --- the reader against the real server ------------------------------------------------------------------


def test_a_100000_step_history_is_read_page_by_page(server: MlflowServer) -> None:
    asked: list[str] = []

    def counting(request: Request) -> Response:
        asked.append(request.url)
        return urllib_transport(request)

    reader = client(server, transport=counting)
    found, _ = find_runs(reader, [server.runs["long"]], "", "")
    (run,) = found
    assert isinstance(run, RemoteRun) and run.keys == ("train/loss",)
    curve = read_remote(reader, run, ReadSpec())
    pages = [url for url in asked if "metrics/get-history" in url]
    assert len(pages) == math.ceil(100_000 / HISTORY_PAGE) and all(f"max_results={HISTORY_PAGE}" in p for p in pages)
    assert sum("page_token=" in p for p in pages) == len(pages) - 1
    assert len(curve) == 100_000 and curve.metric_name == "train/loss"
    np.testing.assert_array_equal(curve.steps, np.arange(100_000))
    np.testing.assert_allclose(curve.values, 2.0 * np.exp(-np.arange(100_000) / 20000) + 0.1, rtol=0, atol=0)
    assert curve.position(99_999).file == f"mlflow:{server.runs['long']}/train/loss"
    assert str(curve.position(99_999)).endswith("value 100000")


def test_an_unknown_experiment_is_one_error(server: MlflowServer) -> None:
    found, _ = find_runs(client(server), [], "no-such-experiment", "")
    (failed,) = found
    assert not isinstance(failed, RemoteRun)
    assert failed.name == "MLflow experiment 'no-such-experiment'" and "HTTP 404" in failed.message


def test_a_glob_that_matches_nothing_says_so(server: MlflowServer) -> None:
    found, _ = find_runs(client(server), [], "other", "zzz*")
    (failed,) = found
    assert not isinstance(failed, RemoteRun) and "no run's name matches 'zzz*'" in failed.message


# --- the client's rules, against stand-ins ----------------------------------------------------------------


class Scripted:
    """A transport that answers from a list and records what it was asked."""

    def __init__(self, *answers: Response | BaseException) -> None:
        self.answers = list(answers)
        self.asked: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.asked.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def ok(body: object) -> Response:
    return Response(200, {}, json.dumps(body).encode())


RUN = {"run": {"info": {"run_id": "r1", "run_name": "one"}, "data": {"metrics": [{"key": "loss"}]}}}


def scripted_client(transport: Scripted, credentials: Credentials | None = None, **kwargs: object) -> Client:
    slept: list[float] = []
    return Client("http://tracker.test/", credentials or Credentials(), transport, sleep=slept.append, **kwargs)  # type: ignore[arg-type]


def test_a_token_goes_as_a_bearer_header_and_basic_auth_as_basic() -> None:
    transport = Scripted(ok(RUN), ok(RUN))
    scripted_client(transport, Credentials(token="tok-1")).get("runs/get", {"run_id": "r1"})
    scripted_client(transport, Credentials(username="u", password="p")).get("runs/get", {"run_id": "r1"})
    assert transport.asked[0].headers["Authorization"] == "Bearer tok-1"
    assert transport.asked[1].headers["Authorization"] == "Basic dTpw"
    assert transport.asked[0].url == "http://tracker.test/api/2.0/mlflow/runs/get?run_id=r1"


def test_credentials_come_from_mlflows_variables_and_are_not_in_repr() -> None:
    found = credentials_from(
        RunnerEnv.from_environ({"MLFLOW_TRACKING_TOKEN": " t0k ", "MLFLOW_TRACKING_PASSWORD": "pw"}, Path())
    )
    assert found.token == "t0k" and found.secrets == ("t0k", "pw")
    assert "t0k" not in repr(found) and "pw" not in repr(found)


def test_server_errors_and_rate_limits_are_retried() -> None:
    transport = Scripted(
        Response(503, {}, b""), Response(429, {"retry-after": "2"}, b""), ok({"metrics": [{"step": 1, "value": 2}]})
    )
    reader = scripted_client(transport)
    curve = read_remote(reader, RemoteRun("r1", "one", ("loss",)), ReadSpec())
    assert len(curve) == 1 and len(transport.asked) == 3


def test_retries_are_bounded_and_say_how_many() -> None:
    transport = Scripted(*[Response(502, {}, b"")] * 3)
    with pytest.raises(TrackerError, match=r"answered HTTP 502 \(3 attempts\)"):
        scripted_client(transport).get("runs/get", {"run_id": "r1"})


def test_a_refused_connection_is_not_asked_again_for_later_runs() -> None:
    transport = Scripted(*[ConnectionRefusedError()] * 3)
    reader = scripted_client(transport)
    found, _ = find_runs(reader, ["a", "b", "c"], "", "")
    assert len(transport.asked) == 3  # the first run's attempts only
    assert [f.name for f in found] == ["a", "b", "c"]
    assert all("connection refused (3 attempts)" in getattr(f, "message", "") for f in found)


def test_the_deadline_bounds_every_request() -> None:
    now = [0.0]
    transport = Scripted(ok(RUN))
    reader = Client("http://t", Credentials(), transport, sleep=lambda s: None, clock=lambda: now[0], budget=10)
    reader.get("runs/get", {"run_id": "r1"})
    now[0] = 11.0
    with pytest.raises(TrackerError, match="10 s allowed for the MLflow server ran out"):
        reader.get("runs/get", {"run_id": "r1"})


def test_a_server_that_echoes_the_token_never_shows_it() -> None:
    body = json.dumps({"error_code": "UNAUTHENTICATED", "message": "token sekrit-99 rejected"}).encode()
    transport = Scripted(Response(401, {}, body))
    with pytest.raises(TrackerError) as caught:
        scripted_client(transport, Credentials(token="sekrit-99")).get("runs/get", {"run_id": "r1"})
    assert "sekrit" not in str(caught.value) and "***" in str(caught.value)


def test_damaged_history_values_are_skipped_and_counted() -> None:
    page = {"metrics": [{"step": "3", "value": "NaN"}, {"step": 4}, "x", {"step": 5, "value": 1.5}, {"value": 2.0}]}
    curve = read_remote(scripted_client(Scripted(ok(page))), RemoteRun("r1", "one", ("loss",)), ReadSpec())
    assert curve.steps.tolist() == [0, 3, 5]  # a value without a step is step 0, as in MLflow's proto
    assert curve.values[1] == math.inf
    assert curve.skipped_lines == 2 and str(curve.first_skipped) == "mlflow:r1/loss value 2"


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        reader = Client(url, Credentials(), sleep=lambda s: None, timeout=0.5, max_attempts=2)
        started = time.monotonic()
        with pytest.raises(TrackerError, match=r"did not answer within 0.5 s \(2 attempts\)"):
            reader.get("runs/get", {"run_id": "r1"})
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_settings_carry_the_selection() -> None:
    settings = build_settings(
        {"mlflow-tracking-uri": "https://mlflow.example/", "mlflow-experiment": "nightly", "mlflow-run-name": "r*"},
        Path("."),
    )
    assert settings.mlflow is not None and settings.mlflow.experiment == "nightly"
    with pytest.raises(ConfigError):
        build_settings({"mlflow-experiment": "nightly"}, Path("."))


def test_evaluate_without_a_tracker_access_uses_no_credentials(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{mlflow_server.free_port()}"
    settings = build_settings({"mlflow-tracking-uri": url, "mlflow-run-ids": "x"}, tmp_path)
    outcome = evaluate(settings, tmp_path)
    (run,) = outcome.runs
    assert run.verdict.value == "error" and outcome.no_logs is None


@pytest.mark.parametrize("example", sorted((ROOT / "docs" / "workflows").glob("mlflow-*.yml")), ids=str)
def test_the_workflow_examples_use_real_inputs_and_mlflows_variables(example: Path) -> None:
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    workflow = yaml.safe_load(example.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    gates = [step for step in steps if str(step.get("uses", "")).startswith("org/training-drift@")]
    assert gates
    for step in gates:
        assert set(step["with"]) <= inputs and "mlflow-tracking-uri" in step["with"]
        assert set(step["env"]) <= {"MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
        assert all(value.startswith("${{ secrets.") for value in step["env"].values())
