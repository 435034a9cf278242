"""The satisfaction survey sent after the event: anonymous answers, and who has been asked.

Two tables keep the promise made to participants:

- `survey_answers` holds what was answered and nothing else: no participant column, no time, and a
  random id (a sequence would let answers be matched with the order people answered in). A comment
  carries the author's choice about being quoted (`quote_allowed`);
- `survey_marks` holds, per participant (one row at most), that they were asked, reminded, where
  they are in the questions and whether they finished: so nobody is asked twice. While a comment
  waits for the "may we quote it?" answer it stays on the person's mark (a minute at most), and
  only then becomes an anonymous answer.

`survey_rounds` records that the invitation and the reminder went out (once each), with when. The
times come from the event file (`schedule_of`); `schedule.survey` runs the two rounds on time.
Domain functions take a session and plain values, queue their messages through `models.outbox`
and never commit.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import outbox
from models.base import Base
from models.participant import Participant, ParticipantStatus
from models.privacy import DataItem, Phrase, register_data_provider
from schedule.config import EventConfig, SurveyQuestion, SurveySettings

PURPOSE_INVITE = "survey"
PURPOSE_REMIND = "survey-reminder"
AWAITING_COMMENT = "survey_comment"
"""`Participant.awaiting` while the bot waits for the comment of a `text` question."""
COMMENT_MAX = 1000
SCALE_MIN, SCALE_MAX = 1, 5
START_BUTTON = "sv:go"
"""Callback data of the button under the invitation and the reminder."""


class SurveyAnswer(Base):
    """One answer to one question, linked to nobody."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint(
            f"scale IS NULL OR (scale >= {SCALE_MIN} AND scale <= {SCALE_MAX})", name="scale_1_5"
        ),
        CheckConstraint(
            "(CASE WHEN scale IS NULL THEN 0 ELSE 1 END) + (CASE WHEN choice IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN comment IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_value",
        ),
        CheckConstraint("comment IS NOT NULL OR quote_allowed IS NULL", name="quote_only_for_comments"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    question_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    scale: Mapped[int | None] = mapped_column(SmallInteger)
    choice: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    quote_allowed: Mapped[bool | None] = mapped_column(Boolean)


class SurveyMark(Base):
    """That one participant was asked (and reminded), how far they went, and when they finished."""

    __tablename__ = "survey_marks"
    __table_args__ = (CheckConstraint("next_question >= 0", name="next_question_not_negative"),)

    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    invited_at: Mapped[datetime] = mapped_column(nullable=False)
    reminded_at: Mapped[datetime | None] = mapped_column()
    next_question: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    pending_comment: Mapped[str | None] = mapped_column(Text)
    """A comment waiting for its author's "may we quote it?" (then it moves to `survey_answers`)."""
    finished_at: Mapped[datetime | None] = mapped_column()


class SurveyRound(Base):
    """One round of messages ("invite", "remind"), sent once: when, and to how many."""

    __tablename__ = "survey_rounds"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)


# ---- when ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveySchedule:
    """When the survey goes out and when those who have not answered are reminded (UTC)."""

    send_at: datetime
    remind_at: datetime


def schedule_of(event: EventConfig) -> SurveySchedule | None:
    """The survey's times from the event file, out of quiet hours; None without a survey."""
    settings = event.survey
    if settings is None:
        return None
    quiet, tz = event.quiet_hours, event.tz
    send_at = quiet.next_allowed(event.end + timedelta(minutes=settings.send_after_minutes), tz)
    remind_at = quiet.next_allowed(send_at + timedelta(minutes=settings.reminder_after_minutes), tz)
    return SurveySchedule(send_at.astimezone(UTC), remind_at.astimezone(UTC))


async def round_done(session: AsyncSession, kind: str) -> SurveyRound | None:
    """The round of this kind, once it was sent."""
    return await session.get(SurveyRound, kind)


def closes_at(invited: SurveyRound, settings: SurveySettings) -> datetime:
    """When answers stop being accepted."""
    return invited.done_at + timedelta(days=settings.open_days)


# ---- the two rounds ----------------------------------------------------------------------------------


def _invitation(
    texts: outbox.Texts, event: EventConfig, lang: str, key: str, count: int
) -> dict[str, object]:
    body = texts.text(lang, key, event=event.name.get(lang, event.default_language), count=count)
    return outbox.text_message(body, [[(texts.label(lang, "survey.start_button"), START_BUTTON)]])


