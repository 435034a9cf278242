"""A burst of 50 questions in a minute: all reach the staff group, in order, never faster than 20 a minute.

Telegram allows a bot 20 messages a minute in a group. Waiting two and a half real minutes in a test
is not reasonable, so time is scaled: the simulator's limits run on a clock `SPEED` times faster
(its 60-second group window lasts 2 real seconds), and the bot's throttle gets the same window in
real seconds (`RateLimits(group_window=60 / SPEED)`). Everything else (outbox, sender, throttle
logic, simulator enforcement) is the production code path. The simulator refuses with 429 any send
beyond 20 in one of its windows, so "no 429" proves the limit was never exceeded; the test also
counts the sends itself over every window.

The bot is restarted in the middle of the burst: the queue is in the database and the rest follows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

import bot.app
from bot.delivery.limits import RateLimits
from bot.delivery.throttle import TelegramThrottle
from models.outbox import OutgoingMessage
from models.questions import PURPOSE_RELAY
from simulator import Simulator
from tests.e2e.test_questions import enrol, event_for, make_staff
from tests.support.harness import BOT_TOKEN, BOT_USERNAME, running_bot

log = logging.getLogger(__name__)

SPEED = 30.0
GROUP_WINDOW = 60.0 / SPEED  # real seconds
BURST = 50


@pytest.fixture
async def fast_sim() -> AsyncIterator[Simulator]:
    """A simulator whose rate limits run `SPEED` times faster than real time."""
    start = time.monotonic()
    simulator = Simulator(clock=lambda: start + (time.monotonic() - start) * SPEED)
    simulator.add_bot(token=BOT_TOKEN, username=BOT_USERNAME, first_name="Hackbot")
    await simulator.start(host="127.0.0.1", port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()
    assert not simulator.violations, f"Bot API violations: {simulator.violations}"
    assert not simulator.rate_limited, f"the bot hit Telegram's rate limits: {simulator.rate_limited}"


class ScaledThrottle(TelegramThrottle):
    """The production throttle with the group window scaled like the simulator's clock (a subclass:
    the application checks that its rate limiter is a `TelegramThrottle`)."""

    def __init__(self) -> None:
        super().__init__(RateLimits(group_window=GROUP_WINDOW))


def relay_number(text: str) -> int | None:
    prefix = "❓ Question n°"
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    return int(rest[: len(rest) - len(rest.lstrip("0123456789"))])


async def test_fifty_questions_in_a_minute(fast_sim: Simulator, test_database, monkeypatch) -> None:
    """50 questions at once: 50 relays, in order, at most 20 per (scaled) minute, across a restart."""
    monkeypatch.setattr(bot.app, "TelegramThrottle", ScaledThrottle)
    sim = fast_sim
    staff = make_staff(sim)
    people = [sim.add_user(first_name=f"P{i:02d}", language_code="fr") for i in range(BURST)]
    event = event_for(staff)

    def relayed() -> list[int]:
        return [n for m in staff.group.messages if (n := relay_number(m.text)) is not None]

    first = test_database.connect()
    async with running_bot(sim, first, event) as app:
        for person in people:
            await enrol(app, person)
        started = time.time()
        for i, person in enumerate(people):
            await person.send_text(f"/question Question numéro {i}")
        for person in people:
            await person.wait_for_message(lambda m: "Bien reçu" in m.text, timeout=20)
        # The first window's worth arrives at once, then the queue waits.
        deadline = time.monotonic() + 10
        while len(relayed()) < 20 and time.monotonic() < deadline:
            await sim.world.changed.wait(deadline - time.monotonic())
        assert 20 <= len(relayed()) < BURST
    await first.dispose()
    # A restart takes a few seconds; the new process's throttle does not know the old one's sends.
    await asyncio.sleep(GROUP_WINDOW + 0.2)

    second = test_database.connect()
    try:
        async with running_bot(sim, second, event):
            deadline = time.monotonic() + 30
            while len(relayed()) < BURST and time.monotonic() < deadline:
                await sim.world.changed.wait(deadline - time.monotonic())
            elapsed = time.time() - started
            async with second.read() as session:
                rows = (
                    await session.scalars(
                        select(OutgoingMessage)
                        .where(OutgoingMessage.purpose == PURPOSE_RELAY)
                        # The sender's queue order: priority, then time queued, then id.
                        .order_by(OutgoingMessage.priority.desc(), OutgoingMessage.due_at, OutgoingMessage.id)
                    )
                ).all()
    finally:
        await second.dispose()

    numbers = relayed()
    assert len(numbers) == BURST and len(set(numbers)) == BURST  # all of them, none twice
    assert numbers == [row.ref_id for row in rows]  # in the order they were queued
    if test_database.schema is None:  # SQLite: one writer, so queue order is arrival order
        assert numbers == sorted(numbers)

    sends = sorted(
        r.time
        for r in sim.requests
        if r.status == 200
        and str(r.params.get("chat_id")) == str(staff.group.id)
        and r.method in ("sendMessage", "copyMessage", "editMessageText", "editMessageCaption")
    )
    busiest = max(sum(1 for t in sends if start <= t < start + GROUP_WINDOW) for start in sends)
    assert busiest <= 20
    # 50 messages at 20 per window need at least two full windows after the first burst.
    assert elapsed >= 2 * GROUP_WINDOW
    log.info(
        "%d relays in %.1fs (%.1f scaled min), busiest window %d",
        BURST,
        elapsed,
        elapsed * SPEED / 60,
        busiest,
    )
