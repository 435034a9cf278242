"""Team domain functions on a real database (SQLite, and PostgreSQL when configured).

Capacity is enforced by the database: the concurrency tests run each join in its own transaction,
all at once, like the bot does for people pressing "Join" together.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from models import challenges as ch
from models import registration
from models.base import utcnow
from models.challenges import ConfiguredChallenge, MoveOutcome, NoticeKind, TeamOutcome
from models.db import Database
from models.outbox import OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.privacy import ErasureContext
from schedule.config import TeamPicking
from tests.support.harness import bundled_event

NOW = utcnow()
# The bundled event without these challenges (titles come from the database) and picking open.
EVENT = bundled_event(
    team_picking=TeamPicking(opens_at=NOW - timedelta(hours=1), closes_at=NOW + timedelta(days=1))
)


class KeyTexts:
    """Satisfies `outbox.Texts`: writes the key and its parameters, so tests read what was meant."""

    def text(self, lang: str, key: str, /, **params: object) -> str:
        """The key and the parameters, as JSON."""
        return json.dumps({"key": key, **params}, sort_keys=True, default=str)

    def label(self, lang: str, key: str, /, **params: object) -> str:
        """The key."""
        return key


TEXTS = KeyTexts()
WORDING = {"event": EVENT, "texts": TEXTS}

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


async def setup(db: Database, configured: list[ConfiguredChallenge] = CHALLENGES) -> int:
    async with db.transaction() as session:
        return await ch.sync_challenges(session, configured, utcnow(), **WORDING)


async def join(db: Database, pid: int, cid: str) -> ch.TeamChange:
    async with db.transaction() as session:
        return await ch.join(session, pid, cid, utcnow(), event=EVENT)


async def leave(db: Database, pid: int, cid: str) -> ch.TeamChange:
    async with db.transaction() as session:
        return await ch.leave(session, pid, cid, utcnow(), **WORDING)


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


@dataclass(frozen=True)
class Told:
    """A message queued for someone whose team changed without them, as `KeyTexts` wrote it."""

    telegram_id: int
    kind: NoticeKind
    challenge_id: str  # the title: the database's, as these challenges are not in the event file
    previous_challenge_id: str | None
    button: str


async def notices(db: Database) -> list[Told]:
    """The messages queued since the last call, oldest first (they are removed once read)."""
    async with db.transaction() as session:
        rows = list(
            await session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.purpose == ch.NOTICE_PURPOSE)
                .order_by(OutgoingMessage.id)
            )
        )
        await session.execute(delete(OutgoingMessage).where(OutgoingMessage.purpose == ch.NOTICE_PURPOSE))
    told = []
    for row in rows:
        assert row.priority == 1 and row.method == "sendMessage"
        words = json.loads(row.payload["text"])
        kind = NoticeKind(words["key"].removeprefix("challenges.notice_").removesuffix("_from"))
        (button,) = row.payload["reply_markup"]["inline_keyboard"][0]
        told.append(
            Told(
                row.chat_id,
                kind,
                words["title"].lower(),
                words.get("previous", "").lower() or None,
                button["callback_data"],
            )
        )
    return told


async def test_concurrent_joins_never_exceed_capacity(db: Database) -> None:
    """30 people join a 12-place challenge at once: 12 in, 18 waiting with distinct positions 1..18."""
    await setup(db)
    people = await add_people(db, 30)
    results = await asyncio.gather(*(join(db, pid, "alpha") for pid in people))
    joined = [r for r in results if r.outcome is TeamOutcome.JOINED]
    waiting = [r for r in results if r.outcome is TeamOutcome.WAITLISTED]
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
        left = await ch.leave(session, a, "beta", utcnow(), **WORDING)
        assert (left.outcome, left.notified) == (TeamOutcome.LEFT, 1)
        again = await ch.leave(session, a, "beta", utcnow(), **WORDING)
        assert again.outcome is TeamOutcome.STALE  # already gone
    async with db.read() as session:
        assert (await ch.status_of(session, c)).challenge_id == "beta"
        assert (await ch.status_of(session, d)).position == 1
    told = await notices(db)
    assert [(n.kind, n.challenge_id, n.telegram_id) for n in told] == [(NoticeKind.PROMOTED, "beta", 1002)]
    assert await notices(db) == []  # told once
    assert (await counts(db, "beta")).members == 2


async def test_join_twice_and_waiting_twice(db: Database) -> None:
    """Pressing an old Join button again changes nothing."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    assert (await join(db, a, "beta")).outcome is TeamOutcome.JOINED
    assert (await join(db, a, "beta")).outcome is TeamOutcome.ALREADY_MEMBER
    await join(db, b, "beta")
    assert (await join(db, c, "beta")).outcome is TeamOutcome.WAITLISTED
    again = await join(db, c, "beta")
    assert (again.outcome, again.position) == (TeamOutcome.ALREADY_WAITING, 1)
    assert (await counts(db, "beta")).members == 2


