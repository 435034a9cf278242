"""Challenges and teams: who picked which challenge, the waiting lists, and the runtime state.

The challenges themselves (titles, pitches, facilitators, configured capacity) live in the event
file; the database holds what changes while the event runs:

- `ChallengeState`: one row per challenge id ever configured, with the number of members (a
  counter), the capacity from the file and an organiser's override, and whether the challenge was
  removed from the file. Capacity is enforced by the database: a place is taken with one
  conditional `UPDATE ... SET members = members + 1 WHERE members < capacity`, so two people
  pressing "Join" for the last place can never both get it (PostgreSQL re-checks the condition on
  the row it locked; SQLite runs one writer at a time).
- `ChallengeMember`: one row per person in a team; `UNIQUE(participant_id)` keeps one challenge
  per person, and `ON DELETE CASCADE` from participants means erased people leave no trace.
- `WaitlistEntry`: people waiting for a place, in arrival order (the autoincrement id).
- `TeamPickingState`: the organisers' "open"/"closed" override of the picking window.
- `ChallengeNotice`: things to tell someone who did not act themselves (promoted from the waiting
  list, moved by an organiser, challenge removed). They are written in the same transaction as the
  change, and turned into outbox messages by `handlers.challenges` (which owns the texts); this
  keeps the domain free of catalogs and lets `/forget` (which is not ours) free a place safely.

Locking: operations that may promote waiting people touch several challenges, so they lock every
state row in id order first (no deadlock on PostgreSQL); a plain join locks only its challenge.
Domain functions take a session and plain values, never Telegram objects, and never commit.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from models.base import Base, BigIntPK, utcnow
from models.participant import Participant, ParticipantStatus
from models.privacy import DataItem, Phrase, register_data_provider, register_erasure_hook
from schedule.config import EventConfig

CHALLENGE_ID_LEN = 20
TITLE_MAX = 200


class ChallengeState(Base):
    """Runtime state of one challenge (kept for removed ones, so their id stays known)."""

    __tablename__ = "challenge_states"
    __table_args__ = (
        CheckConstraint("members >= 0", name="members_not_negative"),
        CheckConstraint("config_capacity > 0", name="config_capacity_positive"),
        CheckConstraint("capacity_override IS NULL OR capacity_override > 0", name="override_positive"),
    )

    challenge_id: Mapped[str] = mapped_column(String(CHALLENGE_ID_LEN), primary_key=True)
    # Counter of `challenge_members` rows, changed only together with them (see module docstring).
    members: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    config_capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    capacity_override: Mapped[int | None] = mapped_column(Integer)
    removed: Mapped[bool] = mapped_column(default=False, nullable=False)
    # The title in the default language when last seen in the event file: what people are told
    # when a challenge is removed (the file no longer has it).
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


def _capacity_of() -> ColumnElement[int]:
    """The capacity in force, as SQL: the organisers' override, else the event file's."""
    return func.coalesce(ChallengeState.capacity_override, ChallengeState.config_capacity)


class JoinedVia(enum.StrEnum):
    """How a person came into a team (shown to organisers, useful when something looks odd)."""

    SELF = "self"
    WAITLIST = "waitlist"
    ORGANISER = "organiser"


class ChallengeMember(Base):
    """A person in a challenge's team."""

    __tablename__ = "challenge_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), index=True, nullable=False
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    via: Mapped[str] = mapped_column(String(16), default=JoinedVia.SELF.value, nullable=False)


class WaitlistEntry(Base):
    """A person waiting for a place; the id gives the arrival order."""

    __tablename__ = "challenge_waitlist"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), index=True, nullable=False
    )
    queued_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class PickingOverride(enum.StrEnum):
    """What the organisers decided, overriding the configured window."""

    OPEN = "open"
    CLOSED = "closed"


