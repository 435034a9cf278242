"""Pure rendering of the meals screens: a meal's card, the dietary needs screen, the caterer's report.

Functions of the services (catalog, event) and plain values, no update and no database. The meal
announcement itself is worded in `schedule.programme_texts`, with the same place and diet labels.
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import Services
from bot.display import date_label, hhmm
from bot.i18n import Markup, escape
from handlers.common import callback_data
from models import meals as store
from schedule.config import EventConfig, Meal
from schedule.programme_texts import diet_labels, meal_place

FEATURE = "meal"
"""Callback data: `meal:show|go|no:<meal id>`, `meal:diet`, `meal:dt:<diet id>` (toggle), `meal:dn`
(no special needs), `meal:da` (type an allergy), `meal:dd` (done)."""


def meals_in_order(event: EventConfig) -> list[Meal]:
    """Meals by start time."""
    return sorted(event.meals, key=lambda meal: event.meal_window(meal)[0])


def next_meal(event: EventConfig, now: dt.datetime) -> Meal | None:
    """The meal going on or coming next, None after the last one."""
    return next((meal for meal in meals_in_order(event) if event.meal_window(meal)[1] > now), None)


def card_view(
    services: Services, lang: str, meal: Meal, answer: bool | None, registered: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """A meal's time, place, menu and diets, the person's answer, and buttons to answer or browse."""
    event, catalog = services.event, services.catalog
    default = event.default_language
    start, end = event.meal_window(meal)
    lines = [
        catalog.text(lang, "meals.card_title", meal=meal.name.get(lang, default)),
        catalog.text(
            lang,
            "meals.card_time",
            date=date_label(catalog, lang, event.local(start).date()),
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
    rows: list[list[InlineKeyboardButton]] = []
    if registered:
        key = {None: "meals.answer_none", True: "meals.answer_yes", False: "meals.answer_no"}[answer]
        lines.append(catalog.text(lang, key))
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.label(lang, "meals.button_yes"),
                    callback_data=callback_data(FEATURE, "go", meal.id),
                ),
                InlineKeyboardButton(
                    catalog.label(lang, "meals.button_no"),
                    callback_data=callback_data(FEATURE, "no", meal.id),
                ),
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.label(lang, "meals.button_diet"), callback_data=callback_data(FEATURE, "diet")
                )
            ]
        )
    ordered = meals_in_order(event)
    index = ordered.index(meal)
    navigation = []
    if index > 0:
        previous = ordered[index - 1]
        navigation.append(
            InlineKeyboardButton(
                catalog.label(lang, "meals.button_previous", meal=previous.name.get(lang, default)),
                callback_data=callback_data(FEATURE, "show", previous.id),
            )
        )
    if index + 1 < len(ordered):
        following = ordered[index + 1]
        navigation.append(
            InlineKeyboardButton(
                catalog.label(lang, "meals.button_next", meal=following.name.get(lang, default)),
                callback_data=callback_data(FEATURE, "show", following.id),
            )
        )
    if navigation:
        rows.append(navigation)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _needs_phrase(services: Services, lang: str, needs: store.Needs) -> Markup:
    """The stated needs ("Vegetarian, allergy: peanuts"), HTML-safe."""
    parts = [escape(label) for label in diet_labels(services.event, lang, needs.diets)]
    if needs.allergy:
        parts.append(services.catalog.text(lang, "meals.allergy_short", allergy=needs.allergy))
    return Markup(", ".join(parts))


def diet_view(services: Services, lang: str, needs: store.Needs) -> tuple[str, InlineKeyboardMarkup]:
    """The dietary needs screen: what is stated, a toggle per diet of the event, none, allergy, done."""
    event, catalog = services.event, services.catalog
    default = event.default_language
    if needs.stated:
        current = catalog.text(lang, "meals.diet_current", needs=_needs_phrase(services, lang, needs))
    else:
        current = catalog.text(lang, "meals.diet_current_none")
    body = "\n".join([catalog.text(lang, "meals.diet_title"), current, catalog.text(lang, "meals.diet_help")])
    buttons = []
    for option in event.dietary_options:
        mark = "✅ " if option.id in needs.diets else ""
        buttons.append(
            InlineKeyboardButton(
                f"{mark}{option.label.get(lang, default)}",
                callback_data=callback_data(FEATURE, "dt", option.id),
            )
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                catalog.label(lang, "meals.button_diet_none"), callback_data=callback_data(FEATURE, "dn")
            ),
            InlineKeyboardButton(
                catalog.label(lang, "meals.button_allergy"), callback_data=callback_data(FEATURE, "da")
            ),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                catalog.label(lang, "meals.button_diet_done"), callback_data=callback_data(FEATURE, "dd")
            )
        ]
    )
    return body, InlineKeyboardMarkup(rows)


def diet_saved_text(services: Services, lang: str, needs: store.Needs) -> str:
    """The closing word of the dietary needs screen ("Done")."""
    catalog = services.catalog
    if needs.stated:
        return catalog.text(lang, "meals.diet_saved", needs=_needs_phrase(services, lang, needs))
    return catalog.text(lang, "meals.diet_saved_none")


def report_text(
    services: Services, lang: str, report: list[store.MealCounts], presence: dict[dt.date, int] | None = None
) -> str:
    """`/repas` for organisers: per meal by time, who comes, not, or did not answer; diets; allergies.

    `presence` (from the check-ins): under the title, who is in the building now (what the caterer
    needs to know whatever the hour); beside a meal of an earlier day, who came that day.
    """
    event, catalog = services.event, services.catalog
    default = event.default_language
    today = event.local(services.now()).date()
    blocks: list[str] = [catalog.text(lang, "meals.report_title")]
    if presence is not None:
        blocks[0] += "\n" + catalog.text(lang, "arrival.meal_present", count=presence.get(today, 0))
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
                date=date_label(catalog, lang, event.local(start).date()),
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
        day = event.local(start).date()
        if presence is not None and day < today:
            lines.append(catalog.text(lang, "arrival.meal_came", count=presence.get(day, 0)))
        if counts.diets:
            ids = sorted(counts.diets)
            listed = ", ".join(
                f"{label} {counts.diets[diet_id]}"
                for label, diet_id in zip(diet_labels(event, lang, ids), ids, strict=True)
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
    return "\n\n".join(blocks)
