"""A real ``mlflow server`` for the tracking-server tests: SQLite backend, loopback only, a free port,
MLflow's basic-auth app in front, filled by the real MLflow client, stopped at the end.

The client fills the SQLite store the server then serves (``MlflowClient("sqlite:///...")``): logging
100,000 values through the server's REST API takes 100 ``log_batch`` requests of 1,000 (its limit)
and over two minutes on a busy two-core machine, writing the same rows straight into the store
well under one. Starting the server costs tens of seconds more (MLflow's imports), so one server
serves a whole test module. The basic-auth app checks a password with PBKDF2 on every request;
its credential cache is on so the tests do not spend minutes hashing.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

USER = "admin"
PASSWORD = "pw-for-tests-only-7f3a"
TOKEN = "tok-for-tests-only-c41d"
START_TIMEOUT = 240.0  # MLflow's imports take long on a busy two-core machine

FILL = r"""
import json, math, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric

client = MlflowClient(tracking_uri=sys.argv[1])
made = {}

def run(experiment, name, values, key="loss", steps=None):
    info = client.create_run(experiment, run_name=name).info
    now = int(time.time() * 1000)
    steps = range(len(values)) if steps is None else steps
    metrics = [Metric(key, v, now + i, s) for i, (s, v) in enumerate(zip(steps, values))]
    for i in range(0, len(metrics), 1000):  # the REST API takes at most 1,000 metrics per log_batch
        client.log_batch(info.run_id, metrics=metrics[i : i + 1000])
    client.set_terminated(info.run_id)
    time.sleep(0.02)  # distinct start times: the experiment search orders by them
    return info.run_id

nightly = client.create_experiment("nightly")
other = client.create_experiment("other")
long_runs = client.create_experiment("long-runs")  # apart, so the whole-"nightly" test stays quick
decay = [5.0 * math.exp(-0.05 * s) + 0.5 for s in range(200)]
spiky = list(decay)
spiky[100] += 3.0
made["healthy-old"] = run(nightly, "healthy", spiky)  # an older run of the same name: the search skips it
made["healthy"] = run(nightly, "healthy", decay)
made["drifting"] = run(nightly, "drifting", spiky)
made["long"] = run(long_runs, "long", [2.0 * math.exp(-s / 20000) + 0.1 for s in range(100_000)], key="train/loss")
made["nan"] = run(nightly, "nan", [v if s != 150 else float("nan") for s, v in enumerate(decay)])
made["no-steps"] = run(nightly, "no-steps", decay[:50], steps=[0] * 50)
made["accuracy-only"] = run(nightly, "accuracy-only", decay, key="accuracy")
made["hostile"] = run(nightly, "<img src=x>::error::pwned", decay)
made["elsewhere"] = run(other, "elsewhere", decay)
print(json.dumps(made))
"""


@dataclass
class MlflowServer:
    url: str
    runs: dict[str, str]  # run label -> run id
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def auth_env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": PASSWORD}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(folder: Path) -> MlflowServer:
    try:
        import mlflow  # noqa: F401 - only to know whether the dev dependency is there
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("mlflow is not installed; CI installs it from requirements-dev.txt")
        pytest.skip("mlflow is not installed (pip install -r requirements-dev.txt)")
    config = folder / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'auth.db'}\n"
        f"admin_username = {USER}\n"
        f"admin_password = {PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "auth_cache_ttl_seconds = 3600\n",
        encoding="utf-8",
    )
    fill = subprocess.run(
        [sys.executable, "-c", FILL, f"sqlite:///{folder / 'mlflow.db'}"],
        env={k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if fill.returncode != 0:
        raise RuntimeError(f"filling the MLflow store failed:\n{fill.stderr[-3000:]}")
    runs = json.loads(fill.stdout.strip().splitlines()[-1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "tests-only-csrf-key",
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--default-artifact-root",
            str(folder / "artifacts"),
            "--app-name",
            "basic-auth",
            "--workers",
            "1",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() ends the server and its workers
    )
    try:
        _wait_ready(url, process, folder)
    except BaseException:
        stop(process)
        raise
    return MlflowServer(url, runs, process)


def _wait_ready(url: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (folder / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer /health within {START_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@contextmanager
def token_proxy(upstream: str) -> Iterator[str]:
    """A bearer-token gateway on loopback in front of the basic-auth server, as teams put one in front
    of MLflow: ``Authorization: Bearer TOKEN`` is let through (as the admin), anything else gets 401.

    MLflow's basic-auth app itself cannot answer a bearer token cleanly: with its credential cache on
    it fails with HTTP 500 (``_auth_cache_key`` is given no user name).
    """
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Gateway(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.answer(401, b'{"error_code": "UNAUTHENTICATED", "message": "bad token"}')
                return
            headers = {"Authorization": basic, "Content-Type": self.headers.get("Content-Type") or "application/json"}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    self.answer(reply.status, reply.read())
            except urllib.error.HTTPError as err:
                self.answer(err.code, err.read())

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = relay
        do_POST = relay

    gateway = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{gateway.server_address[1]}"
    finally:
        gateway.shutdown()
        gateway.server_close()
        thread.join()
