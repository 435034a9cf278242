"""A meal's card: the Meals button and `/meals`, browsing meals, and "I'll be there" / "Not coming"."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import (
    active_participant,
    button_args,
    edit_pressed_message,
    label,
    language_for,
    refuse_stale_button,
    text,
)
from handlers.meals.views import card_view, next_meal
from models import meals as store
from models.participant import Participant


async def _answer_of(context: HackbotContext, participant: Participant | None, meal_id: str) -> bool | None:
    """The registered participant's answer for the meal (None: not answered, or not registered)."""
    if participant is None or not participant.is_active:
        return None
    async with context.services.db.read() as session:
        return (await store.answers_of(session, participant.id)).get(meal_id)


async def show_meals(update: Update, context: HackbotContext) -> None:
    """The Meals button, `/meals`, and `/repas` for participants: the next meal."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    participant = await context.person(user.id)
    lang = language_for(context, update, participant)
    event = context.services.event
    meal = next_meal(event, context.services.now())
    if meal is None:
        await message.reply_text(
            text(context, lang, "meals.no_more_meals" if event.meals else "meals.no_meals")
        )
        return
    registered = participant is not None and participant.is_active
    answer = await _answer_of(context, participant, meal.id)
    body, keyboard = card_view(context.services, lang, meal, answer, registered)
    await message.reply_text(body, reply_markup=keyboard)


async def on_show_button(update: Update, context: HackbotContext) -> None:
    """`meal:show:<meal id>`: another meal's card in the same message (registration not needed)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    (meal_id,) = button_args(context)
    meal = context.services.event.meal(meal_id)
    if meal is None:
        await refuse_stale_button(update, context)
        return
    participant = await context.person(user.id)
    lang = language_for(context, update, participant)
    registered = participant is not None and participant.is_active
    answer = await _answer_of(context, participant, meal.id)
    await query.answer()
    await edit_pressed_message(update, *card_view(context.services, lang, meal, answer, registered))


async def _answer(update: Update, context: HackbotContext, attending: bool) -> None:
    query = update.callback_query
    if query is None:
        return
    (meal_id,) = button_args(context)
    meal = context.services.event.meal(meal_id)
    if meal is None:
        await refuse_stale_button(update, context)
        return
    participant = await active_participant(update, context)
    if participant is None:
        return
    lang = participant.language
    async with context.services.db.transaction() as session:
        await store.set_answer(session, participant.id, meal.id, attending)
    await query.answer(
        label(context, lang, "meals.answer_saved_yes" if attending else "meals.answer_saved_no")
    )
    await edit_pressed_message(update, *card_view(context.services, lang, meal, attending, True))


async def on_going_button(update: Update, context: HackbotContext) -> None:
    """`meal:go:<meal id>`: "I'll be there"."""
    await _answer(update, context, True)


async def on_not_going_button(update: Update, context: HackbotContext) -> None:
    """`meal:no:<meal id>`: "Not coming"."""
    await _answer(update, context, False)
