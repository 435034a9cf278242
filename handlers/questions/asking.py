"""Asking: "Ask a question" (menu button or /question), the question, the prompt's buttons, feedback.

The prompt's buttons are "with or without my name" and "cancel"; feedback is "did the answer help?".

The question is whatever the next message carries (`@on_input`: the participant's `awaiting` says a
question is expected); it becomes a ticket, acknowledged at once and relayed to the staff group
through the outbox, in the challenge's forum topic when the group is a forum.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.context import HackbotContext
from bot.display import hhmm
from handlers.common import (
    ButtonCallback,
    active_participant,
    button_args,
    edit_pressed_message,
    refuse_stale_button,
    text,
)
from handlers.input import on_input
from handlers.menu import menu_keyboard
from handlers.questions.reading import content_of
from handlers.questions.views import prompt_keyboard, refusal_text
from models import pending_questions
from models import question_flows as flows
from models import questions as q
from models.participant import Participant
from schedule.questions import resolve_thread, runtime

log = logging.getLogger(__name__)


async def ask(update: Update, context: HackbotContext) -> None:
    """The "Ask a question" button and /question: wait for the question (or take it from /question ...)."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    services = context.services
    lang = participant.language
    inline = message.text.split(maxsplit=1)[1].strip() if context.args and message.text else ""
    if inline:
        # "/question where is room 3?": the question is already there (one write, not two).
        await receive(update, context, participant, anonymous=False, text_override=inline)
        return
    async with services.db.transaction() as session:
        prompt = await flows.open_prompt(session, participant.telegram_id, services.now())
    if prompt is None:
        return
    if prompt.muted_until is not None:
        await message.reply_text(
            text(context, lang, "questions.muted", until=hhmm(services.event, prompt.muted_until))
        )
        return
    # A reply keyboard's placeholder is the only way to word the input field, and a message carries
    # one keyboard: a short title sets the field to "write your question here", the prompt its buttons.
    await message.reply_text(
        text(context, lang, "questions.prompt_title"),
        reply_markup=menu_keyboard(services.catalog, lang, "common.placeholder_question"),
    )
    prompt_message = await message.reply_text(
        text(context, lang, "questions.ask_prompt"),
        reply_markup=prompt_keyboard(services.catalog, lang, anonymous=False),
    )
    # Remembered so that its buttons go once the question is received.
    async with services.db.transaction() as session:
        await pending_questions.remember_prompt(
            session, participant.id, prompt_message.message_id, services.now()
        )


@on_input(flows.AWAITING, accepts_media=True)
async def receive_question(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The message after "Ask a question": it becomes a ticket."""
    await receive(update, context, participant, anonymous=False)


@on_input(flows.AWAITING_ANONYMOUS, accepts_media=True)
async def receive_anonymous_question(
    update: Update, context: HackbotContext, participant: Participant
) -> None:
    """The message after "Ask a question" → "without my name"."""
    await receive(update, context, participant, anonymous=True)


async def receive(
    update: Update,
    context: HackbotContext,
    participant: Participant,
    *,
    anonymous: bool,
    text_override: str | None = None,
    follow_up_of: int | None = None,
) -> None:
    """Turn a message into a ticket: record, acknowledge at once, relay through the outbox."""
    message = update.effective_message
    assert message is not None
    services = context.services
    lang = participant.language
    content = content_of(message, text_override=text_override)
    if content is None:
        await message.reply_text(text(context, lang, "questions.unsupported"))
        return
    async with services.db.read() as session:
        challenge_id = await q.asker_challenge(session, participant)
    # The challenge's forum topic may have to be created (a Telegram request): before the write.
    thread_id = await resolve_thread(context.bot, services, challenge_id)
    limit = runtime(services).limit
    async with services.db.transaction() as session:
        result = await flows.ask(
            session,
            telegram_id=participant.telegram_id,
            content=content,
            challenge_id=challenge_id,
            anonymous=anonymous,
            thread_id=thread_id,
            # Read inside the unit of work, so tickets are numbered and timed in the same order.
            now=services.now(),
            limit=limit,
            event=services.event,
            texts=services.catalog,
            follow_up_of=follow_up_of,
        )
    if result.refused is flows.Refused.GONE:
        return
    if result.refused is not None:
        await message.reply_text(refusal_text(services, lang, result, limit))
        return
    log.info("questions: ticket %d opened by participant %d", result.ticket_id, result.asker_id)
    services.wake_sender()
    # The acknowledgement puts the menu's placeholder back ("write your question" is over).
    ack = await message.reply_text(
        text(context, lang, "questions.received", number=result.ticket_id),
        reply_markup=menu_keyboard(services.catalog, lang),
    )
    # Replying to the acknowledgement adds to the question: remember which ticket it belongs to.
    async with services.db.transaction() as session:
        await q.link_message(
            session,
            chat_id=ack.chat_id,
            message_id=ack.message_id,
            ticket_id=result.ticket_id,
            kind=q.LinkKind.ACK,
            post_id=result.post_id,
        )
        prompt_id = await pending_questions.take_prompt(session, result.asker_id)
    if prompt_id is not None:
        await _remove_prompt_buttons(context, participant.telegram_id, prompt_id)


async def _remove_prompt_buttons(context: HackbotContext, chat_id: int, message_id: int) -> None:
    """The question is received: "without my name" and "cancel" mean nothing any more."""
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except BadRequest as exc:  # already without buttons, or too old to edit: nothing to take away
        log.info("questions: prompt buttons left (%s)", exc.message)


def _prompt_button(awaiting: str | None) -> ButtonCallback:
    """A button of the prompt: wait for a question with (`AWAITING`) or without the name, or stop."""

    async def pressed(update: Update, context: HackbotContext) -> None:
        query = update.callback_query
        participant = await active_participant(update, context)
        if participant is None or query is None:
            return
        async with context.services.db.transaction() as session:
            waiting = await flows.set_prompt(session, participant.telegram_id, awaiting)
        if not waiting:
            await refuse_stale_button(update, context)
            return
        await query.answer()
        lang = participant.language
        if awaiting is None:
            await edit_pressed_message(update, text(context, lang, "questions.cancelled"))
            return
        anonymous = awaiting == flows.AWAITING_ANONYMOUS
        key = "questions.ask_prompt_anonymous" if anonymous else "questions.ask_prompt"
        keyboard = prompt_keyboard(context.services.catalog, lang, anonymous=anonymous)
        await edit_pressed_message(update, text(context, lang, key), keyboard)

    return pressed


choose_anonymous = _prompt_button(flows.AWAITING_ANONYMOUS)
choose_named = _prompt_button(flows.AWAITING)
cancel_prompt = _prompt_button(None)


async def on_feedback(update: Update, context: HackbotContext) -> None:
    """Feedback on an answer (`q:fb:<ticket>:y|n`): once, by the asker; a "no" alerts the staff group."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if participant is None or query is None:
        return
    ticket_id, answer = button_args(context)
    helped = answer == "y"
    services = context.services
    async with services.db.transaction() as session:
        recorded = await flows.give_feedback(
            session,
            participant_id=participant.id,
            ticket_id=int(ticket_id),
            helped=helped,
            event=services.event,
            texts=services.catalog,
        )
    if not recorded:
        await refuse_stale_button(update, context)
        return
    await query.answer()
    services.wake_sender()
    key = "questions.thanks_yes" if helped else "questions.thanks_no"
    await edit_pressed_message(update, text(context, participant.language, key))
