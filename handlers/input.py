"""The one router of free messages (text, photos, voice...) in a private chat.

Every private message that no command or menu button took comes here, and is offered in this order:

1. to the *claims* given to `handlers()` (the order is written once, in `handlers/__init__.py`): a
   claim looks at the message and the person and says whether it is theirs, e.g. an organiser's
   announcement draft waiting for its text, or a reply to the bot's message about a question;
2. to the handler of what the bot is waiting for from that person: the participant's `awaiting`
   column (in the database, so it survives restarts) says which question is open ("name" during
   registration, "question" after "Ask a question"...). Features declare theirs with `@on_input`;
3. to the fallback: the welcome for someone unknown, the rest of registration for someone
   unfinished, the menu for everyone else.

Features never add a catch-all MessageHandler of their own, so they cannot fight over a free text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import HackbotContext
from handlers.common import text
from models.participant import Participant

InputHandler = Callable[[Update, HackbotContext, Participant], Awaitable[None]]
FreeMessageClaim = Callable[[Update, HackbotContext, Participant | None], Awaitable[bool]]
"""Looks at a free message; handles it and returns True if it is the feature's, else False."""
Unrouted = Callable[[Update, HackbotContext, Participant | None], Awaitable[None]]
"""What to do with a message nobody took (the person may be unknown: None)."""


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


async def route_free_message(
    update: Update,
    context: HackbotContext,
    claims: Sequence[FreeMessageClaim] = (),
    fallback: Unrouted | None = None,
) -> None:
    """Any private message that no command or menu button handled."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    participant = await context.person(user.id)
    for claim in claims:
        if await claim(update, context, participant):
            return
    route = _routes.get(participant.awaiting or "") if participant is not None else None
    if participant is not None and route is not None:
        if message.text is None and not route.accepts_media:
            key = route.reprompt_key or "common.unknown_message"
            await message.reply_text(text(context, participant.language, key))
            return
        await route.handler(update, context, participant)
        return
    if fallback is not None:
        await fallback(update, context, participant)


def handlers(
    claims: Sequence[FreeMessageClaim], fallback: Unrouted
) -> list[BaseHandler[Update, HackbotContext, None]]:
    """The catch-all for private messages: `claims` in this order, the awaited answer, then `fallback`.

    Registered after every command and button.
    """

    async def route(update: Update, context: HackbotContext) -> None:
        await route_free_message(update, context, claims, fallback)

    return [MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, route)]
