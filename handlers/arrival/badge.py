"""The "🎫 Mon badge" button: the participant's personal QR code, shown in the chat.

The code is created on first use and stays the same (the printed badge and the one in the chat
are the same code), until the person erases their data.
"""

from __future__ import annotations

from telegram import Update

from bot.badges import qr_png
from bot.context import HackbotContext
from handlers.arrival import views
from handlers.common import active_participant
from models import arrival


async def show_badge(update: Update, context: HackbotContext) -> None:
    """The menu text, `/badge` or the `arr:badge` button: the QR code with a caption."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    services = context.services
    if update.callback_query is not None:
        await update.callback_query.answer()
    async with services.db.transaction() as session:
        payload = await arrival.personal_code(session, participant.id, services.event.id, services.now())
    lang = participant.language
    link = views.badge_link(context.bot.username, payload)
    await context.bot.send_photo(
        participant.telegram_id,
        qr_png(link),
        caption=views.badge_caption(services, lang, participant.display_name, link),
        reply_markup=views.leave_keyboard(services, lang),
    )
