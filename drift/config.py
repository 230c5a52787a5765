"""Every setting the action takes, where it may come from, and how it is validated.

One registry (``FIELDS``) drives the action inputs, the YAML config file, the command-line flags
and the README table; meta-tests keep ``action.yml`` and the README in step with it.

Precedence, lowest first: built-in default, the config file's top level, the file's per-run
``overrides`` whose glob matches the run's name (in file order), then a non-empty workflow
input or command-line flag.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drift.errors import ConfigError
from drift.httpclient import UrlProblem, url_problem
from drift.layouts import FORMATS

if TYPE_CHECKING:
    import yaml

Value = str | int | float | tuple[str, ...]


@dataclass(frozen=True)
class Field:
    name: str  # kebab case, as the action input
    kind: str  # "float", "int", "choice", "text", "filter", "limit", "paths"
    default: Value
    help: str
    scope: str  # "run": per run and in the file; "gate": global, in the file too; "input": input only
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "filter":
            return "key=value, or empty"
        if self.kind == "regex":
            return "a regular expression with (?P<step>...) and (?P<value>...) groups, or empty"
        if self.kind == "limit":
            return "a number, a percentage such as 5%, or off"
        noun = "an integer" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{noun} {'above' if self.low_open else 'of at least'} {_num(self.low)}"
        return "a non-empty text" if self.kind == "text" else noun


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# The spike rules cost O(steps x window); a bound keeps a million-step run to seconds.
MAX_WINDOW = 1000

FIELDS: tuple[Field, ...] = (
    Field(
        "path",
        "paths",
        (),
        "Logs to gate: paths or glob patterns relative to the workspace, one per line or "
        "comma-separated. Each match is a run folder, a folder holding run folders, or a log file; "
        "every run folder is one run. May be empty when `mlflow-tracking-uri` names the runs.",
        "input",
    ),
    Field(
        "format",
        "choice",
        "auto",
        "Log format: `auto` (detect from names and content), `dlm`, `trainer-state`, `tensorboard`, "
        "`csv`, `mlflow`, `jsonl`, `wandb` or `text` (console output).",
        "gate",
        choices=("auto", *FORMATS),
    ),
    Field(
        "metric",
        "text",
        "loss",
        "The curve: a record field, CSV column, TensorBoard tag or MLflow key; `loss` also finds "
        "common spellings such as `train/loss`, `train_loss_step` or `total_loss` in CSV, TensorBoard, "
        "MLflow and JSON-lines logs.",
        "run",
    ),
    Field(
        "step-key",
        "text",
        "",
        "`jsonl` and `csv` logs: the field or column that holds the step; empty takes the first of "
        "`global_step`, `trainer/global_step`, `iteration`, `iter`, `current_steps`, `step`, `_step`, "
        "`epoch` that the log holds.",
        "run",
    ),
    Field(
        "record-filter",
        "filter",
        "",
        "`jsonl` logs: read only records where a field has a value, as `key=value` (`type=train`); "
        "empty reads every record holding the metric.",
        "run",
    ),
    Field(
        "pattern",
        "regex",
        "",
        "Console logs (`format: text`) of a trainer the action does not know: a regular expression (RE2 "
        "syntax) with the named groups `step` and `value`, such as `step (?P<step>[0-9]+) .*loss=(?P<value>[0-9.]+)`; "
        "empty uses the built-in recognisers.",
        "gate",
    ),
    Field(
        "min-smoothness",
        "float",
        0.7,
        "With `original-checks: true`: WARN when smoothness, 1 - var(Δloss)/var(loss), is below this "
        "(the default checks leave smoothness out: on real runs it measures the noise, not the health).",
        "run",
        low=0.0,
        high=1.0,
    ),
    Field(
        "max-convergence-ratio",
        "float",
        0.7,
        "With `original-checks: true`: WARN when final loss / initial loss is above this "
        "(the default checks use `min-improvement`).",
        "run",
        low=0.0,
        low_open=True,
    ),
    Field(
        "min-improvement",
        "float",
        1.0,
        "WARN when the loss trend improved by less than this many percent: (start - end) / |start|, each end the "
        "median of a tenth of the run; going down is improving whatever the sign. A run whose loss is constant or "
        "changes sign WARNs with its own message; 0 turns the check off.",
        "run",
        low=0.0,
    ),
    Field(
        "max-instability-events",
        "int",
        0,
        "WARN when the run has more instability events (spikes and non-finite losses) than this.",
        "run",
        low=0,
    ),
    Field("min-steps", "int", 10, "SKIP runs with fewer distinct steps than this.", "run", low=2),
    Field(
        "rolling-window",
        "int",
        10,
        "Seed detector: its neighbourhood, window // 2 deltas each side (2 to 1000).",
        "run",
        low=2,
        high=MAX_WINDOW,
    ),
    Field(
        "spike-sigma",
        "float",
        3.0,
        "Seed detector: a rise is a spike when it exceeds this many times the median absolute Δloss around it.",
        "run",
        low=0.0,
        low_open=True,
    ),
    Field(
        "spike-method",
        "choice",
        "robust",
        "Spike detector: `robust` (trend and noise aware, few false alarms on noisy runs) or `seed` "
        "(the original probe's rule, exactly).",
        "run",
        choices=("robust", "seed"),
    ),
    Field(
        "robust-window",
        "int",
        20,
        "Robust detector: the trend at a step is the median of robust-window // 2 steps each side (2 to 1000).",
        "run",
        low=2,
        high=MAX_WINDOW,
    ),
    Field(
        "robust-sigma",
        "float",
        4.4,
        "Robust detector: a rise is a spike when the step lies this many noise standard deviations above its trend "
        "(for up to 1,000 steps; a longer run's threshold is sqrt(robust-sigma² + 2·ln(steps / 1000))).",
        "run",
        low=0.0,
        low_open=True,
    ),
    Field(
        "min-spike-rise",
        "float",
        10.0,
        "Robust detector: a spike must also rise this many percent over its trend, relative to the loss level "
        "(|trend|, at least a tenth of the run's median |loss|); 0 counts every rise above the noise.",
        "run",
        low=0.0,
    ),
    Field(
        "original-checks",
        "choice",
        "false",
        "`true` judges exactly as the original training_drift probe: its spike rule, `min-smoothness` and "
        "`max-convergence-ratio` on the first and last loss, and its verdicts.",
        "run",
        choices=("false", "true"),
    ),
    Field(
        "baseline",
        "paths",
        (),
        "Compare against this: a JSON report of an earlier run (main's, from an artifact or a cache) or "
        "logs in any supported format, relative to the workspace. Runs are matched by name.",
        "gate",
    ),
    Field(
        "require-baseline",
        "choice",
        "false",
        "`true` fails the gate when `baseline` is missing or unreadable; `false` skips only the comparison.",
        "gate",
        choices=("false", "true"),
    ),
    Field(
        "max-final-loss-increase",
        "limit",
        "5%",
        "Against the baseline: WARN when the final loss rose by more than this, relative (`5%`) or "
        "absolute (`0.02`); `off` turns the check off.",
        "run",
    ),
    Field(
        "max-smoothness-drop",
        "limit",
        "0.1",
        "Against the baseline: WARN when smoothness fell by more than this, absolute (`0.1`) or relative "
        "(`10%`); `off` turns the check off.",
        "run",
    ),
    Field(
        "max-new-instability-events",
        "limit",
        "0",
        "Against the baseline: WARN when the run has more than this many instability events beyond the "
        "baseline's; `off` turns the check off.",
        "run",
    ),
    Field(
        "mlflow-tracking-uri",
        "text",
        "",
        "Also gate runs kept on this MLflow tracking server (its http(s) address), named by `mlflow-run-ids` "
        "or `mlflow-experiment`; credentials come from MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD, in the step's env.",
        "input",
    ),
    Field(
        "mlflow-run-ids",
        "paths",
        (),
        "MLflow runs to gate from the tracking server, by run id, one per line or comma-separated.",
        "input",
    ),
    Field(
        "mlflow-experiment",
        "text",
        "",
        "Gate the runs of this MLflow experiment (by name) on the tracking server: the newest run of each "
        "run name, at most 100.",
        "input",
    ),
    Field(
        "mlflow-run-name",
        "text",
        "",
        "With `mlflow-experiment`: only runs whose name matches this glob (`resnet-*`); empty takes every run.",
        "input",
    ),
    Field(
        "comment",
        "choice",
        "false",
        "`true` posts the summary as one pull-request comment per workflow and job, updated in place on "
        "later pushes (needs `pull-requests: write`).",
        "gate",
        choices=("false", "true"),
    ),
    Field(
        "github-token",
        "text",
        "${{ github.token }}",
        "Token for the pull-request comment.",
        "input",
    ),
    Field(
        "pr-number",
        "int",
        "",
        "The pull request to comment on, when the event does not say (a `workflow_run` for a fork's pull "
        "request); empty takes it from the event.",
        "input",
        low=1,
    ),
    Field(
        "fail-on",
        "choice",
        "warn",
        "Which verdicts fail the step: `warn` (WARN or ERROR), `error` (ERROR only) or `never` (report only).",
        "gate",
        choices=("warn", "error", "never"),
    ),
    Field(
        "if-no-logs",
        "choice",
        "error",
        "When `path` matches no log: `error` fails the step, `warn` warns and passes, `ignore` passes quietly.",
        "gate",
        choices=("error", "warn", "ignore"),
    ),
    Field(
        "config",
        "text",
        "",
        "Optional YAML file (relative to the workspace) with any of these settings "
        "and per-run `overrides`; a non-empty input beats the file.",
        "input",
    ),
    Field(
        "report-path",
        "text",
        "training-drift-report.json",
        "Where to write the JSON report, relative to the workspace.",
        "input",
    ),
)
BY_NAME = {f.name: f for f in FIELDS}
RUN_FIELDS = tuple(f for f in FIELDS if f.scope == "run")
FILE_FIELDS = tuple(f for f in FIELDS if f.scope in ("run", "gate"))
OVERRIDES_KEY = "overrides"


@dataclass(frozen=True)
class RunSettings:
    """The thresholds and knobs one run is judged with."""

    metric: str = "loss"
    step_key: str = ""
    record_filter: str = ""
    max_final_loss_increase: str = "5%"
    max_smoothness_drop: str = "0.1"
    max_new_instability_events: str = "0"
    min_smoothness: float = 0.7
    max_convergence_ratio: float = 0.7
    min_improvement: float = 1.0
    max_instability_events: int = 0
    min_steps: int = 10
    rolling_window: int = 10
    spike_sigma: float = 3.0
    spike_method: str = "robust"
    robust_window: int = 20
    robust_sigma: float = 4.4
    min_spike_rise: float = 10.0
    original_checks: str = "false"


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
    fail_on: str
    if_no_logs: str
    report_path: str
    config_file: str
    pattern: str
    mlflow: MlflowSelection | None
    base: tuple[tuple[str, Value], ...]  # run-field values before per-run overrides
    overrides: tuple[tuple[str, tuple[tuple[str, Value], ...]], ...]  # (glob, values) from the file
    forced: tuple[tuple[str, Value], ...]  # run-field values given as inputs; beat every override

    def for_run(self, name: str) -> RunSettings:
        values = dict(self.base)
        for pattern, changes in self.overrides:
            if fnmatch.fnmatchcase(name, pattern):
                values.update(changes)
        values.update(self.forced)
        return RunSettings(**{key.replace("-", "_"): value for key, value in values.items()})  # type: ignore[arg-type]


def parse_value(field: Field, raw: Any, where: str) -> Value:
    """Check one value; ``where`` names its origin (an input, or file:line) in the error."""

    def bad(expected: str) -> ConfigError:
        shown = repr(raw) if not isinstance(raw, str) else repr(raw[:60])
        return ConfigError(f"{where}: {field.name} must be {expected}, got {shown}")

    if field.kind == "paths":
        items = raw if isinstance(raw, list) else re.split(r"[\n,]", str(raw))
        paths = tuple(str(p).strip() for p in items if str(p).strip())
        return paths
    if field.kind == "limit":
        text = str(raw).strip() if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
        if text is not None and text.lower() == "off":
            return ""
        if text is None or (text and parse_limit(text) is None):
            raise bad("a number, a percentage such as 5%, or off")
        return text
    if field.kind == "filter":
        if not isinstance(raw, str) or any(not ch.isprintable() for ch in raw):
            raise bad("key=value")
        text = raw.strip()
        if text and (text.count("=") < 1 or not text.split("=", 1)[0].strip()):
            raise bad("key=value, such as type=train")
        return text
    if field.kind == "regex":
        if not isinstance(raw, str) or any(not ch.isprintable() and ch not in "\n\t" for ch in raw):
            raise bad("a regular expression")
        text = raw.strip("\r\n")
        if text:
            from drift.readers.recognisers import user_pattern  # noqa: PLC0415 - RE2 only when a pattern is set

            try:
                user_pattern(text)
            except ValueError as exc:
                raise ConfigError(f"{where}: {field.name} {exc}") from None
        return text
    if field.kind == "text":
        if not isinstance(raw, str) or any(not ch.isprintable() for ch in raw):
            raise bad("a single line of text")
        return raw.strip()
    if field.kind == "choice":
        if not isinstance(raw, str) or raw.strip().lower() not in field.choices:
            raise bad(field.describe())
        return raw.strip().lower()
    number: float | int
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise bad(field.describe())
    if field.kind == "int":
        if isinstance(raw, str):
            if not re.fullmatch(r"\s*[+-]?\d{1,18}\s*", raw):
                raise bad(field.describe())
            number = int(raw)
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise bad(field.describe())
            number = int(raw)
        else:
            number = raw
    else:
        try:
            number = float(raw)
        except (ValueError, OverflowError):
            raise bad(field.describe()) from None
        if not math.isfinite(number):
            raise bad("a finite " + field.describe().removeprefix("a "))
    if field.low is not None and (number < field.low or (field.low_open and number == field.low)):
        raise bad(field.describe())
    if field.high is not None and number > field.high:
        raise bad(field.describe())
    return number


def _int_or_none(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def parse_limit(text: str) -> tuple[float, bool] | None:
    """``5%`` is (5.0, relative), ``0.02`` is (0.02, absolute); None when it is neither."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(%?)\s*", text)
    if not match:
        return None
    value = float(match.group(1))
    return (value, bool(match.group(2))) if math.isfinite(value) else None


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

    def pick(name: str) -> Value:
        return given.get(name, file_values.get(name, BY_NAME[name].default))

    paths = given.get("path", ())
    assert isinstance(paths, tuple)
    if pick("require-baseline") == "true" and not pick("baseline"):
        raise ConfigError(
            f"{origin}: require-baseline is true but baseline is empty; set baseline to main's report "
            "(or logs), or drop require-baseline"
        )
    return Settings(
        mlflow=_mlflow_selection(given, origin),
        paths=paths,
        format=str(pick("format")),
        baseline=tuple(pick("baseline")),  # type: ignore[arg-type]
        require_baseline=pick("require-baseline") == "true",
        comment=pick("comment") == "true",
        github_token=str(given.get("github-token", "")),
        pr_number=_int_or_none(given.get("pr-number")),
        fail_on=str(pick("fail-on")),
        if_no_logs=str(pick("if-no-logs")),
        report_path=str(pick("report-path")),
        config_file=config_file,
        pattern=str(pick("pattern")),
        base=tuple((f.name, file_values.get(f.name, f.default)) for f in RUN_FIELDS),
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
