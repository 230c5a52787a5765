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
            shown = f"`{field.default}`" if field.default not in ("", ()) else "empty"
            assert f"Default: {shown} (" in " ".join(spec["description"].split()), field.name
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


def test_action_runs_the_released_image_of_this_version() -> None:
    # release.yml publishes ghcr.io/<repository>:<version> from a vX.Y.Z tag and refuses a tag
    # that disagrees with drift.__version__ or with this image.
    assert ACTION["runs"] == {"using": "docker", "image": f"docker://ghcr.io/org/training-drift:{__version__}"}
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "tags: ghcr.io/${{ github.repository }}:${{ steps.version.outputs.version }}" in release
    assert "platforms: linux/amd64,linux/arm64" in release


def test_the_image_is_built_from_a_pinned_python_311_slim_base() -> None:
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


def test_third_party_actions_are_pinned_by_commit_and_workflows_start_with_no_permissions() -> None:
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        text = path.read_text()
        assert re.search(r"^permissions: \{\}$", text, re.M), path.name
        for ref in re.findall(r"uses: ([^\s]+)", text):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (path.name, ref)
        for checkout in re.findall(r"uses: actions/checkout@.*\n(?:.*\n){0,3}", text):
            assert "persist-credentials: false" in checkout, path.name


def test_dependabot_watches_pip_docker_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in config["updates"]} == {"pip", "docker", "github-actions"}
