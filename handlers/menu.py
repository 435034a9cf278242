"""The main menu: a persistent reply keyboard with big buttons, and the Help button behind it."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.common import language_for, text

MENU_KEYS = ("programme", "challenge", "question", "badge", "meals", "help")


def menu_keyboard(
    catalog: Catalog, lang: str, placeholder_key: str = "common.menu_placeholder"
) -> ReplyKeyboardMarkup:
    """Big buttons, always visible, in the participant's language.

    The input field's placeholder says what the bot expects: "choose from the menu" by default,
    "write your question here" after "Ask a question" (`placeholder_key`). Sending the keyboard
    again with the default puts the menu's placeholder back.
    """

    def button(key: str) -> KeyboardButton:
        return KeyboardButton(catalog.label(lang, f"common.menu.{key}"))

    return ReplyKeyboardMarkup(
        [
            [button("programme"), button("challenge")],
            [button("question"), button("badge")],
            [button("meals"), button("help")],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=catalog.label(lang, placeholder_key),
    )


def menu_button(catalog: Catalog, key: str) -> filters.BaseFilter:
    """Matches a tap on the menu button `key`, whatever the language of the keyboard."""
    return filters.ChatType.PRIVATE & filters.Text(catalog.all_variants(f"common.menu.{key}"))


def any_menu_button(catalog: Catalog) -> filters.BaseFilter:
    """Matches a tap on any menu button."""
    labels = [label for key in MENU_KEYS for label in catalog.all_variants(f"common.menu.{key}")]
    return filters.ChatType.PRIVATE & filters.Text(labels)


async def show_help(update: Update, context: HackbotContext) -> None:
    """Help: how to use the bot, where the event is, and the FAQ from the event file."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    participant = await context.person(user.id)
    lang = language_for(context, update, participant)
    event = context.services.event
    default = event.default_language
    parts = [
        text(context, lang, "registration.help"),
        text(context, lang, "registration.help_venue", venue=event.venue.name, address=event.venue.address),
    ]
    if event.faq:
        parts.append(text(context, lang, "registration.faq_title"))
        parts.extend(
            text(
                context,
                lang,
                "registration.faq_item",
                question=entry.question.get(lang, default),
                answer=entry.answer.get(lang, default),
            )
            for entry in event.faq
        )
    keyboard = (
        menu_keyboard(context.services.catalog, lang) if participant and participant.is_active else None
    )
    await message.reply_text("\n\n".join(parts), reply_markup=keyboard)


async def coming_soon(update: Update, context: HackbotContext) -> None:
    """A menu button whose feature is not built yet: say so plainly."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(text(context, language_for(context, update), "common.coming_soon"))


def help_handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """The Help button and /help (/aide)."""
    return [
        MessageHandler(menu_button(catalog, "help"), show_help),
        CommandHandler(commands.names("help"), show_help, filters=filters.ChatType.PRIVATE),
    ]


def placeholder_handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Registered last: menu buttons that no feature claimed yet answer "coming soon"."""
    return [MessageHandler(menu_button(catalog, key), coming_soon) for key in MENU_KEYS if key != "help"]
