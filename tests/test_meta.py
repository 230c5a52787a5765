"""Keep action.yml, the settings registry, the outputs and the documentation's tables in step, and
every relative link in the documentation pointing at something that exists."""

from __future__ import annotations

import ast
import json
import re
import tomllib

import yaml

from drift import __version__
from drift.config import FIELDS, Field
from drift.gate import Outcome, Verdict
from drift.layouts import FORMATS
from drift.render.outputs import outputs
from tests.conftest import DOC_FILES, ROOT, doc_section, doc_table, markdown_sections

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
WHERE = {"run": "per run", "gate": "file or input", "input": "input only"}


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


def _shown_default(field: Field) -> str:
    if field.name == "path":
        return "(required)"
    return f"`{field.default}`" if field.default not in ("", ()) else "–"


def test_the_inputs_tables_match_the_registry() -> None:
    """The README's short table and docs/inputs.md's full one: every input, in order, with its
    default and where it may be set; the full table's descriptions are the registry's help."""
    short, full = doc_table("Inputs"), doc_table("Inputs and the config file")
    assert list(short) == list(full) == [field.name for field in FIELDS]
    for field in FIELDS:
        for table in (short, full):
            _, default, where, description = table[field.name]
            assert (default, where) == (_shown_default(field), WHERE[field.scope]), field.name
            assert description, field.name
        assert full[field.name][3] == field.help, field.name
    assert "](docs/inputs.md)" in doc_section("Inputs")


def test_outputs_match_action_yml_and_readme() -> None:
    produced = outputs(Outcome((), Verdict.SKIP, True, "warn"), "r.json")
    table = doc_table("Outputs")
    assert list(produced) == list(ACTION["outputs"]) == list(table)
    for name, spec in ACTION["outputs"].items():
        assert table[name][1] == spec["description"]


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


def test_an_installed_command_depends_on_every_runtime_requirement() -> None:
    # The image and `pip install -r requirements.txt` read requirements.txt; `pip install .` reads
    # pyproject.toml: a runtime package missing from either leaves one way of installing broken.
    pinned = {
        line.split("==")[0].lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {re.split(r"[<>=!~ ;\[]", item)[0].lower() for item in declared} == pinned


def test_the_log_formats_tables_list_every_format_in_reading_order() -> None:
    """Both tables list every format in FORMATS order: a folder holding several is read in the first."""
    for heading in ("Log formats", "Log formats in detail"):
        assert list(doc_table(heading)) == list(FORMATS), heading


def test_report_example_has_this_version() -> None:
    assert f'"version": "{__version__}"' in doc_section("JSON report")


def test_the_report_fields_table_names_every_field_of_the_schema() -> None:
    schema = json.loads((ROOT / "drift" / "report.schema.json").read_text(encoding="utf-8"))
    documented = set()
    for line in doc_section("JSON report").splitlines():
        if line.startswith("| `"):
            documented |= {name.removeprefix("runs[].") for name in re.findall(r"`([^`]+)`", line.split(" | ")[0])}
    assert set(schema["properties"]) - {"runs"} <= documented
    assert set(schema["$defs"]["run"]["properties"]) <= documented


def _links(text: str) -> list[str]:
    without_code = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`\n]*`", "", without_code))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_relative_link_in_the_documentation_resolves() -> None:
    """Files and folders exist, and a #fragment names a heading of the file it points at."""
    checked = 0
    for page in DOC_FILES:
        for target in _links(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path_part, _, fragment = target.partition("#")
            goal = (page.parent / path_part).resolve() if path_part else page
            assert goal.exists(), f"{page.relative_to(ROOT)}: broken link {target}"
            assert goal.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target} leaves the repository"
            if fragment:
                anchors = {_anchor(title) for _, title, _ in markdown_sections(goal.read_text(encoding="utf-8"))}
                assert fragment in anchors, f"{page.relative_to(ROOT)}: no heading for {target}"
            checked += 1
    assert checked > 30  # the check reads the links at all


def test_the_link_check_sees_a_broken_link() -> None:
    assert _links("see [x](docs/nowhere.md) and `[y](z)` and [w](https://e.org)") == [
        "docs/nowhere.md",
        "https://e.org",
    ]
    assert _anchor("My log is not recognised") == "my-log-is-not-recognised"
    assert _anchor("Defaults: what the gate checks") == "defaults-what-the-gate-checks"
    assert not (ROOT / "docs" / "nowhere.md").exists()


def test_the_readme_stays_short_and_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 15_500, "the README is for users: move details to docs/"
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert ".venv/bin/python -m drift examples/healthy" in first_block
    assert ".venv/bin/python -m pytest" in first_block


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


def test_no_function_outside_the_renderers_is_over_60_lines() -> None:
    # Renderers lay out a page top to bottom and may run long; everywhere else a longer function is
    # one that should have been split (issue 15's bar for a house a newcomer can take over).
    long = []
    for path in [*sorted((ROOT / "drift").rglob("*.py")), ROOT / "entrypoint.py"]:
        if "render" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (node.end_lineno or 0) - node.lineno >= 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not long, long
