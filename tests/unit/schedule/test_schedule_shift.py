"""Rehearsal mode: `EventConfig.shifted_to` moves the whole event, also across a DST change.

Chosen semantics: every datetime moves by the same *real elapsed* time, so durations and gaps are
kept exactly. When the shift crosses a DST change, wall-clock times after the change differ from the
original ones by the DST offset (an item at 20:00 can show at 19:00).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from schedule.config import EventConfig

PARIS = ZoneInfo("Europe/Paris")
# Saturday before the last Sunday of October 2024: Paris leaves summer time on Sunday at 03:00.
BEFORE_FALL_BACK = dt.datetime(2024, 10, 26, 16, 30, tzinfo=PARIS)


def _offsets(config: EventConfig) -> list[tuple[dt.timedelta, dt.timedelta]]:
    """(start - event start, duration) of each item, in real elapsed time."""
    return [(item.start - config.start, item.end - item.start) for item in config.programme]


@pytest.mark.parametrize(
    "target",
    [
        dt.datetime(2030, 1, 10, 9, 0, tzinfo=PARIS),
        BEFORE_FALL_BACK,
        dt.datetime(2024, 3, 30, 16, 30, tzinfo=PARIS),  # spring forward on Sunday 31 March
        dt.datetime(2024, 10, 26, 14, 30, tzinfo=dt.UTC),
    ],
)
def test_shift_keeps_elapsed_durations(event, target):
    """The first item starts at the target and every start offset and duration is unchanged."""
    shifted = event.shifted_to(target)
    assert shifted.start == target
    assert _offsets(shifted) == _offsets(event)
    for item in shifted.programme:
        assert item.start.utcoffset() == item.start.astimezone(PARIS).utcoffset()


def test_shifted_times_subtract_as_elapsed_time(event):
    """Shifted times use fixed offsets, so an item spanning the DST change keeps its real length."""
    night = event.model_copy(
        update={
            "programme": [
                event.programme[0].model_copy(
                    update={
                        "start": dt.datetime(2017, 11, 3, 22, 0, tzinfo=PARIS).astimezone(dt.UTC),
                        "end": dt.datetime(2017, 11, 4, 6, 0, tzinfo=PARIS).astimezone(dt.UTC),
                    }
                ),
            ]
        }
    )
    shifted = night.shifted_to(dt.datetime(2024, 10, 26, 22, 0, tzinfo=PARIS))
    item = shifted.programme[0]
    assert item.end - item.start == dt.timedelta(hours=8)
    assert item.end.isoformat() == "2024-10-27T05:00:00+01:00"


def test_shift_across_fall_back_moves_wall_clock(event):
    """Crossing the October DST change keeps elapsed time, so later items show one hour earlier."""
    shifted = event.shifted_to(BEFORE_FALL_BACK)
    first, cocktail = shifted.item("fri-welcome"), shifted.item("sat-cocktail")
    assert first is not None and cocktail is not None
    assert first.start.isoformat() == "2024-10-26T16:30:00+02:00"
    assert cocktail.start.isoformat() == "2024-10-27T19:00:00+01:00"
    assert cocktail.end - cocktail.start == dt.timedelta(hours=2)
    assert shifted.days() == [dt.date(2024, 10, 26), dt.date(2024, 10, 27)]


def test_shift_moves_meals_and_team_picking(raw):
    """Meals with their own times and explicit team-picking times move with the programme."""
    raw["meals"].append(
        {
            "id": "snack",
            "name": {"fr": "Goûter"},
            "start": "2017-11-04T16:00:00+01:00",
            "end": "2017-11-04T16:30:00+01:00",
        }
    )
    raw["team_picking"] = {"opens_at": "2017-11-03T18:00:00+01:00", "closes_at": "2017-11-04T12:00:00+01:00"}
    config = EventConfig.model_validate(raw)
    shifted = config.shifted_to(BEFORE_FALL_BACK)
    delta = shifted.start - config.start
    snack, shifted_snack = config.meal("snack"), shifted.meal("snack")
    assert snack is not None and shifted_snack is not None
    assert shifted.meal_window(shifted_snack) == tuple(t + delta for t in config.meal_window(snack))
    assert shifted.team_picking_window == tuple(t + delta for t in config.team_picking_window)
    lunch = shifted.meal("lunch")
    assert lunch is not None
    assert shifted.meal_window(lunch)[0] == shifted.item("sat-lunch").start  # type: ignore[union-attr]


def test_shift_is_a_valid_independent_copy(event):
    """The shifted config passes validation again and the original is untouched."""
    original_start = event.start
    shifted = event.shifted_to(BEFORE_FALL_BACK)
    assert EventConfig.model_validate(shifted.model_dump(by_alias=True)) == shifted
    assert event.start == original_start
    assert shifted.challenges == event.challenges
    assert shifted.challenges[0] is not event.challenges[0]


def test_shift_needs_an_aware_start(event):
    """A naive start is refused: it would be ambiguous."""
    with pytest.raises(ValueError, match="timezone-aware"):
        event.shifted_to(dt.datetime(2024, 10, 26, 16, 30))  # noqa: DTZ001
