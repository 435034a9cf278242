"""`OutboxSender`: sends the rows of `outgoing_messages`, each at most once barring a crash mid-request.

The cycle of a row:

1. claim: due `pending` rows become `sending` (claimed) in a transaction. At most one row per chat
   is claimed, so every chat receives its messages in order; across chats up to `concurrency`
   requests wait in the throttle or are in flight at once (29 msg/s with 50 ms of network latency
   needs about two dozen in parallel). A row whose recipient blocked the bot
   (`models.reachability`) is finished `blocked` at once, without a request.
2. send through the bot with `rate_limit_args={"priority": "bulk", "before_send": ...}`: the
   `TelegramThrottle` on the Application keeps the flood limits and lets interactive replies
   overtake; when it lets the request go, `before_send` commits the row's `departed_at` *before*
   the request leaves (marks of requests leaving together share one transaction), so a crash
   leaves evidence of exactly the requests that may have reached Telegram.
3. record, in one transaction with the feature's `on_result` hook: `sent` (with the message id), or
   back to `pending` later (429, network errors, 5xx: exponential backoff, `failed` after
   `max_attempts`), or `blocked` (403, final: the person is marked unreachable), or `failed` (400,
   final, Telegram's description kept).

At start-up, rows still `sending` were claimed during a crash: they go back to `pending`, flagged
`in_doubt=True` only if their request had left (the recipient may get that one message twice;
nothing else is ever re-sent). The organiser's "in doubt" figure counts those rows and no others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.delivery.throttle import retry_after_seconds
from models import reachability
from models.base import utcnow
from models.db import Database
from models.outbox import LAST_ERROR_MAX, OutboxMethod, OutboxState, OutgoingMessage

log = logging.getLogger(__name__)

ResultHook = Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]
Clock = Callable[[], datetime]

# Bot method and the parameters passed by name; every other payload key goes through `api_kwargs`,
# which PTB serialises as is (the payload is already in Bot API JSON form).
_CALLS: dict[OutboxMethod, tuple[str, tuple[str, ...]]] = {
    OutboxMethod.SEND_MESSAGE: ("send_message", ("text",)),
    OutboxMethod.COPY_MESSAGE: ("copy_message", ("from_chat_id", "message_id")),
    OutboxMethod.SEND_PHOTO: ("send_photo", ("photo",)),
    OutboxMethod.SEND_DOCUMENT: ("send_document", ("document",)),
    OutboxMethod.SEND_VOICE: ("send_voice", ("voice",)),
    OutboxMethod.EDIT_MESSAGE_TEXT: ("edit_message_text", ("text", "message_id")),
    OutboxMethod.EDIT_MESSAGE_CAPTION: ("edit_message_caption", ("message_id",)),
    OutboxMethod.DELETE_MESSAGE: ("delete_message", ("message_id",)),
}

# 400 answers that mean the wanted end state already holds (typically a re-send after a crash).
_ALREADY_DONE = ("message is not modified", "message to delete not found")


@dataclass(frozen=True, slots=True)
class _Claimed:
    """What a delivery task needs from its row (plain values: no ORM object crosses sessions)."""

    id: int
    chat_id: int
    method: OutboxMethod
    payload: dict[str, Any]
    purpose: str
    attempts: int
    unreachable: bool = False  # its recipient blocked the bot: finished without a request


class _NotMarked(Exception):  # noqa: N818 - internal signal, never leaves this module
    """The departure of a request could not be recorded: it was not sent (tried again later)."""


class _Departures:
    """Commits `departed_at` for rows whose request is about to leave, a batch per transaction.

    Requests leave about 30 a second and each waits for its mark: marks arriving while one
    transaction is being written go together in the next.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, row_id: int) -> None:
        """Return once the row's departure is committed; raise `_NotMarked` if it could not be."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting[row_id] = future
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write(), name="outbox-departures")
        await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                async with self.db.transaction() as session:
                    now = self.clock()
                    await session.execute(
                        update(OutgoingMessage)
                        .where(
                            OutgoingMessage.id.in_(list(batch)), OutgoingMessage.state == OutboxState.SENDING
                        )
                        .values(departed_at=now, updated_at=now)
                        .execution_options(synchronize_session=False)
                    )
            except Exception as exc:
                log.exception("outbox: recording %d departure(s) failed; not sending them", len(batch))
                error = _NotMarked(type(exc).__name__)
                for future in batch.values():
                    if not future.done():
                        future.set_exception(error)
                continue
            for future in batch.values():
                if not future.done():
                    future.set_result(None)

    async def stop(self) -> None:
        """Wait for the transaction being written (marks still waiting fail)."""
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), 5.0)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How a request ended, decided without the database."""

    state: OutboxState
    sent_message_id: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, for a 429 that outlasted the throttle's retries
    in_doubt: bool = False  # a timeout: the message may have arrived


