"""Double taps: every button of every feature pressed twice, both presses in one getUpdates answer.

What a phone sends when someone taps twice before the first answer arrives. The bot must answer
both presses, never log an error, never make Telegram answer 400 (an edit to the content the
message already shows is one: "message is not modified"), and have one effect.

The sweep crawls the conversation like a person would: a newcomer (registration), a participant
and an organiser send every command of their "/" menu, and every inline button the bot shows is
double-tapped, the new messages and buttons being explored in turn. Buttons whose ids change every
time (announcement drafts) are explored once per shape, and the irreversible "erase my data" last.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import pytest

from bot.commands import COMMANDS, Audience
from models import challenges as ch
from models.db import Database
from simulator import SimCallbackQuery, SimMessage, Simulator, SimUser
from tests.e2e.test_challenges import CAP12, counts, open_event, open_list, seed, status
from tests.support.harness import running_bot

MAX_DOUBLE_TAPS = 140
"""A bound on the crawl (each double tap takes a fraction of a second)."""
LAST = ("forget:yes",)
"""Buttons pressed after every other one: nothing can be explored after them."""


def shape(data: str) -> str:
    """The button's action with its ids blurred: drafts and tickets get new ids every time."""
    return re.sub(r"\d+|[0-9a-f]{8,}", "#", data)


async def double_tap(sim: Simulator, user: SimUser, message: SimMessage, data: str) -> list[SimCallbackQuery]:
    """Two presses of one button, handed to the bot in one getUpdates answer; both answered."""
    with sim.one_poll():
        presses = [
            await user.press(callback_data=data, message=message, wait_answer=False),
            await user.press(callback_data=data, message=message, wait_answer=False),
        ]
    for press in presses:
        await press.wait_answered(10)
    return presses


async def quiet(sim: Simulator, settle: float = 0.15, limit: float = 5.0) -> None:
    """Wait until the bot has made no request for `settle` seconds (its edits and sends are done)."""
    deadline = time.monotonic() + limit
    seen = len(sim.requests)
    while time.monotonic() < deadline:
        await asyncio.sleep(settle)
        if len(sim.requests) == seen:
            return
        seen = len(sim.requests)


def refused(sim: Simulator, user: SimUser) -> list[tuple[str, dict[str, object]]]:
    """The requests about this person's chat that Telegram answered with 400."""
    return [
        (r.method, r.params)
        for r in sim.requests
        if r.status == 400
        and (r.method == "answerCallbackQuery" or str(r.params.get("chat_id")) == str(user.id))
    ]


def buttons_of(message: SimMessage) -> list[str]:
    """The callback data of a message's inline buttons (URL buttons are not pressed)."""
    return [button.callback_data for row in message.buttons for button in row if button.callback_data]


@dataclass
class Crawl:
    """What the sweep pressed and saw."""

    taps: int = 0
    duplicates: list[str] | None = None


async def sweep(sim: Simulator, people: list[SimUser], crawl: Crawl) -> None:
    """Double-tap every button shown to these people, exploring what each press shows in turn."""
    seen: set[tuple[int, str]] = set()
    queue: list[tuple[SimUser, int, str]] = []
    last: list[tuple[SimUser, int, str]] = []

    def discover(user: SimUser) -> None:
        for message in user.messages_from_bot():
            for data in buttons_of(message):
                key = (user.id, shape(data))
                if key in seen:
                    continue
                seen.add(key)
                (last if data.startswith(LAST) else queue).append((user, message.message_id, data))

    for user in people:
        discover(user)
    while (queue or last) and crawl.taps < MAX_DOUBLE_TAPS:
        user, message_id, data = queue.pop(0) if queue else last.pop(0)
        message = next((m for m in user.messages_from_bot() if m.message_id == message_id), None)
        if message is None:
            continue  # an earlier press removed that message (a prompt deleted once answered)
        before = {m.message_id for m in user.messages_from_bot()}
        await double_tap(sim, user, message, data)
        crawl.taps += 1
        await quiet(sim)
        new = [m for m in user.messages_from_bot() if m.message_id not in before]
        shown = [(m.text, tuple(map(tuple, m.button_texts))) for m in new]
        if len(shown) != len(set(shown)):  # the same message sent twice: the press acted twice
            crawl.duplicates = [*(crawl.duplicates or []), data]
        discover(user)


