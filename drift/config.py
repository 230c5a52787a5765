"""Every setting the action takes, where it may come from, and how it is validated.

One registry (``FIELDS``) drives the action inputs, the YAML config file, the command-line flags
and the README table; meta-tests keep ``action.yml`` and the README in step with it.

To follow one input, say ``max-final-loss-increase``: its ``Field`` below names it, gives its kind
(``Kind.LIMIT``), default, bounds and scope; ``parse_value`` parses and validates it once, by its
kind, into its type (a ``Limit``, None for off); ``build_settings`` applies the precedence; the
value lands on ``Settings`` or, for a per-run setting, ``RunSettings`` under the same name in
snake case (``max_final_loss_increase``), where the gate and the renderers read it. A check says
which input limits it (``drift.gate.Check.setting``).

Precedence, lowest first: built-in default, the config file's top level, the file's per-run
``overrides`` whose glob matches the run's name (in file order), then a non-empty workflow
input or command-line flag.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drift.errors import ConfigError
from drift.httpclient import UrlProblem, url_problem
from drift.layouts import FORMATS

if TYPE_CHECKING:
    import yaml


class Kind(StrEnum):
    """How a setting's text is parsed (``parse_value``) and described in errors."""

    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"  # one of ``choices``; a false/true choice (SWITCH) is parsed to a bool
    TEXT = "text"
    FILTER = "filter"  # key=value
    REGEX = "regex"
    LIMIT = "limit"  # a Limit, or None for off
    PATHS = "paths"


class Scope(StrEnum):
    RUN = "run"  # per run: in the file, in its per-run overrides, and as an input
    GATE = "gate"  # global: in the file (not in overrides) and as an input
    INPUT = "input"  # as an input only


class SpikeMethod(StrEnum):
    ROBUST = "robust"
    SEED = "seed"


class FailOn(StrEnum):
    WARN = "warn"
    ERROR = "error"
    NEVER = "never"


class IfNoLogs(StrEnum):
    ERROR = "error"
    WARN = "warn"
    IGNORE = "ignore"


SWITCH = ("false", "true")  # a CHOICE with these choices is a bool


@dataclass(frozen=True)
class Limit:
    """An allowance against the baseline: ``5%`` of the baseline's figure, or ``0.02`` as it is."""

    amount: float
    relative: bool
    text: str  # as the user wrote it, for the report

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """``5%`` is 5 percent, ``0.02`` is absolute; None when the text is neither."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(%?)\s*", text)
        if not match:
            return None
        amount = float(match.group(1))
        return cls(amount, bool(match.group(2)), text) if math.isfinite(amount) else None

    def room(self, base: float) -> float:
        """How far a figure may move from the baseline's ``base``."""
        return abs(base) * self.amount / 100 if self.relative else self.amount

    def __str__(self) -> str:
        return self.text


Value = str | int | float | bool | tuple[str, ...] | Limit | None


@dataclass(frozen=True)
class Field:
    name: str  # kebab case, as the action input
    kind: Kind
    default: str | int | float | tuple[str, ...]  # as action.yml and the README show it
    help: str
    scope: Scope
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    choices: tuple[str, ...] = ()  # CHOICE: the texts allowed; an enum's members parse to the member

    def describe(self) -> str:
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(self.choices)
        if self.kind is Kind.FILTER:
            return "key=value, or empty"
        if self.kind is Kind.REGEX:
            return "a regular expression with (?P<step>...) and (?P<value>...) groups, or empty"
        if self.kind is Kind.LIMIT:
            return "a number, a percentage such as 5%, or off"
        noun = "an integer" if self.kind is Kind.INT else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{noun} {'above' if self.low_open else 'of at least'} {_num(self.low)}"
        return "a non-empty text" if self.kind is Kind.TEXT else noun


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# The spike rules cost O(steps x window); a bound keeps a million-step run to seconds.
MAX_WINDOW = 1000

