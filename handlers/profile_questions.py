"""Optional profile questions, asked once registration is complete: one message each, always skippable.

Registration hands over with `ask_first` when the person's registration completes. Buttons
(one handler per action): `pq:a:<question>:<choice>` (a choice), `pq:skip:<question>`; a typed
answer to a `text` question comes through the input router (`@on_input`). Each handler calls one
function of `models.profile` in one transaction and renders what it returned.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.context import HackbotContext
from handlers.common import (
    active_participant,
    button_args,
    callback_data,
    edit_pressed_message,
    label,
    on_button,
    text,
)
from handlers.input import on_input
from models import profile
from models.participant import Participant
from schedule.config import ProfileQuestion

log = logging.getLogger(__name__)

FEATURE = "pq"
_ID = r"[a-z0-9][a-z0-9-]{0,31}"


def question_view(
    context: HackbotContext, lang: str, question: ProfileQuestion
) -> tuple[str, InlineKeyboardMarkup]:
    """The question, its choices (or how to answer it) and "Skip"."""
    event = context.services.event
    body = text(
        context, lang, "profile_questions.question", question=question.text.get(lang, event.default_language)
    )
    rows = [
        [
            InlineKeyboardButton(
                choice.label.get(lang, event.default_language),
                callback_data=callback_data(FEATURE, "a", question.id, choice.id),
            )
        ]
        for choice in question.choices
    ]
    if question.kind == "text":
        body += "\n<i>" + text(context, lang, "profile_questions.text_hint") + "</i>"
    rows.append(
        [
            InlineKeyboardButton(
                label(context, lang, "profile_questions.skip_button"),
                callback_data=callback_data(FEATURE, "skip", question.id),
            )
        ]
    )
    return body, InlineKeyboardMarkup(rows)


async def _send_next(
    context: HackbotContext, participant: Participant, step: profile.Step, *, first: bool = False
) -> None:
    lang = participant.language
    if step.outcome is profile.Outcome.ASK and step.question is not None:
        if first:
            await context.bot.send_message(
                participant.telegram_id, text(context, lang, "profile_questions.intro")
            )
        body, keyboard = question_view(context, lang, step.question)
        await context.bot.send_message(participant.telegram_id, body, reply_markup=keyboard)
    elif step.outcome is profile.Outcome.DONE and not first:
        await context.bot.send_message(
            participant.telegram_id, text(context, lang, "profile_questions.thanks")
        )


async def ask_first(context: HackbotContext, participant: Participant) -> None:
    """Registration just completed: ask the first profile question, if the event has any."""
    services = context.services
    if not services.event.profile_questions:
        return
    async with services.db.transaction() as session:
        step = await profile.first_question(session, participant.id, services.event)
    await _send_next(context, participant, step, first=True)


def _answered_text(context: HackbotContext, lang: str, question_id: str, recorded: str | None) -> str | None:
    event = context.services.event
    question = next((q for q in event.profile_questions if q.id == question_id), None)
    if question is None:
        return None
    if recorded == "skip" or recorded is None:
        shown = label(context, lang, "profile_questions.skipped")
    elif (choice := question.choice(recorded)) is not None:
        shown = choice.label.get(lang, event.default_language)
    else:
        shown = recorded
    return text(
        context,
        lang,
        "profile_questions.answered",
        question=question.text.get(lang, event.default_language),
        answer=shown,
    )


async def _tapped(update: Update, context: HackbotContext, question_id: str, value: str | None) -> None:
    participant = await active_participant(update, context)
    query = update.callback_query
    if participant is None or query is None:
        return
    lang = participant.language
    async with context.services.db.transaction() as session:
        step = await profile.answer(session, participant.id, question_id, value, context.services.event)
    if step.outcome in (profile.Outcome.STALE, profile.Outcome.INVALID):
        log.info("update %s: profile question tap refused (%s)", update.update_id, step.outcome)
        await query.answer(label(context, lang, f"profile_questions.{step.outcome.value}"))
        return
    await query.answer()
    shown = _answered_text(context, lang, question_id, step.recorded)
    if shown is not None:
        await edit_pressed_message(update, shown)
    await _send_next(context, participant, step)


async def choose(update: Update, context: HackbotContext) -> None:
    """`pq:a:<question>:<choice>`: a choice button (checked against the question by the domain)."""
    question_id, choice_id = button_args(context)
    await _tapped(update, context, question_id, choice_id)


async def skip(update: Update, context: HackbotContext) -> None:
    """`pq:skip:<question>`: not answered, and not asked again."""
    (question_id,) = button_args(context)
    await _tapped(update, context, question_id, None)


@on_input(profile.AWAITING_ANSWER, reprompt_key="profile_questions.reprompt")
async def receive_answer(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The typed answer of a `text` question."""
    message = update.effective_message
    assert message is not None
    async with context.services.db.transaction() as session:
        step = await profile.typed_answer(session, participant.id, message.text, context.services.event)
    lang = participant.language
    if step.outcome is profile.Outcome.INVALID:
        await message.reply_text(text(context, lang, "profile_questions.invalid"))
        return
    if step.outcome is profile.Outcome.STALE:
        await message.reply_text(text(context, lang, "common.unknown_message"))
        return
    await _send_next(context, participant, step)


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """One handler per `pq:` button action."""
    return [
        on_button(FEATURE, "a", choose, _ID, _ID),
        on_button(FEATURE, "skip", skip, _ID),
    ]