async def test_every_button_double_tapped(
    sim: Simulator, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A newcomer, a participant and an organiser double-tap every button they are shown."""
    caplog.set_level(logging.WARNING)
    newcomer = sim.add_user(first_name="Nouvelle", language_code="fr")
    participant = sim.add_user(first_name="Paula", language_code="fr")
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    await seed(db, [participant, organiser])
    event = open_event(organisers=[organiser.id], staff_chat_id=None)
    async with running_bot(sim, db, event):
        await newcomer.send_text("/start")
        await newcomer.wait_for_message(timeout=10)
        menus = (
            (participant, {Audience.PARTICIPANT}),
            (organiser, {Audience.PARTICIPANT, Audience.ORGANISER}),
        )
        for user, audiences in menus:
            for command in COMMANDS:
                if command.audience in audiences and command.key not in ("forget", "reload", "staffgroup"):
                    await user.send_text(f"/{command.name('fr')}")
                    await quiet(sim)
        await organiser.send_text("/annonce")
        await quiet(sim)
        await organiser.send_text("Le bus part dans 5 minutes.")
        await quiet(sim)
        await participant.send_text("/oublier")  # its buttons: "erase" last, "keep" with the others
        await quiet(sim)
        first_request = len(sim.requests)

        crawl = Crawl()
        await sweep(sim, [newcomer, participant, organiser], crawl)

    assert crawl.taps >= 20, f"only {crawl.taps} buttons found"
    assert not crawl.duplicates, f"pressed twice, acted twice: {crawl.duplicates}"
    refused = [(r.method, r.params) for r in sim.requests[first_request:] if r.status == 400]
    assert not refused, f"Telegram answered 400: {refused}"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert sim.unanswered_callbacks() == []


async def test_double_taps_on_join_keep_and_toggle_act_once(sim: Simulator, db: Database) -> None:
    """Join twice: one place, one answer; "No, keep" after /forget twice: kept; /rappels toggled once."""
    user = sim.add_user(first_name="Dina", language_code="fr")
    await seed(db, [user])
    async with running_bot(sim, db, open_event(staff_chat_id=None)):
        listing = await open_list(user)
        presses = await double_tap(sim, user, listing, f"ch:join:{CAP12}")
        # One decision, one answer: the repeated press only stops the spinner.
        assert "vous avez rejoint" in (presses[0].text or "") and presses[1].text is None
        assert (await counts(db, CAP12)).members == 1
        await quiet(sim)
        assert refused(sim, user) == []

        await user.send_text("/oublier")
        question = await user.wait_for_message(lambda m: any(buttons_of(m)), timeout=10)
        keep = next(data for data in buttons_of(question) if data.startswith("forget:no"))
        await double_tap(sim, user, question, keep)
        await quiet(sim)
        assert (await status(db, user)).challenge_id == CAP12  # nothing erased
        async with db.read() as session:
            assert await ch.team_of(session, (await ch.members_of(session, CAP12))[0].participant_id)

        await user.send_text("/rappels")
        toggle = await user.wait_for_message(
            lambda m: any(d.startswith("prog:rem:") for d in buttons_of(m)), timeout=10
        )
        data = next(d for d in buttons_of(toggle) if d.startswith("prog:rem:"))
        await double_tap(sim, user, toggle, data)
        await quiet(sim)
        assert toggle.edit_count == 1  # shown once in its new state
        assert refused(sim, user) == []
        assert sim.unanswered_callbacks() == []
