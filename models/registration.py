"""Registration and the participant's own data: consent, name, role, language, `/mydata`, `/forget`.

Pure domain functions: they take a session and plain values, never Telegram objects, and never
commit (the caller's unit of work does).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
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
from models.privacy import run_erasure_hooks

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


async def forget(session: AsyncSession, telegram_id: int) -> bool:
    """Erase everything stored about a person; returns False if nothing was stored.

    Someone who never registered may still have data keyed by their Telegram id (an organiser's
    announcements, a dashboard session): the account hooks erase it too.
    """
    participant = await get_participant(session, telegram_id)
    erased = await run_erasure_hooks(session, telegram_id, participant)
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
