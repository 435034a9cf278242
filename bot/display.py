"""How values are shown to people: hours, dates, numbers, titles and roles in a language.

One place for every feature (handlers render with these, and so do the scheduled jobs that compose
reminders and reports), so a date reads the same in the programme, a meal card and an announcement.
They take the catalog and the event, never Telegram objects. Results are HTML-safe (`Markup`) when
they come from the catalog; plain strings (an hour, a number, a title) are escaped by the catalog
when passed as parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.i18n import Catalog, Markup
from models.outbox import TEXT_LIMIT, telegram_length
from schedule.config import EventConfig

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def hhmm(event: EventConfig, at: dt.datetime) -> str:
    """Local time of day, 24-hour clock: `13:05`."""
    return event.local(at).strftime("%H:%M")


def day_and_time(event: EventConfig, at: dt.datetime) -> dict[str, str]:
    """`{"date": "05/12", "time": "13:05"}` in the event's timezone (catalog parameters)."""
    local = event.local(at)
    return {"date": local.strftime("%d/%m"), "time": local.strftime("%H:%M")}


def full_date(event: EventConfig, at: dt.datetime) -> str:
    """`05/12/2026` in the event's timezone."""
    return event.local(at).strftime("%d/%m/%Y")


def date_label(catalog: Catalog, lang: str, day: dt.date) -> Markup:
    """`samedi 4 novembre` / `Saturday 4 November`."""
    return catalog.text(
        lang,
        "programme.date",
        weekday=catalog.text(lang, f"programme.weekday.{_WEEKDAYS[day.weekday()]}"),
        day=day.day,
        month=catalog.text(lang, f"programme.month.{_MONTHS[day.month - 1]}"),
    )


def short_date_label(catalog: Catalog, lang: str, day: dt.date) -> Markup:
    """`sam. 4` / `Sat 4` for buttons."""
    return catalog.text(
        lang,
        "programme.short_date",
        weekday=catalog.text(lang, f"programme.weekday_short.{_WEEKDAYS[day.weekday()]}"),
        day=day.day,
    )


def when_label(catalog: Catalog, event: EventConfig, lang: str, at: dt.datetime, now: dt.datetime) -> str:
    """`13:00` today, `samedi 4 novembre à 13:00` another day."""
    if event.local(at).date() == event.local(now).date():
        return hhmm(event, at)
    return catalog.text(
        lang,
        "programme.when_other_day",
        date=date_label(catalog, lang, event.local(at).date()),
        time=hhmm(event, at),
    )


def number(lang: str, value: int) -> str:
    """1,000 in English, 1 000 (narrow no-break space) in French."""
    grouped = f"{value:,}"
    return grouped if lang == "en" else grouped.replace(",", "\u202f")


def challenge_title(event: EventConfig, lang: str, challenge_id: str, stored_title: str | None = None) -> str:
    """A challenge's title in `lang` (for one removed from the file: its last known title, else its id)."""
    return event.challenge_title(lang, challenge_id, stored_title)


def role_label(catalog: Catalog, event: EventConfig, lang: str, role_id: str | None) -> str:
    """The role's label in `lang`; the id itself if the event no longer offers it; "none" without one."""
    if role_id is None:
        return catalog.label(lang, "registration.none")
    return event.role_label(lang, role_id) or role_id


def pack_messages(blocks: Sequence[Sequence[str]], limit: int = TEXT_LIMIT) -> list[str]:
    """Lines grouped in blocks (a blank line between blocks) packed into as few messages as fit.

    A block is split only when it does not fit in a message of its own; a line is never split
    (ours are short: every value shown is capped).
    """
    messages: list[str] = []
    current: list[str] = []

    def fits(lines: list[str]) -> bool:
        return telegram_length("\n".join(lines), "HTML") <= limit

    for block in blocks:
        candidate = [*current, "", *block] if current else list(block)
        if fits(candidate):
            current = candidate
            continue
        if current:
            messages.append("\n".join(current))
        current = []
        for line in block:
            if current and not fits([*current, line]):
                messages.append("\n".join(current))
                current = []
            current.append(line)
    if current:
        messages.append("\n".join(current))
    return messages
