"""Random bytes as logs and random text as a config file: the action answers, it never crashes,
and what it writes stays well-formed. (A short run; issue 7 asks for a million inputs nightly.)"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.app import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, Runtime, run
from drift.config import FIELDS
from drift.runner import RunnerEnv
from tests.conftest import parse_output_file, read_report, workflow_commands

fragments = st.sampled_from(
    [
        b'{"type": "step", "step": 1, "loss": 2.5}',
        b'{"type": "step"',
        b"NaN",
        b"Infinity",
        b"\xff\xfe",
        b"\r",
        b"\n",
        b"\x00",
        b"::error::x",
        b"%0A",
        b"[",
        b"{",
        b"}",
        b'"',
        b"\\u0000",
        b"1e999",
        b"-0",
        b"9" * 30,
        b'"loss": [1]',
        b'{"type": "step", "step": "3", "loss": "4"}',
        b"\xe2\x80\xa8",
    ]
)
logs = st.lists(st.one_of(fragments, st.binary(max_size=40)), max_size=40).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(logs, min_size=1, max_size=3), st.sampled_from(["", "seed", "robust"]))
def test_random_log_bytes_never_crash_the_action(contents: list[bytes], method: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        store = workspace / "run" / "logs"
        store.mkdir(parents=True)
        for i, body in enumerate(contents):
            (store / f"train-{i:06d}-x.jsonl").write_bytes(body)
        out, output, summary = io.StringIO(), workspace / "output", workspace / "summary"
        code = run(
            {"path": "run", "spike-method": method, "min-steps": "2"},
            Runtime(out, RunnerEnv(workspace, output, summary)),
        )
        assert code in (EXIT_PASS, EXIT_FAIL)
        outputs = parse_output_file(output.read_text(encoding="utf-8"))
        assert outputs["verdict"] in {"pass", "warn", "skip", "error"}
        report = read_report(workspace / "training-drift-report.json")
        assert report["runs"][0]["name"] == "run"
        assert {c[0] for c in workflow_commands(out.getvalue())} <= {"group", "endgroup", "error", "warning", "notice"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_config_text_is_a_clean_error_or_accepted(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        (workspace / "c.yml").write_text(text, encoding="utf-8", errors="surrogatepass")
        out = io.StringIO()
        code = run({"path": "nothing", "config": "c.yml", "if-no-logs": "ignore"}, Runtime(out, RunnerEnv(workspace)))
        assert code in (EXIT_PASS, EXIT_FAIL, EXIT_USAGE)
        if code == EXIT_USAGE:
            (error,) = [c for c in workflow_commands(out.getvalue()) if c[0] == "error"]
            assert "\n" not in error[2]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in FIELDS if f.name != "path"]), st.text(max_size=30), max_size=6))
def test_random_inputs_are_a_clean_error_or_accepted(inputs: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = io.StringIO()
        code = run({"path": "nothing", "if-no-logs": "ignore", **inputs}, Runtime(out, RunnerEnv(Path(tmp))))
        assert code in (EXIT_PASS, EXIT_FAIL, EXIT_USAGE), out.getvalue()
