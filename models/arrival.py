"""Arrival at the venue: personal check-in codes, the poster code, check-ins, walk-ins, the headcount.

- A **personal code** (`arrival_codes`) is a random, unguessable token bound to one participant
  and one event (`secrets.token_urlsafe`, unique). It travels in a Telegram deep link
  (`https://t.me/<bot>?start=ci-<code>`) printed on the badge and sent in the chat. The row goes
  with the participant (`/forget`), so an erased person's badge is worthless.
- The **poster code** (`arrival_poster_codes`) is one per event day, for self check-in; an
  organiser can renew it, and the old one stops working at once.
- A **check-in** (`arrival_check_ins`) is one per person per day: the unique constraints make a
  double check-in impossible even when two desk volunteers scan the same badge in the same second.
  Leaving sets `left_at`; coming back the same day clears it.
- A **walk-in** (`arrival_walk_ins`) is someone a desk volunteer registered at the door (no phone,
  no Telegram). They are not `participants` rows: that table is keyed by a Telegram id, and every
  other feature (reminders, announcements, teams) writes to that id. A walk-in counts in the
  headcount and the meals, and receives nothing.

Domain functions take a session and plain values, return typed results and never commit.
"""

from __future__ import annotations

import enum
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import challenges, meals, outbox
from models.base import Base, BigIntPK
from models.participant import DISPLAY_NAME_MAX, Participant, ParticipantStatus
from models.privacy import DataItem, ErasureContext, Phrase, register_data_provider, register_erasure_hook
from models.registration import clean_display_name
from schedule.config import EventConfig

PERSONAL_PREFIX = "ci-"
"""Deep-link payloads of personal codes start with this; the poster's with `POSTER_PREFIX`."""
POSTER_PREFIX = "door-"
CODE_CHARS = 22  # secrets.token_urlsafe(16): 128 random bits
_CODE_MAX = 32
EVENT_ID_MAX = 64


class ArrivedVia(enum.StrEnum):
    """How a person was checked in."""

    DESK = "desk"  # a desk volunteer scanned their badge
    POSTER = "poster"  # they scanned the poster at the entrance themselves
    WALK_IN = "walk_in"  # registered at the desk, without Telegram


class LeftVia(enum.StrEnum):
    """How a person was checked out."""

    SELF = "self"  # "Je pars"
    DESK = "desk"  # the desk's "leaving" button
    END_OF_DAY = "end_of_day"  # still present when the day ended


