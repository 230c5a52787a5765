"""drift/report.schema.json: a valid draft 2020-12 schema that the reports follow and that refuses
what they must not hold. (Every report written in the tests is validated against it: conftest.)"""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from drift.config import FIELDS, RunSettings
from drift.convergence import TrendState
from drift.gate import Verdict
from drift.layouts import FORMATS
from drift.render.report import SCHEMA
from tests.conftest import REPORT_SCHEMA, ROOT, RunAction, checked_report, decaying, report_problems, write_store


def _example_report(tmp_path: Path) -> dict[str, Any]:
    """The bundled examples' report, with a baseline so that every optional part is filled."""
    from drift.cli import main

    first, second = tmp_path / "base.json", tmp_path / "report.json"
    examples = [str(ROOT / "examples" / "healthy"), str(ROOT / "examples" / "drifting")]
    assert main([*examples, "--report-path", str(first), "--fail-on", "never"]) == 0
    assert main([*examples, "--baseline", str(first), "--report-path", str(second), "--fail-on", "never"]) == 0
    return json.loads(second.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_schema_is_a_draft_2020_12_schema_of_this_report_version() -> None:
    Draft202012Validator.check_schema(REPORT_SCHEMA)
    assert REPORT_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert REPORT_SCHEMA["properties"]["schema"] == {
        "const": SCHEMA,
        **{"description": "Report format version; bumped on any incompatible change."},
    }


def test_a_full_report_follows_it(tmp_path: Path) -> None:
    report = checked_report(_example_report(tmp_path))
    drifting = next(run for run in report["runs"] if run["name"].endswith("drifting"))
    # The parts the schema describes in detail are really there to be checked.
    assert drifting["baseline"] and drifting["events"] and drifting["failed_checks"] and drifting["curve_sampled"]


@pytest.mark.parametrize(
    ("why", "change"),
    [
        ("a wrong type", lambda r: r.update(passed="yes")),
        ("a wrong type in a run", lambda r: r["runs"][0]["metrics"].update(num_steps=12.5)),
        ("a missing required field", lambda r: r.pop("verdict")),
        ("a missing field of a run", lambda r: r["runs"][0].pop("events")),
        ("an unknown key", lambda r: r.update(extra=1)),
        ("an unknown key in an event", lambda r: r["runs"][1]["events"][0].update(severity="high")),
        ("an unknown setting", lambda r: r["runs"][0]["thresholds"].update(min_smoothnes=0.7)),
        ("a verdict outside the set", lambda r: r["runs"][0].update(verdict="fail")),
        ("an event kind outside the set", lambda r: r["runs"][1]["events"][0].update(kind="dip")),
        ("a check outside the set", lambda r: r["runs"][1]["failed_checks"][0].update(metric="loss")),
        ("NaN written as a string", lambda r: r["runs"][0]["metrics"].update(final_loss="NaN")),
        ("a curve point of three values", lambda r: r["runs"][0]["curve_sampled"][0].append(1)),
        ("a curve over 512 points", lambda r: r["runs"][0].update(curve_sampled=[[i, 1.0] for i in range(513)])),
        ("another schema version", lambda r: r.update(schema=2)),
    ],
)
def test_it_refuses(tmp_path: Path, why: str, change: Any) -> None:
    report = _example_report(tmp_path)
    report["runs"].sort(key=lambda run: run["name"].endswith("drifting"))  # healthy first, drifting second
    assert report_problems(report) == []
    broken = copy.deepcopy(report)
    change(broken)
    assert report_problems(broken), why
    with pytest.raises(AssertionError, match=r"breaks drift/report\.schema\.json"):
        checked_report(broken)


def test_error_and_skip_runs_follow_it(run_action: RunAction, workspace: Path) -> None:
    """Runs without metrics fill their figures with null: the action's report (held to the schema
    by run_action) for an unreadable run and a short one."""
    (workspace / "bad" / "logs").mkdir(parents=True)
    (workspace / "bad" / "logs" / "train-1.jsonl").write_text("not json\n")
    write_store(workspace / "short", [decaying(3)])
    result = run_action(path="bad\nshort")
    assert {run["verdict"] for run in result.report["runs"]} == {"error", "skip"}


def test_the_schema_s_fixed_sets_are_the_code_s() -> None:
    """The schema's enums are a second copy of sets the code defines: held equal here."""
    defs = REPORT_SCHEMA["$defs"]
    choices = {field.name: set(field.choices) for field in FIELDS}
    thresholds = defs["thresholds"]["properties"]
    assert set(defs["verdict"]["enum"]) == {verdict.value for verdict in Verdict}
    assert set(defs["format"]["enum"]) == {*FORMATS, "mlflow-server", None}
    assert set(defs["metrics"]["properties"]["trend_state"]["enum"]) == {state.value for state in TrendState} | {None}
    assert set(REPORT_SCHEMA["properties"]["fail_on"]["enum"]) == choices["fail-on"]
    assert set(thresholds["spike_method"]["enum"]) == choices["spike-method"]
    assert set(thresholds["original_checks"]["enum"]) == choices["original-checks"]
    assert defs["thresholds"]["required"] == [f.name for f in fields(RunSettings)]
