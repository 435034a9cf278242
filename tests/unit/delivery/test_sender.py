"""`OutboxSender` with a real `ExtBot` + `TelegramThrottle`, a scripted Bot API and a real database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.delivery.limits import RateLimits
from bot.delivery.sender import OutboxSender
from bot.delivery.throttle import TelegramThrottle
from models import outbox
from models.base import utcnow
from models.outbox import FINAL_STATES, NewMessage, OutboxState, OutgoingMessage
from tests.unit.delivery.fakes import Reply, ScriptedRequest

FAST = RateLimits(global_per_second=1000, global_burst=100, margin=0.0)


class Harness:
    """A bot, its throttle and a sender on the test database."""

    def __init__(self, db, api: ScriptedRequest) -> None:
        self.db = db
        self.api = api
        self.bot: Any = None
        self.sender: OutboxSender | None = None

    async def start(self, limits: RateLimits = FAST, max_retries: int = 3, **sender_options) -> OutboxSender:
        from telegram.ext import ExtBot

        if self.bot is None:
            self.bot = ExtBot(
                token="123456:TEST",
                request=self.api,
                get_updates_request=self.api,
                rate_limiter=TelegramThrottle(limits, max_retries=max_retries),
            )
            await self.bot.initialize()
        options = {"poll_interval": 10.0, "backoff_base": 0.05, "backoff_cap": 0.2}
        options.update(sender_options)
        self.sender = OutboxSender(self.bot, self.db, **options)
        await self.sender.start()
        return self.sender

    async def enqueue(self, chat_id: int, key: str, *, wake: bool = True, **kwargs) -> int:
        kwargs.setdefault("method", "sendMessage")
        kwargs.setdefault("payload", {"text": key})
        kwargs.setdefault("purpose", "notice")
        async with self.db.transaction() as session:
            row = await outbox.enqueue(session, chat_id=chat_id, dedupe_key=key, **kwargs)
        assert row is not None
        if wake and self.sender is not None:
            self.sender.wake()
        return row.id

    async def rows(self) -> list[OutgoingMessage]:
        async with self.db.read() as session:
            return list((await session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))).all())

    async def row(self, row_id: int) -> OutgoingMessage:
        async with self.db.read() as session:
            row = await session.get(OutgoingMessage, row_id)
        assert row is not None
        return row

    async def settle(self, within: float = 5.0, *, states=FINAL_STATES) -> list[OutgoingMessage]:
        """Wait until every row is in one of `states`."""
        deadline = time.monotonic() + within
        while True:
            rows = await self.rows()
            if all(row.state in states for row in rows):
                return rows
            if time.monotonic() > deadline:
                pytest.fail(f"rows did not settle: {[(r.id, r.state, r.last_error) for r in rows]}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.sender is not None:
            await self.sender.stop()
        if self.bot is not None:
            await self.bot.shutdown()


@pytest.fixture
async def harness(outbox_db, api) -> AsyncIterator[Harness]:
    """A started-on-demand sender; stopped after the test."""
    env = Harness(outbox_db, api)
    yield env
    await env.close()


async def test_sends_due_rows_and_records_the_message_id(harness):
    """A due row is sent at once on wake, marked sent with Telegram's message id."""
    await harness.start()
    started = time.monotonic()
    row_id = await harness.enqueue(42, "notice:1:42", payload={"text": "<b>Hi</b>", "parse_mode": "HTML"})
    (row,) = await harness.settle()
    assert time.monotonic() - started < 1.0  # woken, not polled (poll_interval is 10 s)
    assert row.id == row_id
    assert row.state is OutboxState.SENT
    assert row.sent_message_id is not None and row.sent_at is not None
    assert row.attempts == 1
    (call,) = harness.api.sent("sendMessage")
    assert call.params == {"chat_id": 42, "text": "<b>Hi</b>", "parse_mode": "HTML"}


async def test_payload_passes_through_as_bot_api_json(harness):
    """Keyboards, reply parameters and topics reach the API as given; copies and edits work too."""
    await harness.start()
    markup = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    await harness.enqueue(
        -100,
        "a",
        payload={
            "text": "t",
            "reply_markup": markup,
            "reply_parameters": {"message_id": 5},
            "message_thread_id": 9,
        },
    )
    copy_id = await harness.enqueue(
        -100, "b", method="copyMessage", payload={"from_chat_id": 7, "message_id": 3}
    )
    edit_id = await harness.enqueue(
        -100, "c", method="editMessageText", payload={"message_id": 77, "text": "v2"}
    )
    await harness.enqueue(-100, "d", method="deleteMessage", payload={"message_id": 77})
    await harness.settle()
    send, copy, edit, delete = harness.api.calls[1:]
    assert send.params["reply_markup"] == markup
    assert send.params["reply_parameters"] == {"message_id": 5}
    assert send.params["message_thread_id"] == 9
    assert (copy.endpoint, copy.params["from_chat_id"], copy.params["message_id"]) == ("copyMessage", 7, 3)
    assert (edit.endpoint, delete.endpoint) == ("editMessageText", "deleteMessage")
    assert (await harness.row(copy_id)).sent_message_id is not None
    assert (await harness.row(edit_id)).sent_message_id == 77