async def invite(session: AsyncSession, event: EventConfig, texts: outbox.Texts, now: datetime) -> int:
    """Send the survey, once, to everyone registered by the end of the event; returns how many.

    Someone who registered after the end did not take part (and a database reused after the event,
    for a rehearsal, sends nothing to its newcomers).
    """
    if event.survey is None or await round_done(session, "invite") is not None:
        return 0
    times = schedule_of(event)
    assert times is not None
    if now >= times.send_at + timedelta(days=event.survey.open_days) or now >= event.retention_until:
        # The bot was down for the whole answering window: asking now would be out of place.
        session.add(SurveyRound(kind="invite", done_at=now, recipients=0))
        return 0
    people = list(
        await session.execute(
            select(Participant.id, Participant.telegram_id, Participant.language)
            .where(Participant.status == ParticipantStatus.ACTIVE, Participant.registered_at <= event.end)
            .order_by(Participant.id)
        )
    )
    count = len(event.survey.questions)
    rows = [
        outbox.NewMessage(
            chat_id=telegram_id,
            method="sendMessage",
            payload=_invitation(texts, event, lang, "survey.invitation", count),
            dedupe_key=f"survey:invite:{participant_id}",
            purpose=PURPOSE_INVITE,
            due_at=now,
        )
        for participant_id, telegram_id, lang in people
    ]
    session.add_all(
        SurveyMark(participant_id=participant_id, invited_at=now) for participant_id, _, _ in people
    )
    session.add(SurveyRound(kind="invite", done_at=now, recipients=len(rows)))
    await outbox.enqueue_many(session, rows)
    await session.flush()
    return len(rows)


async def remind(session: AsyncSession, event: EventConfig, texts: outbox.Texts, now: datetime) -> int:
    """Remind once those who were invited and have not finished; returns how many were reminded."""
    if event.survey is None or await round_done(session, "remind") is not None:
        return 0
    invited = await round_done(session, "invite")
    if invited is None:
        return 0
    if now >= closes_at(invited, event.survey):
        session.add(SurveyRound(kind="remind", done_at=now, recipients=0))
        return 0
    marks = list(
        await session.execute(
            select(SurveyMark, Participant.telegram_id, Participant.language)
            .join(Participant, Participant.id == SurveyMark.participant_id)
            .where(SurveyMark.finished_at.is_(None), SurveyMark.reminded_at.is_(None))
            .order_by(SurveyMark.participant_id)
        )
    )
    count = len(event.survey.questions)
    rows = []
    for mark, telegram_id, lang in marks:
        mark.reminded_at = now
        rows.append(
            outbox.NewMessage(
                chat_id=telegram_id,
                method="sendMessage",
                payload=_invitation(texts, event, lang, "survey.reminder", count),
                dedupe_key=f"survey:remind:{mark.participant_id}",
                purpose=PURPOSE_REMIND,
                due_at=now,
            )
        )
    session.add(SurveyRound(kind="remind", done_at=now, recipients=len(rows)))
    await outbox.enqueue_many(session, rows)
    await session.flush()
    return len(rows)


# ---- answering -----------------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    """What a step of the survey led to."""

    ASK = "ask"  # show `question` (the next one, or the same one again)
    ASK_QUOTE = "ask_quote"  # the comment was kept: may it be quoted?
    DONE = "done"  # every question answered: thanks
    CLOSED = "closed"  # the survey no longer takes answers
    NOT_INVITED = "not_invited"  # no survey for this person (registered after it went out, or none)
    ALREADY_DONE = "already_done"  # they finished before: nobody answers twice
    STALE = "stale"  # a button of a question already answered (a double tap, an old message)
    INVALID = "invalid"  # a value the question does not offer (a forged button)


@dataclass(frozen=True)
class Step:
    """Where the person is after a tap: the outcome and, for `ASK`, the question to show."""

    outcome: Outcome
    question: SurveyQuestion | None = None
    number: int = 0
    """1-based position of `question`."""
    total: int = 0
    recorded: str | None = None
    """The value just recorded (scale digit, choice id, "skip", "yes"/"no"), for the pressed message."""


async def _mark_for_update(session: AsyncSession, participant_id: int) -> SurveyMark | None:
    return await session.scalar(
        select(SurveyMark).where(SurveyMark.participant_id == participant_id).with_for_update()
    )


