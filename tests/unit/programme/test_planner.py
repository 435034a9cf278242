"""Planning: which batches, when (quiet hours, daylight saving), what changed, how a batch is spread."""

from __future__ import annotations

import datetime as dt

import pytest

from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT, load_event_config
from schedule.planner import (
    DELIVERY_ALLOWANCE,
    BatchKind,
    EntryState,
    PlannerOptions,
    diff_entries,
    entry_states,
    fanout_advance,
    parse_day,
    plan_batches,
    reminder_key,
    rows_expiry,
    send_span,
    spread_start,
    subject_end,
)
from tests.unit.programme.events import PARIS, Item, MealSpec, build_event

UTC = dt.UTC


@pytest.fixture(scope="module")
def bundled() -> EventConfig:
    return load_event_config(BUNDLED_EVENT)


def test_bundled_event_gets_one_reminder_per_item_and_one_announcement_per_meal(bundled):
    """Lead times come from the kind (15 for plenaries, 5 for meals...); meals are announced at start."""
    batches = plan_batches(bundled)
    reminders = {b.subject_id: b for b in batches if b.kind is BatchKind.REMINDER}
    meals = {b.subject_id: b for b in batches if b.kind is BatchKind.MEAL}
    assert set(reminders) == {item.id for item in bundled.programme}
    welcome = bundled.item("fri-welcome")
    assert welcome is not None
    assert reminders["fri-welcome"].due_at == welcome.start - dt.timedelta(minutes=15)
    lunch = bundled.item("sat-lunch")
    assert lunch is not None
    assert reminders["sat-lunch"].due_at == lunch.start - dt.timedelta(minutes=5)
    assert reminders["sat-lunch"].expires_at == lunch.end
    assert meals["lunch"].due_at == lunch.start
    assert reminders["fri-welcome"].key == reminder_key("fri-welcome", welcome.start)
    assert all(b.due_at.tzinfo is not None and b.due_at.utcoffset() == dt.timedelta(0) for b in batches)
    assert [b.due_at for b in batches] == sorted(b.due_at for b in batches)


def test_zero_minutes_means_no_reminder():
    """`reminder_minutes: 0` plans nothing for that item."""
    event = build_event([Item("a", 0, 600, reminder=0), Item("b", 600, 1200, reminder=2)])
    assert [b.subject_id for b in plan_batches(event)] == ["b"]


def test_quiet_hours_delay_or_drop_reminders():
    """A reminder due in quiet hours waits until they end, and is dropped if the item is over by then."""
    base = dt.datetime(2030, 1, 10, 6, 30, tzinfo=PARIS)
    event = build_event(
        [
            Item("early", 30 * 60, 90 * 60, reminder=15),  # 07:00-08:00: due 06:45 -> 07:00
            Item("night", -8 * 3600, -7.5 * 3600, reminder=10),  # 22:30-23:00 the evening before: kept
            Item("late", 17 * 3600, 17.25 * 3600, reminder=10),  # 23:30-23:45: quiet until 07:00 -> dropped
        ],
        base=base,
        quiet_hours=True,
    )
    planned = {b.subject_id: b for b in plan_batches(event)}
    assert planned["early"].due_at == dt.datetime(2030, 1, 10, 7, 0, tzinfo=PARIS)
    assert planned["night"].due_at == dt.datetime(2030, 1, 9, 22, 20, tzinfo=PARIS)
    assert "late" not in planned


@pytest.mark.parametrize(
    ("start_local", "lead", "expected_utc"),
    [
        # Autumn: clocks go back at 03:00 CEST -> 02:00 CET. 02:10 CET is 01:10 UTC; 15 minutes
        # before is 00:55 UTC (02:55 CEST). Wall-clock arithmetic would say 01:55, an hour early.
        ("2024-10-27T02:10:00+01:00", 15, dt.datetime(2024, 10, 27, 0, 55, tzinfo=UTC)),
        # Spring: 02:00 CET -> 03:00 CEST. 03:05 CEST is 01:05 UTC; 15 minutes before is 00:50 UTC
        # (01:50 CET). Wall-clock arithmetic would give 02:50, a time that does not exist.
        ("2024-03-31T03:05:00+02:00", 15, dt.datetime(2024, 3, 31, 0, 50, tzinfo=UTC)),
    ],
)
def test_reminders_on_a_daylight_saving_night_count_real_minutes(start_local, lead, expected_utc):
    """Reminder times are computed in elapsed time, also across a DST change."""
    start = dt.datetime.fromisoformat(start_local)
    base = start - dt.timedelta(hours=1)
    event = build_event([Item("night", 3600, 3 * 3600, reminder=lead)], base=base)
    (batch,) = plan_batches(event)
    assert batch.due_at == expected_utc
    assert (event.programme[0].start - batch.due_at) == dt.timedelta(minutes=lead)


