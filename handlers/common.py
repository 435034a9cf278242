"""Cross-cutting steps (PTB has no middleware): duplicate updates, foreign chats, errors, stale buttons."""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import HackbotContext
from models import registration
from models.participant import Participant

log = logging.getLogger(__name__)


async def drop_duplicate_updates(update: object, context: HackbotContext) -> None:
    """Handle each update once, even if Telegram (or a webhook retry) delivers it twice."""
    if not isinstance(update, Update):
        return
    if not await context.services.update_ledger.first_time(update.update_id):
        log.info("update %s delivered twice: ignored", update.update_id)
        raise ApplicationHandlerStop


async def ignore_foreign_chats(update: object, context: HackbotContext) -> None:
    """Serve private chats and the configured staff group only; ignore every other group."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type == Chat.PRIVATE or chat.id == context.services.event.staff_chat_id:
        return
    log.info("update %s from unserved chat %s ignored", update.update_id, chat.id)
    raise ApplicationHandlerStop


def language_for(context: HackbotContext, update: Update, participant: Participant | None = None) -> str:
    """The language to speak: the participant's choice, else Telegram's language, else the default."""
    if participant is not None:
        return participant.language
    user = update.effective_user
    return context.services.catalog.resolve_language(
        user.language_code if user else None, context.services.event.languages
    )


def text(context: HackbotContext, lang: str, key: str, /, **params: object) -> str:
    """Shortcut for the catalog lookup."""
    return context.services.catalog.text(lang, key, **params)


def label(context: HackbotContext, lang: str, key: str, /, **params: object) -> str:
    """Shortcut for a plain-text label (buttons, callback answers): not HTML, not escaped."""
    return context.services.catalog.label(lang, key, **params)


async def active_participant(update: Update, context: HackbotContext) -> Participant | None:
    """The registered participant behind this update, or None after telling them what to do.

    Someone unknown is told to send /start; someone mid-registration to finish it first.
    """
    user = update.effective_user
    if user is None:
        return None
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    if participant is not None and participant.is_active:
        return participant
    lang = language_for(context, update, participant)
    key = "common.not_registered" if participant is None else "common.registration_unfinished"
    if update.callback_query is not None:
        await update.callback_query.answer(label(context, lang, key))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text(context, lang, key))
    return None


async def refuse_stale_button(update: Update, context: HackbotContext) -> None:
    """Answer a button we do not (or no longer) understand: a forged, old or foreign callback."""
    query = update.callback_query
    if query is None:
        return
    log.info("stale or unknown callback in update %s refused", update.update_id)
    await query.answer(label(context, language_for(context, update), "common.stale_button"))


async def on_error(update: object, context: HackbotContext) -> None:
    """Log the failure (ids only, no personal data) and tell the person kindly; never crash."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: the user blocked the bot", update_id)
        return
    log.error("update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != Chat.PRIVATE:
        return
    lang = language_for(context, update)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(label(context, lang, "common.error"))
        else:
            await context.bot.send_message(update.effective_chat.id, text(context, lang, "common.error"))
    except TelegramError:
        log.warning("update %s: could not tell the user about the failure", update_id)
