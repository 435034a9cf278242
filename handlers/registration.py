"""Registration: /start, consent, name, role. Parses updates, calls `models.registration`, renders.

The first screen itself (welcome, short notice, "Read more", language) is `handlers.welcome`.
Buttons (one handler per action): `reg:agree:<code>`, `reg:decline`, `reg:keepname`,
`reg:role:<role id>`, and the first screen's `reg:lang:<code>`, `reg:more:<code>`. Anything else
is refused as stale by the fallback.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, filters

from bot import commands, display
from bot.context import HackbotContext
from handlers import arrival, free_text, profile_questions, welcome
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
from handlers.input import on_input
from handlers.menu import menu_keyboard
from models import registration
from models.participant import Awaiting, Participant

log = logging.getLogger(__name__)

_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ID = r"[A-Za-z0-9_-]{1,32}"


def role_keyboard(context: HackbotContext, lang: str) -> InlineKeyboardMarkup:
    """One big button per role offered by the event, two per row."""
    event = context.services.event
    buttons = [
        InlineKeyboardButton(
            role.label.get(lang, event.default_language), callback_data=callback_data("reg", "role", role.id)
        )
        for role in event.roles
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def role_label(context: HackbotContext, lang: str, role_id: str | None) -> str:
    """The role's label in `lang` (the id itself if the event no longer offers that role)."""
    return display.role_label(context.services.catalog, context.services.event, lang, role_id)


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
                        callback_data=callback_data("reg", "keepname"),
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
    if payload and arrival.is_arrival_payload(payload) and await arrival.open_link(update, context, payload):
        return  # a badge or poster scanned: the arrival feature answered
    participant = await context.person(user.id)
    if participant is None:
        lang = language_for(context, update)
        await message.reply_text(
            welcome.welcome_and_notice(context, lang), reply_markup=welcome.consent_keyboard(context, lang)
        )
        return
    if not participant.is_active:
        await message.reply_text(text(context, participant.language, "common.registration_unfinished"))
        await resume(update, context, participant)
        return
    await _greet(update, context, participant)


async def _greet(update: Update, context: HackbotContext, participant: Participant) -> None:
    """Welcome back a registered person, with the menu keyboard."""
    await context.bot.send_message(
        participant.telegram_id,
        text(context, participant.language, "registration.welcome_back", name=participant.display_name),
        reply_markup=menu_keyboard(context.services.catalog, participant.language),
    )


async def require_current_consent(update: object, context: HackbotContext) -> None:
    """Ask again for consent when the privacy notice changed since the person agreed.

    Runs before the features (group -1) for private chats: until they agree to the new notice,
    only the notice's own buttons (and /forget, /mydata, under their names in every language) go through.
    """
    if not isinstance(update, Update) or update.effective_user is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    query = update.callback_query
    if query is not None and (query.data or "").startswith(("reg:", "forget:")):
        return
    message = update.effective_message
    if message is not None and any(commands.is_command(message.text, key) for key in ("forget", "mydata")):
        return
    participant = await context.person(update.effective_user.id)
    version = context.services.event.privacy.version
    if participant is None or participant.consent_version == version:
        return
    lang = participant.language
    log.info("update %s: consent to notice %s requested again", update.update_id, version)
    if query is not None:
        await query.answer()
    await context.bot.send_message(
        participant.telegram_id,
        welcome.welcome_and_notice(context, lang),
        reply_markup=welcome.consent_keyboard(context, lang),
    )
    raise ApplicationHandlerStop


async def _decline(update: Update, context: HackbotContext) -> None:
    """The "no thanks" button: nothing is stored; say so (unless the person had already agreed)."""
    user = update.effective_user
    assert user is not None
    await _answer(update)
    if await context.person(user.id) is None:
        await edit_pressed_message(
            update, text(context, language_for(context, update), "registration.declined")
        )


