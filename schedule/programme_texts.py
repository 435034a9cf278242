"""Texts of the programme's notifications: reminders, change notices and meal announcements.

Pure functions of the catalog, the event and plain values (no Telegram, no database): the engine in
`schedule.programme` words each recipient's copy with them when a batch falls due, and the meals
screens share `meal_place` and `diet_labels` so a meal reads the same in its card and its
announcement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.display import hhmm, when_label
from bot.i18n import Catalog, Markup
from models.meals import Needs
from schedule.config import EventConfig, LocalizedText, Meal, ProgrammeItem
from schedule.planner import minutes_until


def what_label(catalog: Catalog, event: EventConfig, lang: str, item: ProgrammeItem) -> Markup:
    """`<b>Title</b>, place` (or the title alone)."""
    default = event.default_language
    title = item.title.get(lang, default)
    if item.place is None:
        return catalog.text(lang, "programme.what", title=title)
    return catalog.text(lang, "programme.what_place", title=title, place=item.place.get(lang, default))


def reminder_text(
    catalog: Catalog, event: EventConfig, lang: str, item: ProgrammeItem, at: dt.datetime
) -> str:
    """The reminder of `item` as of `at`: "In 15 minutes (17:15): <b>Title</b>, Main hall"."""
    what = what_label(catalog, event, lang, item)
    if at >= item.start:
        return catalog.text(lang, "programme.reminder_now", what=what, end=hhmm(event, item.end))
    return catalog.text(
        lang,
        "programme.reminder",
        count=minutes_until(item.start, at),
        what=what,
        time=hhmm(event, item.start),
    )


def change_text(
    catalog: Catalog,
    event: EventConfig,
    lang: str,
    *,
    title: str,
    start: dt.datetime,
    place: str | None,
    time_changed: bool,
    place_changed: bool,
    now: dt.datetime,
) -> str:
    """The change notice: "Change: <b>Lunch</b> moves to 13:00." (time, place, or both)."""
    when = when_label(catalog, event, lang, start, now)
    if time_changed and place_changed and place:
        return catalog.text(lang, "programme.change_both", title=title, when=Markup(when), place=place)
    if time_changed or not place:
        return catalog.text(lang, "programme.change_time", title=title, when=Markup(when))
    return catalog.text(lang, "programme.change_place", title=title, place=place)


# ---- meals -------------------------------------------------------------------------------------


def meal_place(event: EventConfig, meal: Meal) -> LocalizedText | None:
    """The meal's own place, else its programme item's."""
    if meal.place is not None:
        return meal.place
    item = event.item(meal.item) if meal.item else None
    return item.place if item is not None else None


def diet_labels(event: EventConfig, lang: str, ids: Sequence[str]) -> list[str]:
    """Labels of diet ids in `lang` (unknown ids are shown as they are)."""
    labels = []
    for diet_id in ids:
        option = event.dietary_option(diet_id)
        labels.append(option.label.get(lang, event.default_language) if option is not None else diet_id)
    return labels


def announcement_text(catalog: Catalog, event: EventConfig, meal: Meal, lang: str, needs: Needs) -> str:
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