class TeamPickingState(Base):
    """The single row holding the organisers' override of the team-picking window."""

    __tablename__ = "team_picking_state"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("override IS NULL OR override IN ('open', 'closed')", name="override_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    override: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


class NoticeKind(enum.StrEnum):
    """What happened to someone who did not act themselves."""

    PROMOTED = "promoted"  # a place freed up: moved from the waiting list into the team
    MOVED = "moved"  # an organiser moved them to another challenge
    REMOVED = "removed"  # their challenge was removed from the event file
    REMOVED_WAITLIST = "removed_waitlist"  # the challenge they waited for was removed


class ChallengeNotice(Base):
    """A message owed to a participant, until `handlers.challenges` puts it in the outbox."""

    __tablename__ = "challenge_notices"
    # Ids are never reused (SQLite would reuse the highest after a delete): they are the outbox
    # dedupe key, so a reused id would silently swallow a later notice.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    challenge_id: Mapped[str] = mapped_column(String(CHALLENGE_ID_LEN), nullable=False)
    # The team they were in before (promoted or moved out of it), if any.
    previous_challenge_id: Mapped[str | None] = mapped_column(String(CHALLENGE_ID_LEN))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


# ---- results -------------------------------------------------------------------------------------


class JoinOutcome(enum.StrEnum):
    """What pressing "Join" (or confirming a switch) did."""

    JOINED = "joined"
    SWITCHED = "switched"  # left `previous` and joined
    WAITLISTED = "waitlisted"  # full: now on the waiting list at `position`
    ALREADY_MEMBER = "already_member"
    ALREADY_WAITING = "already_waiting"
    NEEDS_SWITCH = "needs_switch"  # in another team (`previous`): ask "leave X and join Y?"
    STALE = "stale"  # the confirmation no longer matches the person's team
    UNKNOWN = "unknown"  # no such challenge (forged button or removed from the file)


@dataclass(frozen=True)
class JoinResult:
    """Outcome of a join or switch, with what the person needs to be told."""

    outcome: JoinOutcome
    challenge_id: str
    previous: str | None = None
    position: int | None = None


class MoveOutcome(enum.StrEnum):
    """What an organiser's move did."""

    MOVED = "moved"
    ALREADY_THERE = "already_there"
    FULL = "full"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChallengeCounts:
    """How full a challenge is."""

    challenge_id: str
    members: int
    capacity: int
    config_capacity: int
    waiting: int
    removed: bool

    @property
    def free(self) -> int:
        """Places left (0 when full or over capacity)."""
        return max(0, self.capacity - self.members)

    @property
    def is_full(self) -> bool:
        """No place left."""
        return self.members >= self.capacity


@dataclass(frozen=True)
class TeamMember:
    """What a team page shows of a member: the name they chose and their role id."""

    participant_id: int
    telegram_id: int
    display_name: str
    role: str | None
    language: str


@dataclass(frozen=True)
class PersonStatus:
    """A participant's team and waiting-list position, if any."""

    challenge_id: str | None = None
    joined_at: datetime | None = None
    waiting_for: str | None = None
    position: int | None = None


class PickingReason(enum.StrEnum):
    """Why team picking is open or closed right now."""

    WINDOW_OPEN = "window_open"
    NOT_YET = "not_yet"  # before the configured opening
    OVER = "over"  # after the configured closing
    FORCED_OPEN = "forced_open"
    FORCED_CLOSED = "forced_closed"


@dataclass(frozen=True)
class PickingStatus:
    """Whether people may pick a challenge now, why, and when the window opens."""

    is_open: bool
    reason: PickingReason
    opens_at: datetime
    closes_at: datetime


class BalanceFlag(enum.StrEnum):
    """Something organisers should look at in a team."""

    EMPTY = "empty"
    OVER_CAPACITY = "over_capacity"
    NO_RESIDENT = "no_resident"
    MOSTLY_STUDENTS = "mostly_students"
    SINGLE_ROLE = "single_role"


RESIDENT_ROLE = "resident"
STUDENT_ROLE = "student"
SINGLE_ROLE_MIN_SIZE = 4


# ---- pure rules ----------------------------------------------------------------------------------


def picking_status(
    window: tuple[datetime, datetime], override: PickingOverride | None, now: datetime
) -> PickingStatus:
    """Whether picking is open at `now`: the organisers' override wins over the configured window."""
    opens, closes = window
    if override is PickingOverride.OPEN:
        return PickingStatus(True, PickingReason.FORCED_OPEN, opens, closes)
    if override is PickingOverride.CLOSED:
        return PickingStatus(False, PickingReason.FORCED_CLOSED, opens, closes)
    if now < opens:
        return PickingStatus(False, PickingReason.NOT_YET, opens, closes)
    if now >= closes:
        return PickingStatus(False, PickingReason.OVER, opens, closes)
    return PickingStatus(True, PickingReason.WINDOW_OPEN, opens, closes)


def balance_flags(
    members: int, capacity: int, roles: Mapping[str | None, int], known_roles: Iterable[str]
) -> list[BalanceFlag]:
    """What looks unbalanced in a team of `members` people with this role breakdown.

    The resident and student rules only apply when the event offers those roles.
    """
    known = set(known_roles)
    flags: list[BalanceFlag] = []
    if members == 0:
        return [BalanceFlag.EMPTY]
    if members > capacity:
        flags.append(BalanceFlag.OVER_CAPACITY)
    if RESIDENT_ROLE in known and roles.get(RESIDENT_ROLE, 0) == 0:
        flags.append(BalanceFlag.NO_RESIDENT)
    if STUDENT_ROLE in known and roles.get(STUDENT_ROLE, 0) * 2 > members:
        flags.append(BalanceFlag.MOSTLY_STUDENTS)
    if members >= SINGLE_ROLE_MIN_SIZE and len([r for r, n in roles.items() if n > 0]) == 1:
        flags.append(BalanceFlag.SINGLE_ROLE)
    return flags


# ---- reading -------------------------------------------------------------------------------------


async def all_counts(session: AsyncSession) -> dict[str, ChallengeCounts]:
    """Fill level of every known challenge (removed ones included, flagged), by id."""
    waiting_rows = await session.execute(
        select(WaitlistEntry.challenge_id, func.count()).group_by(WaitlistEntry.challenge_id)
    )
    waiting = {cid: count for cid, count in waiting_rows}
    rows = await session.execute(
        select(
            ChallengeState.challenge_id,
            ChallengeState.members,
            _capacity_of(),
            ChallengeState.config_capacity,
            ChallengeState.removed,
        )
    )
    return {
        cid: ChallengeCounts(cid, members, capacity, config_capacity, int(waiting.get(cid, 0)), removed)
        for cid, members, capacity, config_capacity, removed in rows
    }


async def counts_of(session: AsyncSession, challenge_id: str) -> ChallengeCounts | None:
    """Fill level of one challenge, None if it was never configured."""
    row = (
        await session.execute(
            select(
                ChallengeState.members,
                _capacity_of(),
                ChallengeState.config_capacity,
                ChallengeState.removed,
            ).where(ChallengeState.challenge_id == challenge_id)
        )
    ).one_or_none()
    if row is None:
        return None
    waiting = await session.scalar(
        select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.challenge_id == challenge_id)
    )
    members, capacity, config_capacity, removed = row
    return ChallengeCounts(challenge_id, members, capacity, config_capacity, int(waiting or 0), removed)


