"""Outbox domain functions: enqueue (idempotent), bulk enqueue, cancel, stats, payload limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import outbox
from models.base import utcnow
from models.outbox import (
    NewMessage,
    OutboxState,
    OutgoingMessage,
    PayloadTooLong,
    telegram_length,
    validate_payload,
)


def message(chat_id: int, key: str, **changes) -> NewMessage:
    """A broadcast row for `enqueue_many`."""
    values = {
        "chat_id": chat_id,
        "method": "sendMessage",
        "payload": {"text": "Hello", "parse_mode": "HTML"},
        "dedupe_key": key,
        "purpose": "broadcast",
        "ref_id": 1,
    }
    values.update(changes)
    return NewMessage(**values)


async def test_enqueue_stores_a_pending_row(outbox_db):
    """The row is pending, due now by default, with the payload as given."""
    before = utcnow()
    async with outbox_db.transaction() as session:
        row = await outbox.enqueue(
            session,
            chat_id=42,
            method="sendMessage",
            payload={"text": "<b>Hi</b>", "parse_mode": "HTML", "reply_markup": {"inline_keyboard": []}},
            dedupe_key="notice:1:42",
            purpose="notice",
        )
    assert row is not None
    async with outbox_db.read() as session:
        stored = await session.get(OutgoingMessage, row.id)
    assert stored is not None
    assert stored.state is OutboxState.PENDING
    assert stored.payload["reply_markup"] == {"inline_keyboard": []}
    assert before <= stored.due_at <= utcnow()
    assert stored.due_at.tzinfo is not None
    assert (stored.attempts, stored.in_doubt, stored.priority) == (0, False, 0)


async def test_same_dedupe_key_gives_one_row(outbox_db):
    """Enqueueing the same message again (a retried handler, a second scheduler run) keeps one row."""
    for _ in range(2):
        async with outbox_db.transaction() as session:
            result = await outbox.enqueue(
                session,
                chat_id=42,
                method="sendMessage",
                payload={"text": "Reminder"},
                dedupe_key="reminder:7:42",
                purpose="reminder",
            )
        if _ == 0:
            assert result is not None
        else:
            assert result is None
    async with outbox_db.read() as session:
        rows = (await session.scalars(select(OutgoingMessage))).all()
    assert len(rows) == 1


async def test_enqueue_many_skips_existing_keys(outbox_db):
    """A broadcast to 1,000 people in one call; a second call adds only the new recipients."""
    async with outbox_db.transaction() as session:
        ids = await outbox.enqueue_many(
            session, [message(chat, f"broadcast:1:{chat}") for chat in range(1, 1001)]
        )
    assert len(ids) == 1000
    async with outbox_db.transaction() as session:
        again = await outbox.enqueue_many(
            session, [message(chat, f"broadcast:1:{chat}") for chat in range(995, 1006)]
        )
    assert len(again) == 5
    async with outbox_db.read() as session:
        counts = await outbox.stats(session, "broadcast", 1)
    assert counts[OutboxState.PENDING] == 1005
    assert counts[OutboxState.SENT] == 0


async def test_enqueue_many_validates_everything_first(outbox_db):
    """One text too long refuses the whole batch (nothing half-queued)."""
    rows = [message(1, "a"), message(2, "b", payload={"text": "x" * 4097})]
    async with outbox_db.transaction() as session:
        with pytest.raises(PayloadTooLong):
            await outbox.enqueue_many(session, rows)
    async with outbox_db.read() as session:
        assert (await session.scalars(select(OutgoingMessage))).all() == []


async def test_cancel_only_touches_pending_rows(outbox_db):
    """Cancel by prefix, purpose and reference; rows already sent stay sent."""
    async with outbox_db.transaction() as session:
        await outbox.enqueue_many(session, [message(chat, f"broadcast:1:{chat}") for chat in range(1, 6)])
        await outbox.enqueue_many(
            session, [message(chat, f"broadcast:2:{chat}", ref_id=2) for chat in range(1, 4)]
        )
        await outbox.enqueue(
            session,
            chat_id=9,
            method="sendMessage",
            payload={"text": "r"},
            dedupe_key="reminder%_:1",
            purpose="reminder",
        )
    async with outbox_db.transaction() as session:
        sent = (await session.scalars(select(OutgoingMessage).where(OutgoingMessage.chat_id == 1))).all()
        for row in sent:
            row.state = OutboxState.SENT
    async with outbox_db.transaction() as session:
        assert await outbox.cancel(session, purpose="broadcast", ref_id=1) == 4
        assert await outbox.cancel(session, dedupe_key_prefix="broadcast:2:") == 2
        # LIKE wildcards in the prefix are literal characters.
        assert await outbox.cancel(session, dedupe_key_prefix="reminder__") == 0
        assert await outbox.cancel(session, dedupe_key_prefix="reminder%_") == 1
    async with outbox_db.read() as session:
        first = await outbox.stats(session, "broadcast", 1)
        second = await outbox.stats(session, "broadcast", 2)
    assert (first[OutboxState.SENT], first[OutboxState.CANCELLED]) == (1, 4)
    assert (second[OutboxState.SENT], second[OutboxState.CANCELLED]) == (1, 2)


async def test_cancel_needs_a_filter(outbox_db):
    """cancel() without filters would empty the outbox: refused."""
    async with outbox_db.transaction() as session:
        with pytest.raises(ValueError, match="at least one filter"):
            await outbox.cancel(session)


async def test_enqueue_refuses_naive_datetimes(outbox_db):
    """due_at must be timezone-aware (the column refuses naive values)."""
    async with outbox_db.transaction() as session:
        with pytest.raises(Exception, match="naive"):
            await outbox.enqueue(
                session,
                chat_id=1,
                method="sendMessage",
                payload={"text": "x"},
                dedupe_key="k",
                purpose="notice",
                due_at=utcnow().replace(tzinfo=None) + timedelta(hours=1),
            )


@pytest.mark.parametrize(
    ("text", "parse_mode", "expected"),
    [
        ("hello", None, 5),
        ("😀", None, 2),  # outside the BMP: two UTF-16 code units, as Telegram counts
        ("é", None, 1),
        ("<b>bold</b> &amp; done", "HTML", 11),
        ("<b>bold</b>", None, 11),
    ],
)
def test_telegram_length(text, parse_mode, expected):
    """Lengths are UTF-16 code units of the visible text."""
    assert telegram_length(text, parse_mode) == expected


def test_validate_payload_limits():
    """4,096 for texts, 1,024 for captions; the error carries the count for the user."""
    validate_payload("sendMessage", {"text": "x" * 4096})
    validate_payload("sendMessage", {"text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"})
    with pytest.raises(PayloadTooLong) as error:
        validate_payload("sendMessage", {"text": "😀" * 2049})
    assert (error.value.kind, error.value.length, error.value.limit) == ("text", 4098, 4096)
    validate_payload("sendPhoto", {"photo": "file-id", "caption": "x" * 1024})
    with pytest.raises(PayloadTooLong) as error:
        validate_payload("copyMessage", {"from_chat_id": 1, "message_id": 2, "caption": "x" * 1025})
    assert (error.value.kind, error.value.length, error.value.limit) == ("caption", 1025, 1024)
    with pytest.raises(PayloadTooLong):
        validate_payload("editMessageText", {"message_id": 3, "text": "x" * 5000})


@pytest.mark.parametrize(
    ("method", "payload", "match"),
    [
        ("sendSticker", {"sticker": "x"}, "cannot be sent"),
        ("sendMessage", {"chat_id": 1, "text": "x"}, "chat_id"),
        ("sendMessage", {"text": ""}, "needs text"),
        ("copyMessage", {"from_chat_id": 1}, "needs message_id"),
    ],
)
def test_validate_payload_refuses_malformed(method, payload, match):
    """Unknown methods, chat_id in the payload and missing parameters are programming errors."""
    with pytest.raises(ValueError, match=match):
        validate_payload(method, payload)
