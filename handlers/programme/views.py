"""Pure rendering of the programme screens: a day, the calendar's name, the reminders switch, reloads.

Functions of the services (catalog, event, clock) and plain values, no update and no database, so
what a handler shows is decided by what it read or what its domain function returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import Services
from bot.display import date_label, hhmm
from bot.i18n import Catalog
from handlers.common import callback_data
from models.participant import Participant
from schedule import timeline
from schedule.config import AUDIENCE_ALL
from schedule.programme import ReloadOutcome

FEATURE = "prog"
"""Callback data of the programme: `prog:day:<YYYYMMDD>`, `prog:ics:all|mine`, `prog:rem:on|off`."""


@dataclass(frozen=True)
class Viewer:
    """Who looks at the programme: their row (if registered), language and team's challenge."""

    participant: Participant | None
    lang: str
    challenge: str | None


def day_view(services: Services, viewer: Viewer, day: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    """One day of the programme, now and next highlighted, with buttons to the other days."""
    event, catalog, lang = services.event, services.catalog, viewer.lang
    default = event.default_language
    now = services.now()
    audience = viewer.challenge  # None: everything, team items tagged
    items = timeline.items_for_day(event, day, audience=audience)
    current, upcoming = timeline.now_and_next(event, now, audience=audience)
    title_key = "programme.title_today" if day == event.local(now).date() else "programme.title"
    lines: list[str] = [catalog.text(lang, title_key, day=date_label(catalog, lang, day))]
    if not items:
        lines.append(catalog.text(lang, "programme.nothing_that_day"))
    for item in items:
        marker = ""
        if item in current:
            marker = catalog.text(lang, "programme.marker_now")
        elif upcoming is not None and item.id == upcoming.id:
            marker = catalog.text(lang, "programme.marker_next")
        key = "programme.line_place" if item.place is not None else "programme.line"
        line: str = catalog.text(
            lang,
            key,
            marker=marker,
            start=hhmm(event, item.start),
            end=hhmm(event, item.end),
            title=item.title.get(lang, default),
            place=item.place.get(lang, default) if item.place is not None else "",
        )
        if item.audience != AUDIENCE_ALL:
            challenge = event.challenge(item.audience)
            name = challenge.title.get(lang, default) if challenge is not None else item.audience
            line += catalog.text(lang, "programme.team_tag", challenge=name)
        lines.append(line)
    if any(item in current for item in items) or (upcoming is not None and upcoming in items):
        lines.append(catalog.text(lang, "programme.legend"))
    day_buttons = [
        InlineKeyboardButton(
            _day_button_label(catalog, lang, other),
            callback_data=callback_data(FEATURE, "day", f"{other:%Y%m%d}"),
        )
        for other in event.days()
        if other != day
    ]
    rows = [day_buttons[i : i + 3] for i in range(0, len(day_buttons), 3)]
    rows.append(
        [
            InlineKeyboardButton(
                catalog.label(lang, "programme.button_ics_all"),
                callback_data=callback_data(FEATURE, "ics", "all"),
            )
        ]
    )
    if viewer.challenge is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.label(lang, "programme.button_ics_mine"),
                    callback_data=callback_data(FEATURE, "ics", "mine"),
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day_button_label(catalog: Catalog, lang: str, day: dt.date) -> str:
    """`Dimanche 6 ›`: the whole weekday (an abbreviation is hard to read), and an arrow that says "go"."""
    weekday = catalog.label(lang, f"programme.weekday.{_WEEKDAYS[day.weekday()]}")
    return catalog.label(lang, "programme.day_button", weekday=weekday[:1].upper() + weekday[1:], day=day.day)


def calendar_name(services: Services, viewer: Viewer) -> str | None:
    """The name of a team's calendar ("Event – Challenge"); None for the whole programme."""
    event = services.event
    challenge = event.challenge(viewer.challenge) if viewer.challenge is not None else None
    if challenge is None:
        return None
    return services.catalog.text(
        viewer.lang,
        "programme.calendar_name_team",
        event=event.name.get(viewer.lang, event.default_language),
        challenge=challenge.title.get(viewer.lang, event.default_language),
    )


def reminders_keyboard(catalog: Catalog, lang: str, enabled: bool) -> InlineKeyboardMarkup:
    """The one button that switches reminders the other way."""
    if enabled:
        button = InlineKeyboardButton(
            catalog.label(lang, "programme.button_reminders_off"),
            callback_data=callback_data(FEATURE, "rem", "off"),
        )
    else:
        button = InlineKeyboardButton(
            catalog.label(lang, "programme.button_reminders_on"),
            callback_data=callback_data(FEATURE, "rem", "on"),
        )
    return InlineKeyboardMarkup([[button]])


def reload_text(catalog: Catalog, lang: str, outcome: ReloadOutcome) -> str:
    """What the organiser who sent /reload is told: the counts, or why the file was refused."""
    if not outcome.ok or outcome.result is None:
        return catalog.text(lang, "programme.reload_invalid", errors="\n".join(outcome.errors[:20]))
    return catalog.text(
        lang,
        "programme.reload_ok",
        changed=len(outcome.result.announced),
        planned=outcome.result.planned,
        cancelled=outcome.result.cancelled,
    )
