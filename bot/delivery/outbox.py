"""Outbox domain functions: queue, cancel and count outgoing messages.

They take an `AsyncSession` and plain values, never Telegram objects, and never commit: the row is
written in the caller's unit of work, together with the change that calls for the message. Call
`OutboxSender.wake()` after the commit so messages due now leave at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from models.base import utcnow
from models.outbox import DEDUPE_KEY_MAX, OutboxMethod, OutboxState, OutgoingMessage

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
