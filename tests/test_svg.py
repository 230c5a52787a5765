"""The SVG artifact: well-formed, inert whatever the run name, sensible for any curve; safe file names."""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.config import RunSettings
from drift.curve import Curve, Position
from drift.gate import Check, Event, EventKind, RunResult, Verdict, error_result, judge, skip_result
from drift.render.svg import render_svg, svg_filename

NS = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Attributes that hold numbers we computed; every one must parse as a finite float.
NUMERIC = {"x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "dy"}
HOSTILE = "runs/../<script>alert(1)</script>&amp;\"'::error::\x00\x1b[31m\u202e\ud800\ufffe\uffff" + "é" * 300


def _curve(values: Sequence[float], steps: Sequence[int] | None = None) -> Curve:
    n = len(values)
    return Curve(
        np.asarray(range(n) if steps is None else steps, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        np.zeros(n, dtype=np.int64),
        np.arange(2, n + 2, dtype=np.int64),
        ("runs/x/logs/train-1.jsonl",),
    )


def _decay(n: int = 60, start: float = 5.0) -> list[float]:
    return [start * math.exp(-0.05 * i) + 0.5 for i in range(n)]


def _parse(svg: str) -> ET.Element:
    """Parse as a browser would get the file: UTF-8 bytes, which a lone surrogate could not be."""
    return ET.fromstring(svg.encode("utf-8"))


def _all(root: ET.Element, tag: str, cls: str | None = None, group: str = "plot") -> list[ET.Element]:
    """Elements of a tag (and class) in one group of the picture: "axes", "plot" or "legend"."""
    (within,) = [g for g in root.iter(f"{NS}g") if g.get("class") == group]
    return [e for e in within.iter(f"{NS}{tag}") if cls is None or cls in (e.get("class") or "").split()]


def _points(d: str) -> list[list[tuple[float, float]]]:
    """The subpaths of an ``M x yL x y…`` path, as lists of points."""
    out = []
    for part in d.split("M")[1:]:
        out.append([(float(a), float(b)) for a, b in (pair.split() for pair in part.split("L"))])
    return out


def _text(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{NS}text")]


def _assert_inert(svg: str) -> ET.Element:
    """Well-formed, nothing active, nothing external, only finite numbers in attributes."""
    root = _parse(svg)
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert [child.tag for child in root][:2] == [f"{NS}title", f"{NS}desc"]
    assert "<script" not in svg.lower() and "<foreignobject" not in svg.lower()
    for element in root.iter():
        assert element.tag.removeprefix(NS) not in {"script", "foreignObject", "a", "image", "use", "iframe"}
        for name, value in element.attrib.items():
            assert "href" not in name.lower() and not name.lower().startswith("on")
            assert "nan" not in value.lower() and "inf" not in value.lower(), (name, value)
            assert "url(" not in value.lower()
            if name in NUMERIC:
                assert math.isfinite(float(value)), (name, value)
            if name == "d":
                assert all(math.isfinite(float(n)) for n in NUMBER.findall(value))
    assert "url(" not in svg and "@import" not in svg
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", svg)
    assert len(svg.encode("utf-8")) < 200_000
    return root


def _box(root: ET.Element) -> tuple[float, float, float, float]:
    frame = _all(root, "rect", "axis", "axes")[0]
    x, y = float(frame.get("x", "")), float(frame.get("y", ""))
    return x, y, x + float(frame.get("width", "")), y + float(frame.get("height", ""))


def _inside(root: ET.Element, points: list[tuple[float, float]]) -> bool:
    left, top, right, bottom = _box(root)
    return all(left - 0.01 <= px <= right + 0.01 and top - 0.01 <= py <= bottom + 0.01 for px, py in points)


# --- what is drawn -------------------------------------------------------------------------------
def test_the_default_checks_draw_no_convergence_threshold() -> None:
    """The limit line is the probe's max-convergence-ratio, checked only with original-checks."""
    run = judge("runs/exp-1", _curve(_decay()), RunSettings())
    assert run.verdict is Verdict.PASS
    assert _all(_assert_inert(render_svg(run) or ""), "line", "thr") == []


def test_normal_run_has_curve_threshold_title_and_summary() -> None:
    run = judge("runs/exp-1", _curve(_decay()), RunSettings(original_checks=True))
    assert run.verdict is Verdict.PASS
    svg = render_svg(run)
    assert svg is not None
    root = _assert_inert(svg)
    title, desc = root[0].text or "", root[1].text or ""
    assert title == "runs/exp-1: PASS (loss curve)"
    assert "PASS" in desc and "final loss 0.7617" in desc and "no instability events" in desc
    assert desc.count(".") <= 3 and desc.endswith(".")  # one sentence (the dots are in numbers)
    assert any("PASS" in t and "runs/exp-1" in t for t in _text(root))

    (path,) = _all(root, "path", "run")
    (segment,) = _points(path.get("d", ""))
    assert len(segment) == 60 and _inside(root, segment)
    xs = [px for px, _ in segment]
    assert xs == sorted(xs) and len(set(xs)) == 60
    # A decaying loss goes down the page: y in pixels grows.
    assert [py for _, py in segment] == sorted(py for _, py in segment)

    (line,) = _all(root, "line", "thr")
    assert "bad" not in (line.get("class") or "")
    threshold_y = float(line.get("y1", ""))
    # The limit, 0.7 x the initial loss 5.5 = 3.85, lies between the first loss and the final 0.76.
    assert segment[0][1] < threshold_y < segment[-1][1]
    assert any("max final loss (max-convergence-ratio) = 3.85" in t for t in _text(root))
    (final,) = _all(root, "circle", "final")
    assert (float(final.get("cx", "")), float(final.get("cy", ""))) == segment[-1]
    assert svg == render_svg(run)  # deterministic


def test_failed_convergence_colours_the_threshold_red() -> None:
    run = judge(
        "slow",
        _curve([10 - 0.01 * i for i in range(50)]),
        RunSettings(max_convergence_ratio=0.9, original_checks=True),
    )
    assert any(c.check is Check.CONVERGENCE_RATIO and not c.passed for c in run.checks)
    root = _assert_inert(render_svg(run) or "")
    (line,) = _all(root, "line", "thr")
    assert "bad" in (line.get("class") or "").split()
    assert any("(failed)" in t and "max final loss" in t for t in _text(root))
    assert "against a maximum of 9 (failed)" in (root[1].text or "")


def test_other_failed_checks_leave_the_threshold_grey() -> None:
    values = [5.0 - 0.05 * i + (4.0 if i == 30 else 0.0) for i in range(60)]
    run = judge("spiky", _curve(values), RunSettings(original_checks=True))
    assert run.verdict is Verdict.WARN and all(c.passed for c in run.checks if c.check is Check.CONVERGENCE_RATIO)
    (line,) = _all(_assert_inert(render_svg(run) or ""), "line", "thr")
    assert "bad" not in (line.get("class") or "").split()


def test_spikes_and_non_finite_losses_are_marked_and_break_the_line() -> None:
    values = [5.0 - 0.05 * i for i in range(60)]
    values[20] += 3.0
    values[40] = math.inf
    values[41] = math.nan
    run = judge("runs/a", _curve(values), RunSettings())
    kinds = {(e.kind, e.step) for e in run.events}
    assert ("spike", 20) in kinds and ("non-finite", 40) in kinds and ("non-finite", 41) in kinds
    root = _assert_inert(render_svg(run) or "")

    (path,) = _all(root, "path", "run")
    segments = _points(path.get("d", ""))
    assert [len(s) for s in segments] == [40, 18]  # the gap at steps 40 and 41
    curve_points = [p for s in segments for p in s]

    spikes = _all(root, "circle", "spike")
    assert len(spikes) == 1
    spike_at = (float(spikes[0].get("cx", "")), float(spikes[0].get("cy", "")))
    assert spike_at == curve_points[20]  # on the curve, at the spike's own loss
    tip = spikes[0].findtext(f"{NS}title") or ""
    assert tip.startswith("step 20: loss spike by +2.95")  # from 4.05 at step 19 to 7.0

    crosses = _all(root, "path", "nf")
    tips = [c.findtext(f"{NS}title") or "" for c in crosses]
    assert tips and all("non-finite" in t for t in tips) and any("40" in t for t in tips)
    tops = [float(n) for c in crosses for n in NUMBER.findall(c.get("d", ""))[1::2]]
    assert max(tops) < min(py for _, py in curve_points)  # the crosses sit above every finite loss
    desc = root[1].text or ""
    assert "verdict WARN" in desc and "1 loss spike (step 20)" in desc and "2 non-finite losses (steps 40, 41)" in desc
    legend = _text(root)
    assert "loss spike" in legend and "non-finite event" in legend


def test_non_finite_points_without_events_get_ticks_at_the_top() -> None:
    settings = RunSettings()
    points = ((0, 3.0), (1, math.nan), (2, 2.0), (3, -math.inf), (4, 1.0))
    run = RunResult("bare", Verdict.WARN, 0.1, settings, problem="hand-made", curve_sampled=points)
    root = _assert_inert(render_svg(run) or "")
    (rug,) = _all(root, "path", "rug")
    assert rug.get("d", "").count("M") == 2
    assert not _all(root, "path", "run")  # no two finite points in a row: nothing to join
    dots = [c for c in _all(root, "circle") if c.get("fill")]
    assert len(dots) == 3  # three lonely finite points, each between two gaps
    assert "non-finite loss (NaN/∞)" in _text(root)


def test_baseline_overlay_shares_the_axes() -> None:
    run = judge("runs/new", _curve(_decay(80)), RunSettings())
    ref = judge("main", _curve([2 * v for v in _decay(120)]), RunSettings())
    root = _assert_inert(render_svg(run, ref.curve_sampled, baseline_label="main <@1a35c2d>") or "")
    (base,) = _all(root, "path", "base")
    (mine,) = _all(root, "path", "run")
    base_points = _points(base.get("d", ""))[0]
    mine_points = _points(mine.get("d", ""))[0]
    assert len(base_points) == 120 and _inside(root, base_points) and _inside(root, mine_points)
    # Same scale: the baseline's first loss (11) is above the run's (5.5), and it reaches further right.
    assert base_points[0][1] < mine_points[0][1] and base_points[-1][0] > mine_points[-1][0]
    assert "main <@1a35c2d>" in _text(root)
    assert "with the baseline “main <@1a35c2d>” overlaid" in (root[1].text or "")


@pytest.mark.parametrize(
    "values",
    [
        [2.0] * 30,  # flat
        [0.0] * 30,
        [1e-30 * (1 + math.exp(-i / 5)) for i in range(40)],
        [1e30 * (1 - i / 50) for i in range(40)],
        [-1 - 0.1 * i for i in range(40)],
        [1.0 + 1e-12 * i for i in range(40)],  # a wiggle below what labels can show
        [5e-324, 0.0, 5e-324] * 10,
        [sys.float_info.max, -sys.float_info.max, 0.0] * 10,
        [1e300, math.inf, -1e300, math.nan] * 10,
        [math.nan] * 20,
    ],
    ids=["flat", "zero", "tiny", "huge", "negative", "near-flat", "subnormal", "float-range", "mixed", "all-nan"],
)
def test_extreme_curves_render_inside_the_plot_with_distinct_ticks(values: list[float]) -> None:
    run = judge("x", _curve(values), RunSettings(min_steps=2))
    root = _assert_inert(render_svg(run) or "")
    for path in _all(root, "path", "run"):
        assert _inside(root, [p for s in _points(path.get("d", "")) for p in s])
    left = _box(root)[0]
    ticks = [
        t for t in _all(root, "text", group="axes") if t.get("text-anchor") == "end" and float(t.get("x", "0")) < left
    ]
    labels = [t.text or "" for t in ticks]
    assert 2 <= len(labels) <= 12 and len(set(labels)) == len(labels), labels
    assert all(len(label) <= 12 for label in labels), labels


def test_single_point_and_wide_steps() -> None:
    one = RunResult("one", Verdict.PASS, 1.0, RunSettings(), curve_sampled=((7, 0.25),))
    root = _assert_inert(render_svg(one) or "")
    assert len(_all(root, "circle", "final")) == 1
    for edge in (1.7120886998688722e308, -sys.float_info.max):  # the padding must not overflow
        _assert_inert(render_svg(RunResult("edge", Verdict.PASS, 1.0, RunSettings(), curve_sampled=((0, edge),))) or "")
    huge_steps = judge("big", _curve(_decay(30), [i * 10**17 for i in range(30)]), RunSettings())
    labels = _text(_assert_inert(render_svg(huge_steps) or ""))
    assert "1e18" in labels or "1.0e18" in labels


def test_no_curve_no_picture() -> None:
    settings = RunSettings()
    assert render_svg(skip_result("a", settings, "too short")) is None
    assert render_svg(error_result("a", settings, "broken")) is None
    assert render_svg(judge("short", _curve([1.0, 2.0]), settings)) is None  # SKIP: under min_steps


def test_many_events_stay_small() -> None:
    """A million-step run can carry thousands of events: they share markers, and the file stays small."""
    n = 512
    points = tuple((i * 1000, math.inf if i % 2 else 1.0 + (i % 7)) for i in range(n))
    events = tuple(
        Event(step, EventKind.SPIKE if step % 3 else EventKind.NON_FINITE, Position("f", step), rise=1.0, z=9.0)
        for step in range(0, n * 1000, 7)
    )
    run = RunResult(
        HOSTILE, Verdict.WARN, 0.0, RunSettings(), problem=HOSTILE * 10, events=events, curve_sampled=points
    )
    svg = render_svg(run, points, baseline_label=HOSTILE) or ""
    root = _assert_inert(svg)
    assert len(_all(root, "circle", "spike")) < 250
    assert len(svg.encode("utf-8")) < 120_000


def test_hostile_text_is_escaped_and_stripped() -> None:
    run = judge(HOSTILE, _curve(_decay()), RunSettings(metric="loss</text><script>"))
    svg = render_svg(run, run.curve_sampled, baseline_label=HOSTILE) or ""
    root = _assert_inert(svg)
    assert "\ud800" not in svg and "\u202e" not in svg
    title = root[0].text or ""
    assert title.startswith("runs/../<script>") and title.endswith("éé: PASS (loss curve)")
    assert "…" in title and len(title) < 200 and title.isprintable()
    assert "&lt;script&gt;" in svg and "&amp;amp;" in svg
    assert "loss</text><script> (this run)" in _text(root)
    # No markup came from the text: same elements as for a tame name.
    tame = _parse(render_svg(judge("x", _curve(_decay()), RunSettings()), run.curve_sampled) or "")
    assert [e.tag for e in root.iter()] == [e.tag for e in tame.iter()]


# --- any curve, any name -------------------------------------------------------------------------
_NAMES = st.text(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs", "Cc", "Cf", "Cn", "Zl", "Zp"]),
        st.sampled_from("<>&\"'/.:\\\ufffe\uffff\ud800"),
    ),
    max_size=400,
)
_LOSSES = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def _runs(draw: st.DrawFn) -> tuple[RunResult, list[tuple[int, float]] | None, str]:
    values = draw(st.lists(_LOSSES, min_size=1, max_size=512))
    gaps = draw(st.lists(st.integers(1, 10**12), min_size=len(values), max_size=len(values)))
    start = draw(st.integers(-(10**12), 10**12))
    steps = [start + sum(gaps[:i]) for i in range(len(values))] if len(values) < 64 else None
    name = draw(_NAMES)
    settings = RunSettings(min_steps=2, max_convergence_ratio=draw(st.floats(0.01, 1e6)))
    if len(values) >= 2 and draw(st.booleans()):
        run = judge(name, _curve(values, steps), settings)
    else:
        sampled = tuple(zip(steps or range(len(values)), values, strict=True))
        events = tuple(
            Event(s, draw(st.sampled_from(list(EventKind))), Position("f"), draw(_LOSSES), draw(_LOSSES))
            for s, _ in draw(st.lists(st.sampled_from(sampled), max_size=20))
        )
        verdict = draw(st.sampled_from(list(Verdict)))
        run = RunResult(name, verdict, None, settings, problem=draw(_NAMES), events=events, curve_sampled=sampled)
    baseline = draw(st.none() | st.lists(st.tuples(st.integers(-(10**15), 10**15), _LOSSES), max_size=600))
    return run, baseline, draw(_NAMES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_runs())
def test_any_curve_and_any_name_give_an_inert_well_formed_file(
    case: tuple[RunResult, list[tuple[int, float]] | None, str],
) -> None:
    run, baseline, label = case
    svg = render_svg(run, baseline, baseline_label=label)
    if not run.curve_sampled:
        assert svg is None
        return
    assert svg is not None
    root = _assert_inert(svg)
    title = root[0].text or ""
    if run.name.isprintable() and len(run.name) <= 40:  # short enough for the title, whatever the margins
        assert title == f"{run.name}: {run.verdict.name} (loss curve)"
    assert title.isprintable() and len(title) < 200
    for path in (*_all(root, "path", "run"), *_all(root, "path", "base")):
        assert _inside(root, [p for s in _points(path.get("d", "")) for p in s])


# --- file names ----------------------------------------------------------------------------------
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.svg")


def _assert_safe(name: str) -> None:
    assert SAFE.fullmatch(name), name
    assert ".." not in name and "/" not in name and "\\" not in name and len(name) <= 80


@pytest.mark.parametrize(
    ("run_name", "expected"),
    [("exp-1", "exp-1.svg"), ("exp_1.v2", "exp_1.v2.svg"), ("Run_A", "Run_A.svg")],
)
def test_safe_names_are_kept(run_name: str, expected: str) -> None:
    assert svg_filename(run_name, set()) == expected


@pytest.mark.parametrize(
    ("run_name", "prefix"),
    [
        ("runs/exp-1", "runs_exp-1-"),
        ("runs/../x", "runs_._x-"),
        ("::error::boom", "error_boom-"),
        ("Ünïcödé/ラン", "Unicode-"),
        ("ラン", "run-"),
        ("", "run-"),
        ("..", "run-"),
        (".hidden", "hidden-"),
        ("CON", "CON-"),
        ("nul.txt", "nul.txt-"),
        ("a" * 500, "a" * 64 + "-"),
    ],
)
def test_unsafe_names_get_readable_stems_and_a_hash(run_name: str, prefix: str) -> None:
    name = svg_filename(run_name, set())
    _assert_safe(name)
    assert name.startswith(prefix) and re.fullmatch(re.escape(prefix) + r"[0-9a-f]{8}\.svg", name), name


def test_file_names_are_unique_and_stable_over_many_names() -> None:
    names = [
        *(f"runs/exp-{i}" for i in range(300)),
        *(f"runs_exp-{i}" for i in range(300)),
        *(f"RUNS_EXP-{i}" for i in range(300)),
        *("x" * n for n in range(1, 200)),
        *(chr(c) for c in range(0x3040, 0x30FF)),  # all map to the same stem
        "a/b",
        "a_b",
        "A_B",
        "a b",
        "a\x00b",
        "a\ud800b",
    ]
    taken: set[str] = set()
    picked = []
    for run_name in names:
        name = svg_filename(run_name, taken)
        _assert_safe(name)
        assert name == svg_filename(run_name, set(taken))  # stable
        taken.add(name)
        picked.append(name)
    assert len({n.lower() for n in picked}) == len(names)


def test_a_collision_is_resolved_whatever_the_attacker_picks() -> None:
    first = svg_filename("runs/a", set())
    # A run named exactly like another's file stem takes the plain name; the other still differs.
    squatter = first.removesuffix(".svg")
    taken = {svg_filename(squatter, set())}
    assert taken == {first}
    second = svg_filename("runs/a", taken)
    _assert_safe(second)
    assert second.lower() not in {t.lower() for t in taken}
    assert svg_filename("exp", {"EXP.SVG"}) != "exp.svg"


@given(st.lists(_NAMES, max_size=30))
def test_any_names_get_safe_distinct_files(run_names: list[str]) -> None:
    taken: set[str] = set()
    for run_name in run_names:
        name = svg_filename(run_name, taken)
        _assert_safe(name)
        assert name.lower() not in {t.lower() for t in taken}
        taken.add(name)


def test_characters_xml_forbids_become_replacement_characters() -> None:
    run = judge("a\x00b\x1bc\u202ed\ud800e\ufffef\uffffg\th\ni", _curve(_decay()), RunSettings())
    root = _assert_inert(render_svg(run) or "")
    assert root[0].text == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh\ufffdi: PASS (loss curve)"
