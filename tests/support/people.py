"""Registered participants written straight into the database, for tests that start after registration."""

from __future__ import annotations

from models.base import utcnow
from models.db import Database
from models.participant import Participant, ParticipantStatus
from simulator import SimUser
from tests.support.harness import bundled_event

CONSENT_VERSION = bundled_event().privacy.version
"""The bundled notice's version: seeded people agreed to the notice in force."""


async def seed(db: Database, users: list[SimUser], role: str = "resident", lang: str = "fr") -> None:
    """Registered participants for these simulated people."""
    now = utcnow()
    async with db.transaction() as session:
        session.add_all(
            Participant(
                telegram_id=user.id,
                display_name=user.first_name,
                language=lang,
                role=role,
                consent_version=CONSENT_VERSION,
                consent_given_at=now,
                registered_at=now,
                status=ParticipantStatus.ACTIVE,
            )
            for user in users
        )
