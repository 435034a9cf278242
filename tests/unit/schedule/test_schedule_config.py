"""Event-configuration models: localized texts, reminders, quiet hours, team picking and lookups."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from schedule.config import EventConfig, LocalizedText, ProgrammeItem, QuietHours, ReminderSettings

PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> dt.datetime:
    """A Europe/Paris datetime from 'YYYY-MM-DD HH:MM'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS)


def item(**changes: Any) -> ProgrammeItem:
    """A valid programme item with changes."""
    data: dict[str, Any] = {
        "id": "x",
        "kind": "plenary",
        "title": {"fr": "X"},
        "start": paris("2017-11-03 16:30"),
        "end": paris("2017-11-03 17:00"),
    }
    return ProgrammeItem.model_validate({**data, **changes})


@pytest.mark.parametrize(
    ("texts", "lang", "expected"),
    [
        ({"fr": "Bonjour", "en": "Hello"}, "en", "Hello"),
        ({"fr": "Bonjour", "en": "Hello"}, "fr", "Bonjour"),
        ({"fr": "Bonjour", "en": "Hello"}, "de", "Bonjour"),
        ({"en": "Hello"}, "de", "Hello"),
    ],
)
def test_localized_text_get(texts, lang, expected):
    """get() falls back to the default language, then to any language."""
    assert LocalizedText(texts).get(lang, "fr") == expected


def test_localized_text_refuses_empty():
    """A text needs at least one non-blank language."""
    with pytest.raises(ValidationError):
        LocalizedText({})
    with pytest.raises(ValidationError):
        LocalizedText({"fr": "   "})


def test_models_are_frozen(event):
    """Configuration objects cannot be changed after loading."""
    with pytest.raises(ValidationError):
        event.challenges[0].capacity = 99  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "settings", "expected"),
    [
        ({"kind": "plenary"}, {}, 15),
        ({"kind": "meal"}, {}, 5),
        ({"kind": "work"}, {}, 10),
        ({"kind": "social"}, {}, 10),
        ({"kind": "team-formation"}, {"team-formation": 20}, 20),
        ({"kind": "meal", "reminder_minutes": 30}, {}, 30),
        ({"kind": "meal", "reminder_minutes": 0}, {}, None),
        ({"kind": "work"}, {"work": 0}, None),
        ({"kind": "plenary", "reminder_minutes": 30}, {"enabled": False}, None),
    ],
)
def test_reminder_lead_time(changes, settings, expected):
    """Per-kind lead times apply unless the item overrides them; 0 or disabled means no reminder."""
    assert ReminderSettings.model_validate(settings).for_item(item(**changes)) == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({}, None), ({"grace_minutes": None}, None), ({"grace_minutes": 0}, 0), ({"grace_minutes": 20}, 20)],
)
def test_grace_minutes_is_optional(settings, expected):
    """Absent or null: until the item ends (None); 0 and positive minutes are kept as written."""
    assert ReminderSettings.model_validate(settings).grace_minutes == expected


def test_bundled_event_keeps_missed_notifications_until_the_item_ends(event):
    """The example leaves `grace_minutes` out (commented), so nothing changes for it."""
    assert event.reminders.grace_minutes is None


def test_reminder_at(event):
    """The reminder instant is the item's start minus its lead time."""
    lunch = event.item("sat-lunch")
    assert lunch is not None
    assert event.reminder_at(lunch) == lunch.start - dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    ("at", "quiet", "released"),
    [
        ("2017-11-03 22:59", False, "2017-11-03 22:59"),
        ("2017-11-03 23:00", True, "2017-11-04 07:00"),
        ("2017-11-04 02:00", True, "2017-11-04 07:00"),
        ("2017-11-04 07:00", False, "2017-11-04 07:00"),
        ("2017-11-04 12:00", False, "2017-11-04 12:00"),
    ],
)
def test_quiet_hours_wrap_midnight(at, quiet, released):
    """23:00-07:00 covers the night across midnight; messages wait until 07:00."""
    hours = QuietHours()
    assert hours.contains(paris(at), PARIS) is quiet
    assert hours.next_allowed(paris(at), PARIS) == paris(released)


