"""The catalogs: complete in every language, parameters escaped, plurals chosen."""

from __future__ import annotations

import pytest

from bot.i18n import Catalog, Markup


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_every_language_has_every_key(catalog: Catalog) -> None:
    """No text exists in French only (or English only)."""
    reference = catalog.keys(catalog.default_language)
    for lang in catalog.languages:
        assert catalog.keys(lang) == reference, f"{lang} differs: {catalog.keys(lang) ^ reference}"


def test_placeholders_match_across_languages(catalog: Catalog) -> None:
    """A translation uses the same {placeholders} as the French text."""
    for key in catalog.keys(catalog.default_language):
        expected = catalog.placeholders(catalog.default_language, key)
        for lang in catalog.languages:
            assert catalog.placeholders(lang, key) == expected, f"{lang}:{key}"


def test_parameters_are_escaped_but_markup_is_not(catalog: Catalog) -> None:
    """User text is escaped once; texts built from the catalog are not escaped twice."""
    rendered = catalog.text("fr", "registration.name_saved", name="<b>Tom & Jerry</b>")
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in rendered
    assert catalog.text("fr", "registration.name_saved", name=Markup("<i>x</i>")).count("<i>x</i>") == 1


def test_missing_language_falls_back_to_default(catalog: Catalog) -> None:
    """An unknown language gets the default language's text."""
    assert catalog.text("de", "common.button_yes") == catalog.text("fr", "common.button_yes")


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("fr", "fr"), ("fr-BE", "fr"), ("en-GB", "en"), ("de", "fr"), (None, "fr"), ("", "fr")],
)
def test_resolve_language(catalog: Catalog, language_code: str | None, expected: str) -> None:
    """Telegram's language code picks our language, else French."""
    assert catalog.resolve_language(language_code, ["fr", "en"]) == expected


def test_plural_forms() -> None:
    """`count` chooses between one and other."""
    catalog = Catalog({"fr": {"x.n": {"one": "{count} place", "other": "{count} places"}}}, "fr")
    assert catalog.text("fr", "x.n", count=1) == "1 place"
    assert catalog.text("fr", "x.n", count=3) == "3 places"
