"""The programme as an iCalendar file (`.ics`), built with the `icalendar` library.

Times are written in the event's timezone with its VTIMEZONE definition, so a phone in another zone
still shows them right, also on the night of a daylight-saving change. Each item keeps the same UID
across downloads, so importing the file again updates the events instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from schedule.config import EventConfig, ProgrammeItem

PRODID = "-//hackbot//programme//FR"


def item_uid(event: EventConfig, item: ProgrammeItem) -> str:
    """Stable UID of an item: importing a newer file replaces the older event."""
    return f"{item.id}@{event.id}.hackbot"


def programme_ics(
    event: EventConfig,
    items: Iterable[ProgrammeItem],
    lang: str,
    *,
    now: dt.datetime,
    calendar_name: str | None = None,
) -> bytes:
    """An `.ics` file holding `items`, texts in `lang` (falling back to the default language)."""
    # Imported here: the library is only needed when someone downloads the agenda.
    from icalendar import Calendar, Event

    default = event.default_language
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name or event.name.get(lang, default))
    calendar.add("x-wr-timezone", event.timezone)
    for item in items:
        entry = Event()
        entry.add("uid", item_uid(event, item))
        entry.add("dtstamp", now.astimezone(dt.UTC))
        entry.add("dtstart", event.local(item.start))
        entry.add("dtend", event.local(item.end))
        entry.add("summary", item.title.get(lang, default))
        place = item.place.get(lang, default) if item.place is not None else None
        location = f"{place}, {event.venue.name}" if place else event.venue.name
        entry.add("location", f"{location}, {event.venue.address}")
        if item.description is not None:
            entry.add("description", item.description.get(lang, default))
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
