"""/faq: the event's frequently asked questions, one button per question, or all of them at once.

The entries come from the event file (`faq:`); nothing is stored. Open to anyone in a private chat,
registered or not: it is what the desk would answer to anybody.

Callback data: `faq:q:<entry id>` (one answer), `faq:list` (back to the questions), `faq:all`.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.display import pack_messages
from handlers.common import (
    button_args,
    callback_data,
    edit_pressed_message,
    label,
    language_for,
    on_button,
    refuse_stale_button,
    text,
)

FEATURE = "faq"


def entry_text(context: HackbotContext, lang: str, entry_id: str) -> str | None:
    """One question and its answer in `lang`, or None if the event file no longer has it."""
    event = context.services.event
    entry = event.faq_entry(entry_id)
    if entry is None:
        return None
    default = event.default_language
    return text(
        context,
        lang,
        "faq.entry",
        question=entry.question.get(lang, default),
        answer=entry.answer.get(lang, default),
    )


def _list_view(context: HackbotContext, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    event = context.services.event
    if not event.faq:
        return text(context, lang, "faq.empty"), None
    rows = [
        [
            InlineKeyboardButton(
                entry.question.get(lang, event.default_language),
                callback_data=callback_data(FEATURE, "q", entry.id),
            )
        ]
        for entry in event.faq
    ]
    rows.append(
        [
            InlineKeyboardButton(
                label(context, lang, "faq.button_all"), callback_data=callback_data(FEATURE, "all")
            )
        ]
    )
    return text(context, lang, "faq.title"), InlineKeyboardMarkup(rows)


async def _language(update: Update, context: HackbotContext) -> str:
    user = update.effective_user
    participant = await context.person(user.id) if user is not None else None
    return language_for(context, update, participant)


async def show_faq(update: Update, context: HackbotContext) -> None:
    """/faq: the questions as buttons."""
    message = update.effective_message
    if message is None:
        return
    body, keyboard = _list_view(context, await _language(update, context))
    await message.reply_text(body, reply_markup=keyboard)


async def _show_entry(update: Update, context: HackbotContext) -> None:
    """A question's button: its answer in place of the list, and a button back to the list."""
    (entry_id,) = button_args(context)
    lang = await _language(update, context)
    body = entry_text(context, lang, entry_id)
    if body is None:
        await refuse_stale_button(update, context)
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    back = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(context, lang, "faq.button_back"), callback_data=callback_data(FEATURE, "list")
                )
            ]
        ]
    )
    await edit_pressed_message(update, body, back)


async def _show_list(update: Update, context: HackbotContext) -> None:
    """The "all questions" button: the list again in the same message."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await edit_pressed_message(update, *_list_view(context, await _language(update, context)))


async def _show_all(update: Update, context: HackbotContext) -> None:
    """The "show all" button: every question with its answer, in as few messages as Telegram allows."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    lang = await _language(update, context)
    entries = [entry_text(context, lang, entry.id) for entry in context.services.event.faq]
    await query.answer()
    blocks = [[text(context, lang, "registration.faq_title")], *[[e] for e in entries if e]]
    for chunk in pack_messages(blocks):
        await context.bot.send_message(user.id, chunk)


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """/faq and its buttons."""
    return [
        CommandHandler(commands.names("faq"), show_faq, filters=filters.ChatType.PRIVATE),
        on_button(FEATURE, "q", _show_entry, r"[A-Za-z0-9_-]{1,32}"),
        on_button(FEATURE, "list", _show_list),
        on_button(FEATURE, "all", _show_all),
    ]
