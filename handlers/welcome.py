"""The first screen: a short welcome, the privacy notice in three plain lines, and its buttons.

"I agree" and "No thanks" (handled by `handlers.registration`), "Read more" (the whole notice in
place of the short one) and the other language. Nothing is stored before "I agree".

Buttons: `reg:more:<code>`, `reg:lang:<code>`.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot import display
from bot.context import HackbotContext
from handlers.common import (
    button_args,
    callback_data,
    edit_pressed_message,
    label,
    on_button,
    refuse_stale_button,
    text,
)

_ID = r"[A-Za-z0-9_-]{1,32}"


def consent_keyboard(context: HackbotContext, lang: str, *, full: bool = False) -> InlineKeyboardMarkup:
    """I agree / no thanks, "Read more" under the short notice, and the other language."""
    other = next((code for code in context.services.event.languages if code != lang), None)
    rows = [
        [
            InlineKeyboardButton(
                label(context, lang, "registration.agree"), callback_data=callback_data("reg", "agree", lang)
            ),
            InlineKeyboardButton(
                label(context, lang, "registration.decline"), callback_data=callback_data("reg", "decline")
            ),
        ]
    ]
    if not full:
        rows.append(
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.read_more"),
                    callback_data=callback_data("reg", "more", lang),
                )
            ]
        )
    if other is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.switch_language"),
                    callback_data=callback_data("reg", "lang", other),
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def welcome_and_notice(context: HackbotContext, lang: str, *, full: bool = False) -> str:
    """A short welcome and the privacy notice: three plain lines, or (`full`) the whole text."""
    event = context.services.event
    return "\n\n".join(
        [
            text(
                context,
                lang,
                "registration.welcome",
                event=event.name.get(lang, event.default_language),
                venue=event.venue.name,
            ),
            text(
                context,
                lang,
                "registration.privacy" if full else "registration.privacy_short",
                organiser=event.organiser.name,
                retention_until=display.full_date(event, event.retention_until),
            ),
        ]
    )


async def _switch_language(update: Update, context: HackbotContext) -> None:
    """The notice in the other language (before consent: nothing is stored yet)."""
    (lang,) = button_args(context)
    if lang not in context.services.event.languages:
        await refuse_stale_button(update, context)
        return
    await _answer(update)
    await edit_pressed_message(update, welcome_and_notice(context, lang), consent_keyboard(context, lang))


async def _read_more(update: Update, context: HackbotContext) -> None:
    """The "Read more" button: the whole privacy notice, with the same consent buttons (nothing stored)."""
    (lang,) = button_args(context)
    if lang not in context.services.event.languages:
        await refuse_stale_button(update, context)
        return
    await _answer(update)
    await edit_pressed_message(
        update, welcome_and_notice(context, lang, full=True), consent_keyboard(context, lang, full=True)
    )


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The buttons of the first screen that are not consent itself."""
    return [
        on_button("reg", "lang", _switch_language, _ID),
        on_button("reg", "more", _read_more, _ID),
    ]