FIELDS: tuple[Field, ...] = (
    Field(
        "path",
        Kind.PATHS,
        (),
        "Logs to gate: paths or glob patterns relative to the workspace, one per line or "
        "comma-separated. Each match is a run folder, a folder holding run folders, or a log file; "
        "every run folder is one run. May be empty when `mlflow-tracking-uri` names the runs.",
        Scope.INPUT,
    ),
    Field(
        "format",
        Kind.CHOICE,
        "auto",
        "Log format: `auto` (detect from names and content), `dlm`, `trainer-state`, `tensorboard`, "
        "`csv`, `mlflow`, `jsonl`, `wandb` or `text` (console output).",
        Scope.GATE,
        choices=("auto", *FORMATS),
    ),
    Field(
        "metric",
        Kind.TEXT,
        "loss",
        "The curve: a record field, CSV column, TensorBoard tag or MLflow key; `loss` also finds "
        "common spellings such as `train/loss`, `train_loss_step` or `total_loss` in CSV, TensorBoard, "
        "MLflow and JSON-lines logs.",
        Scope.RUN,
    ),
    Field(
        "step-key",
        Kind.TEXT,
        "",
        "`jsonl` and `csv` logs: the field or column that holds the step; empty takes the first of "
        "`global_step`, `trainer/global_step`, `iteration`, `iter`, `current_steps`, `step`, `_step`, "
        "`epoch` that the log holds.",
        Scope.RUN,
    ),
    Field(
        "record-filter",
        Kind.FILTER,
        "",
        "`jsonl` logs: read only records where a field has a value, as `key=value` (`type=train`); "
        "empty reads every record holding the metric.",
        Scope.RUN,
    ),
    Field(
        "pattern",
        Kind.REGEX,
        "",
        "Console logs (`format: text`) of a trainer the action does not know: a regular expression (RE2 "
        "syntax) with the named groups `step` and `value`, such as `step (?P<step>[0-9]+) .*loss=(?P<value>[0-9.]+)`; "
        "empty uses the built-in recognisers.",
        Scope.GATE,
    ),
    Field(
        "min-smoothness",
        Kind.FLOAT,
        0.7,
        "With `original-checks: true`: WARN when smoothness, 1 - var(Δloss)/var(loss), is below this "
        "(the default checks leave smoothness out: on real runs it measures the noise, not the health).",
        Scope.RUN,
        low=0.0,
        high=1.0,
    ),
    Field(
        "max-convergence-ratio",
        Kind.FLOAT,
        0.7,
        "With `original-checks: true`: WARN when final loss / initial loss is above this "
        "(the default checks use `min-improvement`).",
        Scope.RUN,
        low=0.0,
        low_open=True,
    ),
    Field(
        "min-improvement",
        Kind.FLOAT,
        1.0,
        "WARN when the loss trend improved by less than this many percent: (start - end) / |start|, each end the "
        "median of a tenth of the run; going down is improving whatever the sign. A run whose loss is constant or "
        "changes sign WARNs with its own message; 0 turns the check off.",
        Scope.RUN,
        low=0.0,
    ),
    Field(
        "max-instability-events",
        Kind.INT,
        0,
        "WARN when the run has more instability events (spikes and non-finite losses) than this.",
        Scope.RUN,
        low=0,
    ),
    Field("min-steps", Kind.INT, 10, "SKIP runs with fewer distinct steps than this.", Scope.RUN, low=2),
    Field(
        "rolling-window",
        Kind.INT,
        10,
        "Seed detector: its neighbourhood, window // 2 deltas each side (2 to 1000).",
        Scope.RUN,
        low=2,
        high=MAX_WINDOW,
    ),
    Field(
        "spike-sigma",
        Kind.FLOAT,
        3.0,
        "Seed detector: a rise is a spike when it exceeds this many times the median absolute Δloss around it.",
        Scope.RUN,
        low=0.0,
        low_open=True,
    ),
    Field(
        "spike-method",
        Kind.CHOICE,
        "robust",
        "Spike detector: `robust` (trend and noise aware, few false alarms on noisy runs) or `seed` "
        "(the original probe's rule, exactly).",
        Scope.RUN,
        choices=tuple(SpikeMethod),
    ),
    Field(
        "robust-window",
        Kind.INT,
        20,
        "Robust detector: the trend at a step is the median of robust-window // 2 steps each side (2 to 1000).",
        Scope.RUN,
        low=2,
        high=MAX_WINDOW,
    ),
    Field(
        "robust-sigma",
        Kind.FLOAT,
        4.4,
        "Robust detector: a rise is a spike when the step lies this many noise standard deviations above its trend "
        "(for up to 1,000 steps; a longer run's threshold is sqrt(robust-sigma² + 2·ln(steps / 1000))).",
        Scope.RUN,
        low=0.0,
        low_open=True,
    ),
    Field(
        "min-spike-rise",
        Kind.FLOAT,
        10.0,
        "Robust detector: a spike must also rise this many percent over its trend, relative to the loss level "
        "(|trend|, at least a tenth of the run's median |loss|); 0 counts every rise above the noise.",
        Scope.RUN,
        low=0.0,
    ),
    Field(
        "original-checks",
        Kind.CHOICE,
        "false",
        "`true` judges exactly as the original training_drift probe: its spike rule, `min-smoothness` and "
        "`max-convergence-ratio` on the first and last loss, and its verdicts.",
        Scope.RUN,
        choices=SWITCH,
    ),
    Field(
        "baseline",
        Kind.PATHS,
        (),
        "Compare against this: a JSON report of an earlier run (main's, from an artifact or a cache) or "
        "logs in any supported format, relative to the workspace. Runs are matched by name.",
        Scope.GATE,
    ),
    Field(
        "require-baseline",
        Kind.CHOICE,
        "false",
        "`true` fails the gate when `baseline` is missing or unreadable; `false` skips only the comparison.",
        Scope.GATE,
        choices=SWITCH,
    ),
    Field(
        "max-final-loss-increase",
        Kind.LIMIT,
        "5%",
        "Against the baseline: WARN when the final loss rose by more than this, relative (`5%`) or "
        "absolute (`0.02`); `off` turns the check off.",
        Scope.RUN,
    ),
    Field(
        "max-smoothness-drop",
        Kind.LIMIT,
        "0.1",
        "Against the baseline: WARN when smoothness fell by more than this, absolute (`0.1`) or relative "
        "(`10%`); `off` turns the check off.",
        Scope.RUN,
    ),
    Field(
        "max-new-instability-events",
        Kind.LIMIT,
        "0",
        "Against the baseline: WARN when the run has more than this many instability events beyond the "
        "baseline's; `off` turns the check off.",
        Scope.RUN,
    ),
    Field(
        "mlflow-tracking-uri",
        Kind.TEXT,
        "",
        "Also gate runs kept on this MLflow tracking server (its http(s) address), named by `mlflow-run-ids` "
        "or `mlflow-experiment`; credentials come from MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD, in the step's env.",
        Scope.INPUT,
    ),
    Field(
        "mlflow-run-ids",
        Kind.PATHS,
        (),
        "MLflow runs to gate from the tracking server, by run id, one per line or comma-separated.",
        Scope.INPUT,
    ),
    Field(
        "mlflow-experiment",
        Kind.TEXT,
        "",
        "Gate the runs of this MLflow experiment (by name) on the tracking server: the newest run of each "
        "run name, at most 100.",
        Scope.INPUT,
    ),
    Field(
        "mlflow-run-name",
        Kind.TEXT,
        "",
        "With `mlflow-experiment`: only runs whose name matches this glob (`resnet-*`); empty takes every run.",
        Scope.INPUT,
    ),
    Field(
        "comment",
        Kind.CHOICE,
        "false",
        "`true` posts the summary as one pull-request comment per workflow and job, updated in place on "
        "later pushes (needs `pull-requests: write`).",
        Scope.GATE,
        choices=SWITCH,
    ),
    Field(
        "github-token",
        Kind.TEXT,
        "${{ github.token }}",
        "Token for the pull-request comment.",
        Scope.INPUT,
    ),
    Field(
        "pr-number",
        Kind.INT,
        "",
        "The pull request to comment on, when the event does not say (a `workflow_run` for a fork's pull "
        "request); empty takes it from the event.",
        Scope.INPUT,
        low=1,
    ),
    Field(
        "fail-on",
        Kind.CHOICE,
        "warn",
        "Which verdicts fail the step: `warn` (WARN or ERROR), `error` (ERROR only) or `never` (report only).",
        Scope.GATE,
        choices=tuple(FailOn),
    ),
    Field(
        "if-no-logs",
        Kind.CHOICE,
        "error",
        "When `path` matches no log: `error` fails the step, `warn` warns and passes, `ignore` passes quietly.",
        Scope.GATE,
        choices=tuple(IfNoLogs),
    ),
    Field(
        "config",
        Kind.TEXT,
        "",
        "Optional YAML file (relative to the workspace) with any of these settings "
        "and per-run `overrides`; a non-empty input beats the file.",
        Scope.INPUT,
    ),
    Field(
        "report-path",
        Kind.TEXT,
        "training-drift-report.json",
        "Where to write the JSON report, relative to the workspace.",
        Scope.INPUT,
    ),
)
BY_NAME = {f.name: f for f in FIELDS}
RUN_FIELDS = tuple(f for f in FIELDS if f.scope is Scope.RUN)
FILE_FIELDS = tuple(f for f in FIELDS if f.scope in (Scope.RUN, Scope.GATE))
OVERRIDES_KEY = "overrides"


