"""Meals: each participant's dietary needs and their "I'll be there" answers, and the caterer's counts.

Domain functions take a session and plain values, never Telegram objects, and never commit. Diet ids
are the event file's `dietary_options` ids; "allergy" is a free text kept beside them. Both tables
cascade with the participant row, and the erasure hook removes them explicitly as well (`/forget`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import JSON, BigInteger, ForeignKey, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin
from models.participant import Participant, ParticipantStatus
from models.privacy import DataItem, ErasureContext, Phrase, register_data_provider, register_erasure_hook
from schedule.config import EventConfig

ALLERGY_MAX = 200
AWAITING_ALLERGY = "allergy"
"""`Participant.awaiting` while we wait for the allergy to be typed."""


class DietaryProfile(TimestampMixin, Base):
    """What one participant can eat: diet ids from the event file, and an allergy in their words."""

    __tablename__ = "dietary_profiles"

    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    diets: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    allergy: Mapped[str | None] = mapped_column(String(ALLERGY_MAX))


class MealAnswer(TimestampMixin, Base):
    """A participant's answer for one meal: coming (True) or not (False)."""

    __tablename__ = "meal_answers"

    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    meal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    attending: Mapped[bool] = mapped_column(nullable=False)


@dataclass(frozen=True, slots=True)
class Needs:
    """A participant's dietary needs as plain values."""

    diets: tuple[str, ...] = ()
    allergy: str | None = None

    @property
    def stated(self) -> bool:
        """Whether the person told us anything (an empty profile means "no special needs")."""
        return bool(self.diets or self.allergy)


@dataclass
class MealCounts:
    """What the caterer needs for one meal."""

    meal_id: str
    attending: int = 0
    not_attending: int = 0
    no_answer: int = 0
    diets: Counter[str] = field(default_factory=Counter)
    allergies: list[str] = field(default_factory=list)


def clean_allergy(raw: str | None) -> str | None:
    """One line, printable, at most `ALLERGY_MAX` characters; None when nothing is left."""
    if raw is None:
        return None
    text = " ".join("".join(ch for ch in raw if ch.isprintable() or ch.isspace()).split())
    if not text:
        return None
    return text if len(text) <= ALLERGY_MAX else text[: ALLERGY_MAX - 1].rstrip() + "…"


async def get_needs(session: AsyncSession, participant_id: int) -> Needs:
    """The stated needs of one participant (empty if never stated)."""
    profile = await session.get(DietaryProfile, participant_id)
    if profile is None:
        return Needs()
    return Needs(tuple(profile.diets or ()), profile.allergy)


async def needs_of(session: AsyncSession, participant_ids: list[int]) -> dict[int, Needs]:
    """Needs of many participants at once (those without a profile are left out)."""
    if not participant_ids:
        return {}
    rows = await session.scalars(
        select(DietaryProfile).where(DietaryProfile.participant_id.in_(participant_ids))
    )
    return {row.participant_id: Needs(tuple(row.diets or ()), row.allergy) for row in rows}


async def _profile(session: AsyncSession, participant_id: int) -> DietaryProfile:
    profile = await session.get(DietaryProfile, participant_id)
    if profile is None:
        profile = DietaryProfile(participant_id=participant_id, diets=[], allergy=None)
        session.add(profile)
    return profile


async def toggle_diet(session: AsyncSession, participant_id: int, diet_id: str, allowed: set[str]) -> Needs:
    """Add or remove one diet id (ids the event does not offer are refused with ValueError)."""
    if diet_id not in allowed:
        raise ValueError(f"unknown diet {diet_id!r}")
    profile = await _profile(session, participant_id)
    diets = [d for d in profile.diets or [] if d in allowed]
    if diet_id in diets:
        diets.remove(diet_id)
    else:
        diets.append(diet_id)
    # A new list, so SQLAlchemy sees the JSON column change.
    profile.diets = sorted(diets)
    await session.flush()
    return Needs(tuple(profile.diets), profile.allergy)


async def clear_needs(session: AsyncSession, participant_id: int) -> Needs:
    """Say "no special needs": no diet, no allergy."""
    profile = await _profile(session, participant_id)
    profile.diets = []
    profile.allergy = None
    await session.flush()
    return Needs()


async def set_allergy(session: AsyncSession, participant: Participant, text: str | None) -> Needs:
    """Store the typed allergy (None removes it) and stop waiting for it."""
    profile = await _profile(session, participant.id)
    profile.allergy = clean_allergy(text)
    if participant.awaiting == AWAITING_ALLERGY:
        participant.awaiting = None
    await session.flush()
    return Needs(tuple(profile.diets or ()), profile.allergy)


