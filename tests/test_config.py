"""drift/config.py: the settings registry, each setting parsed once into its type, precedence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from drift.config import (
    BY_NAME,
    DEFAULTS,
    FIELDS,
    RUN_FIELDS,
    SWITCH,
    FailOn,
    IfNoLogs,
    Kind,
    Limit,
    RunSettings,
    Scope,
    SpikeMethod,
    build_settings,
    parse_value,
)
from drift.errors import ConfigError
from drift.gate import Check


def _settings(tmp_path: Path, text: str, **inputs: str) -> RunSettings:
    (tmp_path / "c.yml").write_text(text)
    return build_settings({"config": "c.yml", "path": "x", **inputs}, tmp_path).for_run("runs/a")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min-smoothness: high\n", "c.yml:1: min-smoothness must be a number from 0 to 1, got 'high'"),
        ("a: 1\nrolling_window: -2\n", "c.yml:1: unknown setting 'a'"),
        ("rolling_window: -2\n", "c.yml:1: rolling-window must be an integer from 2 to 1000, got -2"),
        ("min_steps: 1.5\n", "c.yml:1: min-steps must be an integer of at least 2, got 1.5"),
        ("robust_window: 1001\n", "c.yml:1: robust-window must be an integer from 2 to 1000, got 1001"),
        ("max-instability-events: true\n", "max-instability-events must be an integer of at least 0, got True"),
        ("spike_sigma: 0\n", "spike-sigma must be a number above 0, got 0"),
        ("min_steps: 3\nmin-steps: 4\n", "min-steps is set twice"),
        ("- a\n- b\n", "c.yml:1: the config file must be a mapping of settings"),
        ("min_steps: [3]\n", "c.yml:1: min-steps must be an integer of at least 2, got a sequence"),
        ("key: [unclosed\n", "c.yml:2:"),
        ("overrides:\n  'x*':\n    fail-on: never\n", "c.yml:3: fail-on cannot be set here"),
        ("report-path: x\n", "c.yml:1: report-path cannot be set here; set it as a workflow input"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_config_precedence(tmp_path: Path) -> None:
    text = (
        "min_smoothness: 0.5\noverrides:\n"
        "  'runs/*': {min-smoothness: 0.4, spike_sigma: 5}\n  'runs/a': {spike-sigma: 6}\n"
    )
    assert _settings(tmp_path, text) == RunSettings(min_smoothness=0.4, spike_sigma=6.0)
    assert _settings(tmp_path, text, **{"min-smoothness": "0.9"}).min_smoothness == 0.9
    assert _settings(tmp_path, "").min_smoothness == 0.7
    settings = build_settings({"config": "c.yml", "path": "a\n b ,c,,"}, tmp_path)
    assert settings.paths == ("a", "b", "c")


# --- one registry ------------------------------------------------------------------------------
def test_run_settings_default_to_the_registry(tmp_path: Path) -> None:
    # RunSettings() (tests, benchmarks) and the settings of a run given nothing are the same values.
    assert build_settings({"path": "x"}, tmp_path).for_run("a") == RunSettings()
    assert {f.name.replace("-", "_") for f in RUN_FIELDS} == {f.name for f in dataclasses.fields(RunSettings)}


def test_every_check_is_limited_by_a_run_setting() -> None:
    for check in Check:
        assert BY_NAME[check.setting].scope is Scope.RUN, check


def test_each_kind_and_scope_is_a_known_one() -> None:
    assert all(isinstance(f.kind, Kind) and isinstance(f.scope, Scope) for f in FIELDS)
    assert all(f.choices for f in FIELDS if f.kind is Kind.CHOICE)


# --- parsed once, into types -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "amount", "relative"),
    [("5%", 5.0, True), ("0.02", 0.02, False), (" 10 % ", 10.0, True), ("1e-2", 0.01, False), ("0", 0.0, False)],
)
def test_a_limit_is_parsed_once(text: str, amount: float, relative: bool) -> None:
    limit = parse_value(BY_NAME["max-final-loss-increase"], text, "input")
    assert limit == Limit(amount, relative, text.strip())
    assert str(limit) == text.strip()  # the report shows it as written


@pytest.mark.parametrize("text", ["off", "OFF", " off ", ""])
def test_an_off_limit_is_none(text: str) -> None:
    assert parse_value(BY_NAME["max-smoothness-drop"], text, "input") is None


@pytest.mark.parametrize("raw", ["five percent", "-5%", "5%%", "nan", "inf", "1e999", True, [1]])
def test_a_bad_limit_says_what_a_limit_is(raw: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_value(BY_NAME["max-final-loss-increase"], raw, "c.yml:3")
    assert str(caught.value).startswith(
        "c.yml:3: max-final-loss-increase must be a number, a percentage such as 5%, or off, got "
    )


def test_limits_are_relative_to_the_baseline_or_absolute() -> None:
    assert Limit(5.0, True, "5%").room(-2.0) == pytest.approx(0.1)
    assert Limit(0.3, False, "0.3").room(-2.0) == 0.3
    assert Limit.parse("5 percent") is None and Limit.parse("1e999") is None


def test_fixed_sets_parse_to_their_enum_and_switches_to_bools() -> None:
    assert parse_value(BY_NAME["spike-method"], " Seed ", "input") is SpikeMethod.SEED
    assert parse_value(BY_NAME["fail-on"], "NEVER", "input") is FailOn.NEVER
    assert parse_value(BY_NAME["if-no-logs"], "warn", "input") is IfNoLogs.WARN
    for name in ("original-checks", "require-baseline", "comment"):
        assert BY_NAME[name].choices == SWITCH
        assert parse_value(BY_NAME[name], "true", "input") is True
        assert parse_value(BY_NAME[name], "False", "input") is False
    assert parse_value(BY_NAME["format"], "CSV", "input") == "csv"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("spike-method", "fast", "spike-method must be one of robust, seed, got 'fast'"),
        ("original-checks", "yes", "original-checks must be one of false, true, got 'yes'"),
        ("fail-on", 1, "fail-on must be one of warn, error, never, got 1"),
        ("record-filter", "=x", "record-filter must be key=value, such as type=train, got '=x'"),
        ("metric", "a\x00b", "metric must be a single line of text, got 'a\\x00b'"),
        ("min-improvement", "-1", "min-improvement must be a number of at least 0, got '-1'"),
        ("min-smoothness", "nan", "min-smoothness must be a finite number from 0 to 1, got 'nan'"),
    ],
)
def test_a_bad_value_is_one_clear_line(name: str, raw: object, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_value(BY_NAME[name], raw, "workflow input")
    assert str(caught.value) == f"workflow input: {expected}"


def test_settings_hold_typed_values(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(
        "fail-on: error\nif_no_logs: ignore\nmax-final-loss-increase: 0.02\nmax-smoothness-drop: 'off'\n"
        "overrides:\n  'runs/*': {spike-method: seed, original-checks: 'true', max-new-instability-events: 2}\n"
    )
    settings = build_settings({"config": "c.yml", "path": "x", "require-baseline": "true", "baseline": "b"}, tmp_path)
    assert settings.fail_on is FailOn.ERROR and settings.if_no_logs is IfNoLogs.IGNORE
    assert settings.require_baseline is True and settings.comment is False and settings.baseline == ("b",)
    run = settings.for_run("runs/a")
    assert run.spike_method is SpikeMethod.SEED and run.original_checks is True
    assert run.max_final_loss_increase == Limit(0.02, False, "0.02")
    assert run.max_smoothness_drop is None
    assert run.max_new_instability_events == Limit(2.0, False, "2")
    other = settings.for_run("other")
    assert other.spike_method is SpikeMethod.ROBUST and other.original_checks is False
    assert other.max_new_instability_events == DEFAULTS["max-new-instability-events"] == Limit(0.0, False, "0")


def test_a_config_file_sets_a_switch_with_a_yaml_boolean(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("original-checks: true\noverrides:\n  'runs/*': {original-checks: no}\n")
    settings = build_settings({"config": "c.yml", "path": "x"}, tmp_path)
    assert settings.for_run("other").original_checks is True
    assert settings.for_run("runs/a").original_checks is False
    (tmp_path / "c.yml").write_text("original-checks: 1\n")
    with pytest.raises(ConfigError, match="original-checks must be one of false, true, got 1"):
        build_settings({"config": "c.yml", "path": "x"}, tmp_path)


def test_require_baseline_needs_a_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="require-baseline is true but baseline is empty"):
        build_settings({"path": "x", "require-baseline": "true"}, tmp_path)
