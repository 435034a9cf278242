"""Plural forms: each language's own rule (French: 0 and 1 take the singular; English: only 1)."""

from __future__ import annotations

import pytest

from bot.i18n import Catalog, plural_form

FORMS = {"one": "{count} membre", "other": "{count} membres"}


@pytest.mark.parametrize(
    ("lang", "count", "form"),
    [
        ("fr", 0, "one"),
        ("fr", 1, "one"),
        ("fr", 1.5, "one"),
        ("fr", 2, "other"),
        ("fr", 10, "other"),
        ("fr-BE", 0, "one"),
        ("en", 0, "other"),
        ("en", 1, "one"),
        ("en", 2, "other"),
        ("de", 0, "other"),
        ("fr", "not a number", "other"),
    ],
)
def test_plural_form_per_language(lang: str, count: object, form: str) -> None:
    """The CLDR category of a count in a language."""
    assert plural_form(lang, count) == form


def test_french_zero_is_singular() -> None:
    """ "0 membre", "Envoyer à 0 personne": French uses the singular for zero."""
    catalog = Catalog(
        {"fr": {"x.n": FORMS}, "en": {"x.n": {"one": "{count} member", "other": "{count} members"}}}, "fr"
    )
    assert catalog.text("fr", "x.n", count=0) == "0 membre"
    assert catalog.label("fr", "x.n", count=0) == "0 membre"
    assert catalog.text("fr", "x.n", count=2) == "2 membres"
    assert catalog.text("en", "x.n", count=0) == "0 members"
    assert catalog.text("en", "x.n", count=1) == "1 member"


def test_explicit_zero_form_wins() -> None:
    """A `zero` form written in the catalog is used for 0 in every language."""
    catalog = Catalog({"fr": {"x.n": {**FORMS, "zero": "personne"}}}, "fr")
    assert catalog.text("fr", "x.n", count=0) == "personne"
    assert catalog.text("fr", "x.n", count=1) == "1 membre"


def test_fallback_keeps_the_grammar_of_its_language() -> None:
    """A key missing in English falls back to French, with the French rule."""
    catalog = Catalog({"fr": {"x.n": FORMS}, "en": {}}, "fr")
    assert catalog.text("en", "x.n", count=0) == "0 membre"


def test_real_catalog_french_zero() -> None:
    """The bundled catalogs say "0 membre" in French and "0 members" in English."""
    catalog = Catalog.load()
    assert catalog.text("fr", "challenges.team_members", count=0) == "0 membre :"
    assert catalog.label("fr", "broadcasts.button.send_now", count=0) == "✅ Envoyer à 0 personne"
    assert catalog.text("en", "challenges.team_members", count=0) == "0 members:"
