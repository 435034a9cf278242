"""Notification texts: reminders, change notices and meal announcements, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.display import date_label, when_label
from bot.i18n import Catalog
from handlers.meals.views import next_meal
from models.meals import Needs
from schedule.programme_texts import announcement_text, change_text, reminder_text
from tests.unit.programme.events import PARIS, Item, MealSpec, build_event

BASE = dt.datetime(2030, 1, 10, 12, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def event():
    return build_event(
        [
            Item("lunch", 0, 3600, kind="meal", place=("Hall B", "Hall B")),
            Item("talk", 3600, 7200, place=None),
        ],
        [MealSpec("lunch-meal", item="lunch", place=None, diets=("vegetarian", "halal"))],
        base=BASE,
    )


def test_reminder_before_and_during_the_item(catalog, event):
    """ "In 15 minutes (12:00)" before, "Happening now (until 13:00)" once started."""
    lunch = event.item("lunch")
    before = reminder_text(catalog, event, "en", lunch, lunch.start - dt.timedelta(minutes=15))
    assert before == "⏰ In 15 minutes (12:00): <b>Title lunch</b>, Hall B"
    one = reminder_text(catalog, event, "fr", lunch, lunch.start - dt.timedelta(seconds=50))
    assert one.startswith("⏰ Dans 1 minute (12:00)")
    during = reminder_text(catalog, event, "fr", lunch, lunch.start + dt.timedelta(minutes=2))
    assert during == "▶️ C'est maintenant : <b>Titre lunch</b>, Hall B (jusqu'à 13:00)"
    talk = event.item("talk")
    assert reminder_text(catalog, event, "en", talk, talk.start - dt.timedelta(minutes=5)).endswith(
        "<b>Title talk</b>"
    )


def test_change_notices(catalog, event):
    """Time, place or both; another day gets its date."""
    lunch = event.item("lunch")
    same_day = BASE - dt.timedelta(hours=2)
    common = {"title": "Lunch", "start": lunch.start + dt.timedelta(minutes=30), "now": same_day}
    assert (
        change_text(catalog, event, "en", place="Hall B", time_changed=True, place_changed=False, **common)
        == "📣 Change: <b>Lunch</b> moves to 12:30."
    )
    assert (
        change_text(catalog, event, "en", place="Hall C", time_changed=False, place_changed=True, **common)
        == "📣 Change of place: <b>Lunch</b> is now in Hall C."
    )
    both = change_text(catalog, event, "fr", place="Salle C", time_changed=True, place_changed=True, **common)
    assert both == "📣 Changement : <b>Lunch</b> est déplacé à 12:30, Salle C."
    other_day = {**common, "now": BASE - dt.timedelta(days=1)}
    text = change_text(catalog, event, "fr", place=None, time_changed=True, place_changed=False, **other_day)
    assert text == "📣 Changement : <b>Lunch</b> est déplacé à jeudi 10 janvier à 12:30."
    escaped = change_text(
        catalog,
        event,
        "en",
        place="<b>",
        time_changed=False,
        place_changed=True,
        **{**common, "title": "A&B"},
    )
    assert "A&amp;B" in escaped and "&lt;b&gt;" in escaped


def test_dates_and_when(catalog, event):
    """Local dates in words; a time alone the same day."""
    assert date_label(catalog, "fr", dt.date(2030, 1, 10)) == "jeudi 10 janvier"
    assert date_label(catalog, "en", dt.date(2030, 1, 10)) == "Thursday 10 January"
    assert when_label(catalog, event, "en", BASE, BASE - dt.timedelta(hours=1)) == "12:00"


def test_meal_announcement_for_each_diet(catalog, event):
    """The place (from the item), the menu, and what this person's diet means here."""
    meal = event.meal("lunch-meal")
    plain = announcement_text(catalog, event, meal, "en", Needs())
    assert plain.splitlines() == [
        "🍽 <b>Meal lunch-meal</b> is served! 📍 Hall B",
        "On the menu: Soup and pie",
    ]
    person = Needs(diets=("halal", "gluten-free"), allergy="peanuts & <nuts>")
    lines = announcement_text(catalog, event, meal, "fr", person).splitlines()
    assert lines[2] == "✅ Pour vous : Halal, c'est prévu."
    assert lines[3] == "⚠️ Sans gluten : pas prévu à ce repas, demandez à l'équipe du traiteur."
    assert lines[4] == "⚠️ Votre allergie (peanuts &amp; &lt;nuts&gt;) : signalez-la au service."


def test_next_meal(event):
    """The meal going on, else the next; None after the last."""
    meal = event.meal("lunch-meal")
    assert next_meal(event, BASE - dt.timedelta(hours=1)) == meal
    assert next_meal(event, BASE + dt.timedelta(minutes=30)) == meal
    assert next_meal(event, BASE + dt.timedelta(hours=2)) is None
