"""Load an event YAML file into an `EventConfig`, with error messages a non-developer can act on.

`load_event_config()` raises `ConfigError`, whose `.errors` are lines such as
`challenges[2].capacity: must be > 0`. `format_errors()` turns any pydantic `ValidationError` raised by
the models in `schedule.config` into such lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schedule.config import LANGUAGE_PATTERN, ConfigCheckError, EventConfig, Loc, dotted_path

BUNDLED_EVENT: Path = (
    Path(__file__).resolve().parent.parent / "events" / "centres-sociaux-connectes-2017.yaml"
)
"""The example event shipped with hackbot (works from a checkout or an editable install)."""

TIMEZONE_HINT = "needs a timezone offset (e.g. 2017-11-03T16:30:00+01:00)"


class ConfigError(Exception):
    """The event file cannot be used; `errors` holds one readable line per problem."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        """Keep the file and its problems."""
        self.path = Path(path)
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"invalid event configuration {self.path}:\n{lines}")


def load_event_config(path: Path | str) -> EventConfig:
    """Read and validate an event file; raise `ConfigError` listing every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [f"file not found: {path}"]) from None
    except IsADirectoryError:
        raise ConfigError(path, [f"{path} is a directory, not an event file"]) from None
    except UnicodeDecodeError:
        raise ConfigError(path, ["the file is not UTF-8 text"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(path, [_yaml_message(exc)]) from None
    if data is None:
        raise ConfigError(path, ["the file is empty"])
    if not isinstance(data, dict):
        raise ConfigError(path, ["the file must be a set of `key: value` settings at the top level"])
    try:
        return EventConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, format_errors(exc)) from None


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"YAML syntax error: {problem}"
    return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def format_errors(exc: ValidationError) -> list[str]:
    """One `path: message` line per problem, paths written like `programme[3].start`."""
    lines: list[str] = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, ConfigCheckError):
            lines += [_line((*loc, *sub_loc), message) for sub_loc, message in cause.problems]
        else:
            lines.append(_line(loc, _message(error["type"], ctx, error["msg"])))
    return lines


def _line(loc: Loc, message: str) -> str:
    # pydantic marks errors in a mapping's keys with a trailing "[key]" part; the key itself says enough.
    path = dotted_path(tuple(part for part in loc if part != "[key]"))
    return f"{path}: {message}" if path else message


def _message(kind: str, ctx: dict[str, Any], default: str) -> str:
    """Return a friendly English message for a pydantic error type."""
    fixed = {
        "missing": "is required",
        "extra_forbidden": "unknown setting (check the spelling)",
        "timezone_aware": TIMEZONE_HINT,
        "datetime_type": "must be a date and time like 2017-11-03T16:30:00+01:00",
        "datetime_parsing": "must be a date and time like 2017-11-03T16:30:00+01:00",
        "datetime_from_date_parsing": "must be a date and time like 2017-11-03T16:30:00+01:00",
        "time_type": 'must be a time in quotes, like "23:00"',
        "time_parsing": 'must be a time in quotes, like "23:00"',
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be text",
        "list_type": "must be a list (lines starting with '- ')",
        "dict_type": "must be a set of `key: value` settings",
        "model_type": "must be a set of `key: value` settings",
        "model_attributes_type": "must be a set of `key: value` settings",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}"
    if kind == "less_than":
        return f"must be < {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == LANGUAGE_PATTERN:
            return "must be a language code like fr or en"
        return "must use only lowercase letters a-z, digits and '-' (e.g. my-challenge)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entr{'y' if ctx.get('min_length') == 1 else 'ies'}"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} entries"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "value_error":
        return default.removeprefix("Value error, ")
    return default
