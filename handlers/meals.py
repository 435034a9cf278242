"""Meals: the "Meals" button, "I'll be there", dietary needs, and `/repas` counts for organisers.

Participants see the next meal (time, place, menu, the diets it offers, their answer), answer with
buttons, and state their dietary needs once (the event's diet options, "none", or an allergy typed
in their words). The meal announcement itself ("Lunch is served") is sent by the programme
scheduler (`handlers.programme`) at the meal's start, with `announcement_text` below.

Callback data: `meal:show:<meal id>`, `meal:go:<meal id>`, `meal:no:<meal id>`, `meal:diet`,
`meal:dt:<diet id>` (toggle), `meal:dn` (no special needs), `meal:da` (type an allergy), `meal:dd`
(done).
"""

from __future__ import annotations

import datetime as dt
import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotContext
from bot.i18n import Catalog, Markup, escape
from handlers.common import label, language_for, refuse_stale_button, text
from handlers.input import on_input
from handlers.menu import menu_button
from handlers.programme import date_label, hhmm
from models import meals as store
from models import registration
from models.participant import Participant
from schedule.config import EventConfig, LocalizedText, Meal

log = logging.getLogger(__name__)


# ---- pure rendering --------------------------------------------------------------------------


def meal_place(event: EventConfig, meal: Meal) -> LocalizedText | None:
    """The meal's own place, else its programme item's."""
    if meal.place is not None:
        return meal.place
    item = event.item(meal.item) if meal.item else None
    return item.place if item is not None else None


def meals_in_order(event: EventConfig) -> list[Meal]:
    """Meals by start time."""
    return sorted(event.meals, key=lambda meal: event.meal_window(meal)[0])


def next_meal(event: EventConfig, now: dt.datetime) -> Meal | None:
    """The meal going on or coming next, None after the last one."""
    return next((meal for meal in meals_in_order(event) if event.meal_window(meal)[1] > now), None)


def diet_labels(event: EventConfig, lang: str, ids: list[str] | tuple[str, ...]) -> list[str]:
    """Labels of diet ids in `lang` (unknown ids are shown as they are)."""
    labels = []
    for diet_id in ids:
        option = event.dietary_option(diet_id)
        labels.append(option.label.get(lang, event.default_language) if option is not None else diet_id)
    return labels


def announcement_text(catalog: Catalog, event: EventConfig, meal: Meal, lang: str, needs: store.Needs) -> str:
    """The meal announcement: "Lunch is served, Café area", the menu, and this person's diet."""
    default = event.default_language
    name = meal.name.get(lang, default)
    place = meal_place(event, meal)
    if place is not None:
        lines = [catalog.text(lang, "meals.served_place", meal=name, place=place.get(lang, default))]
    else:
        lines = [catalog.text(lang, "meals.served", meal=name)]
    if meal.menu is not None:
        lines.append(catalog.text(lang, "meals.menu_line", menu=meal.menu.get(lang, default)))
    served = [d for d in needs.diets if d in meal.dietary_options]
    missing = [d for d in needs.diets if d not in meal.dietary_options]
    if served:
        lines.append(
            catalog.text(lang, "meals.for_you_ok", diets=", ".join(diet_labels(event, lang, served)))
        )
    if missing:
        lines.append(
            catalog.text(lang, "meals.for_you_missing", diets=", ".join(diet_labels(event, lang, missing)))
        )
    if needs.allergy:
        lines.append(catalog.text(lang, "meals.allergy_line", allergy=needs.allergy))
    return "\n".join(lines)


