"""What every feature's handlers share: the cross-cutting steps and the few helpers of the UI.

Cross-cutting steps (PTB has no middleware): duplicate updates, foreign chats, errors, stale buttons.
Helpers, one of each so features never grow their own: who is behind the update
(`active_participant`, loaded once per update), the organiser check (`organiser_language`), the
button pattern (`callback_data` to build, `on_button` to route one action to one handler,
`button_args` to read its arguments) and the edit of the pressed message (`edit_pressed_message`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot import commands, shown
from bot.context import HackbotContext
from models.participant import Participant

CALLBACK_DATA_LIMIT = 64
"""Telegram refuses callback data over 64 bytes."""

log = logging.getLogger(__name__)


async def drop_duplicate_updates(update: object, context: HackbotContext) -> None:
    """Handle each update once, even if Telegram (or a webhook retry) delivers it twice."""
    if not isinstance(update, Update):
        return
    if not await context.services.update_ledger.first_time(update.update_id):
        log.info("update %s delivered twice: ignored", update.update_id)
        raise ApplicationHandlerStop


async def ignore_foreign_chats(update: object, context: HackbotContext) -> None:
    """Serve private chats and the configured staff group only; ignore every other group.

    One exception: /groupe_equipe (/staffgroup), which an organiser sends in the group that is to
    become the staff group, before the event file names it (`handlers.setup` checks who sends it).
    """
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type == Chat.PRIVATE or chat.id == context.services.event.staff_chat_id:
        return
    message = update.message
    if message is not None and commands.is_command(message.text, "staffgroup"):
        return
    log.info("update %s from unserved chat %s ignored", update.update_id, chat.id)
    raise ApplicationHandlerStop


def language_for(context: HackbotContext, update: Update, participant: Participant | None = None) -> str:
    """The language to speak: the participant's choice, else Telegram's language, else the default."""
    if participant is not None:
        return participant.language
    user = update.effective_user
    return context.services.catalog.resolve_language(
        user.language_code if user else None, context.services.event.languages
    )


def text(context: HackbotContext, lang: str, key: str, /, **params: object) -> str:
    """Shortcut for the catalog lookup."""
    return context.services.catalog.text(lang, key, **params)


def label(context: HackbotContext, lang: str, key: str, /, **params: object) -> str:
    """Shortcut for a plain-text label (buttons, callback answers): not HTML, not escaped."""
    return context.services.catalog.label(lang, key, **params)


async def active_participant(update: Update, context: HackbotContext) -> Participant | None:
    """The registered participant behind this update, or None after telling them what to do.

    Someone unknown is told to send /start; someone mid-registration to finish it first.
    """
    user = update.effective_user
    if user is None:
        return None
    participant = await context.person(user.id)
    if participant is not None and participant.is_active:
        return participant
    lang = language_for(context, update, participant)
    key = "common.not_registered" if participant is None else "common.registration_unfinished"
    if update.callback_query is not None:
        await update.callback_query.answer(label(context, lang, key))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text(context, lang, key))
    return None


async def organiser_language(update: Update, context: HackbotContext) -> str | None:
    """The organiser's language, or None after a polite refusal for anyone else (forged buttons too).

    The one organiser check of every feature: the list of organisers is in the event file.
    """
    user = update.effective_user
    if user is None:
        return None
    participant = await context.person(user.id)
    lang = language_for(context, update, participant)
    if context.services.event.is_organiser(user.id):
        return lang
    log.info("update %s: organiser action refused", update.update_id)
    if update.callback_query is not None:
        await update.callback_query.answer(label(context, lang, "common.not_allowed"), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text(context, lang, "common.not_allowed"))
    return None


# ---- buttons ---------------------------------------------------------------------------------------

_ARG = re.compile(r"^[A-Za-z0-9_.-]*$")


def callback_data(feature: str, action: str, *args: str | int) -> str:
    """`feature:action[:arg...]`, the data of one button; refuses what Telegram would refuse.

    Arguments are ids (ASCII letters, digits, `_.-`), never free text: a button carries a reference,
    the database holds the rest.
    """
    parts = [feature, action, *(str(arg) for arg in args)]
    for part in parts:
        if not _ARG.match(part):
            raise ValueError(f"callback part {part!r} is not a plain id")
    data = ":".join(parts)
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data {data!r} is over {CALLBACK_DATA_LIMIT} bytes")
    return data


ButtonCallback = Callable[[Update, HackbotContext], Coroutine[Any, Any, None]]


def on_button(
    feature: str, action: str, callback: ButtonCallback, *args: str
) -> CallbackQueryHandler[HackbotContext, None]:
    """One handler for one button action: `feature:action` followed by one field per regex in `args`.

    Data that does not match exactly (forged, truncated, from an older version) reaches no feature
    handler and is refused by `refuse_stale_button`. The handler reads its fields with `button_args`.
    """
    fields = "".join(f":({arg})" for arg in args)
    pattern = re.compile(f"^{re.escape(feature)}:{re.escape(action)}{fields}$")
    return CallbackQueryHandler(callback, pattern=pattern)


def button_args(context: HackbotContext) -> tuple[str, ...]:
    """The fields of the pressed button, as matched by `on_button`'s patterns."""
    match = context.match
    return tuple(match.groups()) if match is not None else ()


