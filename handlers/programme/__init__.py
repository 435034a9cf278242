"""Programme: `/programme` and its day buttons, the calendar file, `/rappels`, and `/reload`.

Handlers only parse the update, call the domain or the engine, and render (`views`). What runs on
time (reminders, meal announcements, change notices, the reload itself) is the programme engine in
`schedule.programme`.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.common import on_button
from handlers.menu import menu_button
from handlers.programme.days import on_calendar_button, on_day_button, show_programme
from handlers.programme.reload import reload_command
from handlers.programme.reminders import on_reminders_button, reminders_command
from handlers.programme.views import FEATURE


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Programme, reminders and reload handlers (other `prog:` data is refused as stale)."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "programme"), show_programme),
        CommandHandler(commands.names("programme"), show_programme, filters=private),
        CommandHandler(commands.names("rappels"), reminders_command, filters=private),
        CommandHandler(commands.names("reload"), reload_command, filters=private),
        on_button(FEATURE, "day", on_day_button, "[0-9]{8}"),
        on_button(FEATURE, "ics", on_calendar_button, "all|mine"),
        on_button(FEATURE, "rem", on_reminders_button, "on|off"),
    ]
