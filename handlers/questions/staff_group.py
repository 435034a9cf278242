"""The staff group: "I'll take it" and "Resolved" on a ticket's message, and answers by replying.

Only the configured staff group (`event.staff_chat_id`) is served (`handlers.common` already ignores
other groups), and only its members act (getChatMember, cached for a minute). A facilitator answers
by replying to a ticket's message (the relayed question, a follow-up, an escalation): any content
is copied back to the asker with the facilitator's first name. Plain messages in the group, and
replies to people, never leave it.
"""

from __future__ import annotations

import logging

from telegram import MaybeInaccessibleMessage, Update

from bot.context import HackbotContext
from handlers.common import button_args, refuse_stale_button
from handlers.questions.reading import (
    body_html,
    content_of,
    in_staff_chat,
    is_staff,
    is_topic_root_reply,
    sent_by_the_bot,
)
from handlers.questions.views import claim_answer, plain, staff_text
from models import question_flows as flows
from models.questions import TicketState
from schedule.questions import find_ticket

log = logging.getLogger(__name__)


async def _pressed_in_staff_group(update: Update, context: HackbotContext) -> MaybeInaccessibleMessage | None:
    """The ticket's message whose button a staff member pressed; None after refusing anyone else."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    services = context.services
    message = query.message
    if message is None or message.chat.id != services.event.staff_chat_id:
        await refuse_stale_button(update, context)
        return None
    if not await is_staff(context, user.id):
        await query.answer(plain(staff_text(services, "questions.not_member")), show_alert=True)
        return None
    return message


async def on_claim(update: Update, context: HackbotContext) -> None:
    """The "I'll take it" button (`q:claim:<ticket>`): the ticket is theirs unless someone has it."""
    message = await _pressed_in_staff_group(update, context)
    query, user = update.callback_query, update.effective_user
    if message is None or query is None or user is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        claimed = await flows.claim_ticket(
            session,
            ticket_id=int(button_args(context)[0]),
            user_id=user.id,
            name=user.first_name,
            chat_id=message.chat.id,
            message_id=message.message_id,
            now=services.now(),
            event=services.event,
            texts=services.catalog,
        )
    if claimed is None:
        await refuse_stale_button(update, context)
        return
    services.wake_sender()
    answer, alert = claim_answer(services, claimed)
    await query.answer(plain(answer), show_alert=alert)


async def on_resolve(update: Update, context: HackbotContext) -> None:
    """The "Resolved" button (`q:done:<ticket>`): closed, and the asker asked whether it helped."""
    message = await _pressed_in_staff_group(update, context)
    query, user = update.callback_query, update.effective_user
    if message is None or query is None or user is None:
        return
    services = context.services
    ticket_id = int(button_args(context)[0])
    async with services.db.transaction() as session:
        resolved = await flows.resolve_ticket(
            session,
            ticket_id=ticket_id,
            name=user.first_name,
            chat_id=message.chat.id,
            message_id=message.message_id,
            now=services.now(),
            event=services.event,
            texts=services.catalog,
        )
    if resolved is None:
        await refuse_stale_button(update, context)
        return
    services.wake_sender()
    if resolved:
        await query.answer(plain(staff_text(services, "questions.resolved_ok", number=ticket_id)))
    else:
        await query.answer(
            plain(staff_text(services, "questions.ticket_closed_alert", number=ticket_id)), show_alert=True
        )


async def on_staff_reply(update: Update, context: HackbotContext) -> None:
    """A reply in the staff group: to a ticket's message it is an answer for the asker."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not in_staff_chat(update, context):
        return
    if message.sender_chat is not None or user.is_bot or is_topic_root_reply(message):
        return
    reply = message.reply_to_message
    assert reply is not None
    services = context.services
    from_bot = sent_by_the_bot(reply, context)
    ref = await find_ticket(services, message.chat_id, reply.message_id, from_bot=from_bot)
    if ref is None:
        # Staff talk among themselves by replying to each other: that stays in the group. A reply
        # to one of the bot's other messages is a mistake worth pointing out.
        if from_bot:
            await message.reply_text(staff_text(services, "questions.not_a_ticket"))
        return
    if not await is_staff(context, user.id):
        await message.reply_text(staff_text(services, "questions.not_member"))
        return
    ticket = ref.ticket
    if ticket.erased or ticket.asker_id is None:
        await message.reply_text(staff_text(services, "questions.asker_erased", number=ticket.id))
        return
    if ticket.state is TicketState.CLOSED:
        await message.reply_text(staff_text(services, "questions.ticket_closed_reply", number=ticket.id))
        return
    content = content_of(message)
    if content is None:
        await message.reply_text(staff_text(services, "questions.unsupported_answer"))
        return
    async with services.db.transaction() as session:
        delivered = await flows.answer(
            session,
            ticket_id=ticket.id,
            post_id=ref.post_id,
            content=content,
            staff_user_id=user.id,
            staff_name=user.first_name,
            answer_html=body_html(message),
            now=services.now(),
            event=services.event,
            texts=services.catalog,
        )
    if not delivered:
        await message.reply_text(staff_text(services, "questions.ticket_closed_reply", number=ticket.id))
        return
    log.info("questions: answer to ticket %d queued by user %d", ticket.id, user.id)
    services.wake_sender()
