"""Meals: the "Meals" button, "I'll be there", dietary needs, and `/repas` counts for organisers.

Participants see the next meal (time, place, menu, the diets it offers, their answer), answer with
buttons, and state their dietary needs once (the event's diet options, "none", or an allergy typed
in their words). The meal announcement itself ("Lunch is served") is sent by the programme engine
(`schedule.programme`) at the meal's start. Other `meal:` data is refused as stale.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.common import on_button
from handlers.meals.card import on_going_button, on_not_going_button, on_show_button, show_meals
from handlers.meals.diets import (
    on_allergy_button,
    on_diet_button,
    on_done_button,
    on_no_needs_button,
    on_toggle_button,
)
from handlers.meals.report import repas_command
from handlers.meals.views import FEATURE
from handlers.menu import menu_button

_ID = "[a-z0-9-]+"
"""Meal and diet ids, as the event file allows them."""


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Meals handlers (`diets` also declares the typed allergy to the input router)."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "meals"), show_meals),
        CommandHandler("repas", repas_command, filters=private),
        CommandHandler("meals", show_meals, filters=private),
        on_button(FEATURE, "show", on_show_button, _ID),
        on_button(FEATURE, "go", on_going_button, _ID),
        on_button(FEATURE, "no", on_not_going_button, _ID),
        on_button(FEATURE, "diet", on_diet_button),
        on_button(FEATURE, "dt", on_toggle_button, _ID),
        on_button(FEATURE, "dn", on_no_needs_button),
        on_button(FEATURE, "da", on_allergy_button),
        on_button(FEATURE, "dd", on_done_button),
    ]
