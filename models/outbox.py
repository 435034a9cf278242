"""The outbox: every message that must outlive a restart is a row here, sent by `bot.delivery.sender`.

A row is written in the same transaction as the change that calls for it (a reminder planned, a
broadcast approved, a ticket answered, a place given from the waiting list), so either both happen
or neither does: every feature's domain calls `enqueue` (or `enqueue_many`) from inside its own unit
of work, and nothing else writes here. Those functions take an `AsyncSession` and plain values,
never Telegram objects, and never commit. The delivery path wakes after the commit and sends. `dedupe_key` is
unique: enqueueing the same message twice keeps one row, which is how "never twice" is kept.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Enum, Index, SmallInteger, String, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, BigIntPK, TimestampMixin, utcnow
from models.privacy import DataItem, register_account_data_provider, register_account_erasure_hook

DEDUPE_KEY_MAX = 200
LAST_ERROR_MAX = 500


class OutboxState(enum.StrEnum):
    """Life of an outgoing message. Only `pending` and `sending` are not final."""

    PENDING = "pending"  # waiting for due_at (or for a retry)
    SENDING = "sending"  # claimed by the sender (its request may have left once `departed_at` is set)
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
    # When the request of the current attempt left the throttle (committed before it leaves): a row
    # found `sending` at start-up with this set may have reached Telegram; without it, it did not.
    departed_at: Mapped[datetime | None] = mapped_column()
    # Higher goes first among rows that are due (e.g. a ticket answer before a broadcast).
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)


# ---- queueing: the one way every feature asks for a message to be sent ---------------------------


class Texts(Protocol):
    """What a domain function needs to word a notification: the catalog, seen from the domain.

    `bot.i18n.Catalog` is one; the domain never imports it (models/ knows nothing of the bot).
    `text` returns HTML with every parameter escaped; `label` plain text for buttons.
    """

    def text(self, lang: str, key: str, /, **params: object) -> str:
        """The HTML text of `key` in `lang`."""
        ...

    def label(self, lang: str, key: str, /, **params: object) -> str:
        """The plain text of `key` in `lang` (button labels are never parsed as HTML)."""
        ...


def text_message(text: str, buttons: Sequence[Sequence[tuple[str, str]]] = ()) -> dict[str, Any]:
    """The payload of an HTML `sendMessage`, with inline buttons given as (label, callback data) rows."""
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if buttons:
        rows = [[{"text": label, "callback_data": data} for label, data in row] for row in buttons]
        payload["reply_markup"] = {"inline_keyboard": rows}
    return payload


TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# Parameters each method cannot do without (besides chat_id, which is a column).
_REQUIRED: dict[OutboxMethod, tuple[str, ...]] = {
    OutboxMethod.SEND_MESSAGE: ("text",),
    OutboxMethod.COPY_MESSAGE: ("from_chat_id", "message_id"),
    OutboxMethod.SEND_PHOTO: ("photo",),
    OutboxMethod.SEND_DOCUMENT: ("document",),
    OutboxMethod.SEND_VOICE: ("voice",),
    OutboxMethod.EDIT_MESSAGE_TEXT: ("message_id", "text"),
    OutboxMethod.EDIT_MESSAGE_CAPTION: ("message_id",),
    OutboxMethod.DELETE_MESSAGE: ("message_id",),
}
_TEXT_METHODS = frozenset({OutboxMethod.SEND_MESSAGE, OutboxMethod.EDIT_MESSAGE_TEXT})


class PayloadTooLong(ValueError):  # noqa: N818 - the name callers were promised
    """A text or caption is longer than Telegram accepts; callers tell the user the count."""

    def __init__(self, kind: str, length: int, limit: int) -> None:
        """`kind` is "text" or "caption"; lengths are in UTF-16 code units, as Telegram counts."""
        super().__init__(f"{kind} is {length} characters long, the limit is {limit}")
        self.kind = kind
        self.length = length
        self.limit = limit


class _VisibleText(HTMLParser):
    """Collects the text a reader sees once Telegram has parsed the HTML entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def telegram_length(text: str, parse_mode: str | None = None) -> int:
    """Length as Telegram limits it: UTF-16 code units of the text after entity parsing.

    Telegram counts the visible text, so the tags of an HTML message do not count. (For Markdown
    modes the raw text is counted: slightly stricter than Telegram, never looser.)
    """
    if parse_mode is not None and parse_mode.upper() == "HTML":
        parser = _VisibleText()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    return len(text.encode("utf-16-le")) // 2


