"""The action's Docker image, started the way GitHub's runner starts a container action.

`.ci/docker-test start` (or `.ci/docker-test exec CMD`) builds the image from the Dockerfile on a
private Docker engine and exports DOCKER_HOST, TRAINING_DRIFT_DOCKER and TRAINING_DRIFT_IMAGE.
These tests then run it with the options, mounts and environment of actions/runner
(src/Runner.Worker/Handlers/ContainerActionHandler.cs and DockerCommandManager.DockerRun):

- the runner's temp folder holds `_github_home`, `_github_workflow` and `_runner_file_commands`;
  it and each of them are mounted at /github/runner_temp, /github/home, /github/workflow and
  /github/file_commands, the workspace at /github/workspace, and /var/run/docker.sock is the
  engine's socket;
- `--workdir /github/workspace --rm`, every variable passed by name (`-e NAME`, its value in the
  docker client's environment, hyphenated input names included), then `-e GITHUB_ACTIONS=true`
  and `-e CI=true`;
- host paths in variables are translated to their container paths (GITHUB_OUTPUT becomes
  /github/file_commands/set_output_<uuid>, RUNNER_TEMP /github/runner_temp, HOME /github/home);
  the runner creates every file-command file, empty, before the step.

Two differences, both deliberate: the runner attaches the job's bridge network and these tests
use `--network none` (the engine has no bridge, and the action must not need the network), and the
base images are Debian bookworm's Python 3.11 made with debootstrap, not Docker Hub's.

Ownership: the runner runs a container action as root, so files the action writes into the
workspace belong to uid 0 even though GitHub's hosted runner user (uid 1001, whom these tests make
the owner of the workspace and temp folders when they run as root) owns the workspace. The report
must therefore be readable by everyone (0644) for later steps and artifact uploads.

Where no engine could be started the tests fail under CI=true and skip otherwise, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import mlflow_server, wandb_runs, writers
from tests.conftest import ROOT, ActionResult, RunAction, action_defaults, decaying, parse_output_file, read_report

GOLDEN = Path(__file__).parent / "golden"
RUNNER_UID = 1001  # the `runner` user of GitHub's hosted Ubuntu images
FAKE_TOKEN = "ghs_" + "0" * 36  # what `${{ github.token }}` evaluates to, here
# The runner's file commands: file-name prefix -> the variable naming the file.
FILE_COMMANDS = {
    "add_path_": "GITHUB_PATH",
    "set_env_": "GITHUB_ENV",
    "set_output_": "GITHUB_OUTPUT",
    "save_state_": "GITHUB_STATE",
    "step_summary_": "GITHUB_STEP_SUMMARY",
}
DRIFTING_LOG = "examples/drifting/logs/train-000001-20260302T090000.jsonl"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


@dataclass(frozen=True)
class Engine:
    docker: str
    image: str
    socket: Path
    env: dict[str, str]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.docker, *args], check=False, env=self.env, capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture(scope="module")
def engine() -> Engine:
    image = os.environ.get("TRAINING_DRIFT_IMAGE", "")
    host = os.environ.get("DOCKER_HOST", "")
    if not image or not host.startswith("unix://"):
        reason = os.environ.get("TRAINING_DRIFT_IMAGE_UNAVAILABLE") or (
            "TRAINING_DRIFT_IMAGE and a unix:// DOCKER_HOST are not set; run the tests as root through "
            "`.ci/docker-test exec .venv/bin/python -m pytest` (or eval the output of `.ci/docker-test start`)"
        )
        message = f"NO DOCKER ENGINE, the action's image is not tested: {reason}"
        if _in_ci():
            pytest.fail(f"{message} (CI={os.environ['CI']})", pytrace=False)
        pytest.skip(message)
    docker = os.environ.get("TRAINING_DRIFT_DOCKER") or shutil.which("docker") or "docker"
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_CONTEXT"}
    found = Engine(docker, image, Path(host.removeprefix("unix://")), env)
    # The variables say an engine is up: from here on, not reaching it is a failure, never a skip.
    proc = found.cli("image", "inspect", "--format", "{{.Id}}", image)
    assert proc.returncode == 0, f"{image} on {host}: {proc.stderr}"
    return found


@dataclass(frozen=True)
class Runner:
    """The host side of one step: the runner's temp folder and the workspace."""

    temp: Path
    workspace: Path
    files: dict[str, Path]  # file-command prefix -> its file

    @property
    def home(self) -> Path:
        return self.temp / "_github_home"

    @property
    def workflow(self) -> Path:
        return self.temp / "_github_workflow"

    @property
    def file_commands(self) -> Path:
        return self.temp / "_runner_file_commands"


