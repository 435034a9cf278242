"""Composing an announcement: `/annonce`, the audience, when to send it, and "Send".

Each button is one action (`on_button` patterns in `handlers.broadcasts`): it parses its fields,
calls one domain function in one transaction (`models.broadcasts`), and renders what it returned.
The free messages of the flow (the announcement itself, a typed time) reach the draft through the
input router's claim, `handlers.broadcasts.take_draft_input`.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import HackbotContext, Services
from handlers.broadcasts import views
from handlers.broadcasts.shared import answer_refused, organiser_tap, send_content
from handlers.common import edit_pressed_message, organiser_language, refuse_stale_button
from models import broadcasts as bc
from schedule.broadcast_views import label, progress_view, text
from schedule.broadcasts import Shown, after_commit

log = logging.getLogger(__name__)


async def start_announcement(update: Update, context: HackbotContext) -> None:
    """/annonce: a fresh draft; ask for the message to broadcast."""
    message = update.effective_message
    user = update.effective_user
    lang = await organiser_language(update, context)
    if lang is None or message is None or user is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        draft = await bc.start_draft(session, user.id, lang, services.now())
    log.info("update %s: organiser %s started an announcement", update.update_id, user.id)
    await message.reply_text(
        text(services, lang, "ask_content"), reply_markup=views.nonce_keyboard(services, lang, draft.nonce)
    )


async def cancel(update: Update, context: HackbotContext) -> None:
    """`bc:x:<nonce>`: drop the draft (at any step)."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    (nonce,) = tap.args
    services = context.services
    async with services.db.transaction() as session:
        draft = await bc.cancel_draft(session, tap.organiser_id, nonce, services.now())
    if isinstance(draft, bc.Refused):
        await answer_refused(update, context, draft)
        return
    await tap.query.answer()
    await edit_pressed_message(update, text(services, draft.language, "cancelled"))


async def open_menu(update: Update, context: HackbotContext) -> None:
    """`bc:menu:<nonce>:<menu>`: the audience menu, or one of its sub-menus."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    nonce, menu = tap.args
    services = context.services
    async with services.db.transaction() as session:
        found = await bc.open_audience_menu(session, tap.organiser_id, nonce, services.now())
    if isinstance(found, bc.Refused):
        await answer_refused(update, context, found)
        return
    await tap.query.answer()
    await edit_pressed_message(
        update,
        text(services, found.language, "choose_audience"),
        views.audience_keyboard(services, found.language, found.nonce, menu, found.counts),
    )


def _offered(services: Services, stored: str) -> bc.Audience | None:
    """The audience a button names, if the event still offers it."""
    try:
        audience = bc.Audience.decode(stored)
    except ValueError:
        return None
    event = services.event
    arg = audience.arg or ""
    offered = {
        bc.AudienceKind.ALL: True,
        bc.AudienceKind.CHALLENGE: event.challenge(arg) is not None,
        bc.AudienceKind.ROLE: event.role(arg) is not None,
        bc.AudienceKind.MEAL: event.meal(arg) is not None,
        bc.AudienceKind.PRESENT: True,
        bc.AudienceKind.NOT_ARRIVED: True,  # the day was checked by `decode`
    }[audience.kind]
    return audience if offered else None


async def choose_audience(update: Update, context: HackbotContext) -> None:
    """`bc:aud:<nonce>:<audience>`: the audience is chosen; the preview, then the confirmation."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    nonce, stored = tap.args
    services = context.services
    audience = _offered(services, stored)
    async with services.db.transaction() as session:
        confirmation = await bc.choose_audience(session, tap.organiser_id, nonce, audience, services.now())
    if isinstance(confirmation, bc.Refused):
        if confirmation.reason is bc.Refusal.EMPTY and confirmation.language is not None:
            # Said before confirming; the audience buttons stay so another one can be chosen.
            await tap.query.answer(label(services, confirmation.language, "empty_audience"), show_alert=True)
            return
        await answer_refused(update, context, confirmation)
        return
    await tap.query.answer()
    chat_id, message_id = tap.chat_id, tap.message_id
    if chat_id is None or message_id is None:
        return
    # The menu goes (the confirmation names the audience): no stale buttons are left, and a
    # deletion does not count against the chat's one message a second, unlike an edit.
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as exc:
        log.info("update %s: audience menu not deleted (%s)", update.update_id, exc)
    if confirmation.content is not None:
        await send_content(context, chat_id, confirmation.content)
        view, keyboard = views.confirmation_view(services, confirmation)
        await context.bot.send_message(chat_id, view, reply_markup=keyboard)


