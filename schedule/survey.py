"""Sending the satisfaction survey on time: the invitation, then one reminder.

Two named jobs, `survey.invite` and `survey.remind`, scheduled at start (and again when the event
file is reloaded) from the event file and what the database says was already sent
(`models.survey.round_done`): a round already sent is never sent again, a round that fell due
while the bot was down goes out at start, and nothing goes out in quiet hours (a round due then
waits for their end, as the programme's reminders do).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import cast

from bot.context import HackbotApplication, HackbotContext, Services
from models import survey

log = logging.getLogger(__name__)

INVITE_JOB = "survey.invite"
REMIND_JOB = "survey.remind"
RETRY_SECONDS = 60.0


def _allowed(services: Services, at: datetime) -> datetime:
    """`at`, or the end of the quiet hours it falls in."""
    event = services.event
    return event.quiet_hours.next_allowed(at, event.tz)


async def run_round(services: Services, kind: str) -> int:
    """Send one round now ("invite" or "remind"); returns how many people it went to."""
    async with services.db.transaction() as session:
        if kind == "invite":
            sent = await survey.invite(session, services.event, services.catalog, services.now())
        else:
            sent = await survey.remind(session, services.event, services.catalog, services.now())
    if sent:
        log.info("survey: %s sent to %d participant(s)", kind, sent)
        services.wake_sender()
    return sent


async def schedule_rounds(application: HackbotApplication) -> None:
    """(Re)schedule the rounds not sent yet, from the event in force."""
    services = application.bot_data.services
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - PTB is installed with the job-queue extra
        return
    for name in (INVITE_JOB, REMIND_JOB):
        for job in job_queue.get_jobs_by_name(name):
            with contextlib.suppress(LookupError):
                job.schedule_removal()
    times = survey.schedule_of(services.event)
    if times is None:
        return
    async with services.db.read() as session:
        invited = await survey.round_done(session, "invite")
        reminded = await survey.round_done(session, "remind")
    now = services.now()
    if invited is None:
        at = _allowed(services, max(times.send_at, now))
        job_queue.run_once(_on_invite, max(0.0, (at - now).total_seconds()), name=INVITE_JOB)
        log.info("survey: invitation planned for %s", at.isoformat())
        return
    if reminded is None:
        settings = services.event.survey
        assert settings is not None
        due = invited.done_at + timedelta(minutes=settings.reminder_after_minutes)
        at = _allowed(services, max(due, now))
        job_queue.run_once(_on_remind, max(0.0, (at - now).total_seconds()), name=REMIND_JOB)


async def _on_invite(context: HackbotContext) -> None:
    await _fire(context, "invite")


async def _on_remind(context: HackbotContext) -> None:
    await _fire(context, "remind")


async def _fire(context: HackbotContext, kind: str) -> None:
    services = context.application.bot_data.services
    now = services.now()
    if services.event.quiet_hours.contains(now, services.event.tz):
        # The clock moved (or the job fired early): wait for the end of the quiet hours.
        await schedule_rounds(cast("HackbotApplication", context.application))
        return
    application = cast("HackbotApplication", context.application)
    try:
        await run_round(services, kind)
    except Exception:
        log.exception("survey: %s round failed; trying again in a minute", kind)
        job_queue = application.job_queue
        if job_queue is not None:
            name, callback = (INVITE_JOB, _on_invite) if kind == "invite" else (REMIND_JOB, _on_remind)
            job_queue.run_once(callback, RETRY_SECONDS, name=name)
        return
    await schedule_rounds(application)


async def start_survey(application: HackbotApplication) -> None:
    """Start step: plan what is left to send (a round missed while the bot was down goes out now)."""
    await schedule_rounds(application)


async def reload_survey(application: HackbotApplication) -> None:
    """Reload step: the event file changed (times, questions); plan again."""
    await schedule_rounds(application)
