"""Registration: /start, consent, name, role. Parses updates, calls `models.registration`, renders.

Callback data (ASCII, well under 64 bytes): `reg:lang:<code>`, `reg:agree:<code>`, `reg:decline`,
`reg:keepname`, `reg:role:<role id>`. Anything else starting with `reg:` is refused as stale.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import HackbotContext
from handlers.common import label, language_for, refuse_stale_button, text
from handlers.input import on_input
from handlers.menu import menu_keyboard
from models import registration
from models.participant import Awaiting, Participant

log = logging.getLogger(__name__)

_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _consent_keyboard(context: HackbotContext, lang: str) -> InlineKeyboardMarkup:
    other = next((code for code in context.services.event.languages if code != lang), None)
    rows = [
        [
            InlineKeyboardButton(
                label(context, lang, "registration.agree"), callback_data=f"reg:agree:{lang}"
            ),
            InlineKeyboardButton(label(context, lang, "registration.decline"), callback_data="reg:decline"),
        ]
    ]
    if other is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    label(context, lang, "registration.switch_language"), callback_data=f"reg:lang:{other}"
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def _welcome_and_notice(context: HackbotContext, lang: str) -> str:
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
                "registration.privacy",
                organiser=event.organiser.name,
                retention_until=event.local(event.retention_until).strftime("%d/%m/%Y"),
            ),
        ]
    )


def role_keyboard(context: HackbotContext, lang: str) -> InlineKeyboardMarkup:
    """One big button per role offered by the event, two per row."""
    event = context.services.event
    buttons = [
        InlineKeyboardButton(
            role.label.get(lang, event.default_language), callback_data=f"reg:role:{role.id}"
        )
        for role in event.roles
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def role_label(context: HackbotContext, lang: str, role_id: str | None) -> str:
    """The role's label in `lang` (the id itself if the event no longer offers that role)."""
    event = context.services.event
    for role in event.roles:
        if role.id == role_id:
            return role.label.get(lang, event.default_language)
    return role_id or text(context, lang, "registration.none")


async def _ask_name(update: Update, context: HackbotContext, participant: Participant) -> None:
    lang = participant.language
    user = update.effective_user
    first_name = registration.clean_display_name(user.first_name if user else None)
    keyboard = None
    if first_name:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        label(context, lang, "registration.keep_name", name=first_name),
                        callback_data="reg:keepname",
                    )
                ]
            ]
        )
    await context.bot.send_message(
        participant.telegram_id, text(context, lang, "registration.ask_name"), reply_markup=keyboard
    )


async def _ask_role(context: HackbotContext, participant: Participant) -> None:
    lang = participant.language
    await context.bot.send_message(
        participant.telegram_id,
        text(context, lang, "registration.ask_role"),
        reply_markup=role_keyboard(context, lang),
    )


async def resume(update: Update, context: HackbotContext, participant: Participant) -> None:
    """Ask again the question a registering person has not answered yet."""
    if participant.awaiting == Awaiting.ROLE:
        await _ask_role(context, participant)
    else:
        await _ask_name(update, context, participant)


