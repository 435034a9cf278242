"""Team domain functions on a real database (SQLite, and PostgreSQL when configured).

Capacity is enforced by the database: the concurrency tests run each join in its own transaction,
all at once, like the bot does for people pressing "Join" together.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete, func, select

from models import challenges as ch
from models import registration
from models.base import utcnow
from models.challenges import ConfiguredChallenge, JoinOutcome, MoveOutcome, NoticeKind
from models.db import Database
from models.participant import Participant, ParticipantStatus
from tests.support.harness import bundled_event

CHALLENGES = [
    ConfiguredChallenge("alpha", 12, "Alpha"),
    ConfiguredChallenge("beta", 2, "Beta"),
    ConfiguredChallenge("gamma", 2, "Gamma"),
]


async def add_people(db: Database, count: int, *, role: str = "resident", start: int = 1000) -> list[int]:
    """Registered participants; returns their participant ids (telegram ids are start + index)."""
    now = utcnow()
    people = [
        Participant(
            telegram_id=start + index,
            display_name=f"P{index}",
            language="fr",
            role=role,
            consent_version="v1",
            consent_given_at=now,
            registered_at=now,
            status=ParticipantStatus.ACTIVE,
        )
        for index in range(count)
    ]
    async with db.transaction() as session:
        session.add_all(people)
        await session.flush()
        return [person.id for person in people]


async def setup(db: Database, configured: list[ConfiguredChallenge] = CHALLENGES) -> None:
    async with db.transaction() as session:
        await ch.sync_challenges(session, configured, utcnow())


async def join(db: Database, pid: int, cid: str) -> ch.JoinResult:
    async with db.transaction() as session:
        return await ch.join(session, pid, cid, utcnow())


async def counts(db: Database, cid: str) -> ch.ChallengeCounts:
    async with db.read() as session:
        found = await ch.counts_of(session, cid)
    assert found is not None
    return found


async def member_rows(db: Database, cid: str) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(ch.ChallengeMember)
                .where(ch.ChallengeMember.challenge_id == cid)
            )
            or 0
        )


async def notices(db: Database) -> list[ch.PendingNotice]:
    async with db.transaction() as session:
        return await ch.take_notices(session)


async def test_concurrent_joins_never_exceed_capacity(db: Database) -> None:
    """30 people join a 12-place challenge at once: 12 in, 18 waiting with distinct positions 1..18."""
    await setup(db)
    people = await add_people(db, 30)
    results = await asyncio.gather(*(join(db, pid, "alpha") for pid in people))
    joined = [r for r in results if r.outcome is JoinOutcome.JOINED]
    waiting = [r for r in results if r.outcome is JoinOutcome.WAITLISTED]
    assert len(joined) == 12 and len(waiting) == 18
    assert sorted(r.position for r in waiting if r.position is not None) == list(range(1, 19))
    state = await counts(db, "alpha")
    assert (state.members, state.capacity, state.waiting) == (12, 12, 18)
    assert await member_rows(db, "alpha") == 12

    # The waiting list is in arrival order: the positions handed out match the queue.
    by_position = {r.position: pid for pid, r in zip(people, results, strict=True) if r.position}
    async with db.read() as session:
        queue = await ch.waitlist_of(session, "alpha")
    assert queue == [by_position[n] for n in range(1, 19)]


async def test_leaving_promotes_the_first_waiting_person(db: Database) -> None:
    """A place freed by someone leaving goes to the head of the queue, who gets a notice."""
    await setup(db)
    a, b, c, d = await add_people(db, 4)
    for pid in (a, b, c, d):
        await join(db, pid, "beta")
    async with db.transaction() as session:
        assert await ch.leave(session, a, "beta", utcnow())
        assert not await ch.leave(session, a, "beta", utcnow())  # already gone
    async with db.read() as session:
        assert (await ch.status_of(session, c)).challenge_id == "beta"
        assert (await ch.status_of(session, d)).position == 1
    told = await notices(db)
    assert [(n.kind, n.challenge_id, n.telegram_id) for n in told] == [(NoticeKind.PROMOTED, "beta", 1002)]
    assert await notices(db) == []  # taken once
    assert (await counts(db, "beta")).members == 2


async def test_join_twice_and_waiting_twice(db: Database) -> None:
    """Pressing an old Join button again changes nothing."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    assert (await join(db, a, "beta")).outcome is JoinOutcome.JOINED
    assert (await join(db, a, "beta")).outcome is JoinOutcome.ALREADY_MEMBER
    await join(db, b, "beta")
    assert (await join(db, c, "beta")).outcome is JoinOutcome.WAITLISTED
    again = await join(db, c, "beta")
    assert (again.outcome, again.position) == (JoinOutcome.ALREADY_WAITING, 1)
    assert (await counts(db, "beta")).members == 2


