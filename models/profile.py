"""Optional profile questions asked after registration: the funders' figures (centre or town, first time).

One row per person and question (`profile_answers`): the answer (a choice id, or the typed text),
or NULL when the person skipped it, so a skipped question is not asked again. The questions come
from the event file (`profile_questions`). Rows go with the participant (foreign-key cascade):
`/forget` and the retention purge erase them; `/mydata` shows them. The report counts them
(`tally`), never listing who answered what.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.participant import Participant, ParticipantStatus
from models.privacy import DataItem, Phrase, register_data_provider
from schedule.config import EventConfig, ProfileQuestion

ANSWER_MAX = 100
AWAITING_ANSWER = "profile_answer"
"""`Participant.awaiting` while the bot waits for the typed answer of a `text` question."""


class ProfileAnswer(Base):
    """A participant's answer to one profile question (NULL: skipped)."""

    __tablename__ = "profile_answers"

    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    question_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    answer: Mapped[str | None] = mapped_column(String(ANSWER_MAX))


class Outcome(enum.StrEnum):
    """What an answer led to."""

    ASK = "ask"  # show `question` (the next one)
    DONE = "done"  # nothing more to ask
    STALE = "stale"  # not the question the person is at (a double tap, an old message)
    INVALID = "invalid"  # a choice the question does not offer, or an empty text


@dataclass(frozen=True)
class Step:
    """Where the person is: the question to ask next (or none), and the answer just kept."""

    outcome: Outcome
    question: ProfileQuestion | None = None
    recorded: str | None = None


def clean_answer(raw: str | None) -> str | None:
    """One line of printable text, at most `ANSWER_MAX` characters; None when nothing is left."""
    if raw is None:
        return None
    text = " ".join("".join(ch for ch in raw if ch.isprintable() or ch.isspace()).split())
    return text[:ANSWER_MAX] or None


async def _answered(session: AsyncSession, participant_id: int) -> set[str]:
    return set(
        await session.scalars(
            select(ProfileAnswer.question_id).where(ProfileAnswer.participant_id == participant_id)
        )
    )


async def _next(session: AsyncSession, participant: Participant, event: EventConfig) -> Step:
    """The first question not answered nor skipped; waits for typed text when it is a `text` one."""
    done = await _answered(session, participant.id)
    question = next((q for q in event.profile_questions if q.id not in done), None)
    if question is None:
        if participant.awaiting == AWAITING_ANSWER:
            participant.awaiting = None
        return Step(Outcome.DONE)
    if question.kind == "text":
        participant.awaiting = AWAITING_ANSWER
    elif participant.awaiting == AWAITING_ANSWER:
        participant.awaiting = None
    return Step(Outcome.ASK, question)


async def first_question(session: AsyncSession, participant_id: int, event: EventConfig) -> Step:
    """Registration is complete: the first question to ask (DONE when the event asks none)."""
    participant = await session.get(Participant, participant_id, with_for_update=True)
    if participant is None or participant.status is not ParticipantStatus.ACTIVE:
        return Step(Outcome.DONE)
    step = await _next(session, participant, event)
    await session.flush()
    return step


async def _current(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> ProfileQuestion | None:
    done = await _answered(session, participant.id)
    return next((q for q in event.profile_questions if q.id not in done), None)


async def answer(
    session: AsyncSession, participant_id: int, question_id: str, value: str | None, event: EventConfig
) -> Step:
    """Keep an answer (a choice id, a typed text, or None to skip) to the question the person is at."""
    participant = await session.get(Participant, participant_id, with_for_update=True)
    if participant is None:
        return Step(Outcome.STALE)
    question = await _current(session, participant, event)
    if question is None or question.id != question_id:
        return Step(Outcome.STALE)
    kept: str | None = None
    if value is not None:
        kept = value if question.kind == "choice" else clean_answer(value)
        if (question.kind == "choice" and question.choice(value) is None) or kept is None:
            return Step(Outcome.INVALID, question)
    session.add(ProfileAnswer(participant_id=participant_id, question_id=question.id, answer=kept))
    await session.flush()
    step = await _next(session, participant, event)
    await session.flush()
    return Step(step.outcome, step.question, kept if kept is not None else "skip")


async def typed_answer(
    session: AsyncSession, participant_id: int, text: str | None, event: EventConfig
) -> Step:
    """The text typed while a `text` question waits for it."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        return Step(Outcome.STALE)
    question = await _current(session, participant, event)
    if question is None or question.kind != "text":
        if participant.awaiting == AWAITING_ANSWER:
            participant.awaiting = None  # the question is gone from the file: stop waiting
        return Step(Outcome.STALE)
    return await answer(session, participant_id, question.id, text, event)


async def tally(session: AsyncSession, event: EventConfig) -> dict[str, dict[str, int]]:
    """For the report: per question, how many gave each answer (typed answers grouped case-insensitively).

    Choices are named by their label in the event's language; the caller merges small groups.
    """
    lang = event.default_language
    rows = await session.execute(
        select(ProfileAnswer.question_id, ProfileAnswer.answer)
        .join(Participant, Participant.id == ProfileAnswer.participant_id)
        .where(Participant.status == ParticipantStatus.ACTIVE, ProfileAnswer.answer.is_not(None))
    )
    counts: dict[str, Counter[str]] = {q.id: Counter() for q in event.profile_questions}
    spellings: dict[tuple[str, str], Counter[str]] = {}
    for question_id, value in rows:
        question = next((q for q in event.profile_questions if q.id == question_id), None)
        if question is None or value is None:
            continue
        if question.kind == "choice":
            choice = question.choice(value)
            counts[question_id][choice.label.get(lang, lang) if choice is not None else value] += 1
        else:
            spellings.setdefault((question_id, value.casefold()), Counter())[value] += 1
    for (question_id, _), seen in spellings.items():
        # "Roubaix" and "roubaix" are one town, shown as most people wrote it.
        shown = min(seen, key=lambda spelling: (-seen[spelling], spelling))
        counts[question_id][shown] += sum(seen.values())
    return {question_id: dict(counter) for question_id, counter in counts.items()}


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """/mydata: each profile answer, under the question's text (a skipped one says so)."""
    rows = await session.scalars(select(ProfileAnswer).where(ProfileAnswer.participant_id == participant.id))
    items = []
    lang = participant.language
    for row in rows:
        question = next((q for q in event.profile_questions if q.id == row.question_id), None)
        asked = question.text.get(lang, event.default_language) if question is not None else row.question_id
        if row.answer is None:
            value: str | Phrase = Phrase("profile_questions.skipped")
        elif question is not None and question.kind == "choice" and (choice := question.choice(row.answer)):
            value = choice.label.get(lang, event.default_language)
        else:
            value = row.answer
        items.append(
            DataItem(
                "profile_questions.mydata_line",
                Phrase("profile_questions.mydata_value", {"question": asked, "answer": value}),
            )
        )
    return items