def test_quiet_hours_end_at_local_seven_on_a_dst_night():
    """Quiet hours end at 07:00 local time on the night clocks go back (08:00 CEST would be wrong)."""
    base = dt.datetime(2024, 10, 27, 6, 0, tzinfo=PARIS)
    event = build_event([Item("breakfast", 3600 + 300, 2 * 3600, reminder=10)], base=base, quiet_hours=True)
    (batch,) = plan_batches(event)
    assert batch.due_at == dt.datetime(2024, 10, 27, 7, 0, tzinfo=PARIS)
    assert batch.due_at.astimezone(PARIS).utcoffset() == dt.timedelta(hours=1)


def test_grace_option_caps_how_late_a_notification_may_go():
    """With a grace of 5 minutes, a reminder expires 5 minutes after it was due (or at the item's end)."""
    event = build_event([Item("a", 3600, 7200, reminder=10)])
    (default,) = plan_batches(event)
    (capped,) = plan_batches(event, PlannerOptions(grace=dt.timedelta(minutes=5)))
    assert default.expires_at == event.programme[0].end
    assert capped.expires_at == capped.due_at + dt.timedelta(minutes=5)


def test_grace_from_the_event_file_applies_to_reminders_and_meal_announcements():
    """`reminders.grace_minutes: 5`: both expire 5 minutes after they were due."""
    event = build_event(
        [Item("a", 3600, 7200, reminder=10)], [MealSpec("snack", start=7200, end=9000)], grace_minutes=5
    )
    assert PlannerOptions.for_event(event) == PlannerOptions(grace=dt.timedelta(minutes=5))
    batches = {b.subject_id: b for b in plan_batches(event)}
    assert batches["a"].kind is BatchKind.REMINDER and batches["snack"].kind is BatchKind.MEAL
    assert batches["a"].expires_at == batches["a"].due_at + dt.timedelta(minutes=5)
    assert batches["snack"].expires_at == batches["snack"].due_at + dt.timedelta(minutes=5)


def test_without_grace_in_the_file_notifications_last_until_the_item_ends():
    """No `grace_minutes`: as before, a missed notification is useful until the item (or meal) ends."""
    event = build_event([Item("a", 3600, 7200, reminder=10)], [MealSpec("snack", start=7200, end=9000)])
    assert PlannerOptions.for_event(event) == PlannerOptions()
    batches = {b.subject_id: b for b in plan_batches(event)}
    assert batches["a"].expires_at == event.programme[0].end
    assert batches["snack"].expires_at == event.meal_window(event.meals[0])[1]


def test_a_long_grace_never_runs_past_the_item_end():
    """60 minutes of grace on a 5-minute item and a 5-minute snack: they expire when those end."""
    event = build_event(
        [Item("short", 3600, 3900, reminder=1)], [MealSpec("snack", start=7200, end=7500)], grace_minutes=60
    )
    batches = {b.subject_id: b for b in plan_batches(event)}
    assert batches["short"].expires_at == event.programme[0].end
    assert batches["snack"].expires_at == event.meal_window(event.meals[0])[1]


def test_zero_grace_plans_every_notification_but_lets_none_go_late():
    """`grace_minutes: 0` still plans each batch; it expires at its due time."""
    event = build_event(
        [Item("a", 3600, 7200, reminder=10)], [MealSpec("snack", start=7200, end=9000)], grace_minutes=0
    )
    batches = plan_batches(event)
    assert {b.subject_id for b in batches} == {"a", "snack"}
    assert all(b.expires_at == b.due_at for b in batches)