def _describe(exc: BaseException) -> str:
    """Telegram's description of an error (never the payload), cut to the column size."""
    text = exc.message if isinstance(exc, TelegramError) else type(exc).__name__
    return text[:LAST_ERROR_MAX]


class OutboxSender:
    """Background task sending due outbox rows through the bot."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        *,
        clock: Clock = utcnow,
        concurrency: int = 32,
        poll_interval: float = 1.0,
        max_attempts: int = 5,
        backoff_base: float = 5.0,
        backoff_cap: float = 600.0,
        stop_timeout: float = 10.0,
    ) -> None:
        """`max_attempts`: transient failures (429, network, 5xx) before a row is `failed`.

        Retries wait `backoff_base * 2**(attempt-1)` seconds, at most `backoff_cap`.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.bot = bot
        self.db = db
        self.clock = clock
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stop_timeout = stop_timeout
        self._hooks: dict[str, list[ResultHook]] = {}
        self._tasks: dict[asyncio.Task[None], int] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._departures = _Departures(db, clock)
        # Bulk priority only means something to a rate limiter; ExtBot refuses it without one.
        self._rate_limited = isinstance(bot, ExtBot) and bot.rate_limiter is not None

    # -- public API --------------------------------------------------------------------------

    def on_result(self, purpose: str, hook: ResultHook) -> None:
        """Await `hook(session, row)` when a row of `purpose` ends sent, failed or blocked.

        It runs in the transaction that records the outcome (inside a savepoint: if it raises, its
        own changes are rolled back and logged, the outcome is still recorded).
        """
        self._hooks.setdefault(purpose, []).append(hook)

    def wake(self) -> None:
        """Look for due rows now (call after committing an enqueue)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """True between `start` and `stop`."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        """Rows being sent right now."""
        return len(self._tasks)

    async def start(self) -> None:
        """Recover rows interrupted by a crash, then start the background loop."""
        if self.running:
            return
        recovered = await self.recover()
        if recovered:
            log.warning("outbox: %d message(s) were in flight during a crash; re-sending them", recovered)
        self._stopping = False
        self._wake = asyncio.Event()
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Stop claiming; let requests in flight finish (up to `stop_timeout`), then cancel the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if not self._tasks:
            return
        _, unfinished = await asyncio.wait(list(self._tasks), timeout=self.stop_timeout)
        if not unfinished:
            return
        ids = [self._tasks[task] for task in unfinished]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        await self._departures.stop()
        # Same treatment as after a crash, without waiting for the next start.
        async with self.db.transaction() as session:
            await session.execute(
                update(OutgoingMessage)
                .where(OutgoingMessage.id.in_(ids), OutgoingMessage.state == OutboxState.SENDING)
                .values(**self._back_to_pending())
            )

    def _back_to_pending(self) -> dict[str, Any]:
        """Values for rows claimed when the process stopped: in doubt only if their request had left."""
        return {
            "state": OutboxState.PENDING,
            "in_doubt": or_(OutgoingMessage.in_doubt, OutgoingMessage.departed_at.is_not(None)),
            "departed_at": None,
            "updated_at": self.clock(),
        }

    async def recover(self) -> int:
        """Put rows left `sending` by a crash back to `pending`; return how many had left (in doubt).

        Only rows whose request had left the throttle (`departed_at` set) may have reached
        Telegram: those are flagged `in_doubt`; the others were only claimed and are sent normally.
        """
        async with self.db.transaction() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(OutgoingMessage)
                .where(OutgoingMessage.state == OutboxState.SENDING, OutgoingMessage.departed_at.is_not(None))
            )
            await session.execute(
                update(OutgoingMessage)
                .where(OutgoingMessage.state == OutboxState.SENDING)
                .values(**self._back_to_pending())
            )
        return int(left or 0)

    # -- loop --------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a wake() during the claim is not lost.
            self._wake.clear()
            timeout: float | None = None
            try:
                free = self.concurrency - len(self._tasks)
                claimed_at = self.clock()
                if free > 0:
                    claimed_at, rows = await self._claim(free)
                    for row in rows:
                        task = asyncio.get_running_loop().create_task(
                            self._deliver(row), name=f"outbox-{row.id}"
                        )
                        self._tasks[task] = row.id
                        task.add_done_callback(self._task_done)
                if len(self._tasks) < self.concurrency:
                    timeout = await self._seconds_to_next_due(claimed_at)
                # else: a finishing task wakes us.
            except Exception:
                log.exception("outbox: claiming failed; retrying in %.1fs", self.poll_interval)
                timeout = self.poll_interval
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox: delivery task crashed", exc_info=task.exception())
        self._wake.set()

    async def _seconds_to_next_due(self, claimed_at: datetime) -> float:
        """Until the next pending row falls due, at most `poll_interval` (rows enqueued elsewhere).

        Rows due at `claimed_at` were either claimed or wait for a busy chat (whose task wakes us
        when it ends); a row falling due since then gives 0, so the loop claims it at once.
        """
        async with self.db.read() as session:
            next_due = await session.scalar(
                select(func.min(OutgoingMessage.due_at)).where(
                    OutgoingMessage.state == OutboxState.PENDING, OutgoingMessage.due_at > claimed_at
                )
            )
        if next_due is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, (next_due - self.clock()).total_seconds()))

    async def _claim(self, limit: int) -> tuple[datetime, list[_Claimed]]:
        """Mark up to `limit` due rows `sending` (committed on return), one per chat not already busy.

        Returns the time used as "now" and the claimed rows.
        """
        async with self.db.transaction() as session:
            now = self.clock()
            await session.execute(
                update(OutgoingMessage)
                .where(
                    OutgoingMessage.state == OutboxState.PENDING,
                    OutgoingMessage.expires_at.is_not(None),
                    OutgoingMessage.expires_at <= now,
                )
                .values(state=OutboxState.EXPIRED, updated_at=now)
            )
            busy_chats = select(OutgoingMessage.chat_id).where(OutgoingMessage.state == OutboxState.SENDING)
            order = (OutgoingMessage.priority.desc(), OutgoingMessage.due_at, OutgoingMessage.id)
            ranked = (
                select(
                    OutgoingMessage.id,
                    OutgoingMessage.priority,
                    OutgoingMessage.due_at,
                    func.row_number()
                    .over(partition_by=OutgoingMessage.chat_id, order_by=order)
                    .label("rank"),
                )
                .where(
                    OutgoingMessage.state == OutboxState.PENDING,
                    OutgoingMessage.due_at <= now,
                    OutgoingMessage.chat_id.not_in(busy_chats),
                )
                .subquery()
            )
            ids = list(
                await session.scalars(
                    select(ranked.c.id)
                    .where(ranked.c.rank == 1)  # the head of each chat's queue: chats stay FIFO
                    .order_by(ranked.c.priority.desc(), ranked.c.due_at, ranked.c.id)
                    .limit(limit)
                )
            )
            if not ids:
                return now, []
            rows_query = select(OutgoingMessage).where(
                OutgoingMessage.id.in_(ids), OutgoingMessage.state == OutboxState.PENDING
            )
            if session.get_bind().dialect.name == "postgresql":
                # Window functions cannot be locked, so the chosen rows are locked here; a row
                # another sender holds is skipped rather than waited for.
                rows_query = rows_query.with_for_update(skip_locked=True)
            rows = list((await session.scalars(rows_query.order_by(*order))).all())
            unreachable = await reachability.unreachable_among(session, (row.chat_id for row in rows))
            claimed = []
            for row in rows:
                row.state = OutboxState.SENDING
                row.departed_at = None
                claimed.append(
                    _Claimed(
                        id=row.id,
                        chat_id=row.chat_id,
                        method=OutboxMethod(row.method),
                        payload=dict(row.payload),
                        purpose=row.purpose,
                        attempts=row.attempts,
                        unreachable=row.chat_id in unreachable,
                    )
                )
        return now, claimed

    # -- one row -----------------------------------------------------------------------------

    async def _call(self, row: _Claimed) -> object:
        name, named = _CALLS[row.method]
        extra = dict(row.payload)
        kwargs = {key: extra.pop(key) for key in named if key in extra}
        method: Callable[..., Awaitable[object]] = getattr(self.bot, name)

        async def depart() -> None:
            await self._departures.mark(row.id)

        if not self._rate_limited:
            await depart()
            return await method(chat_id=row.chat_id, **kwargs, api_kwargs=extra or None)
        return await method(
            chat_id=row.chat_id,
            **kwargs,
            api_kwargs=extra or None,
            rate_limit_args={"priority": "bulk", "before_send": depart},
        )

    async def _deliver(self, row: _Claimed) -> None:
        if row.unreachable:
            # The person blocked the bot: no request, the row ends as a 403 would have ended it.
            outcome = _Outcome(OutboxState.BLOCKED, error=reachability.SKIPPED_UNREACHABLE)
        else:
            outcome = await self._attempt(row)
        # The request is done; losing its outcome now would re-send it after a restart, so a
        # failing write is tried again.
        for attempt in range(3):
            try:
                await self._record(row, outcome)
                return
            except Exception:
                log.exception("outbox: recording the outcome of row %d failed (try %d)", row.id, attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))

    async def _attempt(self, row: _Claimed) -> _Outcome:
        """Send one row and classify what happened (no exception escapes but cancellation)."""
        try:
            result = await self._call(row)
        except _NotMarked as exc:
            return _Outcome(OutboxState.PENDING, error=f"departure not recorded: {exc}")
        except Forbidden as exc:
            return _Outcome(OutboxState.BLOCKED, error=_describe(exc))
        except BadRequest as exc:
            if any(marker in exc.message.lower() for marker in _ALREADY_DONE):
                return _Outcome(OutboxState.SENT, error=_describe(exc))
            return _Outcome(OutboxState.FAILED, error=_describe(exc))
        except ChatMigrated as exc:
            # The group became a supergroup: the feature must re-address it; replaying is wrong.
            return _Outcome(OutboxState.FAILED, error=f"chat migrated to {exc.new_chat_id}")
        except RetryAfter as exc:
            return _Outcome(OutboxState.PENDING, error=_describe(exc), retry_after=retry_after_seconds(exc))
        except TimedOut as exc:
            # Sent, perhaps: Telegram may have received it before the connection gave up.
            return _Outcome(OutboxState.PENDING, error=_describe(exc), in_doubt=True)
        except (NetworkError, TelegramError) as exc:  # 5xx, connection errors, unexpected answers
            return _Outcome(OutboxState.PENDING, error=_describe(exc))
        except Exception as exc:
            # A bug (e.g. a payload PTB cannot serialise) must not stop the other deliveries.
            log.exception("outbox: row %d (%s) raised", row.id, row.method.value)
            return _Outcome(OutboxState.FAILED, error=f"internal error: {_describe(exc)}")
        message_id = getattr(result, "message_id", None)
        return _Outcome(OutboxState.SENT, sent_message_id=message_id if isinstance(message_id, int) else None)

    def _backoff(self, attempts: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * 2 ** max(attempts - 1, 0)))

    async def _record(self, row: _Claimed, outcome: _Outcome) -> None:
        async with self.db.transaction() as session:
            stored = await session.get(OutgoingMessage, row.id, populate_existing=True, with_for_update=True)
            if stored is None or stored.state is not OutboxState.SENDING:
                log.warning("outbox: row %d changed while it was being sent; outcome dropped", row.id)
                return
            now = self.clock()
            stored.attempts += 1
            stored.last_error = outcome.error
            if outcome.state is OutboxState.PENDING:
                stored.in_doubt = stored.in_doubt or outcome.in_doubt
                stored.departed_at = None
                if stored.attempts < self.max_attempts:
                    delay = (
                        outcome.retry_after
                        if outcome.retry_after is not None
                        else self._backoff(stored.attempts)
                    )
                    stored.state = OutboxState.PENDING
                    stored.due_at = now + timedelta(seconds=delay)
                    log.info("outbox: row %d retry %d in %.1fs", row.id, stored.attempts, delay)
                    return
                stored.state = OutboxState.FAILED
                log.warning("outbox: row %d failed after %d attempts", row.id, stored.attempts)
            else:
                stored.state = outcome.state
                if outcome.state is OutboxState.SENT:
                    stored.sent_message_id = outcome.sent_message_id
                    stored.sent_at = now
                else:
                    log.info("outbox: row %d ended %s", row.id, outcome.state.value)
                if outcome.state is OutboxState.BLOCKED and not row.unreachable and row.chat_id > 0:
                    # A 403 to a private chat: the person blocked the bot (the update saying so
                    # may never come, e.g. if it was sent while the bot was down).
                    change = await reachability.mark_unreachable(session, row.chat_id, now)
                    if change.changed:
                        log.info("outbox: chat %d marked unreachable after a 403", row.chat_id)
            await session.flush()
            for hook in self._hooks.get(row.purpose, ()):
                try:
                    async with session.begin_nested():
                        await hook(session, stored)
                except Exception:
                    log.exception("outbox: %s hook failed for row %d", row.purpose, row.id)
                    # The savepoint's rollback expired the row; reload it (async) for the next hook.
                    await session.refresh(stored)