async def test_joining_another_team_asks_to_switch(db: Database) -> None:
    """Someone in a team gets NEEDS_SWITCH; the confirmed switch moves them and frees their place."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    await join(db, a, "beta")
    await join(db, b, "beta")
    await join(db, c, "beta")  # waiting for beta
    result = await join(db, a, "gamma")
    assert (result.outcome, result.previous) == (TeamOutcome.NEEDS_SWITCH, "beta")
    async with db.transaction() as session:
        switched = await ch.switch(session, a, "beta", "gamma", utcnow(), **WORDING)
    assert (switched.outcome, switched.previous) == (TeamOutcome.SWITCHED, "beta")
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
        await ch.leave(session, a, "beta", utcnow(), **WORDING)
        stale = await ch.switch(session, a, "beta", "gamma", utcnow(), **WORDING)
    assert stale.outcome is TeamOutcome.STALE
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
    assert (await join(db, e, "gamma")).outcome is TeamOutcome.WAITLISTED  # e waits for gamma
    async with db.transaction() as session:
        queued = await ch.switch(session, a, "beta", "gamma", utcnow(), **WORDING)
    assert (queued.outcome, queued.position, queued.previous) == (TeamOutcome.WAITLISTED, 2, "beta")
    assert (await join(db, f, "beta")).outcome is TeamOutcome.WAITLISTED  # f waits for beta
    async with db.transaction() as session:
        await ch.leave(session, c, "gamma", utcnow(), **WORDING)  # e (first) gets gamma
        await ch.leave(session, d, "gamma", utcnow(), **WORDING)  # a gets gamma, freeing beta for f
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
        moved = [
            await ch.move(session, pid, cid, utcnow(), **WORDING)
            for pid, cid in ((d, "beta"), (a, "beta"), (a, "nope"), (a, "gamma"))
        ]
    assert [(m.outcome, m.previous) for m in moved] == [
        (MoveOutcome.FULL, "gamma"),
        (MoveOutcome.ALREADY_THERE, "beta"),
        (MoveOutcome.UNKNOWN, None),
        (MoveOutcome.MOVED, "beta"),
    ]
    assert moved[0].counts is not None and moved[0].counts.members == 2  # beta, full
    assert moved[3].notified == 2
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
        lowered = await ch.set_capacity(session, "alpha", 3, utcnow(), **WORDING)
        assert lowered is not None and lowered.promoted == 0 and lowered.counts.members == 5
        assert await ch.set_capacity(session, "nope", 3, utcnow(), **WORDING) is None
    state = await counts(db, "alpha")
    assert (state.members, state.capacity, state.config_capacity) == (5, 3, 12)
    assert (await join(db, people[5], "alpha")).outcome is TeamOutcome.WAITLISTED
    async with db.transaction() as session:
        left = await ch.leave(session, people[0], "alpha", utcnow(), **WORDING)  # 4 left, still over 3
        assert (left.outcome, left.notified) == (TeamOutcome.LEFT, 0)
    assert (await counts(db, "alpha")).members == 4
    async with db.transaction() as session:
        raised = await ch.set_capacity(session, "alpha", 8, utcnow(), **WORDING)
        assert raised is not None and (raised.promoted, raised.notified, raised.counts.members) == (1, 1, 5)
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
        assert await registration.forget(session, 1000, ErasureContext(EVENT, TEXTS, utcnow()))
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
    assert (await join(db, a, "beta")).outcome is TeamOutcome.UNKNOWN
    assert (await join(db, a, "nope")).outcome is TeamOutcome.UNKNOWN
    assert (await join(db, a, "gamma")).outcome is TeamOutcome.JOINED
    await setup(db)  # back in the file: usable again
    assert (await join(db, b, "beta")).outcome is TeamOutcome.JOINED
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


async def test_join_returns_the_card_to_show(db: Database) -> None:
    """The tap's result carries the challenge's counts, the person's status and the picking status."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    joined = await join(db, a, "beta")
    assert joined.card is not None
    assert (joined.card.counts.members, joined.card.person.challenge_id, joined.card.picking.is_open) == (
        1,
        "beta",
        True,
    )
    await join(db, b, "beta")
    waiting = await join(db, c, "beta")
    assert waiting.card is not None
    assert (waiting.card.counts.waiting, waiting.card.person.waiting_for, waiting.card.person.position) == (
        1,
        "beta",
        1,
    )


