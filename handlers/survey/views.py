"""What the survey looks like in the chat: a question with its buttons, what follows an answer, refusals.

Pure rendering from the event file and what `models.survey` returned; no database, no Telegram call.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Catalog
from handlers.common import callback_data
from models import survey
from schedule.config import EventConfig, SurveyQuestion

FEATURE = "sv"
View = tuple[str, InlineKeyboardMarkup | None]

REFUSALS = {
    survey.Outcome.CLOSED: "survey.closed",
    survey.Outcome.NOT_INVITED: "survey.not_invited",
    survey.Outcome.ALREADY_DONE: "survey.already_done",
    survey.Outcome.STALE: "survey.stale",
    survey.Outcome.INVALID: "survey.invalid",
}
"""Outcomes that change nothing, and the sentence that says so."""


def question_view(
    catalog: Catalog, event: EventConfig, lang: str, question: SurveyQuestion, number: int, total: int
) -> View:
    """One question in its own message: the scale, the choices, or an invitation to write."""
    wording = question.text.get(lang, event.default_language)
    body = str(catalog.text(lang, "survey.question", number=number, total=total, question=wording))
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind == "scale":
        body += "\n<i>" + catalog.text(lang, "survey.scale_hint") + "</i>"
        rows.append(
            [
                InlineKeyboardButton(
                    str(value), callback_data=callback_data(FEATURE, "a", question.id, value)
                )
                for value in range(survey.SCALE_MIN, survey.SCALE_MAX + 1)
            ]
        )
    elif question.kind == "choice":
        rows += [
            [
                InlineKeyboardButton(
                    choice.label.get(lang, event.default_language),
                    callback_data=callback_data(FEATURE, "a", question.id, choice.id),
                )
            ]
            for choice in question.choices
        ]
    else:
        body += "\n<i>" + catalog.text(lang, "survey.text_hint") + "</i>"
    if question.optional:
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.label(lang, "survey.skip_button"),
                    callback_data=callback_data(FEATURE, "skip", question.id),
                )
            ]
        )
    return body, InlineKeyboardMarkup(rows) if rows else None


def answer_label(
    catalog: Catalog, event: EventConfig, lang: str, question: SurveyQuestion, value: str
) -> str:
    """What the person chose, in words (a scale digit, a choice's label, "skipped")."""
    if value == "skip":
        return catalog.label(lang, "survey.skipped")
    choice = question.choice(value)
    if choice is not None:
        return choice.label.get(lang, event.default_language)
    return f"{value}/{survey.SCALE_MAX}" if question.kind == "scale" else value


def quote_view(catalog: Catalog, lang: str) -> View:
    """May the comment be quoted (without the name)?"""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.label(lang, "survey.quote_yes"),
                    callback_data=callback_data(FEATURE, "quote", "yes"),
                )
            ],
            [
                InlineKeyboardButton(
                    catalog.label(lang, "survey.quote_no"),
                    callback_data=callback_data(FEATURE, "quote", "no"),
                )
            ],
        ]
    )
    return catalog.text(lang, "survey.quote_question"), keyboard


def next_view(catalog: Catalog, event: EventConfig, lang: str, step: survey.Step) -> View | None:
    """What follows a recorded answer: the next question, the quote question, or thanks."""
    if step.outcome is survey.Outcome.ASK and step.question is not None:
        return question_view(catalog, event, lang, step.question, step.number, step.total)
    if step.outcome is survey.Outcome.ASK_QUOTE:
        return quote_view(catalog, lang)
    if step.outcome is survey.Outcome.DONE:
        return catalog.text(lang, "survey.thanks"), None
    return None
