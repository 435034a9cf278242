"""Registration and the participant's own data: consent, name, role, language, `/mydata`, `/forget`.

Pure domain functions: they take a session and plain values, never Telegram objects, and never
commit (the caller's unit of work does).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.participant import (
    DISPLAY_NAME_MAX,
    Awaiting,
    Participant,
    ParticipantStatus,
    ProcessedUpdate,
)
from models.privacy import ErasureContext, run_erasure_hooks

_WHITESPACE = re.compile(r"\s+")


def clean_display_name(raw: str | None) -> str | None:
    """Normalise a typed name: printable characters only, single spaces, at most 64 characters.

    Returns None when nothing usable is left (empty, only emoji modifiers or control characters).
    HTML-special characters are kept as typed: escaping happens when the name is sent.
    """
    if raw is None:
        return None
    printable = "".join(
        ch for ch in unicodedata.normalize("NFC", raw) if unicodedata.category(ch)[0] != "C" or ch in " \t\n"
    )
    name = _WHITESPACE.sub(" ", printable).strip()
    if not name:
        return None
    if len(name) > DISPLAY_NAME_MAX:
        name = name[: DISPLAY_NAME_MAX - 1].rstrip() + "…"
    return name


async def get_participant(session: AsyncSession, telegram_id: int) -> Participant | None:
    """The participant for a Telegram user id, if they consented."""
    return await session.scalar(select(Participant).where(Participant.telegram_id == telegram_id))


async def give_consent(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str | None,
    language: str,
    consent_version: str,
    now: datetime | None = None,
) -> Participant:
    """Record consent and start registration.

    Pressing "I agree" twice keeps the first record; agreeing to a newer notice (the organisers
    changed `privacy.version`) records the new version and time.
    """
    existing = await get_participant(session, telegram_id)
    if existing is not None:
        if existing.consent_version != consent_version:
            existing.consent_version = consent_version
            existing.consent_given_at = now or utcnow()
        return existing
    participant = Participant(
        telegram_id=telegram_id,
        display_name=clean_display_name(first_name) or "?",
        language=language,
        consent_version=consent_version,
        consent_given_at=now or utcnow(),
        status=ParticipantStatus.REGISTERING,
        awaiting=Awaiting.NAME,
    )
    session.add(participant)
    await session.flush()
    return participant


def set_display_name(participant: Participant, name: str) -> None:
    """Store the chosen name; during registration the next question is the role."""
    participant.display_name = name
    if participant.status is ParticipantStatus.REGISTERING:
        participant.awaiting = Awaiting.ROLE
    else:
        participant.awaiting = None


def ask_for_new_name(participant: Participant) -> None:
    """`/profile` → change name: the next text the person sends is their new name."""
    participant.awaiting = Awaiting.NAME


def set_role(participant: Participant, role_id: str, now: datetime | None = None) -> bool:
    """Store the role; returns True when this completes the registration."""
    participant.role = role_id
    participant.awaiting = None
    if participant.status is ParticipantStatus.REGISTERING:
        participant.status = ParticipantStatus.ACTIVE
        participant.registered_at = now or utcnow()
        return True
    return False


def set_language(participant: Participant, language: str) -> None:
    """Change the language the bot speaks to this person."""
    participant.language = language


# ---- one function per step a person takes: load, decide, change (the caller commits) -------------


@dataclass(frozen=True)
class NameSaved:
    """A name was stored: the person as they are now, and whether a role is the next question."""

    participant: Participant
    name: str

    @property
    def asks_role_next(self) -> bool:
        """During registration the role comes after the name."""
        return self.participant.awaiting == Awaiting.ROLE


async def save_name(
    session: AsyncSession, telegram_id: int, raw_name: str | None, *, only_when_asked: bool = False
) -> NameSaved | None:
    """Store a typed (or Telegram) name; None when there is no usable name or no such person.

    `only_when_asked`: for the "keep my Telegram name" button, which is valid only while the bot
    waits for a name (a stale button pressed later must not rename anyone).
    """
    name = clean_display_name(raw_name)
    participant = await get_participant(session, telegram_id)
    if name is None or participant is None:
        return None
    if only_when_asked and participant.awaiting != Awaiting.NAME:
        return None
    set_display_name(participant, name)
    return NameSaved(participant, name)


@dataclass(frozen=True)
class RoleSaved:
    """A role was stored; `completed` when this finished the registration."""

    participant: Participant
    completed: bool


async def save_role(
    session: AsyncSession, telegram_id: int, role_id: str, offered_roles: Collection[str], now: datetime
) -> RoleSaved | None:
    """Store a role the event offers, while asked for one or from `/profile`; None otherwise."""
    participant = await get_participant(session, telegram_id)
    if participant is None or role_id not in offered_roles:
        return None
    if participant.awaiting != Awaiting.ROLE and not participant.is_active:
        return None  # a role button from before the name was given: the name comes first
    return RoleSaved(participant, set_role(participant, role_id, now))


async def request_new_name(session: AsyncSession, telegram_id: int) -> Participant | None:
    """`/profile` → change name: the next text the person sends is their new name."""
    participant = await get_participant(session, telegram_id)
    if participant is not None:
        ask_for_new_name(participant)
    return participant


async def change_language(
    session: AsyncSession, telegram_id: int, language: str, offered: Collection[str]
) -> Participant | None:
    """Speak `language` to this person from now on (one of the event's languages)."""
    participant = await get_participant(session, telegram_id)
    if participant is None or language not in offered:
        return None
    set_language(participant, language)
    return participant


async def forget(session: AsyncSession, telegram_id: int, erasure: ErasureContext | None = None) -> bool:
    """Erase everything stored about a person; returns False if nothing was stored.

    Someone who never registered may still have data keyed by their Telegram id (an organiser's
    announcements, a dashboard session): the account hooks erase it too. `erasure` lets the hooks
    tell others what the erasure changed for them (a team place given to the first person waiting).
    """
    participant = await get_participant(session, telegram_id)
    erased = await run_erasure_hooks(session, telegram_id, participant, erasure)
    if participant is not None:
        await session.delete(participant)
    await session.flush()
    return erased


async def record_new_updates(session: AsyncSession, update_ids: Collection[int]) -> set[int]:
    """Remember update ids; return those seen for the first time (the others were delivered twice)."""
    if not update_ids:
        return set()
    seen = set(
        await session.scalars(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id.in_(update_ids))
        )
    )
    new = set(update_ids) - seen
    session.add_all(ProcessedUpdate(update_id=update_id) for update_id in sorted(new))
    await session.flush()
    return new


async def prune_processed_updates(session: AsyncSession, older_than: datetime) -> int:
    """Drop old update ids (Telegram never redelivers after 24 hours)."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.received_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
