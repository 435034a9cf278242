"""The broadcast runner: follows what organisers' announcements are doing and reports on it.

Confirming an announcement writes the broadcast and one outbox row per recipient in one transaction
(`models.broadcasts.confirm_draft`); the one sender delivers them. The runner follows: it turns a
scheduled broadcast that fell due into a sending one, edits the organiser's confirmation message
with the progress at most every `PROGRESS_EVERY` seconds, then with the report (delivered, blocked,
failed, in doubt) and the buttons to list who missed it, correct it or delete it everywhere; it does
the same for a correction or a deletion in progress, and purges drafts nobody finished.

Progress edits are cosmetic: they go through the throttle as background requests, sent when no
delivery may go (or after waiting `RateLimits.background_max_wait`), so they never slow the
broadcast down; the runner waits for one before rendering the next, so they coalesce. The final
report is sent like any other request. When Telegram makes the bot wait (a 429), the progress says
so, and the report says why the broadcast was slower.

It runs as named PTB jobs: `FOLLOW_JOB`, one look every `TICK_SECONDS` (sooner when a handler wakes
it after a commit), and `PURGE_JOB`. Everything it follows is read from the database at each look,
so a restart (even a crash mid-broadcast) loses nothing: the first look after start picks up where
the previous process stopped. In memory it only keeps what it last showed, to skip useless edits
and to space them out.

What it shows is rendered by `schedule.broadcast_views`, which the handlers use too (see there why
it lives in `schedule/`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import HackbotApplication, HackbotContext, Services
from bot.delivery.throttle import TelegramThrottle
from models import broadcasts as bc
from models.privacy import ERASED_ID
from schedule.broadcast_views import Keyboard, operation_view, progress_view, report_view

if TYPE_CHECKING:
    from telegram.ext import JobQueue

log = logging.getLogger(__name__)

FOLLOW_JOB = "broadcasts.follow"
PURGE_JOB = "broadcasts.purge-drafts"
TICK_SECONDS = 1.0
PROGRESS_EVERY = 3.0
"""Seconds between two progress edits of the organiser's message (the report itself is not held).

Edits count against the same 30 messages a second as the broadcast: at 3 s, a 1,000-person
broadcast spends 12 of its ~35 seconds' requests on progress instead of 17 at 2 s."""
PURGE_EVERY = 600.0
SLOWED_FROM = 3.0
"""A 429 asking to wait at least this many seconds is worth a line in the report (shorter ones
only cost a second or two)."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What a handler just showed on the message of broadcast (`"b"`) or operation (`"o"`) `ident`."""

    kind: str
    ident: int
    text: str


@dataclass
class _Shown:
    text: str
    at: float


