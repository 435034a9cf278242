"""Arrival: badges, the welcome desk, self check-in, walk-ins, leaving, the headcount.

Thin handlers: parse the update, call one function of `models.arrival`, render with `views`.
`desk` (scanned links, `/inscrire_sur_place`, the desk's buttons, `/affiche`), `badge`
("🎫 Mon badge"), `leaving` ("🚪 Je pars"), `headcount` (`/presents`), `views` (rendering).
The end-of-day check-out and the day-before badge message are jobs (`schedule.arrival`).

Deep links arrive as `/start <payload>`: registration's `/start` hands arrival payloads
(`ci-<code>`, `door-<code>`) to `open_link`.

Callback data, one handler per action: `arr:badge`, `arr:leave`, `arr:out:<check-in id>`,
`arr:wrole:<walk-in id>:<role id>`, `arr:renew`.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.arrival import badge, desk, headcount, leaving
from handlers.arrival.views import FEATURE
from handlers.common import on_button
from models.arrival import is_arrival_payload

__all__ = ["follow_registration", "handlers", "is_arrival_payload", "open_link"]

open_link = desk.open_link

_ID = r"[0-9]{1,12}"
_ROLE = r"[A-Za-z0-9_-]{1,32}"


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Arrival handlers: the commands, the menu texts, one per `arr:` button action."""
    private = filters.ChatType.PRIVATE
    badge_text = filters.Text(catalog.all_variants("arrival.button.badge"))
    leave_text = filters.Text(catalog.all_variants("arrival.button.leave"))
    return [
        CommandHandler(commands.names("badge"), badge.show_badge, filters=private),
        MessageHandler(private & badge_text, badge.show_badge),
        CommandHandler(commands.names("jepars"), leaving.leave, filters=private),
        MessageHandler(private & leave_text, leaving.leave),
        CommandHandler(commands.names("presents"), headcount.show_headcount, filters=private),
        CommandHandler(commands.names("inscrire_sur_place"), desk.register_walk_in, filters=private),
        CommandHandler(commands.names("affiche"), desk.show_poster, filters=private),
        on_button(FEATURE, "badge", badge.show_badge),
        on_button(FEATURE, "leave", leaving.leave),
        on_button(FEATURE, "out", desk.check_out, _ID),
        on_button(FEATURE, "wrole", desk.choose_walk_in_role, _ID, _ROLE),
        on_button(FEATURE, "renew", desk.renew_poster),
    ]


def follow_registration() -> BaseHandler[Update, HackbotContext, None]:
    """After registration's role button (a later group): a newcomer who scanned the poster is present."""
    return CallbackQueryHandler(desk.after_registration, pattern=r"^reg:role:")
