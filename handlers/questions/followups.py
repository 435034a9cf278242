"""Follow-ups: a private reply to the bot's message about a ticket adds to that question.

The replied-to message is the acknowledgement or an answer; the staff group gets the follow-up
under the ticket's message.

This is a claim of the free-message router (`handlers.input`): a private message that is not such
a reply is left to the router's next step.
"""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import text
from handlers.questions.asking import receive
from handlers.questions.reading import content_of, sent_by_the_bot
from handlers.questions.views import refusal_text
from models import question_flows as flows
from models.participant import Participant
from models.questions import TicketState
from schedule.questions import find_ticket, runtime


async def take_reply_to_ticket(
    update: Update, context: HackbotContext, participant: Participant | None
) -> bool:
    """A reply to a ticket's message by its asker is a follow-up (True: handled); else not ours."""
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        return False
    reply = message.reply_to_message
    services = context.services
    ref = await find_ticket(
        services, message.chat_id, reply.message_id, from_bot=sent_by_the_bot(reply, context)
    )
    ticket = ref.ticket if ref is not None else None
    if (
        participant is None
        or ticket is None
        or ticket.asker_id != participant.id
        or not participant.is_active
    ):
        return False
    if ticket.state is TicketState.CLOSED:
        # A resolved question stays closed for the staff; what the person adds becomes a new one.
        await receive(update, context, participant, anonymous=ticket.anonymous, follow_up_of=ticket.id)
        return True
    lang = participant.language
    content = content_of(message)
    if content is None:
        await message.reply_text(text(context, lang, "questions.unsupported"))
        return True
    limit = runtime(services).limit
    async with services.db.transaction() as session:
        result = await flows.follow_up(
            session,
            telegram_id=participant.telegram_id,
            ticket_id=ticket.id,
            content=content,
            now=services.now(),
            limit=limit,
            event=services.event,
            texts=services.catalog,
        )
    if result.refused is flows.Refused.GONE:
        return True
    if result.refused is not None:
        await message.reply_text(refusal_text(services, lang, result, limit))
        return True
    services.wake_sender()
    await message.reply_text(text(context, lang, "questions.followup_sent", number=ticket.id))
    return True
