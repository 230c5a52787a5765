"""Keep action.yml, the settings registry, the outputs and the README in step."""

from __future__ import annotations

import re

import yaml

from drift import __version__
from drift.config import FIELDS
from drift.gate import Outcome, Verdict
from drift.render.outputs import outputs
from tests.conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_table(heading: str) -> dict[str, list[str]]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {re.match(r"\| `([^`]+)`", row).group(1): [c.strip() for c in row.strip("|").split(" | ")] for row in rows}  # type: ignore[union-attr]


def test_every_input_is_a_setting_and_the_reverse() -> None:
    assert list(ACTION["inputs"]) == [field.name for field in FIELDS]


def test_input_defaults_and_descriptions_follow_the_registry() -> None:
    for field in FIELDS:
        spec = ACTION["inputs"][field.name]
        assert field.help in " ".join(spec["description"].split()), field.name
        if field.scope in ("run", "gate"):
            # Empty, so that a value from the config file is not masked by the runner's default.
            assert spec["default"] == "", field.name
            assert f"Default: `{field.default}`" in spec["description"], field.name
        else:
            assert spec["default"] == ("" if field.default in ("", ()) else str(field.default)), field.name


def test_readme_inputs_table_matches_the_registry() -> None:
    table = _readme_table("Inputs")
    assert list(table) == [field.name for field in FIELDS]
    for field in FIELDS:
        _, default, _, description = table[field.name]
        assert description == field.help
        if field.default not in ("", ()):
            assert default == f"`{field.default}`"


def test_outputs_match_action_yml_and_readme() -> None:
    produced = outputs(Outcome((), Verdict.SKIP, True, "warn"), "r.json")
    assert list(produced) == list(ACTION["outputs"]) == list(_readme_table("Outputs"))
    for name, spec in ACTION["outputs"].items():
        assert _readme_table("Outputs")[name][1] == spec["description"]


def test_action_runs_the_dockerfile_on_a_pinned_python_311_slim_base() -> None:
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.M)
    assert 'ENTRYPOINT ["python", "/action/entrypoint.py"]' in dockerfile
    assert not re.search(r"^(WORKDIR|USER) ", dockerfile, re.M)


def test_requirements_are_pinned() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            if line and not line.startswith(("#", "-r")):
                assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_readme_report_example_has_this_version() -> None:
    assert f'"version": "{__version__}"' in README
