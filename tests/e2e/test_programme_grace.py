"""`reminders.grace_minutes` through the simulator: how late a missed notification may still go out.

With a grace of 3 minutes, a reminder and a meal announcement missed by 2 minutes while the bot was
down are sent once at start, those missed by 4 minutes are skipped. With a grace of 0, nothing missed
is sent, but a reminder due a few seconds after start still reaches everyone (its rows, spread around
the due time, are not cut at the due time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from models.base import utcnow
from models.db import Database
from models.outbox import OutgoingMessage
from models.programme import BatchState, NotificationBatch
from simulator import Simulator
from tests.e2e.test_programme_support import Inbox, MovableClock, bot_with, registered_people, title_of
from tests.unit.programme.events import Item, MealSpec, build_event


def meal_named(meal_id: str) -> Callable[[str], bool]:
    """Matches the announcement of the meal `meal_id` (in French or English)."""
    return lambda text: f"Repas {meal_id}" in text or f"Meal {meal_id}" in text


async def batch_states(db: Database) -> dict[str, BatchState]:
    async with db.read() as session:
        return {b.subject_id: b.state for b in await session.scalars(select(NotificationBatch))}


async def test_missed_notifications_within_the_grace_are_sent_once_the_others_skipped(
    sim: Simulator, db: Database
) -> None:
    """Grace 3 minutes, the bot back now: 2 minutes late is sent once, 4 minutes late is skipped."""
    people = await registered_people(sim, db, 2)
    now = utcnow()
    # Offsets in seconds from now + 60 s (the first item).
    event = build_event(
        [
            Item("two-late", 0, 180, reminder=3),  # starts in 1 minute, reminder due 2 minutes ago
            Item("four-late", 180, 420, reminder=8),  # starts in 4 minutes, reminder due 4 minutes ago
        ],
        [
            MealSpec("soup", start=-180, end=120),  # served 2 minutes ago
            MealSpec("cake", start=-300, end=120),  # served 4 minutes ago
        ],
        grace_minutes=3,
    ).shifted_to(now + dt.timedelta(seconds=60))
    earlier = MovableClock()
    earlier.offset = -dt.timedelta(hours=1)
    async with bot_with(sim, db, event, clock=earlier):
        pass  # planned an hour before, then the bot was down
    assert set((await batch_states(db)).values()) == {BatchState.PLANNED}

    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event):
        await inbox.wait_for(title_of("two-late"), len(people), 10)
        await inbox.wait_for(meal_named("soup"), len(people), 10)
    expected = {person.id: 1 for person in people}
    assert inbox.count_by_chat(title_of("two-late")) == expected
    assert inbox.count_by_chat(meal_named("soup")) == expected
    assert not inbox.matching(title_of("four-late")) and not inbox.matching(meal_named("cake"))
    assert await batch_states(db) == {
        "two-late": BatchState.DONE,
        "soup": BatchState.DONE,
        "four-late": BatchState.SKIPPED,
        "cake": BatchState.SKIPPED,
    }


async def test_zero_grace_sends_nothing_late_and_everything_on_time(sim: Simulator, db: Database) -> None:
    """Grace 0: a reminder and a meal due 20 s before start are dropped; one due 10 s after it arrives."""
    people = await registered_people(sim, db, 3)
    now = utcnow()
    # Offsets in seconds from now + 40 s (the first item).
    event = build_event(
        [
            Item("late", 0, 20, reminder=1),  # reminder due 20 s ago
            Item("on-time", 30, 90, reminder=1),  # reminder due in 10 s (the bot is up well before)
        ],
        [MealSpec("soup", start=-60, end=30)],  # served 20 s ago
        grace_minutes=0,
    ).shifted_to(now + dt.timedelta(seconds=40))
    on_time = event.item("on-time")
    assert on_time is not None
    due = on_time.start - dt.timedelta(minutes=1)
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event):
        await inbox.wait_for(title_of("on-time"), len(people), (due - utcnow()).total_seconds() + 10)
    assert inbox.count_by_chat(title_of("on-time")) == {person.id: 1 for person in people}
    assert not inbox.matching(title_of("late")) and not inbox.matching(meal_named("soup"))
    async with db.read() as session:
        batches = {b.subject_id: b for b in await session.scalars(select(NotificationBatch))}
        rows = list(
            await session.scalars(select(OutgoingMessage).where(OutgoingMessage.purpose.like("prog.%")))
        )
    # Late ones are not even planned: they had expired when the bot started.
    assert {key: (b.state, b.recipients) for key, b in batches.items()} == {"on-time": (BatchState.DONE, 3)}
    assert len(rows) == len(people)
    # The batch expired at its due time, but its rows may be delivered a little after it.
    assert all(row.expires_at is not None and row.expires_at > due for row in rows)
