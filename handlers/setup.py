"""Setting up a real bot: /groupe_equipe (/staffgroup) sent in the staff group by an organiser.

The bot answers with the group's id to write in the event file (`staff_chat_id`) and says which
rights it still lacks there: in a forum (a group with topics) it must be an administrator allowed
to manage topics, so that each challenge gets its own topic. Nothing is stored: the event file
stays the one source of the configuration. Organisers only; anyone else is refused politely.

`handlers.common.ignore_foreign_chats` lets this one command through from groups the bot does not
serve yet: that is where it is needed.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMemberAdministrator, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot import commands
from bot.context import HackbotContext
from handlers.common import organiser_language, text

log = logging.getLogger(__name__)


async def missing_rights(context: HackbotContext, chat: Chat) -> list[str]:
    """Catalog keys of what the bot lacks in `chat` to be the staff group (empty: nothing)."""
    if not chat.is_forum:
        return []
    try:
        member = await context.bot.get_chat_member(chat.id, context.bot.id)
    except TelegramError as exc:
        log.info("setup: member status of the bot unknown (%s)", exc.message)
        return ["setup.missing_admin"]
    if not isinstance(member, ChatMemberAdministrator):
        return ["setup.missing_admin"]
    return [] if member.can_manage_topics else ["setup.missing_topics"]


async def staff_group(update: Update, context: HackbotContext) -> None:
    """/groupe_equipe, /staffgroup: the group's id for the event file, and the rights still missing."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    lang = await organiser_language(update, context)
    if lang is None:
        return
    if chat.type == Chat.PRIVATE:
        await message.reply_text(text(context, lang, "setup.private_chat"))
        return
    configured = context.services.event.staff_chat_id
    lines = [
        text(context, lang, "setup.already")
        if configured == chat.id
        else text(context, lang, "setup.group_id", chat_id=chat.id)
    ]
    if configured is not None and configured != chat.id:
        lines.append(text(context, lang, "setup.other_group", configured=configured))
    missing = await missing_rights(context, chat)
    lines += [text(context, lang, key) for key in missing] or [text(context, lang, "setup.rights_ok")]
    log.info("setup: staff group command answered in chat %s (%d right(s) missing)", chat.id, len(missing))
    await message.reply_text("\n\n".join(lines))


def is_setup_command(update: Update) -> bool:
    """Whether the update is /groupe_equipe (/staffgroup), which may come from a group not served yet."""
    message = update.effective_message
    return message is not None and commands.is_command(message.text, "staffgroup")


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The staff group set-up command, in groups and private chats alike."""
    return [CommandHandler(commands.names("staffgroup"), staff_group)]