@pytest.mark.parametrize(
    ("grace", "late_minutes", "sent"),
    [
        (None, 50, True),  # the item (1 hour, reminder due 10 minutes before) is not over
        (None, 75, False),  # it is over
        (5, 4, True),
        (5, 5, False),
        (5, 6, False),
        (0, 0, False),  # a batch not fanned out before its due time is late
        (0, 1, False),
        (120, 50, True),
        (120, 75, False),  # the grace is longer than what is left of the item
    ],
)
def test_a_missed_reminder_goes_out_at_start_only_within_the_grace(grace, late_minutes, sent):
    """A batch found at start `late_minutes` after its due time is sent only if it has not expired."""
    event = build_event([Item("a", 3600, 7200, reminder=10)], grace_minutes=grace)
    (batch,) = plan_batches(event)
    started_at = batch.due_at + dt.timedelta(minutes=late_minutes)
    # The store plans and fans out a batch only while `expires_at > now` (`models.programme`).
    assert (batch.expires_at > started_at) is sent


def test_grace_counts_from_the_end_of_quiet_hours():
    """A reminder held by quiet hours until 07:00 is on time at 07:00: a zero grace keeps it."""
    base = dt.datetime(2030, 1, 10, 6, 30, tzinfo=PARIS)
    items = [Item("early", 30 * 60, 90 * 60, reminder=15)]  # 07:00-08:00: due 06:45 -> 07:00
    seven = dt.datetime(2030, 1, 10, 7, 0, tzinfo=PARIS)
    (never_late,) = plan_batches(build_event(items, base=base, quiet_hours=True, grace_minutes=0))
    (five,) = plan_batches(build_event(items, base=base, quiet_hours=True, grace_minutes=5))
    assert never_late.due_at == never_late.expires_at == seven
    assert five.expires_at == seven + dt.timedelta(minutes=5)


def test_rows_of_a_batch_fanned_out_in_time_outlive_a_zero_grace():
    """Rows spread around the due time get their sending time plus an allowance, never past the end."""
    due = dt.datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    count, rate = 100, 25.6
    send_from = spread_start(due, count, rate, due - dt.timedelta(seconds=5))
    assert send_from < due
    delivered = send_from + send_span(count, rate) + DELIVERY_ALLOWANCE
    far = due + dt.timedelta(hours=1)
    assert rows_expiry(due, far, send_from, count, rate) == delivered  # grace 0
    assert delivered > due + send_span(count, rate) / 2  # the last row, sent after due, is not cut
    assert rows_expiry(due, due + dt.timedelta(seconds=10), send_from, count, rate) == due + dt.timedelta(
        seconds=10
    )
    assert rows_expiry(far, far, send_from, count, rate) == far  # no grace: until the end
    thirty = due + dt.timedelta(minutes=30)
    assert rows_expiry(thirty, far, send_from, count, rate) == thirty  # a longer grace is kept


def test_subject_end_of_each_kind_of_batch():
    """Reminders end with their item, meal announcements with their meal, change notices with their entry."""
    event = build_event(
        [Item("lunch-item", 0, 3600, kind="meal")],
        [MealSpec("lunch", item="lunch-item"), MealSpec("snack", start=7200, end=7800)],
    )
    item_end = event.programme[0].end
    snack_end = event.meal_window(event.meals[1])[1]
    assert subject_end(event, BatchKind.REMINDER, "lunch-item") == item_end
    assert subject_end(event, BatchKind.MEAL, "lunch") == item_end
    assert subject_end(event, BatchKind.MEAL, "snack") == snack_end
    assert subject_end(event, BatchKind.CHANGE, "item:lunch-item") == item_end
    assert subject_end(event, BatchKind.CHANGE, "meal:snack") == snack_end
    assert subject_end(event, BatchKind.REMINDER, "gone") is None
    assert subject_end(event, BatchKind.MEAL, "gone") is None


def test_meals_with_own_times_and_linked_meals():
    """A linked meal takes its item's start; a meal with its own times is announced at its start."""
    event = build_event(
        [Item("lunch-item", 0, 3600, kind="meal")],
        [MealSpec("lunch", item="lunch-item"), MealSpec("snack", start=7200, end=7800)],
    )
    meals = {b.subject_id: b for b in plan_batches(event) if b.kind is BatchKind.MEAL}
    assert meals["lunch"].due_at == event.programme[0].start
    assert meals["snack"].due_at == event.programme[0].start + dt.timedelta(seconds=7200)