def _card(
    context: HackbotContext, lang: str, meal: Meal, answer: bool | None, registered: bool
) -> tuple[str, InlineKeyboardMarkup]:
    services = context.services
    event, catalog = services.event, services.catalog
    default = event.default_language
    start, end = event.meal_window(meal)
    lines = [
        catalog.text(lang, "meals.card_title", meal=meal.name.get(lang, default)),
        catalog.text(
            lang,
            "meals.card_time",
            date=Markup(date_label(catalog, lang, event.local(start).date())),
            start=hhmm(event, start),
            end=hhmm(event, end),
        ),
    ]
    place = meal_place(event, meal)
    if place is not None:
        lines.append(catalog.text(lang, "meals.card_place", place=place.get(lang, default)))
    if meal.menu is not None:
        lines.append(catalog.text(lang, "meals.menu_line", menu=meal.menu.get(lang, default)))
    if meal.dietary_options:
        labels = diet_labels(event, lang, meal.dietary_options)
        lines.append(catalog.text(lang, "meals.options_line", diets=", ".join(labels)))
    if registered:
        key = {None: "meals.answer_none", True: "meals.answer_yes", False: "meals.answer_no"}[answer]
        lines.append(catalog.text(lang, key))
    rows: list[list[InlineKeyboardButton]] = []
    if registered:
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.text(lang, "meals.button_yes"), callback_data=f"meal:go:{meal.id}"
                ),
                InlineKeyboardButton(
                    catalog.text(lang, "meals.button_no"), callback_data=f"meal:no:{meal.id}"
                ),
            ]
        )
        rows.append(
            [InlineKeyboardButton(catalog.text(lang, "meals.button_diet"), callback_data="meal:diet")]
        )
    ordered = meals_in_order(event)
    index = ordered.index(meal)
    navigation = []
    if index > 0:
        previous = ordered[index - 1]
        navigation.append(
            InlineKeyboardButton(
                # Button labels are plain text: undo the catalog's escaping of the meal's name.
                html.unescape(
                    catalog.text(lang, "meals.button_previous", meal=previous.name.get(lang, default))
                ),
                callback_data=f"meal:show:{previous.id}",
            )
        )
    if index + 1 < len(ordered):
        following = ordered[index + 1]
        navigation.append(
            InlineKeyboardButton(
                html.unescape(
                    catalog.text(lang, "meals.button_next", meal=following.name.get(lang, default))
                ),
                callback_data=f"meal:show:{following.id}",
            )
        )
    if navigation:
        rows.append(navigation)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _diet_screen(context: HackbotContext, lang: str, needs: store.Needs) -> tuple[str, InlineKeyboardMarkup]:
    event, catalog = context.services.event, context.services.catalog
    default = event.default_language
    if needs.stated:
        parts = [escape(label) for label in diet_labels(event, lang, needs.diets)]
        if needs.allergy:
            parts.append(catalog.text(lang, "meals.allergy_short", allergy=needs.allergy))
        current = catalog.text(lang, "meals.diet_current", needs=Markup(", ".join(parts)))
    else:
        current = catalog.text(lang, "meals.diet_current_none")
    body = "\n".join([catalog.text(lang, "meals.diet_title"), current, catalog.text(lang, "meals.diet_help")])
    buttons = []
    for option in event.dietary_options:
        label = option.label.get(lang, default)
        mark = "✅ " if option.id in needs.diets else ""
        buttons.append(InlineKeyboardButton(f"{mark}{label}", callback_data=f"meal:dt:{option.id}"))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(catalog.text(lang, "meals.button_diet_none"), callback_data="meal:dn"),
            InlineKeyboardButton(catalog.text(lang, "meals.button_allergy"), callback_data="meal:da"),
        ]
    )
    rows.append([InlineKeyboardButton(catalog.text(lang, "meals.button_diet_done"), callback_data="meal:dd")])
    return body, InlineKeyboardMarkup(rows)


# ---- handlers --------------------------------------------------------------------------------


async def _participant(update: Update, context: HackbotContext) -> Participant | None:
    user = update.effective_user
    if user is None:
        return None
    async with context.services.db.read() as session:
        return await registration.get_participant(session, user.id)


async def show_meals(update: Update, context: HackbotContext) -> None:
    """The Meals button, `/meals`, and `/repas` for participants: the next meal."""
    message = update.effective_message
    if message is None:
        return
    participant = await _participant(update, context)
    lang = language_for(context, update, participant)
    event = context.services.event
    meal = next_meal(event, context.services.now())
    if meal is None:
        await message.reply_text(
            text(context, lang, "meals.no_more_meals" if event.meals else "meals.no_meals")
        )
        return
    registered = participant is not None and participant.is_active
    answer = None
    if registered:
        assert participant is not None
        async with context.services.db.read() as session:
            answer = (await store.answers_of(session, participant.id)).get(meal.id)
    body, keyboard = _card(context, lang, meal, answer, registered)
    await message.reply_text(body, reply_markup=keyboard)