class ArrivalCode(Base):
    """A participant's personal check-in code (one per person and event)."""

    __tablename__ = "arrival_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_MAX), nullable=False)
    code: Mapped[str] = mapped_column(String(_CODE_MAX), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class PosterCode(Base):
    """The self check-in code of one event day (renewed by replacing `code`)."""

    __tablename__ = "arrival_poster_codes"
    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_MAX), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    code: Mapped[str] = mapped_column(String(_CODE_MAX), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class WalkIn(Base):
    """Someone registered at the desk without Telegram: a name and a role, nothing else."""

    __tablename__ = "arrival_walk_ins"
    __table_args__ = (
        CheckConstraint("length(display_name) > 0", name="display_name_not_empty"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class CheckIn(Base):
    """One person's presence on one day: when they arrived, and when they left (None: still here)."""

    __tablename__ = "arrival_check_ins"
    __table_args__ = (
        # One row per person per day: a double scan can only find the row, never add one.
        UniqueConstraint("day", "participant_id"),
        UniqueConstraint("day", "walk_in_id"),
        CheckConstraint("(participant_id IS NULL) <> (walk_in_id IS NULL)", name="one_person"),
        CheckConstraint("left_at IS NULL OR left_at >= arrived_at", name="leaves_after_arriving"),
        Index("ix_arrival_check_ins_day_left_at", "day", "left_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    walk_in_id: Mapped[int | None] = mapped_column(ForeignKey("arrival_walk_ins.id", ondelete="CASCADE"))
    arrived_at: Mapped[datetime] = mapped_column(nullable=False)
    arrived_via: Mapped[str] = mapped_column(String(16), nullable=False)
    left_at: Mapped[datetime | None] = mapped_column()
    left_via: Mapped[str | None] = mapped_column(String(16))


# ---- codes -------------------------------------------------------------------------------------------


def new_code() -> str:
    """A fresh unguessable code (128 random bits, URL-safe, fits a deep link's 64 characters)."""
    return secrets.token_urlsafe(16)


def deep_link(bot_username: str, payload: str) -> str:
    """The link a QR code carries: opening it in Telegram sends `/start <payload>` to the bot."""
    return f"https://t.me/{bot_username}?start={payload}"


async def personal_code(session: AsyncSession, participant_id: int, event_id: str, now: datetime) -> str:
    """The participant's deep-link payload (`ci-<code>`), created on first use."""
    code = await session.scalar(
        select(ArrivalCode.code).where(
            ArrivalCode.participant_id == participant_id, ArrivalCode.event_id == event_id
        )
    )
    if code is None:
        # A code of an earlier event is replaced: a badge is valid for one event only.
        await session.execute(delete(ArrivalCode).where(ArrivalCode.participant_id == participant_id))
        code = new_code()
        session.add(ArrivalCode(participant_id=participant_id, event_id=event_id, code=code, created_at=now))
        await session.flush()
    return PERSONAL_PREFIX + code


async def poster_code(
    session: AsyncSession, event_id: str, day: date, now: datetime, *, renew: bool = False
) -> str:
    """The deep-link payload of the day's poster (`door-<code>`); `renew` replaces a leaked one."""
    row = await session.scalar(
        select(PosterCode).where(PosterCode.event_id == event_id, PosterCode.day == day).with_for_update()
    )
    if row is None:
        row = PosterCode(event_id=event_id, day=day, code=new_code(), created_at=now)
        session.add(row)
    elif renew:
        row.code = new_code()
        row.created_at = now
    await session.flush()
    return POSTER_PREFIX + row.code


# ---- scanning a link ---------------------------------------------------------------------------------


class ScanRefusal(enum.StrEnum):
    """Why a scanned link changed nothing."""

    UNKNOWN = "unknown"  # forged, truncated, or the person erased their data
    OTHER_EVENT = "other_event"  # a badge of another event
    OWN_CODE = "own_code"  # a participant opened their own badge's link
    NOT_DESK = "not_desk"  # someone who is not at the desk opened another person's link
    POSTER_OLD = "poster_old"  # the poster code of another day, or renewed since
    SELF_CHECK_IN_OFF = "self_check_in_off"  # the event does not offer self check-in
    NOT_REGISTERED = "not_registered"  # the poster, scanned by someone not (fully) registered


@dataclass(frozen=True, slots=True)
class Refused:
    """A scan that changed nothing, and why."""

    reason: ScanRefusal


@dataclass(frozen=True, slots=True)
class DeskCard:
    """What the desk sees after scanning a badge: who, and whether they were already here today."""

    check_in_id: int
    name: str
    role: str | None
    challenge_id: str | None
    needs: meals.Needs
    arrived_at: datetime
    first_time: bool  # checked in by this scan
    came_back: bool  # had left today and came back


@dataclass(frozen=True, slots=True)
class SelfCheckedIn:
    """A registered participant scanned the poster: present (now, or since `arrived_at`)."""

    arrived_at: datetime
    first_time: bool


ScanResult = DeskCard | SelfCheckedIn | Refused


def is_arrival_payload(payload: str) -> bool:
    """Whether a `/start` payload is one of ours (the other features' deep links pass through)."""
    return payload.startswith((PERSONAL_PREFIX, POSTER_PREFIX))


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(CheckIn).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(CheckIn).on_conflict_do_nothing()
    raise NotImplementedError(f"check-in insert-or-ignore is not written for {dialect}")


async def _check_in(
    session: AsyncSession,
    day: date,
    now: datetime,
    via: ArrivedVia,
    *,
    participant_id: int | None = None,
    walk_in_id: int | None = None,
) -> tuple[CheckIn, bool, bool]:
    """Mark one person present today: (row, first time today, came back after leaving).

    Insert-or-ignore against the unique constraint, then read the row: of two scans racing in the
    same second, one inserts and the other finds its row.
    """
    inserted = await session.scalar(
        _insert_ignoring_duplicates(session)
        .values(
            day=day,
            participant_id=participant_id,
            walk_in_id=walk_in_id,
            arrived_at=now,
            arrived_via=via.value,
        )
        .returning(CheckIn.id)
    )
    person = (
        CheckIn.participant_id == participant_id
        if participant_id is not None
        else CheckIn.walk_in_id == walk_in_id
    )
    row = (
        await session.scalars(
            select(CheckIn)
            .where(CheckIn.day == day, person)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    came_back = inserted is None and row.left_at is not None
    if came_back:
        row.left_at = None
        row.left_via = None
        await session.flush()
    return row, inserted is not None, came_back


async def scan(
    session: AsyncSession, event: EventConfig, telegram_id: int, payload: str, day: date, now: datetime
) -> ScanResult:
    """Someone opened an arrival deep link (`payload` as sent after `/start`): decide and act.

    A desk volunteer (or organiser) scanning a badge checks its owner in and gets the desk card;
    a registered participant scanning the day's poster checks in (if the event offers it);
    everything else is refused and changes nothing.
    """
    if payload.startswith(POSTER_PREFIX):
        return await _scan_poster(session, event, telegram_id, payload.removeprefix(POSTER_PREFIX), day, now)
    code = payload.removeprefix(PERSONAL_PREFIX)
    found = None
    if len(code) == CODE_CHARS:
        found = (
            await session.execute(
                select(ArrivalCode.event_id, Participant)
                .join(Participant, Participant.id == ArrivalCode.participant_id)
                .where(ArrivalCode.code == code)
            )
        ).one_or_none()
    if not event.arrival.is_desk(telegram_id, event.organisers):
        # Anyone else learns nothing about the code (valid or not): show it at the desk.
        own = found is not None and found[1].telegram_id == telegram_id
        return Refused(ScanRefusal.OWN_CODE if own else ScanRefusal.NOT_DESK)
    if found is None:
        return Refused(ScanRefusal.UNKNOWN)
    event_id, owner = found
    if event_id != event.id:
        return Refused(ScanRefusal.OTHER_EVENT)
    row, first_time, came_back = await _check_in(session, day, now, ArrivedVia.DESK, participant_id=owner.id)
    return DeskCard(
        check_in_id=row.id,
        name=owner.display_name,
        role=owner.role,
        challenge_id=await challenges.challenge_of(session, owner.telegram_id),
        needs=await meals.get_needs(session, owner.id),
        arrived_at=row.arrived_at,
        first_time=first_time,
        came_back=came_back,
    )


async def _scan_poster(
    session: AsyncSession, event: EventConfig, telegram_id: int, code: str, day: date, now: datetime
) -> ScanResult:
    if not event.arrival.self_check_in:
        return Refused(ScanRefusal.SELF_CHECK_IN_OFF)
    current = await session.scalar(
        select(PosterCode.code).where(PosterCode.event_id == event.id, PosterCode.day == day)
    )
    if current is None or not secrets.compare_digest(current, code):
        return Refused(ScanRefusal.POSTER_OLD)
    person = await session.scalar(select(Participant).where(Participant.telegram_id == telegram_id))
    if person is None or person.status is not ParticipantStatus.ACTIVE:
        return Refused(ScanRefusal.NOT_REGISTERED)
    row, first_time, _ = await _check_in(session, day, now, ArrivedVia.POSTER, participant_id=person.id)
    return SelfCheckedIn(row.arrived_at, first_time)


async def check_in_after_registration(
    session: AsyncSession, telegram_id: int, day: date, now: datetime
) -> SelfCheckedIn | None:
    """A newcomer who scanned the poster finished registering: present from now (None if not active)."""
    person = await session.scalar(select(Participant).where(Participant.telegram_id == telegram_id))
    if person is None or person.status is not ParticipantStatus.ACTIVE:
        return None
    row, first_time, _ = await _check_in(session, day, now, ArrivedVia.POSTER, participant_id=person.id)
    return SelfCheckedIn(row.arrived_at, first_time)


# ---- leaving -----------------------------------------------------------------------------------------


class LeaveOutcome(enum.StrEnum):
    """What "leaving" did."""

    LEFT = "left"
    NOT_HERE = "not_here"  # not checked in today, or already left


@dataclass(frozen=True, slots=True)
class Left:
    """The result of a check-out: who (for the desk), and what happened."""

    outcome: LeaveOutcome
    name: str | None = None
    left_at: datetime | None = None


async def leave(session: AsyncSession, telegram_id: int, day: date, now: datetime) -> Left:
    """The participant pressed "Je pars": no longer in the building."""
    row = (
        await session.execute(
            select(CheckIn, Participant.display_name)
            .join(Participant, Participant.id == CheckIn.participant_id)
            .where(Participant.telegram_id == telegram_id, CheckIn.day == day)
            .with_for_update(of=CheckIn)
        )
    ).one_or_none()
    return _leave(row[0] if row else None, row[1] if row else None, now, LeftVia.SELF)


async def desk_checks_out(session: AsyncSession, check_in_id: int, day: date, now: datetime) -> Left:
    """The desk's "leaving" button on a desk card (or a walk-in's line)."""
    check_in = await session.scalar(
        select(CheckIn).where(CheckIn.id == check_in_id, CheckIn.day == day).with_for_update()
    )
    return _leave(check_in, await _name_of(session, check_in), now, LeftVia.DESK)


async def _name_of(session: AsyncSession, check_in: CheckIn | None) -> str | None:
    if check_in is None:
        return None
    if check_in.participant_id is not None:
        return await session.scalar(
            select(Participant.display_name).where(Participant.id == check_in.participant_id)
        )
    return await session.scalar(select(WalkIn.display_name).where(WalkIn.id == check_in.walk_in_id))


def _leave(check_in: CheckIn | None, name: str | None, now: datetime, via: LeftVia) -> Left:
    if check_in is None or check_in.left_at is not None:
        return Left(LeaveOutcome.NOT_HERE, name)
    check_in.left_at = max(now, check_in.arrived_at)
    check_in.left_via = via.value
    return Left(LeaveOutcome.LEFT, name, check_in.left_at)


async def end_of_day(session: AsyncSession, day: date, at: datetime) -> int:
    """Check out everyone still present on `day` at `at` (the day's end); returns how many."""
    still_here = (CheckIn.day == day, CheckIn.left_at.is_(None))
    done = 0
    for arrived_before, left_at in ((True, at), (False, CheckIn.arrived_at)):
        # Someone who arrived after the day's end (a late scan) leaves when they arrived.
        when = CheckIn.arrived_at <= at if arrived_before else CheckIn.arrived_at > at
        result = await session.execute(
            update(CheckIn)
            .where(*still_here, when)
            .values(left_at=left_at, left_via=LeftVia.END_OF_DAY.value)
            .execution_options(synchronize_session=False)
        )
        done += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return done


async def open_days_before(session: AsyncSession, day: date) -> list[date]:
    """Days before `day` with someone still marked present (an end of day missed while stopped)."""
    rows = await session.scalars(
        select(CheckIn.day)
        .where(CheckIn.day < day, CheckIn.left_at.is_(None))
        .distinct()
        .order_by(CheckIn.day)
    )
    return list(rows)


# ---- walk-ins ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalkInRegistered:
    """A walk-in registered and present: their row, name and check-in."""

    walk_in_id: int
    check_in_id: int
    name: str
    role: str | None


async def register_walk_in(
    session: AsyncSession, raw_name: str | None, day: date, now: datetime
) -> WalkInRegistered | None:
    """Register someone at the desk by name (cleaned: 64 characters at most) and mark them present.

    None when no usable name is left. The role comes with `set_walk_in_role` (one tap).
    """
    name = clean_display_name(raw_name)
    if name is None:
        return None
    walk_in = WalkIn(display_name=name, created_at=now)
    session.add(walk_in)
    await session.flush()
    row, _, _ = await _check_in(session, day, now, ArrivedVia.WALK_IN, walk_in_id=walk_in.id)
    return WalkInRegistered(walk_in.id, row.id, name, None)


async def set_walk_in_role(
    session: AsyncSession, walk_in_id: int, role_id: str, offered: Sequence[str]
) -> WalkInRegistered | None:
    """Give a walk-in a role the event offers; None for an unknown walk-in or role."""
    walk_in = await session.get(WalkIn, walk_in_id)
    if walk_in is None or role_id not in offered:
        return None
    walk_in.role = role_id
    check_in_id = await session.scalar(
        select(CheckIn.id).where(CheckIn.walk_in_id == walk_in_id).order_by(CheckIn.day.desc()).limit(1)
    )
    await session.flush()
    return WalkInRegistered(walk_in.id, int(check_in_id or 0), walk_in.display_name, role_id)


# ---- the headcount -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attendee:
    """One line of the arrivals list (participants and walk-ins alike)."""

    check_in_id: int | None
    name: str
    role: str | None
    challenge_id: str | None
    walk_in: bool
    arrived_at: datetime | None
    left_at: datetime | None
    arrived_via: str | None

    @property
    def present(self) -> bool:
        """In the building now."""
        return self.arrived_at is not None and self.left_at is None


@dataclass(frozen=True, slots=True)
class Headcount:
    """Who is here on `day`: the figures organisers ask for, and the list behind them."""

    day: date
    attendees: list[Attendee]  # everyone checked in today, then the registered who did not arrive
    present_by_role: Counter[str | None] = field(default_factory=Counter)
    present_by_team: Counter[str | None] = field(default_factory=Counter)

    @property
    def present(self) -> int:
        """In the building now."""
        return sum(1 for person in self.attendees if person.present)

    @property
    def arrived(self) -> int:
        """Arrived today (present or left since)."""
        return sum(1 for person in self.attendees if person.arrived_at is not None)

    @property
    def walk_ins(self) -> int:
        """Walk-ins who arrived today."""
        return sum(1 for person in self.attendees if person.walk_in and person.arrived_at is not None)

    @property
    def not_arrived(self) -> list[Attendee]:
        """Registered participants who have not arrived today."""
        return [person for person in self.attendees if person.arrived_at is None]

    def arrivals_over_time(self, step: timedelta = timedelta(minutes=15)) -> list[tuple[datetime, int]]:
        """Cumulated arrivals at each `step` (start of each slot, arrivals so far)."""
        times = sorted(p.arrived_at for p in self.attendees if p.arrived_at is not None)
        if not times:
            return []
        start = times[0].replace(minute=times[0].minute - times[0].minute % 15, second=0, microsecond=0)
        points: list[tuple[datetime, int]] = []
        slot, index = start, 0
        while index < len(times):
            slot_end = slot + step
            while index < len(times) and times[index] < slot_end:
                index += 1
            points.append((slot_end, index))
            slot = slot_end
        return points


async def _teams(session: AsyncSession) -> dict[int, str]:
    """Each participant's challenge (participants without a team are left out)."""
    rows = await session.execute(
        select(challenges.ChallengeMember.participant_id, challenges.ChallengeMember.challenge_id)
    )
    return {participant_id: challenge_id for participant_id, challenge_id in rows.all()}


async def headcount(session: AsyncSession, day: date) -> Headcount:
    """Everyone checked in on `day` (with their team) and every registered person who was not."""
    teams = await _teams(session)
    attendees: list[Attendee] = []
    seen: set[int] = set()
    rows = await session.execute(
        select(CheckIn, Participant.display_name, Participant.role, WalkIn.display_name, WalkIn.role)
        .outerjoin(Participant, Participant.id == CheckIn.participant_id)
        .outerjoin(WalkIn, WalkIn.id == CheckIn.walk_in_id)
        .where(CheckIn.day == day)
        .order_by(CheckIn.arrived_at, CheckIn.id)
    )
    for check_in, name, role, walk_in_name, walk_in_role in rows.all():
        walk_in = check_in.walk_in_id is not None
        if check_in.participant_id is not None:
            seen.add(check_in.participant_id)
        attendees.append(
            Attendee(
                check_in_id=check_in.id,
                name=walk_in_name if walk_in else name,
                role=walk_in_role if walk_in else role,
                challenge_id=None if walk_in else teams.get(check_in.participant_id or 0),
                walk_in=walk_in,
                arrived_at=check_in.arrived_at,
                left_at=check_in.left_at,
                arrived_via=check_in.arrived_via,
            )
        )
    registered = await session.execute(
        select(Participant.id, Participant.display_name, Participant.role)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .order_by(Participant.display_name, Participant.id)
    )
    for participant_id, name, role in registered.all():
        if participant_id not in seen:
            attendees.append(Attendee(None, name, role, teams.get(participant_id), False, None, None, None))
    count = Headcount(day, attendees)
    for person in attendees:
        if person.present:
            count.present_by_role[person.role] += 1
            count.present_by_team[person.challenge_id] += 1
    return count


async def present_now(session: AsyncSession) -> int:
    """How many people are in the building now (participants and walk-ins, any day still open)."""
    return int(
        await session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.left_at.is_(None))) or 0
    )


def present_participant_ids() -> Any:
    """Ids of participants in the building now (a subquery, for the announcement audience)."""
    return select(CheckIn.participant_id).where(
        CheckIn.participant_id.is_not(None), CheckIn.left_at.is_(None)
    )


def arrived_participant_ids(day: date) -> Any:
    """Ids of participants checked in on `day` (a subquery: "registered but not arrived" is the rest)."""
    return select(CheckIn.participant_id).where(CheckIn.day == day, CheckIn.participant_id.is_not(None))


# ---- badges ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Badge:
    """What a printed badge shows: the name large, the role, the challenge, the QR's payload."""

    name: str
    role: str | None
    challenge_id: str | None
    payload: str


async def badges(session: AsyncSession, event_id: str, now: datetime) -> list[Badge]:
    """A badge for every registered participant, by name (codes created for those without one)."""
    people = list(
        await session.scalars(
            select(Participant)
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .order_by(Participant.display_name, Participant.id)
        )
    )
    teams = await _teams(session)
    statement = select(ArrivalCode.participant_id, ArrivalCode.code).where(ArrivalCode.event_id == event_id)
    codes: dict[int, str] = {pid: code for pid, code in (await session.execute(statement)).all()}
    result = []
    for person in people:
        code = codes.get(person.id)
        payload = PERSONAL_PREFIX + code if code else await personal_code(session, person.id, event_id, now)
        result.append(Badge(person.display_name, person.role, teams.get(person.id), payload))
    return result


async def queue_badge_notices(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, button: str
) -> int:
    """The day before: tell every registered participant their badge is ready (a button shows the QR).

    `button` is the callback data of the "my badge" button. One message per person and event
    (dedupe key), so a restart or a second run sends nothing twice.
    """
    people = (
        await session.execute(
            select(Participant.id, Participant.telegram_id, Participant.language).where(
                Participant.status == ParticipantStatus.ACTIVE
            )
        )
    ).all()
    rows = [
        outbox.NewMessage(
            chat_id=telegram_id,
            method="sendMessage",
            payload=outbox.text_message(
                texts.text(lang, "arrival.badge_notice", event=event.name.get(lang, event.default_language)),
                [[(texts.label(lang, "arrival.button.badge"), button)]],
            ),
            dedupe_key=f"arrival:badge-notice:{event.id}:{participant_id}",
            purpose="arrival",
        )
        for participant_id, telegram_id, lang in people
    ]
    return len(await outbox.enqueue_many(session, rows))


def day_end(event: EventConfig, day: date) -> datetime:
    """When `day` ends for the automatic check-out (the configured local time, next day if past midnight)."""
    end = event.arrival.check_out_at
    at = datetime.combine(day, end, tzinfo=event.tz)
    return at + timedelta(days=1) if end < time(6, 0) else at


# ---- privacy -----------------------------------------------------------------------------------------


@register_data_provider
async def _personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """`/mydata`: each day's arrival and departure times, and that a badge code exists."""
    items: list[DataItem] = []
    has_code = await session.scalar(
        select(func.count()).select_from(ArrivalCode).where(ArrivalCode.participant_id == participant.id)
    )
    if has_code:
        items.append(DataItem("arrival.label.code", Phrase("arrival.mydata_code")))
    rows = await session.scalars(
        select(CheckIn).where(CheckIn.participant_id == participant.id).order_by(CheckIn.day)
    )
    for row in rows:
        items.append(DataItem("arrival.label.arrived", row.arrived_at))
        if row.left_at is not None:
            items.append(DataItem("arrival.label.left", row.left_at))
    return items


@register_erasure_hook
async def _erase(session: AsyncSession, participant: Participant, _erasure: ErasureContext | None) -> None:
    """`/forget`: the check-ins and the badge code go (the printed badge no longer works)."""
    await session.execute(delete(CheckIn).where(CheckIn.participant_id == participant.id))
    await session.execute(delete(ArrivalCode).where(ArrivalCode.participant_id == participant.id))


async def erase_walk_ins(session: AsyncSession) -> int:
    """Delete every walk-in (and their check-ins): for the end of the retention period."""
    result = await session.execute(delete(WalkIn))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def presence_by_day(session: AsyncSession, days: Sequence[date], today: date) -> dict[date, int]:
    """For meal counts: on `today`, who is in the building now; on other days, who came that day."""
    counts = dict.fromkeys(days, 0)
    rows = await session.execute(
        select(CheckIn.day, func.count())
        .where(CheckIn.day.in_(list(days)), (CheckIn.day != today) | CheckIn.left_at.is_(None))
        .group_by(CheckIn.day)
    )
    for day, count in rows.all():
        counts[day] = int(count)
    return counts
