"""Stored plan and recipients on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from models import challenges as ch
from models import meals, outbox
from models import programme as store
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.programme import BatchState, NotificationBatch
from schedule.config import EventConfig
from schedule.planner import BatchKind
from tests.unit.programme.events import Item, MealSpec, build_event

ITEMS = [
    Item("opening", 0, 3600, reminder=15),
    Item("workshop", 3600, 7200, kind="work", reminder=10),
    Item("team-test", 4000, 5000, kind="work", reminder=5, audience="reservation"),
    Item("lunch", 7200, 9000, kind="meal", reminder=5),
]
MEALS = [MealSpec("lunch-meal", item="lunch")]


def future_event(items: list[Item] = ITEMS, meals_: list[MealSpec] = MEALS, hours: float = 2) -> EventConfig:
    """The test programme, starting `hours` from now."""
    event = build_event(items, meals_)
    return event.shifted_to(utcnow() + dt.timedelta(hours=hours))


async def add_people(db: Database, count: int, start: int = 5000, **fields) -> list[Participant]:
    now = utcnow()
    people = [
        Participant(
            telegram_id=start + index,
            display_name=f"P{index}",
            language="fr" if index % 2 else "en",
            role="resident",
            consent_version="v1",
            consent_given_at=now,
            registered_at=now,
            status=ParticipantStatus.ACTIVE,
            **fields,
        )
        for index in range(count)
    ]
    async with db.transaction() as session:
        session.add_all(people)
        await session.flush()
    return people


async def sync(db: Database, event: EventConfig, announce: bool | None, now: dt.datetime | None = None):
    async with db.transaction() as session:
        return await store.sync_programme(session, event, now=now or utcnow(), announce_changes=announce)


async def batches(db: Database) -> dict[str, NotificationBatch]:
    async with db.read() as session:
        return {b.key: b for b in await session.scalars(select(NotificationBatch))}


async def test_first_start_plans_every_batch_once(db: Database) -> None:
    """Every reminder and meal announcement becomes one planned batch; planning again changes nothing."""
    event = future_event()
    first = await sync(db, event, None)
    assert first.planned == 5 and not first.announced and first.cancelled == 0
    stored = await batches(db)
    assert sorted(b.subject_id for b in stored.values()) == [
        "lunch",
        "lunch-meal",
        "opening",
        "team-test",
        "workshop",
    ]
    again = await sync(db, event, None)
    assert again.planned == 0 and not again.diff.changed and not again.announced
    assert await batches(db) == stored or set(await batches(db)) == set(stored)


async def test_moving_an_item_replans_it_and_announces_it_once(db: Database) -> None:
    """A reload moving the workshop cancels its old reminder, plans a new one and one change notice."""
    event = future_event()
    await sync(db, event, None)
    moved_items = [*ITEMS[:1], Item("workshop", 3900, 7200, kind="work", reminder=10), *ITEMS[2:]]
    moved = build_event(moved_items, MEALS).shifted_to(event.start)
    result = await sync(db, moved, True)
    assert result.announced == ["item:workshop"]
    assert result.cancelled == 1 and result.planned == 1
    stored = await batches(db)
    changes = [b for b in stored.values() if b.kind is BatchKind.CHANGE]
    assert len(changes) == 1 and changes[0].detail == {"time": True, "place": False, "revision": 1}
    reminders = [b for b in stored.values() if b.subject_id == "workshop" and b.kind is BatchKind.REMINDER]
    assert sorted(b.state for b in reminders) == [BatchState.CANCELLED, BatchState.PLANNED]
    again = await sync(db, moved, True)  # a second reload of the same file
    assert not again.announced
    assert len([b for b in (await batches(db)).values() if b.kind is BatchKind.CHANGE]) == 1


async def test_deleted_item_cancels_its_batches_and_queued_rows(db: Database) -> None:
    """An item removed after its reminder was fanned out: the batch and the queued rows are withdrawn."""
    event = future_event()
    await sync(db, event, None)
    stored = await batches(db)
    opening = next(b for b in stored.values() if b.subject_id == "opening")
    async with db.transaction() as session:
        row = await session.get(NotificationBatch, opening.id)
        assert row is not None
        store.finish_batch(row, BatchState.DONE, utcnow(), 1)
        await outbox.enqueue(
            session,
            chat_id=42,
            method="sendMessage",
            payload={"text": "x"},
            dedupe_key=store.dedupe_key(opening.key, 42),
            purpose=store.PURPOSE_REMINDER,
            due_at=utcnow() + dt.timedelta(hours=1),
        )
    without = build_event(ITEMS[1:], MEALS).shifted_to(event.programme[1].start)
    result = await sync(db, without, True)
    assert result.diff.removed == ["item:opening"]
    assert result.rows_cancelled == 1
    async with db.read() as session:
        states = list(await session.scalars(select(OutgoingMessage.state)))
    assert states == [OutboxState.CANCELLED]


async def test_start_after_a_rehearsal_moved_in_time_announces_nothing(db: Database) -> None:
    """A rehearsal started again at another moment moves everything: no change notice, batches replanned."""
    event = future_event()
    await sync(db, event, None)
    later = event.shifted_to(event.start + dt.timedelta(hours=5))
    result = await sync(db, later, None)
    assert result.diff.uniform_shift == dt.timedelta(hours=5)
    assert not result.announced and result.planned == 5 and result.cancelled == 5


async def test_missed_batches_are_skipped_past_their_expiry(db: Database) -> None:
    """At a start after the item ended, its planned batch is skipped, never sent late."""
    event = future_event(hours=0.5)
    await sync(db, event, None)
    much_later = utcnow() + dt.timedelta(hours=2)  # opening (0:30-1:30) is over, workshop is not
    result = await sync(db, event, None, now=much_later)
    stored = await batches(db)
    by_subject = {b.subject_id: b.state for b in stored.values()}
    assert by_subject["opening"] is BatchState.SKIPPED
    assert by_subject["workshop"] is BatchState.PLANNED
    assert result.skipped == 2  # opening, and team-test (ended at 1:23)


async def test_recipients_respect_opt_out_audience_and_meal_answers(db: Database) -> None:
    """Opted-out people get no reminder; team items go to the team; "not coming" skips the meal."""
    people = await add_people(db, 6)
    async with db.transaction() as session:
        await ch.sync_challenges(session, [ch.ConfiguredChallenge("reservation", 10, "R")], utcnow())
        await ch.join(session, people[0].id, "reservation", utcnow())
        await ch.join(session, people[1].id, "reservation", utcnow())
        opted = await session.get(Participant, people[1].id)
        assert opted is not None
        await store.set_reminders(session, opted, False)
        await meals.set_answer(session, people[2].id, "lunch-meal", False)
        await meals.set_answer(session, people[3].id, "lunch-meal", True)
        await meals.toggle_diet(session, people[3].id, "halal", {"halal", "vegetarian"})
    async with db.read() as session:
        everyone = await store.recipients(session)
        team = await store.recipients(session, audience="reservation")
        team_all = await store.recipients(session, audience="reservation", respect_opt_out=False)
        absent = await meals.not_attending(session, "lunch-meal")
        lunch = await store.recipients(session, exclude=absent, with_needs=True)
        assert await store.count_reachable(session) == 5
        assert await store.challenge_of(session, people[0].telegram_id) == "reservation"
    assert [r.participant_id for r in everyone] == [p.id for p in people if p.id != people[1].id]
    assert [r.participant_id for r in team] == [people[0].id]
    assert {r.participant_id for r in team_all} == {people[0].id, people[1].id}
    assert people[2].id not in {r.participant_id for r in lunch}
    assert next(r for r in lunch if r.participant_id == people[3].id).needs.diets == ("halal",)


async def test_opting_out_withdraws_queued_reminders_only(db: Database) -> None:
    """`/rappels off` cancels pending reminders and meal announcements, not change notices."""
    (person,) = await add_people(db, 1)
    due = utcnow() + dt.timedelta(minutes=5)
    async with db.transaction() as session:
        for purpose in (store.PURPOSE_REMINDER, store.PURPOSE_MEAL, store.PURPOSE_CHANGE):
            await outbox.enqueue(
                session,
                chat_id=person.telegram_id,
                method="sendMessage",
                payload={"text": purpose},
                dedupe_key=f"test:{purpose}",
                purpose=purpose,
                due_at=due,
            )
        row = await session.get(Participant, person.id)
        assert row is not None
        assert await store.set_reminders(session, row, False) == 2
    async with db.read() as session:
        result = await session.execute(select(OutgoingMessage.purpose, OutgoingMessage.state))
        states = {purpose: state for purpose, state in result}
    assert states == {
        store.PURPOSE_REMINDER: OutboxState.CANCELLED,
        store.PURPOSE_MEAL: OutboxState.CANCELLED,
        store.PURPOSE_CHANGE: OutboxState.PENDING,
    }


async def test_meal_report_counts_answers_diets_and_allergies(db: Database) -> None:
    """Per meal: coming, not coming, no answer; diets and allergies of those coming."""
    people = await add_people(db, 5)
    diets = {"vegetarian", "halal", "gluten-free"}
    async with db.transaction() as session:
        await meals.set_answer(session, people[0].id, "lunch-meal", True)
        await meals.set_answer(session, people[1].id, "lunch-meal", True)
        await meals.set_answer(session, people[2].id, "lunch-meal", False)
        await meals.set_answer(session, people[2].id, "lunch-meal", True)  # changed their mind
        await meals.set_answer(session, people[3].id, "lunch-meal", False)
        await meals.toggle_diet(session, people[0].id, "vegetarian", diets)
        await meals.toggle_diet(session, people[0].id, "gluten-free", diets)
        await meals.toggle_diet(session, people[1].id, "vegetarian", diets)
        await meals.toggle_diet(session, people[3].id, "halal", diets)  # not coming: not counted
        row = await session.get(Participant, people[1].id)
        assert row is not None
        await meals.set_allergy(session, row, "  arachides\n et noix ")
    async with db.read() as session:
        (report,) = await meals.meal_report(session, future_event())
    assert (report.attending, report.not_attending, report.no_answer) == (3, 1, 1)
    assert dict(report.diets) == {"vegetarian": 2, "gluten-free": 1}
    assert report.allergies == ["arachides et noix"]


async def test_diet_toggles_and_clearing(db: Database) -> None:
    """Toggling twice removes; unknown diets are refused; "none" clears the allergy too."""
    (person,) = await add_people(db, 1)
    allowed = {"vegetarian", "halal"}
    async with db.transaction() as session:
        assert (await meals.toggle_diet(session, person.id, "halal", allowed)).diets == ("halal",)
        assert (await meals.toggle_diet(session, person.id, "vegetarian", allowed)).diets == (
            "halal",
            "vegetarian",
        )
        assert (await meals.toggle_diet(session, person.id, "halal", allowed)).diets == ("vegetarian",)
        try:
            await meals.toggle_diet(session, person.id, "caviar", allowed)
        except ValueError:
            pass
        else:
            raise AssertionError("an unknown diet was accepted")
        row = await session.get(Participant, person.id)
        assert row is not None
        meals.ask_for_allergy(row)
        needs = await meals.set_allergy(session, row, "x" * 500)
        assert needs.allergy is not None and len(needs.allergy) == meals.ALLERGY_MAX
        assert row.awaiting is None
        assert not (await meals.clear_needs(session, person.id)).stated


async def test_forget_erases_meal_data_and_queued_notifications(db: Database) -> None:
    """/forget removes diets, answers and queued programme messages."""
    from models import registration

    (person,) = await add_people(db, 1)
    async with db.transaction() as session:
        await meals.toggle_diet(session, person.id, "halal", {"halal"})
        await meals.set_answer(session, person.id, "lunch-meal", True)
        await outbox.enqueue(
            session,
            chat_id=person.telegram_id,
            method="sendMessage",
            payload={"text": "x"},
            dedupe_key="prog:rem:x:1",
            purpose=store.PURPOSE_REMINDER,
            due_at=utcnow() + dt.timedelta(minutes=5),
        )
    async with db.transaction() as session:
        assert await registration.forget(session, person.telegram_id)
    async with db.read() as session:
        assert await session.scalar(select(meals.DietaryProfile)) is None
        assert await session.scalar(select(meals.MealAnswer)) is None
        # Nothing queued for them is left to send (the outbox's own erasure hook removes the rows).
        assert (
            await session.scalar(select(OutgoingMessage).where(OutgoingMessage.state == OutboxState.PENDING))
            is None
        )


async def test_a_reload_setting_a_grace_retimes_planned_batches_but_not_change_notices(db: Database) -> None:
    """`grace_minutes: 3` on reload: 2 minutes late stays planned, 10 minutes late is skipped."""
    now = utcnow()
    base = now + dt.timedelta(minutes=10)
    items = [Item("a", 0, 1800, reminder=12), Item("b", 1800, 3600, reminder=50)]  # due 2 and 10 min ago
    await sync(db, build_event(items).shifted_to(base), None, now=now - dt.timedelta(hours=1))
    moved_place = [Item("a", 0, 1800, reminder=12, place=("Salle B", "Room B")), items[1]]
    reloaded = build_event(moved_place, grace_minutes=3).shifted_to(base)
    result = await sync(db, reloaded, True, now=now)
    assert result.skipped == 1 and result.announced == ["item:a"]
    stored = {(b.kind, b.subject_id): b for b in (await batches(db)).values()}
    reminder_a = stored[(BatchKind.REMINDER, "a")]
    assert reminder_a.state is BatchState.PLANNED
    assert reminder_a.expires_at == reminder_a.due_at + dt.timedelta(minutes=3)
    assert stored[(BatchKind.REMINDER, "b")].state is BatchState.SKIPPED
    item_a = reloaded.item("a")
    assert item_a is not None
    change = stored[(BatchKind.CHANGE, "item:a")]
    assert (
        change.state is BatchState.PLANNED and change.expires_at == item_a.end
    )  # a correction: until the end
