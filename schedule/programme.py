"""The programme engine: reminders, meal announcements and change notices, sent on time.

One `ProgrammeEngine` per application (`services.programme`), started and stopped by its line in
`bot.lifecycle`:

- at start, `models.programme.sync_programme` aligns the stored batches with the event file (the
  database is the source of truth), then one named PTB job per planned batch (`prog:batch:<id>`) is
  scheduled, plus a safety tick (`prog:tick`) that catches batches whose job fired late or never
  (clock jumps, participants registering in numbers);
- a job turns its batch into one outbox row per recipient in one transaction
  (`models.programme.queue_batch`) and wakes the sender; the rows of a batch become sendable half
  their sending time before the due time, so that with the 30 messages a second limit the
  deliveries are centred on it (see `schedule.planner.spread_start`);
- `/reload`, `hackbot reload` and SIGHUP re-read the event file, keep the old programme if the new
  one is invalid (and say why), re-plan, tell people once about moved items, and let the other
  running parts follow the new file (`after_reload`: `bot.lifecycle.run_reload`, handed over by
  `bot.lifecycle` so that this module does not import it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import HackbotApplication, HackbotContext, Services
from bot.delivery.limits import RateLimits
from bot.i18n import Catalog
from models import meals as meal_store
from models import programme as store
from schedule.config import AUDIENCE_ALL, EventConfig
from schedule.loader import ConfigError, load_event_config
from schedule.planner import (
    BatchKind,
    PlannerOptions,
    fanout_advance,
    meal_key,
    reminder_key,
    rows_expiry,
    spread_start,
    subject_end,
)
from schedule.programme_texts import announcement_text, change_text, reminder_text
from schedule.reload import remove_pid_file, write_pid_file

log = logging.getLogger(__name__)

JOB_PREFIX = "prog:batch:"
TICK_JOB = "prog:tick"
TICK_SECONDS = 5.0
EARLY_TOLERANCE = dt.timedelta(seconds=1)
"""A job firing earlier than this before its time (the wall clock went back) is rescheduled."""

SUSTAINED_RATE_FACTOR = 0.9
"""Share of the throttle's rate a batch is assumed to leave at (see `ProgrammeEngine.rate`)."""

AfterReload = Callable[[HackbotApplication], Awaitable[None]]
"""What runs once a reload installed the new event: the other running parts follow it."""


@dataclass
class ReloadOutcome:
    """What a reload did: the new plan, or why the file was refused."""

    ok: bool
    errors: list[str] = field(default_factory=list)
    result: store.SyncResult | None = None


