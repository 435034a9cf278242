"""The calendar file: valid iCalendar, times in the event's timezone, stable UIDs, texts in the language."""

from __future__ import annotations

import datetime as dt

import icalendar

from schedule.ics import item_uid, programme_ics
from schedule.loader import BUNDLED_EVENT, load_event_config
from tests.unit.programme.events import PARIS, Item, build_event

NOW = dt.datetime(2017, 10, 1, 12, tzinfo=dt.UTC)


def _events(data: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return list(calendar.walk("VEVENT"))


def test_whole_programme_in_french():
    """Every item is an event with its French title, place, times and a stable UID."""
    event = load_event_config(BUNDLED_EVENT)
    data = programme_ics(event, event.sorted_programme, "fr", now=NOW)
    parsed = icalendar.Calendar.from_ical(data)
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["Europe/Paris"]
    events = _events(data)
    assert len(events) == len(event.programme)
    first = events[0]
    welcome = event.item("fri-welcome")
    assert welcome is not None
    assert str(first["SUMMARY"]) == "Accueil et présentation du projet"
    assert first.decoded("DTSTART") == welcome.start
    assert first.decoded("DTEND") == welcome.end
    assert "Grande salle" in str(first["LOCATION"]) and event.venue.address in str(first["LOCATION"])
    assert str(first["UID"]) == item_uid(event, welcome)
    again = _events(programme_ics(event, event.sorted_programme, "fr", now=NOW + dt.timedelta(days=1)))
    assert [str(e["UID"]) for e in again] == [str(e["UID"]) for e in events]


def test_english_and_a_subset():
    """Only the given items, in English."""
    event = load_event_config(BUNDLED_EVENT)
    items = [item for item in event.sorted_programme if item.is_for("reservation")]
    events = _events(programme_ics(event, items, "en", now=NOW))
    titles = [str(e["SUMMARY"]) for e in events]
    assert "Mock-up test with users" in titles and "Mock-up test with volunteers" not in titles
    assert len(events) == len(items)


def test_dst_night_times_survive_the_round_trip():
    """An item spanning the autumn change keeps its real length once parsed back."""
    base = dt.datetime(2024, 10, 27, 1, 0, tzinfo=PARIS)
    event = build_event([Item("night", 0, 3 * 3600)], base=base)
    (parsed,) = _events(programme_ics(event, event.programme, "fr", now=NOW))
    start, end = parsed.decoded("DTSTART"), parsed.decoded("DTEND")
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=3)
    assert start.astimezone(dt.UTC) == event.programme[0].start.astimezone(dt.UTC)
    assert end.astimezone(dt.UTC) == event.programme[0].end.astimezone(dt.UTC)
