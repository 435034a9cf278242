"""Programme: `/programme`, the calendar file, `/rappels`, `/reload`, and the reminder scheduler.

Telegram side (thin): parse the update, ask `schedule.timeline` / `models.programme`, render texts.
Scheduling side (`ProgrammeEngine`, one per application, in `services.extras["programme"]`):

- at start, `models.programme.sync_programme` aligns the stored batches with the event file (the
  database is the source of truth), then one named PTB job per planned batch (`prog:batch:<id>`) is
  scheduled, plus a safety tick (`prog:tick`) that catches batches whose job fired late or never
  (clock jumps, participants registering in numbers);
- a job turns its batch into one outbox row per recipient in one transaction and wakes the sender;
  the rows of a batch become sendable half their sending time before the due time, so that with the
  30 messages a second limit the deliveries are centred on it (see `schedule.planner.spread_start`);
- `/reload`, `hackbot reload` and SIGHUP re-read the event file, keep the old programme if the new
  one is invalid (and say why), re-plan, and tell people once about moved items.

Callback data: `prog:day:<YYYYMMDD>`, `prog:ics:all`, `prog:ics:mine`, `prog:rem:on`, `prog:rem:off`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotApplication, HackbotContext, Services
from bot.delivery.limits import RateLimits
from bot.i18n import Catalog, Markup
from bot.settings import Settings
from handlers.common import label, language_for, refuse_stale_button, text
from handlers.menu import menu_button
from models import outbox, registration
from models import programme as store
from models.participant import Participant
from schedule import timeline
from schedule.config import AUDIENCE_ALL, EventConfig, ProgrammeItem
from schedule.ics import programme_ics
from schedule.loader import ConfigError, load_event_config
from schedule.planner import (
    BatchKind,
    PlannerOptions,
    fanout_advance,
    minutes_until,
    parse_day,
    rows_expiry,
    spread_start,
    subject_end,
)

log = logging.getLogger(__name__)

JOB_PREFIX = "prog:batch:"
TICK_JOB = "prog:tick"
TICK_SECONDS = 5.0
EARLY_TOLERANCE = dt.timedelta(seconds=1)
"""A job firing earlier than this before its time (the wall clock went back) is rescheduled."""

SUSTAINED_RATE_FACTOR = 0.9
"""Share of the throttle's rate a batch is assumed to leave at (see `ProgrammeEngine.rate`)."""

EXTRAS_KEY = "programme"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


# ---- rendering helpers (catalog + event, no update: also used by scheduled jobs) ----------------


def hhmm(event: EventConfig, at: dt.datetime) -> str:
    """Local time of day, 24-hour clock."""
    return event.local(at).strftime("%H:%M")


def date_label(catalog: Catalog, lang: str, day: dt.date) -> str:
    """`samedi 4 novembre` / `Saturday 4 November`."""
    return catalog.text(
        lang,
        "programme.date",
        weekday=catalog.text(lang, f"programme.weekday.{_WEEKDAYS[day.weekday()]}"),
        day=day.day,
        month=catalog.text(lang, f"programme.month.{_MONTHS[day.month - 1]}"),
    )


def short_date_label(catalog: Catalog, lang: str, day: dt.date) -> str:
    """`sam. 4` / `Sat 4` for buttons."""
    return catalog.text(
        lang,
        "programme.short_date",
        weekday=catalog.text(lang, f"programme.weekday_short.{_WEEKDAYS[day.weekday()]}"),
        day=day.day,
    )


def when_label(catalog: Catalog, event: EventConfig, lang: str, at: dt.datetime, now: dt.datetime) -> str:
    """`13:00` today, `samedi 4 novembre à 13:00` another day."""
    if event.local(at).date() == event.local(now).date():
        return hhmm(event, at)
    return catalog.text(
        lang,
        "programme.when_other_day",
        date=Markup(date_label(catalog, lang, event.local(at).date())),
        time=hhmm(event, at),
    )


def what_label(catalog: Catalog, event: EventConfig, lang: str, item: ProgrammeItem) -> Markup:
    """`<b>Title</b>, place` (or the title alone)."""
    default = event.default_language
    title = item.title.get(lang, default)
    if item.place is None:
        return catalog.text(lang, "programme.what", title=title)
    return catalog.text(lang, "programme.what_place", title=title, place=item.place.get(lang, default))


