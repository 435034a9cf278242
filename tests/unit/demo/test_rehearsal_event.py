"""Rehearsal time for `hackbot demo`: where the programme moves, and what else the rehearsal changes."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cli import build_parser
from bot.demo import Demo, DemoError, default_start, rehearsal_event
from bot.settings import Settings
from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT, load_event_config

NOW = dt.datetime(2026, 3, 14, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def event() -> EventConfig:
    return load_event_config(BUNDLED_EVENT)


def rehearse(event: EventConfig, starts_at: dt.datetime, from_item: str | None = None) -> EventConfig:
    return rehearsal_event(
        event, now=NOW, starts_at=starts_at, staff_chat_id=-1001, organisers=[42], from_item=from_item
    )


def test_the_first_reminder_comes_three_minutes_after_start(event: EventConfig) -> None:
    """By default the first item starts after its reminder lead time plus three minutes."""
    first = event.sorted_programme[0]
    assert first.kind == "plenary" and event.reminders.plenary == 15
    starts_at = default_start(event, NOW)
    assert starts_at == NOW + dt.timedelta(minutes=18)
    rehearsed = rehearse(event, starts_at)
    assert rehearsed.start == starts_at
    assert rehearsed.reminder_at(rehearsed.sorted_programme[0]) == NOW + dt.timedelta(minutes=3)


def test_everything_moves_together_and_durations_are_kept(event: EventConfig) -> None:
    """Items, meals and gaps keep their real elapsed durations."""
    rehearsed = rehearse(event, NOW + dt.timedelta(minutes=5))
    original = [(i.start - event.start, i.end - i.start) for i in event.programme]
    assert [(i.start - rehearsed.start, i.end - i.start) for i in rehearsed.programme] == original
    lunch, rehearsed_lunch = event.meal("lunch"), rehearsed.meal("lunch")
    assert lunch is not None and rehearsed_lunch is not None
    assert (
        rehearsed.meal_window(rehearsed_lunch)[0] - rehearsed.start
        == event.meal_window(lunch)[0] - event.start
    )


def test_from_an_item_that_item_starts_then(event: EventConfig) -> None:
    """`--from sat-lunch`: lunch starts at the chosen time, the lunch reminder comes 3 minutes from now."""
    starts_at = default_start(event, NOW, "sat-lunch")
    assert starts_at == NOW + dt.timedelta(minutes=5 + 3)  # meals are reminded 5 minutes before
    rehearsed = rehearse(event, starts_at, "sat-lunch")
    lunch = rehearsed.item("sat-lunch")
    assert lunch is not None and lunch.start == starts_at
    assert rehearsed.start < NOW  # earlier items are in the past: the event is under way
    with pytest.raises(DemoError, match="no programme item 'brunch'"):
        default_start(event, NOW, "brunch")


def test_rehearsal_settings(event: EventConfig) -> None:
    """Team picking opens now at the latest, quiet hours are off, simulated staff group and organisers."""
    rehearsed = rehearse(event, NOW + dt.timedelta(minutes=18))
    opens, closes = rehearsed.team_picking_window
    assert opens == NOW and closes == rehearsed.end
    assert rehearsed.team_picking_open(NOW)
    assert not rehearsed.quiet_hours.enabled
    assert rehearsed.quiet_hours.start == event.quiet_hours.start  # the rest is as in the file
    assert rehearsed.staff_chat_id == -1001 and rehearsed.organisers == [42]
    assert rehearsed.challenges == event.challenges and rehearsed.id == event.id
    # Already open (rehearsing from a later item): the window is left as the file makes it.
    later = rehearse(event, NOW - dt.timedelta(hours=3), "sat-dev-morning")
    assert later.team_picking.opens_at is None and later.team_picking_open(NOW)


def test_demo_command_line() -> None:
    """`hackbot demo` options."""
    args = build_parser().parse_args(["demo", "--from", "sat-lunch", "--starts-in", "2.5", "--port", "0"])
    assert (args.from_item, args.starts_in, args.port, args.host) == ("sat-lunch", 2.5, 0, "127.0.0.1")
    defaults = build_parser().parse_args(["demo"])
    assert (defaults.from_item, defaults.starts_in, defaults.port, defaults.event) == (None, None, 8088, None)


@pytest.mark.parametrize("minutes", [6, 10, 4, 3, 2])
def test_starts_in_puts_the_first_reminder_after_start(event: EventConfig, minutes: int) -> None:
    """`--starts-in 6`: the 15-minute reminder is not 9 minutes late; it comes after start."""
    starts_at = NOW + dt.timedelta(minutes=minutes)
    first = rehearse(event, starts_at).sorted_programme[0]
    reminder = rehearse(event, starts_at).reminder_at(first)
    assert reminder is not None and NOW < reminder < first.start
    if minutes >= 6:
        assert reminder == NOW + dt.timedelta(minutes=3)  # time to register before it arrives
    # Items far enough ahead keep the lead the event file gives them.
    later = rehearse(event, starts_at).sorted_programme[-1]
    assert rehearse(event, starts_at).reminder_at(later) == event.shifted_to(starts_at).reminder_at(later)


def test_an_item_starting_within_two_minutes_gets_no_reminder(event: EventConfig) -> None:
    """A reminder could only arrive before anyone has registered: none rather than one to nobody."""
    first = rehearse(event, NOW + dt.timedelta(seconds=90)).sorted_programme[0]
    assert rehearse(event, NOW + dt.timedelta(seconds=90)).reminder_at(first) is None


async def test_the_banner_names_items_by_title_and_says_when_the_reminder_comes(event: EventConfig) -> None:
    """The start banner speaks of «Accueil…», not of 'fri-welcome', and gives a time still to come."""
    settings = Settings(telegram_bot_token=None, _env_file=None)  # type: ignore[call-arg]
    demo = Demo(settings, event, port=0, starts_at=NOW + dt.timedelta(minutes=6), clock=lambda: NOW)
    await demo.sim.start(host="127.0.0.1", port=0)  # the banner gives the page's address
    try:
        banner = demo.banner()
    finally:
        await demo.sim.stop()
    first = event.sorted_programme[0]
    assert first.id not in banner
    assert f"«{first.title.get('fr', 'fr')}»" in banner
    reminder = demo.event.local(NOW + dt.timedelta(minutes=3))
    assert f"its reminder arrives at {reminder:%H:%M}" in banner
