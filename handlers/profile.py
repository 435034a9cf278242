"""The participant's own data: /profile (name, role, language), /mydata and /forget.

Each command also answers to its French name (/profil, /mesdonnees, /oublier: see `bot.commands`).

/mydata and /forget also answer organisers and facilitators who never registered: what is kept
about their Telegram account (see `models.privacy`) is shown and erased the same way.

Callback data: `prof:name`, `prof:role`, `prof:lang`, `prof:setlang:<code>`, `forget:yes`, `forget:no`.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.display import pack_messages
from bot.i18n import Catalog, Markup, escape
from handlers.common import (
    active_participant,
    button_args,
    callback_data,
    edit_pressed_message,
    label,
    language_for,
    on_button,
    refuse_stale_button,
    text,
)
from handlers.menu import menu_keyboard
from handlers.registration import role_keyboard, role_label
from models import registration
from models.participant import Awaiting, Participant
from models.privacy import DataItem, ErasureContext, Phrase, Value, collect_personal_data

log = logging.getLogger(__name__)


def _language_name(context: HackbotContext, lang: str) -> str:
    return label(context, lang, "registration.language_name")


async def show_profile(update: Update, context: HackbotContext) -> None:
    """/profile: what we call you, your role, your language, and buttons to change each."""
    participant = await active_participant(update, context)
    message = update.effective_message
    if participant is None or message is None:
        return
    lang = participant.language
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.profile_change_name"),
                    callback_data=callback_data("prof", "name"),
                )
            ],
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.profile_change_role"),
                    callback_data=callback_data("prof", "role"),
                )
            ],
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.profile_change_language"),
                    callback_data=callback_data("prof", "lang"),
                )
            ],
        ]
    )
    await message.reply_text(
        text(
            context,
            lang,
            "registration.profile",
            name=participant.display_name,
            role=role_label(context, lang, participant.role),
            language=_language_name(context, lang),
        ),
        reply_markup=keyboard,
    )


async def _ask_new_name(update: Update, context: HackbotContext) -> None:
    """The "change my name" button: the next text the person types is their new name."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    if participant.awaiting == Awaiting.NAME and update.callback_query is not None:
        # A second tap: the question is already in the chat; say it again as a toast only.
        await update.callback_query.answer(label(context, participant.language, "registration.ask_new_name"))
        return
    async with context.services.db.transaction() as session:
        await registration.request_new_name(session, participant.telegram_id)
    await _answer(update)
    await context.bot.send_message(
        participant.telegram_id, text(context, participant.language, "registration.ask_new_name")
    )


async def _ask_role(update: Update, context: HackbotContext) -> None:
    """The "change my role" button: the role buttons again."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    lang = participant.language
    await _answer(update)
    await context.bot.send_message(
        participant.telegram_id,
        text(context, lang, "registration.ask_role"),
        reply_markup=role_keyboard(context, lang),
    )


async def _ask_language(update: Update, context: HackbotContext) -> None:
    """The "change my language" button: one button per language of the event."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    buttons = [
        InlineKeyboardButton(
            _language_name(context, code), callback_data=callback_data("prof", "setlang", code)
        )
        for code in context.services.event.languages
    ]
    await _answer(update)
    await context.bot.send_message(
        participant.telegram_id,
        text(context, participant.language, "registration.ask_language"),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


async def _set_language(update: Update, context: HackbotContext) -> None:
    """A language button: speak it from now on (the menu keyboard changes with it)."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    (new_lang,) = button_args(context)
    async with context.services.db.transaction() as session:
        changed = await registration.change_language(
            session, participant.telegram_id, new_lang, context.services.event.languages
        )
    if changed is None:
        await refuse_stale_button(update, context)
        return
    await _answer(update)
    await context.bot.send_message(
        participant.telegram_id,
        text(context, new_lang, "registration.language_saved"),
        reply_markup=menu_keyboard(context.services.catalog, new_lang),
    )


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


def render_value(catalog: Catalog, lang: str, tz: tzinfo, value: Value) -> str:
    """A `/mydata` value as text: person-provided text escaped once, datetimes in the event's zone."""
    if value is None:
        return catalog.text(lang, "registration.none")
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, Phrase):
        params = {
            # Already HTML (a nested phrase escaped its own parameters): not escaped a second time.
            name: Markup(render_value(catalog, lang, tz, param))
            if isinstance(param, Phrase | datetime)
            else param
            for name, param in value.params.items()
        }
        return catalog.text(lang, value.key, **{k: "" if v is None else v for k, v in params.items()})
    return escape(value)


