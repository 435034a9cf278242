"""What the bot sent in the last minute, so that a restarted process knows Telegram's counters.

Telegram counts a chat's messages over the last second (a group's over the last minute) whoever
sent them; a restarted process that started with empty client-side buckets would send at once and
meet a 429. At start the throttle is seeded with the sends of the last minute: the `sent` outbox
rows (kept even after a crash) plus, after a clean stop, the throttle's own record of every request
(interactive replies included), saved here at shut-down and read back once.

Rows hold a chat id and a time, nothing else, and live at most until the next start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, UTCDateTime
from models.outbox import OutboxState, OutgoingMessage

# Telegram's longest window (a group's 20 messages a minute), with the throttle's margin.
HORIZON = timedelta(seconds=61)


class RecentSend(Base):
    """One request the bot made shortly before a clean stop."""

    __tablename__ = "recent_sends"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


async def save_recent_sends(session: AsyncSession, sends: Iterable[tuple[int, datetime]]) -> int:
    """Replace the saved record with `sends` (chat id, when); return how many were saved."""
    await session.execute(delete(RecentSend))
    rows = [RecentSend(chat_id=chat_id, sent_at=sent_at) for chat_id, sent_at in sends]
    session.add_all(rows)
    return len(rows)


async def take_recent_sends(session: AsyncSession, now: datetime) -> list[tuple[int, datetime]]:
    """The sends of the last `HORIZON` before `now`, oldest first; the saved record is consumed."""
    since = now - HORIZON
    saved_query = select(RecentSend.chat_id, RecentSend.sent_at).where(RecentSend.sent_at > since)
    saved = (await session.execute(saved_query)).all()
    outbox = (
        await session.execute(
            select(OutgoingMessage.chat_id, OutgoingMessage.sent_at).where(
                OutgoingMessage.state == OutboxState.SENT, OutgoingMessage.sent_at > since
            )
        )
    ).all()
    # Rows a killed process was sending may have reached Telegram: count them from their claim.
    in_flight = (
        await session.execute(
            select(OutgoingMessage.chat_id, OutgoingMessage.updated_at).where(
                OutgoingMessage.state == OutboxState.SENDING, OutgoingMessage.updated_at > since
            )
        )
    ).all()
    await session.execute(delete(RecentSend))
    # An outbox row sent before a clean stop is in both: one (chat, time) pair is one send.
    unique = {
        (int(chat_id), sent_at) for chat_id, sent_at in [*saved, *outbox, *in_flight] if sent_at is not None
    }
    return sorted(unique, key=lambda send: send[1])
