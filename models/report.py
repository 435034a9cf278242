"""The impact report's figures: what the federation shows its funders, without a single person in it.

`gather` reads the database and returns `ReportFigures`: counts, medians, team and project names,
and only the survey comments their authors allowed to quote. Nothing else a person typed, no name,
no Telegram id. The retention purge stores these figures first (`report_snapshots`, written by
`take_snapshot`), so `figures_for` still answers once the personal data is gone: from the snapshot
when there is one, from the live tables otherwise.

Check-ins and submitted projects come from features that may not be installed: `models.arrival`
(its `present_per_day(session, event) -> dict[date, int]` if it has one, else a count of its
`CheckIn` rows per event day) and `models.results` (its `submitted_projects(session) ->
dict[str, str]`, challenge id to project name, if it has one, else the names of its submitted
`Submission` rows). Without them the report says "registered only" and leaves projects out.
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import broadcasts, meals, survey
from models import challenges as ch
from models import programme as prog
from models.base import Base
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.questions import QuestionTicket
from schedule.config import EventConfig


class ReportSnapshot(Base):
    """The report's figures as they were just before the purge (one row per event)."""

    __tablename__ = "report_snapshots"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(nullable=False)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


DELIVERY_GROUPS: dict[str, tuple[str, ...]] = {
    "announcements": (broadcasts.PURPOSE_SEND,),
    "reminders": (prog.PURPOSE_REMINDER,),
    "meals": (prog.PURPOSE_MEAL,),
    "changes": (prog.PURPOSE_CHANGE,),
    "survey": (survey.PURPOSE_INVITE, survey.PURPOSE_REMIND),
}
"""Outbox purposes shown in the report, by line (other messages are answers to people's taps)."""


@dataclass(frozen=True)
class Delivery:
    """How the messages of one kind fared."""

    group: str
    messages: int
    delivered: int
    blocked: int
    failed: int
    """Refused, expired or out of attempts."""
    not_sent: int
    """Cancelled, or still waiting."""


@dataclass(frozen=True)
class Team:
    """One challenge's team: its size and what it submitted (when results exist)."""

    challenge_id: str
    title: str
    members: int
    project: str | None = None


@dataclass(frozen=True)
class Meal:
    """One meal: how many came, by diet (diet ids from the event file; "none" for no special diet)."""

    meal_id: str
    attending: int
    not_attending: int
    no_answer: int
    diets: dict[str, int]
    allergies: int
    """How many of those coming named an allergy (the allergies themselves stay out)."""


@dataclass(frozen=True)
class Questions:
    """Questions handled: how many, and how fast the first answer came (seconds)."""

    asked: int
    answered: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class SurveyQuestion:
    """Answers to one survey question (counts per value, quotable comments)."""

    question_id: str
    kind: str
    answers: int
    counts: dict[str, int]
    quotes: list[str]
    comments: int

    @property
    def mean(self) -> float | None:
        """The average of a scale question."""
        if self.kind != "scale" or not self.answers:
            return None
        return sum(int(value) * n for value, n in self.counts.items()) / self.answers


@dataclass(frozen=True)
class Survey:
    """Who was asked and who answered, and the answers."""

    invited: int
    reminded: int
    finished: int
    questions: list[SurveyQuestion]


