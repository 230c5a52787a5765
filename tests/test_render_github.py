"""The job summary as GitHub shows it: GFM by cmark-gfm, GitHub's sanitiser, Mermaid in Chromium.

tests/render/render.mjs turns a summary into HTML with cmark-gfm (GitHub's engine), applies
html-pipeline's allowlist, draws every ``mermaid`` block with mermaid.parse and mermaid.render in
headless Chromium, and screenshots the page to tests/render/out/NAME.png. These tests check that
nothing the summary writes is stripped and that every chart parses and draws, for the golden
example, the bundled examples evaluated now, and hostile and degenerate runs.

Needs Debian's chromium and cmark-gfm and tests/render's npm packages: run ``.ci/render-deps``.
Without them the tests fail under CI=true and are skipped elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drift.config import build_settings
from drift.evaluate import evaluate
from drift.render.summary import MAX_CHARTS, render_summary
from tests.conftest import ROOT, decaying, step_line, write_store

RENDER = Path(__file__).parent / "render"
OUT = RENDER / "out"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NODE_PACKAGES = ("mermaid", "playwright-core", "sanitize-html", "htmlparser2")


@dataclass
class Rendered:
    code: int
    result: dict[str, Any]
    stderr: str

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.result["blocks"])

    def failures(self) -> list[str]:
        return [f"block {b['index']} under {b['context']!r}: {b['error']}" for b in self.blocks if not b["ok"]]


Render = Callable[[str, str], Rendered]


def _missing() -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not CHROMIUM.is_file():
        missing.append(str(CHROMIUM))
    if shutil.which("cmark-gfm") is None:
        missing.append("cmark-gfm")
    missing += [
        f"tests/render/node_modules/{name}"
        for name in NODE_PACKAGES
        if not (RENDER / "node_modules" / name / "package.json").is_file()
    ]
    return missing


@pytest.fixture(scope="module")
def render() -> Render:
    missing = _missing()
    if missing:
        message = f"the GitHub render test needs {', '.join(missing)}: run .ci/render-deps"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    OUT.mkdir(exist_ok=True)

    def run(markdown: str, name: str) -> Rendered:
        for stale in OUT.glob(f"{name}.*"):
            stale.unlink()
        source = OUT / f"{name}.md"
        source.write_text(markdown, encoding="utf-8")
        proc = subprocess.run(
            ["node", str(RENDER / "render.mjs"), "--in", str(source), "--out", str(OUT / name)],
            cwd=RENDER,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        result = OUT / f"{name}.json"
        assert proc.returncode in (0, 1) and result.is_file(), f"render.mjs exited {proc.returncode}:\n{proc.stderr}"
        return Rendered(proc.returncode, json.loads(result.read_text(encoding="utf-8")), proc.stderr)

    return run


# --- what the Markdown promises ----------------------------------------------------------------
_FENCE = re.compile(r"^```mermaid\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_DELIMITER_ROW = re.compile(r"\|(\s*:?-+:?\s*\|)+")


def mermaid_sources(markdown: str) -> list[str]:
    return _FENCE.findall(markdown)


def table_rows(markdown: str) -> int:
    in_fence = False
    rows = 0
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("|") and not _DELIMITER_ROW.fullmatch(line):
            rows += 1
    return rows


def _series(source: str, kind: str) -> list[str]:
    match = re.search(rf"^\s*{kind} \[(.*)\]$", source, re.MULTILINE)
    return match.group(1).split(", ") if match else []


def assert_shown_like_github(markdown: str, rendered: Rendered) -> None:
    result = rendered.result
    assert not rendered.failures(), "Mermaid rejected a chart:\n" + "\n".join(rendered.failures())
    assert result["pageErrors"] == [] and result["consoleErrors"] == []
    assert rendered.code == 0, rendered.stderr

    # GitHub's sanitiser keeps every element, attribute and character the summary writes.
    assert result["strippedElements"] == {}, f"the sanitiser strips {result['strippedElements']}"
    assert result["strippedAttributes"] == {}, f"the sanitiser strips {result['strippedAttributes']}"
    assert result["textUnchanged"]
    after = result["after"]
    assert after.get("tr", 0) == table_rows(markdown) > 0
    assert after.get("sub", 0) == markdown.count("<sub>") > 0
    sources = mermaid_sources(markdown)
    assert after.get("code", 0) == result["before"]["code"] >= markdown.count("<code>") + len(sources)
    assert after.get("pre", 0) == len(sources)

    # Every chart reaches Mermaid as written, is an xychart, and draws its line (and its bars).
    assert [b["source"] for b in rendered.blocks] == sources
    for block in rendered.blocks:
        where = f"block {block['index']} under {block['context']!r}"
        assert block["diagramType"] == block["roleDescription"] == "xychart", where
        assert block["linePaths"] == block["source"].count("    line [") >= 1, where  # two with a baseline
        assert block["bars"] == len(_series(block["source"], "bar")), where
        assert block["width"] > 300 and block["height"] > 200, where

    shot = result["screenshot"]
    assert Path(shot["path"]).is_file()
    assert shot["width"] >= 1000 and shot["height"] >= 300 + 400 * len(sources)
    assert shot["bytes"] > 20_000


# --- the summaries ---------------------------------------------------------------------------
def _summary(workspace: Path, inputs: dict[str, str]) -> str:
    outcome = evaluate(build_settings(inputs, workspace), workspace)
    return render_summary(outcome, "training-drift-report.json")


def _spiky(n: int = 60, at: tuple[int, ...] = (30,), height: float = 3.0) -> list[tuple[int, float]]:
    curve = decaying(n)
    for step in at:
        curve[step] = (step, curve[step][1] + height)
    return curve


HOSTILE_NAMES = [
    "pipe|in|the|name",
    "back`tick``s",
    "<script>alert(1)<",
    "<img src=x onerror=alert(1)>",
    'quote"and%%{init: {}}%%',
    "arrow --> x-axis [1, 2]",
    "back\\slash & ampersand",
    "unicode-日本語-ü-🚀-\u202eevil",
]

EDGE_CURVES: dict[str, list[tuple[int, float]]] = {
    "nan-and-inf": [
        (s, math.nan if s % 7 == 3 else math.inf if s == 20 else -math.inf if s == 40 else v) for s, v in decaying(60)
    ],
    "nonfinite-start": [(s, math.inf if s < 3 else v) for s, v in decaying()],
    "flat": [(s, 2.0) for s in range(50)],
    "flat-zero": [(s, 0.0) for s in range(50)],
    "huge": [(s, v * 1e300) for s, v in _spiky()],
    "tiny": [(s, v * 1e-9) for s, v in _spiky()],
    "negative": [(s, v - 10.0) for s, v in _spiky()],
    "twelve-decades": [(s, 10.0 ** (12 - s / 5)) for s in range(60)],
    "long-512": decaying(512, rate=0.01),
    "long-512-spiky": _spiky(512, at=(100, 200, 300, 400, 511)),
    "steps-from-1e9": [(10**9 + 1000 * s, v) for s, v in decaying()],
}


# Baseline logs (main-logs/runs/NAME) for some runs: their charts overlay two curves on one grid.
BASELINES: dict[str, list[tuple[int, float]]] = {
    "pipe|in|the|name": decaying(80),
    "nan-and-inf": [(s, math.nan if s % 5 == 0 else v) for s, v in decaying(60)],
    "flat": [(s, 2.0) for s in range(50)],
    "negative": [(s, v + 10.0) for s, v in decaying(60)],
    "long-512-spiky": decaying(60),
    "steps-from-1e9": decaying(40),
}


def _hostile_workspace(root: Path) -> Path:
    """Hostile names, degenerate curves, baselines, an error, a skip, odd metrics, more runs than charts."""
    for index, name in enumerate(HOSTILE_NAMES):
        write_store(root / "runs" / name, [_spiky() if index % 2 else decaying()])
    for name, curve in EDGE_CURVES.items():
        write_store(root / "runs" / name, [curve])
    for name, curve in BASELINES.items():
        write_store(root / "main-logs" / "runs" / name, [curve])
    for index in range(8):
        write_store(root / "runs" / f"filler-{index}", [decaying(40 + index)])
    write_store(root / "runs" / "too-short", [decaying(5)])
    garbage = root / "runs" / "garbage" / "logs"
    garbage.mkdir(parents=True)
    (garbage / "train-000001-20260426T060100.jsonl").write_text("not json\n{]\n")
    for name, metric in (("metric-slash", "train/loss"), ("metric-cjk", "损失")):
        logs = root / "runs" / name / "logs"
        logs.mkdir(parents=True)
        lines = [step_line(s, v, **{metric: v}) for s, v in _spiky(50, (25,))]
        (logs / "train-000001-20260426T060100.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "drift.yml").write_text(
        'overrides:\n  "runs/metric-slash":\n    metric: "train/loss"\n  "runs/metric-cjk":\n    metric: "损失"\n',
        encoding="utf-8",
    )
    return root


def _shown(name: str) -> str:
    """A run name as the summary prints it: non-printable characters become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in name)


