"""Free messages in a private chat, routed by what the bot is waiting for from that person.

The participant's `awaiting` column (in the database, so it survives restarts) says which question
is open: "name" during registration, "question" after "Ask a question", and so on. Each feature
declares the handler for its own value with `@on_input(...)`; this module owns the single
MessageHandler that dispatches to them, so features never fight over who gets a free text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import HackbotContext
from handlers.common import language_for, text
from models import registration
from models.participant import Participant

InputHandler = Callable[[Update, HackbotContext, Participant], Awaitable[None]]


@dataclass(frozen=True)
class _Route:
    handler: InputHandler
    accepts_media: bool
    reprompt_key: str | None


_routes: dict[str, _Route] = {}


def on_input(
    awaiting: str, *, accepts_media: bool = False, reprompt_key: str | None = None
) -> Callable[[InputHandler], InputHandler]:
    """Declare the handler of free messages while a participant's `awaiting` equals `awaiting`.

    Without `accepts_media`, a sticker, photo or voice note gets `reprompt_key` (a gentle
    reminder of what we are waiting for) instead of reaching the handler.
    """

    def decorate(handler: InputHandler) -> InputHandler:
        _routes[awaiting] = _Route(handler, accepts_media, reprompt_key)
        return handler

    return decorate


async def route_free_message(update: Update, context: HackbotContext) -> None:
    """Any private message that no command or menu button handled."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    if participant is None:
        # Someone who never pressed "I agree" (or erased their data): show the welcome again.
        from handlers.registration import start

        await start(update, context)
        return
    route = _routes.get(participant.awaiting or "")
    if route is not None:
        if message.text is None and not route.accepts_media:
            key = route.reprompt_key or "common.unknown_message"
            await message.reply_text(text(context, participant.language, key))
            return
        await route.handler(update, context, participant)
        return
    if not participant.is_active:
        from handlers.registration import resume

        await message.reply_text(text(context, participant.language, "common.registration_unfinished"))
        await resume(update, context, participant)
        return
    from handlers.menu import menu_keyboard

    await message.reply_text(
        text(context, language_for(context, update, participant), "common.unknown_message"),
        reply_markup=menu_keyboard(context.services.catalog, participant.language),
    )


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The catch-all for private messages; registered after every command and button."""
    return [
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, route_free_message
        )
    ]