def _bad(field: Field, raw: Any, where: str, expected: str) -> ConfigError:
    shown = repr(raw) if not isinstance(raw, str) else repr(raw[:60])
    return ConfigError(f"{where}: {field.name} must be {expected}, got {shown}")


def _paths(field: Field, raw: Any, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else re.split(r"[\n,]", str(raw))
    return tuple(str(p).strip() for p in items if str(p).strip())


def _limit(field: Field, raw: Any, where: str) -> Limit | None:
    text = str(raw).strip() if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    if text is not None and text.lower() in ("off", ""):
        return None
    limit = Limit.parse(text) if text is not None else None
    if limit is None:
        raise _bad(field, raw, where, "a number, a percentage such as 5%, or off")
    return limit


def _filter(field: Field, raw: Any, where: str) -> str:
    if not isinstance(raw, str) or any(not ch.isprintable() for ch in raw):
        raise _bad(field, raw, where, "key=value")
    text = raw.strip()
    if text and (text.count("=") < 1 or not text.split("=", 1)[0].strip()):
        raise _bad(field, raw, where, "key=value, such as type=train")
    return text


def _regex(field: Field, raw: Any, where: str) -> str:
    if not isinstance(raw, str) or any(not ch.isprintable() and ch not in "\n\t" for ch in raw):
        raise _bad(field, raw, where, "a regular expression")
    text = raw.strip("\r\n")
    if text:
        from drift.readers.recognisers import user_pattern  # noqa: PLC0415 - RE2 only when a pattern is set

        try:
            user_pattern(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {field.name} {exc}") from None
    return text


def _text(field: Field, raw: Any, where: str) -> str:
    if not isinstance(raw, str) or any(not ch.isprintable() for ch in raw):
        raise _bad(field, raw, where, "a single line of text")
    return raw.strip()


def _choice(field: Field, raw: Any, where: str) -> str | bool:
    """The choice itself: an enum's member when the choices are one, a bool for a SWITCH."""
    if isinstance(raw, bool) and field.choices == SWITCH:
        return raw  # a config file's `original-checks: true` is a YAML boolean, not the text "true"
    wanted = raw.strip().lower() if isinstance(raw, str) else None
    picked = next((choice for choice in field.choices if choice == wanted), None)
    if picked is None:
        raise _bad(field, raw, where, field.describe())
    return picked == "true" if field.choices == SWITCH else picked


def _number(field: Field, raw: Any, where: str) -> int | float:
    number: float | int
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _bad(field, raw, where, field.describe())
    if field.kind is Kind.INT:
        if isinstance(raw, str):
            if not re.fullmatch(r"\s*[+-]?\d{1,18}\s*", raw):
                raise _bad(field, raw, where, field.describe())
            number = int(raw)
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise _bad(field, raw, where, field.describe())
            number = int(raw)
        else:
            number = raw
    else:
        try:
            number = float(raw)
        except (ValueError, OverflowError):
            raise _bad(field, raw, where, field.describe()) from None
        if not math.isfinite(number):
            raise _bad(field, raw, where, "a finite " + field.describe().removeprefix("a "))
    if field.low is not None and (number < field.low or (field.low_open and number == field.low)):
        raise _bad(field, raw, where, field.describe())
    if field.high is not None and number > field.high:
        raise _bad(field, raw, where, field.describe())
    return number


_PARSERS: dict[Kind, Callable[[Field, Any, str], Value]] = {
    Kind.PATHS: _paths,
    Kind.LIMIT: _limit,
    Kind.FILTER: _filter,
    Kind.REGEX: _regex,
    Kind.TEXT: _text,
    Kind.CHOICE: _choice,
    Kind.INT: _number,
    Kind.FLOAT: _number,
}


def parse_value(field: Field, raw: Any, where: str) -> Value:
    """Check one value and give it its type; ``where`` names its origin (an input, or file:line) in the error."""
    return _PARSERS[field.kind](field, raw, where)


def _default(field: Field) -> Value:
    return parse_value(field, field.default, "the default") if field.default not in ("", ()) else field.default


DEFAULTS: dict[str, Value] = {f.name: _default(f) for f in FIELDS}


def _run_default(name: str) -> Any:
    return DEFAULTS[name]


@dataclass(frozen=True)
class RunSettings:
    """The thresholds and knobs one run is judged with; each defaults to its field in FIELDS."""

    metric: str = _run_default("metric")
    step_key: str = _run_default("step-key")
    record_filter: str = _run_default("record-filter")
    max_final_loss_increase: Limit | None = _run_default("max-final-loss-increase")
    max_smoothness_drop: Limit | None = _run_default("max-smoothness-drop")
    max_new_instability_events: Limit | None = _run_default("max-new-instability-events")
    min_smoothness: float = _run_default("min-smoothness")
    max_convergence_ratio: float = _run_default("max-convergence-ratio")
    min_improvement: float = _run_default("min-improvement")
    max_instability_events: int = _run_default("max-instability-events")
    min_steps: int = _run_default("min-steps")
    rolling_window: int = _run_default("rolling-window")
    spike_sigma: float = _run_default("spike-sigma")
    spike_method: SpikeMethod = _run_default("spike-method")
    robust_window: int = _run_default("robust-window")
    robust_sigma: float = _run_default("robust-sigma")
    min_spike_rise: float = _run_default("min-spike-rise")
    original_checks: bool = _run_default("original-checks")


@dataclass(frozen=True)
class MlflowSelection:
    """Which runs to read from an MLflow tracking server."""

    uri: str
    run_ids: tuple[str, ...]
    experiment: str
    run_name: str  # a glob over run names; "" takes every run of the experiment


@dataclass(frozen=True)
class Settings:
    paths: tuple[str, ...]
    format: str
    baseline: tuple[str, ...]
    require_baseline: bool
    comment: bool
    github_token: str
    pr_number: int | None
    fail_on: FailOn
    if_no_logs: IfNoLogs
    report_path: str
    config_file: str
    pattern: str
    mlflow: MlflowSelection | None
    base: tuple[tuple[str, Value], ...]  # run-field values before per-run overrides
    overrides: tuple[tuple[str, tuple[tuple[str, Value], ...]], ...]  # (glob, values) from the file
    forced: tuple[tuple[str, Value], ...]  # run-field values given as inputs; beat every override

    def for_run(self, name: str) -> RunSettings:
        values: dict[str, Any] = dict(self.base)  # each of the type its field's kind parses to
        for pattern, changes in self.overrides:
            if fnmatch.fnmatchcase(name, pattern):
                values.update(changes)
        values.update(self.forced)
        return RunSettings(**{key.replace("-", "_"): value for key, value in values.items()})


def _int_or_none(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unknown(key: str, where: str, allowed: tuple[Field, ...]) -> ConfigError:
    names = [f.name for f in allowed]
    hint = get_close_matches(key.replace("_", "-"), names, n=1)
    suggestion = f" (did you mean {hint[0]}?)" if hint else f" (known: {', '.join(names)})"
    return ConfigError(f"{where}: unknown setting {key[:60]!r}{suggestion}")


def build_settings(inputs: Mapping[str, str], workspace: Path, origin: str = "workflow input") -> Settings:
    """Validate the inputs and the config file they name; raise ConfigError on the first problem.

    ``origin`` names where the inputs came from in error messages.
    """
    given: dict[str, Value] = {}
    for field in FIELDS:
        raw = inputs.get(field.name, "")
        if raw is None or not str(raw).strip():
            continue
        given[field.name] = parse_value(field, str(raw), origin)

    file_values: dict[str, Value] = {}
    overrides: list[tuple[str, tuple[tuple[str, Value], ...]]] = []
    config_file = str(given.get("config", ""))
    if config_file:
        file_values, overrides = load_config_file(workspace / config_file, config_file)

    def pick(name: str) -> Any:  # the parsed value, of the type its field's kind gives (parse_value)
        return given.get(name, file_values.get(name, DEFAULTS[name]))

    paths = given.get("path", ())
    assert isinstance(paths, tuple)
    if pick("require-baseline") and not pick("baseline"):
        raise ConfigError(
            f"{origin}: require-baseline is true but baseline is empty; set baseline to main's report "
            "(or logs), or drop require-baseline"
        )
    return Settings(
        mlflow=_mlflow_selection(given, origin),
        paths=paths,
        format=pick("format"),
        baseline=pick("baseline"),
        require_baseline=pick("require-baseline"),
        comment=pick("comment"),
        github_token=str(given.get("github-token", "")),
        pr_number=_int_or_none(given.get("pr-number")),
        fail_on=pick("fail-on"),
        if_no_logs=pick("if-no-logs"),
        report_path=pick("report-path"),
        config_file=config_file,
        pattern=pick("pattern"),
        base=tuple((f.name, file_values.get(f.name, DEFAULTS[f.name])) for f in RUN_FIELDS),
        overrides=tuple(overrides),
        forced=tuple((f.name, given[f.name]) for f in RUN_FIELDS if f.name in given),
    )


def _mlflow_selection(given: Mapping[str, Value], origin: str) -> MlflowSelection | None:
    uri = str(given.get("mlflow-tracking-uri", ""))
    run_ids = given.get("mlflow-run-ids", ())
    assert isinstance(run_ids, tuple)
    experiment = str(given.get("mlflow-experiment", ""))
    run_name = str(given.get("mlflow-run-name", ""))
    if not uri:
        named = [n for n in ("mlflow-run-ids", "mlflow-experiment", "mlflow-run-name") if n in given]
        if named:
            raise ConfigError(
                f"{origin}: {named[0]} is set but mlflow-tracking-uri is empty; set it to the server's address"
            )
        return None
    problem = _uri_problem(uri)
    if problem is not None:
        raise ConfigError(f"{origin}: mlflow-tracking-uri {problem}")
    if not run_ids and not experiment:
        raise ConfigError(
            f"{origin}: mlflow-tracking-uri is set but names no run; set mlflow-run-ids or mlflow-experiment"
        )
    if run_name and not experiment:
        raise ConfigError(f"{origin}: mlflow-run-name filters the runs of mlflow-experiment, which is empty")
    bad = next((r for r in run_ids if not r.isascii() or not r.isprintable() or " " in r or len(r) > 64), None)
    if bad is not None:
        raise ConfigError(f"{origin}: mlflow-run-ids: {bad[:70]!r} is not an MLflow run id")
    return MlflowSelection(uri, run_ids, experiment, run_name)


def _uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot address a tracking server's REST API, or None."""
    problem = url_problem(uri)
    if problem is UrlProblem.SCHEME:
        return "must be the tracking server's http(s) address (a file store or databricks URI is not a server)"
    if problem is UrlProblem.CREDENTIALS:
        return (
            "must not hold credentials; set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD, in the step's env from secrets"
        )
    return None if problem is None else problem.value


def load_config_file(
    path: Path, shown: str
) -> tuple[dict[str, Value], list[tuple[str, tuple[tuple[str, Value], ...]]]]:
    import yaml  # noqa: PLC0415 - only runs that name a config file pay for importing PyYAML

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {shown!r} not found; the path is relative to the workspace") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {shown!r} cannot be read: {exc}") from None
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters right here
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0] or "invalid YAML"
        raise ConfigError(f"{shown}{line}: {problem}") from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise ConfigError(f"{shown}: nested too deeply to be a config file") from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        return {}, []
    top = _mapping(root, shown, "the config file")
    overrides: list[tuple[str, tuple[tuple[str, Value], ...]]] = []
    for key, node, _ in top:
        if key == OVERRIDES_KEY:
            for pattern, sub, _ in _mapping(node, shown, "overrides"):
                entries = _mapping(sub, shown, f"overrides {pattern[:60]!r}")
                overrides.append((pattern, tuple(_values(entries, shown, RUN_FIELDS).items())))
    values = _values([entry for entry in top if entry[0] != OVERRIDES_KEY], shown, FILE_FIELDS)
    return values, overrides


def _values(entries: list[tuple[str, yaml.Node, int]], shown: str, allowed: tuple[Field, ...]) -> dict[str, Value]:
    import yaml  # noqa: PLC0415 - see load_config_file

    allowed_names = {f.name: f for f in allowed}
    out: dict[str, Value] = {}
    _no_duplicates([key for key, _, _ in entries], shown)
    for key, node, line in entries:
        where = f"{shown}:{line}"
        name = key.replace("_", "-")
        field = allowed_names.get(name)
        if field is None:
            if name in BY_NAME:
                raise ConfigError(f"{where}: {name} cannot be set here; set it as a workflow input")
            raise _unknown(key, where, allowed)
        if not isinstance(node, yaml.ScalarNode):
            kind = type(node).__name__.removesuffix("Node").lower()
            raise ConfigError(f"{where}: {name} must be {field.describe()}, got a {kind}")
        constructor = yaml.SafeLoader("")
        try:
            raw = constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0] or "invalid YAML"
            raise ConfigError(f"{where}: {name}: {problem}") from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
            # An explicit tag that does not fit its value (!!int abc, !!bool maybe) fails in
            # PyYAML's constructors with a plain Python error.
            tag = node.tag.rsplit(":", 1)[-1]
            raise ConfigError(
                f"{where}: {name}: {node.value[:40]!r} is not a valid !!{tag} ({type(exc).__name__})"
            ) from None
        finally:
            constructor.dispose()
        out[name] = parse_value(field, raw, where)
    return out


def _mapping(node: yaml.Node, shown: str, what: str) -> list[tuple[str, yaml.Node, int]]:
    import yaml  # noqa: PLC0415 - see load_config_file

    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{shown}:{node.start_mark.line + 1}: {what} must be a mapping of settings")
    out = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(f"{shown}:{key_node.start_mark.line + 1}: keys in {what} must be plain names")
        out.append((str(key_node.value), value_node, key_node.start_mark.line + 1))
    return out


def _no_duplicates(keys: list[str], shown: str) -> None:
    seen: set[str] = set()
    seen_raw: set[str] = set()
    for key in keys:
        name = key.replace("_", "-")
        if name in seen:
            why = " (snake_case and kebab-case name the same setting)" if key not in seen_raw else ""
            shown_name = name[:60] if name.isprintable() else repr(name[:60])
            raise ConfigError(f"{shown}: {shown_name} is set twice{why}")
        seen.add(name)
        seen_raw.add(key)
