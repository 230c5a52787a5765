"""The pull-request comment end to end: entrypoint.py in the runner's environment against a local
HTTP server on loopback that speaks GitHub's issue-comment endpoints (tests/test_prcomment.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunAction, decaying, write_store
from tests.test_prcomment import OWNER, PR, REPO, TOKEN, FakeGitHub, Scripted


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    fake = FakeGitHub()
    yield fake
    fake.stop()


def runner_env(github: FakeGitHub, tmp_path: Path, payload: dict[str, object], event: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_JOB": "gate",
    }


PULL = {"pull_request": {"number": PR}}


def test_one_comment_created_then_updated_in_place(
    run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    env = runner_env(github, tmp_path, PULL, "pull_request")
    write_store(workspace / "runs" / "a", [decaying()])
    first = run_action(_env=env, path="runs/*", comment="true", **{"github-token": TOKEN})
    assert first.code == 0, first.stdout
    assert "pull-request comment created" in first.stdout
    spiky = decaying()
    spiky[25] = (25, spiky[25][1] + 3.0)
    write_store(workspace / "runs" / "a", [spiky])  # the next push makes it worse
    second = run_action(_env=env, path="runs/*", comment="true", **{"github-token": TOKEN})
    assert second.code == 1  # the verdict is the gate's, whatever the comment did
    assert "pull-request comment updated" in second.stdout
    (comment,) = github.on(PR)
    assert comment["body"].startswith("<!-- training-drift:")
    assert "WARN, the gate failed" in comment["body"]
    assert github.methods().count("POST") == 1 and github.methods().count("PATCH") == 1
    assert all(
        {k.lower(): v for k, v in seen.headers.items()}["authorization"] == f"Bearer {TOKEN}"
        for seen in github.requests
    )
    assert TOKEN not in first.stdout + second.stdout


def test_a_read_only_token_gives_a_notice_with_the_recipe(
    run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    github.script.append(Scripted(403, "POST"))
    write_store(workspace / "runs" / "a", [decaying()])
    result = run_action(
        _env=runner_env(github, tmp_path, PULL, "pull_request"),
        path="runs/*",
        comment="true",
        **{"github-token": TOKEN},
    )
    assert result.code == 0
    ((level, props, message),) = result.annotations()
    assert level == "notice" and props["title"] == "training-drift: comment"
    assert "workflow_run" in message


def test_server_errors_are_retried(run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub) -> None:
    github.script.append(Scripted(502, "GET"))
    write_store(workspace / "runs" / "a", [decaying()])
    result = run_action(
        _env=runner_env(github, tmp_path, PULL, "pull_request"),
        path="runs/*",
        comment="true",
        **{"github-token": TOKEN},
    )
    assert "pull-request comment created" in result.stdout
    assert github.methods()[:2] == ["GET", "GET"]


def test_the_comment_stays_under_githubs_limit_with_a_thousand_runs(
    run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    for i in range(1000):
        write_store(workspace / "runs" / f"run-{i:04d}-{'x' * 40}", [decaying(12)])
    result = run_action(
        _env=runner_env(github, tmp_path, PULL, "pull_request"),
        path="runs/*",
        comment="true",
        **{"github-token": TOKEN},
    )
    (comment,) = github.on(PR)
    assert len(comment["body"]) <= 65_536
    assert "left out of the table" in comment["body"]
    assert len(result.summary.encode()) > len(comment["body"])  # the job summary holds more


def test_workflow_run_for_a_fork_takes_the_number_from_the_input(
    run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    env = runner_env(github, tmp_path, {"workflow_run": {"pull_requests": []}}, "workflow_run")
    write_store(workspace / "runs" / "a", [decaying()])
    without = run_action(_env=env, path="runs/*", comment="true", **{"github-token": TOKEN})
    assert without.code == 0 and not github.on(PR)
    assert "no pull-request comment" in without.annotations()[0][2]
    given = run_action(_env=env, path="runs/*", comment="true", **{"github-token": TOKEN, "pr-number": str(PR)})
    assert "pull-request comment created" in given.stdout
    assert len(github.on(PR)) == 1


def test_no_comment_unless_asked(run_action: RunAction, workspace: Path, tmp_path: Path, github: FakeGitHub) -> None:
    write_store(workspace / "runs" / "a", [decaying()])
    run_action(_env=runner_env(github, tmp_path, PULL, "pull_request"), path="runs/*")
    assert github.requests == []