async def ask_schedule(update: Update, context: HackbotContext) -> None:
    """`bc:when:<nonce>`: the options of when to send replace the confirmation's buttons."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    (nonce,) = tap.args
    services = context.services
    async with services.db.transaction() as session:
        confirmation = await bc.schedule_options(session, tap.organiser_id, nonce, services.now())
    if isinstance(confirmation, bc.Refused):
        await answer_refused(update, context, confirmation)
        return
    await tap.query.answer()
    await edit_pressed_message(
        update,
        views.confirmation_text(services, confirmation),
        views.schedule_keyboard(services, confirmation.language, confirmation.nonce),
    )


async def set_schedule(update: Update, context: HackbotContext) -> None:
    """`bc:at:<nonce>:<minutes>` (0: at once) or `bc:at:<nonce>:type` (the next message is a time)."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    nonce, choice = tap.args
    services = context.services
    now = services.now()
    async with services.db.transaction() as session:
        if choice == "type":
            result: bc.BroadcastDraft | bc.Confirmation | bc.Refused = await bc.wait_for_typed_time(
                session, tap.organiser_id, nonce, now
            )
        else:
            result = await bc.schedule_in(session, tap.organiser_id, nonce, int(choice), now)
    if isinstance(result, bc.Refused):
        await answer_refused(update, context, result)
        return
    await tap.query.answer()
    if isinstance(result, bc.BroadcastDraft):
        await edit_pressed_message(update, *views.ask_time_view(services, result.language, result.nonce))
    else:
        await edit_pressed_message(update, *views.confirmation_view(services, result))


async def confirm(update: Update, context: HackbotContext) -> None:
    """`bc:go:<nonce>`: send (or schedule); the confirmation becomes the progress message."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    (nonce,) = tap.args
    if tap.chat_id is None:
        await refuse_stale_button(update, context)
        return
    services = context.services
    now = services.now()
    async with services.db.transaction() as session:
        broadcast = await bc.confirm(
            session,
            tap.organiser_id,
            nonce,
            progress_chat_id=tap.chat_id,
            progress_message_id=tap.message_id,
            now=now,
        )
    if isinstance(broadcast, bc.Refused):
        if broadcast.reason is bc.Refusal.EMPTY and broadcast.language is not None:
            # Everyone left the audience since the preview: say so, nothing was sent.
            await tap.query.answer(label(services, broadcast.language, "answer_empty"), show_alert=True)
            await edit_pressed_message(update, text(services, broadcast.language, "cancelled"))
            return
        await answer_refused(update, context, broadcast)  # a second tap: the first one sent it
        return
    view, keyboard = progress_view(services, broadcast, bc.Progress(waiting=broadcast.recipients), now)
    after_commit(services, Shown("b", broadcast.id, view))
    log.info(
        "update %s: broadcast %d confirmed for %d recipients (%s)",
        update.update_id,
        broadcast.id,
        broadcast.recipients,
        broadcast.audience,
    )
    scheduled = broadcast.status is bc.BroadcastStatus.SCHEDULED
    await tap.query.answer(
        label(services, broadcast.language, "answer_scheduled" if scheduled else "answer_sent")
    )
    await edit_pressed_message(update, view, keyboard)
