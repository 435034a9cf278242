"""Pure planning of the programme's notifications: which batches, when, and what changed.

No database and no Telegram here: the functions take the event configuration and instants, and return
plain values. `models.programme` stores what they return; `schedule.programme` schedules and sends it.

Vocabulary
- A *batch* is one notification for a group of people: the reminder of one programme item, the
  announcement of one meal, the change notice of one moved item. At its fan-out time it becomes one
  outbox row per recipient (`models.outbox`), each with a unique dedupe key.
- A batch's *key* names the occurrence it announces (`rem:<item>:<start epoch>`), so moving an item
  gives a new batch while replanning an unchanged programme finds the same one again.
- *Entries* are the things whose time or place participants rely on: every programme item, and meals
  with their own times. Their state is kept in the database so a reload can tell what changed.

All arithmetic on instants is done in UTC: an aware datetime carrying a `ZoneInfo` subtracts as wall-clock
time, which is wrong by an hour on the night of a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schedule.config import EventConfig, Meal, ProgrammeItem

UTC = dt.UTC

MIN_FANOUT_ADVANCE = dt.timedelta(seconds=5)
"""Batches are turned into outbox rows at least this long before they are due (database work)."""

FANOUT_MARGIN = dt.timedelta(seconds=2)
"""Extra time between fan-out and the first row of a spread batch."""

DELIVERY_ALLOWANCE = dt.timedelta(minutes=1)
"""How long after its spread a batch fanned out in time may still be delivered (see `rows_expiry`)."""


class BatchKind(enum.StrEnum):
    """What a batch announces."""

    REMINDER = "reminder"  # "In 15 minutes: ..." before a programme item
    MEAL = "meal"  # "Lunch is served" at a meal's start
    CHANGE = "change"  # "Change: lunch moves to 13:00" after a reload


@dataclass(frozen=True, slots=True)
class PlannerOptions:
    """How late a missed reminder or meal announcement may still go out.

    `grace`: None (default) means "until the item (or meal) ends"; otherwise a notification is useful
    for at most this long after its due time (quiet hours applied), and never after the item ends. A
    zero grace means never late: a batch not fanned out by its due time is skipped. Change notices
    are not concerned: they correct what people were told, so they go out until the entry ends.
    """

    grace: dt.timedelta | None = None

    @classmethod
    def for_event(cls, event: EventConfig) -> PlannerOptions:
        """The options the event file asks for (`reminders.grace_minutes`)."""
        minutes = event.reminders.grace_minutes
        return cls(grace=None if minutes is None else dt.timedelta(minutes=minutes))


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """One batch the configuration calls for."""

    key: str
    kind: BatchKind
    subject_id: str
    due_at: dt.datetime  # UTC, quiet hours applied
    expires_at: dt.datetime  # UTC; past it the batch is skipped


@dataclass(frozen=True, slots=True)
class EntryState:
    """Time and place of a programme item or a meal, as participants were last told."""

    start: dt.datetime
    end: dt.datetime
    place: Mapping[str, str] | None

    def fingerprint(self) -> str:
        """A short stable digest of the state (same state, same fingerprint)."""
        raw = json.dumps(
            [_utc_iso(self.start), _utc_iso(self.end), sorted((self.place or {}).items())],
            ensure_ascii=True,
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Change:
    """An entry whose time or place differs from the stored state."""

    entry: str
    subject_id: str
    time_changed: bool
    place_changed: bool


@dataclass(frozen=True, slots=True)
class ProgrammeDiff:
    """What a new configuration changes compared with the stored entries."""

    changed: list[Change]
    removed: list[str]  # entry names
    added: list[str]  # entry names
    uniform_shift: dt.timedelta | None  # every common entry moved by this one offset, places unchanged


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC)


def _utc_iso(value: dt.datetime) -> str:
    return _utc(value).isoformat()


def epoch(value: dt.datetime) -> int:
    """Whole seconds since 1970 (UTC), used in keys."""
    return int(_utc(value).timestamp())


def reminder_key(item_id: str, start: dt.datetime) -> str:
    """Key of the reminder batch of one occurrence of an item."""
    return f"rem:{item_id}:{epoch(start)}"


def meal_key(meal_id: str, start: dt.datetime) -> str:
    """Key of the announcement batch of one occurrence of a meal."""
    return f"meal:{meal_id}:{epoch(start)}"


def change_key(entry: str, revision: int) -> str:
    """Key of the change notice for one revision of an entry (each change is told once)."""
    return f"chg:{entry}:{revision}"


def item_entry(item_id: str) -> str:
    """Entry name of a programme item."""
    return f"item:{item_id}"


def meal_entry(meal_id: str) -> str:
    """Entry name of a meal with its own times."""
    return f"meal:{meal_id}"


def allowed_time(event: EventConfig, at: dt.datetime) -> dt.datetime:
    """`at`, or the end of the quiet hours it falls in (UTC)."""
    return _utc(event.quiet_hours.next_allowed(_utc(at), event.tz))


def _expiry(end: dt.datetime, due: dt.datetime, options: PlannerOptions) -> dt.datetime:
    # From the due time after quiet hours: a reminder they hold until 07:00 is on time at 07:00.
    end, due = _utc(end), _utc(due)
    if options.grace is None or options.grace >= end - due:  # (compared first: no overflow)
        return end
    return due + options.grace


def plan_batches(event: EventConfig, options: PlannerOptions | None = None) -> list[PlannedBatch]:
    """Every reminder and meal announcement the configuration calls for, in due order.

    `options`: None takes the event file's (`PlannerOptions.for_event`). Batches that quiet hours
    push past the item's end are left out: a reminder after the item ends helps nobody.
    """
    options = options or PlannerOptions.for_event(event)
    batches: list[PlannedBatch] = []
    for item in event.programme:
        nominal = reminder_due(event, item)
        if nominal is None:
            continue
        due = allowed_time(event, nominal)
        if due < _utc(item.end):
            expires = _expiry(item.end, due, options)
            batches.append(
                PlannedBatch(reminder_key(item.id, item.start), BatchKind.REMINDER, item.id, due, expires)
            )
    for meal in event.meals:
        start, end = event.meal_window(meal)
        due = allowed_time(event, start)
        if due < _utc(end):
            expires = _expiry(end, due, options)
            batches.append(PlannedBatch(meal_key(meal.id, start), BatchKind.MEAL, meal.id, due, expires))
    return sorted(batches, key=lambda batch: (batch.due_at, batch.key))


def reminder_due(event: EventConfig, item: ProgrammeItem) -> dt.datetime | None:
    """When the reminder of `item` is due before quiet hours (UTC), None when it has none."""
    minutes = event.reminders.for_item(item)
    if minutes is None:
        return None
    return _utc(item.start) - dt.timedelta(minutes=minutes)


def _entry_end(event: EventConfig, entry: str) -> dt.datetime | None:
    kind, _, subject = entry.partition(":")
    if kind == "item":
        item = event.item(subject)
        return None if item is None else item.end
    meal = event.meal(subject)
    return None if meal is None else event.meal_window(meal)[1]


def subject_end(event: EventConfig, kind: BatchKind, subject_id: str) -> dt.datetime | None:
    """When the item or meal a batch is about ends (UTC), None if the event no longer has it."""
    if kind is BatchKind.REMINDER:
        entry = item_entry(subject_id)
    elif kind is BatchKind.MEAL:
        entry = meal_entry(subject_id)
    else:
        entry = subject_id  # a change notice names its entry
    end = _entry_end(event, entry)
    return None if end is None else _utc(end)


def rows_expiry(
    batch_expires: dt.datetime, end: dt.datetime, send_from: dt.datetime, count: int, rate: float
) -> dt.datetime:
    """When the rows of a batch fanned out now stop being worth sending (their outbox `expires_at`).

    The batch's own expiry, but at least until the rows are all out plus `DELIVERY_ALLOWANCE`: with
    a short grace (0 minutes: the batch expires at its due time) the rows spread around the due
    time must still reach everyone. Never after the item or meal ends.
    """
    delivered = _utc(send_from) + send_span(count, rate) + DELIVERY_ALLOWANCE
    return min(_utc(end), max(_utc(batch_expires), delivered))


def change_batch(event: EventConfig, change: Change, revision: int, now: dt.datetime) -> PlannedBatch | None:
    """The batch telling participants about `change`, None if it is no longer worth telling."""
    end = _entry_end(event, change.entry)
    if end is None:
        return None
    due = allowed_time(event, now)
    if due >= _utc(end):
        return None
    return PlannedBatch(change_key(change.entry, revision), BatchKind.CHANGE, change.entry, due, _utc(end))


# ---- entries and differences -----------------------------------------------------------------


def _place(item_or_meal: ProgrammeItem | Meal) -> dict[str, str] | None:
    return dict(item_or_meal.place.root) if item_or_meal.place is not None else None


def entry_states(event: EventConfig) -> dict[str, EntryState]:
    """Time and place of every programme item, and of every meal that has its own times."""
    states = {
        item_entry(item.id): EntryState(_utc(item.start), _utc(item.end), _place(item))
        for item in event.programme
    }
    for meal in event.meals:
        if meal.item is None:
            start, end = event.meal_window(meal)
            states[meal_entry(meal.id)] = EntryState(_utc(start), _utc(end), _place(meal))
    return states


def diff_entries(old: Mapping[str, EntryState], new: Mapping[str, EntryState]) -> ProgrammeDiff:
    """Compare stored entries with a new configuration's."""
    changed: list[Change] = []
    offsets: set[dt.timedelta] = set()
    places_same = True
    for entry in sorted(old.keys() & new.keys()):
        before, after = old[entry], new[entry]
        time_changed = _utc(before.start) != _utc(after.start) or _utc(before.end) != _utc(after.end)
        place_changed = dict(before.place or {}) != dict(after.place or {})
        offsets.add(_utc(after.start) - _utc(before.start))
        offsets.add(_utc(after.end) - _utc(before.end))
        places_same = places_same and not place_changed
        if time_changed or place_changed:
            changed.append(Change(entry, entry.partition(":")[2], time_changed, place_changed))
    uniform = None
    if changed and places_same and len(offsets) == 1:
        (offset,) = offsets
        uniform = offset if offset else None
    return ProgrammeDiff(
        changed=changed,
        removed=sorted(old.keys() - new.keys()),
        added=sorted(new.keys() - old.keys()),
        uniform_shift=uniform,
    )


