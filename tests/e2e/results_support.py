"""What the results tests and benchmark share: the event of the evening, seeded people and teams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from models import challenges as ch
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from schedule.config import EventConfig
from simulator import SimUser
from tests.support.harness import bundled_event

RESULTS_ITEM = "sat-results"
CONSENT_VERSION = bundled_event().privacy.version


def results_event(
    organiser: int, jurors: list[int], *, starts_in: timedelta = timedelta(hours=1), **results: Any
) -> EventConfig:
    """The bundled event moved so the results item starts in `starts_in` (its start is the deadline)."""
    base = bundled_event()
    item = base.item(RESULTS_ITEM)
    assert item is not None
    shifted = base.shifted_to(base.start + (utcnow() + starts_in - item.start))
    settings = shifted.results.model_copy(update={"jurors": jurors, **results})
    return shifted.model_copy(update={"organisers": [organiser], "results": settings, "staff_chat_id": None})


async def participant_of(db: Database, user: SimUser) -> Participant:
    """The participant row of a simulated person."""
    async with db.read() as session:
        found = await session.scalar(select(Participant).where(Participant.telegram_id == user.id))
    assert found is not None
    return found


async def seed_team(db: Database, users: list[SimUser], challenge_id: str) -> None:
    """Put these (registered) people in a challenge's team (the challenge rows exist once the bot started)."""
    async with db.transaction() as session:
        ids = list(
            await session.scalars(
                select(Participant.id).where(Participant.telegram_id.in_([u.id for u in users]))
            )
        )
        for pid in ids:
            change = await ch.join(session, pid, challenge_id, utcnow())
            assert change.outcome is ch.TeamOutcome.JOINED, change.outcome
