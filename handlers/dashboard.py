"""`/dashboard`: organisers (and facilitators) get a personal, single-use sign-in link to the web dashboard.

The web server itself (`web.server`) is started and stopped with the bot by `bot.lifecycle`, when
one was attached to the application (`hackbot run` does; tests attach one when they need it).
"""

from __future__ import annotations

import logging

from telegram import LinkPreviewOptions, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import commands
from bot.context import HackbotContext
from handlers.common import language_for, text
from models import dashboard as store
from web.server import attached

log = logging.getLogger(__name__)


async def dashboard_command(update: Update, context: HackbotContext) -> None:
    """Send a sign-in link to organisers and facilitators; anyone else is told it is not for them."""
    user = update.effective_user
    message = update.effective_message
    chat = update.effective_chat
    if user is None or message is None or chat is None:
        return
    services = context.services
    lang = language_for(context, update, await context.person(user.id))
    viewer = store.viewer_for(services.event, user.id)
    if viewer is None:
        await message.reply_text(text(context, lang, "common.not_allowed"))
        return
    if chat.type != chat.PRIVATE:
        # A sign-in link must never be posted where others can read it.
        await message.reply_text(text(context, lang, "dashboard.private_only"))
        return
    server = attached(services)
    if server is None:
        await message.reply_text(text(context, lang, "dashboard.unavailable"))
        return
    now = services.now()
    async with services.db.transaction() as session:
        await store.prune(session, now)
        token = await store.issue_sign_in(session, server.sign_in_key, user.id, now)
    key = "dashboard.link" if viewer.is_organiser else "dashboard.link_facilitator"
    minutes = int(store.SIGN_IN_LIFETIME.total_seconds() // 60)
    # No link preview: a preview would make Telegram's servers open the link.
    await message.reply_text(
        text(context, lang, key, url=server.sign_in_url(token), minutes=minutes),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    log.info("dashboard: sign-in link sent to %s (%s)", user.id, viewer.role)


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The /dashboard command (in private chats and, to refuse politely, in the staff group)."""
    return [CommandHandler(commands.names("dashboard"), dashboard_command)]