@dataclass(frozen=True)
class ReportFigures:
    """Everything the impact report shows, as figures."""

    event_id: str
    taken_at: datetime
    registered: int
    by_role: dict[str, int]
    by_language: dict[str, int]
    present_per_day: dict[str, int] | None
    """ISO date -> people checked in that day; None when check-in is not available."""
    teams: list[Team]
    without_team: int
    questions: Questions
    broadcasts: int
    programme_notifications: int
    deliveries: list[Delivery]
    meals: list[Meal]
    survey: Survey | None
    profile: dict[str, dict[str, int]] = field(default_factory=dict)
    """Profile question id -> answer -> count (small groups merged, see `models.profile`)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dictionary (for the snapshot)."""
        data = asdict(self)
        data["taken_at"] = self.taken_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportFigures:
        """Read back what `to_json` wrote."""
        survey_data = data.get("survey")
        return cls(
            event_id=data["event_id"],
            taken_at=datetime.fromisoformat(data["taken_at"]),
            registered=data["registered"],
            by_role=data["by_role"],
            by_language=data["by_language"],
            present_per_day=data.get("present_per_day"),
            teams=[Team(**team) for team in data["teams"]],
            without_team=data["without_team"],
            questions=Questions(**data["questions"]),
            broadcasts=data["broadcasts"],
            programme_notifications=data["programme_notifications"],
            deliveries=[Delivery(**row) for row in data["deliveries"]],
            meals=[Meal(**row) for row in data["meals"]],
            survey=None
            if survey_data is None
            else Survey(
                invited=survey_data["invited"],
                reminded=survey_data["reminded"],
                finished=survey_data["finished"],
                questions=[SurveyQuestion(**q) for q in survey_data["questions"]],
            ),
            profile=data.get("profile", {}),
        )


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0-1): a value that was actually observed."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    """The median (mean of the two middle values for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _optional(module: str, function: str) -> Any:
    """A function of a feature that may not be installed; None when it is not there."""
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(loaded, function, None)


async def _present_per_day(session: AsyncSession, event: EventConfig) -> dict[str, int] | None:
    """People checked in on each day of the event (registered and walk-ins), when check-in exists."""
    present = _optional("models.arrival", "present_per_day")
    if present is not None:
        days: dict[date, int] = await present(session, event)
        return {day.isoformat(): int(count) for day, count in sorted(days.items())}
    check_in = _optional("models.arrival", "CheckIn")
    if check_in is None:
        return None
    counted = dict(
        (day, int(n))
        for day, n in await session.execute(select(check_in.day, func.count()).group_by(check_in.day))
    )
    return {day.isoformat(): counted.get(day, 0) for day in event.days()}


async def _projects(session: AsyncSession) -> dict[str, str]:
    """Challenge id -> name of the project its team submitted, when results exist."""
    submitted = _optional("models.results", "submitted_projects")
    if submitted is not None:
        projects: dict[str, str] = await submitted(session)
        return projects
    submission = _optional("models.results", "Submission")
    if submission is None:
        return {}
    rows = await session.execute(
        select(submission.challenge_id, submission.name).where(
            submission.submitted_at.is_not(None), submission.name.is_not(None)
        )
    )
    return {str(challenge_id): str(name) for challenge_id, name in rows}


async def _questions(session: AsyncSession) -> Questions:
    rows = list(await session.execute(select(QuestionTicket.asked_at, QuestionTicket.answered_at)))
    times = [max(0.0, (answered - asked).total_seconds()) for asked, answered in rows if answered is not None]
    return Questions(
        asked=len(rows), answered=len(times), median_seconds=median(times), p90_seconds=percentile(times, 0.9)
    )


async def _deliveries(session: AsyncSession) -> list[Delivery]:
    counts: dict[str, Counter[OutboxState]] = {}
    rows = await session.execute(
        select(OutgoingMessage.purpose, OutgoingMessage.state, func.count()).group_by(
            OutgoingMessage.purpose, OutgoingMessage.state
        )
    )
    for purpose, state, n in rows:
        counts.setdefault(purpose, Counter())[OutboxState(state)] += int(n)
    figures = []
    for group, purposes in DELIVERY_GROUPS.items():
        total: Counter[OutboxState] = Counter()
        for purpose in purposes:
            total.update(counts.get(purpose, Counter()))
        figures.append(
            Delivery(
                group=group,
                messages=sum(total.values()),
                delivered=total[OutboxState.SENT],
                blocked=total[OutboxState.BLOCKED],
                failed=total[OutboxState.FAILED] + total[OutboxState.EXPIRED],
                not_sent=total[OutboxState.CANCELLED]
                + total[OutboxState.PENDING]
                + total[OutboxState.SENDING],
            )
        )
    return figures


async def _meals(session: AsyncSession, event: EventConfig) -> list[Meal]:
    figures = []
    for counts in await meals.meal_report(session, event):
        figures.append(
            Meal(
                meal_id=counts.meal_id,
                attending=counts.attending,
                not_attending=counts.not_attending,
                no_answer=counts.no_answer,
                diets=dict(counts.diets),
                allergies=len(counts.allergies),
            )
        )
    return figures


async def _teams(session: AsyncSession, event: EventConfig) -> list[Team]:
    counts = await ch.all_counts(session)
    projects = await _projects(session)
    lang = event.default_language
    return [
        Team(
            challenge_id=challenge.id,
            title=challenge.title.get(lang, lang),
            members=counts[challenge.id].members if challenge.id in counts else 0,
            project=projects.get(challenge.id),
        )
        for challenge in event.challenges
    ]


async def _survey(session: AsyncSession, event: EventConfig) -> Survey | None:
    found = await survey.results(session, event)
    if found is None:
        return None
    return Survey(
        invited=found.invited,
        reminded=found.reminded,
        finished=found.finished,
        questions=[
            SurveyQuestion(q.question_id, q.kind, q.answers, q.counts, q.quotes, q.comments)
            for q in found.questions
        ],
    )


async def _profile(session: AsyncSession, event: EventConfig) -> dict[str, dict[str, int]]:
    tally = _optional("models.profile", "tally")
    if tally is None:
        return {}
    figures: dict[str, dict[str, int]] = await tally(session, event)
    return figures


async def gather(session: AsyncSession, event: EventConfig, now: datetime) -> ReportFigures:
    """The report's figures from the live tables."""
    active = Participant.status == ParticipantStatus.ACTIVE
    by_role = {
        str(role or "none"): int(n)
        for role, n in await session.execute(
            select(Participant.role, func.count()).where(active).group_by(Participant.role)
        )
    }
    by_language = {
        str(lang): int(n)
        for lang, n in await session.execute(
            select(Participant.language, func.count()).where(active).group_by(Participant.language)
        )
    }
    broadcast_count = await session.scalar(
        select(func.count())
        .select_from(broadcasts.Broadcast)
        .where(broadcasts.Broadcast.status != broadcasts.BroadcastStatus.SCHEDULED)
    )
    notifications = await session.scalar(
        select(func.count())
        .select_from(prog.NotificationBatch)
        .where(prog.NotificationBatch.state == prog.BatchState.DONE)
    )
    return ReportFigures(
        event_id=event.id,
        taken_at=now,
        registered=sum(by_role.values()),
        by_role=dict(sorted(by_role.items())),
        by_language=dict(sorted(by_language.items())),
        present_per_day=await _present_per_day(session, event),
        teams=await _teams(session, event),
        without_team=await ch.teamless_count(session),
        questions=await _questions(session),
        broadcasts=int(broadcast_count or 0),
        programme_notifications=int(notifications or 0),
        deliveries=await _deliveries(session),
        meals=await _meals(session, event),
        survey=await _survey(session, event),
        profile=await _profile(session, event),
    )


async def snapshot(session: AsyncSession, event: EventConfig) -> ReportFigures | None:
    """The figures stored before the purge, if it ran (or started)."""
    row = await session.get(ReportSnapshot, event.id)
    return None if row is None else ReportFigures.from_json(row.figures)


async def take_snapshot(session: AsyncSession, event: EventConfig, now: datetime) -> ReportFigures:
    """Store the figures (once: a snapshot already taken is kept, the purge may have begun)."""
    kept = await snapshot(session, event)
    if kept is not None:
        return kept
    figures = await gather(session, event, now)
    session.add(ReportSnapshot(event_id=event.id, taken_at=now, figures=figures.to_json()))
    await session.flush()
    return figures


async def figures_for(session: AsyncSession, event: EventConfig, now: datetime) -> ReportFigures:
    """What the report shows: the snapshot once the purge began, the live figures before."""
    kept = await snapshot(session, event)
    return kept if kept is not None else await gather(session, event, now)