def _registration_items(context: HackbotContext, participant: Participant) -> list[DataItem]:
    lang = participant.language
    return [
        DataItem("registration.label.name", participant.display_name),
        DataItem("registration.label.language", _language_name(context, participant.language)),
        DataItem(
            "registration.label.role",
            role_label(context, lang, participant.role) if participant.role else None,
        ),
        DataItem("registration.label.consent", participant.consent_given_at),
        DataItem("registration.label.consent_version", participant.consent_version),
        DataItem("registration.label.registered_at", participant.registered_at),
        DataItem(
            "registration.label.reminders",
            Phrase("registration.state_on" if participant.reminders_enabled else "registration.state_off"),
        ),
    ]


async def show_my_data(update: Update, context: HackbotContext) -> None:
    """/mydata: every stored field about the person, from every feature, one block per feature.

    Someone who never registered (an organiser, a facilitator) is shown what is kept about their
    Telegram account, if anything.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = context.services
    participant = await context.person(user.id)
    async with services.db.read() as session:
        blocks = await collect_personal_data(session, user.id, participant, services.event)
    lang = language_for(context, update, participant)
    if participant is None and not blocks:
        await message.reply_text(text(context, lang, "registration.mydata_nothing"))
        return
    first = [DataItem("registration.label.telegram_id", str(user.id))]
    if participant is not None:
        first += _registration_items(context, participant)
    catalog, tz = services.catalog, services.event.tz
    rendered: list[list[str]] = [
        [
            catalog.text(
                lang,
                "registration.mydata_line",
                label=catalog.text(lang, item.label_key),
                value=Markup(render_value(catalog, lang, tz, item.value)),
            )
            for item in block
        ]
        for block in [first, *blocks]
    ]
    rendered[0].insert(0, text(context, lang, "registration.mydata_title"))
    rendered.append([text(context, lang, "registration.mydata_footer")])
    for chunk in pack_messages(rendered):
        await message.reply_text(chunk)


async def ask_forget(update: Update, context: HackbotContext) -> None:
    """/forget: ask for confirmation first (erasing is final)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    participant = await context.person(user.id)
    blocks = []
    if participant is None:
        async with context.services.db.read() as session:
            blocks = await collect_personal_data(session, user.id, None, context.services.event)
    lang = language_for(context, update, participant)
    if participant is None and not blocks:
        await message.reply_text(text(context, lang, "registration.mydata_nothing"))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.forget_yes"),
                    callback_data=callback_data("forget", "yes"),
                )
            ],
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.forget_no"),
                    callback_data=callback_data("forget", "no"),
                )
            ],
        ]
    )
    await message.reply_text(text(context, lang, "registration.forget_confirm"), reply_markup=keyboard)


async def _keep_data(update: Update, context: HackbotContext) -> None:
    """The "no, keep" button: nothing happens (a double tap finds the message already changed)."""
    await _answer(update)
    await edit_pressed_message(
        update, text(context, language_for(context, update), "registration.forget_kept")
    )


async def _erase_data(update: Update, context: HackbotContext) -> None:
    """The "yes, erase" button: everything about the person goes, in one transaction."""
    user = update.effective_user
    assert user is not None
    participant = await context.person(user.id)
    lang = language_for(context, update, participant)
    erasure = ErasureContext(context.services.event, context.services.catalog, context.services.now())
    async with context.services.db.transaction() as session:
        erased = await registration.forget(session, user.id, erasure)
    context.forget_person()
    await _answer(update)
    if not erased:
        await edit_pressed_message(update, text(context, lang, "registration.mydata_nothing"))
        return
    # Queued deletions of relayed copies (questions) must leave now, not at the next poll.
    context.services.wake_sender()
    log.info("update %s: a person erased their data", update.update_id)
    await edit_pressed_message(update, text(context, lang, "registration.forgotten"))
    # Remove the menu keyboard: without data there is nothing behind its buttons.
    await context.bot.send_message(user.id, "👋", reply_markup=ReplyKeyboardRemove())


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Profile and privacy commands."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(commands.names("profile"), show_profile, filters=private),
        CommandHandler(commands.names("mydata"), show_my_data, filters=private),
        CommandHandler(commands.names("forget"), ask_forget, filters=private),
        on_button("prof", "name", _ask_new_name),
        on_button("prof", "role", _ask_role),
        on_button("prof", "lang", _ask_language),
        on_button("prof", "setlang", _set_language, r"[A-Za-z0-9_-]{1,32}"),
        on_button("forget", "yes", _erase_data),
        on_button("forget", "no", _keep_data),
    ]
