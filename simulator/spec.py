"""The Bot API specification (``api.json``) and validation of every call against it.

Parameters arrive the way the real Bot API server sees them: at the top level every value is a string
(query string, form field or a JSON body value re-serialised to text) or an uploaded file; objects and
arrays are JSON text inside that string.  ``ApiSpec.validate_call`` turns them into Python values checked
against the field types of the method, recursively, and then checks the limits that the specification only
states in prose (lengths of callback data, number of buttons, command names, ...).

Anything that breaks the specification raises ``SpecError``; the server answers it with a 400 and
records it, because a bot that sends such a request has a bug even when Telegram would let it pass.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "ApiSpec",
    "FieldSpec",
    "MethodSpec",
    "SpecError",
    "TypeSpec",
    "Upload",
    "default_spec_path",
]

logger = logging.getLogger(__name__)

_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+[“\"]?([a-z0-9_]+)")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
# Fields of InlineKeyboardButton that do not choose what the button does.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})
_MAX_INLINE_BUTTONS = 100
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_SCALAR_TYPES = frozenset({"Integer", "Float", "Boolean", "True", "String", "InputFile"})
_MAX_CALLBACK_DATA_BYTES = 64


class SpecError(Exception):
    """A request breaks the Bot API specification; ``description`` is the full Telegram-style text."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart/form-data request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str = ""


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its parameters and return types."""

    name: str
    fields: tuple[FieldSpec, ...]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    """A Bot API type: either an object with fields or a union of subtypes."""

    name: str
    fields: tuple[FieldSpec, ...] = ()
    subtypes: tuple[str, ...] = ()
    discriminator: tuple[str, str] | None = None  # (field, value) that selects this member of a union
    field_map: dict[str, FieldSpec] = field(default_factory=dict, compare=False)


# simulator/ -> project root -> its parent, where CI puts a copy of shared/ beside the clone.
SHARED_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "telegram-bot-api" / "api.json"
# A copy shipped with the simulator, for a fresh clone without shared/ (see simulator/bundled/README.md).
BUNDLED_SPEC = Path(__file__).resolve().parent / "bundled" / "api.json"


def default_spec_path() -> Path:
    """Where ``api.json`` is: ``$TELEGRAM_API_SPEC``, else the shared copy, else the bundled one.

    The shared copy is ``<project>/../shared/telegram-bot-api/api.json``; the bundled one, in
    ``simulator/bundled/``, is for a fresh clone that has no ``shared/`` beside it.
    """
    override = os.environ.get("TELEGRAM_API_SPEC")
    if override:
        return Path(override)
    return SHARED_SPEC if SHARED_SPEC.is_file() else BUNDLED_SPEC


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, Upload) else "an uploaded file"
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(path: str, expected: str, value: Any) -> SpecError:
    return SpecError(f'Bad Request: field "{path}" must be of type {expected}, got {_describe(value)}')


class ApiSpec:
    """The parsed specification with validators for calls and objects."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "unknown"))
        self.types: dict[str, TypeSpec] = {}
        members = {sub for raw in data["types"].values() for sub in raw.get("subtypes", ())}
        for name, raw in data["types"].items():
            fields = tuple(_field(f) for f in raw.get("fields", ()))
            discriminator = None
            if name in members:
                # Members of a union say which value of "type" (or "status", "source") selects them.
                for f in fields:
                    match = _DISCRIMINATOR_RE.search(f.description)
                    if f.name in _DISCRIMINATOR_FIELDS and match:
                        discriminator = (f.name, match.group(1))
                        break
            self.types[name] = TypeSpec(
                name=name,
                fields=fields,
                subtypes=tuple(raw.get("subtypes", ())),
                discriminator=discriminator,
                field_map={f.name: f for f in fields},
            )
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(
                name=name,
                fields=tuple(_field(f) for f in raw.get("fields", ())),
                returns=tuple(raw.get("returns", ())),
            )
            for name, raw in data["methods"].items()
        }
        self._lower_methods = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ApiSpec:
        """Read ``api.json`` (cached per path, the file is read-only)."""
        resolved = Path(path) if path is not None else default_spec_path()
        return _load_cached(str(resolved.resolve()))

    def canonical_method(self, name: str) -> str | None:
        """The method's spelling in the spec, matched case-insensitively like Telegram, or None."""
        return self._lower_methods.get(name.lower())

    # --- calls --------------------------------------------------------------------------------------

    def validate_call(self, method: str, raw: Mapping[str, str | Upload]) -> dict[str, Any]:
        """Check and convert the parameters of one call; unknown parameters are dropped like Telegram does."""
        spec = self.methods[method]
        params: dict[str, Any] = {}
        for f in spec.fields:
            if f.name not in raw:
                if f.required:
                    raise SpecError(f"Bad Request: {f.name} is required")
                continue
            params[f.name] = self._top_level(f, raw[f.name])
        for name, value in raw.items():
            if isinstance(value, Upload) and name not in params:
                # A part referenced as attach://name; kept for the method to resolve.
                params.setdefault("_uploads", {})[name] = value
        self._check_attachments(params, raw)
        check_limits(method, params)
        return params

    def _top_level(self, f: FieldSpec, value: str | Upload) -> Any:
        if isinstance(value, Upload):
            if any(t == "InputFile" for t in f.types):
                return value
            raise _bad(f.name, " or ".join(f.types), value)
        scalars = [t for t in f.types if t in _SCALAR_TYPES]
        structured = tuple(t for t in f.types if t not in _SCALAR_TYPES)
        errors: list[SpecError] = []
        for type_name in scalars:
            try:
                return self._from_text(type_name, value, f.name)
            except SpecError as error:
                errors.append(error)
        if structured:
            try:
                decoded = json.loads(value)
            except ValueError:
                raise SpecError(f'Bad Request: can\'t parse "{f.name}" JSON object') from None
            return self.check_union(structured, decoded, f.name)
        if len(errors) == 1:
            raise errors[0]
        raise _bad(f.name, " or ".join(f.types), value)

    def _from_text(self, type_name: str, text: str, path: str) -> Any:
        """Convert one top-level string to ``type_name``."""
        if type_name == "Integer":
            if _INT_RE.fullmatch(text.strip()):
                return int(text)
            raise _bad(path, "Integer", text)
        if type_name == "Float":
            if _FLOAT_RE.fullmatch(text.strip()):
                return float(text)
            raise _bad(path, "Float", text)
        if type_name in ("Boolean", "True"):
            lowered = text.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0") and type_name == "Boolean":
                return False
            raise _bad(path, type_name, text)
        if type_name == "String":
            return text
        if type_name == "InputFile":
            # A file given by reference: a file_id, an HTTP URL or attach://<part name>.
            if text:
                return text
            raise _bad(path, "InputFile", text)
        raise _bad(path, type_name, text)  # pragma: no cover - only scalar types come here

    def _check_attachments(self, params: Mapping[str, Any], raw: Mapping[str, str | Upload]) -> None:
        """Every ``attach://name`` used anywhere must name an uploaded part of the request."""
        for name in _attach_names(params):
            if not isinstance(raw.get(name), Upload):
                raise SpecError(f'Bad Request: file "attach://{name}" was not uploaded in the request')

    # --- objects ------------------------------------------------------------------------------------

    def check(self, type_name: str, value: Any, path: str, *, strict: bool = False) -> Any:
        """Validate a decoded JSON value against a type string; returns it unchanged.

        ``strict`` also rejects object fields that the specification does not define: useful to check the
        objects the simulator itself builds, while incoming objects ignore unknown fields like Telegram.
        """
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise _bad(path, type_name, value)
            inner = type_name[len("Array of ") :]
            for index, item in enumerate(value):
                self.check(inner, item, f"{path}[{index}]", strict=strict)
            return value
        if type_name == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise _bad(path, type_name, value)
        if type_name == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            raise _bad(path, type_name, value)
        if type_name == "String":
            if isinstance(value, str):
                return value
            raise _bad(path, type_name, value)
        if type_name == "Boolean":
            if isinstance(value, bool):
                return value
            raise _bad(path, type_name, value)
        if type_name == "True":
            if value is True:
                return value
            raise _bad(path, type_name, value)
        if type_name == "InputFile":
            if isinstance(value, str) and value:
                return value
            raise _bad(path, type_name, value)
        spec = self.types.get(type_name)
        if spec is None:
            logger.warning("type %s is not in the specification; accepted unchecked", type_name)
            return value
        if spec.subtypes:
            return self.check_union(spec.subtypes, value, path, strict=strict)
        if not isinstance(value, dict):
            raise _bad(path, type_name, value)
        for f in spec.fields:
            if f.name not in value:
                if f.required:
                    raise SpecError(f'Bad Request: field "{path}.{f.name}" is required in {type_name}')
                continue
            self.check_union(f.types, value[f.name], f"{path}.{f.name}", strict=strict)
        if spec.discriminator and value.get(spec.discriminator[0]) != spec.discriminator[1]:
            key, expected = spec.discriminator
            raise SpecError(f'Bad Request: field "{path}.{key}" must be "{expected}" for {type_name}')
        if strict:
            unknown = sorted(set(value) - set(spec.field_map))
            if unknown:
                raise SpecError(f'Bad Request: "{path}" has fields unknown to {type_name}: {unknown}')
        return value

    def check_union(self, types: tuple[str, ...], value: Any, path: str, *, strict: bool = False) -> Any:
        """Validate against the first of ``types`` that fits; report the closest candidate's error."""
        if len(types) == 1:
            return self.check(types[0], value, path, strict=strict)
        candidates = list(types)
        if isinstance(value, dict):
            chosen = [
                t
                for t in candidates
                if (d := self._discriminator_of(t)) is not None and value.get(d[0]) == d[1]
            ]
            candidates = chosen or candidates
        errors: list[tuple[str, SpecError]] = []
        for type_name in candidates:
            try:
                return self.check(type_name, value, path, strict=strict)
            except SpecError as error:
                errors.append((type_name, error))
        if isinstance(value, dict):
            for type_name, candidate_error in errors:
                spec = self.types.get(type_name)
                if (
                    spec is not None
                    and spec.fields
                    and all(f.name in value for f in spec.fields if f.required)
                ):
                    raise candidate_error
        if len(errors) == 1:
            raise errors[0][1]
        raise _bad(path, " or ".join(types), value)

    def _discriminator_of(self, type_name: str) -> tuple[str, str] | None:
        spec = self.types.get(type_name)
        return spec.discriminator if spec is not None else None


