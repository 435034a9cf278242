"""The delivery path end to end: outbox rows → `OutboxSender` → PTB `ExtBot` + `TelegramThrottle` → simulator.

The simulator enforces Telegram's flood limits exactly; every test asserts that the bot never got a
429 and never broke the Bot API specification.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram.ext import Application, ApplicationBuilder

from bot.delivery.limits import RateLimits
from bot.delivery.sender import OutboxSender
from bot.delivery.throttle import TelegramThrottle
from models import outbox
from models.db import Database
from models.outbox import FINAL_STATES, NewMessage, OutboxState, OutgoingMessage
from simulator import Simulator
from tests.support.databases import BACKENDS, migrated_database

TOKEN = "123456:TEST-TOKEN"
SLOW = os.environ.get("HACKBOT_SLOW_TESTS") == "1"


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database on each configured backend."""
    async with migrated_database(request.param, tmp_path) as target:
        db = target.connect()
        try:
            yield db
        finally:
            await db.dispose()


@dataclass
class World:
    """The simulator, the bot application and the sender, started on demand."""

    sim: Simulator
    db: Database
    app: Application | None = None
    sender: OutboxSender | None = None

    async def start_bot(self, limits: RateLimits | None = None) -> Application:
        self.app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(self.sim.api_url)
            .base_file_url(self.sim.file_url)
            .rate_limiter(TelegramThrottle(limits))
            .updater(None)
            .build()
        )
        await self.app.initialize()
        return self.app

    async def start_sender(self, **options: Any) -> OutboxSender:
        assert self.app is not None
        options.setdefault("poll_interval", 0.5)
        self.sender = OutboxSender(self.app.bot, self.db, **options)
        await self.sender.start()
        return self.sender

    async def users(self, count: int) -> list[Any]:
        """People who started the bot (Telegram only lets a bot write to those)."""
        people = [self.sim.add_user(first_name=f"P{i}", language_code="fr") for i in range(count)]
        for person in people:
            await person.send_text("/start")
        return people

    async def rows(self) -> list[OutgoingMessage]:
        async with self.db.read() as session:
            return list((await session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))).all())

    async def settle(self, within: float) -> list[OutgoingMessage]:
        """Wait until no row is pending or being sent."""
        deadline = time.monotonic() + within
        while True:
            rows = await self.rows()
            if all(row.state in FINAL_STATES for row in rows):
                return rows
            if time.monotonic() > deadline:
                pending = sum(row.state not in FINAL_STATES for row in rows)
                pytest.fail(f"{pending} rows still unsent after {within}s")
            await asyncio.sleep(0.05)

    def sends(self, method: str = "sendMessage") -> list[Any]:
        """Requests of `method` the simulator received (answered or refused)."""
        return [record for record in self.sim.requests if record.method == method]

    async def close(self) -> None:
        if self.sender is not None:
            await self.sender.stop()
        if self.app is not None:
            await self.app.shutdown()


async def _world(database: Database, sim: Simulator) -> World:
    sim.add_bot(token=TOKEN, username="hackbot_test_bot")
    await sim.start(host="127.0.0.1", port=0)
    return World(sim, database)


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    """Telegram's real limits, no network latency."""
    sim = Simulator(latency=0.0, rate_limits=True)
    env = await _world(database, sim)
    try:
        yield env
    finally:
        await env.close()
        await sim.stop()
    assert sim.violations == []
    assert sim.rate_limited == []


def fast_clock(factor: float) -> Callable[[], float]:
    """A clock running `factor` times faster than real time, for the simulator's limits."""
    origin = time.monotonic()
    return lambda: origin + (time.monotonic() - origin) * factor


def broadcast(chat_ids: list[int], ref_id: int = 1) -> list[NewMessage]:
    """One broadcast row per chat."""
    return [
        NewMessage(
            chat_id=chat_id,
            method="sendMessage",
            payload={"text": f"<b>Broadcast</b> {ref_id} for {chat_id}", "parse_mode": "HTML"},
            dedupe_key=f"broadcast:{ref_id}:{chat_id}",
            purpose="broadcast",
            ref_id=ref_id,
        )
        for chat_id in chat_ids
    ]


async def test_two_hundred_people_get_their_message_exactly_once(world):
    """200 recipients: all delivered once, at the bot's pace (~29/s), without a single 429."""
    people = await world.users(200)
    await world.start_bot()
    async with world.db.transaction() as session:
        ids = await outbox.enqueue_many(session, broadcast([person.id for person in people]))
    assert len(ids) == 200
    started = time.monotonic()
    await world.start_sender()
    rows = await world.settle(within=30)
    elapsed = time.monotonic() - started
    assert {row.state for row in rows} == {OutboxState.SENT}
    assert all(row.sent_message_id and not row.in_doubt and row.attempts == 1 for row in rows)
    for person in people:
        assert [message.text for message in person.messages] == [f"Broadcast 1 for {person.id}"]
    assert len(world.sends()) == 200  # no retry, no duplicate request
    assert 200 / 30 <= elapsed < 200 / 29 + 3


