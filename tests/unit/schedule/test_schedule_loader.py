"""Loading event files: the bundled example, and one readable message per kind of mistake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from schedule.config import CHALLENGE_ID_MAX, EventConfig
from schedule.loader import BUNDLED_EVENT, ConfigError, format_errors, load_event_config

Mutation = Callable[[dict[str, Any]], None]


def test_bundled_event_loads(event):
    """The bundled example is valid and has the advertised content."""
    assert BUNDLED_EVENT.is_file()
    assert event.id == "csc-2017"
    assert event.languages == ["fr", "en"]
    assert event.default_language == "fr"
    assert event.timezone == "Europe/Paris"
    assert len(event.challenges) == 5
    assert all(c.example for c in event.challenges)
    assert {m.id for m in event.meals} == {"breakfast", "lunch", "aperitif", "closing-cocktail"}
    assert {r.id for r in event.roles} == {"resident", "volunteer", "staff", "student", "partner", "other"}
    assert 4 <= len(event.faq) <= 6
    assert [d.isoformat() for d in event.days()] == ["2017-11-03", "2017-11-04"]
    assert event.local(event.start).isoformat() == "2017-11-03T16:30:00+01:00"
    assert event.local(event.end).isoformat() == "2017-11-04T22:00:00+01:00"


def test_bundled_event_texts_cover_every_language(event):
    """Every challenge, role, meal and FAQ text of the example exists in French and English."""
    for challenge in event.challenges:
        assert challenge.title.languages == {"fr", "en"}
        assert challenge.pitch.languages == {"fr", "en"}
        assert len(challenge.id) <= CHALLENGE_ID_MAX
    for entry in event.faq:
        assert entry.question.languages == entry.answer.languages == {"fr", "en"}
    for meal in event.meals:
        assert meal.menu is not None and meal.menu.languages == {"fr", "en"}


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting `a.0.b` (dotted, list indexes as numbers) to value."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    """A mutation removing the key or list entry at `path`."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


def _append(path: str, value: Any) -> Mutation:
    """A mutation appending value to the list at `path`."""

    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for part in [int(p) if p.isdigit() else p for p in path.split(".")]:
            target = target[part]
        target.append(value)

    return mutate


def _copy_of(path: str, **changes: Any) -> Mutation:
    """A mutation appending to a list a copy of its entry at `path` with changes."""

    def mutate(data: dict[str, Any]) -> None:
        section, index = path.split(".")
        data[section].append({**data[section][int(index)], **changes})

    return mutate


