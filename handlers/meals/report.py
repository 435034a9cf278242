"""`/repas`: the caterer's counts for organisers; everyone else gets the next meal's card."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import language_for
from handlers.meals.card import show_meals
from handlers.meals.views import report_text
from models import arrival
from models import meals as store


async def repas_command(update: Update, context: HackbotContext) -> None:
    """Per meal: who comes, who does not, who did not answer, diets and allergies of those coming."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    event = context.services.event
    # Not a refusal for the others: `/repas` is also the French word participants type for meals.
    if not event.is_organiser(user.id):
        await show_meals(update, context)
        return
    lang = language_for(context, update, await context.person(user.id))
    today = event.local(context.services.now()).date()
    async with context.services.db.read() as session:
        report = await store.meal_report(session, event)
        presence = await arrival.presence_by_day(session, [*event.arrival_days(), today], today)
    await message.reply_text(report_text(context.services, lang, report, presence))
