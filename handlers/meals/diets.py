"""Dietary needs: a toggle per diet of the event, "none", an allergy in the person's words, "done"."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message, refuse_stale_button, text
from handlers.input import on_input
from handlers.meals.views import diet_saved_text, diet_view
from handlers.menu import menu_keyboard
from models import meals as store
from models.participant import Participant


async def on_diet_button(update: Update, context: HackbotContext) -> None:
    """`meal:diet`: the dietary needs screen, in a new message under the meal's card."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if query is None or participant is None:
        return
    async with context.services.db.read() as session:
        needs = await store.get_needs(session, participant.id)
    await query.answer()
    body, keyboard = diet_view(context.services, participant.language, needs)
    await context.bot.send_message(participant.telegram_id, body, reply_markup=keyboard)


async def on_toggle_button(update: Update, context: HackbotContext) -> None:
    """`meal:dt:<diet id>`: add or remove one diet."""
    query = update.callback_query
    if query is None:
        return
    (diet_id,) = button_args(context)
    allowed = store.diet_ids(context.services.event)
    if diet_id not in allowed:
        await refuse_stale_button(update, context)
        return
    participant = await active_participant(update, context)
    if participant is None:
        return
    async with context.services.db.transaction() as session:
        needs = await store.toggle_diet(session, participant.id, diet_id, allowed)
    await query.answer()
    await edit_pressed_message(update, *diet_view(context.services, participant.language, needs))


async def on_no_needs_button(update: Update, context: HackbotContext) -> None:
    """`meal:dn`: no special needs (clears the diets and the allergy)."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if query is None or participant is None:
        return
    async with context.services.db.transaction() as session:
        needs = await store.clear_needs(session, participant.id)
    await query.answer()
    await edit_pressed_message(update, *diet_view(context.services, participant.language, needs))


async def on_allergy_button(update: Update, context: HackbotContext) -> None:
    """`meal:da`: ask for the allergy; the next free text is taken as it (`receive_allergy`)."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if query is None or participant is None:
        return
    async with context.services.db.transaction() as session:
        await store.wait_for_allergy(session, participant.id)
    await query.answer()
    lang = participant.language
    # The input field says what to type; the menu's placeholder comes back with the confirmation.
    await context.bot.send_message(
        participant.telegram_id,
        text(context, lang, "meals.ask_allergy"),
        reply_markup=menu_keyboard(context.services.catalog, lang, "common.placeholder_allergy"),
    )


async def on_done_button(update: Update, context: HackbotContext) -> None:
    """`meal:dd`: close the screen with a summary of what is stated."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if query is None or participant is None:
        return
    async with context.services.db.read() as session:
        needs = await store.get_needs(session, participant.id)
    await query.answer()
    await edit_pressed_message(update, diet_saved_text(context.services, participant.language, needs), None)


@on_input(store.AWAITING_ALLERGY, reprompt_key="meals.reprompt_allergy")
async def receive_allergy(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The participant typed their allergy."""
    message = update.effective_message
    assert message is not None
    allergy = store.clean_allergy(message.text)
    lang = participant.language
    if allergy is None:
        await message.reply_text(text(context, lang, "meals.reprompt_allergy"))
        return
    async with context.services.db.transaction() as session:
        needs = await store.save_allergy(session, participant.id, allergy)
    if needs is None:
        return
    body, keyboard = diet_view(context.services, lang, needs)
    # Two messages: one message carries one keyboard, and the menu's (with its placeholder) must
    # come back as the diet screen keeps its buttons.
    await message.reply_text(
        text(context, lang, "meals.allergy_saved", allergy=allergy),
        reply_markup=menu_keyboard(context.services.catalog, lang),
    )
    await message.reply_text(body, reply_markup=keyboard)
