"""Build small event files for programme tests: the bundled event with a programme of our own.

Times are given in seconds from a base instant, so a test can lay out a programme of a minute and
rehearse it a few seconds from now (`EventConfig.shifted_to`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT

PARIS = ZoneInfo("Europe/Paris")
BASE = dt.datetime(2030, 1, 10, 9, 0, tzinfo=PARIS)
_RAW: dict[str, Any] = yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8"))
CONSENT_VERSION: str = str(_RAW["privacy"]["version"])
"""The privacy notice version of these events: participants who accepted it are not asked again."""


@dataclass(frozen=True)
class Item:
    """A programme item `start`..`end` seconds after the base instant."""

    id: str
    start: float
    end: float
    kind: str = "plenary"
    reminder: int | None = 1
    audience: str = "all"
    place: tuple[str, str] | None = ("Grande salle", "Main hall")
    title: tuple[str, str] | None = None


@dataclass(frozen=True)
class MealSpec:
    """A meal linked to an item (`item`) or with its own times in seconds from the base."""

    id: str
    item: str | None = None
    start: float | None = None
    end: float | None = None
    place: tuple[str, str] | None = ("Espace café", "Café area")
    diets: tuple[str, ...] = ("vegetarian", "halal")


def _when(base: dt.datetime, seconds: float) -> str:
    # In UTC: adding to a ZoneInfo datetime adds wall-clock time, wrong across a DST change.
    return (base.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)).astimezone(PARIS).isoformat()


def event_data(
    items: list[Item],
    meals: list[MealSpec] = (),  # type: ignore[assignment]
    *,
    base: dt.datetime = BASE,
    quiet_hours: bool = False,
    organisers: list[int] = (),  # type: ignore[assignment]
    staff_chat_id: int | None = None,
    grace_minutes: int | None = None,
) -> dict[str, Any]:
    """Raw YAML data of the bundled event with this programme and these meals.

    `grace_minutes`: sets `reminders.grace_minutes` (left out when None, as in the bundled file).
    """
    data = copy.deepcopy(_RAW)
    data["programme"] = []
    for item in items:
        title = item.title or (f"Titre {item.id}", f"Title {item.id}")
        entry: dict[str, Any] = {
            "id": item.id,
            "start": _when(base, item.start),
            "end": _when(base, item.end),
            "kind": item.kind,
            "title": {"fr": title[0], "en": title[1]},
            "audience": item.audience,
        }
        if item.reminder is not None:
            entry["reminder_minutes"] = item.reminder
        if item.place is not None:
            entry["place"] = {"fr": item.place[0], "en": item.place[1]}
        data["programme"].append(entry)
    data["meals"] = []
    for meal in meals:
        entry = {
            "id": meal.id,
            "name": {"fr": f"Repas {meal.id}", "en": f"Meal {meal.id}"},
            "menu": {"fr": "Soupe et tarte", "en": "Soup and pie"},
            "dietary_options": list(meal.diets),
        }
        if meal.item is not None:
            entry["item"] = meal.item
        else:
            assert meal.start is not None and meal.end is not None
            entry["start"] = _when(base, meal.start)
            entry["end"] = _when(base, meal.end)
        if meal.place is not None:
            entry["place"] = {"fr": meal.place[0], "en": meal.place[1]}
        data["meals"].append(entry)
    data["quiet_hours"] = {"enabled": quiet_hours, "start": "23:00", "end": "07:00"}
    data["organisers"] = list(organisers) or [111111111]
    if staff_chat_id is not None:
        data["staff_chat_id"] = staff_chat_id
    data.pop("team_picking", None)
    # The results evening names programme items of the bundled file, which this programme replaces.
    data.pop("results", None)
    if grace_minutes is not None:
        data["reminders"] = {**data["reminders"], "grace_minutes": grace_minutes}
    return data


def build_event(items: list[Item], meals: list[MealSpec] = (), **kwargs: Any) -> EventConfig:  # type: ignore[assignment]
    """The event as a model."""
    return EventConfig.model_validate(event_data(items, meals, **kwargs))


def write_event(path: Path, data: dict[str, Any]) -> Path:
    """Write event data as YAML."""
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