async def start(update: Update, context: HackbotContext) -> None:
    """/start: welcome back, resume registration, or welcome + privacy notice for a newcomer."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    payload = context.args[0] if context.args else None
    if payload is not None and not _DEEP_LINK.match(payload):
        payload = None
    if payload is not None:
        log.info("update %s: /start with a deep link", update.update_id)
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    if participant is None:
        lang = language_for(context, update)
        await message.reply_text(
            _welcome_and_notice(context, lang), reply_markup=_consent_keyboard(context, lang)
        )
        return
    if not participant.is_active:
        await message.reply_text(text(context, participant.language, "common.registration_unfinished"))
        await resume(update, context, participant)
        return
    await message.reply_text(
        text(context, participant.language, "registration.welcome_back", name=participant.display_name),
        reply_markup=menu_keyboard(context.services.catalog, participant.language),
    )


async def require_current_consent(update: object, context: HackbotContext) -> None:
    """Ask again for consent when the privacy notice changed since the person agreed.

    Runs before the features (group -1) for private chats: until they agree to the new notice,
    only the notice's own buttons (and /forget, /mydata) go through.
    """
    if not isinstance(update, Update) or update.effective_user is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    query = update.callback_query
    if query is not None and (query.data or "").startswith(("reg:", "forget:")):
        return
    message = update.effective_message
    if message is not None and (message.text or "").split(" ")[0] in {"/forget", "/mydata"}:
        return
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, update.effective_user.id)
    version = context.services.event.privacy.version
    if participant is None or participant.consent_version == version:
        return
    lang = participant.language
    log.info("update %s: consent to notice %s requested again", update.update_id, version)
    if query is not None:
        await query.answer()
    await context.bot.send_message(
        participant.telegram_id,
        _welcome_and_notice(context, lang),
        reply_markup=_consent_keyboard(context, lang),
    )
    raise ApplicationHandlerStop


async def _edit_or_ignore(
    update: Update, new_text: str, *, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message that carried the pressed button (its buttons go unless new ones are given)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(new_text, reply_markup=reply_markup)
    except BadRequest as exc:  # e.g. "message is not modified" after a double tap
        log.info("update %s: edit skipped (%s)", update.update_id, exc.message)


async def on_button(update: Update, context: HackbotContext) -> None:
    """All `reg:` buttons."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    parts = query.data.split(":")
    action, arg = parts[1], (parts[2] if len(parts) > 2 else None)
    event = context.services.event

    if action == "lang" and arg in event.languages:
        await query.answer()
        await _edit_or_ignore(
            update, _welcome_and_notice(context, arg), reply_markup=_consent_keyboard(context, arg)
        )
        return
    if action == "decline" and arg is None:
        await query.answer()
        async with context.services.db.read() as session:
            already = await registration.get_participant(session, user.id)
        if already is None:
            await _edit_or_ignore(
                update, text(context, language_for(context, update), "registration.declined")
            )
        return
    if action == "agree" and arg in event.languages:
        async with context.services.db.transaction() as session:
            participant = await registration.give_consent(
                session,
                telegram_id=user.id,
                first_name=user.first_name,
                language=arg,
                consent_version=event.privacy.version,
                now=context.services.now(),
            )
        await query.answer(label(context, arg, "registration.consent_recorded"))
        await _edit_or_ignore(
            update,
            _welcome_and_notice(context, arg) + "\n\n" + text(context, arg, "registration.consent_recorded"),
        )
        if participant.is_active:
            await start(update, context)
        else:
            await resume(update, context, participant)
        return
    if action == "keepname" and arg is None:
        await _keep_name(update, context)
        return
    if action == "role" and arg is not None and event.role(arg) is not None:
        await _choose_role(update, context, arg)
        return
    await refuse_stale_button(update, context)


async def _keep_name(update: Update, context: HackbotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    name = registration.clean_display_name(user.first_name)
    async with context.services.db.transaction() as session:
        participant = await registration.get_participant(session, user.id)
        if participant is None or participant.awaiting != Awaiting.NAME or name is None:
            participant = None
        else:
            registration.set_display_name(participant, name)
    if participant is None:
        await refuse_stale_button(update, context)
        return
    await query.answer()
    await _edit_or_ignore(update, text(context, participant.language, "registration.name_saved", name=name))
    await _after_name(context, participant)


async def _after_name(context: HackbotContext, participant: Participant) -> None:
    if participant.is_active:
        await context.bot.send_message(
            participant.telegram_id,
            text(context, participant.language, "registration.name_saved", name=participant.display_name),
            reply_markup=menu_keyboard(context.services.catalog, participant.language),
        )
    else:
        await _ask_role(context, participant)


async def _choose_role(update: Update, context: HackbotContext, role_id: str) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    async with context.services.db.transaction() as session:
        participant = await registration.get_participant(session, user.id)
        completed = False
        if participant is not None and (participant.awaiting == Awaiting.ROLE or participant.is_active):
            completed = registration.set_role(participant, role_id, context.services.now())
        else:
            participant = None
    if participant is None:
        await refuse_stale_button(update, context)
        return
    lang = participant.language
    await query.answer()
    await _edit_or_ignore(
        update, text(context, lang, "registration.role_saved", role=role_label(context, lang, role_id))
    )
    if completed:
        await context.bot.send_message(
            participant.telegram_id,
            text(context, lang, "registration.registered", name=participant.display_name),
            reply_markup=menu_keyboard(context.services.catalog, lang),
        )


@on_input(Awaiting.NAME, reprompt_key="registration.reprompt_name")
async def receive_name(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The person typed their name (registration, or a change from /profile)."""
    message = update.effective_message
    assert message is not None
    name = registration.clean_display_name(message.text)
    if name is None:
        await message.reply_text(text(context, participant.language, "registration.name_invalid"))
        return
    async with context.services.db.transaction() as session:
        current = await registration.get_participant(session, participant.telegram_id)
        if current is None:
            return
        registration.set_display_name(current, name)
    if not current.is_active:
        await message.reply_text(text(context, current.language, "registration.name_saved", name=name))
    await _after_name(context, current)


@on_input(Awaiting.ROLE, accepts_media=True)
async def remind_role(update: Update, context: HackbotContext, participant: Participant) -> None:
    """Typed text while we wait for a role button: point at the buttons again."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        text(context, participant.language, "registration.reprompt_role"),
        reply_markup=role_keyboard(context, participant.language),
    )


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Registration handlers, in the order they must be tried."""
    return [
        CommandHandler("start", start, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=r"^reg:"),
    ]
