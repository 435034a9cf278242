"""Joins decided in batches (`join_many`, `models.decisions`) give exactly what one `join` each gives.

On a real database (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import challenges as ch
from models.base import utcnow
from models.challenges import TeamOutcome
from models.db import Database
from models.decisions import DecisionBatcher, Grouped
from schedule.config import TeamPicking
from tests.support.harness import bundled_event
from tests.unit.challenges.test_domain import EVENT, add_people, counts, join, setup

CLOSED = bundled_event(
    team_picking=TeamPicking(opens_at=utcnow() + timedelta(days=1), closes_at=utcnow() + timedelta(days=2))
)


async def snapshot(db: Database, cid: str) -> tuple[list[int], list[int]]:
    """The members (sorted) and the waiting list (in order) of a challenge."""
    async with db.read() as session:
        members = sorted(m.participant_id for m in await ch.members_of(session, cid))
        return members, await ch.waitlist_of(session, cid)


async def test_join_many_gives_what_one_join_each_gives(db: Database) -> None:
    """A mixed run (new, waiting elsewhere, already in, in another team, twice) decided as one by one."""
    await setup(db)
    people = await add_people(db, 7)
    await join(db, people[0], "beta")  # in beta: joining gamma asks to switch
    await join(db, people[1], "gamma")
    await join(db, people[2], "gamma")  # gamma full
    await join(db, people[3], "gamma")  # waiting for gamma: joining beta ends that
    run = [
        (people[4], "beta"),  # the last place of beta
        (people[3], "beta"),  # beta full now: waits for beta instead of gamma
        (people[0], "gamma"),  # in beta: asked to switch
        (people[0], "beta"),  # already in
        (people[5], "beta"),  # waits, n°2
        (people[5], "beta"),  # already waiting
        (people[6], "nope"),  # unknown
    ]
    now = utcnow()
    async with db.transaction() as session:
        batched = await ch.join_many(session, [ch.JoinRequest(pid, cid, now, EVENT) for pid, cid in run])
    outcomes = [(r.outcome, r.position, r.previous) for r in batched]
    assert outcomes == [
        (TeamOutcome.JOINED, None, None),
        (TeamOutcome.WAITLISTED, 1, None),
        (TeamOutcome.NEEDS_SWITCH, None, "beta"),
        (TeamOutcome.ALREADY_MEMBER, None, None),
        (TeamOutcome.WAITLISTED, 2, None),
        (TeamOutcome.ALREADY_WAITING, 2, None),
        (TeamOutcome.UNKNOWN, None, None),
    ]
    assert await snapshot(db, "beta") == (sorted([people[0], people[4]]), [people[3], people[5]])
    assert await snapshot(db, "gamma") == (sorted(people[1:3]), [])
    beta = await counts(db, "beta")
    assert (beta.members, beta.waiting) == (2, 2)
    # Each result carries the card as that join left it, like `join` does.
    first, second = batched[0].card, batched[1].card
    assert first is not None and (first.counts.members, first.person.challenge_id) == (2, "beta")
    assert second is not None and (second.counts.waiting, second.person.position) == (1, 1)


async def test_join_many_refuses_while_picking_is_closed(db: Database) -> None:
    """Closed picking: every tap of the run refused, nothing written."""
    await setup(db)
    people = await add_people(db, 2)
    async with db.transaction() as session:
        batched = await ch.join_many(
            session, [ch.JoinRequest(pid, "alpha", utcnow(), CLOSED) for pid in people]
        )
    assert [r.outcome for r in batched] == [TeamOutcome.PICKING_NOT_YET] * 2
    assert (await counts(db, "alpha")).members == 0


async def test_batcher_decides_in_ticket_order_and_isolates_a_failure(db: Database) -> None:
    """Tickets asked out of order are decided in order, in one transaction; a failing one alone fails."""
    await setup(db)
    people = await add_people(db, 4)
    batcher = DecisionBatcher(db)
    for ticket in (1, 2, 3, 4):
        batcher.expect(ticket)

    def joining(pid: int) -> Grouped[ch.JoinRequest, ch.TeamChange]:
        return Grouped(ch.join_many, ch.JoinRequest(pid, "beta", utcnow(), EVENT))

    async def failing(_session: object) -> ch.TeamChange:
        raise RuntimeError("boom")

    asked = [
        asyncio.ensure_future(batcher.decide(4, joining(people[3]))),
        asyncio.ensure_future(batcher.decide(3, failing)),
        asyncio.ensure_future(batcher.decide(2, joining(people[1]))),
        asyncio.ensure_future(batcher.decide(1, joining(people[0]))),
    ]
    results = await asyncio.gather(*asked, return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    fourth, second, first = results[0], results[2], results[3]
    assert isinstance(first, ch.TeamChange) and first.outcome is TeamOutcome.JOINED
    assert isinstance(second, ch.TeamChange) and second.outcome is TeamOutcome.JOINED
    assert isinstance(fourth, ch.TeamChange) and fourth.outcome is TeamOutcome.WAITLISTED
    assert await snapshot(db, "beta") == (sorted(people[:2]), [people[3]])
    # One transaction for the four, then one again with a savepoint each once "boom" was raised.
    assert batcher.batches == 1
