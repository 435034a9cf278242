"""`/reload` (organisers): re-read the event file through the programme engine and say what it did."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import organiser_language, text
from handlers.programme.views import reload_text


async def reload_command(update: Update, context: HackbotContext) -> None:
    """Re-plan from the event file; answer with what changed, or what is wrong with the file."""
    message = update.effective_message
    if message is None:
        return
    lang = await organiser_language(update, context)
    if lang is None:
        return
    engine = context.services.programme
    if engine is None:
        await message.reply_text(text(context, lang, "common.error"))
        return
    outcome = await engine.reload()
    await message.reply_text(reload_text(context.services.catalog, lang, outcome))