async def _position(session: AsyncSession, entry_id: int, challenge_id: str) -> int:
    """1-based place in the waiting list of the entry `entry_id`."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(WaitlistEntry.challenge_id == challenge_id, WaitlistEntry.id <= entry_id)
    )
    return int(ahead or 0)


async def status_of(session: AsyncSession, participant_id: int) -> PersonStatus:
    """The person's team and waiting-list position (empty status if neither)."""
    member = await session.execute(
        select(ChallengeMember.challenge_id, ChallengeMember.joined_at).where(
            ChallengeMember.participant_id == participant_id
        )
    )
    team = member.one_or_none()
    entry = (
        await session.execute(
            select(WaitlistEntry.id, WaitlistEntry.challenge_id).where(
                WaitlistEntry.participant_id == participant_id
            )
        )
    ).one_or_none()
    position = await _position(session, entry[0], entry[1]) if entry is not None else None
    return PersonStatus(
        challenge_id=team[0] if team else None,
        joined_at=team[1] if team else None,
        waiting_for=entry[1] if entry else None,
        position=position,
    )


async def challenge_of(session: AsyncSession, telegram_id: int) -> str | None:
    """The challenge id of a Telegram user's team, None if they have none (for other features)."""
    return await session.scalar(
        select(ChallengeMember.challenge_id)
        .join(Participant, Participant.id == ChallengeMember.participant_id)
        .where(Participant.telegram_id == telegram_id)
    )


