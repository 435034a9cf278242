"""Publishing the results: organisers confirm, and the announcement goes to everyone.

`rs:pub` shows the announcement as it will be sent (the ranking or the prizes only, as the event
file says); `rs:pubok` sends it through the broadcast path (`models.results.publish`), and the
confirmation message becomes the broadcast's progress report.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.context import HackbotContext
from handlers.common import edit_pressed_message, organiser_language
from handlers.results import views
from handlers.results.shared import refuse, voice_for
from models import results as rs
from schedule.broadcasts import after_commit


async def ask(update: Update, context: HackbotContext) -> None:
    """`rs:pub`: the announcement as it will be sent, with "publish" and "cancel"."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    services = context.services
    voice = voice_for(context, lang)
    async with services.db.read() as session:
        preview = await rs.preview(session, services.event, services.catalog)
    if isinstance(preview, rs.Refused):
        await refuse(update, voice, preview)
        return
    _, keyboard = views.confirm_view(voice, "confirm_publish", "button_confirm_publish", "pubok")
    await query.answer()
    await edit_pressed_message(update, f"{voice.text('confirm_publish')}\n\n{preview}", keyboard)


async def publish(update: Update, context: HackbotContext) -> None:
    """`rs:pubok`: publish to everyone, once."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    user = update.effective_user
    if lang is None or query is None or user is None:
        return
    services = context.services
    voice = voice_for(context, lang)
    message = query.message if isinstance(query.message, Message) else None
    async with services.db.transaction() as session:
        published = await rs.publish(
            session,
            services.event,
            services.catalog,
            user.id,
            progress_chat_id=message.chat.id if message is not None else user.id,
            progress_message_id=message.message_id if message is not None else None,
            now=services.now(),
        )
    if isinstance(published, rs.Refused):
        await refuse(update, voice, published)
        return
    after_commit(services)
    await query.answer(voice.label("published", number=published), show_alert=True)
    await edit_pressed_message(update, voice.text("published", number=published))
