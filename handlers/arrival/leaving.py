"""The "🚪 Je pars" button: a participant checks out, so the headcount means "in the building now"."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.arrival import views
from handlers.common import active_participant
from models import arrival


async def leave(update: Update, context: HackbotContext) -> None:
    """`/jepars`, the menu text or the `arr:leave` button: the person left the building."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        result = await arrival.leave(session, participant.telegram_id, views.today(services), services.now())
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.bot.send_message(
        participant.telegram_id, views.left(services, participant.language, result, desk=False)
    )
