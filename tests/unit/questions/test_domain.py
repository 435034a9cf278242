"""Question domain functions on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import outbox, registration
from models import questions as q
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant
from models.privacy import collect_personal_data
from models.questions import Author, Content, ContentKind, LinkKind, QuestionLink, QuestionPost, TicketState
from tests.support.harness import bundled_event

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
STAFF = -1001000000001


async def _participant(db: Database, telegram_id: int = 1001, name: str = "Amina") -> Participant:
    async with db.transaction() as session:
        person = await registration.give_consent(
            session, telegram_id=telegram_id, first_name=name, language="fr", consent_version="1", now=NOW
        )
        registration.set_display_name(person, name)
        registration.set_role(person, "resident", NOW)
    return person


async def _ticket(db: Database, person: Participant, *, text: str = "Où ?", at: datetime = NOW) -> int:
    async with db.transaction() as session:
        ticket, _ = await q.open_ticket(
            session,
            person,
            Content(ContentKind.TEXT, text, person.telegram_id, 10),
            challenge_id=None,
            anonymous=False,
            now=at,
        )
    return ticket.id


async def _sent_row(db: Database, *, purpose: str, ref_id: int, chat_id: int, message_id: int) -> None:
    async with db.transaction() as session:
        row = await outbox.enqueue(
            session,
            chat_id=chat_id,
            method="sendMessage",
            payload={"text": "x"},
            dedupe_key=f"{purpose}:{ref_id}:{message_id}",
            purpose=purpose,
            ref_id=ref_id,
        )
        assert row is not None
        row.state = OutboxState.SENT
        row.sent_message_id = message_id


async def test_a_message_maps_to_one_ticket(db: Database) -> None:
    """UNIQUE(chat_id, message_id): the first mapping stays; lookups find the ticket and the post."""
    person = await _participant(db)
    first, second = await _ticket(db, person), await _ticket(db, person)
    async with db.transaction() as session:
        await q.link_message(session, chat_id=STAFF, message_id=5, ticket_id=first, kind=LinkKind.RELAY)
        await q.link_message(session, chat_id=STAFF, message_id=5, ticket_id=second, kind=LinkKind.RELAY)
    async with db.read() as session:
        ref = await q.ticket_for_message(session, STAFF, 5)
        assert ref is not None and ref.ticket.id == first and ref.kind is LinkKind.RELAY
        assert await q.ticket_for_message(session, STAFF, 6) is None
        assert await q.ticket_for_message(session, 1001, 5) is None  # same id, other chat


async def test_lookup_falls_back_to_the_outbox_when_a_hook_was_missed(db: Database) -> None:
    """A sent relay or answer row finds its ticket even without a mapping row; pending rows do not."""
    person = await _participant(db)
    number = await _ticket(db, person)
    await _sent_row(db, purpose=q.PURPOSE_RELAY, ref_id=number, chat_id=STAFF, message_id=40)
    async with db.transaction() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        post = await q.add_post(
            session,
            ticket,
            Author.STAFF,
            Content(ContentKind.TEXT, "Ici", STAFF, 41),
            now=NOW,
            staff_name="C",
        )
        await outbox.enqueue(
            session,
            chat_id=STAFF,
            method="sendMessage",
            payload={"text": "x"},
            dedupe_key="pending",
            purpose=q.PURPOSE_RELAY,
            ref_id=number,
        )
    await _sent_row(db, purpose=q.PURPOSE_ANSWER, ref_id=post.id, chat_id=1001, message_id=77)
    async with db.read() as session:
        relay = await q.ticket_for_message(session, STAFF, 40)
        assert relay is not None and relay.ticket.id == number and relay.kind is LinkKind.RELAY
        assert relay.post_id is not None  # the question itself
        answer = await q.ticket_for_message(session, 1001, 77)
        assert answer is not None and answer.ticket.id == number and answer.post_id == post.id
        assert await q.staff_message_from_outbox(session, relay.ticket) == 40
        assert await q.sending_to(session, STAFF) is False


async def test_escalation_once_per_wait(db: Database) -> None:
    """Overdue once; not again; again after a follow-up that followed an answer."""
    person = await _participant(db)
    number = await _ticket(db, person)
    unrelayed = await _ticket(db, person)
    delay = timedelta(minutes=10)
    async with db.transaction() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        ticket.staff_message_id = 1
        assert await q.overdue_tickets(session, NOW + timedelta(minutes=9), delay) == []
        overdue = await q.overdue_tickets(session, NOW + timedelta(minutes=11), delay)
        assert [t.id for t in overdue] == [number]  # the unrelayed one waits for its relay
        ticket.escalated_at = NOW + timedelta(minutes=11)
    async with db.transaction() as session:
        assert await q.overdue_tickets(session, NOW + timedelta(hours=2), delay) == []
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        q.record_answer(ticket, 7, "Camille", NOW + timedelta(minutes=20))
        q.follow_up_from_asker(ticket, NOW + timedelta(minutes=30))
        assert [t.id for t in await q.overdue_tickets(session, NOW + timedelta(minutes=41), delay)] == [
            number
        ]
        assert [t.id for t in await q.unrelayed_tickets(session)] == [unrelayed]


async def test_rate_counts_only_the_askers_recent_messages(db: Database) -> None:
    """Questions and follow-ups of this person in the window; not answers, not older ones."""
    amina, bob = await _participant(db), await _participant(db, 1002, "Bob")
    number = await _ticket(db, amina, at=NOW - timedelta(minutes=30))
    await _ticket(db, amina)
    await _ticket(db, bob)
    async with db.transaction() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        await q.add_post(session, ticket, Author.ASKER, Content(ContentKind.PHOTO, None, 1001, 11), now=NOW)
        await q.add_post(session, ticket, Author.STAFF, Content(ContentKind.TEXT, "R", STAFF, 3), now=NOW)
        assert await q.recent_asker_posts(session, amina.id, NOW - timedelta(minutes=10)) == 2


async def test_mutes_expire_and_can_be_lifted(db: Database) -> None:
    """A mute is in force until its time; unmute lifts it; a second mute replaces the first."""
    person = await _participant(db)
    async with db.transaction() as session:
        await q.mute(session, person.id, until=NOW + timedelta(minutes=30), muted_by=9, now=NOW)
        await q.mute(session, person.id, until=NOW + timedelta(minutes=60), muted_by=9, now=NOW)
        active = await q.active_mute(session, person.id, NOW + timedelta(minutes=45))
        assert active is not None
        assert await q.active_mute(session, person.id, NOW + timedelta(minutes=61)) is None
        assert await q.unmute(session, person.id) is True
        assert await q.unmute(session, person.id) is False


async def test_topics_are_remembered_once_per_challenge(db: Database) -> None:
    """Two topics created at once for one challenge: the first stored wins."""
    async with db.transaction() as session:
        assert await q.remember_topic(session, STAFF, "reservation", 11) == 11
        assert await q.remember_topic(session, STAFF, "reservation", 12) == 11
        assert await q.topic_thread(session, STAFF, q.TOPIC_GENERAL) is None
        await q.forget_topic(session, STAFF, 11)
        assert await q.topic_thread(session, STAFF, "reservation") is None


async def test_forget_keeps_an_anonymous_statistic_and_nothing_personal(db: Database) -> None:
    """/forget: posts and the person's chat links go, the ticket stays anonymous and closed,
    nothing queued for them is sent, and the staff copies are queued for deletion."""
    person = await _participant(db)
    other = await _participant(db, 1002, "Bob")
    number = await _ticket(db, person)
    kept = await _ticket(db, other)
    async with db.transaction() as session:
        await q.link_message(session, chat_id=STAFF, message_id=5, ticket_id=number, kind=LinkKind.RELAY)
        await q.link_message(session, chat_id=1001, message_id=6, ticket_id=number, kind=LinkKind.ACK)
        await q.mute(session, person.id, until=NOW + timedelta(hours=1), muted_by=9, now=NOW)
        for key, chat, purpose, ref in (
            ("answer", 1001, q.PURPOSE_ANSWER, 1),
            ("relay", STAFF, q.PURPOSE_RELAY, number),
            (f"{q.followup_key_prefix(number)}3", STAFF, q.PURPOSE_FOLLOWUP, 3),
            ("bob", STAFF, q.PURPOSE_RELAY, kept),
        ):
            await outbox.enqueue(
                session,
                chat_id=chat,
                method="sendMessage",
                payload={"text": "x"},
                dedupe_key=key,
                purpose=purpose,
                ref_id=ref,
            )
    async with db.read() as session:
        shown = await collect_personal_data(session, person.telegram_id, person, bundled_event())
    assert any("Où ?" in str(item.value) for block in shown for item in block)

    async with db.transaction() as session:
        assert await registration.forget(session, person.telegram_id)
    async with db.read() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        assert ticket.asker_id is None and ticket.erased and ticket.state is TicketState.CLOSED
        assert (
            await session.scalars(select(QuestionPost).where(QuestionPost.ticket_id == number))
        ).all() == []
        links = (await session.scalars(select(QuestionLink))).all()
        assert [(link.chat_id, link.message_id) for link in links] == [(STAFF, 5)]
        rows = {row.dedupe_key: row for row in (await session.scalars(select(OutgoingMessage))).all()}
        assert "answer" not in rows  # to the person's chat: removed by the outbox's own erasure hook
        assert rows["relay"].state is OutboxState.CANCELLED
        assert rows[f"{q.followup_key_prefix(number)}3"].state is OutboxState.CANCELLED
        assert rows["bob"].state is OutboxState.PENDING
        deletion = rows[f"q:del:{STAFF}:5"]
        assert deletion.method == "deleteMessage" and deletion.payload == {"message_id": 5}
        assert await q.active_mute(session, person.id, NOW) is None
        other_ticket = await q.get_ticket(session, kept)
        assert other_ticket is not None and other_ticket.asker_id == other.id


async def test_failed_relays_get_a_new_attempt(db: Database) -> None:
    """After the staff group is fixed, failed relays are retried with a fresh dedupe key."""
    person = await _participant(db)
    number = await _ticket(db, person)
    async with db.transaction() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None
        ticket.relay_failed = True
    async with db.transaction() as session:
        assert await q.retry_failed_relays(session) == 1
    async with db.read() as session:
        ticket = await q.get_ticket(session, number)
        assert ticket is not None and not ticket.relay_failed and ticket.relay_attempt == 1