async def test_future_rows_wait_for_their_time(harness):
    """A row due in 0.4 s is sent then, not before, without waiting for the 10 s poll."""
    sender = await harness.start()
    await harness.enqueue(1, "later", due_at=utcnow() + timedelta(seconds=0.4))
    await asyncio.sleep(0.2)
    assert harness.api.sent("sendMessage") == []
    sender.wake()  # a wake-up for something else recomputes the sleep, still exact
    (row,) = await harness.settle(within=2.0)
    assert row.sent_at is not None and row.sent_at >= row.due_at


async def test_blocked_user_is_final(harness):
    """403: marked blocked after one attempt, never retried."""
    harness.api.script[5] = [Reply.error(403, "Forbidden: bot was blocked by the user")]
    await harness.start()
    await harness.enqueue(5, "x")
    (row,) = await harness.settle()
    await asyncio.sleep(0.3)
    assert row.state is OutboxState.BLOCKED
    assert row.last_error == "Forbidden: bot was blocked by the user"
    assert len(harness.api.sent("sendMessage")) == 1


async def test_bad_request_is_final_with_description(harness):
    """400: failed, Telegram's description kept (and nothing else)."""
    harness.api.script[5] = [Reply.error(400, "Bad Request: can't parse entities")]
    await harness.start()
    await harness.enqueue(5, "x")
    (row,) = await harness.settle()
    assert row.state is OutboxState.FAILED
    assert row.last_error == "Can't parse entities"
    assert len(harness.api.sent("sendMessage")) == 1


async def test_edit_that_changes_nothing_counts_as_sent(harness):
    """ "message is not modified" means the wanted text is already there (e.g. re-sent after a crash)."""
    harness.api.script[5] = [Reply.error(400, "Bad Request: message is not modified")]
    await harness.start()
    await harness.enqueue(5, "x", method="editMessageText", payload={"message_id": 1, "text": "same"})
    (row,) = await harness.settle()
    assert row.state is OutboxState.SENT


async def test_server_errors_are_retried_with_backoff_then_fail(harness):
    """5xx: back to pending later; after max_attempts the row is failed."""
    harness.api.script[5] = [Reply.error(500, "Internal Server Error")] * 2
    harness.api.script[6] = [Reply.error(502, "Bad Gateway")] * 3
    await harness.start(max_attempts=3)
    ok = await harness.enqueue(5, "ok")
    ko = await harness.enqueue(6, "ko")
    await harness.settle()
    sent, failed = await harness.row(ok), await harness.row(ko)
    assert (sent.state, sent.attempts) == (OutboxState.SENT, 3)
    assert (failed.state, failed.attempts, failed.last_error) == (OutboxState.FAILED, 3, "Bad Gateway")
    times = [call.started for call in harness.api.sent("sendMessage") if call.params["chat_id"] == 5]
    assert times[1] - times[0] >= 0.04  # backoff_base 0.05 s
    assert times[2] - times[1] >= 0.09  # doubled


async def test_timeout_is_retried_and_flagged_in_doubt(harness):
    """A timed-out request may have arrived: retried, and flagged as a possible duplicate."""
    harness.api.script[5] = [Reply.timeout()]
    await harness.start()
    await harness.enqueue(5, "x")
    (row,) = await harness.settle()
    assert (row.state, row.in_doubt, row.attempts) == (OutboxState.SENT, True, 2)


async def test_flood_beyond_the_throttle_retries_later(harness):
    """A 429 the throttle gave up on puts the row back with due_at pushed by retry_after."""
    harness.api.script[5] = [Reply.flood(30)]
    await harness.start(max_retries=0)
    await harness.enqueue(5, "x")
    deadline = time.monotonic() + 3
    while True:
        (row,) = await harness.rows()
        if row.attempts == 1 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    assert row.state is OutboxState.PENDING
    assert row.attempts == 1
    assert timedelta(seconds=28) < row.due_at - utcnow() <= timedelta(seconds=30)