async def _agree(update: Update, context: HackbotContext) -> None:
    """The "I agree" button: record consent (time and notice version), then ask the first question."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    (lang,) = button_args(context)
    event = context.services.event
    if lang not in event.languages:
        await refuse_stale_button(update, context)
        return
    before = await context.person(user.id)
    if before is not None and before.consent_version == event.privacy.version:
        # A second tap (or an old copy of the notice): consent is on record, the next question
        # was already asked; asking it again would only repeat it.
        await query.answer(label(context, before.language, "registration.consent_recorded"))
        return
    async with context.services.db.transaction() as session:
        participant = await registration.give_consent(
            session,
            telegram_id=user.id,
            first_name=user.first_name,
            language=lang,
            consent_version=event.privacy.version,
            now=context.services.now(),
        )
    await query.answer(label(context, lang, "registration.consent_recorded"))
    await edit_pressed_message(
        update,
        welcome.welcome_and_notice(context, lang)
        + "\n\n"
        + text(context, lang, "registration.consent_recorded"),
    )
    if participant.is_active:
        await _greet(update, context, participant)
    else:
        await resume(update, context, participant)


async def _keep_name(update: Update, context: HackbotContext) -> None:
    """The "keep my Telegram name" button, valid while the bot waits for a name."""
    user = update.effective_user
    assert user is not None
    async with context.services.db.transaction() as session:
        saved = await registration.save_name(session, user.id, user.first_name, only_when_asked=True)
    if saved is None:
        await refuse_stale_button(update, context)
        return
    await _answer(update)
    lang = saved.participant.language
    await edit_pressed_message(update, text(context, lang, "registration.name_saved", name=saved.name))
    await _after_name(context, saved.participant)


async def _after_name(context: HackbotContext, participant: Participant) -> None:
    if participant.is_active:
        await context.bot.send_message(
            participant.telegram_id,
            text(context, participant.language, "registration.name_saved", name=participant.display_name),
            reply_markup=menu_keyboard(context.services.catalog, participant.language),
        )
    else:
        await _ask_role(context, participant)


async def _choose_role(update: Update, context: HackbotContext) -> None:
    """A role button, during registration or from /profile."""
    user = update.effective_user
    assert user is not None
    (role_id,) = button_args(context)
    event = context.services.event
    async with context.services.db.transaction() as session:
        saved = await registration.save_role(
            session, user.id, role_id, [role.id for role in event.roles], context.services.now()
        )
    if saved is None:
        await refuse_stale_button(update, context)
        return
    participant, lang = saved.participant, saved.participant.language
    await _answer(update)
    await edit_pressed_message(
        update, text(context, lang, "registration.role_saved", role=role_label(context, lang, role_id))
    )
    if saved.completed:
        await context.bot.send_message(
            participant.telegram_id,
            text(context, lang, "registration.registered", name=participant.display_name),
            reply_markup=menu_keyboard(context.services.catalog, lang),
        )
        # Then the event's optional profile questions (the funders' figures), if it asks any.
        await profile_questions.ask_first(context, participant)


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


@on_input(Awaiting.NAME, reprompt_key="registration.reprompt_name")
async def receive_name(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The person typed their name (registration, or a change from /profile)."""
    message = update.effective_message
    assert message is not None
    async with context.services.db.transaction() as session:
        saved = await registration.save_name(session, participant.telegram_id, message.text)
    if saved is None:
        await message.reply_text(text(context, participant.language, "registration.name_invalid"))
        return
    if saved.asks_role_next:
        await message.reply_text(
            text(context, saved.participant.language, "registration.name_saved", name=saved.name)
        )
    await _after_name(context, saved.participant)


async def answer_unrouted(update: Update, context: HackbotContext, participant: Participant | None) -> None:
    """A free message nobody took: welcome, next registration question, or an answer to what was typed.

    The welcome for a newcomer, the next question for someone registering; for everyone else the
    message is most likely a question: answered from the FAQ or offered to the team (`free_text`).
    """
    message = update.effective_message
    if message is None:
        return
    if participant is None:
        # Someone who never pressed "I agree" (or erased their data): show the welcome again.
        await start(update, context)
        return
    lang = participant.language
    if not participant.is_active:
        await message.reply_text(text(context, lang, "common.registration_unfinished"))
        await resume(update, context, participant)
        return
    await free_text.answer_typed(update, context, participant)


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
        *welcome.handlers(),
        on_button("reg", "agree", _agree, _ID),
        on_button("reg", "decline", _decline),
        on_button("reg", "keepname", _keep_name),
        on_button("reg", "role", _choose_role, _ID),
    ]
