"""`my_chat_member` in private chats: a person blocks the bot, or unblocks it.

Telegram sends this update (when `allowed_updates` asks for it) the moment someone blocks the bot
or unblocks it. Blocking marks the participant unreachable at once (`models.reachability`): the
sender then finishes their messages without a request, reminders and announcements cost nothing,
and reports and the dashboard count them as unreachable. Unblocking makes them reachable again,
and what was skipped for them in the last minutes is queued again.

The update stops here: nothing else should react to it (the consent check would otherwise try to
show the privacy notice to someone who just blocked the bot). Status changes in groups are not
handled.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ChatMemberHandler

from bot.context import HackbotContext
from models import reachability

log = logging.getLogger(__name__)

# A private chat's bot is "kicked" once blocked; "left" is what a deleted account looks like.
_GONE = frozenset({ChatMember.BANNED, ChatMember.LEFT})


async def on_my_chat_member(update: Update, context: HackbotContext) -> None:
    """Record that the person blocked (or unblocked) the bot; nothing is answered."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.PRIVATE:
        return
    person = change.chat.id
    blocked = change.new_chat_member.status in _GONE
    services = context.services
    async with services.db.transaction() as session:
        if blocked:
            result = await reachability.mark_unreachable(session, person, services.now())
        else:
            result = await reachability.mark_reachable(session, person, services.now())
    if result.resumed:
        services.wake_sender()
    if result.changed:
        # Ids only, never names, in the log.
        log.info(
            "update %s: participant %s is %s",
            update.update_id,
            person,
            "unreachable (blocked the bot)" if blocked else f"reachable again ({result.resumed} resumed)",
        )
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The one handler: run before the consent check, so a blocked bot sends nothing."""
    return [ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
