"""A restarted process counts what the previous one sent: the scheduler's replay and the saved record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery.limits import RateLimits, Scheduler, Ticket
from models import outbox, rate_history
from models.base import utcnow
from models.outbox import OutboxState, OutgoingMessage

NO_MARGIN = RateLimits(margin=0.0)


def test_recent_lists_the_last_minute_of_grants_oldest_first():
    """Every grant of the last minute, with its age; older ones are forgotten."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    for chat, at in ((1, 0.0), (-5, 30.0), (2, 65.0)):
        scheduler.submit(Ticket(chat=chat), at)
        ticket, _ = scheduler.next_grant(at)
        assert ticket is not None
        scheduler.release(ticket)
    assert scheduler.recent(70.0) == [(-5, pytest.approx(40.0)), (2, pytest.approx(5.0))]


def test_a_replayed_burst_makes_the_chat_wait():
    """Three messages to a person 0.2 s before the restart: the fourth waits for a token."""
    scheduler = Scheduler(NO_MARGIN, now=100.0)
    scheduler.replay([(7, 0.4), (7, 0.3), (7, 0.2)], 100.0)
    ticket = Ticket(chat=7)
    scheduler.submit(ticket, 100.0)
    granted, wait = scheduler.next_grant(100.0)
    assert granted is None
    assert wait == pytest.approx(0.6)  # one token back a second after the first of the three
    assert scheduler.next_grant(100.6)[0] is ticket


def test_a_replayed_group_minute_and_global_second_are_counted():
    """20 messages to a group in the last minute block it; 29 sends in the last second block the bot."""
    scheduler = Scheduler(NO_MARGIN, now=1000.0)
    scheduler.replay([(-100, 59.0 - i) for i in range(20)], 1000.0)
    group = Ticket(chat=-100)
    scheduler.submit(group, 1000.0)
    assert scheduler.next_grant(1000.0) == (None, pytest.approx(1.0))

    bot = Scheduler(NO_MARGIN, now=1000.0)
    bot.replay([(chat, 0.5) for chat in range(1, 30)], 1000.0)
    person = Ticket(chat=99)
    bot.submit(person, 1000.0)
    granted, wait = bot.next_grant(1000.0)
    assert granted is None and wait == pytest.approx(0.52)  # 1.02 s after the 29 sends


def test_sends_older_than_a_minute_are_ignored():
    """What Telegram no longer counts changes nothing."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    scheduler.replay([(7, 120.0), (7, 90.0), (7, 61.5)], 0.0)
    ticket = Ticket(chat=7)
    scheduler.submit(ticket, 0.0)
    assert scheduler.next_grant(0.0) == (ticket, None)


async def test_saved_sends_and_the_outbox_are_read_back_once(outbox_db):
    """Saved sends, sent and in-flight outbox rows of the last minute come back oldest first; the
    saved record is consumed, pending rows and older sends are not counted."""
    now = utcnow()
    async with outbox_db.transaction() as session:
        await rate_history.save_recent_sends(
            session, [(5, now - timedelta(seconds=2)), (6, now - timedelta(minutes=5))]
        )
        for key, chat in (("sent", 8), ("in-flight", 9), ("pending", 10)):
            await outbox.enqueue(
                session,
                chat_id=chat,
                method="sendMessage",
                payload={"text": "x"},
                dedupe_key=key,
                purpose="t",
            )
    async with outbox_db.transaction() as session:
        rows = {row.dedupe_key: row for row in await session.scalars(select(OutgoingMessage))}
        rows["sent"].state, rows["sent"].sent_at = OutboxState.SENT, now - timedelta(seconds=1)
        rows["in-flight"].state = OutboxState.SENDING
    async with outbox_db.transaction() as session:
        sends = await rate_history.take_recent_sends(session, utcnow())
    assert [chat for chat, _ in sends] == [5, 8, 9]
    async with outbox_db.transaction() as session:
        again = await rate_history.take_recent_sends(session, utcnow())
    assert [chat for chat, _ in again] == [8, 9]
