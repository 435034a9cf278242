"""The results evening on time: the deadline reminder and the end-of-session digest, as named jobs.

Both are computed from the event file and the database at start, after a reload and after the
organisers extend the deadline (`plan`), so a restart loses nothing: a reminder whose time passed
while the bot was stopped is sent at once if the deadline is still ahead, and a session whose end
passed is closed at once, its digests queued (each person gets each message once: the outbox's
dedupe keys).

Jobs: `results:reminder` (teams that have not submitted, `results.reminder_minutes` before the
deadline), `results:close` (the end of the `results.item`: feedback and votes close, each team
gets its digest, unless the organisers closed the session earlier).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import HackbotApplication, HackbotContext, Services
from models import results

log = logging.getLogger(__name__)

JOB_PREFIX = "results:"
REMINDER_JOB = JOB_PREFIX + "reminder"
CLOSE_JOB = JOB_PREFIX + "close"


async def send_reminders(services: Services) -> int:
    """Queue the reminder to every member of a team that has not submitted."""
    async with services.db.transaction() as session:
        queued = await results.remind_unsubmitted(session, services.event, services.catalog, services.now())
    if queued:
        log.info("results: deadline reminder queued for %d people", queued)
        services.wake_sender()
    return queued


async def close_session(services: Services) -> None:
    """The session's end: close feedback and the vote, queue each team's digest (once)."""
    async with services.db.transaction() as session:
        told = await results.close_session(session, services.event, services.catalog, services.now())
    if not isinstance(told, results.Refused):
        log.info("results: session closed at its end, digests queued for %d teams", told)
        services.wake_sender()


async def plan(application: HackbotApplication) -> None:
    """(Re)plan both jobs from the event in force and the deadline in the database."""
    services = application.bot_data.services
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
        return
    for job in job_queue.jobs(pattern=f"^{JOB_PREFIX}"):
        job.schedule_removal()
    event = services.event
    now = services.now()
    async with services.db.read() as session:
        row = await results.state(session)
        deadline = results.deadline_of(event, row)
        closed = row.feedback_closed_at is not None
    if deadline is not None and now < deadline:
        due = deadline - timedelta(minutes=event.results.reminder_minutes)

        async def remind(_context: HackbotContext) -> None:
            await send_reminders(services)

        job_queue.run_once(remind, max(0.0, (due - now).total_seconds()), name=REMINDER_JOB)
    item = event.item(event.results.item) if event.results.item else None
    if item is not None and not closed:

        async def close(_context: HackbotContext) -> None:
            await close_session(services)

        job_queue.run_once(close, max(0.0, (item.end - now).total_seconds()), name=CLOSE_JOB)


async def start_results(application: HackbotApplication) -> None:
    """Start step: plan the reminder and the session's end (sent at once if missed while stopped)."""
    await plan(application)


async def reload_results(application: HackbotApplication) -> None:
    """Reload step: the items or the deadline may have moved; plan again."""
    await plan(application)
