"""The promised deletion, on time: warnings to the organisers, then the purge, resumed after a crash.

At start (and when the event file is reloaded) the organisers' warnings are queued as outbox rows
due 7 days and 1 day before `retention_until` (`models.retention.plan_warnings`), and one named job,
`retention.purge`, is scheduled for that moment. A purge that a crash interrupted is resumed at
once: each of its steps was committed with its progress row, so it goes on from the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import cast

from bot import display
from bot.context import HackbotApplication, HackbotContext
from models import retention
from models.db import Database
from schedule.config import EventConfig

log = logging.getLogger(__name__)

PURGE_JOB = "retention.purge"
RETRY_SECONDS = 60.0


async def purge(db: Database, event: EventConfig, clock: Callable[[], datetime]) -> retention.Progress:
    """Run the purge to the end, one committed step at a time (also what `hackbot purge` does)."""
    while True:
        async with db.transaction() as session:
            progress = await retention.run_step(session, event, clock())
        if progress.done:
            log.info(
                "retention: personal data deleted (%d participants, %d records)",
                progress.participants_erased,
                progress.rows_erased,
            )
            return progress
        await asyncio.sleep(0)  # let updates be handled between two batches


async def plan(application: HackbotApplication) -> None:
    """Queue the warnings and schedule the purge, from the event in force and the database."""
    services = application.bot_data.services
    event = services.event
    now = services.now()
    async with services.db.transaction() as session:
        row = await retention.purge_row(session, event)
        queued = 0
        if row is None:
            queued = await retention.plan_warnings(
                session, event, services.catalog, now, lambda _lang, at: display.full_date(event, at)
            )
    if queued:
        services.wake_sender()
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
        return
    for job in job_queue.get_jobs_by_name(PURGE_JOB):
        with contextlib.suppress(LookupError):
            job.schedule_removal()
    if row is not None and row.state == retention.Step.DONE:
        return
    if row is None and now >= event.retention_until:
        async with services.db.read() as session:
            due = await retention.is_due(session, event, now)
        if not due:
            log.info("retention: the deadline passed before this database collected anything; no purge")
            return
    delay = 0.0 if row is not None else max(0.0, (event.retention_until - now).total_seconds())
    job_queue.run_once(_on_purge, delay, name=PURGE_JOB)
    if row is not None:
        log.info("retention: resuming the purge interrupted at step %s", row.step)
    else:
        log.info("retention: personal data will be deleted at %s", event.retention_until.isoformat())


async def _on_purge(context: HackbotContext) -> None:
    application = cast("HackbotApplication", context.application)
    services = application.bot_data.services
    if services.now() < services.event.retention_until:
        await plan(application)  # the clock went back, or the date moved: plan again
        return
    try:
        await purge(services.db, services.event, services.now)
    except Exception:
        log.exception("retention: purge interrupted; resuming in a minute")
        job_queue = application.job_queue
        if job_queue is not None:
            job_queue.run_once(_on_purge, RETRY_SECONDS, name=PURGE_JOB)


async def start_retention(application: HackbotApplication) -> None:
    """Start step: warnings queued, the purge planned (or resumed)."""
    await plan(application)


async def reload_retention(application: HackbotApplication) -> None:
    """Reload step: `retention_days` or the dates may have changed."""
    await plan(application)
