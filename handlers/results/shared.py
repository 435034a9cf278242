"""What the results handlers share: how to speak to someone, and how to answer a refusal."""

from __future__ import annotations

from typing import NamedTuple

from telegram import CallbackQuery, Update

from bot.context import HackbotContext
from handlers.common import active_participant, language_for
from handlers.results.views import Voice
from models import results as rs
from models.participant import Participant


class ParticipantTap(NamedTuple):
    """A button pressed by a registered participant, and how to speak to them."""

    participant: Participant
    query: CallbackQuery
    voice: Voice


async def participant_tap(update: Update, context: HackbotContext) -> ParticipantTap | None:
    """The registered participant who pressed a button, or None (someone else was told what to do)."""
    participant = await active_participant(update, context)
    query = update.callback_query
    if participant is None or query is None:
        return None
    return ParticipantTap(participant, query, voice_for(context, participant.language))


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