async def test_rows_in_flight_during_a_crash_are_resent_in_doubt(harness):
    """Start-up finds a row 'sending' whose request had left: sent once more, flagged; sent rows untouched."""
    first = await harness.enqueue(5, "crashed", wake=False)
    done = await harness.enqueue(6, "done", wake=False)
    async with harness.db.transaction() as session:
        await session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.id == first)
            .values(state=OutboxState.SENDING, departed_at=utcnow())
        )
        await session.execute(
            update(OutgoingMessage).where(OutgoingMessage.id == done).values(state=OutboxState.SENT)
        )
    await harness.start()
    await harness.settle()
    crashed = await harness.row(first)
    assert (crashed.state, crashed.in_doubt) == (OutboxState.SENT, True)
    assert [call.params["chat_id"] for call in harness.api.sent("sendMessage")] == [5]


async def test_rows_only_claimed_during_a_crash_are_not_in_doubt(harness):
    """A row claimed but whose request never left the throttle is sent normally, not counted in doubt."""
    claimed = await harness.enqueue(5, "claimed", wake=False)
    async with harness.db.transaction() as session:
        await session.execute(
            update(OutgoingMessage).where(OutgoingMessage.id == claimed).values(state=OutboxState.SENDING)
        )
    sender = OutboxSender(harness.bot or object(), harness.db)  # type: ignore[arg-type]
    assert await sender.recover() == 0
    await harness.start()
    await harness.settle()
    row = await harness.row(claimed)
    assert (row.state, row.in_doubt, row.attempts) == (OutboxState.SENT, False, 1)


async def test_departure_is_committed_before_the_request_leaves(harness):
    """While the API holds a request, its row already says it left (so a crash now counts it in doubt)."""
    harness.api.latency = 0.5
    await harness.start()
    row_id = await harness.enqueue(5, "slow")
    for _ in range(100):
        if harness.api.sent("sendMessage"):
            break
        await asyncio.sleep(0.01)
    row = await harness.row(row_id)
    assert row.state is OutboxState.SENDING and row.departed_at is not None
    await harness.settle()
    assert (await harness.row(row_id)).state is OutboxState.SENT


async def test_expired_rows_are_not_sent(harness):
    """Past expires_at the message is dropped as expired."""
    await harness.enqueue(5, "stale", wake=False, expires_at=utcnow() - timedelta(seconds=1))
    await harness.start()
    (row,) = await harness.settle()
    assert row.state is OutboxState.EXPIRED
    assert harness.api.sent("sendMessage") == []


async def test_each_chat_gets_its_messages_one_at_a_time_in_order(harness):
    """Per chat: one request in flight, in priority then queue order; chats run in parallel."""
    harness.api.latency = 0.05
    due = utcnow()  # one due time for all: the order then comes from priority and queue order alone
    async with harness.db.transaction() as session:
        await outbox.enqueue_many(
            session,
            [
                NewMessage(
                    chat, "sendMessage", {"text": f"{chat}:{i}"}, f"k:{chat}:{i}", "broadcast", due_at=due
                )
                for i in range(4)
                for chat in (-100, 7, 8)
            ],
        )
        await outbox.enqueue(
            session,
            chat_id=7,
            method="sendMessage",
            payload={"text": "urgent"},
            dedupe_key="urgent",
            purpose="answer",
            priority=10,
            due_at=due,
        )
    await harness.start(
        RateLimits(global_per_second=1000, global_burst=100, margin=0.0, private_interval=0.01)
    )
    await harness.settle()
    assert harness.api.max_in_flight_per_chat == 1
    by_chat: dict[int, list[str]] = {}
    for call in harness.api.sent("sendMessage"):
        by_chat.setdefault(call.params["chat_id"], []).append(call.params["text"])
    assert by_chat[-100] == [f"-100:{i}" for i in range(4)]
    assert by_chat[7] == ["urgent"] + [f"7:{i}" for i in range(4)]
    assert harness.api.max_in_flight > 1  # chats overlapped


async def test_distinct_chats_are_sent_concurrently(harness):
    """With 100 ms latency, 60 chats take well under 60 × 100 ms."""
    harness.api.latency = 0.1
    await harness.start(concurrency=32)
    async with harness.db.transaction() as session:
        await outbox.enqueue_many(
            session,
            [
                NewMessage(chat, "sendMessage", {"text": "x"}, f"k:{chat}", "broadcast")
                for chat in range(1, 61)
            ],
        )
    harness.sender.wake()
    rows = await harness.settle()
    assert all(row.state is OutboxState.SENT for row in rows)
    assert harness.api.max_in_flight > 16
    assert len(harness.api.sent("sendMessage")) == 60