async def members_of(session: AsyncSession, challenge_id: str) -> list[TeamMember]:
    """The team of a challenge, in the order people joined."""
    rows = await session.execute(
        select(
            Participant.id,
            Participant.telegram_id,
            Participant.display_name,
            Participant.role,
            Participant.language,
        )
        .join(ChallengeMember, ChallengeMember.participant_id == Participant.id)
        .where(ChallengeMember.challenge_id == challenge_id)
        .order_by(ChallengeMember.joined_at, ChallengeMember.id)
    )
    return [TeamMember(*row) for row in rows]


async def waitlist_of(session: AsyncSession, challenge_id: str) -> list[int]:
    """Participant ids waiting for a challenge, first in line first."""
    return list(
        await session.scalars(
            select(WaitlistEntry.participant_id)
            .where(WaitlistEntry.challenge_id == challenge_id)
            .order_by(WaitlistEntry.id)
        )
    )


async def role_breakdown(session: AsyncSession) -> dict[str, Counter[str | None]]:
    """For each challenge, how many members have each role."""
    rows = await session.execute(
        select(ChallengeMember.challenge_id, Participant.role, func.count())
        .join(Participant, Participant.id == ChallengeMember.participant_id)
        .group_by(ChallengeMember.challenge_id, Participant.role)
    )
    breakdown: dict[str, Counter[str | None]] = {}
    for challenge_id, role, count in rows:
        breakdown.setdefault(challenge_id, Counter())[role] = count
    return breakdown


async def teamless_count(session: AsyncSession) -> int:
    """Registered participants who are in no team yet."""
    in_team = select(ChallengeMember.participant_id)
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.status == ParticipantStatus.ACTIVE, Participant.id.not_in(in_team))
        )
        or 0
    )


async def find_participants(session: AsyncSession, query: str, limit: int = 10) -> list[Participant]:
    """Participants matching a Telegram id (digits) or a name (case-insensitive, whole name first)."""
    query = query.strip()
    if query.isdigit():
        found = await session.scalar(select(Participant).where(Participant.telegram_id == int(query)))
        return [found] if found is not None else []
    lowered = query.lower()
    exact = list(
        await session.scalars(
            select(Participant).where(func.lower(Participant.display_name) == lowered).limit(limit)
        )
    )
    if exact:
        return exact
    pattern = "%" + lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        await session.scalars(
            select(Participant)
            .where(func.lower(Participant.display_name).like(pattern, escape="\\"))
            .order_by(Participant.display_name)
            .limit(limit)
        )
    )


async def stored_titles(session: AsyncSession, challenge_ids: Iterable[str]) -> dict[str, str]:
    """Titles last seen in the event file, for challenges the file may no longer have."""
    rows = await session.execute(
        select(ChallengeState.challenge_id, ChallengeState.title).where(
            ChallengeState.challenge_id.in_(sorted(set(challenge_ids))), ChallengeState.title.is_not(None)
        )
    )
    return {cid: title for cid, title in rows if title}


async def picking_override(session: AsyncSession) -> PickingOverride | None:
    """The organisers' override, None when the configured window applies."""
    value = await session.scalar(select(TeamPickingState.override).where(TeamPickingState.id == 1))
    return PickingOverride(value) if value else None


async def current_picking_status(
    session: AsyncSession, window: tuple[datetime, datetime], now: datetime
) -> PickingStatus:
    """`picking_status` with the override read from the database."""
    return picking_status(window, await picking_override(session), now)


# ---- changing: internals -------------------------------------------------------------------------


async def _lock(session: AsyncSession, challenge_ids: Iterable[str] | None = None) -> None:
    """Lock state rows in id order (all of them when `challenge_ids` is None).

    A no-op on SQLite, where `Database.transaction()` already runs one writer at a time.
    """
    statement = select(ChallengeState.challenge_id).order_by(ChallengeState.challenge_id).with_for_update()
    if challenge_ids is not None:
        statement = statement.where(ChallengeState.challenge_id.in_(sorted(set(challenge_ids))))
    await session.execute(statement)


async def _take_place(session: AsyncSession, challenge_id: str) -> bool:
    """Take one place if one is left: the database decides, atomically."""
    taken = await session.scalar(
        update(ChallengeState)
        .where(
            ChallengeState.challenge_id == challenge_id,
            ChallengeState.removed.is_(False),
            ChallengeState.members < _capacity_of(),
        )
        .values(members=ChallengeState.members + 1)
        .returning(ChallengeState.members)
        .execution_options(synchronize_session=False)
    )
    return taken is not None