def _runner(tmp_path: Path, logs: Path | None = None) -> Runner:
    work = tmp_path / "work"
    temp, workspace = work / "_temp", work / "repo" / "repo"
    for folder in (temp / "_github_home", temp / "_github_workflow", temp / "_runner_file_commands", workspace):
        folder.mkdir(parents=True)
    (temp / "_github_workflow" / "event.json").write_text('{"ref": "refs/heads/main"}\n', encoding="utf-8")
    suffix = str(uuid.uuid4())
    files = {prefix: temp / "_runner_file_commands" / f"{prefix}{suffix}" for prefix in FILE_COMMANDS}
    for path in files.values():
        path.touch()
    shutil.copytree(ROOT / "examples", workspace / "examples", ignore=shutil.ignore_patterns("*.py"))
    if logs is not None:
        shutil.copytree(logs, workspace / logs.name, symlinks=True)
    if os.geteuid() == 0:
        for path in (work, *work.rglob("*")):
            os.chown(path, RUNNER_UID, RUNNER_UID, follow_symlinks=False)
    return Runner(temp, workspace, files)


@dataclass(frozen=True)
class StepRun:
    result: ActionResult
    runner: Runner
    workspace_before: dict[str, tuple[int, int, int]]  # relative path -> (uid, mode, inode)
    files_before: dict[str, tuple[int, int]]  # file-command prefix -> (uid, inode)

    def files_now(self) -> dict[str, tuple[int, int]]:
        return _owners(self.runner.files)


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {".": _stat(root)}
    for path in root.rglob("*"):
        out[path.relative_to(root).as_posix()] = _stat(path)
    return out


