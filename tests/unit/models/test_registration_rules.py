"""Pure registration rules: cleaning the names people type."""

from __future__ import annotations

import pytest

from models.participant import DISPLAY_NAME_MAX
from models.registration import clean_display_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Amina", "Amina"),
        ("  Jean   Pierre  ", "Jean Pierre"),
        ("<b>Bob</b> & co", "<b>Bob</b> & co"),  # kept as typed; escaped when sent
        ("Zo\u0065\u0301", "Zoé"),  # NFC normalisation
        ("A\u0000B\u200bC", "ABC"),  # control and format characters removed
        ("", None),
        ("   ", None),
        ("\u200b\u200b", None),
        (None, None),
    ],
)
def test_clean_display_name(raw: str | None, expected: str | None) -> None:
    """Names are trimmed, normalised and stripped of invisible characters."""
    assert clean_display_name(raw) == expected


def test_long_names_are_capped() -> None:
    """A 5,000-character name becomes 64 characters ending with an ellipsis."""
    name = clean_display_name("é" * 5000)
    assert name is not None and len(name) == DISPLAY_NAME_MAX and name.endswith("…")