async def _open_mark(
    session: AsyncSession, participant_id: int, event: EventConfig, now: datetime
) -> SurveyMark | Step:
    """The person's mark, locked, or the refusal that applies."""
    settings = event.survey
    if settings is None:
        return Step(Outcome.NOT_INVITED)
    mark = await _mark_for_update(session, participant_id)
    if mark is None:
        return Step(Outcome.NOT_INVITED)
    invited = await round_done(session, "invite")
    if invited is None or now >= closes_at(invited, settings):
        return Step(Outcome.CLOSED)
    if mark.finished_at is not None:
        return Step(Outcome.ALREADY_DONE)
    return mark


async def _current(session: AsyncSession, mark: SurveyMark, event: EventConfig, now: datetime) -> Step:
    """The step the person is at: a question, the quote question, or done (recorded on the mark)."""
    assert event.survey is not None
    questions = event.survey.questions
    total = len(questions)
    if mark.pending_comment is not None:
        return Step(Outcome.ASK_QUOTE, total=total)
    participant = await session.get(Participant, mark.participant_id)
    if mark.next_question >= total:
        mark.finished_at = mark.finished_at or now
        if participant is not None and participant.awaiting == AWAITING_COMMENT:
            participant.awaiting = None
        return Step(Outcome.DONE, total=total)
    question = questions[mark.next_question]
    if participant is not None:
        if question.kind == "text":
            participant.awaiting = AWAITING_COMMENT
        elif participant.awaiting == AWAITING_COMMENT:
            participant.awaiting = None
    return Step(Outcome.ASK, question, mark.next_question + 1, total)


async def begin(session: AsyncSession, participant_id: int, event: EventConfig, now: datetime) -> Step:
    """The "answer" button of the invitation: the question the person is at (the first, or resumed)."""
    opened = await _open_mark(session, participant_id, event, now)
    if isinstance(opened, Step):
        return opened
    return await _current(session, opened, event, now)


def _at_question(mark: SurveyMark, event: EventConfig, question_id: str) -> SurveyQuestion | None:
    """The question the person is at, if it is `question_id` (else the tap is for another one)."""
    assert event.survey is not None
    questions = event.survey.questions
    if mark.pending_comment is not None or mark.next_question >= len(questions):
        return None
    question = questions[mark.next_question]
    return question if question.id == question_id else None


async def answer(
    session: AsyncSession,
    participant_id: int,
    question_id: str,
    value: str,
    event: EventConfig,
    now: datetime,
) -> Step:
    """A button of a scale or choice question; the value is checked against the question."""
    opened = await _open_mark(session, participant_id, event, now)
    if isinstance(opened, Step):
        return opened
    assert event.survey is not None
    if event.survey.question(question_id) is None:
        return Step(Outcome.INVALID)
    question = _at_question(opened, event, question_id)
    if question is None:
        return Step(Outcome.STALE)
    stored = SurveyAnswer(question_id=question.id)
    if question.kind == "scale":
        if not value.isdigit() or not SCALE_MIN <= int(value) <= SCALE_MAX:
            return Step(Outcome.INVALID)
        stored.scale = int(value)
    elif question.kind == "choice":
        if question.choice(value) is None:
            return Step(Outcome.INVALID)
        stored.choice = value
    else:
        return Step(Outcome.INVALID)  # a comment is typed, never a button
    session.add(stored)
    opened.next_question += 1
    step = await _current(session, opened, event, now)
    await session.flush()
    return Step(step.outcome, step.question, step.number, step.total, recorded=value)


async def skip(
    session: AsyncSession, participant_id: int, question_id: str, event: EventConfig, now: datetime
) -> Step:
    """The "skip" button of an optional question."""
    opened = await _open_mark(session, participant_id, event, now)
    if isinstance(opened, Step):
        return opened
    question = _at_question(opened, event, question_id)
    if question is None:
        return Step(Outcome.STALE)
    if not question.optional:
        return Step(Outcome.INVALID)
    opened.next_question += 1
    step = await _current(session, opened, event, now)
    await session.flush()
    return Step(step.outcome, step.question, step.number, step.total, recorded="skip")


async def give_comment(
    session: AsyncSession, participant_id: int, comment: str, event: EventConfig, now: datetime
) -> Step:
    """The comment typed for a `text` question; kept on the mark until the quote question is answered."""
    opened = await _open_mark(session, participant_id, event, now)
    if isinstance(opened, Step):
        # Closed (or finished) while we waited for the comment: stop waiting, or every later
        # message of the person would be taken for a comment.
        participant = await session.get(Participant, participant_id)
        if participant is not None and participant.awaiting == AWAITING_COMMENT:
            participant.awaiting = None
        return opened
    assert event.survey is not None
    questions = event.survey.questions
    if opened.next_question >= len(questions) or questions[opened.next_question].kind != "text":
        return await _current(session, opened, event, now)
    cleaned = comment.strip()[:COMMENT_MAX]
    if not cleaned:
        return await _current(session, opened, event, now)
    opened.pending_comment = cleaned
    participant = await session.get(Participant, participant_id)
    if participant is not None:
        participant.awaiting = None
    await session.flush()
    return Step(Outcome.ASK_QUOTE, total=len(questions))