def validate_payload(method: str, payload: Mapping[str, Any]) -> OutboxMethod:
    """Check a payload before it is queued; return the method as an `OutboxMethod`.

    Raises `PayloadTooLong` for a text over 4,096 or a caption over 1,024 UTF-16 code units (never
    truncated silently), and `ValueError` for an unknown method, a missing parameter or a chat_id
    inside the payload.
    """
    try:
        known = OutboxMethod(method)
    except ValueError:
        raise ValueError(f"method {method!r} cannot be sent through the outbox") from None
    if "chat_id" in payload:
        raise ValueError("chat_id is a column of the outbox row, not part of the payload")
    missing = [name for name in _REQUIRED[known] if payload.get(name) in (None, "")]
    if missing:
        raise ValueError(f"{method} needs {', '.join(missing)}")
    parse_mode = payload.get("parse_mode")
    if known in _TEXT_METHODS:
        length = telegram_length(str(payload["text"]), parse_mode)
        if length > TEXT_LIMIT:
            raise PayloadTooLong("text", length, TEXT_LIMIT)
    caption = payload.get("caption")
    if caption is not None:
        length = telegram_length(str(caption), parse_mode)
        if length > CAPTION_LIMIT:
            raise PayloadTooLong("caption", length, CAPTION_LIMIT)
    return known


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One row for `enqueue_many` (the same fields as `enqueue`)."""

    chat_id: int
    method: str
    payload: Mapping[str, Any]
    dedupe_key: str
    purpose: str
    due_at: datetime | None = None
    ref_id: int | None = None
    expires_at: datetime | None = None
    priority: int = 0


def _row_values(message: NewMessage, now: datetime) -> dict[str, Any]:
    method = validate_payload(message.method, message.payload)
    if not message.dedupe_key or len(message.dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key must be 1 to {DEDUPE_KEY_MAX} characters")
    return {
        "chat_id": message.chat_id,
        "method": method.value,
        "payload": dict(message.payload),
        "dedupe_key": message.dedupe_key,
        "purpose": message.purpose,
        "due_at": message.due_at or now,
        "ref_id": message.ref_id,
        "expires_at": message.expires_at,
        "priority": message.priority,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "in_doubt": False,
        "created_at": now,
        "updated_at": now,
    }


def _insert_ignoring_duplicates(session: AsyncSession) -> Insert:
    """`INSERT ... ON CONFLICT (dedupe_key) DO NOTHING` in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(OutgoingMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    if dialect == "sqlite":
        return sqlite.insert(OutgoingMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    raise NotImplementedError(f"outbox insert-or-ignore is not written for {dialect}")


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: Mapping[str, Any],
    dedupe_key: str,
    purpose: str,
    due_at: datetime | None = None,
    ref_id: int | None = None,
    expires_at: datetime | None = None,
    priority: int = 0,
) -> OutgoingMessage | None:
    """Queue one message; return its row, or None if a row with this `dedupe_key` already exists.

    `due_at` defaults to now. Past `expires_at` the message is dropped (state `expired`). Higher
    `priority` goes first among due rows.
    """
    values = _row_values(
        NewMessage(
            chat_id=chat_id,
            method=method,
            payload=payload,
            dedupe_key=dedupe_key,
            purpose=purpose,
            due_at=due_at,
            ref_id=ref_id,
            expires_at=expires_at,
            priority=priority,
        ),
        utcnow(),
    )
    statement = _insert_ignoring_duplicates(session).values(**values).returning(OutgoingMessage)
    return (await session.scalars(statement)).one_or_none()


async def enqueue_many(session: AsyncSession, rows: Iterable[NewMessage]) -> list[int]:
    """Queue many messages in a few statements (a broadcast to 1,000 people).

    Returns the ids of the rows created; rows whose `dedupe_key` already existed are skipped.
    Every payload is validated before anything is written.
    """
    now = utcnow()
    values = [_row_values(row, now) for row in rows]
    if not values:
        return []
    statement = _insert_ignoring_duplicates(session).returning(OutgoingMessage.id)
    # Core-level executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues").
    result = await session.execute(statement, values)
    return list(result.scalars())


async def cancel(
    session: AsyncSession,
    *,
    dedupe_key_prefix: str | None = None,
    ids: Sequence[int] | None = None,
    purpose: str | None = None,
    ref_id: int | None = None,
) -> int:
    """Cancel pending messages matching every filter given; return how many were cancelled.

    Rows already being sent or finished are left alone. At least one filter is required, so a
    mistake cannot cancel the whole outbox.
    """
    conditions = [OutgoingMessage.state == OutboxState.PENDING]
    if dedupe_key_prefix is not None:
        if not dedupe_key_prefix:
            raise ValueError("dedupe_key_prefix cannot be empty")
        conditions.append(OutgoingMessage.dedupe_key.startswith(dedupe_key_prefix, autoescape=True))
    if ids is not None:
        conditions.append(OutgoingMessage.id.in_(list(ids)))
    if purpose is not None:
        conditions.append(OutgoingMessage.purpose == purpose)
    if ref_id is not None:
        conditions.append(OutgoingMessage.ref_id == ref_id)
    if len(conditions) == 1:
        raise ValueError("cancel needs at least one filter")
    statement = (
        update(OutgoingMessage)
        .where(*conditions)
        .values(state=OutboxState.CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def stats(session: AsyncSession, purpose: str, ref_id: int | None = None) -> dict[OutboxState, int]:
    """Count the rows of one purpose (and reference, e.g. one broadcast) in each state, zeros included."""
    statement = (
        select(OutgoingMessage.state, func.count())
        .where(OutgoingMessage.purpose == purpose)
        .group_by(OutgoingMessage.state)
    )
    if ref_id is not None:
        statement = statement.where(OutgoingMessage.ref_id == ref_id)
    counts = dict.fromkeys(OutboxState, 0)
    for state, count in await session.execute(statement):
        counts[OutboxState(state)] = count
    return counts


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
