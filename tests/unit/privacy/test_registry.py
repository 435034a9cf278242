"""What `/mydata` collects and `/forget` erases for people who are not registered participants.

Organisers and facilitators need not register: their data is keyed by their Telegram id and must
still be shown and erased (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import broadcasts as bc
from models import dashboard, outbox, registration
from models import questions as q
from models.base import utcnow
from models.db import Database
from models.outbox import OutgoingMessage
from models.privacy import ERASED_ID, Phrase, collect_personal_data
from tests.support.harness import bundled_event

ORGANISER = 777


async def test_a_stranger_has_nothing_and_forget_says_so(db: Database) -> None:
    """Nobody known by that id: nothing collected, nothing erased."""
    async with db.transaction() as session:
        assert await collect_personal_data(session, 4242, None, bundled_event()) == []
        assert not await registration.forget(session, 4242)


async def test_an_organisers_draft_and_sessions_are_shown_then_erased(db: Database) -> None:
    """A draft and a dashboard session make an unregistered organiser's /mydata; /forget erases both."""
    now = utcnow()
    async with db.transaction() as session:
        draft = await bc.start_draft(session, ORGANISER, "fr", now)
        bc.set_content(draft, bc.Content(bc.ContentKind.PHOTO, None, "file-1"), now)
        await dashboard.open_session(session, ORGANISER, now)
    async with db.read() as session:
        blocks = await collect_personal_data(session, ORGANISER, None, bundled_event())
    labels = [item.label_key for block in blocks for item in block]
    assert labels == ["broadcasts.label.draft", "dashboard.label.session"]
    draft_value = blocks[0][0].value
    assert draft_value == Phrase(
        "broadcasts.mydata_draft_no_text", {"kind": Phrase("broadcasts.mydata_kind.photo")}
    )

    async with db.transaction() as session:
        assert await registration.forget(session, ORGANISER)
    async with db.transaction() as session:
        assert await collect_personal_data(session, ORGANISER, None, bundled_event()) == []
        assert not await registration.forget(session, ORGANISER)


async def test_a_staff_pause_outlives_the_organiser_who_decided_it(db: Database) -> None:
    """The participant stays paused; who decided it is no longer stored."""
    now = utcnow()
    async with db.transaction() as session:
        person = await registration.give_consent(
            session, telegram_id=1, first_name="Amina", language="fr", consent_version="v1", now=now
        )
        await q.mute(session, person.id, until=now + timedelta(hours=1), muted_by=ORGANISER, now=now)
    async with db.read() as session:
        blocks = await collect_personal_data(session, ORGANISER, None, bundled_event())
    assert [(item.label_key, item.value) for block in blocks for item in block] == [
        ("questions.label.staff_mutes", 1)
    ]
    async with db.transaction() as session:
        assert await registration.forget(session, ORGANISER)
    async with db.read() as session:
        mute = await q.active_mute(session, person.id, now)
        assert mute is not None and mute.muted_by == ERASED_ID
        assert (await session.scalars(select(q.QuestionMute))).one().participant_id == person.id


async def test_messages_to_someone_are_counted_then_erased(db: Database) -> None:
    """The outbox rows to a person's chat are what the bot said to them: counted, then deleted."""
    async with db.transaction() as session:
        for index in range(2):
            await outbox.enqueue(
                session,
                chat_id=ORGANISER,
                method="sendMessage",
                payload={"text": "⚠️ avertissement"},
                dedupe_key=f"warn:{index}",
                purpose="test",
            )
        await outbox.enqueue(
            session,
            chat_id=-100,
            method="sendMessage",
            payload={"text": "x"},
            dedupe_key="group",
            purpose="test",
        )
    async with db.read() as session:
        blocks = await collect_personal_data(session, ORGANISER, None, bundled_event())
    assert [(item.label_key, item.value) for block in blocks for item in block] == [
        ("privacy.label.messages", 2)
    ]
    async with db.transaction() as session:
        assert await registration.forget(session, ORGANISER)
    async with db.read() as session:
        assert [row.chat_id for row in await session.scalars(select(OutgoingMessage))] == [-100]