async def test_hooks_run_in_the_recording_transaction(harness):
    """on_result hooks see the final row and may write; a failing hook does not lose the outcome."""
    seen: list[tuple[int, OutboxState, int | None]] = []

    async def record(session, row):
        seen.append((row.id, row.state, row.sent_message_id))
        # A write in the same transaction: e.g. remembering the relayed message id.
        await session.execute(
            update(OutgoingMessage).where(OutgoingMessage.id == row.id).values(last_error="hooked")
        )

    async def broken(session, row):
        await session.execute(
            update(OutgoingMessage).where(OutgoingMessage.id == row.id).values(last_error="broken")
        )
        raise RuntimeError("feature bug")

    harness.api.script[6] = [Reply.error(403, "Forbidden: bot was blocked by the user")]
    sender = await harness.start()
    sender.on_result("ticket", record)
    sender.on_result("ticket", broken)
    ok = await harness.enqueue(5, "t1", purpose="ticket")
    blocked = await harness.enqueue(6, "t2", purpose="ticket")
    await harness.enqueue(7, "other", purpose="notice")
    await harness.settle()
    assert sorted(seen) == sorted(
        [
            (ok, OutboxState.SENT, (await harness.row(ok)).sent_message_id),
            (blocked, OutboxState.BLOCKED, None),
        ]
    )
    assert (await harness.row(ok)).last_error == "hooked"  # the broken hook's write was rolled back
    assert (await harness.row(ok)).state is OutboxState.SENT


async def test_stop_puts_unfinished_requests_back(harness):
    """Requests still in flight when stop() gives up are pending again, flagged in doubt."""
    harness.api.latency = 2.0
    await harness.start(stop_timeout=0.1)
    row_id = await harness.enqueue(5, "slow")
    await asyncio.sleep(0.2)
    await harness.sender.stop()
    row = await harness.row(row_id)
    assert (row.state, row.in_doubt) == (OutboxState.PENDING, True)


async def _participant(db, telegram_id: int, *, unreachable: bool = False) -> None:
    from models.participant import Participant, ParticipantStatus

    now = utcnow()
    async with db.transaction() as session:
        session.add(
            Participant(
                telegram_id=telegram_id,
                display_name=f"P{telegram_id}",
                language="fr",
                role="resident",
                consent_version="1",
                consent_given_at=now,
                registered_at=now,
                status=ParticipantStatus.ACTIVE,
                unreachable_since=now if unreachable else None,
            )
        )


async def _unreachable_since(db, telegram_id: int):
    from models.participant import Participant

    async with db.read() as session:
        return await session.scalar(
            select(Participant.unreachable_since).where(Participant.telegram_id == telegram_id)
        )


async def test_rows_to_an_unreachable_person_end_blocked_without_a_request(harness):
    """Someone who blocked the bot costs no request: the row ends blocked, its hook still runs."""
    from models.reachability import SKIPPED_UNREACHABLE

    await _participant(harness.db, 5, unreachable=True)
    await _participant(harness.db, 6)
    seen: list[OutboxState] = []

    async def hook(session, row) -> None:
        seen.append(row.state)

    await harness.start()
    harness.sender.on_result("notice", hook)
    skipped = await harness.enqueue(5, "to-blocked")
    fine = await harness.enqueue(6, "to-fine")
    await harness.settle()
    row = await harness.row(skipped)
    assert (row.state, row.last_error, row.attempts, row.in_doubt) == (
        OutboxState.BLOCKED,
        SKIPPED_UNREACHABLE,
        1,
        False,
    )
    assert (await harness.row(fine)).state is OutboxState.SENT
    assert [call.params["chat_id"] for call in harness.api.sent("sendMessage")] == [6]
    assert sorted(seen) == sorted([OutboxState.BLOCKED, OutboxState.SENT])


async def test_a_403_marks_the_person_unreachable(harness):
    """The first 403 marks the participant unreachable: their next message costs no request."""
    await _participant(harness.db, 5)
    harness.api.script[5] = [Reply.error(403, "Forbidden: bot was blocked by the user")]
    await harness.start()
    await harness.enqueue(5, "first")
    await harness.settle()
    assert await _unreachable_since(harness.db, 5) is not None
    await harness.enqueue(5, "second")
    await harness.settle()
    assert len(harness.api.sent("sendMessage")) == 1
