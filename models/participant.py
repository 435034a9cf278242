"""Participants: the people who registered with the bot, and what they consented to."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, TimestampMixin, utcnow

DISPLAY_NAME_MAX = 64


class ParticipantStatus(enum.StrEnum):
    """Where a person is in their life with the bot."""

    REGISTERING = "registering"  # consented, still answering the registration questions
    ACTIVE = "active"  # registration finished


class Awaiting(enum.StrEnum):
    """Free-text answers the registration feature waits for (other features add their own values).

    Kept in the database so a restart in the middle of a conversation loses nothing.
    """

    NAME = "name"
    ROLE = "role"


class Participant(TimestampMixin, Base):
    """One person who gave consent. Nothing is stored about someone who did not."""

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("length(display_name) > 0", name="display_name_not_empty"),
        CheckConstraint(
            "status != 'active' OR (role IS NOT NULL AND registered_at IS NOT NULL)",
            name="active_has_role",
        ),
        # Never reuse the id of an erased participant (SQLite would): ids appear in dedupe keys.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32))
    consent_version: Mapped[str] = mapped_column(String(32), nullable=False)
    consent_given_at: Mapped[datetime] = mapped_column(nullable=False)
    registered_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[ParticipantStatus] = mapped_column(
        Enum(ParticipantStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=ParticipantStatus.REGISTERING,
        nullable=False,
    )
    # What the bot is waiting for from this person ("name", "question"...), or None.
    awaiting: Mapped[str | None] = mapped_column(String(32))
    reminders_enabled: Mapped[bool] = mapped_column(default=True, nullable=False)
    # Since when the person has blocked the bot (None: reachable). Nothing is sent to them meanwhile.
    unreachable_since: Mapped[datetime | None] = mapped_column()

    @property
    def is_active(self) -> bool:
        """True once registration is complete."""
        return self.status is ParticipantStatus.ACTIVE

    @property
    def reachable(self) -> bool:
        """False while the person has blocked the bot."""
        return self.unreachable_since is None


class ProcessedUpdate(Base):
    """Update ids already handled, so an update delivered twice is handled once (even after a restart)."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
