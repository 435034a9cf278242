"""The outbox: every message that must outlive a restart is a row here, sent by `bot.delivery.sender`.

A row is written in the same transaction as the change that calls for it (a reminder planned, a
broadcast approved, a ticket answered), so either both happen or neither does. `dedupe_key` is
unique: enqueueing the same message twice keeps one row, which is how "never twice" is kept.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Index, SmallInteger, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, TimestampMixin
from models.privacy import DataItem, register_account_data_provider, register_account_erasure_hook

DEDUPE_KEY_MAX = 200
LAST_ERROR_MAX = 500


class OutboxState(enum.StrEnum):
    """Life of an outgoing message. Only `pending` and `sending` are not final."""

    PENDING = "pending"  # waiting for due_at (or for a retry)
    SENDING = "sending"  # claimed by the sender; found at start-up = in flight during a crash
    SENT = "sent"
    FAILED = "failed"  # refused by Telegram (400) or out of attempts
    BLOCKED = "blocked"  # 403: the person blocked the bot or left the chat
    EXPIRED = "expired"  # expires_at passed before it could be sent
    CANCELLED = "cancelled"  # withdrawn by a feature before it was sent


class OutboxMethod(enum.StrEnum):
    """Bot API methods the sender knows how to replay from a JSON payload."""

    SEND_MESSAGE = "sendMessage"
    COPY_MESSAGE = "copyMessage"
    SEND_PHOTO = "sendPhoto"
    SEND_DOCUMENT = "sendDocument"
    SEND_VOICE = "sendVoice"
    EDIT_MESSAGE_TEXT = "editMessageText"
    EDIT_MESSAGE_CAPTION = "editMessageCaption"
    DELETE_MESSAGE = "deleteMessage"


FINAL_STATES = frozenset(
    {OutboxState.SENT, OutboxState.FAILED, OutboxState.BLOCKED, OutboxState.EXPIRED, OutboxState.CANCELLED}
)


class OutgoingMessage(TimestampMixin, Base):
    """One Bot API request to make, at most once (barring a crash mid-request: see `in_doubt`)."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (
        # The sender's claim query: pending rows by due time.
        Index("ix_outgoing_messages_state_due_at", "state", "due_at"),
        # Never reuse the id of a deleted row (SQLite would): ids end up in dedupe keys and reports.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(DEDUPE_KEY_MAX), unique=True, nullable=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    # The method's parameters except chat_id, exactly as the Bot API takes them.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column()
    state: Mapped[OutboxState] = mapped_column(
        Enum(OutboxState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=OutboxState.PENDING,
        nullable=False,
    )
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    # Telegram's error description only, never the message or the recipient's name.
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column()
    # Sent again after a crash while it was in flight: the recipient may have it twice.
    in_doubt: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Higher goes first among rows that are due (e.g. a ticket answer before a broadcast).
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)


# ---- privacy -------------------------------------------------------------------------------------
# The rows to a person's private chat are the record of what the bot said to them (answers,
# notices, announcements). These account-level hooks show them and erase them for anyone who asks,
# participants and organisers who never registered alike (reports and warnings sent to them); a
# pending reminder must not reach someone who asked to hear nothing more.


@register_account_data_provider
async def _personal_data(session: AsyncSession, telegram_id: int) -> list[DataItem]:
    """`/mydata`: how many messages to the person's chat are kept, queued or sent."""
    count = await session.scalar(
        select(func.count()).select_from(OutgoingMessage).where(OutgoingMessage.chat_id == telegram_id)
    )
    return [DataItem("privacy.label.messages", int(count))] if count else []


@register_account_erasure_hook
async def _erase(session: AsyncSession, telegram_id: int) -> bool:
    """`/forget`: drop every queued or past message to the person's chat."""
    result = await session.execute(delete(OutgoingMessage).where(OutgoingMessage.chat_id == telegram_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