async def _release_place(session: AsyncSession, challenge_id: str) -> None:
    await session.execute(
        update(ChallengeState)
        .where(ChallengeState.challenge_id == challenge_id, ChallengeState.members > 0)
        .values(members=ChallengeState.members - 1)
        .execution_options(synchronize_session=False)
    )


async def _membership(session: AsyncSession, participant_id: int) -> str | None:
    return await session.scalar(
        select(ChallengeMember.challenge_id).where(ChallengeMember.participant_id == participant_id)
    )


async def _remove_member(session: AsyncSession, participant_id: int) -> str | None:
    """Take the person out of their team; returns the challenge they left (its place is released)."""
    left = await session.scalar(
        delete(ChallengeMember)
        .where(ChallengeMember.participant_id == participant_id)
        .returning(ChallengeMember.challenge_id)
        .execution_options(synchronize_session=False)
    )
    if left is not None:
        await _release_place(session, left)
    return left


async def _remove_from_waitlist(session: AsyncSession, participant_id: int) -> str | None:
    return await session.scalar(
        delete(WaitlistEntry)
        .where(WaitlistEntry.participant_id == participant_id)
        .returning(WaitlistEntry.challenge_id)
        .execution_options(synchronize_session=False)
    )


async def _add_member(
    session: AsyncSession, participant_id: int, challenge_id: str, via: JoinedVia, now: datetime
) -> None:
    session.add(
        ChallengeMember(
            participant_id=participant_id, challenge_id=challenge_id, joined_at=now, via=via.value
        )
    )
    await session.flush()


async def _enqueue(session: AsyncSession, participant_id: int, challenge_id: str, now: datetime) -> int:
    """Put the person at the end of a waiting list (leaving any other); returns their position."""
    await _remove_from_waitlist(session, participant_id)
    entry = WaitlistEntry(participant_id=participant_id, challenge_id=challenge_id, queued_at=now)
    session.add(entry)
    await session.flush()
    return await _position(session, entry.id, challenge_id)


def _notice(
    session: AsyncSession,
    participant_id: int,
    kind: NoticeKind,
    challenge_id: str,
    previous: str | None,
    now: datetime,
) -> None:
    session.add(
        ChallengeNotice(
            participant_id=participant_id,
            kind=kind.value,
            challenge_id=challenge_id,
            previous_challenge_id=previous,
            created_at=now,
        )
    )


async def _promote(session: AsyncSession, challenge_ids: Iterable[str], now: datetime) -> int:
    """Fill freed places from the waiting lists, first come first served; returns how many moved.

    A promoted person who was in another team leaves it, which frees a place there in turn; the
    chain ends because every step removes one waiting-list entry. Callers hold every state lock.
    """
    pending = list(dict.fromkeys(challenge_ids))
    promoted = 0
    while pending:
        challenge_id = pending.pop(0)
        while True:
            head = (
                await session.execute(
                    select(WaitlistEntry.id, WaitlistEntry.participant_id)
                    .where(WaitlistEntry.challenge_id == challenge_id)
                    .order_by(WaitlistEntry.id)
                    .limit(1)
                )
            ).one_or_none()
            if head is None or not await _take_place(session, challenge_id):
                break
            entry_id, participant_id = head
            await session.execute(
                delete(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id)
                .execution_options(synchronize_session=False)
            )
            previous = await _remove_member(session, participant_id)
            await _add_member(session, participant_id, challenge_id, JoinedVia.WAITLIST, now)
            _notice(session, participant_id, NoticeKind.PROMOTED, challenge_id, previous, now)
            promoted += 1
            if previous is not None and previous not in pending:
                pending.append(previous)
    return promoted


async def _known(session: AsyncSession, challenge_id: str) -> bool:
    removed = await session.scalar(
        select(ChallengeState.removed).where(ChallengeState.challenge_id == challenge_id)
    )
    return removed is False


# ---- changing: what people do --------------------------------------------------------------------


