"""Pure time questions about an event's programme: what is on now, what comes next, which day to show.

No Telegram here. `audience` filters work like `ProgrammeItem.is_for`: None shows every item (including
parallel items of every challenge); a challenge id shows the items for everyone plus that challenge's own.
"""

from __future__ import annotations

import datetime as dt

from schedule.config import EventConfig, ProgrammeItem


def _visible(config: EventConfig, audience: str | None) -> list[ProgrammeItem]:
    items = config.sorted_programme
    return items if audience is None else [item for item in items if item.is_for(audience)]


def now_and_next(
    config: EventConfig, at: dt.datetime, *, audience: str | None = None
) -> tuple[list[ProgrammeItem], ProgrammeItem | None]:
    """Items running at `at` (start <= at < end) and the first item starting after `at`, if any."""
    items = _visible(config, audience)
    current = [item for item in items if item.start <= at < item.end]
    upcoming = next((item for item in items if item.start > at), None)
    return current, upcoming


def items_for_day(config: EventConfig, day: dt.date, *, audience: str | None = None) -> list[ProgrammeItem]:
    """Items starting on `day` in the event's timezone, in order."""
    return [item for item in _visible(config, audience) if config.local(item.start).date() == day]


def current_or_next_day(config: EventConfig, at: dt.datetime) -> dt.date:
    """Return the event day to show at `at` (dates in the event's timezone).

    The first day, from today on, that still has an item running or to come; after the event, the last day.
    So on Friday evening once Friday's items are over, Saturday is shown.
    """
    today = config.local(at).date()
    for day in config.days():
        if day >= today and any(item.end > at for item in config.items_on(day)):
            return day
    return config.days()[-1]
