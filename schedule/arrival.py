"""Arrival on time: the end-of-day check-out and the day-before badge message, as named jobs.

Both are computed from the event file and the database at start (and after a reload), so a
restart loses nothing: a day whose end passed while the bot was stopped is closed at once, and the
badge message, if its time passed before the first day, is sent at once (each person gets it once:
the outbox's dedupe key).

Jobs: `arrival:checkout:<YYYY-MM-DD>` (one per day), `arrival:badges`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from bot.context import HackbotApplication, HackbotContext, Services
from models import arrival

log = logging.getLogger(__name__)

JOB_PREFIX = "arrival:"
CHECKOUT_JOB = JOB_PREFIX + "checkout:{day}"
BADGES_JOB = JOB_PREFIX + "badges"
BADGE_BUTTON = "arr:badge"
"""The data of the "my badge" button of the day-before message (`handlers.arrival` answers it)."""


def badge_message_at(services: Services) -> datetime | None:
    """When the day-before badge message is due (None: the event has no day)."""
    event = services.event
    days = event.arrival_days()
    if not days:
        return None
    return datetime.combine(days[0] - timedelta(days=1), event.arrival.badge_message_at, tzinfo=event.tz)


async def close_day(services: Services, day: date) -> int:
    """Check out everyone still present on `day`, at the day's end (or now, if earlier)."""
    at = min(arrival.day_end(services.event, day), services.now())
    async with services.db.transaction() as session:
        closed = await arrival.end_of_day(session, day, at)
    if closed:
        log.info("arrival: %d people checked out at the end of %s", closed, day.isoformat())
    return closed


async def send_badges(services: Services) -> int:
    """Queue the day-before badge message to every registered participant (once each)."""
    async with services.db.transaction() as session:
        queued = await arrival.queue_badge_notices(session, services.event, services.catalog, BADGE_BUTTON)
    if queued:
        log.info("arrival: badge message queued for %d people", queued)
        services.wake_sender()
    return queued


async def _close_missed_days(services: Services) -> None:
    """Days whose end passed while nobody closed them (the bot was stopped)."""
    now = services.now()
    today = services.event.local(now).date()
    async with services.db.read() as session:
        open_days = await arrival.open_days_before(session, today + timedelta(days=1))
    for day in open_days:
        if arrival.day_end(services.event, day) <= now:
            await close_day(services, day)


def _schedule(application: HackbotApplication) -> None:
    services = application.bot_data.services
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
        return
    for job in job_queue.jobs(pattern=f"^{JOB_PREFIX}"):
        job.schedule_removal()
    now = services.now()
    event = services.event
    days = set(event.arrival_days()) | {event.local(now).date()}
    for day in sorted(days):
        end = arrival.day_end(event, day)
        if end > now:

            async def checkout(_context: HackbotContext, day: date = day) -> None:
                await close_day(services, day)

            job_queue.run_once(
                checkout, (end - now).total_seconds(), name=CHECKOUT_JOB.format(day=day.isoformat())
            )
    due = badge_message_at(services)
    first_day = min(event.arrival_days(), default=None)
    if (
        due is not None
        and first_day is not None
        and now < datetime.combine(first_day, datetime.min.time(), event.tz)
    ):

        async def badges(_context: HackbotContext) -> None:
            await send_badges(services)

        job_queue.run_once(badges, max(0.0, (due - now).total_seconds()), name=BADGES_JOB)


async def start_arrival(application: HackbotApplication) -> None:
    """Start step: close the days missed while stopped, then plan the day ends and the badge message."""
    await _close_missed_days(application.bot_data.services)
    _schedule(application)


async def reload_arrival(application: HackbotApplication) -> None:
    """Reload step: the days or times may have changed; plan again."""
    _schedule(application)