# ---- sending a batch on time -------------------------------------------------------------------


def send_span(count: int, rate: float) -> dt.timedelta:
    """How long `count` messages take at `rate` messages a second."""
    return dt.timedelta(seconds=max(count, 0) / rate)


def fanout_advance(count: int, rate: float) -> dt.timedelta:
    """How long before its due time a batch for about `count` people is turned into outbox rows."""
    return max(MIN_FANOUT_ADVANCE, send_span(count, rate) / 2 + FANOUT_MARGIN)


def spread_start(due: dt.datetime, count: int, rate: float, now: dt.datetime) -> dt.datetime:
    """When the rows of a batch become sendable so that their deliveries are centred on `due`.

    At `rate` messages a second, `count` messages take `count / rate` seconds; starting half of that
    before the due time puts the first and the last the same distance from it (about ±1.7 s for 100
    people at 29/s). People are told "in 15 minutes" a second early rather than three seconds late.
    A batch fanned out late (after a restart) starts at once.
    """
    return max(_utc(now), _utc(due) - send_span(count, rate) / 2)


def minutes_until(start: dt.datetime, at: dt.datetime) -> int:
    """Whole minutes from `at` to `start`, rounded to the nearest (at least 1)."""
    seconds = (_utc(start) - _utc(at)).total_seconds()
    return max(1, round(seconds / 60))


