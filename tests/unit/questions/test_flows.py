"""The relay's units of work on a real database: each change and its messages are written together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.i18n import Catalog
from models import question_flows as flows
from models import registration
from models.db import Database
from models.outbox import OutgoingMessage
from models.questions import (
    PURPOSE_ASKER_NOTICE,
    PURPOSE_EDIT,
    PURPOSE_RELAY,
    ClaimOutcome,
    Content,
    ContentKind,
)
from tests.support.harness import bundled_event

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
STAFF = -1001000000001
EVENT = bundled_event(staff_chat_id=STAFF)
TEXTS = Catalog.load()


async def _asker(db: Database, telegram_id: int = 1001) -> int:
    async with db.transaction() as session:
        person = await registration.give_consent(
            session, telegram_id=telegram_id, first_name="Amina", language="fr", consent_version="1", now=NOW
        )
        registration.set_display_name(person, "Amina")
        registration.set_role(person, "resident", NOW)
        person.awaiting = flows.AWAITING
    return person.id


async def _ask(db: Database, text: str, *, limit: flows.RateLimit | None = None) -> flows.Relayed:
    async with db.transaction() as session:
        return await flows.ask(
            session,
            telegram_id=1001,
            content=Content(ContentKind.TEXT, text, 1001, 10),
            challenge_id=None,
            anonymous=False,
            thread_id=None,
            now=NOW,
            limit=limit or flows.RateLimit(),
            event=EVENT,
            texts=TEXTS,
        )


async def _rows(db: Database, purpose: str) -> list[OutgoingMessage]:
    async with db.read() as session:
        return list(await session.scalars(select(OutgoingMessage).where(OutgoingMessage.purpose == purpose)))


async def test_a_question_is_recorded_and_its_relay_queued_together(db: Database) -> None:
    """The ticket, the end of the prompt and the staff group's message: one transaction."""
    await _asker(db)
    relayed = await _ask(db, "Où est la salle <3> ?")
    assert relayed.refused is None and relayed.ticket_id > 0
    (row,) = await _rows(db, PURPOSE_RELAY)
    assert row.chat_id == STAFF and row.ref_id == relayed.ticket_id
    assert (
        "Où est la salle &lt;3&gt; ?" in row.payload["text"] and "Amina (Habitant·e)" in row.payload["text"]
    )
    buttons = [b["callback_data"] for b in row.payload["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [f"q:claim:{relayed.ticket_id}", f"q:done:{relayed.ticket_id}"]
    async with db.read() as session:
        person = await registration.get_participant(session, 1001)
    assert person is not None and person.awaiting is None


async def test_over_the_rate_limit_nothing_is_written(db: Database) -> None:
    """The message past the limit is refused: no ticket, no row."""
    await _asker(db)
    limit = flows.RateLimit(count=1, window=timedelta(minutes=10))
    assert (await _ask(db, "Un", limit=limit)).refused is None
    refused = await _ask(db, "Deux", limit=limit)
    assert refused.refused is flows.Refused.TOO_MANY and refused.ticket_id == 0
    assert len(await _rows(db, PURPOSE_RELAY)) == 1


async def test_claim_and_resolve_queue_the_header_edit_and_the_asker_notice(db: Database) -> None:
    """Taken: the header shows it; taken again by another: refused; resolved: the asker is asked."""
    await _asker(db)
    number = (await _ask(db, "Wifi ?")).ticket_id
    pressed = {"chat_id": STAFF, "message_id": 77, "event": EVENT, "texts": TEXTS}
    async with db.transaction() as session:
        claimed = await flows.claim_ticket(
            session, ticket_id=number, user_id=5, name="Camille", now=NOW, **pressed
        )
        other = await flows.claim_ticket(
            session, ticket_id=number, user_id=6, name="Yanis", now=NOW, **pressed
        )
    assert claimed is not None and claimed.outcome is ClaimOutcome.CLAIMED
    assert other is not None and other.outcome is ClaimOutcome.TAKEN and other.holder == "Camille"
    (edit,) = await _rows(db, PURPOSE_EDIT)
    assert edit.payload["message_id"] == 77 and "Prise par Camille" in edit.payload["text"]
    async with db.transaction() as session:
        assert (
            await flows.resolve_ticket(session, ticket_id=number, name="Camille", now=NOW, **pressed) is True
        )
        assert (
            await flows.resolve_ticket(session, ticket_id=number, name="Camille", now=NOW, **pressed) is False
        )
        assert (
            await flows.claim_ticket(session, ticket_id=999, user_id=5, name="C", now=NOW, **pressed) is None
        )
    (notice,) = await _rows(db, PURPOSE_ASKER_NOTICE)
    assert notice.chat_id == 1001
    assert [b["callback_data"] for b in notice.payload["reply_markup"]["inline_keyboard"][0]] == [
        f"q:fb:{number}:y",
        f"q:fb:{number}:n",
    ]
