"""Timeline helpers: what is on now, what comes next, and which day to show."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from schedule.timeline import current_or_next_day, items_for_day, now_and_next

PARIS = ZoneInfo("Europe/Paris")
FRIDAY, SATURDAY = dt.date(2017, 11, 3), dt.date(2017, 11, 4)


def paris(text: str) -> dt.datetime:
    """A Europe/Paris datetime from 'YYYY-MM-DD HH:MM'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.mark.parametrize(
    ("at", "audience", "current", "upcoming"),
    [
        ("2017-11-01 10:00", None, [], "fri-welcome"),
        ("2017-11-03 16:30", None, ["fri-welcome"], "fri-challenges"),
        ("2017-11-03 17:14", None, ["fri-welcome"], "fri-challenges"),
        ("2017-11-03 17:15", None, ["fri-challenges"], "fri-teams"),
        ("2017-11-03 23:00", None, [], "sat-breakfast"),
        ("2017-11-04 15:10", None, ["sat-dev-afternoon", "sat-test-reservation"], "sat-test-benevolat"),
        ("2017-11-04 15:10", "reservation", ["sat-dev-afternoon", "sat-test-reservation"], "sat-results"),
        ("2017-11-04 15:10", "demarches", ["sat-dev-afternoon"], "sat-results"),
        ("2017-11-04 21:59", None, ["sat-cocktail"], None),
        ("2017-11-04 22:00", None, [], None),
    ],
)
def test_now_and_next(event, at, audience, current, upcoming):
    """Running items are start <= at < end; the next one starts strictly after `at`."""
    running, following = now_and_next(event, paris(at), audience=audience)
    assert [item.id for item in running] == current
    assert (following.id if following else None) == upcoming


def test_now_and_next_accepts_any_timezone(event):
    """The instant matters, not the timezone it is written in."""
    running, _ = now_and_next(event, dt.datetime(2017, 11, 3, 15, 40, tzinfo=dt.UTC))
    assert [item.id for item in running] == ["fri-welcome"]


def test_items_for_day(event):
    """A day's items are in order; a challenge only sees its own parallel items."""
    assert items_for_day(event, FRIDAY)[0].id == "fri-welcome"
    saturday = [i.id for i in items_for_day(event, SATURDAY, audience="benevolat")]
    assert "sat-test-benevolat" in saturday
    assert "sat-test-reservation" not in saturday
    assert len(items_for_day(event, SATURDAY)) == 8
    assert items_for_day(event, dt.date(2017, 11, 5)) == []


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2017-10-20 12:00", FRIDAY),
        ("2017-11-03 08:00", FRIDAY),
        ("2017-11-03 20:00", FRIDAY),
        ("2017-11-03 20:30", SATURDAY),
        ("2017-11-04 01:00", SATURDAY),
        ("2017-11-04 23:00", SATURDAY),
        ("2017-12-01 12:00", SATURDAY),
    ],
)
def test_current_or_next_day(event, at, expected):
    """Today while it still has items, else the next event day; after the event, the last day."""
    assert current_or_next_day(event, paris(at)) == expected
