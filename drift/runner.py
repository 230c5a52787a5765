"""The runner's environment, read once at the edge (entrypoint.py, the CLI) into one frozen object.

Nothing below the edge reads ``os.environ``: the action, the pull-request comment and the MLflow
client receive a :class:`RunnerEnv`, and tests build one by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunnerEnv:
    """What the GitHub runner (and the step's ``env:``) tells the action; a variable not set is empty."""

    workspace: Path  # GITHUB_WORKSPACE, else the current folder
    output_file: Path | None = None  # GITHUB_OUTPUT
    summary_file: Path | None = None  # GITHUB_STEP_SUMMARY
    event_name: str = ""  # GITHUB_EVENT_NAME
    event_path: str = ""  # GITHUB_EVENT_PATH: the webhook payload, read by drift/ghevent.py
    api_url: str = ""  # GITHUB_API_URL (GHES: https://host/api/v3); empty: api.github.com
    repository: str = ""  # GITHUB_REPOSITORY: owner/name
    workflow: str = ""  # GITHUB_WORKFLOW
    job: str = ""  # GITHUB_JOB
    mlflow_token: str = field(default="", repr=False)  # MLFLOW_TRACKING_TOKEN
    mlflow_username: str = ""  # MLFLOW_TRACKING_USERNAME
    mlflow_password: str = field(default="", repr=False)  # MLFLOW_TRACKING_PASSWORD

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], cwd: Path) -> RunnerEnv:
        """Read once; ``cwd`` stands in for an unset GITHUB_WORKSPACE."""

        def file(name: str) -> Path | None:
            value = environ.get(name, "")
            return Path(value) if value else None

        return cls(
            workspace=Path(environ.get("GITHUB_WORKSPACE") or cwd),
            output_file=file("GITHUB_OUTPUT"),
            summary_file=file("GITHUB_STEP_SUMMARY"),
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            event_path=environ.get("GITHUB_EVENT_PATH", ""),
            api_url=environ.get("GITHUB_API_URL", ""),
            repository=environ.get("GITHUB_REPOSITORY", ""),
            workflow=environ.get("GITHUB_WORKFLOW", ""),
            job=environ.get("GITHUB_JOB", ""),
            mlflow_token=environ.get("MLFLOW_TRACKING_TOKEN", ""),
            mlflow_username=environ.get("MLFLOW_TRACKING_USERNAME", ""),
            mlflow_password=environ.get("MLFLOW_TRACKING_PASSWORD", ""),
        )