# --- the tests -------------------------------------------------------------------------------
def test_golden_summary_is_shown_like_github(render: Render) -> None:
    markdown = (ROOT / "tests" / "golden" / "examples_summary.md").read_text(encoding="utf-8")
    rendered = render(markdown, "golden")
    assert_shown_like_github(markdown, rendered)
    assert len(rendered.blocks) == 2
    # The table fits the page at 1,280 px, without scrolling sideways (the Curve column used not to).
    assert all(t["scrollWidth"] <= t["clientWidth"] for t in rendered.result["tables"]), rendered.result["tables"]
    # The drifting run's events are a second (red) line under its curve; no bars, which band the axis.
    assert [(b["linePaths"], b["bars"]) for b in rendered.blocks] == [(2, 0), (1, 0)]


def test_examples_evaluated_now_are_shown_like_github(render: Render, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "examples", workspace / "examples", ignore=shutil.ignore_patterns("*.py"))
    markdown = _summary(workspace, {"path": "examples/*"})
    rendered = render(markdown, "examples")
    assert_shown_like_github(markdown, rendered)
    assert len(rendered.blocks) == len(list((ROOT / "examples").glob("*/logs")))


def test_hostile_and_degenerate_runs_are_shown_like_github(render: Render, tmp_path: Path) -> None:
    workspace = _hostile_workspace(tmp_path / "ws")
    markdown = _summary(workspace, {"path": "runs/*", "config": "drift.yml", "baseline": "main-logs/runs/*"})
    rendered = render(markdown, "hostile")
    assert_shown_like_github(markdown, rendered)

    assert len(rendered.blocks) == MAX_CHARTS  # the summary's cap on charts, and the note that says so
    assert "[!NOTE]" in markdown and f"charts drawn for {MAX_CHARTS} of" in markdown
    assert rendered.result["alerts"] == 1
    assert "### Against the baseline" in markdown
    grey = "#8c959f"  # the palette's last colour is the baseline's line
    overlaid = {b["context"].split(" ", 1)[1].rsplit(":", 1)[0] for b in rendered.blocks if grey in b["source"]}
    assert overlaid == {f"runs/{name}" for name in BASELINES}
    codes = rendered.result["codeTexts"]
    for name in HOSTILE_NAMES:  # verbatim in the table and in the heading, whatever GFM makes of it
        assert codes.count(f"runs/{_shown(name)}") >= 2, name
    labels = {re.search(r'y-axis "([^"]*)"', b["source"]).group(1) for b in rendered.blocks}
    assert {"loss", "train/loss", "损失"} <= labels