def ask_for_allergy(participant: Participant) -> None:
    """The next free text from this person is their allergy."""
    participant.awaiting = AWAITING_ALLERGY


async def wait_for_allergy(session: AsyncSession, participant_id: int) -> bool:
    """Wait for the allergy to be typed ("Allergy…" was tapped); False if the participant is gone."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        return False
    ask_for_allergy(participant)
    return True


async def save_allergy(session: AsyncSession, participant_id: int, text: str | None) -> Needs | None:
    """The allergy was typed: store it and stop waiting (None if the participant is gone)."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        return None
    return await set_allergy(session, participant, text)


async def set_answer(session: AsyncSession, participant_id: int, meal_id: str, attending: bool) -> None:
    """Record "I'll be there" (True) or "not coming" (False) for one meal; a new answer replaces the old."""
    answer = await session.get(MealAnswer, (participant_id, meal_id))
    if answer is None:
        session.add(MealAnswer(participant_id=participant_id, meal_id=meal_id, attending=attending))
    else:
        answer.attending = attending
    await session.flush()


async def answers_of(session: AsyncSession, participant_id: int) -> dict[str, bool]:
    """Meal id → attending, for one participant."""
    rows = await session.scalars(select(MealAnswer).where(MealAnswer.participant_id == participant_id))
    return {row.meal_id: row.attending for row in rows}


async def not_attending(session: AsyncSession, meal_id: str) -> set[int]:
    """Participant ids who said they will not come to `meal_id`."""
    rows = await session.scalars(
        select(MealAnswer.participant_id).where(
            MealAnswer.meal_id == meal_id, MealAnswer.attending.is_(False)
        )
    )
    return set(rows)


async def meal_report(session: AsyncSession, event: EventConfig) -> list[MealCounts]:
    """Per meal: who comes, who does not, who did not answer; diets and allergies of those coming.

    Only registered (active) participants count.
    """
    active = list(
        (
            await session.execute(
                select(Participant.id).where(Participant.status == ParticipantStatus.ACTIVE)
            )
        ).scalars()
    )
    active_set = set(active)
    answers: dict[str, dict[int, bool]] = {}
    for answer in await session.scalars(select(MealAnswer)):
        if answer.participant_id in active_set:
            answers.setdefault(answer.meal_id, {})[answer.participant_id] = answer.attending
    needs = await needs_of(session, active)
    report = []
    for meal in event.meals:
        counts = MealCounts(meal.id)
        given = answers.get(meal.id, {})
        for participant_id in active:
            attending = given.get(participant_id)
            if attending is None:
                counts.no_answer += 1
                continue
            if not attending:
                counts.not_attending += 1
                continue
            counts.attending += 1
            person = needs.get(participant_id)
            if person is None:
                continue
            counts.diets.update(person.diets)
            if person.allergy:
                counts.allergies.append(person.allergy)
        report.append(counts)
    return report


# ---- privacy -----------------------------------------------------------------------------------


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """For /mydata: diets and allergy, and each meal answer, named as in the event file."""
    lang, default = participant.language, event.default_language
    needs = await get_needs(session, participant.id)
    answers = await answers_of(session, participant.id)
    diets = []
    # In the order of the event file (ids it no longer offers last).
    listed = {option.id: index for index, option in enumerate(event.dietary_options)}
    for diet_id in sorted(needs.diets, key=lambda d: (listed.get(d, len(listed)), d)):
        option = event.dietary_option(diet_id)
        diets.append(option.label.get(lang, default) if option is not None else diet_id)
    items = [
        DataItem("meals.label.diets", ", ".join(diets) if diets else None),
        DataItem("meals.label.allergy", needs.allergy),
    ]
    # Meals in the order of the event file; answers for meals removed from it last, by id.
    order = {meal.id: index for index, meal in enumerate(event.meals)}
    for meal_id in sorted(answers, key=lambda m: (order.get(m, len(order)), m)):
        meal = event.meal(meal_id)
        name = meal.name.get(lang, default) if meal is not None else meal_id
        key = "meals.mydata_answer_yes" if answers[meal_id] else "meals.mydata_answer_no"
        items.append(DataItem("meals.label.answers", Phrase(key, {"meal": name})))
    return items


@register_erasure_hook
async def _erase(session: AsyncSession, participant: Participant, _erasure: ErasureContext | None) -> None:
    await session.execute(delete(MealAnswer).where(MealAnswer.participant_id == participant.id))
    await session.execute(delete(DietaryProfile).where(DietaryProfile.participant_id == participant.id))


def diet_ids(event: EventConfig) -> set[str]:
    """Diet ids a participant may pick: those of the event file."""
    return {option.id for option in event.dietary_options}
