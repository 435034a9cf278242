"""`/annonces`: the latest announcements with their delivery figures, and a button for each report."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.broadcasts import views
from handlers.common import organiser_language
from models import broadcasts as bc
from schedule.broadcast_views import text

HISTORY_SIZE = 10


async def list_announcements(update: Update, context: HackbotContext) -> None:
    """/annonces: the latest broadcasts with their figures (live while sending)."""
    message = update.effective_message
    lang = await organiser_language(update, context)
    if lang is None or message is None:
        return
    services = context.services
    async with services.db.read() as session:
        recent = await bc.recent_standings(session, HISTORY_SIZE)
    if not recent:
        await message.reply_text(text(services, lang, "history_empty"))
        return
    chunks, keyboard = views.history_view(services, lang, recent)
    for index, chunk in enumerate(chunks):
        await message.reply_text(chunk, reply_markup=keyboard if index == len(chunks) - 1 else None)