def reminder_text(
    catalog: Catalog, event: EventConfig, lang: str, item: ProgrammeItem, at: dt.datetime
) -> str:
    """The reminder of `item` as of `at`: "In 15 minutes (17:15): <b>Title</b>, Main hall"."""
    what = what_label(catalog, event, lang, item)
    if at >= item.start:
        return catalog.text(lang, "programme.reminder_now", what=what, end=hhmm(event, item.end))
    return catalog.text(
        lang,
        "programme.reminder",
        count=minutes_until(item.start, at),
        what=what,
        time=hhmm(event, item.start),
    )


def change_text(
    catalog: Catalog,
    event: EventConfig,
    lang: str,
    *,
    title: str,
    start: dt.datetime,
    place: str | None,
    time_changed: bool,
    place_changed: bool,
    now: dt.datetime,
) -> str:
    """The change notice: "Change: <b>Lunch</b> moves to 13:00." (time, place, or both)."""
    when = when_label(catalog, event, lang, start, now)
    if time_changed and place_changed and place:
        return catalog.text(lang, "programme.change_both", title=title, when=Markup(when), place=place)
    if time_changed or not place:
        return catalog.text(lang, "programme.change_time", title=title, when=Markup(when))
    return catalog.text(lang, "programme.change_place", title=title, place=place)


# ---- the scheduler -------------------------------------------------------------------------------


@dataclass
class ReloadOutcome:
    """What a reload did: the new plan, or why the file was refused."""

    ok: bool
    errors: list[str] = field(default_factory=list)
    result: store.SyncResult | None = None


ReloadListener = Callable[[HackbotApplication, EventConfig], Awaitable[None]]
_reload_listeners: list[ReloadListener] = []


def add_reload_listener(listener: ReloadListener) -> ReloadListener:
    """Let another feature react when a reload installed a new event (e.g. re-sync its own rows)."""
    if listener not in _reload_listeners:
        _reload_listeners.append(listener)
    return listener