async def join(session: AsyncSession, participant_id: int, challenge_id: str, now: datetime) -> JoinResult:
    """Press "Join this challenge": a place if one is left, else the waiting list.

    Someone already in another team gets `NEEDS_SWITCH` (the caller asks for confirmation, then
    calls `switch`). Joining directly drops any other waiting-list entry of the person.
    """
    if not await _known(session, challenge_id):
        return JoinResult(JoinOutcome.UNKNOWN, challenge_id)
    current = await _membership(session, participant_id)
    if current == challenge_id:
        return JoinResult(JoinOutcome.ALREADY_MEMBER, challenge_id)
    if current is not None:
        return JoinResult(JoinOutcome.NEEDS_SWITCH, challenge_id, previous=current)
    await _lock(session, [challenge_id])
    waiting = await session.execute(
        select(WaitlistEntry.id, WaitlistEntry.challenge_id).where(
            WaitlistEntry.participant_id == participant_id
        )
    )
    entry = waiting.one_or_none()
    if entry is not None and entry[1] == challenge_id:
        return JoinResult(
            JoinOutcome.ALREADY_WAITING, challenge_id, position=await _position(session, *entry)
        )
    if await _take_place(session, challenge_id):
        await _remove_from_waitlist(session, participant_id)
        await _add_member(session, participant_id, challenge_id, JoinedVia.SELF, now)
        return JoinResult(JoinOutcome.JOINED, challenge_id)
    position = await _enqueue(session, participant_id, challenge_id, now)
    return JoinResult(JoinOutcome.WAITLISTED, challenge_id, position=position)


async def switch(
    session: AsyncSession, participant_id: int, from_id: str, to_id: str, now: datetime
) -> JoinResult:
    """Confirmed "Leave X and join Y": move if Y has a place, else wait for Y while staying in X.

    `STALE` when the person is no longer in X (an old confirmation button).
    """
    if not await _known(session, to_id):
        return JoinResult(JoinOutcome.UNKNOWN, to_id)
    await _lock(session)
    current = await _membership(session, participant_id)
    if current == to_id:
        return JoinResult(JoinOutcome.ALREADY_MEMBER, to_id)
    if current != from_id:
        return JoinResult(JoinOutcome.STALE, to_id, previous=current)
    if not await _take_place(session, to_id):
        entry = (
            await session.execute(
                select(WaitlistEntry.id).where(
                    WaitlistEntry.participant_id == participant_id, WaitlistEntry.challenge_id == to_id
                )
            )
        ).scalar_one_or_none()
        if entry is not None:
            position = await _position(session, entry, to_id)
            return JoinResult(JoinOutcome.ALREADY_WAITING, to_id, previous=from_id, position=position)
        position = await _enqueue(session, participant_id, to_id, now)
        return JoinResult(JoinOutcome.WAITLISTED, to_id, previous=from_id, position=position)
    await _remove_from_waitlist(session, participant_id)
    await _remove_member(session, participant_id)
    await _add_member(session, participant_id, to_id, JoinedVia.SELF, now)
    await _promote(session, [from_id], now)
    return JoinResult(JoinOutcome.SWITCHED, to_id, previous=from_id)


async def leave(session: AsyncSession, participant_id: int, challenge_id: str, now: datetime) -> bool:
    """Leave a team (its first waiting person takes the place); False if not in that team."""
    await _lock(session)
    if await _membership(session, participant_id) != challenge_id:
        return False
    await _remove_member(session, participant_id)
    await _promote(session, [challenge_id], now)
    return True


async def leave_waitlist(session: AsyncSession, participant_id: int, challenge_id: str) -> bool:
    """Stop waiting for a challenge; False if the person was not waiting for it."""
    left = await session.scalar(
        delete(WaitlistEntry)
        .where(WaitlistEntry.participant_id == participant_id, WaitlistEntry.challenge_id == challenge_id)
        .returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)
    )
    return left is not None


# ---- changing: what organisers do ----------------------------------------------------------------


async def move(
    session: AsyncSession, participant_id: int, to_id: str, now: datetime
) -> tuple[MoveOutcome, str | None]:
    """An organiser moves someone to `to_id` (within its capacity); returns the outcome and old team.

    The person is told through a notice; their old team's first waiting person takes the place.
    """
    if not await _known(session, to_id):
        return MoveOutcome.UNKNOWN, None
    await _lock(session)
    current = await _membership(session, participant_id)
    if current == to_id:
        return MoveOutcome.ALREADY_THERE, current
    if not await _take_place(session, to_id):
        return MoveOutcome.FULL, current
    await _remove_from_waitlist(session, participant_id)
    await _remove_member(session, participant_id)
    await _add_member(session, participant_id, to_id, JoinedVia.ORGANISER, now)
    _notice(session, participant_id, NoticeKind.MOVED, to_id, current, now)
    if current is not None:
        await _promote(session, [current], now)
    return MoveOutcome.MOVED, current


