"""What the results handlers share: how to speak to someone, and how to answer a refusal."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import language_for
from handlers.results.views import Voice
from models import results as rs


def voice_for(context: HackbotContext, lang: str) -> Voice:
    """How to speak to someone in `lang`, with the event in force and the current time."""
    services = context.services
    return Voice(services.catalog, services.event, lang, services.now())


def voice_of(update: Update, context: HackbotContext, lang: str | None = None) -> Voice:
    """The voice for whoever sent the update (registered or not: jurors and organisers need not be)."""
    return voice_for(context, lang or language_for(context, update))


async def tell(update: Update, voice: Voice, text: str, *, alert: bool = False) -> None:
    """A toast on a button, else a message in reply."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=alert)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def refuse(update: Update, voice: Voice, refused: rs.Refused) -> None:
    """Say why it was refused: a toast on a button (an alert: it matters), a message otherwise."""
    await tell(update, voice, voice.refused(refused), alert=True)