def _field(raw: Mapping[str, Any]) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        types=tuple(raw.get("types", ())),
        required=bool(raw.get("required", False)),
        description=str(raw.get("description", "")),
    )


@cache
def _load_cached(path: str) -> ApiSpec:
    with Path(path).open(encoding="utf-8") as handle:
        spec = ApiSpec(json.load(handle))
    logger.info("loaded Bot API specification %s (%d methods)", spec.version, len(spec.methods))
    return spec


def _attach_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value[len("attach://") :]] if value.startswith("attach://") else []
    if isinstance(value, dict):
        return [name for key, item in value.items() if key != "_uploads" for name in _attach_names(item)]
    if isinstance(value, list):
        return [name for item in value for name in _attach_names(item)]
    return []


# --- limits stated in prose ---------------------------------------------------------------------------


def check_limits(method: str, params: Mapping[str, Any]) -> None:
    """Limits the specification gives only in descriptions, independent of any state."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        check_reply_markup(markup)
    if method in ("setMyCommands",):
        check_commands(params.get("commands", []))
    if method == "answerCallbackQuery" and len(params.get("text") or "") > 200:
        raise SpecError(
            "Bad Request: MESSAGE_TOO_LONG: answerCallbackQuery text is longer than 200 characters"
        )
    if method == "createForumTopic" and not 1 <= len(params.get("name", "")) <= 128:
        raise SpecError("Bad Request: topic name must be 1-128 characters long")
    if method in ("setMyDescription",) and len(params.get("description") or "") > 512:
        raise SpecError("Bad Request: description must be at most 512 characters long")
    if method in ("setMyShortDescription",) and len(params.get("short_description") or "") > 120:
        raise SpecError("Bad Request: short description must be at most 120 characters long")
    if method in ("getUpdates",) and not 1 <= params.get("limit", 100) <= 100:
        raise SpecError("Bad Request: limit must be between 1 and 100")


def check_reply_markup(markup: Mapping[str, Any]) -> None:
    """Inline keyboards: at most 100 buttons, one action each, callback_data of 1-64 bytes."""
    if "inline_keyboard" in markup:
        buttons = [button for row in markup["inline_keyboard"] for button in row]
        if len(buttons) > _MAX_INLINE_BUTTONS:
            raise SpecError(
                f"Bad Request: REPLY_MARKUP_TOO_LONG: {len(buttons)} inline buttons "
                f"(at most {_MAX_INLINE_BUTTONS})"
            )
        for index, button in enumerate(buttons):
            actions = sorted(set(button) - _BUTTON_DECORATION)
            if len(actions) != 1:
                raise SpecError(
                    "Bad Request: can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used (button {index} {button.get('text', '')!r} has {actions or 'none'})"
                )
            if not button.get("text"):
                raise SpecError("Bad Request: BUTTON_TEXT_EMPTY: inline keyboard button text is empty")
            if "callback_data" in button:
                size = len(button["callback_data"].encode("utf-8"))
                if not 1 <= size <= _MAX_CALLBACK_DATA_BYTES:
                    raise SpecError(
                        f"Bad Request: BUTTON_DATA_INVALID: callback_data is {size} bytes (1-64 allowed)"
                    )
    elif "keyboard" in markup:
        for row in markup["keyboard"]:
            for button in row:
                if isinstance(button, dict) and not button.get("text"):
                    raise SpecError("Bad Request: BUTTON_TEXT_EMPTY: keyboard button text is empty")


def check_commands(commands: list[dict[str, Any]]) -> None:
    """setMyCommands: names of 1-32 characters [a-z0-9_], descriptions of 1-256 characters, at most 100."""
    if len(commands) > 100:
        raise SpecError("Bad Request: too many commands (at most 100)")
    for command in commands:
        if not _COMMAND_RE.fullmatch(command["command"]):
            raise SpecError(f"Bad Request: BOT_COMMAND_INVALID: {command['command']!r}")
        if not 1 <= len(command["description"]) <= 256:
            raise SpecError(
                f"Bad Request: BOT_COMMAND_DESCRIPTION_INVALID: description of {command['command']!r} "
                "must be 1-256 characters"
            )