async def set_capacity(session: AsyncSession, challenge_id: str, capacity: int, now: datetime) -> int | None:
    """Change a challenge's capacity at runtime; returns how many waiting people got a place.

    Lowering it below the team's size removes nobody: new joins wait. None for an unknown challenge.
    """
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    if not await _known(session, challenge_id):
        return None
    await _lock(session)
    await session.execute(
        update(ChallengeState)
        .where(ChallengeState.challenge_id == challenge_id)
        .values(capacity_override=capacity, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return await _promote(session, [challenge_id], now)


async def set_picking_override(
    session: AsyncSession, override: PickingOverride | None, now: datetime
) -> None:
    """Open or close team picking by hand (None: back to the configured window)."""
    value = override.value if override is not None else None
    row = await session.get(TeamPickingState, 1, populate_existing=True)
    if row is None:
        session.add(TeamPickingState(id=1, override=value, updated_at=now))
    else:
        row.override = value
        row.updated_at = now
    await session.flush()


@dataclass(frozen=True)
class ConfiguredChallenge:
    """What the event file says about a challenge that the database needs to know."""

    challenge_id: str
    capacity: int
    title: str


async def sync_challenges(
    session: AsyncSession, configured: Iterable[ConfiguredChallenge], now: datetime
) -> int:
    """Align the database with the event file's challenges; returns how many people must be told.

    New challenges get a state row; changed capacities are taken (an organiser's override stays);
    challenges no longer in the file are marked removed and their team and waiting list are emptied,
    each person getting a notice to pick again. Counters are recounted from the member rows (a
    participant deleted without `/forget`, e.g. by a retention purge, leaves through the cascade),
    and freed places are offered to waiting people.
    """
    wanted = {c.challenge_id: c for c in configured}
    await _lock(session)
    states = {
        state.challenge_id: state
        for state in await session.scalars(select(ChallengeState).execution_options(populate_existing=True))
    }
    for challenge_id, challenge in wanted.items():
        title = challenge.title[:TITLE_MAX]
        state = states.get(challenge_id)
        if state is None:
            session.add(
                ChallengeState(
                    challenge_id=challenge_id,
                    members=0,
                    config_capacity=challenge.capacity,
                    title=title,
                    updated_at=now,
                )
            )
        elif (state.config_capacity, state.removed, state.title) != (challenge.capacity, False, title):
            state.config_capacity = challenge.capacity
            state.removed = False
            state.title = title
            state.updated_at = now
    told = 0
    for challenge_id, state in states.items():
        if challenge_id in wanted or state.removed:
            continue
        state.removed = True
        state.updated_at = now
        members = list(
            await session.scalars(
                delete(ChallengeMember)
                .where(ChallengeMember.challenge_id == challenge_id)
                .returning(ChallengeMember.participant_id)
                .execution_options(synchronize_session=False)
            )
        )
        waiting = list(
            await session.scalars(
                delete(WaitlistEntry)
                .where(WaitlistEntry.challenge_id == challenge_id)
                .returning(WaitlistEntry.participant_id)
                .execution_options(synchronize_session=False)
            )
        )
        for participant_id in members:
            _notice(session, participant_id, NoticeKind.REMOVED, challenge_id, None, now)
        for participant_id in waiting:
            _notice(session, participant_id, NoticeKind.REMOVED_WAITLIST, challenge_id, None, now)
        told += len(members) + len(waiting)
    await session.flush()
    actual_rows = await session.execute(
        select(ChallengeMember.challenge_id, func.count()).group_by(ChallengeMember.challenge_id)
    )
    actual = {cid: count for cid, count in actual_rows}
    for challenge_id in set(states) | set(wanted):
        await session.execute(
            update(ChallengeState)
            .where(
                ChallengeState.challenge_id == challenge_id,
                ChallengeState.members != int(actual.get(challenge_id, 0)),
            )
            .values(members=int(actual.get(challenge_id, 0)))
            .execution_options(synchronize_session=False)
        )
    told += await _promote(session, sorted(wanted), now)
    return told


# ---- notices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingNotice:
    """A notice with what is needed to write it: who, in which language, about what."""

    id: int
    kind: NoticeKind
    challenge_id: str
    previous_challenge_id: str | None
    telegram_id: int
    language: str


async def take_notices(session: AsyncSession, limit: int = 200) -> list[PendingNotice]:
    """Remove and return pending notices, oldest first (the caller queues them in the same unit of work).

    On PostgreSQL, rows another worker is taking are skipped rather than waited for.
    """
    statement = (
        select(
            ChallengeNotice.id,
            ChallengeNotice.kind,
            ChallengeNotice.challenge_id,
            ChallengeNotice.previous_challenge_id,
            Participant.telegram_id,
            Participant.language,
        )
        .join(Participant, Participant.id == ChallengeNotice.participant_id)
        .order_by(ChallengeNotice.id)
        .limit(limit)
        .with_for_update(of=ChallengeNotice, skip_locked=True)
    )
    rows = [
        PendingNotice(id_, NoticeKind(kind), cid, prev, tg, lang)
        for id_, kind, cid, prev, tg, lang in await session.execute(statement)
    ]
    if rows:
        await session.execute(
            delete(ChallengeNotice)
            .where(ChallengeNotice.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False)
        )
    return rows


async def has_notices(session: AsyncSession) -> bool:
    """Whether any notice waits to be queued (a cheap check for the periodic job)."""
    return await session.scalar(select(ChallengeNotice.id).limit(1)) is not None


# ---- privacy -------------------------------------------------------------------------------------


def challenge_title(event: EventConfig, lang: str, challenge_id: str, stored_title: str | None = None) -> str:
    """A challenge's title in `lang` from the event file.

    For a challenge removed from the file: the title last seen there (`ChallengeState.title`),
    else its id.
    """
    challenge = event.challenge(challenge_id)
    if challenge is not None:
        return challenge.title.get(lang, event.default_language)
    return stored_title or challenge_id


@register_data_provider
async def personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """For /mydata: the person's challenge (title, when, how) and waiting-list place."""
    lang = participant.language
    team = (
        await session.execute(
            select(
                ChallengeMember.challenge_id,
                ChallengeMember.joined_at,
                ChallengeMember.via,
                ChallengeState.title,
            )
            .join(ChallengeState, ChallengeState.challenge_id == ChallengeMember.challenge_id)
            .where(ChallengeMember.participant_id == participant.id)
        )
    ).one_or_none()
    items = [
        DataItem(
            "challenges.label.challenge", challenge_title(event, lang, team[0], team[3]) if team else None
        )
    ]
    if team is not None:
        items.append(DataItem("challenges.label.joined_at", team[1]))
        if team[2] != JoinedVia.SELF.value:
            items.append(DataItem("challenges.label.joined_via", Phrase(f"challenges.mydata_via.{team[2]}")))
    waiting = (
        await session.execute(
            select(WaitlistEntry.id, WaitlistEntry.challenge_id, ChallengeState.title)
            .join(ChallengeState, ChallengeState.challenge_id == WaitlistEntry.challenge_id)
            .where(WaitlistEntry.participant_id == participant.id)
        )
    ).one_or_none()
    if waiting is not None:
        entry_id, challenge_id, stored_title = waiting
        items.append(
            DataItem(
                "challenges.label.waitlist",
                Phrase(
                    "challenges.mydata_waitlist",
                    {
                        "title": challenge_title(event, lang, challenge_id, stored_title),
                        "position": await _position(session, entry_id, challenge_id),
                    },
                ),
            )
        )
    return items


@register_erasure_hook
async def free_places_of(session: AsyncSession, participant: Participant) -> None:
    """/forget: free the person's place (the first waiting person takes it) and their waiting spot.

    Run before the participant row is deleted; the cascade would drop the rows but not the counter.
    """
    now = utcnow()
    await _lock(session)
    await _remove_from_waitlist(session, participant.id)
    left = await _remove_member(session, participant.id)
    if left is not None:
        await _promote(session, [left], now)