ERROR_CASES: list[tuple[str, Mutation, str]] = [
    (
        "naive time",
        _set("programme.3.start", "2017-11-03T18:45:00"),
        "programme[3].start: needs a timezone offset (e.g. 2017-11-03T16:30:00+01:00)",
    ),
    (
        "date only",
        _set("programme.3.start", "2017-11-03"),
        "programme[3].start: needs a timezone offset (e.g. 2017-11-03T16:30:00+01:00)",
    ),
    (
        "reversed item",
        _set("programme.0.end", "2017-11-03T16:00:00+01:00"),
        "programme[0].end: must be after start",
    ),
    (
        "empty item",
        _set("programme.0.end", "2017-11-03T16:30:00+01:00"),
        "programme[0].end: must be after start",
    ),
    (
        "overlap",
        _set("programme.1.start", "2017-11-03T17:00:00+01:00"),
        "programme[1].start: overlaps 'fri-welcome' (programme[0]), which ends at 2017-11-03 17:15",
    ),
    (
        "summer offset in winter",
        _set("programme.0.start", "2017-11-03T16:30:00+02:00"),
        "programme[0].start: offset +02:00 does not match Europe/Paris on that date"
        " (expected +01:00, or Z for UTC)",
    ),
    (
        "duplicate programme id",
        _copy_of("programme.0", start="2017-11-05T10:00:00+01:00", end="2017-11-05T11:00:00+01:00"),
        "programme[13].id: duplicate id 'fri-welcome'",
    ),
    ("duplicate challenge id", _copy_of("challenges.0"), "challenges[5].id: duplicate id 'reservation'"),
    ("duplicate meal id", _copy_of("meals.1"), "meals[4].id: duplicate id 'breakfast'"),
    ("duplicate role id", _copy_of("roles.2"), "roles[6].id: duplicate id 'staff'"),
    (
        "unknown audience",
        _set("programme.9.audience", "nope"),
        "programme[9].audience: unknown challenge 'nope' (use 'all' or a challenge id)",
    ),
    (
        "unknown mentor challenge",
        _set("mentors.0.challenges", ["demarches", "nope"]),
        "mentors[0].challenges[1]: unknown challenge 'nope'",
    ),
    (
        "unknown meal item",
        _set("meals.2.item", "sat-brunch"),
        "meals[2].item: unknown programme item 'sat-brunch'",
    ),
    (
        "unknown diet",
        _set("meals.0.dietary_options", ["kosher"]),
        "meals[0].dietary_options[0]: unknown dietary option 'kosher' (declare it under dietary_options)",
    ),
    (
        "meal with item and times",
        _set("meals.0.start", "2017-11-03T19:45:00+01:00"),
        "meals[0].item: give either item or start/end, not both",
    ),
    ("zero capacity", _set("challenges.2.capacity", 0), "challenges[2].capacity: must be > 0"),
    ("negative capacity", _set("challenges.2.capacity", -3), "challenges[2].capacity: must be > 0"),
    ("no challenge", _set("challenges", []), "challenges: needs at least 1 entry"),
    (
        "challenge id too long",
        _set("challenges.0.id", "a" * 21),
        "challenges[0].id: must be at most 20 characters",
    ),
    (
        "challenge id not a slug",
        _set("challenges.0.id", "Réservation"),
        "challenges[0].id: must use only lowercase letters a-z, digits and '-' (e.g. my-challenge)",
    ),
    (
        "reserved challenge id",
        _set("challenges.0.id", "all"),
        "challenges[0].id: 'all' is reserved (it means every participant)",
    ),
    (
        "default language not offered",
        _set("default_language", "de"),
        "default_language: 'de' is not in languages",
    ),
    (
        "missing default-language text",
        _delete("challenges.1.title.fr"),
        "challenges[1].title: missing the default language 'fr'",
    ),
    (
        "text in an undeclared language",
        _set("roles.0.label.de", "Anwohner"),
        "roles[0].label.de: 'de' is not in languages ['fr', 'en']",
    ),
    (
        "bad language code",
        _set("languages", ["fr", "English"]),
        "languages[1]: must be a language code like fr or en",
    ),
    (
        "typo in a key",
        _set("challenges.0.capacty", 3),
        "challenges[0].capacty: unknown setting (check the spelling)",
    ),
    ("missing key", _delete("privacy.version"), "privacy.version: is required"),
    (
        "unknown timezone",
        _set("timezone", "Europe/Roubaix"),
        "timezone: unknown timezone 'Europe/Roubaix' (use a name like Europe/Paris)",
    ),
    (
        "unknown kind",
        _set("programme.0.kind", "talk"),
        "programme[0].kind: must be one of 'plenary', 'work', 'meal', 'social', 'team-formation' or 'other'",
    ),
    (
        "team picking reversed",
        _set("team_picking", {"closes_at": "2017-11-03T17:00:00+01:00"}),
        "team_picking.closes_at: team picking must close after it opens",
    ),
    ("escalation zero", _set("question_escalation_minutes", 0), "question_escalation_minutes: must be > 0"),
    ("negative grace", _set("reminders.grace_minutes", -5), "reminders.grace_minutes: must be >= 0"),
    (
        "grace not a number",
        _set("reminders.grace_minutes", "1h"),
        "reminders.grace_minutes: must be a whole number",
    ),
    ("organiser id negative", _set("organisers", [-5]), "organisers: Telegram user ids are positive numbers"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_message(raw, write_yaml, mutate, expected):
    """Each kind of mistake is reported once, with its path in the file and a plain message."""
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        load_event_config(write_yaml(raw))
    assert caught.value.errors == [expected]


def test_several_errors_are_all_reported(raw, write_yaml):
    """Independent cross-field mistakes are listed together, not one per run."""
    raw["programme"][9]["audience"] = "nope"
    raw["meals"][2]["item"] = "nope"
    with pytest.raises(ConfigError) as caught:
        load_event_config(write_yaml(raw))
    assert len(caught.value.errors) == 2
    assert "meals[2].item: unknown programme item 'nope'" in str(caught.value)


def test_parallel_challenge_items_may_overlap(raw, write_yaml):
    """Items for one challenge may overlap shared items and each other."""
    raw["programme"][10].update(audience="reservation", start="2017-11-04T15:00:00+01:00")
    config = load_event_config(write_yaml(raw))
    assert config.item("sat-test-benevolat") is not None


def test_more_than_twenty_challenges_refused(raw, write_yaml):
    """Up to 20 challenges are allowed, not more."""
    template = raw["challenges"][0]
    raw["challenges"] = [{**template, "id": f"c{n}"} for n in range(21)]
    with pytest.raises(ConfigError) as caught:
        load_event_config(write_yaml(raw))
    assert caught.value.errors == ["challenges: allows at most 20 entries"]


def test_utc_times_are_accepted(raw, write_yaml):
    """`Z` (UTC) is always a valid offset."""
    raw["programme"][0]["start"] = "2017-11-03T15:30:00Z"
    config = load_event_config(write_yaml(raw))
    assert config.local(config.programme[0].start).hour == 16


def test_unquoted_quiet_hours_are_understood(raw, write_yaml):
    """YAML reads unquoted 23:00 as a number; it still means 23:00."""
    text = write_yaml(raw).read_text(encoding="utf-8").replace("start: '23:00'", "start: 23:00")
    assert "start: 23:00" in text
    config = load_event_config(write_yaml(text))
    assert config.quiet_hours.start.hour == 23


def test_the_documented_grace_line_can_be_uncommented(write_yaml):
    """The bundled file's `# grace_minutes: 30` is valid once uncommented (it sits under `reminders`)."""
    text = BUNDLED_EVENT.read_text(encoding="utf-8")
    assert text.count("  # grace_minutes: 30\n") == 1
    config = load_event_config(write_yaml(text.replace("  # grace_minutes: 30\n", "  grace_minutes: 30\n")))
    assert config.reminders.grace_minutes == 30
    negative = text.replace("  # grace_minutes: 30\n", "  grace_minutes: -1\n")
    with pytest.raises(ConfigError) as caught:
        load_event_config(write_yaml(negative))
    assert caught.value.errors == ["reminders.grace_minutes: must be >= 0"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- a\n- b\n", "the file must be a set of `key: value` settings at the top level"),
        ("id: x\nname: {fr: x\n", "YAML syntax error at line 3, column 1"),
        ("id: x\n\tname: y\n", "YAML syntax error at line 2, column 1"),
    ],
)
def test_unreadable_files(write_yaml, text, expected):
    """Empty, non-mapping and malformed files give one clear line."""
    with pytest.raises(ConfigError) as caught:
        load_event_config(write_yaml(text))
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith(expected)


def test_missing_file(tmp_path):
    """A missing file is reported by name."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_event_config(str(path))
    assert caught.value.errors == [f"file not found: {path}"]
    assert caught.value.path == path


def test_format_errors_on_a_direct_validation(raw):
    """format_errors works on any ValidationError from the models, not only through the loader."""
    raw["challenges"][2]["capacity"] = 0
    raw["programme"][0]["start"] = "2017-11-03T16:30:00"
    with pytest.raises(ValidationError) as caught:
        EventConfig.model_validate(raw)
    assert sorted(format_errors(caught.value)) == [
        "challenges[2].capacity: must be > 0",
        "programme[0].start: needs a timezone offset (e.g. 2017-11-03T16:30:00+01:00)",
    ]