def pid_file_path(settings: Settings) -> Path:
    """Where the running bot writes its process id (for `hackbot reload`): the data folder."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "hackbot.pid"
    suffix = f"-{settings.database_schema}" if settings.database_schema else ""
    return Path("data").resolve() / f"hackbot{suffix}.pid"


class ProgrammeEngine:
    """Plans batches from the event file, schedules one job per batch, fans batches out."""

    def __init__(self, application: HackbotApplication, options: PlannerOptions | None = None) -> None:
        """Nothing runs until `start`.

        `options`: None (the bot's case) takes them from the event file, so a reload that changes
        `reminders.grace_minutes` applies it to the batches still planned.
        """
        self.application = application
        self.options = options
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

    def _wake_sender(self) -> None:
        self.services.wake_sender()

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
            self._write_pid_file()
        self._wake_sender()
        return result

    async def stop(self) -> None:
        """Stop listening for SIGHUP and forget the pid file (jobs stop with the job queue)."""
        if self._signal_installed:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False
        if self._pid_file is not None:
            with contextlib.suppress(OSError):
                if self._pid_file.read_text().strip() == str(os.getpid()):
                    self._pid_file.unlink()
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

    def _write_pid_file(self) -> None:
        path = pid_file_path(self.services.settings)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError:
            log.warning("programme: could not write the pid file; `hackbot reload` will not find the bot")
            return
        self._pid_file = path

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
            self._wake_sender()
        return created

    async def _fan_out(self, batch_id: int) -> int:
        services = self.services
        event = services.event
        catalog = services.catalog
        async with services.db.transaction() as session:
            now = services.now()
            batch = await store.claim_batch(session, batch_id)
            if batch is None:
                return 0
            if batch.expires_at <= now:
                store.finish_batch(batch, store.BatchState.SKIPPED, now)
                log.info("programme: batch %d skipped: past its expiry", batch_id)
                return 0
            messages = await _compose(session, batch, event, catalog, now)
            if messages is None:
                store.finish_batch(batch, store.BatchState.CANCELLED, now)
                log.info("programme: batch %d cancelled: its item changed or disappeared", batch_id)
                return 0
            send_from = spread_start(batch.due_at, len(messages), self.rate, now)
            end = subject_end(event, batch.kind, batch.subject_id) or batch.expires_at
            expires = rows_expiry(batch.expires_at, end, send_from, len(messages), self.rate)
            rows = []
            for recipient, body in messages:
                payload = {"text": body, "parse_mode": "HTML"}
                try:
                    outbox.validate_payload("sendMessage", payload)
                except ValueError:
                    log.error("programme: batch %d text refused for chat %d", batch_id, recipient.chat_id)
                    continue
                rows.append(
                    outbox.NewMessage(
                        chat_id=recipient.chat_id,
                        method="sendMessage",
                        payload=payload,
                        dedupe_key=store.dedupe_key(batch.key, recipient.chat_id),
                        purpose=store.PURPOSES[batch.kind],
                        due_at=send_from,
                        ref_id=batch.id,
                        expires_at=expires,
                        priority=store.PRIORITY,
                    )
                )
            created = await outbox.enqueue_many(session, rows)
            store.finish_batch(batch, store.BatchState.DONE, now, len(created))
        log.info(
            "programme: batch %d (%s) queued for %d recipient(s)", batch_id, batch.kind.value, len(created)
        )
        return len(created)

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
        for listener in _reload_listeners:
            try:
                await listener(self.application, fresh)
            except Exception:
                log.exception("programme: a reload listener failed")
        await self.schedule_all()
        self._wake_sender()
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
        attempt = uuid.uuid4().hex[:12]
        async with services.db.transaction() as session:
            created = await outbox.enqueue_many(
                session,
                [
                    outbox.NewMessage(
                        chat_id=organiser,
                        method="sendMessage",
                        payload={"text": body, "parse_mode": "HTML"},
                        dedupe_key=f"prog:alert:{attempt}:{organiser}",
                        purpose=store.PURPOSE_ALERT,
                        priority=store.PRIORITY,
                    )
                    for organiser in services.event.organisers
                ],
            )
        self._wake_sender()
        return len(created)


async def _compose(
    session: Any, batch: store.NotificationBatch, event: EventConfig, catalog: Catalog, now: dt.datetime
) -> list[tuple[store.Recipient, str]] | None:
    """Recipients and texts of a batch as of `now`; None when the batch no longer matches the event."""
    from handlers.meals import announcement_text
    from models import meals as meal_store
    from schedule.planner import meal_key, reminder_key

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


def engine_of(services: Services) -> ProgrammeEngine | None:
    """The running engine (None before start-up)."""
    engine = services.extras.get(EXTRAS_KEY)
    return engine if isinstance(engine, ProgrammeEngine) else None


async def start_programme(application: HackbotApplication) -> None:
    """Start the programme engine (the outbox sender is started by the application before)."""
    services = application.bot_data.services
    engine = ProgrammeEngine(application)
    services.extras[EXTRAS_KEY] = engine
    await engine.start()


async def stop_programme(application: HackbotApplication) -> None:
    """Stop the engine."""
    engine = engine_of(application.bot_data.services)
    if engine is not None:
        await engine.stop()


# ---- `hackbot reload` -------------------------------------------------------------------------


def request_reload(settings: Settings) -> tuple[bool, str]:
    """Check the event file, then signal the running bot (SIGHUP) to reload it.

    Returns (ok, one line for the person at the terminal). An invalid file is not sent to the bot.
    """
    try:
        load_event_config(settings.event_config)
    except ConfigError as exc:
        return False, f"{exc.path}: " + "; ".join(exc.errors) + " (the bot keeps the current programme)"
    path = pid_file_path(settings)
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False, f"no running bot found ({path} is missing or unreadable)"
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False, f"the bot (pid {pid}) is not running; remove {path}"
    except PermissionError:
        return False, f"not allowed to signal the bot (pid {pid})"
    return True, f"reload requested from the bot (pid {pid})"


# ---- Telegram handlers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Viewer:
    participant: Participant | None
    lang: str
    challenge: str | None


async def _viewer(update: Update, context: HackbotContext) -> _Viewer | None:
    user = update.effective_user
    if user is None:
        return None
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
        challenge = await store.challenge_of(session, user.id) if participant is not None else None
    return _Viewer(participant, language_for(context, update, participant), challenge)


def _render_day(context: HackbotContext, viewer: _Viewer, day: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    services = context.services
    event, catalog, lang = services.event, services.catalog, viewer.lang
    default = event.default_language
    now = services.now()
    audience = viewer.challenge  # None: everything, team items tagged
    items = timeline.items_for_day(event, day, audience=audience)
    current, upcoming = timeline.now_and_next(event, now, audience=audience)
    title_key = "programme.title_today" if day == event.local(now).date() else "programme.title"
    lines: list[str] = [catalog.text(lang, title_key, day=Markup(date_label(catalog, lang, day)))]
    if not items:
        lines.append(catalog.text(lang, "programme.nothing_that_day"))
    for item in items:
        marker = ""
        if item in current:
            marker = catalog.text(lang, "programme.marker_now")
        elif upcoming is not None and item.id == upcoming.id:
            marker = catalog.text(lang, "programme.marker_next")
        key = "programme.line_place" if item.place is not None else "programme.line"
        line: str = catalog.text(
            lang,
            key,
            marker=Markup(marker),
            start=hhmm(event, item.start),
            end=hhmm(event, item.end),
            title=item.title.get(lang, default),
            place=item.place.get(lang, default) if item.place is not None else "",
        )
        if item.audience != AUDIENCE_ALL:
            challenge = event.challenge(item.audience)
            name = challenge.title.get(lang, default) if challenge is not None else item.audience
            line += catalog.text(lang, "programme.team_tag", challenge=name)
        lines.append(line)
    if any(item in current for item in items) or (upcoming is not None and upcoming in items):
        lines.append(catalog.text(lang, "programme.legend"))
    day_buttons = [
        InlineKeyboardButton(
            html.unescape(short_date_label(catalog, lang, other)), callback_data=f"prog:day:{other:%Y%m%d}"
        )
        for other in event.days()
        if other != day
    ]
    rows = [day_buttons[i : i + 3] for i in range(0, len(day_buttons), 3)]
    rows.append(
        [InlineKeyboardButton(catalog.text(lang, "programme.button_ics_all"), callback_data="prog:ics:all")]
    )
    if viewer.challenge is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.text(lang, "programme.button_ics_mine"), callback_data="prog:ics:mine"
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def show_programme(update: Update, context: HackbotContext) -> None:
    """Menu button and `/programme [demain|samedi|4/11...]`: one day, now and next highlighted."""
    message = update.effective_message
    viewer = await _viewer(update, context)
    if message is None or viewer is None:
        return
    event = context.services.event
    now = context.services.now()
    day = timeline.current_or_next_day(event, now)
    args = context.args or []  # None for the menu button
    if args:
        asked = parse_day(args, event, event.local(now).date())
        if asked is None:
            body, keyboard = _render_day(context, viewer, day)
            await message.reply_text(
                text(context, viewer.lang, "programme.unknown_day") + "\n\n" + body, reply_markup=keyboard
            )
            return
        day = asked
    body, keyboard = _render_day(context, viewer, day)
    await message.reply_text(body, reply_markup=keyboard)


async def _send_calendar(update: Update, context: HackbotContext, viewer: _Viewer, mine: bool) -> None:
    services = context.services
    event, catalog = services.event, services.catalog
    user = update.effective_user
    assert user is not None
    items = event.sorted_programme
    name = None
    if mine and viewer.challenge is not None:
        items = [item for item in items if item.is_for(viewer.challenge)]
        challenge = event.challenge(viewer.challenge)
        if challenge is not None:
            name = catalog.text(
                viewer.lang,
                "programme.calendar_name_team",
                event=event.name.get(viewer.lang, event.default_language),
                challenge=challenge.title.get(viewer.lang, event.default_language),
            )
    data = programme_ics(event, items, viewer.lang, now=services.now(), calendar_name=name)
    filename = f"{event.id}-{viewer.challenge}.ics" if mine and viewer.challenge else f"{event.id}.ics"
    await context.bot.send_document(
        user.id,
        document=InputFile(data, filename=filename),
        caption=catalog.text(viewer.lang, "programme.ics_caption"),
    )


def _reminders_keyboard(context: HackbotContext, lang: str, enabled: bool) -> InlineKeyboardMarkup:
    if enabled:
        button = InlineKeyboardButton(
            label(context, lang, "programme.button_reminders_off"), callback_data="prog:rem:off"
        )
    else:
        button = InlineKeyboardButton(
            label(context, lang, "programme.button_reminders_on"), callback_data="prog:rem:on"
        )
    return InlineKeyboardMarkup([[button]])


async def _set_reminders(context: HackbotContext, telegram_id: int, enabled: bool) -> Participant | None:
    async with context.services.db.transaction() as session:
        participant = await registration.get_participant(session, telegram_id)
        if participant is None or not participant.is_active:
            return None
        cancelled = await store.set_reminders(session, participant, enabled)
    if cancelled:
        log.info("programme: %d queued reminder(s) withdrawn after an opt-out", cancelled)
    return participant


async def reminders_command(update: Update, context: HackbotContext) -> None:
    """`/rappels`: show the state with a button to switch; `/rappels on|off` switches directly."""
    message = update.effective_message
    viewer = await _viewer(update, context)
    if message is None or viewer is None:
        return
    participant = viewer.participant
    if participant is None or not participant.is_active:
        key = "common.not_registered" if participant is None else "common.registration_unfinished"
        await message.reply_text(text(context, viewer.lang, key))
        return
    wanted: bool | None = None
    arg = (context.args or [""])[0].lower() if context.args else ""
    if arg in {"on", "oui", "yes", "activer", "1"}:
        wanted = True
    elif arg in {"off", "non", "no", "stop", "desactiver", "désactiver", "0"}:
        wanted = False
    enabled = participant.reminders_enabled
    if wanted is not None and wanted != enabled:
        updated = await _set_reminders(context, participant.telegram_id, wanted)
        enabled = updated.reminders_enabled if updated is not None else enabled
        key = "programme.reminders_on" if enabled else "programme.reminders_off"
    else:
        key = "programme.reminders_state_on" if enabled else "programme.reminders_state_off"
    await message.reply_text(
        text(context, viewer.lang, key), reply_markup=_reminders_keyboard(context, viewer.lang, enabled)
    )


async def on_button(update: Update, context: HackbotContext) -> None:
    """All `prog:` buttons."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    viewer = await _viewer(update, context)
    if viewer is None:
        return
    event = context.services.event
    if len(parts) == 3 and parts[1] == "day":
        try:
            day = dt.datetime.strptime(parts[2], "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            day = None
        if day is None or day not in event.days():
            await refuse_stale_button(update, context)
            return
        await query.answer()
        body, keyboard = _render_day(context, viewer, day)
        try:
            await query.edit_message_text(body, reply_markup=keyboard)
        except BadRequest as exc:  # "message is not modified" after a double tap
            log.info("update %s: edit skipped (%s)", update.update_id, exc.message)
        return
    if len(parts) == 3 and parts[1] == "ics" and parts[2] in {"all", "mine"}:
        if parts[2] == "mine" and viewer.challenge is None:
            await refuse_stale_button(update, context)
            return
        await query.answer()
        await _send_calendar(update, context, viewer, mine=parts[2] == "mine")
        return
    if len(parts) == 3 and parts[1] == "rem" and parts[2] in {"on", "off"}:
        user = update.effective_user
        assert user is not None
        participant = await _set_reminders(context, user.id, parts[2] == "on")
        if participant is None:
            await query.answer(label(context, viewer.lang, "common.not_registered"))
            return
        enabled = participant.reminders_enabled
        await query.answer()
        try:
            await query.edit_message_text(
                text(
                    context, viewer.lang, "programme.reminders_on" if enabled else "programme.reminders_off"
                ),
                reply_markup=_reminders_keyboard(context, viewer.lang, enabled),
            )
        except BadRequest as exc:
            log.info("update %s: edit skipped (%s)", update.update_id, exc.message)
        return
    await refuse_stale_button(update, context)


async def reload_command(update: Update, context: HackbotContext) -> None:
    """`/reload` (organisers): re-read the event file and re-plan; say what changed or what is wrong."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    lang = language_for(context, update)
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    lang = language_for(context, update, participant)
    if not context.services.event.is_organiser(user.id):
        await message.reply_text(text(context, lang, "common.not_allowed"))
        return
    engine = engine_of(context.services)
    if engine is None:
        await message.reply_text(text(context, lang, "common.error"))
        return
    outcome = await engine.reload()
    if not outcome.ok:
        await message.reply_text(
            text(context, lang, "programme.reload_invalid", errors="\n".join(outcome.errors[:20]))
        )
        return
    assert outcome.result is not None
    await message.reply_text(
        text(
            context,
            lang,
            "programme.reload_ok",
            changed=len(outcome.result.announced),
            planned=outcome.result.planned,
            cancelled=outcome.result.cancelled,
        )
    )


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Programme, reminders and reload handlers."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "programme"), show_programme),
        CommandHandler("programme", show_programme, filters=private),
        CommandHandler(["rappels", "reminders"], reminders_command, filters=private),
        CommandHandler("reload", reload_command, filters=private),
        CallbackQueryHandler(on_button, pattern=r"^prog:"),
    ]