async def test_joining_another_team_asks_to_switch(db: Database) -> None:
    """Someone in a team gets NEEDS_SWITCH; the confirmed switch moves them and frees their place."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    await join(db, a, "beta")
    await join(db, b, "beta")
    await join(db, c, "beta")  # waiting for beta
    result = await join(db, a, "gamma")
    assert (result.outcome, result.previous) == (JoinOutcome.NEEDS_SWITCH, "beta")
    async with db.transaction() as session:
        switched = await ch.switch(session, a, "beta", "gamma", utcnow())
    assert (switched.outcome, switched.previous) == (JoinOutcome.SWITCHED, "beta")
    async with db.read() as session:
        assert (await ch.status_of(session, a)).challenge_id == "gamma"
        assert (await ch.status_of(session, c)).challenge_id == "beta"  # promoted into a's place
    assert [(n.kind, n.telegram_id) for n in await notices(db)] == [(NoticeKind.PROMOTED, 1002)]


async def test_stale_switch_confirmation_is_refused(db: Database) -> None:
    """A "leave X and join Y" pressed after the person already left X does nothing."""
    await setup(db)
    (a,) = await add_people(db, 1)
    await join(db, a, "beta")
    async with db.transaction() as session:
        await ch.leave(session, a, "beta", utcnow())
        stale = await ch.switch(session, a, "beta", "gamma", utcnow())
    assert stale.outcome is JoinOutcome.STALE
    assert (await counts(db, "gamma")).members == 0


async def test_switch_to_a_full_team_waits_and_keeps_the_current_place(db: Database) -> None:
    """Switching to a full team queues the person; a freed place moves them, and their old team refills."""
    await setup(db)
    a, b, c, d = await add_people(db, 4)
    await join(db, a, "beta")
    await join(db, b, "beta")  # beta full
    await join(db, c, "gamma")
    await join(db, d, "gamma")  # gamma full
    e, f = await add_people(db, 2, start=2000)
    assert (await join(db, e, "gamma")).outcome is JoinOutcome.WAITLISTED  # e waits for gamma
    async with db.transaction() as session:
        queued = await ch.switch(session, a, "beta", "gamma", utcnow())
    assert (queued.outcome, queued.position, queued.previous) == (JoinOutcome.WAITLISTED, 2, "beta")
    assert (await join(db, f, "beta")).outcome is JoinOutcome.WAITLISTED  # f waits for beta
    async with db.transaction() as session:
        await ch.leave(session, c, "gamma", utcnow())  # e (first) gets gamma
        await ch.leave(session, d, "gamma", utcnow())  # a gets gamma, freeing beta for f
    async with db.read() as session:
        assert (await ch.status_of(session, e)).challenge_id == "gamma"
        assert (await ch.status_of(session, a)).challenge_id == "gamma"
        assert (await ch.status_of(session, f)).challenge_id == "beta"
    told = await notices(db)
    assert [(n.telegram_id, n.challenge_id, n.previous_challenge_id) for n in told] == [
        (2000, "gamma", None),
        (1000, "gamma", "beta"),
        (2001, "beta", None),
    ]
    for cid in ("beta", "gamma"):
        assert (await counts(db, cid)).members == await member_rows(db, cid) == 2


async def test_organiser_move_respects_capacity_and_tells_the_person(db: Database) -> None:
    """Moving into a full team is refused; a move frees the old place for the first waiting person."""
    await setup(db)
    a, b, c, d = await add_people(db, 4)
    for pid in (a, b, c):
        await join(db, pid, "beta")  # c waits
    await join(db, d, "gamma")
    async with db.transaction() as session:
        assert (await ch.move(session, d, "beta", utcnow())) == (MoveOutcome.FULL, "gamma")
        assert (await ch.move(session, a, "beta", utcnow())) == (MoveOutcome.ALREADY_THERE, "beta")
        assert (await ch.move(session, a, "nope", utcnow()))[0] is MoveOutcome.UNKNOWN
        assert (await ch.move(session, a, "gamma", utcnow())) == (MoveOutcome.MOVED, "beta")
    told = {(n.telegram_id, n.kind) for n in await notices(db)}
    assert told == {(1000, NoticeKind.MOVED), (1002, NoticeKind.PROMOTED)}
    assert (await counts(db, "gamma")).members == 2


async def test_capacity_changes(db: Database) -> None:
    """Lowering keeps everyone (new joins wait); raising gives places to waiting people in order."""
    await setup(db)
    people = await add_people(db, 6)
    for pid in people[:5]:
        await join(db, pid, "alpha")
    async with db.transaction() as session:
        assert await ch.set_capacity(session, "alpha", 3, utcnow()) == 0
        assert await ch.set_capacity(session, "nope", 3, utcnow()) is None
    state = await counts(db, "alpha")
    assert (state.members, state.capacity, state.config_capacity) == (5, 3, 12)
    assert (await join(db, people[5], "alpha")).outcome is JoinOutcome.WAITLISTED
    async with db.transaction() as session:
        assert await ch.leave(session, people[0], "alpha", utcnow())  # 4 left, still over 3
    assert (await counts(db, "alpha")).members == 4
    async with db.transaction() as session:
        assert await ch.set_capacity(session, "alpha", 8, utcnow()) == 1
    assert (await counts(db, "alpha")).members == 5
    # A new file capacity does not undo the organisers' choice.
    await setup(db, [ConfiguredChallenge("alpha", 20, "Alpha"), *CHALLENGES[1:]])
    state = await counts(db, "alpha")
    assert (state.capacity, state.config_capacity) == (8, 20)


async def test_forget_frees_the_place(db: Database) -> None:
    """/forget removes the person from their team; the first waiting person gets the place."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    for pid in (a, b, c):
        await join(db, pid, "beta")
    async with db.transaction() as session:
        assert await registration.forget(session, 1000)
    async with db.read() as session:
        assert (await ch.status_of(session, c)).challenge_id == "beta"
    assert (await counts(db, "beta")).members == await member_rows(db, "beta") == 2
    assert [n.telegram_id for n in await notices(db)] == [1002]


