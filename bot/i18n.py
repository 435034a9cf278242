"""Translations: per-language YAML catalogs looked up by key, with every parameter HTML-escaped.

Catalog files live in `bot/locales/<lang>/<feature>.yaml`; the key `welcome` of
`registration.yaml` is looked up as `registration.welcome`. Templates use `{name}` placeholders
and may contain Telegram's HTML tags. A value can be a mapping `{one: ..., other: ...}` (and an
optional `zero`) chosen by the `count` parameter with the language's own rule (`plural_form`: in
French 0 and 1 take the singular, in English only 1 does). Everything we send uses HTML parse
mode, so parameter values (which may come from a person: names, questions) are escaped here, once,
unless wrapped in `Markup`.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
_FORMATTER = string.Formatter()


class Markup(str):
    """A string already in Telegram HTML (built from catalog texts): not escaped again."""

    __slots__ = ()


def escape(value: object) -> str:
    """Escape a value for Telegram's HTML parse mode (a `Markup` is returned unchanged)."""
    if isinstance(value, Markup):
        return value
    return html.escape(str(value), quote=True)


def plural_form(lang: str, count: object) -> str:
    """The CLDR plural category of `count` in `lang`: "one" or "other".

    French (and the languages that share its rule) use the singular for 0 and 1 ("0 membre",
    "1,5 heure"); English and the default rule use it for exactly 1.
    """
    try:
        number = abs(float(str(count)))
    except ValueError:
        return "other"
    if lang.split("-")[0].lower() in _SINGULAR_UP_TO_TWO:
        return "one" if number < 2 else "other"
    return "one" if number == 1 else "other"


# Languages whose singular covers 0 <= n < 2 (CLDR "one": i = 0,1).
_SINGULAR_UP_TO_TWO = frozenset({"fr", "pt", "hy", "kab", "ff"})


class MissingTranslationError(KeyError):
    """A key is absent from the default language too: a bug in the catalogs."""


def _flatten(prefix: str, tree: Mapping[str, Any], into: dict[str, str | dict[str, str]]) -> None:
    for key, value in tree.items():
        if not isinstance(key, str):
            # YAML 1.1 reads `yes:`, `no:`, `on:` as booleans: a silent trap in catalogs.
            raise ValueError(f"catalog key {key!r} under {prefix!r} is not a string; quote it")
        full_key = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and set(value) <= {"zero", "one", "other"} and "other" in value:
            into[full_key] = {str(k): str(v) for k, v in value.items()}
        elif isinstance(value, Mapping):
            _flatten(full_key, value, into)
        else:
            into[full_key] = str(value).rstrip("\n")


class Catalog:
    """All texts of all languages; `text(lang, key, **params)` renders one."""

    def __init__(
        self, messages: Mapping[str, Mapping[str, str | dict[str, str]]], default_language: str
    ) -> None:
        if default_language not in messages:
            raise ValueError(f"no catalog for the default language {default_language!r}")
        self._messages = {lang: dict(entries) for lang, entries in messages.items()}
        self.default_language = default_language

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR, default_language: str = "fr") -> Catalog:
        """Read every `<lang>/<feature>.yaml` below `directory`."""
        messages: dict[str, dict[str, str | dict[str, str]]] = {}
        for lang_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
            entries: dict[str, str | dict[str, str]] = {}
            for file in sorted(lang_dir.glob("*.yaml")):
                tree = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
                _flatten(file.stem, tree, entries)
            messages[lang_dir.name] = entries
        return cls(messages, default_language)

    @property
    def languages(self) -> list[str]:
        """Languages with a catalog, the default first."""
        others = sorted(lang for lang in self._messages if lang != self.default_language)
        return [self.default_language, *others]

    def keys(self, lang: str) -> set[str]:
        """Every key of one language (used by the completeness test)."""
        return set(self._messages.get(lang, {}))

    def resolve_language(self, language_code: str | None, allowed: Iterable[str] | None = None) -> str:
        """Pick our language for Telegram's `language_code` ("fr-BE" -> "fr"), else the default."""
        candidates = set(allowed) & set(self._messages) if allowed is not None else set(self._messages)
        if language_code:
            base = language_code.split("-")[0].lower()
            if base in candidates:
                return base
        return self.default_language

    def _template(self, lang: str, key: str, count: object) -> str:
        """The template of `key` in `lang` (else the default language), its plural form picked for `count`."""
        for candidate in (lang, self.default_language):
            entry = self._messages.get(candidate, {}).get(key)
            if isinstance(entry, dict):
                # The rule of the language the entry is written in (a fallback keeps its own grammar).
                return self._plural(candidate, entry, count)
            if entry is not None:
                return entry
        raise MissingTranslationError(key)

    def _plural(self, lang: str, forms: dict[str, str], count: object) -> str:
        """The form of a plural entry for `count`: an explicit `zero` wins, then the language's rule."""
        if count == 0 and "zero" in forms:
            return forms["zero"]
        return forms.get(plural_form(lang, count), forms["other"])

    def text(self, lang: str, key: str, /, **params: object) -> Markup:
        """Render `key` in `lang` (falling back to the default language), escaping parameters."""
        template = self._template(lang, key, params.get("count", 0))
        escaped = {name: escape(value) for name, value in params.items()}
        return Markup(template.format_map(escaped))

    def label(self, lang: str, key: str, /, **params: object) -> str:
        """Render a text that Telegram shows as-is, never parsed as HTML.

        For button labels, keyboard buttons and callback answers: parameters are NOT escaped
        (escaping would show `&lt;` to the person).
        """
        template = self._template(lang, key, params.get("count", 0))
        return template.format_map({name: str(value) for name, value in params.items()})

    def all_variants(self, key: str) -> list[str]:
        """The text of `key` in every language (to recognise a button label whatever the language)."""
        variants = []
        for lang in self.languages:
            entry = self._messages[lang].get(key)
            if isinstance(entry, str):
                variants.append(entry)
        return variants

    def placeholders(self, lang: str, key: str) -> set[str]:
        """Names used as `{placeholder}` in a template (for the catalog consistency test)."""
        template = self._messages[lang][key]
        forms = template.values() if isinstance(template, dict) else [template]
        return {name for form in forms for _, name, _, _ in _FORMATTER.parse(form) if name}