@pytest.mark.parametrize(
    ("opens", "closes", "override", "refused"),
    [
        (timedelta(hours=1), timedelta(days=1), None, TeamOutcome.PICKING_NOT_YET),
        (-timedelta(days=1), -timedelta(hours=1), None, TeamOutcome.PICKING_OVER),
        (-timedelta(hours=1), timedelta(days=1), ch.PickingOverride.CLOSED, TeamOutcome.PICKING_CLOSED),
    ],
)
async def test_the_picking_window_is_enforced_by_the_domain(
    db: Database,
    opens: timedelta,
    closes: timedelta,
    override: ch.PickingOverride | None,
    refused: TeamOutcome,
) -> None:
    """Joining, switching and leaving are refused outside the window or when organisers closed picking."""
    await setup(db)
    a, b = await add_people(db, 2)
    await join(db, a, "beta")
    now = utcnow()
    event = bundled_event(team_picking=TeamPicking(opens_at=now + opens, closes_at=now + closes))
    async with db.transaction() as session:
        await ch.set_picking_override(session, override, now)
        results = [
            await ch.join(session, b, "beta", now, event=event),
            await ch.switch(session, a, "beta", "gamma", now, event=event, texts=TEXTS),
            await ch.leave(session, a, "beta", now, event=event, texts=TEXTS),
        ]
    assert [r.outcome for r in results] == [refused] * 3
    assert all(r.card is not None and r.picking is not None and not r.picking.is_open for r in results)
    assert (await counts(db, "beta")).members == 1 and (await counts(db, "gamma")).members == 0
    async with db.transaction() as session:
        await ch.set_picking_override(session, ch.PickingOverride.OPEN, now)
        forced = await ch.join(session, b, "beta", now, event=event)
    assert forced.outcome is TeamOutcome.JOINED  # the organisers' override wins over the window


async def test_changes_may_be_forbidden_by_the_event(db: Database) -> None:
    """With `allow_changes: false`, someone in a team can neither switch nor leave; joining still works."""
    await setup(db)
    a, b = await add_people(db, 2)
    event = EVENT.model_copy(
        update={"team_picking": EVENT.team_picking.model_copy(update={"allow_changes": False})}
    )
    async with db.transaction() as session:
        now = utcnow()
        assert (await ch.join(session, a, "beta", now, event=event)).outcome is TeamOutcome.JOINED
        asked = await ch.join(session, a, "gamma", now, event=event)
        switched = await ch.switch(session, a, "beta", "gamma", now, event=event, texts=TEXTS)
        left = await ch.leave(session, a, "beta", now, event=event, texts=TEXTS)
        assert (await ch.join(session, b, "gamma", now, event=event)).outcome is TeamOutcome.JOINED
    assert (asked.outcome, asked.previous) == (TeamOutcome.CHANGES_NOT_ALLOWED, "beta")
    assert switched.outcome is left.outcome is TeamOutcome.CHANGES_NOT_ALLOWED
    async with db.read() as session:
        assert (await ch.status_of(session, a)).challenge_id == "beta"


async def test_stopping_to_wait(db: Database) -> None:
    """Leaving the waiting list moves the next person up; an old button is stale."""
    await setup(db)
    a, b, c, d = await add_people(db, 4)
    for pid in (a, b, c, d):
        await join(db, pid, "beta")
    async with db.transaction() as session:
        left = await ch.leave_waitlist(session, c, "beta", utcnow(), event=EVENT)
        again = await ch.leave_waitlist(session, c, "beta", utcnow(), event=EVENT)
    assert left.outcome is TeamOutcome.LEFT_WAITLIST and again.outcome is TeamOutcome.STALE
    assert left.card is not None and left.card.counts.waiting == 1 and left.card.person.waiting_for is None
    async with db.read() as session:
        assert (await ch.status_of(session, d)).position == 1


async def test_notices_name_the_team_or_the_list(db: Database) -> None:
    """A promoted person gets a button to their team; someone whose challenge went, to the list."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    for pid in (a, b, c):
        await join(db, pid, "beta")
    await leave(db, a, "beta")
    (promoted,) = await notices(db)
    assert (promoted.kind, promoted.button) == (NoticeKind.PROMOTED, ch.TEAM_BUTTON)
    await setup(db, [CHALLENGES[0], CHALLENGES[2]])
    assert {n.button for n in await notices(db)} == {ch.LIST_BUTTON}


async def test_a_change_that_must_tell_someone_needs_the_wording(db: Database) -> None:
    """Without the event and the catalog a promotion is refused (rolled back), never left untold."""
    await setup(db)
    a, b, c = await add_people(db, 3)
    for pid in (a, b, c):
        await join(db, pid, "beta")
    with pytest.raises(ValueError, match="must tell someone"):
        async with db.transaction() as session:
            await registration.forget(session, 1000)
    async with db.read() as session:
        assert (await ch.status_of(session, a)).challenge_id == "beta"
        assert (await ch.status_of(session, c)).position == 1
    assert await notices(db) == []
