"""A question on its way to the team, before it is a ticket: at most one per participant.

Two cases, both kept in the database so a restart between the message and the tap loses nothing:

- *typed*: the person wrote straight into the chat ("Où sont les toilettes ?"). The bot answered
  from the FAQ or offered to send it to the team; the text waits here for the tap ("send it to the
  team"), which turns it into a ticket through `models.question_flows.ask`. Personal data: shown
  by /mydata, erased by /forget.
- *prompted*: the person tapped "Ask a question"; the bot's prompt (with its "without my name" and
  "cancel" buttons) is remembered so that its buttons can be taken away once the question arrives.

A new typed message or a new prompt replaces the row: the buttons of an older offer carry the id
of their row, and are refused once it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import question_flows as flows
from models.base import Base, BigIntPK
from models.outbox import Texts
from models.participant import Participant
from models.privacy import DataItem, ErasureContext, register_data_provider, register_erasure_hook
from models.questions import Content, ContentKind
from models.registration import get_participant
from schedule.config import EventConfig


class PendingQuestion(Base):
    """The typed text waiting for "send it to the team", or the open prompt of "Ask a question"."""

    __tablename__ = "pending_questions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    # Typed: the text and the message it came in (the relay may copy it).
    text: Mapped[str | None] = mapped_column(Text)
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Prompted: the bot's prompt, whose buttons go once the question arrives.
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


async def _replace(session: AsyncSession, participant_id: int, row: PendingQuestion) -> PendingQuestion:
    await session.execute(delete(PendingQuestion).where(PendingQuestion.participant_id == participant_id))
    session.add(row)
    await session.flush()
    return row


async def keep_typed(
    session: AsyncSession, participant_id: int, text: str, *, chat_id: int, message_id: int, now: datetime
) -> int:
    """Keep a typed message until the person decides; returns its id (for the buttons)."""
    row = PendingQuestion(
        participant_id=participant_id,
        text=text,
        source_chat_id=chat_id,
        source_message_id=message_id,
        created_at=now,
    )
    return (await _replace(session, participant_id, row)).id


async def remember_prompt(session: AsyncSession, participant_id: int, message_id: int, now: datetime) -> None:
    """Remember the "write your question here" message (a typed message waiting is dropped)."""
    row = PendingQuestion(participant_id=participant_id, prompt_message_id=message_id, created_at=now)
    await _replace(session, participant_id, row)


async def take_prompt(session: AsyncSession, participant_id: int) -> int | None:
    """The open prompt's message id, forgotten at once (its buttons are about to go); None if none."""
    row = await session.scalar(
        select(PendingQuestion).where(
            PendingQuestion.participant_id == participant_id, PendingQuestion.prompt_message_id.is_not(None)
        )
    )
    if row is None:
        return None
    await session.delete(row)
    return row.prompt_message_id


async def typed(session: AsyncSession, participant_id: int, pending_id: int) -> PendingQuestion | None:
    """The typed message `pending_id` of this participant, if it still waits."""
    return await session.scalar(
        select(PendingQuestion).where(
            PendingQuestion.id == pending_id,
            PendingQuestion.participant_id == participant_id,
            PendingQuestion.text.is_not(None),
        )
    )


async def drop_typed(session: AsyncSession, participant_id: int, pending_id: int) -> bool:
    """The "no thanks" button: the typed message is forgotten; False if it was no longer waiting."""
    row = await typed(session, participant_id, pending_id)
    if row is None:
        return False
    await session.delete(row)
    return True


@dataclass(frozen=True, slots=True)
class Sent:
    """A typed message sent to the team: the ticket (or the refusal), and the text that went."""

    relayed: flows.Relayed
    text: str


async def send_typed(
    session: AsyncSession,
    *,
    telegram_id: int,
    pending_id: int,
    challenge_id: str | None,
    thread_id: int | None,
    now: datetime,
    limit: flows.RateLimit,
    event: EventConfig,
    texts: Texts,
) -> Sent | None:
    """The "send it to the team" button: the typed message becomes a ticket (with the person's name).

    None when the message no longer waits (sent already, replaced by a newer one, erased). A
    refusal (paused, too many) keeps the message, so the person can try again later.
    """
    asker = await get_participant(session, telegram_id)
    if asker is None:
        return None
    row = await typed(session, asker.id, pending_id)
    if row is None or row.text is None:
        return None
    content = Content(
        ContentKind.TEXT, row.text, row.source_chat_id or telegram_id, row.source_message_id or 0
    )
    relayed = await flows.ask(
        session,
        telegram_id=telegram_id,
        content=content,
        challenge_id=challenge_id,
        anonymous=False,
        thread_id=thread_id,
        now=now,
        limit=limit,
        event=event,
        texts=texts,
    )
    if relayed.refused is None:
        await session.delete(row)
    return Sent(relayed, row.text)


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """For /mydata: the typed message waiting for "send it to the team", if any."""
    text = await session.scalar(
        select(PendingQuestion.text).where(
            PendingQuestion.participant_id == participant.id, PendingQuestion.text.is_not(None)
        )
    )
    return [DataItem("questions.label.pending", text)] if text is not None else []


@register_erasure_hook
async def _erase(session: AsyncSession, participant: Participant, _erasure: ErasureContext | None) -> None:
    await session.execute(delete(PendingQuestion).where(PendingQuestion.participant_id == participant.id))
