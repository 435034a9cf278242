"""`/rappels` (`/reminders`): see whether reminders are on, and switch them with a word or a button.

Each switch is one transaction (`models.programme.switch_reminders`) that returns the state now in
force; the answer is rendered from it.
"""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message, label, language_for, text
from handlers.programme.views import reminders_keyboard
from models import programme as store

ON_WORDS = frozenset({"on", "oui", "yes", "activer", "1"})
OFF_WORDS = frozenset({"off", "non", "no", "stop", "desactiver", "désactiver", "0"})


async def _switch(context: HackbotContext, telegram_id: int, enabled: bool) -> store.ReminderSwitch | None:
    async with context.services.db.transaction() as session:
        return await store.switch_reminders(session, telegram_id, enabled)


async def reminders_command(update: Update, context: HackbotContext) -> None:
    """`/rappels`: show the state with a button to switch; `/rappels on|off` switches directly."""
    message = update.effective_message
    if message is None:
        return
    participant = await active_participant(update, context)
    if participant is None:
        return
    lang = participant.language
    arg = context.args[0].lower() if context.args else ""
    wanted = True if arg in ON_WORDS else False if arg in OFF_WORDS else None
    enabled = participant.reminders_enabled
    if wanted is not None and wanted != enabled:
        switched = await _switch(context, participant.telegram_id, wanted)
        enabled = switched.enabled if switched is not None else enabled
        key = "programme.reminders_on" if enabled else "programme.reminders_off"
    else:
        key = "programme.reminders_state_on" if enabled else "programme.reminders_state_off"
    await message.reply_text(
        text(context, lang, key), reply_markup=reminders_keyboard(context.services.catalog, lang, enabled)
    )


async def on_reminders_button(update: Update, context: HackbotContext) -> None:
    """`prog:rem:on|off`: switch, then show the new state in the same message."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    (state,) = button_args(context)
    lang = language_for(context, update, await context.person(user.id))
    switched = await _switch(context, user.id, state == "on")
    if switched is None:
        await query.answer(label(context, lang, "common.not_registered"))
        return
    await query.answer()
    key = "programme.reminders_on" if switched.enabled else "programme.reminders_off"
    await edit_pressed_message(
        update, text(context, lang, key), reminders_keyboard(context.services.catalog, lang, switched.enabled)
    )
