"""Correcting or deleting an announcement already sent, everywhere it was delivered.

"Correct the text" starts a draft that waits for the new text (it reaches the draft through the
input router's claim, `handlers.broadcasts.take_draft_input`, which shows the preview); "Correct
everywhere" queues one edit per delivered copy. "Delete" asks first; "Delete everywhere" queues one
deletion per copy, "Keep it" leaves it. The runner (`schedule.broadcasts`) then edits the
organiser's message with the progress and the result.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import HackbotContext
from handlers.broadcasts import views
from handlers.broadcasts.shared import Tap, answer_refused, organiser_tap
from handlers.common import edit_pressed_message, refuse_stale_button
from models import broadcasts as bc
from schedule.broadcast_views import label, operation_view, text
from schedule.broadcasts import Shown, after_commit

log = logging.getLogger(__name__)


async def _follow(
    update: Update, context: HackbotContext, tap: Tap, operation: bc.BroadcastOperation
) -> None:
    """The pressed message becomes the progress of the edit or deletion just queued."""
    services = context.services
    view = operation_view(services, operation, bc.Progress(waiting=operation.total))
    after_commit(services, Shown("o", operation.id, view))
    log.info(
        "update %s: broadcast %d %s, %d copies",
        update.update_id,
        operation.broadcast_id,
        "corrected" if operation.kind is bc.OperationKind.EDIT else "deleted",
        operation.total,
    )
    await tap.query.answer()
    await edit_pressed_message(update, view)


async def start_correction(update: Update, context: HackbotContext) -> None:
    """`bc:edit:<id>`: ask for the corrected text, and show the current one to copy."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    services = context.services
    lang = tap.language
    chat_id = tap.chat_id
    if chat_id is None:
        await tap.query.answer(label(services, lang, "not_changeable"), show_alert=True)
        return
    async with services.db.transaction() as session:
        started = await bc.start_correction(session, tap.organiser_id, int(tap.args[0]), lang, services.now())
    if isinstance(started, bc.Refused):
        if started.reason is bc.Refusal.STALE:
            await refuse_stale_button(update, context)
        else:
            key = "answer_busy" if started.reason is bc.Refusal.BUSY else "not_changeable"
            await tap.query.answer(label(services, lang, key), show_alert=True)
        return
    await tap.query.answer()
    prompt, keyboard = views.correction_prompt(services, lang, started.broadcast, started.draft.nonce)
    await context.bot.send_message(chat_id, prompt, reply_markup=keyboard)
    if started.broadcast.content_html:
        # The current text, formatted, so the organiser can copy it and change what is wrong.
        await context.bot.send_message(chat_id, started.broadcast.content_html, parse_mode="HTML")


async def confirm_correction(update: Update, context: HackbotContext) -> None:
    """`bc:eok:<nonce>`: correct every delivered copy; the message follows the progress."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    if tap.chat_id is None:
        await refuse_stale_button(update, context)
        return
    services = context.services
    async with services.db.transaction() as session:
        operation = await bc.confirm_correction(
            session,
            tap.organiser_id,
            tap.args[0],
            progress_chat_id=tap.chat_id,
            progress_message_id=tap.message_id,
            now=services.now(),
        )
    if isinstance(operation, bc.Refused):
        if operation.reason is bc.Refusal.NOT_CHANGEABLE and operation.language is not None:
            await tap.query.answer(label(services, operation.language, "not_changeable"), show_alert=True)
            return
        await answer_refused(update, context, operation)
        return
    await _follow(update, context, tap, operation)


async def ask_delete(update: Update, context: HackbotContext) -> None:
    """`bc:del:<id>`: ask before deleting everywhere."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    services = context.services
    async with services.db.read() as session:
        broadcast = await bc.deletable(session, int(tap.args[0]))
    if isinstance(broadcast, bc.Refused) and broadcast.reason is bc.Refusal.STALE:
        await refuse_stale_button(update, context)
        return
    chat_id = tap.chat_id
    if isinstance(broadcast, bc.Refused) or chat_id is None:
        await tap.query.answer(label(services, tap.language, "not_changeable"), show_alert=True)
        return
    await tap.query.answer()
    question, keyboard = views.delete_confirm(services, tap.language, broadcast)
    await context.bot.send_message(chat_id, question, reply_markup=keyboard)


async def delete(update: Update, context: HackbotContext) -> None:
    """`bc:delok:<id>`: delete every delivered copy; the message follows the progress."""
    tap = await organiser_tap(update, context)
    if tap is None or tap.chat_id is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        operation = await bc.delete_broadcast(
            session,
            int(tap.args[0]),
            language=tap.language,
            progress_chat_id=tap.chat_id,
            progress_message_id=tap.message_id,
            now=services.now(),
        )
    if isinstance(operation, bc.Refused):
        await refuse_stale_button(update, context)
        return
    await _follow(update, context, tap, operation)


async def keep(update: Update, context: HackbotContext) -> None:
    """`bc:keep:<id>`: not deleted after all."""
    tap = await organiser_tap(update, context)
    if tap is None:
        return
    async with context.services.db.read() as session:
        broadcast = await bc.get_broadcast(session, int(tap.args[0]))
    if broadcast is None:
        await refuse_stale_button(update, context)
        return
    await tap.query.answer()
    await edit_pressed_message(update, text(context.services, tap.language, "delete_kept", id=broadcast.id))
