"""Following one announcement: stop it while it goes out, see who missed it, show its report."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import HackbotContext
from handlers.broadcasts import views
from handlers.broadcasts.shared import organiser_tap
from handlers.common import refuse_stale_button
from models import broadcasts as bc
from schedule.broadcast_views import label, standing_view
from schedule.broadcasts import after_commit

log = logging.getLogger(__name__)


async def stop(update: Update, context: HackbotContext) -> None:
    """`bc:stop:<id>`: cancel what has not left yet (the runner then shows the report)."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    services = context.services
    broadcast_id = int(tap.args[0])
    async with services.db.transaction() as session:
        cancelled = await bc.stop_unfinished(session, broadcast_id)
    if isinstance(cancelled, bc.Refused):
        await refuse_stale_button(update, context)
        return
    after_commit(services)
    log.info(
        "update %s: broadcast %d stopped, %d deliveries cancelled", update.update_id, broadcast_id, cancelled
    )
    await tap.query.answer(label(services, tap.language, "answer_stopped", count=cancelled))


async def list_missed(update: Update, context: HackbotContext) -> None:
    """`bc:miss:<id>`: who did not receive it, and why, as new messages."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    async with context.services.db.read() as session:
        report = await bc.missed_report(session, int(tap.args[0]))
    if report is None:
        await refuse_stale_button(update, context)
        return
    await tap.query.answer()
    if tap.chat_id is None:
        return
    for message in views.missed_messages(context.services, tap.language, report):
        await context.bot.send_message(tap.chat_id, message)


async def show(update: Update, context: HackbotContext) -> None:
    """`bc:show:<id>` (from `/annonces`): the report (or the progress) of one broadcast, as a new message."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    services = context.services
    async with services.db.read() as session:
        standing = await bc.standing_of(session, int(tap.args[0]))
    if standing is None:
        await refuse_stale_button(update, context)
        return
    await tap.query.answer()
    if tap.chat_id is None:
        return
    view, keyboard = standing_view(services, standing, services.now())
    await context.bot.send_message(tap.chat_id, view, reply_markup=keyboard)