async def repas_command(update: Update, context: HackbotContext) -> None:
    """`/repas`: counts per meal for organisers (for the caterer), the next meal for everyone else."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    event = context.services.event
    if not event.is_organiser(user.id):
        await show_meals(update, context)
        return
    participant = await _participant(update, context)
    lang = language_for(context, update, participant)
    async with context.services.db.read() as session:
        report = await store.meal_report(session, event)
    catalog = context.services.catalog
    default = event.default_language
    blocks: list[str] = [catalog.text(lang, "meals.report_title")]
    if not report:
        blocks.append(catalog.text(lang, "meals.no_meals"))
    by_id = {meal.id: meal for meal in event.meals}
    for counts in sorted(report, key=lambda c: event.meal_window(by_id[c.meal_id])[0]):
        meal = by_id[counts.meal_id]
        start, _ = event.meal_window(meal)
        lines = [
            catalog.text(
                lang,
                "meals.report_meal",
                meal=meal.name.get(lang, default),
                date=Markup(date_label(catalog, lang, event.local(start).date())),
                time=hhmm(event, start),
            ),
            catalog.text(
                lang,
                "meals.report_counts",
                yes=counts.attending,
                no=counts.not_attending,
                unknown=counts.no_answer,
            ),
        ]
        if counts.diets:
            listed = ", ".join(
                f"{label} {number}"
                for label, number in zip(
                    diet_labels(event, lang, sorted(counts.diets)),
                    [counts.diets[d] for d in sorted(counts.diets)],
                    strict=True,
                )
            )
            lines.append(catalog.text(lang, "meals.report_diets", diets=listed))
        else:
            lines.append(catalog.text(lang, "meals.report_no_diets"))
        if counts.allergies:
            lines.append(
                catalog.text(
                    lang,
                    "meals.report_allergies",
                    count=len(counts.allergies),
                    allergies="; ".join(counts.allergies),
                )
            )
        blocks.append("\n".join(lines))
    await message.reply_text("\n\n".join(blocks))


async def _edit(update: Update, body: str, keyboard: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(body, reply_markup=keyboard)
    except BadRequest as exc:  # "message is not modified" after a double tap
        log.info("update %s: edit skipped (%s)", update.update_id, exc.message)


async def on_button(update: Update, context: HackbotContext) -> None:
    """All `meal:` buttons."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    action, arg = parts[1], (parts[2] if len(parts) > 2 else None)
    if len(parts) > 3:
        await refuse_stale_button(update, context)
        return
    event = context.services.event
    participant = await _participant(update, context)
    lang = language_for(context, update, participant)
    registered = participant is not None and participant.is_active

    if action == "show" and arg is not None and event.meal(arg) is not None:
        meal = event.meal(arg)
        assert meal is not None
        answer = None
        if registered:
            assert participant is not None
            async with context.services.db.read() as session:
                answer = (await store.answers_of(session, participant.id)).get(meal.id)
        await query.answer()
        await _edit(update, *_card(context, lang, meal, answer, registered))
        return
    known = action in {"go", "no"} and arg is not None and event.meal(arg) is not None
    known = known or (action in {"diet", "dn", "da", "dd"} and arg is None)
    known = known or (action == "dt" and arg is not None and arg in store.diet_ids(event))
    if not known:
        await refuse_stale_button(update, context)
        return
    if not registered or participant is None:
        key = "common.not_registered" if participant is None else "common.registration_unfinished"
        await query.answer(label(context, lang, key))
        return
    if action in {"go", "no"}:
        assert arg is not None
        meal = event.meal(arg)
        assert meal is not None
        attending = action == "go"
        async with context.services.db.transaction() as session:
            await store.set_answer(session, participant.id, meal.id, attending)
        await query.answer(
            text(context, lang, "meals.answer_saved_yes" if attending else "meals.answer_saved_no")
        )
        await _edit(update, *_card(context, lang, meal, attending, True))
        return
    if action == "diet":
        async with context.services.db.read() as session:
            needs = await store.get_needs(session, participant.id)
        await query.answer()
        body, keyboard = _diet_screen(context, lang, needs)
        await context.bot.send_message(participant.telegram_id, body, reply_markup=keyboard)
        return
    if action == "dt":
        assert arg is not None
        async with context.services.db.transaction() as session:
            needs = await store.toggle_diet(session, participant.id, arg, store.diet_ids(event))
        await query.answer()
        await _edit(update, *_diet_screen(context, lang, needs))
        return
    if action == "dn":
        async with context.services.db.transaction() as session:
            needs = await store.clear_needs(session, participant.id)
        await query.answer()
        await _edit(update, *_diet_screen(context, lang, needs))
        return
    if action == "da":
        async with context.services.db.transaction() as session:
            current = await registration.get_participant(session, participant.telegram_id)
            if current is not None:
                store.ask_for_allergy(current)
        await query.answer()
        await context.bot.send_message(participant.telegram_id, text(context, lang, "meals.ask_allergy"))
        return
    # "dd": done
    async with context.services.db.read() as session:
        needs = await store.get_needs(session, participant.id)
    await query.answer()
    parts_text = [escape(label) for label in diet_labels(event, lang, needs.diets)]
    if needs.allergy:
        parts_text.append(text(context, lang, "meals.allergy_short", allergy=needs.allergy))
    summary = (
        text(context, lang, "meals.diet_saved", needs=Markup(", ".join(parts_text)))
        if needs.stated
        else text(context, lang, "meals.diet_saved_none")
    )
    await _edit(update, summary, None)


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
        current = await registration.get_participant(session, participant.telegram_id)
        if current is None:
            return
        needs = await store.set_allergy(session, current, allergy)
    body, keyboard = _diet_screen(context, lang, needs)
    await message.reply_text(
        text(context, lang, "meals.allergy_saved", allergy=allergy) + "\n\n" + body, reply_markup=keyboard
    )


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Meals handlers."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "meals"), show_meals),
        CommandHandler("repas", repas_command, filters=private),
        CommandHandler("meals", show_meals, filters=private),
        CallbackQueryHandler(on_button, pattern=r"^meal:"),
    ]
