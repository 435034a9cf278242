"""The participant's own data: /profile (name, role, language), /mydata and /forget.

/mydata and /forget also answer organisers and facilitators who never registered: what is kept
about their Telegram account (see `models.privacy`) is shown and erased the same way.

Callback data: `prof:name`, `prof:role`, `prof:lang`, `prof:setlang:<code>`, `forget:yes`, `forget:no`.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import HackbotContext
from bot.display import pack_messages
from bot.i18n import Catalog, Markup, escape
from handlers.common import active_participant, label, language_for, refuse_stale_button, text
from handlers.menu import menu_keyboard
from handlers.registration import role_keyboard, role_label
from models import registration
from models.participant import Participant
from models.privacy import DataItem, Phrase, Value, collect_personal_data

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
                    label(context, lang, "registration.profile_change_name"), callback_data="prof:name"
                )
            ],
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.profile_change_role"), callback_data="prof:role"
                )
            ],
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.profile_change_language"), callback_data="prof:lang"
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


async def on_profile_button(update: Update, context: HackbotContext) -> None:
    """The buttons under /profile."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    participant = await active_participant(update, context)
    if participant is None:
        return
    lang = participant.language
    parts = query.data.split(":")
    action = parts[1]
    if action == "name" and len(parts) == 2:
        async with context.services.db.transaction() as session:
            current = await registration.get_participant(session, participant.telegram_id)
            if current is not None:
                registration.ask_for_new_name(current)
        await query.answer()
        await context.bot.send_message(
            participant.telegram_id, text(context, lang, "registration.ask_new_name")
        )
    elif action == "role" and len(parts) == 2:
        await query.answer()
        await context.bot.send_message(
            participant.telegram_id,
            text(context, lang, "registration.ask_role"),
            reply_markup=role_keyboard(context, lang),
        )
    elif action == "lang" and len(parts) == 2:
        await query.answer()
        buttons = [
            InlineKeyboardButton(_language_name(context, code), callback_data=f"prof:setlang:{code}")
            for code in context.services.event.languages
        ]
        await context.bot.send_message(
            participant.telegram_id,
            text(context, lang, "registration.ask_language"),
            reply_markup=InlineKeyboardMarkup([buttons]),
        )
    elif action == "setlang" and len(parts) == 3 and parts[2] in context.services.event.languages:
        new_lang = parts[2]
        async with context.services.db.transaction() as session:
            current = await registration.get_participant(session, participant.telegram_id)
            if current is not None:
                registration.set_language(current, new_lang)
        await query.answer()
        await context.bot.send_message(
            participant.telegram_id,
            text(context, new_lang, "registration.language_saved"),
            reply_markup=menu_keyboard(context.services.catalog, new_lang),
        )
    else:
        await refuse_stale_button(update, context)


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
    async with services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
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
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
        blocks = (
            []
            if participant is not None
            else await collect_personal_data(session, user.id, None, context.services.event)
        )
    lang = language_for(context, update, participant)
    if participant is None and not blocks:
        await message.reply_text(text(context, lang, "registration.mydata_nothing"))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.forget_yes"), callback_data="forget:yes"
                )
            ],
            [InlineKeyboardButton(label(context, lang, "registration.forget_no"), callback_data="forget:no")],
        ]
    )
    await message.reply_text(text(context, lang, "registration.forget_confirm"), reply_markup=keyboard)


async def on_forget_button(update: Update, context: HackbotContext) -> None:
    """Confirmation buttons of /forget."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data not in {"forget:yes", "forget:no"}:
        await refuse_stale_button(update, context)
        return
    lang = language_for(context, update)
    if query.data == "forget:no":
        await query.answer()
        await query.edit_message_text(text(context, lang, "registration.forget_kept"))
        return
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    lang = language_for(context, update, participant)
    async with context.services.db.transaction() as session:
        erased = await registration.forget(session, user.id)
    await query.answer()
    if not erased:
        await query.edit_message_text(text(context, lang, "registration.mydata_nothing"))
        return
    # Queued deletions of relayed copies (questions) must leave now, not at the next poll.
    context.services.wake_sender()
    log.info("update %s: a person erased their data", update.update_id)
    await query.edit_message_text(text(context, lang, "registration.forgotten"))
    # Remove the menu keyboard: without data there is nothing behind its buttons.
    await context.bot.send_message(user.id, "👋", reply_markup=ReplyKeyboardRemove())


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Profile and privacy commands."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("profile", show_profile, filters=private),
        CommandHandler("mydata", show_my_data, filters=private),
        CommandHandler("forget", ask_forget, filters=private),
        CallbackQueryHandler(on_profile_button, pattern=r"^prof:"),
        CallbackQueryHandler(on_forget_button, pattern=r"^forget:"),
    ]
