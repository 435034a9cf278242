"""/questions (the waiting tickets, for the staff group's members) and /mute, /unmute (organisers).

/mute [minutes] in reply to a ticket's message, or /mute <ticket> [minutes], pauses the asker's
questions (they are told politely); /unmute lifts the pause. Commands from groups other than the
staff group are ignored, as everything from them is.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update

from bot.context import HackbotContext
from bot.display import hhmm
from handlers.common import language_for, organiser_language, text
from handlers.questions.reading import in_staff_chat, is_staff, is_topic_root_reply
from handlers.questions.views import staff_text, waiting_list
from models import question_flows as flows

log = logging.getLogger(__name__)

LIST_LIMIT = 30


async def list_questions(update: Update, context: HackbotContext) -> None:
    """/questions: waiting tickets and how long each has waited (staff group members only)."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    if chat.type != Chat.PRIVATE and not in_staff_chat(update, context):
        return
    if not await is_staff(context, user.id):
        if chat.type == Chat.PRIVATE:
            await message.reply_text(text(context, language_for(context, update), "common.not_allowed"))
        return
    services = context.services
    async with services.db.read() as session:
        waiting = await flows.waiting_list(session, LIST_LIMIT)
    await message.reply_text(waiting_list(services, waiting, services.now()))


async def _organiser_here(update: Update, context: HackbotContext) -> bool:
    """An organiser, in a private chat or the staff group (other groups: ignored without a word)."""
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE and not in_staff_chat(update, context):
        return False
    return await organiser_language(update, context) is not None


def _target(update: Update, context: HackbotContext) -> flows.TicketTarget | None:
    """The ticket a /mute or /unmute names: the ticket message replied to, or a number."""
    message = update.effective_message
    if message is None:
        return None
    reply = message.reply_to_message
    real_reply = reply is not None and in_staff_chat(update, context) and not is_topic_root_reply(message)
    return flows.TicketTarget(
        chat_id=message.chat_id,
        reply_message_id=reply.message_id if real_reply and reply is not None else None,
        args=tuple(context.args or ()),
    )


async def mute_command(update: Update, context: HackbotContext) -> None:
    """/mute [minutes] in reply to a ticket, or /mute <ticket> [minutes]: pause the asker's questions."""
    message = update.effective_message
    user = update.effective_user
    target = _target(update, context)
    if message is None or user is None or target is None or not await _organiser_here(update, context):
        return
    services = context.services
    async with services.db.transaction() as session:
        paused = await flows.mute_asker(
            session,
            target=target,
            muted_by=user.id,
            now=services.now(),
            event=services.event,
            texts=services.catalog,
        )
    if not paused.ticket_id:
        key = "questions.mute_usage" if not context.args else "questions.mute_not_found"
        await message.reply_text(staff_text(services, key))
        return
    if not paused.asker_id or paused.until is None:
        await message.reply_text(staff_text(services, "questions.mute_not_found"))
        return
    log.info("questions: participant %d muted for %d min by %d", paused.asker_id, paused.minutes, user.id)
    services.wake_sender()
    until = hhmm(services.event, paused.until)
    await message.reply_text(staff_text(services, "questions.muted_ok", number=paused.ticket_id, until=until))


async def unmute_command(update: Update, context: HackbotContext) -> None:
    """/unmute in reply to a ticket, or /unmute <ticket>."""
    message = update.effective_message
    target = _target(update, context)
    if message is None or target is None or not await _organiser_here(update, context):
        return
    services = context.services
    async with services.db.transaction() as session:
        paused = await flows.unmute_asker(session, target=target, now=services.now(), texts=services.catalog)
    if not paused.ticket_id:
        key = "questions.unmute_usage" if not context.args else "questions.mute_not_found"
        await message.reply_text(staff_text(services, key))
        return
    if not paused.asker_id:
        await message.reply_text(staff_text(services, "questions.mute_not_found"))
        return
    services.wake_sender()
    key = "questions.unmuted_ok" if paused.lifted else "questions.not_muted"
    await message.reply_text(staff_text(services, key, number=paused.ticket_id))