async def test_forget_while_waiting(db: Database) -> None:
    """Someone waiting who erases their data leaves the queue; the next one moves up."""
    await setup(db)
    a, b, c, d = await add_people(db, 4)
    for pid in (a, b, c, d):
        await join(db, pid, "beta")
    async with db.transaction() as session:
        await registration.forget(session, 1002)
    async with db.read() as session:
        assert (await ch.status_of(session, d)).position == 1
    assert (await counts(db, "beta")).members == 2


async def test_removed_challenge_empties_its_team_and_tells_everyone(db: Database) -> None:
    """A challenge dropped from the file: members and waiting people are told; joining it is refused."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    for pid in (a, b, c):
        await join(db, pid, "beta")
    await setup(db, [CHALLENGES[0], CHALLENGES[2]])
    told = {(n.telegram_id, n.kind) for n in await notices(db)}
    assert told == {
        (1000, NoticeKind.REMOVED),
        (1001, NoticeKind.REMOVED),
        (1002, NoticeKind.REMOVED_WAITLIST),
    }
    state = await counts(db, "beta")
    assert state.removed and state.members == 0 and state.waiting == 0
    assert (await join(db, a, "beta")).outcome is JoinOutcome.UNKNOWN
    assert (await join(db, a, "nope")).outcome is JoinOutcome.UNKNOWN
    assert (await join(db, a, "gamma")).outcome is JoinOutcome.JOINED
    await setup(db)  # back in the file: usable again
    assert (await join(db, b, "beta")).outcome is JoinOutcome.JOINED
    async with db.read() as session:
        title = await session.scalar(
            select(ch.ChallengeState.title).where(ch.ChallengeState.challenge_id == "beta")
        )
    assert title == "Beta"


async def test_sync_recounts_after_a_cascade(db: Database) -> None:
    """A participant deleted without /forget (cascade) is recounted at the next sync; the place refills."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    for pid in (a, b, c):
        await join(db, pid, "beta")
    async with db.transaction() as session:
        await session.execute(delete(Participant).where(Participant.id == a))
    assert (await counts(db, "beta")).members == 2  # the counter drifted
    await setup(db)
    async with db.read() as session:
        assert (await ch.status_of(session, c)).challenge_id == "beta"
    assert (await counts(db, "beta")).members == await member_rows(db, "beta") == 2


async def test_picking_override_and_roster_queries(db: Database) -> None:
    """The override is stored; rosters, breakdowns, mydata and searches read what was joined."""
    await setup(db)
    residents = await add_people(db, 2)
    students = await add_people(db, 2, role="student", start=3000)
    for pid in residents + students:
        await join(db, pid, "alpha")
    window = (utcnow() + timedelta(hours=1), utcnow() + timedelta(hours=2))
    async with db.transaction() as session:
        assert not (await ch.current_picking_status(session, window, utcnow())).is_open
        await ch.set_picking_override(session, ch.PickingOverride.OPEN, utcnow())
    async with db.read() as session:
        assert (await ch.current_picking_status(session, window, utcnow())).is_open
        team = await ch.members_of(session, "alpha")
        assert [m.display_name for m in team] == ["P0", "P1", "P0", "P1"]
        breakdown = await ch.role_breakdown(session)
        assert breakdown["alpha"] == {"resident": 2, "student": 2}
        assert await ch.teamless_count(session) == 0
        assert await ch.challenge_of(session, 3001) == "alpha"
        assert await ch.challenge_of(session, 9999) is None
        assert [p.telegram_id for p in await ch.find_participants(session, "3000")] == [3000]
        assert len(await ch.find_participants(session, "p1")) == 2
        assert await ch.find_participants(session, "%") == []
        participant = await registration.get_participant(session, 1000)
        assert participant is not None
        # "alpha" is not in the event file: the title last seen in it is shown.
        items = await ch.personal_data(session, participant, bundled_event())
        assert [i.value for i in items if i.label_key == "challenges.label.challenge"] == ["Alpha"]
    async with db.transaction() as session:
        await ch.set_picking_override(session, None, utcnow())
        assert await ch.picking_override(session) is None