def _stat(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return st.st_uid, st.st_mode, st.st_ino


def _owners(files: dict[str, Path]) -> dict[str, tuple[int, int]]:
    return {prefix: (path.lstat().st_uid, path.lstat().st_ino) for prefix, path in files.items()}


def _run_step(
    engine: Engine,
    tmp_path: Path,
    *,
    logs: Path | None = None,
    network: str = "none",
    env: dict[str, str] | None = None,
    **inputs: str,
) -> StepRun:
    """One step of the action in the container; ``logs`` is a folder copied into the workspace,
    ``network`` the container's (the runner gives it the job's network: ``host`` reaches a server
    the test started on loopback), ``env`` more variables for the step (a workflow's ``env:``)."""
    runner = _runner(tmp_path, logs)
    values = action_defaults()
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    container_env = {
        f"INPUT_{name.upper()}": FAKE_TOKEN if value == "${{ github.token }}" else value
        for name, value in values.items()
    }
    container_env.update(
        HOME="/github/home",
        GITHUB_WORKSPACE="/github/workspace",
        GITHUB_EVENT_PATH="/github/workflow/event.json",
        GITHUB_EVENT_NAME="push",
        GITHUB_REPOSITORY="org/model",
        GITHUB_REF="refs/heads/main",
        GITHUB_SHA="0" * 40,
        GITHUB_RUN_ID="1",
        GITHUB_JOB="gate",
        GITHUB_ACTION="drift",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_API_URL="https://api.github.com",
        RUNNER_OS="Linux",
        RUNNER_ARCH="X64",
        RUNNER_TEMP="/github/runner_temp",
        ACTIONS_RUNTIME_URL="https://pipelines.actions.githubusercontent.com/x/",
        ACTIONS_RUNTIME_TOKEN=FAKE_TOKEN,
    )
    container_env.update(env or {})
    for prefix, path in runner.files.items():
        container_env[FILE_COMMANDS[prefix]] = f"/github/file_commands/{path.name}"
    args = ["run", "--name", f"training-drift-ci_{uuid.uuid4().hex[:6]}", "--label", "training-drift-ci"]
    args += ["--workdir", "/github/workspace", "--rm"]
    for name in container_env:
        args += ["-e", name]
    args += ["-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", network]
    mounts = {
        engine.socket: "/var/run/docker.sock",
        runner.temp: "/github/runner_temp",
        runner.home: "/github/home",
        runner.workflow: "/github/workflow",
        runner.file_commands: "/github/file_commands",
        runner.workspace: "/github/workspace",
    }
    for source, target in mounts.items():
        args += ["-v", f"{source}:{target}"]
    args.append(engine.image)

    workspace_before = _tree(runner.workspace)
    files_before = _owners(runner.files)
    proc = subprocess.run(
        [engine.docker, *args],
        check=False,
        env={**engine.env, **container_env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    result = ActionResult(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        parse_output_file(runner.files["set_output_"].read_text(encoding="utf-8")),
        runner.files["step_summary_"].read_text(encoding="utf-8"),
        runner.workspace,
    )
    return StepRun(result, runner, workspace_before, files_before)


def _assert_written_like_a_container_action(step: StepRun, report_name: str) -> None:
    """New in the workspace: the report and its charts, root's, files 0644 and folders 0755 so that the
    runner's user can read them; the runner's own files keep their owner and inode (appended to)."""
    after = _tree(step.runner.workspace)
    report_file = step.runner.workspace / report_name
    report = read_report(report_file)
    charts = sorted(run["chart"] for run in report["runs"] if run["chart"])
    assert charts, "every example run has a curve to draw"
    folders = sorted({Path(chart).parent.as_posix() for chart in charts})
    assert folders == [Path(report_name).stem + "-charts"]
    new = set(after) - set(step.workspace_before)
    assert sorted(new) == sorted([report_name, *folders, *charts])
    assert {path: after[path] for path in step.workspace_before} == step.workspace_before
    for path in sorted(new):
        uid, mode, _ = after[path]
        gid = (step.runner.workspace / path).lstat().st_gid
        expected = 0o040755 if path in folders else 0o100644
        assert (path, uid, gid, oct(mode)) == (path, 0, 0, oct(expected)), "container actions run as root"
    assert step.files_now() == step.files_before
    text = step.result.stdout + step.result.stderr + step.result.summary + report_file.read_text(encoding="utf-8")
    assert FAKE_TOKEN not in text + "".join(step.result.outputs.values())
    assert "/github/" not in report_file.read_text(encoding="utf-8"), "paths in the report are workspace-relative"
    assert "Traceback" not in step.result.stderr


def _python_version_in_dockerfile() -> str:
    match = re.search(r"^FROM python:(\d+\.\d+)\.", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert match, "the Dockerfile's runtime stage is a python image"
    return match.group(1)


def test_image_has_the_dockerfiles_entrypoint_and_the_compiled_scanner(engine: Engine) -> None:
    proc = engine.cli("image", "inspect", engine.image)
    assert proc.returncode == 0, proc.stderr
    (image,) = json.loads(proc.stdout)
    config = image["Config"]
    assert config["Entrypoint"] == ["python", "/action/entrypoint.py"]
    # The runner sets the working directory and runs as root: the Dockerfile sets neither.
    assert (config["User"], config["WorkingDir"]) == ("", "")
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    probe = (
        "import sys; sys.path.insert(0, '/action'); from drift import native; "
        "print('%d.%d' % sys.version_info[:2], native.load() is not None, native.load_text() is not None)"
    )
    proc = engine.cli("run", "--rm", "--network", "none", "--entrypoint", "python", engine.image, "-c", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [_python_version_in_dockerfile(), "True", "True"]


def test_healthy_example_passes(engine: Engine, tmp_path: Path) -> None:
    step = _run_step(engine, tmp_path, path="examples/healthy")
    result = step.result
    assert result.code == 0, result.stdout + result.stderr
    assert result.outputs["verdict"] == "pass"
    assert result.outputs["passed"] == "true"
    assert result.outputs["report-path"] == "training-drift-report.json"
    assert result.annotations() == []
    assert result.summary.startswith("## ✅ training-drift: PASS, the gate passed")
    assert "| <code>examples/healthy</code> | ✅ PASS |" in result.summary
    report = result.report
    assert report["verdict"] == "pass" and report["passed"] is True
    (run,) = report["runs"]
    assert run["name"] == "examples/healthy"
    assert run["source"]["files"] == [
        "examples/healthy/logs/train-000001-20260301T100000.jsonl",
        "examples/healthy/logs/train-000002-20260301T113000.jsonl",
    ]
    assert float(result.outputs["final-loss"]) == pytest.approx(run["metrics"]["final_loss"])
    assert int(result.outputs["instability-events"]) == run["metrics"]["instability_events"] == 0
    _assert_written_like_a_container_action(step, "training-drift-report.json")


def test_drifting_example_fails_the_step_with_one_error_per_failed_threshold(engine: Engine, tmp_path: Path) -> None:
    step = _run_step(engine, tmp_path, path="examples/drifting", report_path="drifting-report.json")
    result = step.result
    assert result.code == 1, result.stdout + result.stderr
    assert result.outputs["verdict"] == "warn"
    assert result.outputs["passed"] == "false"
    assert result.outputs["report-path"] == "drifting-report.json"
    assert result.summary.startswith("## ⚠️ training-drift: WARN, the gate failed")
    assert not (step.runner.workspace / "training-drift-report.json").exists()
    (run,) = result.report["runs"]
    assert run["verdict"] == "warn"
    assert result.annotations("warning") == []
    errors = result.annotations("error")
    assert sorted(props["title"] for _, props, _ in errors) == sorted(
        f"training-drift: {check['metric']}" for check in run["failed_checks"]
    )
    assert len(errors) == 1  # the default checks: its trend improved 22%, but it has two events
    for _, props, message in errors:
        assert props["file"] == DRIFTING_LOG and (step.runner.workspace / props["file"]).is_file()
        assert message.startswith("examples/drifting: ")
    assert float(result.outputs["smoothness"]) == pytest.approx(run["metrics"]["smoothness"])
    _assert_written_like_a_container_action(step, "drifting-report.json")


def test_examples_in_the_container_match_the_golden_files(engine: Engine, tmp_path: Path) -> None:
    """The image (Debian's Python, numpy from PyPI, the scanner built in the image) renders byte for byte
    what the tests' own Python renders (tests/test_golden.py)."""
    step = _run_step(engine, tmp_path, path="examples/*")
    assert step.result.code == 1, step.result.stdout + step.result.stderr
    assert step.result.summary == (GOLDEN / "examples_summary.md").read_text(encoding="utf-8")
    log = re.sub(r"\b[0-9a-f]{32}\b", "<token>", step.result.stdout)
    assert log == (GOLDEN / "examples_stdout.txt").read_text(encoding="utf-8")
    _assert_written_like_a_container_action(step, "training-drift-report.json")


def test_every_log_format_reads_in_the_container_as_on_the_host(
    engine: Engine, tmp_path: Path, workspace: Path, run_action: RunAction
) -> None:
    """The readers the image carries (its compiled C and RE2 scanners, W&B's walker) give the report
    the tests' own Python gives, format by format, W&B folders written by the real ``wandb``."""
    runs = workspace / "runs"
    curve = decaying(300)
    writers.trainer_state(runs / "hf", curve)
    writers.tensorboard(runs / "tb", curve)
    writers.lightning_csv(runs / "csv", curve)
    writers.mlflow_run(runs / "mlruns", curve)
    writers.jsonl(runs / "jsonl" / "metrics.jsonl", curve)
    (runs / "console").mkdir()
    (runs / "console" / "train.log").write_text(
        "".join(f"step {s:5d}/300 | loss {v:.6f} | norm 1.0 | lr 1e-4\n" for s, v in curve), encoding="utf-8"
    )
    (runs / "wb").mkdir()
    wandb_runs.write_runs(runs / "wb")
    paths = "runs/hf\nruns/tb\nruns/csv\nruns/mlruns\nruns/jsonl\nruns/console\nruns/wb/wandb"
    host = run_action(path=paths, if_no_logs="error")
    step = _run_step(engine, tmp_path, logs=runs, path=paths, if_no_logs="error")
    assert step.result.code == host.code, step.result.stdout + step.result.stderr
    formats = {run["source"]["format"] for run in step.result.report["runs"]}
    assert formats >= {"trainer-state", "tensorboard", "csv", "mlflow", "jsonl", "text", "wandb"}, formats
    assert step.result.report["runs"] == host.report["runs"]
    assert step.result.summary == host.summary
    assert step.result.outputs == host.outputs


def test_runs_on_an_mlflow_tracking_server_are_gated_from_the_container(engine: Engine, tmp_path: Path) -> None:
    """The image reaches a real ``mlflow server`` (basic auth, on the host's loopback: the job's
    network) with the credentials from MLflow's variables, which stay out of everything it writes."""
    (tmp_path / "mlflow").mkdir()
    server = mlflow_server.start(tmp_path / "mlflow")
    try:
        ids = f"{server.runs['healthy']}\n{server.runs['drifting']}"
        step = _run_step(
            engine,
            tmp_path,
            network="host",
            env=server.auth_env,
            path="",
            mlflow_tracking_uri=server.url,
            mlflow_run_ids=ids,
        )
    finally:
        mlflow_server.stop(server.process)
    result = step.result
    assert result.code == 1, result.stdout + result.stderr
    verdicts = {run["name"]: (run["verdict"], run["source"]["format"]) for run in result.report["runs"]}
    assert verdicts == {"healthy": ("pass", "mlflow-server"), "drifting": ("warn", "mlflow-server")}
    assert result.stdout.startswith(f"::add-mask::{mlflow_server.PASSWORD}\n")
    written = result.stdout.replace(f"::add-mask::{mlflow_server.PASSWORD}", "") + result.stderr + result.summary
    assert mlflow_server.PASSWORD not in written + json.dumps(result.report)
