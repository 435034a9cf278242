"""Reachability: whether the bot can write to a participant, and what changes when that changes.

A person who blocks the bot is marked unreachable at once (Telegram sends a `my_chat_member` update;
a 403 on a send says the same): the sender then finishes their rows without a request (state
`blocked`, `last_error` = `SKIPPED_UNREACHABLE`), so reminders and announcements cost nothing, and
reports and the dashboard count them as unreachable. Unblocking makes them reachable again; the
messages skipped for them in the last `RESUME_WITHIN` (an announcement still going out, a reminder
not expired yet) are queued again, so someone who unblocks mid-broadcast still receives it.

Only participants are tracked: an organiser or a group who blocked the bot has no row here, and a
403 for them stays a plain `blocked` outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.privacy import DataItem, register_data_provider
from schedule.config import EventConfig

SKIPPED_UNREACHABLE = "skipped: the person has blocked the bot"
"""`last_error` of a row finished without a request because its recipient was unreachable."""

RESUME_WITHIN = timedelta(minutes=15)
"""Rows skipped this recently are queued again when the person unblocks the bot."""


@dataclass(frozen=True, slots=True)
class Change:
    """What a block or an unblock changed: whether the person is known, and rows queued again."""

    known: bool  # a participant with this Telegram id exists
    changed: bool  # their reachability changed (False: it already was so)
    resumed: int = 0  # skipped rows queued again (unblock only)


async def mark_unreachable(session: AsyncSession, telegram_id: int, now: datetime) -> Change:
    """The person blocked the bot: nothing more is sent to them until they unblock it."""
    result = await session.execute(
        update(Participant)
        .where(Participant.telegram_id == telegram_id, Participant.unreachable_since.is_(None))
        .values(unreachable_since=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return Change(known=True, changed=True)
    known = await session.scalar(select(Participant.id).where(Participant.telegram_id == telegram_id))
    return Change(known=known is not None, changed=False)


async def mark_reachable(session: AsyncSession, telegram_id: int, now: datetime) -> Change:
    """The person unblocked the bot: reachable again; recently skipped messages are queued again."""
    result = await session.execute(
        update(Participant)
        .where(Participant.telegram_id == telegram_id, Participant.unreachable_since.is_not(None))
        .values(unreachable_since=None)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        known = await session.scalar(select(Participant.id).where(Participant.telegram_id == telegram_id))
        return Change(known=known is not None, changed=False)
    resumed = await session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.chat_id == telegram_id,
            OutgoingMessage.state == OutboxState.BLOCKED,
            OutgoingMessage.last_error == SKIPPED_UNREACHABLE,
            OutgoingMessage.updated_at > now - RESUME_WITHIN,
            or_(OutgoingMessage.expires_at.is_(None), OutgoingMessage.expires_at > now),
        )
        .values(state=OutboxState.PENDING, due_at=now, last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return Change(known=True, changed=True, resumed=int(resumed.rowcount))  # type: ignore[attr-defined]


async def unreachable_among(session: AsyncSession, chat_ids: Iterable[int]) -> set[int]:
    """The chats among `chat_ids` that belong to a participant who has blocked the bot."""
    ids = [chat_id for chat_id in set(chat_ids) if chat_id > 0]
    if not ids:
        return set()
    found = await session.scalars(
        select(Participant.telegram_id).where(
            Participant.telegram_id.in_(ids), Participant.unreachable_since.is_not(None)
        )
    )
    return {int(chat_id) for chat_id in found}


async def unreachable_count(session: AsyncSession) -> int:
    """Registered participants who have blocked the bot right now."""
    count = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.status == ParticipantStatus.ACTIVE, Participant.unreachable_since.is_not(None))
    )
    return int(count or 0)


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """`/mydata`: since when the person has blocked the bot, if they have (erased with their row)."""
    del session, event
    if participant.unreachable_since is None:
        return []
    return [DataItem("privacy.label.unreachable_since", participant.unreachable_since)]
