"""Event configuration: the pydantic models behind an `events/<event>.yaml` file.

Everything a reuser changes for their own hackathon lives here: venue, programme, meals, challenges,
registration roles, FAQ, staff chat, privacy notice, reminder and quiet-hour settings.

Models are frozen and forbid unknown keys so a typo in the YAML is an error, not a silent default.
Checks that need the whole file (unknown references, overlaps, offsets that do not match the event's
timezone, missing default-language texts) run in `EventConfig`'s validator; they raise `ConfigCheckError`,
which carries one (relative path, message) pair per problem so `schedule.loader.format_errors` can print
`programme[3].audience: unknown challenge 'x'` instead of a single blob.

Datetimes are timezone-aware as written in the file (an offset such as `+01:00`); use
`EventConfig.local()` to show them in the event's timezone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
"""Ids: lowercase letters, digits and dashes (they end up in callback data and commands)."""

CHALLENGE_ID_MAX = 20
"""Challenge ids go into 64-byte callback data together with a prefix and other ids."""

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=32)]
ChallengeId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=CHALLENGE_ID_MAX)]
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
LanguageCode = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

ItemKind = Literal["plenary", "work", "meal", "social", "team-formation", "other"]
AUDIENCE_ALL = "all"

Loc = tuple[str | int, ...]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ConfigCheckError(ValueError):
    """Several cross-field problems, each with a path relative to the model that raised it."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        """Keep the problems; the plain message lists them for readers of a raw ValidationError."""
        super().__init__("; ".join(f"{dotted_path(loc)}: {msg}" if loc else msg for loc, msg in problems))
        self.problems = problems


def dotted_path(loc: Loc) -> str:
    """Render a location tuple as `a[2].b` (how error messages name a place in the YAML file)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _raise_if(problems: list[tuple[Loc, str]]) -> None:
    if problems:
        raise ConfigCheckError(problems)


def _fmt_offset(offset: dt.timedelta | None) -> str:
    if offset is None:
        return "none"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class LocalizedText(RootModel[dict[LanguageCode, NonEmptyStr]]):
    """A text in several languages, written in YAML as `{fr: "...", en: "..."}`."""

    model_config = ConfigDict(frozen=True)

    def get(self, lang: str, default_lang: str) -> str:
        """Return the text in `lang`, else in `default_lang`, else in any language, else ''."""
        if lang in self.root:
            return self.root[lang]
        if default_lang in self.root:
            return self.root[default_lang]
        return next(iter(self.root.values()), "")

    @property
    def languages(self) -> frozenset[str]:
        """Languages this text is written in."""
        return frozenset(self.root)

    @field_validator("root")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("needs at least one language")
        return value


class Organiser(BaseModel):
    """Who runs the event (shown in /about and the privacy notice)."""

    model_config = _STRICT

    name: NonEmptyStr
    website: str | None = None
    email: str | None = None
    phone: str | None = None


class Venue(BaseModel):
    """Where the event takes place; latitude/longitude let the bot send a map pin."""

    model_config = _STRICT

    name: NonEmptyStr
    address: NonEmptyStr
    map_url: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    directions: LocalizedText | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ConfigCheckError(
                [
                    (
                        ("longitude" if self.longitude is None else "latitude",),
                        "give both latitude and longitude, or neither",
                    )
                ]
            )
        return self


class ProgrammeItem(BaseModel):
    """One slot of the programme (talk, work session, meal, ...)."""

    model_config = _STRICT

    id: Slug
    start: AwareDatetime
    end: AwareDatetime
    kind: ItemKind
    title: LocalizedText
    description: LocalizedText | None = None
    place: LocalizedText | None = None
    audience: str = AUDIENCE_ALL
    """`all`, or the id of the challenge whose team this item is for (parallel items may overlap)."""
    reminder_minutes: int | None = Field(default=None, ge=0)
    """Overrides the per-kind reminder lead time; 0 means no reminder for this item."""
    opens_team_picking: bool = False

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ConfigCheckError([(("end",), "must be after start")])
        return self

    @property
    def duration(self) -> dt.timedelta:
        """Real elapsed time between start and end."""
        return self.end - self.start

    def is_for(self, challenge_id: str | None) -> bool:
        """Whether a participant of `challenge_id` (None: no challenge yet) should see this item."""
        return self.audience == AUDIENCE_ALL or self.audience == challenge_id