def _same_content(message: Message, new_text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
    """Whether the message already shows this text and these buttons (Telegram would answer 400)."""
    if message.text_html != new_text and message.text_html_urled != new_text:
        return False
    current = message.reply_markup
    if keyboard is None:
        return current is None or not current.inline_keyboard
    return current is not None and current.to_dict() == keyboard.to_dict()


def _fingerprint(text_html: str | None, keyboard: InlineKeyboardMarkup | None) -> shown.Fingerprint:
    rows = keyboard.to_dict() if keyboard is not None and keyboard.inline_keyboard else None
    return (text_html, rows)


async def edit_pressed_message(
    update: Update, new_text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show `new_text` (and `keyboard`, or no buttons) in the message that carried the pressed button.

    THE edit of a pressed message: never edits to the content the message already shows (a double
    tap's second press carries the snapshot taken before the first one's edit: `bot.shown`
    remembers what that edit put there), takes Telegram's "message is not modified" as done, and
    leaves a message too old to edit as it is.
    """
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    message = query.message
    memory = shown.current()
    key = (message.chat.id, message.message_id)
    pressed_on = _fingerprint(message.text_html if message.text else None, message.reply_markup)
    wanted = _fingerprint(new_text, keyboard)
    if memory is not None and memory.showing(key, pressed_on) != pressed_on:
        if memory.showing(key, pressed_on) == wanted:  # an earlier press already put it there
            return
    elif _same_content(message, new_text, keyboard):
        return
    if memory is not None:  # before the request: a press handled meanwhile sees it
        memory.remember(key, pressed_on, wanted)
    try:
        await query.edit_message_text(new_text, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        if memory is not None:
            memory.forget(key)
        log.info("update %s: edit skipped (%s)", update.update_id, exc.message)


async def refuse_stale_button(update: Update, context: HackbotContext) -> None:
    """Answer a button we do not (or no longer) understand: a forged, old or foreign callback."""
    query = update.callback_query
    if query is None:
        return
    log.info("stale or unknown callback in update %s refused", update.update_id)
    await query.answer(label(context, language_for(context, update), "common.stale_button"))


async def on_error(update: object, context: HackbotContext) -> None:
    """Log the failure (ids only, no personal data) and tell the person kindly; never crash."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: the user blocked the bot", update_id)
        return
    log.error("update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != Chat.PRIVATE:
        return
    lang = language_for(context, update)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(label(context, lang, "common.error"))
        else:
            await context.bot.send_message(update.effective_chat.id, text(context, lang, "common.error"))
    except TelegramError:
        log.warning("update %s: could not tell the user about the failure", update_id)