async def test_burst_to_a_group_arrives_in_order_without_429(database):
    """50 messages to one group: 20 at once, then as the 60 s window allows, in order, never refused.

    The simulator's clock runs 30× faster (its 60 s window lasts 2 s), and the throttle is given
    the same window in real seconds: the rules are the real ones, the test takes 5 s, not 2 min.
    """
    sim = Simulator(rate_limits=True, clock=fast_clock(30))
    env = await _world(database, sim)
    try:
        admin = sim.add_user(first_name="Orga")
        group = sim.add_group("Staff", members=[admin])
        await env.start_bot(RateLimits(group_window=2.0, margin=0.1))
        async with env.db.transaction() as session:
            await outbox.enqueue_many(
                session,
                [
                    NewMessage(group.id, "sendMessage", {"text": f"update {i}"}, f"notice:{i}", "notice")
                    for i in range(50)
                ],
            )
        started = time.monotonic()
        await env.start_sender()
        rows = await env.settle(within=20)
        elapsed = time.monotonic() - started
    finally:
        await env.close()
        await sim.stop()
    assert {row.state for row in rows} == {OutboxState.SENT}
    assert [message.text for message in group.messages] == [f"update {i}" for i in range(50)]
    assert 4.2 <= elapsed < 7  # two full windows (2 × 2.1 s) before the last ten
    assert sim.rate_limited == []
    assert sim.violations == []


@pytest.mark.skipif(not SLOW, reason="2 minutes of real time; set HACKBOT_SLOW_TESTS=1")
async def test_burst_to_a_group_in_real_time(world):
    """The same burst with Telegram's real 20-per-minute window (≈ 2 min)."""
    admin = world.sim.add_user(first_name="Orga")
    group = world.sim.add_group("Staff", members=[admin])
    await world.start_bot()
    async with world.db.transaction() as session:
        await outbox.enqueue_many(
            session,
            [
                NewMessage(group.id, "sendMessage", {"text": f"update {i}"}, f"notice:{i}", "notice")
                for i in range(50)
            ],
        )
    await world.start_sender()
    await world.settle(within=180)
    assert [message.text for message in group.messages] == [f"update {i}" for i in range(50)]


async def test_blocked_person_is_marked_blocked_and_never_retried(world):
    """403 from a person who blocked the bot: state blocked after one request."""
    blocked, fine = await world.users(2)
    blocked.block_bot()
    await world.start_bot()
    async with world.db.transaction() as session:
        await outbox.enqueue_many(session, broadcast([blocked.id, fine.id]))
    await world.start_sender()
    rows = {row.chat_id: row for row in await world.settle(within=5)}
    await asyncio.sleep(0.5)
    assert rows[blocked.id].state is OutboxState.BLOCKED
    assert rows[blocked.id].attempts == 1
    assert "blocked" in (rows[blocked.id].last_error or "")
    assert rows[fine.id].state is OutboxState.SENT
    assert [record.params["chat_id"] for record in world.sends()].count(str(blocked.id)) == 1


async def test_interrupted_sends_are_recovered_once_and_flagged(world):
    """After a crash, rows found 'sending' are sent again: at most one duplicate, flagged in_doubt."""
    before, after = await world.users(2)
    await world.start_bot()
    async with world.db.transaction() as session:
        await outbox.enqueue_many(session, broadcast([before.id, after.id]))
    # "after": the crash came after Telegram took the message; first deliver it, then rewind the row.
    sender = await world.start_sender()
    await world.settle(within=5)
    await sender.stop()
    async with world.db.transaction() as session:
        await session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.chat_id == after.id)
            .values(state=OutboxState.SENDING, sent_message_id=None, sent_at=None)
        )
        # "before": the crash came before the request left.
        await session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.chat_id == before.id)
            .values(state=OutboxState.SENDING)
        )
    before_count = len(before.messages)
    await world.start_sender()  # the restart
    rows = {row.chat_id: row for row in await world.settle(within=5)}
    assert rows[after.id].in_doubt and rows[after.id].state is OutboxState.SENT
    assert rows[before.id].in_doubt and rows[before.id].state is OutboxState.SENT
    assert len(after.messages) == 2  # the one possible duplicate
    assert len(before.messages) == before_count + 1


async def test_dedupe_key_prevents_a_second_message(world):
    """The same reminder enqueued twice (e.g. two scheduler runs) is one row and one message."""
    (person,) = await world.users(1)
    await world.start_bot()
    await world.start_sender()
    for _ in range(2):
        async with world.db.transaction() as session:
            await outbox.enqueue(
                session,
                chat_id=person.id,
                method="sendMessage",
                payload={"text": "Lunch in 15 minutes"},
                dedupe_key=f"meal:lunch:{person.id}",
                purpose="meal",
            )
        world.sender.wake()
    rows = await world.settle(within=5)
    await asyncio.sleep(0.3)
    assert len(rows) == 1
    assert [message.text for message in person.messages] == ["Lunch in 15 minutes"]


@pytest.mark.timing
async def test_a_reply_during_a_broadcast_leaves_at_once(world):
    """While 150 broadcast messages drain at 29/s, an interactive reply goes out within ~0.1 s."""
    people = await world.users(151)
    asker, recipients = people[0], people[1:]
    app = await world.start_bot()
    async with world.db.transaction() as session:
        await outbox.enqueue_many(session, broadcast([person.id for person in recipients]))
    await world.start_sender()
    await asyncio.sleep(1.0)  # the broadcast is under way
    started = time.monotonic()
    await app.bot.send_message(chat_id=asker.id, text="Your answer")
    latency = time.monotonic() - started
    rows = await world.settle(within=15)
    assert latency < 0.15
    assert sum(row.state is OutboxState.SENT for row in rows) == 150
    assert [message.text for message in asker.messages] == ["Your answer"]