class DietaryOption(BaseModel):
    """A diet the catering can serve (asked at registration, shown with meals)."""

    model_config = _STRICT

    id: Slug
    label: LocalizedText


class Meal(BaseModel):
    """A meal: either linked to a programme item (`item`) or with its own `start`/`end`."""

    model_config = _STRICT

    id: Slug
    name: LocalizedText
    item: Slug | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    place: LocalizedText | None = None
    menu: LocalizedText | None = None
    dietary_options: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _item_or_times(self) -> Self:
        has_times = self.start is not None or self.end is not None
        if self.item is not None and has_times:
            raise ConfigCheckError([(("item",), "give either item or start/end, not both")])
        if self.item is None:
            if self.start is None or self.end is None:
                missing = "start" if self.start is None else "end"
                raise ConfigCheckError([((missing,), "is required when the meal has no item")])
            if self.end <= self.start:
                raise ConfigCheckError([(("end",), "must be after start")])
        return self


class Facilitator(BaseModel):
    """A person who looks after a challenge's teams."""

    model_config = _STRICT

    name: NonEmptyStr
    telegram_id: int | None = Field(default=None, gt=0)
    username: str | None = None

    @field_validator("username")
    @classmethod
    def _strip_at(cls, value: str | None) -> str | None:
        return value.lstrip("@") if value else value


class Mentor(Facilitator):
    """A facilitator who helps several challenges (`challenges` empty: all of them)."""

    challenges: list[ChallengeId] = Field(default_factory=list)


class Challenge(BaseModel):
    """A technical challenge teams pick during team formation."""

    model_config = _STRICT

    id: ChallengeId
    title: LocalizedText
    pitch: LocalizedText
    capacity: int = Field(gt=0)
    facilitators: list[Facilitator] = Field(default_factory=list)
    place: LocalizedText | None = None
    example: bool = False
    """True for invented challenges in a sample file; the bot may label them."""

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == AUDIENCE_ALL:
            raise ValueError(f"'{AUDIENCE_ALL}' is reserved (it means every participant)")
        return value


class Role(BaseModel):
    """A role a participant can pick at registration."""

    model_config = _STRICT

    id: Slug
    label: LocalizedText


class FaqEntry(BaseModel):
    """A question and its answer, shown by /faq and given when a typed question matches it.

    `keywords` (any language, accents and case ignored) are words that, found in a message typed
    to the bot, point at this entry ("toilettes", "wc"); see `models.faq`.
    """

    model_config = _STRICT

    id: Slug
    question: LocalizedText
    answer: LocalizedText
    keywords: list[NonEmptyStr] = Field(default_factory=list)


class PrivacySettings(BaseModel):
    """What the privacy notice says and how long personal data is kept."""

    model_config = _STRICT

    version: NonEmptyStr
    """Change it when the notice changes: participants are asked to accept the new version."""
    retention_days: int = Field(ge=0)
    """Personal data is deleted this many days after the end of the event."""
    contact: NonEmptyStr
    controller: NonEmptyStr | None = None
    notice_url: str | None = None
    extra: LocalizedText | None = None


