"""Answering the survey: the invitation's button, each answer button, a typed comment, the quote choice.

Each handler reads the person once (`active_participant`), calls one function of `models.survey` in
one transaction and renders what it returned: a refusal as an alert (closed, answered twice, not
invited, an old or forged button), else the answer confirmed in the toast and the pressed message
turned into the next question (or the thanks). The invitation's button and a typed comment get a
new message: there is no pressed question to turn.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message, label
from handlers.input import on_input
from handlers.survey import views
from models import survey
from models.participant import Participant

log = logging.getLogger(__name__)


async def _refused(update: Update, context: HackbotContext, lang: str, step: survey.Step) -> bool:
    """Answer the button with the refusal that applies; True when the step changed nothing."""
    key = views.REFUSALS.get(step.outcome)
    if key is None:
        return False
    log.info("update %s: survey tap refused (%s)", update.update_id, step.outcome)
    query = update.callback_query
    if query is not None:
        await query.answer(label(context, lang, key), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(context.services.catalog.text(lang, key))
    return True


async def _send_next(context: HackbotContext, participant: Participant, step: survey.Step) -> None:
    services = context.services
    view = views.next_view(services.catalog, services.event, participant.language, step)
    if view is not None:
        await context.bot.send_message(participant.telegram_id, view[0], reply_markup=view[1])


async def begin(update: Update, context: HackbotContext) -> None:
    """`sv:go` (under the invitation and the reminder): the question the person is at."""
    participant = await active_participant(update, context)
    query = update.callback_query
    if participant is None or query is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        step = await survey.begin(session, participant.id, services.event, services.now())
    if await _refused(update, context, participant.language, step):
        return
    await query.answer()
    await _send_next(context, participant, step)


async def answer(update: Update, context: HackbotContext) -> None:
    """`sv:a:<question>:<value>`: a scale digit or a choice; checked by the domain (forged values too)."""
    question_id, value = button_args(context)
    participant = await active_participant(update, context)
    if participant is None or update.callback_query is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        step = await survey.answer(
            session, participant.id, question_id, value, services.event, services.now()
        )
    await _advance(update, context, participant, question_id, step)


async def skip(update: Update, context: HackbotContext) -> None:
    """`sv:skip:<question>`: an optional question left unanswered."""
    (question_id,) = button_args(context)
    participant = await active_participant(update, context)
    if participant is None or update.callback_query is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        step = await survey.skip(session, participant.id, question_id, services.event, services.now())
    await _advance(update, context, participant, question_id, step)


async def _advance(
    update: Update, context: HackbotContext, participant: Participant, question_id: str, step: survey.Step
) -> None:
    """The answer is kept: say so in the toast, and turn the pressed message into what comes next.

    One message that moves on (rather than a new one per question) keeps the chat short and costs
    one request per tap, however fast people answer.
    """
    query = update.callback_query
    assert query is not None
    lang = participant.language
    if await _refused(update, context, lang, step):
        return
    services = context.services
    settings = services.event.survey
    question = settings.question(question_id) if settings is not None else None
    toast = None
    if question is not None and step.recorded is not None:
        toast = "✔️ " + views.answer_label(services.catalog, services.event, lang, question, step.recorded)
    await query.answer(toast)
    view = views.next_view(services.catalog, services.event, lang, step)
    if view is not None:
        await edit_pressed_message(update, *view)


async def quote(update: Update, context: HackbotContext) -> None:
    """`sv:quote:yes|no`: may the comment just written be quoted (without the name)?"""
    (choice,) = button_args(context)
    participant = await active_participant(update, context)
    query = update.callback_query
    if participant is None or query is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        step = await survey.decide_quote(
            session, participant.id, choice == "yes", services.event, services.now()
        )
    lang = participant.language
    if await _refused(update, context, lang, step):
        return
    key = "survey.quote_recorded_yes" if choice == "yes" else "survey.quote_recorded_no"
    await query.answer(label(context, lang, key))
    view = views.next_view(services.catalog, services.event, lang, step)
    if view is not None:
        await edit_pressed_message(update, *view)


@on_input(survey.AWAITING_COMMENT, reprompt_key="survey.reprompt")
async def receive_comment(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The comment typed for a free-text question; then: may we quote it?"""
    message = update.effective_message
    assert message is not None
    services = context.services
    async with services.db.transaction() as session:
        step = await survey.give_comment(
            session, participant.id, message.text or "", services.event, services.now()
        )
    if await _refused(update, context, participant.language, step):
        return
    await _send_next(context, participant, step)