# ---- which day to show -------------------------------------------------------------------------

_RELATIVE_DAYS = {
    "aujourdhui": 0,
    "auj": 0,
    "today": 0,
    "demain": 1,
    "tomorrow": 1,
    "hier": -1,
    "yesterday": -1,
    "apresdemain": 2,
}
_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("lundi", "monday", "mon", "lun"),
            ("mardi", "tuesday", "tue", "mar"),
            ("mercredi", "wednesday", "wed", "mer"),
            ("jeudi", "thursday", "thu", "jeu"),
            ("vendredi", "friday", "fri", "ven"),
            ("samedi", "saturday", "sat", "sam"),
            ("dimanche", "sunday", "sun", "dim"),
        ]
    )
    for name in names
}
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _normalise(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if ch.isalnum() or ch in "/.-")


def parse_day(words: Iterable[str], event: EventConfig, today: dt.date) -> dt.date | None:
    """The day meant by `/programme demain`, `samedi`, `4/11`, `2017-11-04`...; None if unreadable.

    Weekday names mean the event day with that weekday (else the next such day from `today`).
    """
    text = " ".join(words)
    iso = _ISO_DATE.match(text.strip())
    if iso:
        try:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    word = _normalise(text)
    # "après-demain" loses its dash and accent: "apresdemain"; "aujourd'hui" loses its apostrophe.
    word_plain = word.replace("-", "").replace("/", "").replace(".", "")
    if word_plain in _RELATIVE_DAYS:
        return today + dt.timedelta(days=_RELATIVE_DAYS[word_plain])
    if word_plain in _WEEKDAYS:
        weekday = _WEEKDAYS[word_plain]
        for day in event.days():
            if day.weekday() == weekday:
                return day
        return today + dt.timedelta(days=(weekday - today.weekday()) % 7)
    match = _DATE.match(word)
    if match:
        day_of_month, month = int(match[1]), int(match[2])
        years = [int(match[3]) + (2000 if len(match[3]) == 2 else 0)] if match[3] else None
        candidates = years or sorted({d.year for d in event.days()} | {today.year})
        for year in candidates:
            try:
                return dt.date(year, month, day_of_month)
            except ValueError:
                return None
    if word_plain.isdigit():
        number = int(word_plain)
        for day in event.days():
            if day.day == number:
                return day
    return None