class BroadcastRunner:
    """Edits organisers' messages with the progress and the report of what is being sent.

    One per application (`Services.broadcasts`). Looks are never run two at a time: the next look
    is scheduled when one ends, and a wake-up during a look makes the next one immediate.
    """

    def __init__(self, application: HackbotApplication) -> None:
        """Not started yet: see `start`."""
        self.application = application
        self._shown: dict[tuple[str, int], _Shown] = {}
        # The longest wait Telegram imposed while each broadcast was sending (for its report).
        self._waited: dict[int, float] = {}
        self._running = False
        self._looking = False
        self._again = False

    @property
    def services(self) -> Services:
        """The application's services."""
        return self.application.bot_data.services

    def _jobs(self) -> JobQueue[HackbotContext] | None:
        job_queue = self.application.job_queue
        if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
            log.error("broadcasts: no JobQueue; progress and reports will not be shown")
        return job_queue

    async def start(self) -> None:
        """Start following (broadcasts interrupted by a restart are picked up at the first look)."""
        job_queue = self._jobs()
        if job_queue is None or self._running:
            return
        self._running = True
        self._next_look(0)
        for job in job_queue.get_jobs_by_name(PURGE_JOB):
            job.schedule_removal()
        job_queue.run_repeating(self._purge, interval=PURGE_EVERY, first=TICK_SECONDS, name=PURGE_JOB)

    async def stop(self) -> None:
        """Stop following (deliveries go on with the sender; the next start resumes the reports)."""
        self._running = False
        job_queue = self.application.job_queue
        if job_queue is None:
            return
        for name in (FOLLOW_JOB, PURGE_JOB):
            for job in job_queue.get_jobs_by_name(name):
                with contextlib.suppress(LookupError):  # already gone with the scheduler
                    job.schedule_removal()

    def wake(self, shown: Shown | None = None) -> None:
        """Look now (a broadcast was confirmed, stopped, corrected...).

        `shown`: what the handler is showing on the progress message (the runner need not repeat it).
        """
        if shown is not None:
            self._shown[(shown.kind, shown.ident)] = _Shown(shown.text, time.monotonic())
        if not self._running:
            return
        if self._looking:
            self._again = True
        else:
            self._next_look(0)

    def _next_look(self, delay: float) -> None:
        job_queue = self._jobs()
        if job_queue is None:
            return
        for job in job_queue.get_jobs_by_name(FOLLOW_JOB):
            job.schedule_removal()
        job_queue.run_once(self._look, delay, name=FOLLOW_JOB)

    async def _look(self, _context: HackbotContext) -> None:
        if not self._running:
            return
        self._looking, self._again = True, False
        try:
            await self.tick()
        except Exception:
            log.exception("broadcasts: follow-up failed; trying again")
        finally:
            self._looking = False
            if self._running:
                self._next_look(0 if self._again else TICK_SECONDS)

    async def _purge(self, _context: HackbotContext) -> None:
        async with self.services.db.transaction() as session:
            await bc.purge_expired_drafts(session, self.services.now())

    def _throttle(self) -> TelegramThrottle | None:
        limiter = getattr(self.application.bot, "rate_limiter", None)
        return limiter if isinstance(limiter, TelegramThrottle) else None

    async def tick(self) -> None:
        """One look at everything in progress."""
        services = self.services
        now = services.now()
        throttle = self._throttle()
        state = throttle.state() if throttle is not None else None
        async with services.db.read() as session:
            broadcasts = await bc.active_broadcasts(session)
            operations = await bc.active_operations(session)
            sends = {b.id: await bc.progress(session, bc.PURPOSE_SEND, b.id) for b in broadcasts}
            changes = {o.id: await bc.progress(session, bc.purpose_of(o.kind), o.id) for o in operations}
        for broadcast in broadcasts:
            paused_for = 0.0
            if state is not None and broadcast.status is bc.BroadcastStatus.SENDING:
                paused_for = state.paused_for
                if state.last_retry_after >= SLOWED_FROM:
                    waited = self._waited.get(broadcast.id, 0.0)
                    self._waited[broadcast.id] = max(waited, state.last_retry_after)
            await self._follow(broadcast, sends[broadcast.id], now, paused_for)
        for operation in operations:
            await self._follow_operation(operation, changes[operation.id], now)

    async def _follow(
        self, broadcast: bc.Broadcast, figures: bc.Progress, now: datetime, paused_for: float = 0.0
    ) -> None:
        services = self.services
        if broadcast.status is bc.BroadcastStatus.SCHEDULED:
            if broadcast.scheduled_at is not None and broadcast.scheduled_at > now and not figures.cancelled:
                return  # the confirmation already says when
            async with services.db.transaction() as session:
                await bc.start_sending(session, broadcast.id)
            broadcast.status = bc.BroadcastStatus.SENDING
        key = ("b", broadcast.id)
        if figures.finished:
            waited = self._waited.get(broadcast.id, 0.0)
            text, keyboard = report_view(services, broadcast, figures, waited=waited)
            if await self._show(
                key, broadcast.progress_chat_id, broadcast.progress_message_id, text, keyboard
            ):
                async with services.db.transaction() as session:
                    await bc.finish_broadcast(session, broadcast.id, figures, now)
                self._shown.pop(key, None)
                self._waited.pop(broadcast.id, None)
                log.info(
                    "broadcast %d finished: %d sent, %d blocked, %d failed, %d cancelled, %d in doubt",
                    broadcast.id,
                    figures.sent,
                    figures.blocked,
                    figures.failed,
                    figures.cancelled,
                    figures.in_doubt,
                )
            return
        text, keyboard = progress_view(services, broadcast, figures, now, paused_for=paused_for)
        await self._show(
            key, broadcast.progress_chat_id, broadcast.progress_message_id, text, keyboard, hold=True
        )

    async def _follow_operation(
        self, operation: bc.BroadcastOperation, figures: bc.Progress, now: datetime
    ) -> None:
        key = ("o", operation.id)
        text = operation_view(self.services, operation, figures)
        if figures.finished:
            if await self._show(key, operation.progress_chat_id, operation.progress_message_id, text, None):
                async with self.services.db.transaction() as session:
                    await bc.finish_operation(session, operation.id, figures, now)
                self._shown.pop(key, None)
            return
        await self._show(
            key, operation.progress_chat_id, operation.progress_message_id, text, None, hold=True
        )

    async def _show(
        self,
        key: tuple[str, int],
        chat_id: int,
        message_id: int | None,
        text: str,
        keyboard: Keyboard | None,
        *,
        hold: bool = False,
    ) -> bool:
        """Edit the organiser's message (or send one if there is none); True once it is shown.

        `hold`: a progress update, skipped when unchanged or shown less than `PROGRESS_EVERY` ago.
        False means "try again at the next look" (a network error).
        """
        if chat_id == ERASED_ID:
            return True  # the organiser erased their data: nobody to report to
        shown = self._shown.get(key)
        if (
            hold
            and shown is not None
            and (shown.text == text or time.monotonic() - shown.at < PROGRESS_EVERY)
        ):
            return True
        bot = self.application.bot
        # A progress edit must not take a place a delivery could use (see the module docstring).
        # (The application's bot is typed without rate-limiter arguments: passed untyped.)
        background: dict[str, Any] = (
            {"rate_limit_args": {"priority": "background"}}
            if hold and getattr(bot, "rate_limiter", None) is not None
            else {}
        )
        try:
            if message_id is None:
                if hold:
                    return True  # no message to update; the report will be sent as a new one
                await bot.send_message(chat_id, text, reply_markup=keyboard)
            else:
                await bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard,
                    **background,
                )
        except BadRequest as exc:
            # "message is not modified" after a restart, or the message is gone: nothing more to do.
            log.info(
                "broadcasts: progress message %s in chat %s not edited (%s)", message_id, chat_id, exc.message
            )
        except Forbidden:
            log.info("broadcasts: organiser %s blocked the bot; report not shown", chat_id)
        except TelegramError as exc:
            log.warning("broadcasts: progress edit failed (%s); trying again", exc)
            return False
        self._shown[key] = _Shown(text, time.monotonic())
        return True


def after_commit(services: Services, shown: Shown | None = None) -> None:
    """After a commit that queued deliveries or stopped some: let the sender and the runner look now.

    `shown`: what the handler is about to show on the progress message (the runner need not).
    """
    services.wake_sender()
    if services.broadcasts is not None:
        services.broadcasts.wake(shown)


async def start_broadcasts(application: HackbotApplication) -> None:
    """Lifecycle step: follow the broadcasts (those interrupted by a restart too)."""
    services = application.bot_data.services
    if services.broadcasts is None:
        services.broadcasts = BroadcastRunner(application)
    await services.broadcasts.start()


async def stop_broadcasts(application: HackbotApplication) -> None:
    """Lifecycle step: stop following; the sender and the database keep the state."""
    runner = application.bot_data.services.broadcasts
    if runner is not None:
        await runner.stop()
