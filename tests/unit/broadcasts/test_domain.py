"""Announcement domain functions on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import broadcasts as bc
from models.base import utcnow
from models.challenges import ChallengeMember, ChallengeState
from models.db import Database
from models.meals import MealAnswer
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus

TEXT = bc.Content(bc.ContentKind.TEXT, "<b>Le bus</b> est là")


async def add_people(db: Database, roles: list[str | None], *, start: int = 5000) -> list[int]:
    """Participants (None: still registering); returns their participant ids."""
    now = utcnow()
    people = [
        Participant(
            telegram_id=start + index,
            display_name=f"P{index}",
            language="fr",
            role=role,
            consent_version="v1",
            consent_given_at=now,
            registered_at=now if role else None,
            status=ParticipantStatus.ACTIVE if role else ParticipantStatus.REGISTERING,
        )
        for index, role in enumerate(roles)
    ]
    async with db.transaction() as session:
        session.add_all(people)
        await session.flush()
        return [p.id for p in people]


async def draft_for(
    db: Database, audience: bc.Audience, content: bc.Content = TEXT, organiser: int = 1
) -> bc.BroadcastDraft:
    now = utcnow()
    async with db.transaction() as session:
        draft = await bc.start_draft(session, organiser, "fr", now)
        bc.set_content(draft, content, now)
        bc.set_audience(draft, audience, now)
    return draft


async def confirm(db: Database, audience: bc.Audience, content: bc.Content = TEXT) -> bc.Broadcast:
    await draft_for(db, audience, content)
    async with db.transaction() as session:
        draft = await bc.get_draft(session, 1)
        assert draft is not None
        return await bc.confirm_draft(
            session, draft, progress_chat_id=1, progress_message_id=10, now=utcnow()
        )


async def rows(db: Database, purpose: str = bc.PURPOSE_SEND) -> list[OutgoingMessage]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.purpose == purpose).order_by(OutgoingMessage.id)
            )
        )


async def mark(db: Database, states: dict[int, OutboxState]) -> None:
    """Pretend the sender delivered rows (by chat id): state, and a message id when sent."""
    async with db.transaction() as session:
        for chat_id, state in states.items():
            await session.execute(
                update(OutgoingMessage)
                .where(OutgoingMessage.chat_id == chat_id, OutgoingMessage.purpose == bc.PURPOSE_SEND)
                .values(state=state, sent_message_id=chat_id * 10 if state is OutboxState.SENT else None)
            )


async def test_audiences_hold_exactly_the_right_people(db: Database) -> None:
    """Everyone active; one team; one role; people who said yes to one meal. Counts agree."""
    ids = await add_people(db, ["resident", "resident", "student", "staff", None])
    async with db.transaction() as session:
        session.add_all([ChallengeState(challenge_id=c, config_capacity=10) for c in ("alpha", "beta")])
        await session.flush()
        session.add_all(
            [
                ChallengeMember(participant_id=ids[0], challenge_id="alpha"),
                ChallengeMember(participant_id=ids[2], challenge_id="alpha"),
                ChallengeMember(participant_id=ids[3], challenge_id="beta"),
                ChallengeMember(participant_id=ids[4], challenge_id="beta"),  # still registering
                MealAnswer(participant_id=ids[1], meal_id="lunch", attending=True),
                MealAnswer(participant_id=ids[2], meal_id="lunch", attending=False),
                MealAnswer(participant_id=ids[3], meal_id="dinner", attending=True),
            ]
        )
    expected = {
        bc.Audience(bc.AudienceKind.ALL): [5000, 5001, 5002, 5003],
        bc.Audience(bc.AudienceKind.CHALLENGE, "alpha"): [5000, 5002],
        bc.Audience(bc.AudienceKind.CHALLENGE, "beta"): [5003],
        bc.Audience(bc.AudienceKind.ROLE, "resident"): [5000, 5001],
        bc.Audience(bc.AudienceKind.ROLE, "partner"): [],
        bc.Audience(bc.AudienceKind.MEAL, "lunch"): [5001],
        bc.Audience(bc.AudienceKind.MEAL, "dinner"): [5003],
    }
    async with db.read() as session:
        counts = await bc.audience_counts(session)
        for audience, chats in expected.items():
            assert await bc.recipients(session, audience) == chats, audience
            assert counts.of(audience) == len(chats), audience


async def test_confirming_queues_one_row_per_recipient_and_drops_the_draft(db: Database) -> None:
    """Rows carry the exact payload, a per-recipient key, the broadcast id, and spread due times."""
    await add_people(db, ["resident"] * 3)
    broadcast = await confirm(db, bc.Audience(bc.AudienceKind.ALL))
    queued = await rows(db)
    assert [r.chat_id for r in queued] == [5000, 5001, 5002]
    assert {r.dedupe_key for r in queued} == {f"bc:{broadcast.id}:{chat}" for chat in (5000, 5001, 5002)}
    assert all(r.method == "sendMessage" and r.payload == TEXT.send()[1] for r in queued)
    assert all(r.ref_id == broadcast.id for r in queued)
    assert broadcast.recipients == 3 and broadcast.status is bc.BroadcastStatus.SENDING
    assert broadcast.summary == "Le bus est là"
    async with db.read() as session:
        assert await bc.get_draft(session, 1) is None


async def test_an_empty_audience_writes_nothing(db: Database) -> None:
    """Nobody in the audience at confirmation: EmptyAudienceError, no broadcast, no row."""
    await add_people(db, ["resident"])
    await draft_for(db, bc.Audience(bc.AudienceKind.ROLE, "student"))
    with pytest.raises(bc.EmptyAudienceError):
        async with db.transaction() as session:
            draft = await bc.get_draft(session, 1)
            assert draft is not None
            await bc.confirm_draft(session, draft, progress_chat_id=1, progress_message_id=1, now=utcnow())
    assert await rows(db) == []
    async with db.read() as session:
        assert await bc.history(session) == []


async def test_a_scheduled_broadcast_is_due_at_its_time(db: Database) -> None:
    """Scheduled: status "scheduled" and the first rows due at the chosen time, not before."""
    await add_people(db, ["resident"] * 2)
    now = utcnow()
    await draft_for(db, bc.Audience(bc.AudienceKind.ALL))
    at = now + timedelta(minutes=30)
    async with db.transaction() as session:
        draft = await bc.get_draft(session, 1)
        assert draft is not None
        bc.set_schedule(draft, at, now)
        broadcast = await bc.confirm_draft(session, draft, progress_chat_id=1, progress_message_id=1, now=now)
    assert broadcast.status is bc.BroadcastStatus.SCHEDULED and broadcast.scheduled_at == at
    assert {r.due_at for r in await rows(db)} == {at}
    async with db.transaction() as session:
        assert await bc.start_sending(session, broadcast.id)
        assert not await bc.start_sending(session, broadcast.id)


async def test_progress_and_finish_keep_the_figures(db: Database) -> None:
    """Counts by outcome (in doubt included); finishing records them once; who missed it, by reason."""
    await add_people(db, ["resident"] * 5)
    broadcast = await confirm(db, bc.Audience(bc.AudienceKind.ALL))
    await mark(db, {5000: OutboxState.SENT, 5001: OutboxState.BLOCKED, 5002: OutboxState.FAILED})
    async with db.transaction() as session:
        await session.execute(
            update(OutgoingMessage).where(OutgoingMessage.chat_id == 5000).values(in_doubt=True)
        )
    async with db.read() as session:
        figures = await bc.progress(session, bc.PURPOSE_SEND, broadcast.id)
    assert figures == bc.Progress(sent=1, blocked=1, failed=1, waiting=2, in_doubt=1)
    assert not figures.finished and figures.done == 3 and figures.total == 5

    async with db.transaction() as session:
        assert await bc.stop_broadcast(session, broadcast.id) == 2
    async with db.read() as session:
        figures = await bc.progress(session, bc.PURPOSE_SEND, broadcast.id)
        missed = await bc.missed(session, broadcast.id)
    assert figures.finished and figures.cancelled == 2 and figures.missed == 4
    assert [(m.chat_id, m.name, m.state) for m in missed] == [
        (5001, "P1", OutboxState.BLOCKED),
        (5002, "P2", OutboxState.FAILED),
        (5003, "P3", OutboxState.CANCELLED),
        (5004, "P4", OutboxState.CANCELLED),
    ]
    now = utcnow()
    async with db.transaction() as session:
        assert await bc.finish_broadcast(session, broadcast.id, figures, now)
        assert not await bc.finish_broadcast(session, broadcast.id, figures, now)
        stored = await bc.get_broadcast(session, broadcast.id)
    assert stored is not None and stored.status is bc.BroadcastStatus.STOPPED
    assert (stored.delivered, stored.blocked, stored.failed, stored.cancelled, stored.in_doubt) == (
        1,
        1,
        1,
        2,
        1,
    )


async def test_edit_and_delete_reach_every_delivered_copy_once(db: Database) -> None:
    """Only copies that arrived are edited or deleted; one change at a time; never while sending."""
    await add_people(db, ["resident"] * 3)
    broadcast = await confirm(db, bc.Audience(bc.AudienceKind.ALL))
    now = utcnow()
    async with db.transaction() as session:
        current = await bc.get_broadcast(session, broadcast.id)
        assert current is not None
        with pytest.raises(bc.NotChangeableError):  # still sending
            await bc.edit_everywhere(
                session, current, "x", language="fr", progress_chat_id=1, progress_message_id=2, now=now
            )
    await mark(db, {5000: OutboxState.SENT, 5001: OutboxState.SENT, 5002: OutboxState.BLOCKED})
    async with db.transaction() as session:
        figures = await bc.progress(session, bc.PURPOSE_SEND, broadcast.id)
        await bc.finish_broadcast(session, broadcast.id, figures, now)
    async with db.transaction() as session:
        current = await bc.get_broadcast(session, broadcast.id)
        assert current is not None
        edit = await bc.edit_everywhere(
            session,
            current,
            "<i>Corrigé</i>",
            language="fr",
            progress_chat_id=1,
            progress_message_id=2,
            now=now,
        )
        with pytest.raises(bc.NotChangeableError):  # the edit is still running
            await bc.delete_everywhere(
                session, current, language="fr", progress_chat_id=1, progress_message_id=3, now=now
            )
    edits = await rows(db, bc.PURPOSE_EDIT)
    assert [(r.chat_id, r.method, r.payload) for r in edits] == [
        (5000, "editMessageText", {"message_id": 50000, "text": "<i>Corrigé</i>", "parse_mode": "HTML"}),
        (5001, "editMessageText", {"message_id": 50010, "text": "<i>Corrigé</i>", "parse_mode": "HTML"}),
    ]
    assert edit.total == 2 and edit.revision == 1 and all(r.ref_id == edit.id for r in edits)
    async with db.transaction() as session:
        assert await bc.finish_operation(session, edit.id, bc.Progress(sent=2), now)
        current = await bc.get_broadcast(session, broadcast.id)
        assert current is not None and current.revision == 1 and current.summary == "Corrigé"
        deletion = await bc.delete_everywhere(
            session, current, language="fr", progress_chat_id=1, progress_message_id=3, now=now
        )
    deletions = await rows(db, bc.PURPOSE_DELETE)
    assert [(r.chat_id, r.payload) for r in deletions] == [
        (5000, {"message_id": 50000}),
        (5001, {"message_id": 50010}),
    ]
    assert deletion.total == 2
    async with db.transaction() as session:
        await bc.finish_operation(session, deletion.id, bc.Progress(sent=2), now)
        current = await bc.get_broadcast(session, broadcast.id)
        assert current is not None and current.deleted_at is not None
        with pytest.raises(bc.NotChangeableError):  # deleted: nothing left to change
            await bc.edit_everywhere(
                session, current, "y", language="fr", progress_chat_id=1, progress_message_id=4, now=now
            )


async def test_drafts_expire_and_are_purged(db: Database) -> None:
    """A new draft replaces the old one (new nonce); expired drafts are purged."""
    now = utcnow()
    async with db.transaction() as session:
        first = await bc.start_draft(session, 1, "fr", now)
        second = await bc.start_draft(session, 1, "fr", now)
        await bc.start_draft(session, 2, "en", now - bc.DRAFT_TTL - timedelta(seconds=1))
    assert first.nonce != second.nonce
    async with db.transaction() as session:
        stored = await bc.get_draft(session, 1)
        assert stored is not None and stored.nonce == second.nonce and not stored.expired(now)
        assert stored.expired(now + bc.DRAFT_TTL)
        assert await bc.purge_expired_drafts(session, now) == 1
    async with db.read() as session:
        assert await bc.get_draft(session, 2) is None
