"""The runner's environment read once (drift/runner.py), and the URL check the REST callers share
(drift/httpclient.url_problem), each worded for the input it came from."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from drift.app import Runtime, run
from drift.config import build_settings
from drift.errors import ConfigError
from drift.httpclient import UrlProblem, url_problem
from drift.prcomment import target_from_env
from drift.runner import RunnerEnv
from tests.conftest import action_defaults

EVERY_VARIABLE = {
    "GITHUB_WORKSPACE": "/ws",
    "GITHUB_OUTPUT": "/out",
    "GITHUB_STEP_SUMMARY": "/summary",
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_EVENT_PATH": "/event.json",
    "GITHUB_API_URL": "https://ghes.example/api/v3",
    "GITHUB_REPOSITORY": "octo/repo",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_JOB": "train",
    "MLFLOW_TRACKING_TOKEN": "tok-secret",
    "MLFLOW_TRACKING_USERNAME": "user",
    "MLFLOW_TRACKING_PASSWORD": "pw-secret",
}


def test_every_variable_lands_in_its_field() -> None:
    env = RunnerEnv.from_environ({**EVERY_VARIABLE, "UNRELATED": "x"}, Path("/cwd"))
    assert env == RunnerEnv(
        workspace=Path("/ws"),
        output_file=Path("/out"),
        summary_file=Path("/summary"),
        event_name="pull_request",
        event_path="/event.json",
        api_url="https://ghes.example/api/v3",
        repository="octo/repo",
        workflow="CI",
        job="train",
        mlflow_token="tok-secret",
        mlflow_username="user",
        mlflow_password="pw-secret",
    )


def test_unset_variables_are_empty_and_the_workspace_falls_back_to_the_current_folder() -> None:
    env = RunnerEnv.from_environ({"GITHUB_WORKSPACE": "", "GITHUB_OUTPUT": ""}, Path("/cwd"))
    assert env == RunnerEnv(workspace=Path("/cwd"))
    assert (env.output_file, env.summary_file, env.event_path, env.api_url) == (None, None, "", "")


def test_the_object_is_frozen_and_keeps_secrets_out_of_its_repr() -> None:
    env = RunnerEnv.from_environ(EVERY_VARIABLE, Path("/cwd"))
    assert "tok-secret" not in repr(env) and "pw-secret" not in repr(env)
    with pytest.raises(AttributeError):
        env.job = "other"  # type: ignore[misc]


def test_the_action_reads_nothing_but_the_object_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files named in the process environment are not touched: only the RunnerEnv's are."""
    decoy = tmp_path / "decoy"
    monkeypatch.setenv("GITHUB_OUTPUT", str(decoy / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(decoy / "summary"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    output, summary = tmp_path / "output", tmp_path / "summary"
    code = run({**action_defaults(), "path": "nothing"}, Runtime(io.StringIO(), RunnerEnv(workspace, output, summary)))
    assert code in (1, 2)
    assert output.read_text(encoding="utf-8") and summary.read_text(encoding="utf-8")
    assert not decoy.exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.github.com", None),
        ("http://127.0.0.1:5000/prefix", None),
        ("https://host/a b", UrlProblem.CHARACTERS),
        ("https://hôst", UrlProblem.CHARACTERS),
        ("https://host/\x07", UrlProblem.CHARACTERS),
        ("http://[::1", UrlProblem.INVALID),
        ("http://host:99999", UrlProblem.INVALID),
        ("ftp://host", UrlProblem.SCHEME),
        ("api.github.com", UrlProblem.SCHEME),
        ("https://", UrlProblem.SCHEME),
        ("https://user:pw@host", UrlProblem.CREDENTIALS),
        ("https://user@host", UrlProblem.CREDENTIALS),
        ("https://host/?a=1", UrlProblem.QUERY),
        ("https://host/#top", UrlProblem.QUERY),
    ],
)
def test_url_problem(url: str, problem: UrlProblem | None) -> None:
    assert url_problem(url) is problem


# Each caller names its own input, and adds what its users need to fix it.
MLFLOW_MESSAGES = {
    UrlProblem.CHARACTERS: "mlflow-tracking-uri holds characters a URL cannot",
    UrlProblem.INVALID: "mlflow-tracking-uri is not a valid URL",
    UrlProblem.SCHEME: "mlflow-tracking-uri must be the tracking server's http(s) address (a file store or "
    "databricks URI is not a server)",
    UrlProblem.CREDENTIALS: "mlflow-tracking-uri must not hold credentials; set MLFLOW_TRACKING_TOKEN, or "
    "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, in the step's env from secrets",
    UrlProblem.QUERY: "mlflow-tracking-uri must not hold a query or a fragment",
}
GITHUB_MESSAGES = {
    UrlProblem.CHARACTERS: "GITHUB_API_URL holds characters a URL cannot",
    UrlProblem.INVALID: "GITHUB_API_URL is not a valid URL",
    UrlProblem.SCHEME: "GITHUB_API_URL is not an http(s) URL",
    UrlProblem.CREDENTIALS: "GITHUB_API_URL must not hold credentials",
    UrlProblem.QUERY: "GITHUB_API_URL must not hold a query or a fragment",
}
BAD_URLS = {
    UrlProblem.CHARACTERS: "https://host/a b",
    UrlProblem.INVALID: "http://host:99999",
    UrlProblem.SCHEME: "file:///tmp/mlruns",
    UrlProblem.CREDENTIALS: "https://user:pw@host",
    UrlProblem.QUERY: "https://host/?a=1",
}


@pytest.mark.parametrize("problem", list(UrlProblem))
def test_the_mlflow_uri_check_names_its_input(problem: UrlProblem, tmp_path: Path) -> None:
    inputs = {**action_defaults(), "mlflow-tracking-uri": BAD_URLS[problem], "mlflow-run-ids": "abc"}
    with pytest.raises(ConfigError) as caught:
        build_settings(inputs, tmp_path)
    assert str(caught.value).endswith(MLFLOW_MESSAGES[problem])
    assert "user:pw" not in str(caught.value)


@pytest.mark.parametrize("problem", list(UrlProblem))
def test_the_github_api_url_check_names_its_variable(problem: UrlProblem, tmp_path: Path) -> None:
    env = RunnerEnv(tmp_path, repository="octo/repo", api_url=BAD_URLS[problem], workflow="CI", job="train")
    assert target_from_env(env, "token", number=7) == GITHUB_MESSAGES[problem]


def test_the_marker_is_built_from_the_workflow_and_the_leg(tmp_path: Path) -> None:
    env = RunnerEnv(tmp_path, repository="octo/repo", workflow="CI", job="train")
    plain, leg = target_from_env(env, "token", number=7), target_from_env(env, "token", number=7, leg="train runs/*")
    assert not isinstance(plain, str) and not isinstance(leg, str)
    assert plain.marker == "<!-- training-drift:CI/train -->"
    assert leg.marker == "<!-- training-drift:CI/train runs%2F%2A -->"