class ReminderSettings(BaseModel):
    """Minutes before an item's start at which participants are reminded, per kind (0: none).

    `grace_minutes` also covers meal announcements: both are the programme's timed notifications.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enabled: bool = True
    plenary: int = Field(default=15, ge=0)
    work: int = Field(default=10, ge=0)
    meal: int = Field(default=5, ge=0)
    social: int = Field(default=10, ge=0)
    team_formation: int = Field(default=15, ge=0, alias="team-formation")
    other: int = Field(default=10, ge=0)
    grace_minutes: int | None = Field(default=None, ge=0)
    """How late a reminder or meal announcement missed while the bot was down may still go out, in
    minutes after its due time; never after the item (or meal) ends. None: until it ends; 0: never late."""

    def for_item(self, item: ProgrammeItem) -> int | None:
        """Lead time in minutes for `item` (its own override first), None when it gets no reminder."""
        if not self.enabled:
            return None
        minutes = item.reminder_minutes
        if minutes is None:
            minutes = self.team_formation if item.kind == "team-formation" else getattr(self, item.kind)
        return minutes or None


class QuietHours(BaseModel):
    """Hours (event time) during which non-urgent messages wait; may wrap midnight (23:00-07:00)."""

    model_config = _STRICT

    enabled: bool = True
    start: dt.time = dt.time(23, 0)
    end: dt.time = dt.time(7, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _yaml_sexagesimal(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 23:00 as the base-60 integer 1380 (but 07:00 as a string).
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return dt.time(value // 60, value % 60)
        return value

    def contains(self, at: dt.datetime, tz: ZoneInfo) -> bool:
        """Whether the instant `at` falls in quiet hours in timezone `tz`."""
        if not self.enabled or self.start == self.end:
            return False
        local = at.astimezone(tz).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
        """`at` itself outside quiet hours, else the instant quiet hours end (in `tz`)."""
        if not self.contains(at, tz):
            return at
        local = at.astimezone(tz)
        day = local.date()
        if local.time().replace(tzinfo=None) >= self.end:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, self.end, tzinfo=tz)


class SurveyChoice(BaseModel):
    """One answer offered by a choice question of the satisfaction survey."""

    model_config = _STRICT

    id: Slug
    label: LocalizedText


SurveyKind = Literal["scale", "choice", "text"]
"""`scale`: 1 to 5 buttons; `choice`: one of `choices`; `text`: a free comment (quotable if allowed)."""


class SurveyQuestion(BaseModel):
    """One question of the satisfaction survey, asked in its own message."""

    model_config = _STRICT

    id: Slug
    kind: SurveyKind
    text: LocalizedText
    choices: list[SurveyChoice] = Field(default_factory=list)
    optional: bool = False

    @model_validator(mode="after")
    def _choices_fit_kind(self) -> Self:
        if self.kind == "choice" and len(self.choices) < 2:
            raise ConfigCheckError([(("choices",), "a choice question needs at least two choices")])
        if self.kind != "choice" and self.choices:
            raise ConfigCheckError([(("choices",), f"a {self.kind} question has no choices")])
        if len({choice.id for choice in self.choices}) != len(self.choices):
            raise ConfigCheckError([(("choices",), "a choice id is listed twice")])
        return self

    def choice(self, choice_id: str) -> SurveyChoice | None:
        """The choice with this id, if the question offers it."""
        return next((c for c in self.choices if c.id == choice_id), None)


ProfileKind = Literal["choice", "text"]


class ProfileQuestion(BaseModel):
    """An optional question asked once registration is complete ("which centre do you come from?").

    Funders ask for such figures; the answer is always skippable, shown by /mydata, erased by
    /forget, and counted in the impact report (small groups merged, so nobody stands out).
    """

    model_config = _STRICT

    id: Slug
    kind: ProfileKind
    text: LocalizedText
    choices: list[SurveyChoice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _choices_fit_kind(self) -> Self:
        if self.kind == "choice" and len(self.choices) < 2:
            raise ConfigCheckError([(("choices",), "a choice question needs at least two choices")])
        if self.kind == "text" and self.choices:
            raise ConfigCheckError([(("choices",), "a text question has no choices")])
        if len({choice.id for choice in self.choices}) != len(self.choices):
            raise ConfigCheckError([(("choices",), "a choice id is listed twice")])
        return self

    def choice(self, choice_id: str) -> SurveyChoice | None:
        """The choice with this id, if the question offers it."""
        return next((c for c in self.choices if c.id == choice_id), None)


class SurveySettings(BaseModel):
    """The satisfaction survey sent after the event (moved out of quiet hours)."""

    model_config = _STRICT

    send_after_minutes: int = Field(default=900, ge=0)
    """Minutes after the end of the event (900: the morning after an event ending at 18:00)."""
    reminder_after_minutes: int = Field(default=1440, gt=0)
    """Minutes after the survey was sent at which those who have not answered are reminded once."""
    open_days: int = Field(default=7, gt=0)
    """Answers are accepted for this many days after the survey was sent."""
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [question.id for question in self.questions]
        problems: list[tuple[Loc, str]] = [
            (("questions", index, "id"), f"duplicate id '{qid}'")
            for index, qid in enumerate(ids)
            if qid in ids[:index]
        ]
        _raise_if(problems)
        return self

    def question(self, question_id: str) -> SurveyQuestion | None:
        """The question with this id, if any."""
        return next((q for q in self.questions if q.id == question_id), None)


class TeamPicking(BaseModel):
    """When participants may pick or change their challenge (defaults: see `EventConfig`)."""

    model_config = _STRICT

    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    allow_changes: bool = True


class ExpectedParticipants(BaseModel):
    """Expected attendance, for planning (not enforced)."""

    model_config = _STRICT

    min: int = Field(ge=0)
    max: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max < self.min:
            raise ConfigCheckError([(("max",), "must be >= min")])
        return self


class ResultsCriterion(BaseModel):
    """One criterion of the evening: peer feedback rates it 1-5, the jury scores it 1-10 with a weight."""

    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=12)]
    label: LocalizedText
    weight: float = Field(default=1.0, gt=0, le=100)


class ResultsSettings(BaseModel):
    """The results evening (`results:` in the event file): submissions, feedback, jury, public vote.

    Without the section the evening has no deadline, no criteria and no jury: commands say so.
    """

    model_config = _STRICT

    item: Slug | None = None
    deadline_item: Slug | None = None
    reminder_minutes: int = Field(default=60, ge=0)
    feedback_criteria: list[ResultsCriterion] = Field(default_factory=list, max_length=6)
    jury_criteria: list[ResultsCriterion] = Field(default_factory=list, max_length=6)
    jurors: list[int] = Field(default_factory=list)
    normalisation: Literal["none", "zscore", "minmax"] = "zscore"
    public_vote: bool = False
    publish: Literal["ranking", "prizes"] = "ranking"
    prizes: int = Field(default=3, ge=1, le=20)

    @field_validator("jurors")
    @classmethod
    def _positive_jurors(cls, value: list[int]) -> list[int]:
        if any(user_id <= 0 for user_id in value) or len(set(value)) != len(value):
            raise ValueError("jurors are distinct Telegram user ids (positive numbers)")
        return value

    @model_validator(mode="after")
    def _unique_criteria(self) -> Self:
        for name in ("feedback_criteria", "jury_criteria"):
            ids = [c.id for c in getattr(self, name)]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name}: a criterion id is listed twice")
        return self


class ArrivalSettings(BaseModel):
    """Arrival at the venue (`arrival:` in the event file): the welcome desk, the poster, badges.

    Without the section, organisers alone scan badges, there is no self check-in, and the days are
    the days of the programme.
    """

    model_config = _STRICT

    desk_volunteers: list[int] = Field(default_factory=list)
    """Telegram user ids of the people at the welcome desk (organisers may scan too)."""
    self_check_in: bool = False
    """Whether a poster at the entrance lets registered people check themselves in."""
    days: list[dt.date] = Field(default_factory=list)
    """Days people check in (event timezone); empty: the days of the programme."""
    check_out_at: dt.time = dt.time(23, 30)
    """Everyone still present is checked out at this local time (before 06:00: the night after)."""
    badge_message_at: dt.time = dt.time(18, 0)
    """The day before the first day, at this local time, everyone is sent their badge."""

    @field_validator("desk_volunteers")
    @classmethod
    def _positive_desk_ids(cls, value: list[int]) -> list[int]:
        if any(user_id <= 0 for user_id in value):
            raise ValueError("Telegram user ids are positive numbers")
        return value

    def is_desk(self, user_id: int, organisers: list[int]) -> bool:
        """Whether this Telegram user may check people in (desk volunteers and organisers)."""
        return user_id in self.desk_volunteers or user_id in organisers


class EventConfig(BaseModel):
    """A whole event, as read from `events/<event>.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Slug
    name: LocalizedText
    tagline: LocalizedText | None = None
    organiser: Organiser
    website: str | None = None
    venue: Venue
    timezone: str
    languages: list[LanguageCode] = Field(min_length=1)
    default_language_: LanguageCode | None = Field(default=None, alias="default_language")
    expected_participants: ExpectedParticipants | None = None
    programme: list[ProgrammeItem] = Field(min_length=1)
    dietary_options: list[DietaryOption] = Field(default_factory=list)
    meals: list[Meal] = Field(default_factory=list)
    challenges: list[Challenge] = Field(min_length=1, max_length=20)
    mentors: list[Mentor] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    faq: list[FaqEntry] = Field(default_factory=list)
    staff_chat_id: int | None = None
    organisers: list[int] = Field(default_factory=list)
    privacy: PrivacySettings
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    team_picking: TeamPicking = Field(default_factory=TeamPicking)
    question_escalation_minutes: int = Field(default=10, gt=0)
    survey: SurveySettings | None = None
    """The satisfaction survey sent after the event; None: no survey."""
    profile_questions: list[ProfileQuestion] = Field(default_factory=list, max_length=5)
    """Optional questions asked after registration (funders' figures), each skippable."""
    results: ResultsSettings = Field(default_factory=ResultsSettings)
    arrival: ArrivalSettings = Field(default_factory=ArrivalSettings)

    # ---- field-level checks -------------------------------------------------------------------

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}' (use a name like Europe/Paris)") from None
        return value

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @field_validator("organisers")
    @classmethod
    def _positive_user_ids(cls, value: list[int]) -> list[int]:
        if any(user_id <= 0 for user_id in value):
            raise ValueError("Telegram user ids are positive numbers")
        return value

    # ---- whole-file checks --------------------------------------------------------------------

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[tuple[Loc, str]] = []
        if self.default_language not in self.languages:
            # Checking every text against a wrong default language would bury this one line.
            problems.append((("default_language",), f"'{self.default_language}' is not in languages"))
        else:
            problems += self._text_problems()
        problems += self._duplicate_ids()
        problems += self._reference_problems()
        problems += self._overlaps()
        problems += self._offset_problems()
        problems += self._team_picking_problems()
        problems += self._results_problems()
        _raise_if(problems)
        return self

    def _duplicate_ids(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        sections: dict[str, list[str]] = {
            "programme": [i.id for i in self.programme],
            "challenges": [c.id for c in self.challenges],
            "profile_questions": [q.id for q in self.profile_questions],
            "meals": [m.id for m in self.meals],
            "roles": [r.id for r in self.roles],
            "faq": [f.id for f in self.faq],
            "dietary_options": [d.id for d in self.dietary_options],
        }
        for section, ids in sections.items():
            seen: set[str] = set()
            for index, item_id in enumerate(ids):
                if item_id in seen:
                    problems.append(((section, index, "id"), f"duplicate id '{item_id}'"))
                seen.add(item_id)
        return problems

    def _reference_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        challenge_ids = {c.id for c in self.challenges}
        item_ids = {i.id for i in self.programme}
        diet_ids = {d.id for d in self.dietary_options}
        for index, item in enumerate(self.programme):
            if item.audience != AUDIENCE_ALL and item.audience not in challenge_ids:
                problems.append(
                    (
                        ("programme", index, "audience"),
                        f"unknown challenge '{item.audience}' (use 'all' or a challenge id)",
                    )
                )
        for index, mentor in enumerate(self.mentors):
            for j, challenge_id in enumerate(mentor.challenges):
                if challenge_id not in challenge_ids:
                    problems.append(
                        (("mentors", index, "challenges", j), f"unknown challenge '{challenge_id}'")
                    )
        for index, meal in enumerate(self.meals):
            if meal.item is not None and meal.item not in item_ids:
                problems.append((("meals", index, "item"), f"unknown programme item '{meal.item}'"))
            for j, diet in enumerate(meal.dietary_options):
                if diet not in diet_ids:
                    problems.append(
                        (
                            ("meals", index, "dietary_options", j),
                            f"unknown dietary option '{diet}' (declare it under dietary_options)",
                        )
                    )
        return problems

    def _overlaps(self) -> list[tuple[Loc, str]]:
        # Only items for everyone must not overlap; a challenge's own items may run alongside them.
        shared = sorted(
            ((index, item) for index, item in enumerate(self.programme) if item.audience == AUDIENCE_ALL),
            key=lambda pair: (pair[1].start, pair[1].end),
        )
        problems: list[tuple[Loc, str]] = []
        latest: tuple[int, ProgrammeItem] | None = None
        for index, item in shared:
            if latest is not None and item.start < latest[1].end:
                problems.append(
                    (
                        ("programme", index, "start"),
                        f"overlaps '{latest[1].id}' (programme[{latest[0]}]), which ends at "
                        f"{self.local(latest[1].end):%Y-%m-%d %H:%M}",
                    )
                )
            if latest is None or item.end > latest[1].end:
                latest = (index, item)
        return problems

    def _offset_problems(self) -> list[tuple[Loc, str]]:
        # A summer offset (+02:00) pasted into a winter date is the classic mistake: catch it.
        problems: list[tuple[Loc, str]] = []
        for loc, value in self._datetimes():
            offset = value.utcoffset()
            expected = value.astimezone(self.tz).utcoffset()
            if offset != expected and offset != dt.timedelta(0):
                problems.append(
                    (
                        loc,
                        f"offset {_fmt_offset(offset)} does not match {self.timezone} "
                        f"on that date (expected {_fmt_offset(expected)}, or Z for UTC)",
                    )
                )
        return problems

    def _text_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        known = set(self.languages)
        for loc, text in _localized_texts(self, ()):
            if self.default_language not in text.root:
                problems.append((loc, f"missing the default language '{self.default_language}'"))
            problems += [
                ((*loc, lang), f"'{lang}' is not in languages {self.languages}")
                for lang in text.root
                if lang not in known
            ]
        return problems

    def _team_picking_problems(self) -> list[tuple[Loc, str]]:
        opens, closes = self.team_picking_window
        if closes <= opens:
            where = "closes_at" if self.team_picking.closes_at is not None else "opens_at"
            return [(("team_picking", where), "team picking must close after it opens")]
        return []

    def _results_problems(self) -> list[tuple[Loc, str]]:
        item_ids = {i.id for i in self.programme}
        return [
            (("results", name), f"unknown programme item '{value}'")
            for name in ("item", "deadline_item")
            if (value := getattr(self.results, name)) is not None and value not in item_ids
        ]

    def _datetimes(self) -> Iterator[tuple[Loc, dt.datetime]]:
        for index, item in enumerate(self.programme):
            yield ("programme", index, "start"), item.start
            yield ("programme", index, "end"), item.end
        for index, meal in enumerate(self.meals):
            if meal.start is not None:
                yield ("meals", index, "start"), meal.start
            if meal.end is not None:
                yield ("meals", index, "end"), meal.end
        if self.team_picking.opens_at is not None:
            yield ("team_picking", "opens_at"), self.team_picking.opens_at
        if self.team_picking.closes_at is not None:
            yield ("team_picking", "closes_at"), self.team_picking.closes_at

    # ---- accessors -----------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        """The event's timezone."""
        return ZoneInfo(self.timezone)

    @property
    def default_language(self) -> str:
        """`default_language` from the file, else the first of `languages`."""
        return self.default_language_ or self.languages[0]

    def local(self, at: dt.datetime) -> dt.datetime:
        """`at` expressed in the event's timezone."""
        return at.astimezone(self.tz)

    @property
    def start(self) -> dt.datetime:
        """Start of the first programme item."""
        return min(item.start for item in self.programme)

    @property
    def end(self) -> dt.datetime:
        """End of the last programme item."""
        return max(item.end for item in self.programme)

    @property
    def sorted_programme(self) -> list[ProgrammeItem]:
        """Programme items by start, then end, then file order."""
        return sorted(self.programme, key=lambda item: (item.start, item.end))

    def challenge(self, challenge_id: str) -> Challenge | None:
        """Return the challenge with this id, if any."""
        return next((c for c in self.challenges if c.id == challenge_id), None)

    def challenge_title(self, lang: str, challenge_id: str, stored_title: str | None = None) -> str:
        """A challenge's title in `lang`.

        For a challenge removed from the file: the title last seen there (kept in the database),
        else its id.
        """
        challenge = self.challenge(challenge_id)
        if challenge is not None:
            return challenge.title.get(lang, self.default_language)
        return stored_title or challenge_id

    @property
    def submission_deadline(self) -> dt.datetime | None:
        """When team submissions close (the start of `results.deadline_item`, else of `results.item`)."""
        item_id = self.results.deadline_item or self.results.item
        item = self.item(item_id) if item_id else None
        return item.start if item is not None else None

    def is_juror(self, user_id: int) -> bool:
        """Whether this Telegram user is on the jury of the results evening."""
        return user_id in self.results.jurors

    def role_label(self, lang: str, role_id: str) -> str | None:
        """The role's label in `lang`, or None if the event does not (or no longer) offer it."""
        role = self.role(role_id)
        return role.label.get(lang, self.default_language) if role is not None else None

    def item(self, item_id: str) -> ProgrammeItem | None:
        """Return the programme item with this id, if any."""
        return next((i for i in self.programme if i.id == item_id), None)

    def meal(self, meal_id: str) -> Meal | None:
        """Return the meal with this id, if any."""
        return next((m for m in self.meals if m.id == meal_id), None)

    def meal_for_item(self, item_id: str) -> Meal | None:
        """Return the meal linked to a programme item, if any."""
        return next((m for m in self.meals if m.item == item_id), None)

    def meal_window(self, meal: Meal) -> tuple[dt.datetime, dt.datetime]:
        """Start and end of a meal (its own times, or its programme item's)."""
        if meal.start is not None and meal.end is not None:
            return meal.start, meal.end
        item = self.item(meal.item or "")
        if item is None:  # pragma: no cover - prevented by validation
            raise KeyError(meal.item)
        return item.start, item.end

    def role(self, role_id: str) -> Role | None:
        """Return the registration role with this id, if any."""
        return next((r for r in self.roles if r.id == role_id), None)

    def faq_entry(self, entry_id: str) -> FaqEntry | None:
        """Return the FAQ entry with this id, if any."""
        return next((f for f in self.faq if f.id == entry_id), None)

    def dietary_option(self, option_id: str) -> DietaryOption | None:
        """Return the dietary option with this id, if any."""
        return next((d for d in self.dietary_options if d.id == option_id), None)

    def facilitators_for(self, challenge_id: str) -> list[Facilitator]:
        """Return the challenge's own facilitators, then the mentors who cover it."""
        challenge = self.challenge(challenge_id)
        own: list[Facilitator] = list(challenge.facilitators) if challenge else []
        return own + [m for m in self.mentors if not m.challenges or challenge_id in m.challenges]

    def is_organiser(self, user_id: int) -> bool:
        """Whether this Telegram user id is listed under `organisers`."""
        return user_id in self.organisers

    def arrival_days(self) -> list[dt.date]:
        """Days people check in: `arrival.days`, else the days of the programme."""
        return sorted(self.arrival.days) if self.arrival.days else self.days()

    def days(self) -> list[dt.date]:
        """Dates (event timezone) on which at least one programme item starts, in order."""
        return sorted({self.local(item.start).date() for item in self.programme})

    def items_on(self, day: dt.date) -> list[ProgrammeItem]:
        """Items starting on `day` (event timezone), in order."""
        return [item for item in self.sorted_programme if self.local(item.start).date() == day]

    def reminder_at(self, item: ProgrammeItem) -> dt.datetime | None:
        """When to remind participants of `item`, None when it gets no reminder."""
        minutes = self.reminders.for_item(item)
        return None if minutes is None else item.start - dt.timedelta(minutes=minutes)

    @property
    def team_picking_window(self) -> tuple[dt.datetime, dt.datetime]:
        """When team picking opens and closes.

        Opens at `team_picking.opens_at`, else at the first item flagged `opens_team_picking` or of kind
        `team-formation`, else at the start of the event. Closes at `team_picking.closes_at`, else at the end.
        """
        opens = self.team_picking.opens_at
        if opens is None:
            triggers = [i.start for i in self.programme if i.opens_team_picking or i.kind == "team-formation"]
            opens = min(triggers) if triggers else self.start
        closes = self.team_picking.closes_at or self.end
        return opens, closes

    def team_picking_open(self, at: dt.datetime) -> bool:
        """Whether participants may pick a challenge at instant `at`."""
        opens, closes = self.team_picking_window
        return opens <= at < closes

    @property
    def retention_until(self) -> dt.datetime:
        """When personal data must have been deleted."""
        return self.end + dt.timedelta(days=self.privacy.retention_days)

    # ---- rehearsal ----------------------------------------------------------------------------

    def shifted_to(self, start: dt.datetime) -> EventConfig:
        """Return a deep copy moved so the first programme item starts at `start` (rehearsal mode).

        Every datetime (programme, meals, team picking) moves by the same amount of *real elapsed time*,
        so durations and gaps between items are kept exactly, also across a DST change. The price: when
        the shift crosses a DST change, wall-clock times shown in the event timezone may differ by the
        DST offset from the original ones (a 16:30 item can show as 15:30).

        Results carry fixed UTC offsets (the event timezone's offset at each instant), like times read from
        the file: Python subtracts two datetimes sharing one ZoneInfo as wall-clock times, which would make
        an item spanning the DST change look an hour longer or shorter.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        delta = start.astimezone(dt.UTC) - self.start.astimezone(dt.UTC)
        tz = self.tz

        def move(value: dt.datetime) -> dt.datetime:
            # Arithmetic in UTC: adding to a ZoneInfo datetime would add wall-clock time instead.
            local = (value.astimezone(dt.UTC) + delta).astimezone(tz)
            return local.astimezone(dt.timezone(local.utcoffset() or dt.timedelta(0)))

        def move_opt(value: dt.datetime | None) -> dt.datetime | None:
            return None if value is None else move(value)

        programme = [
            i.model_copy(update={"start": move(i.start), "end": move(i.end)}) for i in self.programme
        ]
        meals = [
            m.model_copy(update={"start": move_opt(m.start), "end": move_opt(m.end)}) for m in self.meals
        ]
        team_picking = self.team_picking.model_copy(
            update={
                "opens_at": move_opt(self.team_picking.opens_at),
                "closes_at": move_opt(self.team_picking.closes_at),
            }
        )
        return self.model_copy(
            deep=True, update={"programme": programme, "meals": meals, "team_picking": team_picking}
        )


def _localized_texts(model: BaseModel, loc: Loc) -> Iterator[tuple[Loc, LocalizedText]]:
    """Every LocalizedText inside `model`, with its path as written in the YAML (aliases)."""
    for name, field in type(model).model_fields.items():
        yield from _texts_in(getattr(model, name), (*loc, field.alias or name))


def _texts_in(value: object, loc: Loc) -> Iterator[tuple[Loc, LocalizedText]]:
    if isinstance(value, LocalizedText):
        yield loc, value
    elif isinstance(value, BaseModel):
        yield from _localized_texts(value, loc)
    elif isinstance(value, list | tuple):
        for index, element in enumerate(value):
            yield from _texts_in(element, (*loc, index))