async def decide_quote(
    session: AsyncSession, participant_id: int, allowed: bool, event: EventConfig, now: datetime
) -> Step:
    """Yes or no to quoting: the comment becomes an anonymous answer, the next question follows."""
    opened = await _open_mark(session, participant_id, event, now)
    if isinstance(opened, Step):
        return opened
    if opened.pending_comment is None:
        return Step(Outcome.STALE)
    assert event.survey is not None
    question = event.survey.questions[opened.next_question]
    session.add(SurveyAnswer(question_id=question.id, comment=opened.pending_comment, quote_allowed=allowed))
    opened.pending_comment = None
    opened.next_question += 1
    step = await _current(session, opened, event, now)
    await session.flush()
    return Step(step.outcome, step.question, step.number, step.total, recorded="yes" if allowed else "no")


# ---- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    """The answers to one question: counts per value (scale digit or choice id), quotable comments."""

    question_id: str
    kind: str
    answers: int
    counts: dict[str, int] = field(default_factory=dict)
    quotes: list[str] = field(default_factory=list)
    comments: int = 0
    """Every comment given, quotable or not (only the quotable ones are shown)."""

    @property
    def mean(self) -> float | None:
        """The average of a scale question (None for other kinds or without answers)."""
        if self.kind != "scale" or not self.answers:
            return None
        return sum(int(value) * n for value, n in self.counts.items()) / self.answers


@dataclass(frozen=True)
class SurveyResults:
    """Who was asked and answered (figures only), and the answers per question."""

    invited: int
    reminded: int
    finished: int
    started: int
    questions: list[QuestionResult]


async def results(session: AsyncSession, event: EventConfig) -> SurveyResults | None:
    """The survey's figures, in the event file's order of questions; None without a survey."""
    if event.survey is None:
        return None
    invited = await round_done(session, "invite")
    reminded = await round_done(session, "remind")
    finished = await session.scalar(
        select(func.count()).select_from(SurveyMark).where(SurveyMark.finished_at.is_not(None))
    )
    started = await session.scalar(
        select(func.count()).select_from(SurveyMark).where(SurveyMark.next_question > 0)
    )
    answers = list(await session.scalars(select(SurveyAnswer)))
    by_question: dict[str, list[SurveyAnswer]] = {}
    for row in answers:
        by_question.setdefault(row.question_id, []).append(row)
    figures = []
    for question in event.survey.questions:
        rows = by_question.get(question.id, [])
        counts: Counter[str] = Counter()
        if question.kind == "scale":
            counts.update({str(value): 0 for value in range(SCALE_MIN, SCALE_MAX + 1)})
            counts.update(str(row.scale) for row in rows if row.scale is not None)
        elif question.kind == "choice":
            counts.update({choice.id: 0 for choice in question.choices})
            counts.update(row.choice for row in rows if row.choice is not None)
        quotes = sorted(row.comment for row in rows if row.comment is not None and row.quote_allowed)
        figures.append(
            QuestionResult(
                question_id=question.id,
                kind=question.kind,
                answers=len(rows),
                counts=dict(counts),
                quotes=quotes,
                comments=sum(1 for row in rows if row.comment is not None),
            )
        )
    return SurveyResults(
        invited=invited.recipients if invited else 0,
        reminded=reminded.recipients if reminded else 0,
        finished=int(finished or 0),
        started=int(started or 0),
        questions=figures,
    )


# ---- privacy -------------------------------------------------------------------------------------------
# The mark goes with the participant row (foreign-key cascade); the answers stay, linked to nobody.


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """/mydata: whether the person was asked, reminded and finished; a comment not yet filed."""
    del event
    mark = await session.get(SurveyMark, participant.id)
    if mark is None:
        return []
    if mark.finished_at is not None:
        state = Phrase("survey.mydata_finished", {"at": mark.finished_at})
    else:
        state = Phrase("survey.mydata_invited", {"at": mark.invited_at})
    items = [DataItem("survey.label.survey", state)]
    if mark.pending_comment is not None:
        items.append(DataItem("survey.label.pending_comment", mark.pending_comment))
    return items
