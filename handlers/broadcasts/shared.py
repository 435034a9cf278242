"""What the announcement flows share: who pressed a button, how a refusal is answered, the preview."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Update

from bot.context import HackbotContext
from handlers.common import button_args, edit_pressed_message, organiser_language, refuse_stale_button
from models import broadcasts as bc
from schedule.broadcast_views import text


@dataclass(frozen=True, slots=True)
class Tap:
    """An organiser's tap on one of the feature's buttons."""

    query: CallbackQuery
    organiser_id: int
    language: str  # the organiser's language now (a draft keeps the one it was started in)
    args: tuple[str, ...]  # the button's fields, as matched by its pattern

    @property
    def chat_id(self) -> int | None:
        """The chat of the pressed message (None for a message too old to be known)."""
        return self.query.message.chat.id if self.query.message is not None else None

    @property
    def message_id(self) -> int | None:
        """The pressed message."""
        return self.query.message.message_id if self.query.message is not None else None


async def organiser_tap(update: Update, context: HackbotContext) -> Tap | None:
    """The tap, if an organiser made it; anyone else (a forged button) is refused politely."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    lang = await organiser_language(update, context)
    if lang is None:
        return None
    return Tap(query, user.id, lang, button_args(context))


async def answer_refused(update: Update, context: HackbotContext, refused: bc.Refused) -> None:
    """An expired draft says so in the pressed message; anything else is a stale button."""
    query = update.callback_query
    if refused.reason is bc.Refusal.EXPIRED and query is not None and refused.language is not None:
        await query.answer()
        await edit_pressed_message(update, text(context.services, refused.language, "expired"))
        return
    await refuse_stale_button(update, context)


async def send_content(context: HackbotContext, chat_id: int, content: bc.Content) -> None:
    """Send an announcement with the very request its recipients get (the preview)."""
    method, payload = content.send()
    bot = context.bot
    caption = payload.get("caption")
    if method == "sendMessage":
        await bot.send_message(chat_id, payload["text"], parse_mode="HTML")
    elif method == "sendPhoto":
        await bot.send_photo(chat_id, payload["photo"], caption=caption, parse_mode="HTML")
    elif method == "sendDocument":
        await bot.send_document(chat_id, payload["document"], caption=caption, parse_mode="HTML")
    else:
        await bot.send_voice(chat_id, payload["voice"], caption=caption, parse_mode="HTML")
