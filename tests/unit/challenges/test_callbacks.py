"""Parsing `ch:` callback data and splitting long organiser messages (no Telegram, no database)."""

from __future__ import annotations

import pytest

from handlers.challenges import _chunks, _valid_callback
from tests.support.harness import bundled_event

EVENT = bundled_event()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ch:list", ("list", None, None)),
        ("ch:team", ("team", None, None)),
        ("ch:card:benevolat", ("card", "benevolat", None)),
        ("ch:join:benevolat", ("join", "benevolat", None)),
        ("ch:leaveok:benevolat", ("leaveok", "benevolat", None)),
        ("ch:sw:gone-challenge:benevolat", ("sw", "gone-challenge", "benevolat")),
        ("ch:join:nope", None),  # not in the event file (forged, or removed)
        ("ch:sw:benevolat:nope", None),
        ("ch:join:benevolat:extra", None),
        ("ch:list:benevolat", None),
        ("ch:join:BENEVOLAT", None),
        ("ch:join:" + "x" * 21, None),
        ("ch:explode:benevolat", None),
        ("ch:", None),
        ("reg:join:benevolat", None),
        (None, None),
    ],
)
def test_callback_data(data: str | None, expected: tuple[str, str | None, str | None] | None) -> None:
    """Only well-formed data about a configured challenge is accepted."""
    assert _valid_callback(EVENT, data) == expected


def test_callback_data_fits_telegram() -> None:
    """The longest callback we build stays within Telegram's 64 bytes."""
    longest = "ch:sw:" + "x" * 20 + ":" + "y" * 20
    assert len(longest.encode("ascii")) <= 64


def test_chunks_keep_paragraphs_whole_and_under_the_limit() -> None:
    """Long overviews are split between paragraphs, each message within the limit."""
    parts = [f"<b>team {i}</b>\n" + "x" * 300 for i in range(30)]
    chunks = _chunks(parts, limit=1000)
    assert all(len(chunk) <= 1000 for chunk in chunks)
    assert "\n\n".join(chunks) == "\n\n".join(parts)
    assert _chunks([]) == []
