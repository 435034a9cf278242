"""`/presents` (organisers): who is in the building now, who arrived today, who has not, by role and team."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.arrival import views
from handlers.common import organiser_language
from models import arrival


async def show_headcount(update: Update, context: HackbotContext) -> None:
    """The figures of today, then the names of those not arrived yet (several messages if long)."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    services = context.services
    async with services.db.read() as session:
        count = await arrival.headcount(session, views.today(services))
    for part in views.headcount(services, lang, count):
        await message.reply_text(part)