def test_quiet_hours_same_day_and_disabled():
    """A window inside one day works, and a disabled window never blocks."""
    lunch_break = QuietHours(start=dt.time(12), end=dt.time(14))
    assert lunch_break.contains(paris("2017-11-04 13:00"), PARIS)
    assert not lunch_break.contains(paris("2017-11-04 14:00"), PARIS)
    assert not QuietHours(enabled=False).contains(paris("2017-11-04 02:00"), PARIS)


def test_team_picking_defaults_to_team_formation_item(event):
    """Without explicit times, picking opens with the team-formation item and closes at the end."""
    formation = event.item("fri-teams")
    assert formation is not None
    assert event.team_picking_window == (formation.start, event.end)
    assert not event.team_picking_open(formation.start - dt.timedelta(seconds=1))
    assert event.team_picking_open(formation.start)
    assert not event.team_picking_open(event.end)


def test_team_picking_flag_and_explicit_times(raw):
    """A flagged item opens picking when earlier; explicit opens_at/closes_at win."""
    raw["programme"][1]["opens_team_picking"] = True
    flagged = EventConfig.model_validate(raw)
    assert flagged.team_picking_window[0] == flagged.programme[1].start
    raw["team_picking"] = {"opens_at": "2017-11-01T09:00:00+01:00", "closes_at": "2017-11-04T12:00:00+01:00"}
    explicit = EventConfig.model_validate(raw)
    assert [t.isoformat() for t in explicit.team_picking_window] == [
        "2017-11-01T09:00:00+01:00",
        "2017-11-04T12:00:00+01:00",
    ]


def test_team_picking_without_trigger_opens_at_start(raw):
    """With no team-formation item nor flag, picking opens when the event starts."""
    raw["programme"][2]["kind"] = "plenary"
    config = EventConfig.model_validate(raw)
    assert config.team_picking_window[0] == config.start


def test_lookups(event):
    """Lookups by id return the entry, or None for an unknown id."""
    assert event.challenge("demarches") is not None
    assert event.challenge("nope") is None
    assert event.item("sat-lunch") is not None
    assert event.item("nope") is None
    assert event.meal("lunch") is not None
    assert event.role("staff") is not None
    assert event.faq_entry("wifi") is not None
    assert event.dietary_option("halal") is not None
    assert event.meal_for_item("sat-lunch") == event.meal("lunch")
    assert event.meal_for_item("sat-results") is None


def test_meal_window_follows_item_or_own_times(raw):
    """A linked meal takes its item's times; a meal with its own times keeps them."""
    raw["meals"].append(
        {
            "id": "snack",
            "name": {"fr": "Goûter"},
            "start": "2017-11-04T16:00:00+01:00",
            "end": "2017-11-04T16:30:00+01:00",
        }
    )
    config = EventConfig.model_validate(raw)
    lunch, snack = config.meal("lunch"), config.meal("snack")
    assert lunch is not None and snack is not None
    item_ = config.item("sat-lunch")
    assert item_ is not None
    assert config.meal_window(lunch) == (item_.start, item_.end)
    assert [t.isoformat() for t in config.meal_window(snack)] == [
        "2017-11-04T16:00:00+01:00",
        "2017-11-04T16:30:00+01:00",
    ]


def test_facilitators_for_includes_mentors(event):
    """A challenge's helpers are its own facilitators plus mentors covering it."""
    names = [f.name for f in event.facilitators_for("reservation")]
    assert names == ["Camille (exemple)", "Yanis (exemple)", "Mentor design (exemple)"]


def test_items_on_a_day_are_in_order(event):
    """items_on() lists a day's items by start time, in the event's timezone."""
    friday = event.items_on(dt.date(2017, 11, 3))
    assert [i.id for i in friday] == [
        "fri-welcome",
        "fri-challenges",
        "fri-teams",
        "fri-immersion",
        "fri-aperitif",
    ]
    assert event.items_on(dt.date(2017, 11, 5)) == []


def test_retention_and_organisers(event):
    """Data retention counts from the end of the event; organiser ids are recognised."""
    assert event.retention_until == event.end + dt.timedelta(days=30)
    assert event.is_organiser(111111111)
    assert not event.is_organiser(42)
