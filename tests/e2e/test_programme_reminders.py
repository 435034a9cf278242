"""Reminders and meal announcements on a rehearsed programme a few seconds from now, through the simulator.

Every concerned participant gets each notification exactly once, within 2 seconds of its due time
(the rows of a batch are released about half their sending time early, so deliveries are centred
on the due time: about -1.95 s to +1.6 s for 100 people at 27.5 messages a second); people who
opted out get none; a person who blocked the bot is recorded once, without retries; the team item
reaches the team only.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from models import challenges as ch
from models import meals
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant
from models.programme import PURPOSE_MEAL, PURPOSE_REMINDER, BatchState, NotificationBatch
from schedule.planner import BatchKind
from simulator import Simulator
from tests.e2e.test_programme_support import Inbox, MovableClock, bot_with, registered_people, title_of
from tests.unit.programme.events import Item, MealSpec, build_event

log = logging.getLogger(__name__)
ON_TIME = 2.0  # seconds, either side of the due time


def rehearsal(first_start: dt.datetime):
    """Opening at `first_start`; talk reminder due 8 s later, team reminder at 12 s, snack served at 16 s."""
    event = build_event(
        [
            Item("opening", 0, 68, reminder=0),
            Item("talk", 68, 100, reminder=1),
            Item("team-test", 72, 90, kind="work", reminder=1, audience="reservation"),
        ],
        [MealSpec("snack", start=16, end=40, diets=("vegetarian", "halal"))],
    )
    return event.shifted_to(first_start)


@pytest.mark.timing
async def test_each_notification_reaches_each_concerned_person_once_and_on_time(
    sim: Simulator, db: Database
) -> None:
    """100 concerned people, 10 opted out, 1 blocked, a team of 5, 3 not coming to the snack."""
    people = await registered_people(sim, db, 110, opted_out=10)
    concerned, opted_out = people[:100], people[100:]
    blocked = concerned[7]
    blocked.block_bot()
    team = concerned[:5]
    async with db.transaction() as session:
        await ch.sync_challenges(session, [ch.ConfiguredChallenge("reservation", 16, "R")], utcnow())
        ids = {
            p.telegram_id: p.id
            for p in await session.scalars(
                select(Participant).where(Participant.telegram_id.in_([u.id for u in people]))
            )
        }
        for user in team:
            await ch.join(session, ids[user.id], "reservation", utcnow())
        for user in concerned[10:13]:
            await meals.set_answer(session, ids[user.id], "snack", False)
        await meals.toggle_diet(session, ids[concerned[20].id], "halal", {"halal", "vegetarian"})
        await meals.toggle_diet(session, ids[concerned[21].id], "vegetarian", {"vegetarian"})
        await meals.toggle_diet(session, ids[concerned[21].id], "gluten-free", {"vegetarian", "gluten-free"})

    event = rehearsal(utcnow() + dt.timedelta(seconds=2))
    talk, team_item = event.item("talk"), event.item("team-test")
    snack = event.meal("snack")
    assert talk is not None and team_item is not None and snack is not None
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event):
        talk_due = talk.start - dt.timedelta(minutes=1)
        team_due = team_item.start - dt.timedelta(minutes=1)
        snack_due = event.meal_window(snack)[0]
        wait = (snack_due - utcnow()).total_seconds() + 8
        snack_arrivals = await inbox.wait_for(lambda t: "Repas snack" in t or "Meal snack" in t, 96, wait)
        talk_arrivals = inbox.matching(title_of("talk"))
        team_arrivals = inbox.matching(title_of("team-test"))

    concerned_ids = {u.id for u in concerned} - {blocked.id}
    # Exactly once, to exactly the concerned people.
    assert inbox.count_by_chat(title_of("talk")) == dict.fromkeys(concerned_ids, 1)
    assert inbox.count_by_chat(title_of("team-test")) == {u.id: 1 for u in team}
    not_coming = {u.id for u in concerned[10:13]}
    assert inbox.count_by_chat(lambda t: "Repas snack" in t or "Meal snack" in t) == dict.fromkeys(
        concerned_ids - not_coming, 1
    )
    assert not any(a.chat_id in {u.id for u in opted_out} for a in inbox.arrivals)
    # On time: within 2 seconds of the due time, either side.
    for arrivals, due in ((talk_arrivals, talk_due), (team_arrivals, team_due), (snack_arrivals, snack_due)):
        offsets = [(a.at - due).total_seconds() for a in arrivals]
        log.info("offsets %+.2f .. %+.2f s for %d message(s)", min(offsets), max(offsets), len(offsets))
        assert max(abs(o) for o in offsets) <= ON_TIME, (min(offsets), max(offsets))
    # Texts: the lead time, the place, the person's diet.
    french = next(a for a in talk_arrivals if a.chat_id == concerned[0].id)
    assert "Dans 1 minute" in french.text and "Grande salle" in french.text
    english = next(a for a in talk_arrivals if a.chat_id == concerned[1].id)
    assert "In 1 minute" in english.text and "Main hall" in english.text
    halal = next(a for a in snack_arrivals if a.chat_id == concerned[20].id)
    assert "Halal" in halal.text and "Espace café" in halal.text
    gluten = next(a for a in snack_arrivals if a.chat_id == concerned[21].id)
    assert "Gluten-free" in gluten.text or "Sans gluten" in gluten.text

    async with db.read() as session:
        blocked_rows = list(
            await session.scalars(select(OutgoingMessage).where(OutgoingMessage.chat_id == blocked.id))
        )
        batches = {b.subject_id: b for b in await session.scalars(select(NotificationBatch))}
        purposes = set(await session.scalars(select(OutgoingMessage.purpose)))
    assert {r.purpose for r in blocked_rows} == {PURPOSE_REMINDER, PURPOSE_MEAL}
    assert all(r.state is OutboxState.BLOCKED and r.attempts == 1 for r in blocked_rows)
    assert batches["talk"].state is BatchState.DONE and batches["talk"].recipients == 100
    assert batches["team-test"].recipients == 5
    assert batches["snack"].kind is BatchKind.MEAL and batches["snack"].recipients == 97
    assert {p for p in purposes if p.startswith("prog.")} == {PURPOSE_REMINDER, PURPOSE_MEAL}


async def test_missed_notifications_are_sent_at_start_if_still_useful(sim: Simulator, db: Database) -> None:
    """Down over a reminder's due time: sent at start if the item is not over, skipped if it is."""
    (person,) = await registered_people(sim, db, 1)
    now = utcnow()
    event = build_event(
        [
            Item("over", 0, 900, reminder=1),  # ended 5 minutes ago when the bot comes back
            Item("soon", 1230, 1800, reminder=1),  # starts in 30 s: its reminder was due 30 s ago
        ]
    ).shifted_to(now - dt.timedelta(minutes=20))
    earlier = MovableClock()
    earlier.offset = -dt.timedelta(hours=1)
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event, clock=earlier):
        pass  # planned an hour before, then the bot was down
    async with db.read() as session:
        states = {b.subject_id: b.state for b in await session.scalars(select(NotificationBatch))}
    assert states == {"over": BatchState.PLANNED, "soon": BatchState.PLANNED}
    async with bot_with(sim, db, event):
        (late,) = await inbox.wait_for(title_of("soon"), 1, 10)
    assert late.chat_id == person.id and ("Dans 1 minute" in late.text)
    assert not inbox.matching(title_of("over"))
    async with db.read() as session:
        states = {b.subject_id: b.state for b in await session.scalars(select(NotificationBatch))}
    assert states == {"over": BatchState.SKIPPED, "soon": BatchState.DONE}


async def test_clock_jumps_neither_lose_nor_rush_a_reminder(sim: Simulator, db: Database) -> None:
    """A wall clock going back holds the reminder; going forward releases it (the tick catches it)."""
    await registered_people(sim, db, 1)
    clock = MovableClock()
    event = build_event([Item("opening", 0, 60, reminder=0), Item("talk", 70, 120, reminder=1)]).shifted_to(
        utcnow() + dt.timedelta(seconds=-2)
    )
    # The talk reminder is due 8 s from now; its job fires 5 s before that.
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event, clock=clock):
        clock.offset = -dt.timedelta(minutes=2)  # the clock jumps back: the job must not rush
        try:
            await inbox.wait_for(title_of("talk"), 1, 10)
        except AssertionError:
            pass
        else:
            raise AssertionError("the reminder left although its time had not come on the bot's clock")
        clock.offset = dt.timedelta(seconds=70)  # and forward past the due time: sent without waiting
        (arrival,) = await inbox.wait_for(title_of("talk"), 1, 10)
    assert "C'est maintenant" in arrival.text or "Happening now" in arrival.text
