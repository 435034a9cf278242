"""`ch:` callback data routed to one handler per action; the organisers' overview (no database)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from telegram.ext import CallbackQueryHandler

from bot.i18n import Catalog
from handlers.challenges import handlers
from handlers.challenges.organisers import overview_messages
from handlers.challenges.views import Voice
from handlers.common import callback_data
from models import challenges as ch
from models.base import utcnow
from models.outbox import TEXT_LIMIT, telegram_length
from tests.support.harness import bundled_event

EVENT = bundled_event()
CATALOG = Catalog.load()
BUTTONS = [h for h in handlers(CATALOG) if isinstance(h, CallbackQueryHandler)]


def route(data: str | None) -> tuple[str, tuple[str, ...]] | None:
    """The handler (by name) and the fields a press with this data reaches; None: the stale fallback."""
    for handler in BUTTONS:
        assert isinstance(handler.pattern, re.Pattern)
        match = handler.pattern.match(data or "")
        if match:
            return handler.callback.__name__, match.groups()
    return None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ch:list", ("show_list", ())),
        ("ch:team", ("show_team", ())),
        ("ch:card:benevolat", ("show_card", ("benevolat",))),
        ("ch:join:benevolat", ("join", ("benevolat",))),
        ("ch:leave:benevolat", ("ask_leave", ("benevolat",))),
        ("ch:leaveok:benevolat", ("leave", ("benevolat",))),
        ("ch:unwait:benevolat", ("unwait", ("benevolat",))),
        ("ch:sw:gone-challenge:benevolat", ("switch", ("gone-challenge", "benevolat"))),
        # Well formed but unknown to the event file: the handler refuses it (end-to-end tests).
        ("ch:join:nope", ("join", ("nope",))),
        ("ch:join:benevolat:extra", None),
        ("ch:list:benevolat", None),
        ("ch:join:BENEVOLAT", None),
        ("ch:join:" + "x" * 21, None),
        ("ch:explode:benevolat", None),
        ("ch:leaveok", None),
        ("ch:", None),
        ("reg:join:benevolat", None),
        (None, None),
    ],
)
def test_callback_data(data: str | None, expected: tuple[str, tuple[str, ...]] | None) -> None:
    """Each action has its own exact pattern; anything else falls to the stale-button answer."""
    assert route(data) == expected


def test_callback_data_fits_telegram() -> None:
    """The longest callback we build stays within Telegram's 64 bytes."""
    longest = callback_data("ch", "sw", "x" * 20, "y" * 20)
    assert len(longest.encode("ascii")) <= 64
    assert route(longest) == ("switch", ("x" * 20, "y" * 20))


def test_overview_packs_whole_teams_under_the_limit() -> None:
    """/equipes with many teams is split between teams, each message within Telegram's limit."""
    template = EVENT.challenges[0]
    challenges = [template.model_copy(update={"id": f"c{n}"}) for n in range(60)]
    event = EVENT.model_copy(update={"challenges": challenges})
    now = utcnow()
    teams = ch.TeamsOverview(
        counts={c.id: ch.ChallengeCounts(c.id, 5, 12, 12, 2, False) for c in challenges},
        roles={c.id: Counter({"student": 5}) for c in challenges},
        teamless=3,
        picking=ch.picking_status((now - timedelta(hours=1), now + timedelta(hours=1)), None, now),
    )
    messages = overview_messages(Voice(CATALOG, event, "fr"), teams)
    assert len(messages) > 1
    assert all(telegram_length(m, "HTML") <= TEXT_LIMIT for m in messages)
    joined = "\n\n".join(messages)
    assert all(f"<code>c{n}</code>" in joined for n in range(60))
    # A team's lines stay together: each message starts with a team (or the title).
    assert all(m.startswith("<b>") for m in messages)
