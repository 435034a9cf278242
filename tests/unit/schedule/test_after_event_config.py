"""The event file's `survey` and `profile_questions` sections: defaults for old files, mistakes refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT

BASE: dict[str, Any] = yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8"))


def event_with(**sections: Any) -> EventConfig:
    data = copy.deepcopy(BASE)
    for key, value in sections.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return EventConfig.model_validate(data)


def question(**fields: Any) -> dict[str, Any]:
    return {"id": "q", "kind": "scale", "text": {"fr": "Alors ?", "en": "So?"}, **fields}


def test_a_file_without_the_sections_still_loads() -> None:
    """No survey, no profile questions: both optional."""
    event = event_with(survey=None, profile_questions=None)
    assert event.survey is None and event.profile_questions == []


def test_the_bundled_survey_has_every_kind() -> None:
    """Scale, choice and an optional comment, in both languages."""
    survey = event_with().survey
    assert survey is not None
    assert [q.kind for q in survey.questions] == ["scale", "scale", "choice", "text"]
    assert survey.questions[-1].optional and all(q.text.languages == {"fr", "en"} for q in survey.questions)


@pytest.mark.parametrize(
    ("survey", "problem"),
    [
        ({"questions": [question(kind="choice")]}, "at least two choices"),
        ({"questions": [question(choices=[{"id": "a", "label": {"fr": "A"}}])]}, "has no choices"),
        ({"questions": [question(), question()]}, "duplicate id 'q'"),
        ({"questions": []}, "at least 1 item"),
        ({"send_after_minutes": -1, "questions": [question()]}, "greater than or equal to 0"),
        ({"questions": [question(kind="stars")]}, "'scale', 'choice' or 'text'"),
    ],
)
def test_survey_mistakes_are_refused(survey: dict[str, Any], problem: str) -> None:
    """Each mistake names itself."""
    with pytest.raises(ValidationError, match=problem):
        event_with(survey=survey)


def test_profile_questions_are_checked() -> None:
    """A duplicate id and a choice question without choices are refused."""
    with pytest.raises(ValidationError, match="duplicate id 'q'"):
        event_with(profile_questions=[question(kind="text"), question(kind="text")])
    with pytest.raises(ValidationError, match="at least two choices"):
        event_with(profile_questions=[question(kind="choice")])