def test_diff_finds_moves_place_changes_additions_and_removals():
    """Each changed entry is reported once, with what changed."""
    before = build_event(
        [Item("a", 0, 600), Item("b", 600, 1200), Item("c", 1200, 1800)],
        [MealSpec("snack", start=3600, end=4000)],
    )
    after = build_event(
        [Item("a", 0, 600, place=("Salle B", "Room B")), Item("b", 900, 1500), Item("d", 1800, 2400)],
        [MealSpec("snack", start=3600, end=4000)],
    )
    diff = diff_entries(entry_states(before), entry_states(after))
    changes = {c.entry: (c.time_changed, c.place_changed) for c in diff.changed}
    assert changes == {"item:a": (False, True), "item:b": (True, False)}
    assert diff.removed == ["item:c"] and diff.added == ["item:d"]
    assert diff.uniform_shift is None


def test_a_programme_moved_as_a_whole_is_a_uniform_shift():
    """Restarting a rehearsal at another moment moves everything by one offset: not a change to announce."""
    event = build_event([Item("a", 0, 600), Item("b", 600, 1200)], [MealSpec("snack", start=3600, end=4000)])
    moved = event.shifted_to(event.start + dt.timedelta(days=3, minutes=7))
    diff = diff_entries(entry_states(event), entry_states(moved))
    assert len(diff.changed) == 3
    assert diff.uniform_shift == dt.timedelta(days=3, minutes=7)


def test_fingerprint_is_stable_and_sensitive():
    """Same state, same fingerprint; another place, another one."""
    start = dt.datetime(2030, 1, 1, 12, tzinfo=UTC)
    one = EntryState(start, start + dt.timedelta(hours=1), {"fr": "A", "en": "A"})
    same = EntryState(start.astimezone(PARIS), start + dt.timedelta(hours=1), {"en": "A", "fr": "A"})
    other = EntryState(start, start + dt.timedelta(hours=1), {"fr": "B"})
    assert one.fingerprint() == same.fingerprint() != other.fingerprint()


def test_a_batch_is_spread_around_its_due_time():
    """100 messages at 29/s take 3.45 s: they start 1.72 s early, so the last is 1.72 s late."""
    due = dt.datetime(2030, 1, 1, 12, tzinfo=UTC)
    start = spread_start(due, 100, 29.0, now=due - dt.timedelta(seconds=10))
    assert (due - start).total_seconds() == pytest.approx(100 / 29 / 2)
    late = due + dt.timedelta(seconds=30)
    assert spread_start(due, 100, 29.0, now=late) == late  # after a restart: at once
    assert spread_start(due, 1, 29.0, now=due - dt.timedelta(seconds=10)) > due - dt.timedelta(seconds=0.1)


def test_fanout_happens_early_enough_for_the_spread():
    """Small batches are fanned out 5 s ahead; 1,000 recipients need half of 34.5 s plus a margin."""
    assert fanout_advance(10, 29.0) == dt.timedelta(seconds=5)
    assert fanout_advance(1000, 29.0).total_seconds() == pytest.approx(1000 / 29 / 2 + 2)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["demain"], dt.date(2017, 11, 4)),
        (["tomorrow"], dt.date(2017, 11, 4)),
        (["aujourd'hui"], dt.date(2017, 11, 3)),
        (["après-demain"], dt.date(2017, 11, 5)),
        (["hier"], dt.date(2017, 11, 2)),
        (["Samedi"], dt.date(2017, 11, 4)),
        (["friday"], dt.date(2017, 11, 3)),
        (["4/11"], dt.date(2017, 11, 4)),
        (["04.11.2017"], dt.date(2017, 11, 4)),
        (["2017-11-04"], dt.date(2017, 11, 4)),
        (["4"], dt.date(2017, 11, 4)),
        (["n'importe", "quoi"], None),
        (["31/02"], None),
    ],
)
def test_parse_day(bundled, words, expected):
    """`/programme demain`, weekday names, dates and day numbers."""
    assert parse_day(words, bundled, dt.date(2017, 11, 3)) == expected