def test_a_broken_chart_and_stripped_html_are_reported(render: Render) -> None:
    """The negative control: the renderer can fail, and it sees what the sanitiser takes away."""
    markdown = "\n".join(
        [
            "## control",
            "",
            "### broken",
            "",
            "```mermaid",
            "xychart-beta",
            '    x-axis "step" 0 --> 9',
            "    line [1, 2,, 3",
            "```",
            "",
            "### fine",
            "",
            "```mermaid",
            "xychart-beta",
            '    x-axis "step" 0 --> 2',
            '    y-axis "loss" 0 --> 3',
            "    line [3, 2, 1]",
            "```",
            "",
            "<details><summary>more</summary>",
            "",
            '<kbd>k</kbd> <span style="color: red">styled</span> <img src="x.png" onerror="alert(1)">',
            '<div class="x">classy</div>',
            "",
            "</details>",
            "",
        ]
    )
    rendered = render(markdown, "control")
    assert rendered.code == 1
    broken, fine = rendered.blocks
    assert not broken["ok"] and broken["context"] == "broken"
    assert "Parse error" in broken["error"] or "Expecting" in broken["error"], broken["error"]
    assert fine["ok"] and fine["diagramType"] == "xychart" and fine["linePaths"] == 1
    assert "block 0 (broken)" in rendered.stderr

    result = rendered.result
    assert result["strippedElements"] == {"span": 1}
    assert result["strippedAttributes"] == {"span[style]": 1, "img[onerror]": 1, "div[class]": 1}
    assert result["textUnchanged"]  # the sanitiser drops tags, never the text in them
    for kept in ("details", "summary", "kbd", "img", "div"):
        assert result["after"].get(kept) == 1, kept
    assert Path(result["screenshot"]["path"]).is_file()


# --- corner cases that once broke chart.py: tiny values, and values too long for Mermaid --------
def test_a_curve_of_tiny_values_keeps_a_y_axis(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write_store(workspace / "runs" / "tiny", [[(s, v * 1e-30) for s, v in _spiky()]])
    markdown = _summary(workspace, {"path": "runs/*"})
    (source,) = mermaid_sources(markdown)
    low, high = re.search(r'y-axis "[^"]*" (\S+) --> (\S+)', source).groups()
    assert float(low) < float(high)
    assert len(set(_series(source, "line"))) > 2


def test_a_curve_of_huge_values_fits_mermaids_text_limit(render: Render, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write_store(workspace / "runs" / "huge", [[(s, v * 1e300) for s, v in _spiky(200, (100,))]])
    markdown = _summary(workspace, {"path": "runs/*"})
    rendered = render(markdown, "huge")
    assert not rendered.failures(), rendered.failures()