class ProgrammeEngine:
    """Plans batches from the event file, schedules one job per batch, fans batches out."""

    def __init__(
        self,
        application: HackbotApplication,
        options: PlannerOptions | None = None,
        after_reload: AfterReload | None = None,
    ) -> None:
        """Nothing runs until `start`.

        `options`: None (the bot's case) takes them from the event file, so a reload that changes
        `reminders.grace_minutes` applies it to the batches still planned. `after_reload`: run
        once a reload installed the new event (`bot.lifecycle.run_reload` in the bot).
        """
        self.application = application
        self.options = options
        self.after_reload = after_reload
        self.lock = asyncio.Lock()
        self.rehearsal_shift = dt.timedelta(0)
        self.estimate = 0  # reachable participants: sizes the fan-out advance
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signal_installed = False
        self._pid_file: Path | None = None

    @property
    def services(self) -> Services:
        """The application's services."""
        return self.application.bot_data.services

    @property
    def allowed_rate(self) -> float:
        """Messages a second the throttle lets through (29 per 1.02 s, 28.4/s, by default)."""
        limiter = getattr(self.application.bot, "rate_limiter", None)
        limits = getattr(limiter, "limits", None)
        if not isinstance(limits, RateLimits):
            limits = RateLimits()
        return limits.global_per_second / limits.global_window

    @property
    def rate(self) -> float:
        """Messages a second a batch is assumed to leave at (what its spread around the due time uses).

        The throttle allows 28.4/s, which the sender sustains on a quiet machine (a little less on a
        busy one). Assuming 90 % (25.6/s) releases a batch a little earlier than the exact middle:
        for 100 people the first arrives 1.95 s early and the last stays within 2 s down to 25/s.
        """
        return self.allowed_rate * SUSTAINED_RATE_FACTOR

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> store.SyncResult:
        """Align the plan with the event file, schedule the jobs, listen for SIGHUP."""
        self.rehearsal_shift = self._detect_rehearsal_shift()
        services = self.services
        async with self.lock, services.db.transaction() as session:
            result = await store.sync_programme(
                session,
                services.event,
                now=services.now(),
                announce_changes=None,
                options=self.options,
            )
        log.info(
            "programme: %d batch(es) planned, %d cancelled, %d skipped, %d change notice(s)",
            result.planned,
            result.cancelled,
            result.skipped,
            len(result.announced),
        )
        await self.schedule_all()
        job_queue = self.application.job_queue
        if job_queue is not None:
            for job in job_queue.get_jobs_by_name(TICK_JOB):
                job.schedule_removal()
            job_queue.run_repeating(self._on_tick, interval=TICK_SECONDS, first=TICK_SECONDS, name=TICK_JOB)
        if self._install_signal_handler():
            # Only then: `hackbot reload` signals the pid, and SIGHUP would kill a process without it.
            self._pid_file = write_pid_file(services.settings)
        services.wake_sender()
        return result

    async def stop(self) -> None:
        """Stop listening for SIGHUP and forget the pid file (jobs stop with the job queue)."""
        if self._signal_installed:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False
        if self._pid_file is not None:
            remove_pid_file(self._pid_file)
            self._pid_file = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _detect_rehearsal_shift(self) -> dt.timedelta:
        """How far `--rehearse-at` moved the programme from the file (re-applied on reload)."""
        try:
            in_file = load_event_config(self.services.settings.event_config)
        except ConfigError:
            return dt.timedelta(0)
        if in_file.id != self.services.event.id:
            return dt.timedelta(0)
        return self.services.event.start.astimezone(dt.UTC) - in_file.start.astimezone(dt.UTC)

    def _install_signal_handler(self) -> bool:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            log.info("programme: SIGHUP reload not available here")
            return False
        self._signal_installed = True
        return True

    def _on_sighup(self) -> None:
        log.info("programme: SIGHUP received, reloading the event file")
        task = asyncio.get_running_loop().create_task(self._reload_from_signal(), name="programme-reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload_from_signal(self) -> None:
        try:
            outcome = await self.reload()
        except Exception:
            log.exception("programme: reload failed")
            return
        if not outcome.ok:
            await self.alert_organisers(outcome.errors)

    # -- jobs ------------------------------------------------------------------------------------

    def fanout_at(self, due: dt.datetime) -> dt.datetime:
        """When the batch due at `due` is turned into outbox rows."""
        return due - fanout_advance(self.estimate, self.rate)

    async def schedule_all(self) -> int:
        """Replace every batch job by one per planned batch (at start and after a reload)."""
        async with self.services.db.read() as session:
            batches = await store.planned_batches(session)
            self.estimate = await store.count_reachable(session)
        job_queue = self.application.job_queue
        if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
            log.error("programme: no job queue; only the tick would send reminders")
            return 0
        for job in job_queue.jobs(pattern=f"^{JOB_PREFIX}"):
            job.schedule_removal()
        for batch in batches:
            self._schedule(batch.id, batch.due_at)
        return len(batches)

    def _schedule(self, batch_id: int, due: dt.datetime) -> None:
        job_queue = self.application.job_queue
        if job_queue is None:  # pragma: no cover
            return
        name = f"{JOB_PREFIX}{batch_id}"
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        # A delay rather than an instant: the services clock (which tests and rehearsals may
        # move) decides, not the scheduler's wall clock. No misfire limit: late is checked here.
        delay = max(0.0, (self.fanout_at(due) - self.services.now()).total_seconds())
        job_queue.run_once(
            self._on_job,
            when=delay,
            data=(batch_id, due),
            name=name,
            job_kwargs={"misfire_grace_time": None},
        )

    async def _on_job(self, context: HackbotContext) -> None:
        job = context.job
        if job is None or not isinstance(job.data, tuple):
            return
        batch_id, due = job.data
        if self.services.now() < self.fanout_at(due) - EARLY_TOLERANCE:
            # The wall clock went back since the job was planned: wait for the real time.
            self._schedule(batch_id, due)
            return
        await self.fire(batch_id)

    async def _on_tick(self, context: HackbotContext) -> None:
        await self.tick()

    async def tick(self) -> int:
        """Fan out every planned batch whose time has come (a job that fired late or never)."""
        now = self.services.now()
        async with self.services.db.read() as session:
            batches = await store.planned_batches(session)
            self.estimate = await store.count_reachable(session)
        sent = 0
        for batch in batches:
            if self.fanout_at(batch.due_at) <= now:
                sent += await self.fire(batch.id)
        return sent

    async def fire(self, batch_id: int) -> int:
        """Turn one batch into outbox rows (once: a second call finds it done); returns rows queued."""
        async with self.lock:
            created = await self._fan_out(batch_id)
        if created:
            self.services.wake_sender()
        return created

    async def _fan_out(self, batch_id: int) -> int:
        services = self.services
        event = services.event
        async with services.db.transaction() as session:
            now = services.now()
            batch = await store.claim_batch(session, batch_id)
            if batch is None:
                return 0
            if batch.expires_at <= now:
                store.finish_batch(batch, store.BatchState.SKIPPED, now)
                log.info("programme: batch %d skipped: past its expiry", batch_id)
                return 0
            messages = await _compose(session, batch, event, services.catalog, now)
            if messages is None:
                store.finish_batch(batch, store.BatchState.CANCELLED, now)
                log.info("programme: batch %d cancelled: its item changed or disappeared", batch_id)
                return 0
            send_from = spread_start(batch.due_at, len(messages), self.rate, now)
            end = subject_end(event, batch.kind, batch.subject_id) or batch.expires_at
            expires = rows_expiry(batch.expires_at, end, send_from, len(messages), self.rate)
            created = await store.queue_batch(
                session, batch, messages, now=now, send_from=send_from, expires_at=expires
            )
        log.info("programme: batch %d (%s) queued for %d recipient(s)", batch_id, batch.kind.value, created)
        return created

    # -- reload ----------------------------------------------------------------------------------

    async def reload(self) -> ReloadOutcome:
        """Re-read the event file; keep the old programme if it is invalid; re-plan; announce changes."""
        services = self.services
        path = services.settings.event_config
        try:
            fresh = await asyncio.to_thread(load_event_config, path)
        except ConfigError as exc:
            log.warning("programme: reload refused, the event file has %d problem(s)", len(exc.errors))
            return ReloadOutcome(False, list(exc.errors))
        if self.rehearsal_shift:
            fresh = fresh.shifted_to(fresh.start.astimezone(dt.UTC) + self.rehearsal_shift)
        async with self.lock:
            async with services.db.transaction() as session:
                result = await store.sync_programme(
                    session, fresh, now=services.now(), announce_changes=True, options=self.options
                )
            services.event = fresh
        # The other running parts follow the new file (the programme has no reload step of its
        # own in `bot.lifecycle`, so this does not come back here).
        if self.after_reload is not None:
            try:
                await self.after_reload(self.application)
            except Exception:
                log.exception("programme: a running part failed to follow the reload")
        await self.schedule_all()
        services.wake_sender()
        log.info(
            "programme: reloaded; %d change notice(s), %d planned, %d cancelled",
            len(result.announced),
            result.planned,
            result.cancelled,
        )
        return ReloadOutcome(True, [], result)

    async def alert_organisers(self, errors: list[str]) -> int:
        """Tell every organiser (in the default language) why the event file was refused."""
        services = self.services
        lang = services.event.default_language
        body = services.catalog.text(lang, "programme.reload_invalid", errors="\n".join(errors[:20]))
        async with services.db.transaction() as session:
            created = await store.queue_alert(session, services.event.organisers, body, uuid.uuid4().hex[:12])
        services.wake_sender()
        return created


async def _compose(
    session: AsyncSession,
    batch: store.NotificationBatch,
    event: EventConfig,
    catalog: Catalog,
    now: dt.datetime,
) -> list[tuple[store.Recipient, str]] | None:
    """Recipients and texts of a batch as of `now`; None when the batch no longer matches the event."""
    at = max(now, batch.due_at)
    if batch.kind is BatchKind.REMINDER:
        item = event.item(batch.subject_id)
        if item is None or reminder_key(item.id, item.start) != batch.key:
            return None
        people = await store.recipients(session, audience=item.audience)
        return [(p, reminder_text(catalog, event, p.language, item, at)) for p in people]
    if batch.kind is BatchKind.MEAL:
        meal = event.meal(batch.subject_id)
        if meal is None or meal_key(meal.id, event.meal_window(meal)[0]) != batch.key:
            return None
        absent = await meal_store.not_attending(session, meal.id)
        people = await store.recipients(session, exclude=absent, with_needs=True)
        return [(p, announcement_text(catalog, event, meal, p.language, p.needs)) for p in people]
    # A change notice: only the newest revision of the entry is told.
    entries = await store.load_entries(session)
    entry = entries.get(batch.subject_id)
    if entry is None or (batch.detail or {}).get("revision") != entry.revision:
        return None
    kind, _, subject = batch.subject_id.partition(":")
    audience = AUDIENCE_ALL
    default = event.default_language
    if kind == "item":
        item = event.item(subject)
        if item is None:
            return None
        audience = item.audience
        titles, place_texts, start = item.title, item.place, item.start
    else:
        meal = event.meal(subject)
        if meal is None:
            return None
        titles, place_texts, start = meal.name, meal.place, event.meal_window(meal)[0]
    people = await store.recipients(session, audience=audience, respect_opt_out=False)
    detail = batch.detail or {}
    return [
        (
            p,
            change_text(
                catalog,
                event,
                p.language,
                title=titles.get(p.language, default),
                start=start,
                place=place_texts.get(p.language, default) if place_texts is not None else None,
                time_changed=bool(detail.get("time")),
                place_changed=bool(detail.get("place")),
                now=now,
            ),
        )
        for p in people
    ]


async def start_programme(application: HackbotApplication, after_reload: AfterReload | None = None) -> None:
    """Start the programme engine (the outbox sender is started by the application before)."""
    services = application.bot_data.services
    engine = ProgrammeEngine(application, after_reload=after_reload)
    services.programme = engine
    await engine.start()


async def stop_programme(application: HackbotApplication) -> None:
    """Stop the engine."""
    engine = application.bot_data.services.programme
    if engine is not None:
        await engine.stop()
