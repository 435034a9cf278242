"""Challenges and teams: who picked which challenge, the waiting lists, and the rules of picking.

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

Every rule is enforced here: the picking window and the organisers' override, whether the event
allows changing team, capacity, the waiting list's order. Someone who did not act themselves
(promoted from the waiting list, moved by an organiser, their challenge removed) is told through
`models.outbox`, in the transaction of the change: the functions that may cause it take the event
(titles in the person's language) and the catalog (`outbox.Texts`).

Locking: operations that may promote waiting people touch several challenges, so they lock every
state row in id order first (no deadlock on PostgreSQL); a plain join locks only its challenge.
Domain functions take a session and plain values, never Telegram objects, and never commit; they
return what the caller needs to show the result (`TeamChange`), so it has nothing to read again.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    case,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from models import outbox
from models.base import Base, BigIntPK, utcnow
from models.participant import Participant, ParticipantStatus
from models.privacy import (
    DataItem,
    ErasureContext,
    Phrase,
    register_data_provider,
    register_erasure_hook,
)
from schedule.config import EventConfig

CHALLENGE_ID_LEN = 20
TITLE_MAX = 200
NOTICE_PURPOSE = "challenges"
"""The outbox purpose of the messages to people whose team changed without them acting."""
TEAM_BUTTON = "ch:team"
LIST_BUTTON = "ch:list"
"""Callback data of the buttons under those messages (the team page, the list of challenges)."""


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
    """What happened to someone who did not act themselves (the catalog key `challenges.notice_<kind>`)."""

    PROMOTED = "promoted"  # a place freed up: moved from the waiting list into the team
    MOVED = "moved"  # an organiser moved them to another challenge
    REMOVED = "removed"  # their challenge was removed from the event file
    REMOVED_WAITLIST = "removed_waitlist"  # the challenge they waited for was removed


# ---- results -------------------------------------------------------------------------------------


class TeamOutcome(enum.StrEnum):
    """What a participant's tap did (join, confirmed switch, leave, stop waiting)."""

    JOINED = "joined"
    SWITCHED = "switched"  # left `previous` and joined
    WAITLISTED = "waitlisted"  # full: now on the waiting list at `position`
    ALREADY_MEMBER = "already_member"
    ALREADY_WAITING = "already_waiting"
    NEEDS_SWITCH = "needs_switch"  # in another team (`previous`): ask "leave X and join Y?"
    LEFT = "left"
    LEFT_WAITLIST = "left_waitlist"
    STALE = "stale"  # the button no longer matches the person's team (an old confirmation)
    UNKNOWN = "unknown"  # no such challenge (forged button or removed from the file)
    PICKING_NOT_YET = "picking_not_yet"  # refused: the window opens later
    PICKING_OVER = "picking_over"  # refused: the window is over
    PICKING_CLOSED = "picking_closed"  # refused: the organisers closed picking
    CHANGES_NOT_ALLOWED = "changes_not_allowed"  # refused: the event lets nobody change team


JoinOutcome = TeamOutcome
"""The name other features' tests use when they seed a team with `join`."""


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


class MoveOutcome(enum.StrEnum):
    """What an organiser's move did."""

    MOVED = "moved"
    ALREADY_THERE = "already_there"
    FULL = "full"
    UNKNOWN = "unknown"
    NOBODY = "nobody"  # nobody matches the search
    AMBIGUOUS = "ambiguous"  # several people match: `candidates`


@dataclass(frozen=True)
class ChallengeCard:
    """What a challenge's card shows one person: how full it is, their status, whether picking is open."""

    counts: ChallengeCounts
    person: PersonStatus
    picking: PickingStatus


@dataclass(frozen=True)
class TeamChange:
    """The result of a participant's tap, with everything needed to answer it.

    `card` is the challenge's card after the change (None for an unknown challenge, or when the
    caller gave no event); `picking` why a refusal was made; `notified` how many messages to other
    people were queued (the caller wakes the sender after the commit).
    """

    outcome: TeamOutcome
    challenge_id: str
    previous: str | None = None
    position: int | None = None
    card: ChallengeCard | None = None
    picking: PickingStatus | None = None
    notified: int = 0


@dataclass(frozen=True)
class TeamPage:
    """A team as its members see it."""

    challenge_id: str
    counts: ChallengeCounts
    members: list[TeamMember]


@dataclass(frozen=True)
class TeamsOverview:
    """Every team at a glance, for organisers."""

    counts: dict[str, ChallengeCounts]
    roles: dict[str, Counter[str | None]]
    teamless: int
    picking: PickingStatus


@dataclass(frozen=True)
class Candidate:
    """Someone an organiser's search found."""

    participant_id: int
    telegram_id: int
    display_name: str


@dataclass(frozen=True)
class MoveResult:
    """An organiser's move: what happened, to whom, and how full the target is now."""

    outcome: MoveOutcome
    previous: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    counts: ChallengeCounts | None = None
    notified: int = 0


@dataclass(frozen=True)
class CapacityChange:
    """A capacity changed: how many waiting people got a place, and how full the challenge is now."""

    promoted: int
    counts: ChallengeCounts
    notified: int = 0


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


_OVERRIDE_MEMO = "challenges.picking_override"
"""Key in `session.info`: the override read once per transaction (a batch of taps reads it once)."""


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_override(session: Session) -> None:
    """A new transaction may see another override: read it again."""
    session.info.pop(_OVERRIDE_MEMO, None)


async def picking_override(session: AsyncSession) -> PickingOverride | None:
    """The organisers' override, None when the configured window applies (read once per session)."""
    if _OVERRIDE_MEMO in session.info:
        memo: PickingOverride | None = session.info[_OVERRIDE_MEMO]
        return memo
    value = await session.scalar(select(TeamPickingState.override).where(TeamPickingState.id == 1))
    override = PickingOverride(value) if value else None
    session.info[_OVERRIDE_MEMO] = override
    return override


async def current_picking_status(
    session: AsyncSession, window: tuple[datetime, datetime], now: datetime
) -> PickingStatus:
    """`picking_status` with the override read from the database."""
    return picking_status(window, await picking_override(session), now)


async def card_of(
    session: AsyncSession, participant_id: int, challenge_id: str, event: EventConfig, now: datetime
) -> ChallengeCard | None:
    """A challenge's card for one person (None for a challenge never configured)."""
    counts = await counts_of(session, challenge_id)
    if counts is None:
        return None
    person = await status_of(session, participant_id)
    picking = await current_picking_status(session, event.team_picking_window, now)
    return ChallengeCard(counts, person, picking)


async def team_of(session: AsyncSession, participant_id: int) -> TeamPage | None:
    """The person's team page, None when they have no team."""
    challenge_id = await _membership(session, participant_id)
    if challenge_id is None:
        return None
    counts = await counts_of(session, challenge_id)
    assert counts is not None  # a member's challenge has a state row (foreign key)
    return TeamPage(challenge_id, counts, await members_of(session, challenge_id))


async def overview(session: AsyncSession, window: tuple[datetime, datetime], now: datetime) -> TeamsOverview:
    """`/equipes`: fill levels, roles per team, people without a team, whether picking is open."""
    return TeamsOverview(
        await all_counts(session),
        await role_breakdown(session),
        await teamless_count(session),
        await current_picking_status(session, window, now),
    )


# ---- telling people what changed without them ---------------------------------------------------


class _Notices:
    """The messages a change owes to people who did not act themselves, queued in its transaction.

    Worded with the event in force (titles in each person's language) and the catalog. A change
    made without them (tests and tools that seed teams) must not need to tell anyone: it fails
    rather than lose a message.
    """

    def __init__(self, session: AsyncSession, event: EventConfig | None, texts: outbox.Texts | None) -> None:
        self._session = session
        self._event = event
        self._texts = texts
        self.queued = 0

    async def tell(
        self, participant_id: int, kind: NoticeKind, challenge_id: str, previous: str | None = None
    ) -> None:
        """Queue the message for `kind` to the participant (a button to their team or to the list)."""
        event, texts = self._event, self._texts
        if event is None or texts is None:
            raise ValueError("this change must tell someone: pass the event and the catalog")
        session = self._session
        telegram_id, lang = (
            await session.execute(
                select(Participant.telegram_id, Participant.language).where(Participant.id == participant_id)
            )
        ).one()
        stored = await stored_titles(session, [cid for cid in (challenge_id, previous) if cid])
        title = event.challenge_title(lang, challenge_id, stored.get(challenge_id))
        if kind in (NoticeKind.PROMOTED, NoticeKind.MOVED):
            key = f"challenges.notice_{kind.value}" + ("_from" if previous else "")
            before = event.challenge_title(lang, previous, stored.get(previous)) if previous else ""
            message = texts.text(lang, key, title=title, previous=before)
            button = (texts.label(lang, "challenges.button_my_team"), TEAM_BUTTON)
        else:
            message = texts.text(lang, f"challenges.notice_{kind.value}", title=title)
            button = (texts.label(lang, "challenges.button_see_challenges"), LIST_BUTTON)
        await outbox.enqueue(
            session,
            chat_id=telegram_id,
            method=outbox.OutboxMethod.SEND_MESSAGE.value,
            payload=outbox.text_message(message, [[button]]),
            # Nothing about the change is unique and stable (ids of deleted rows come back on
            # SQLite, clocks may stand still in rehearsals): each notice gets its own key.
            dedupe_key=f"ch:notice:{kind.value}:{participant_id}:{uuid.uuid4().hex}",
            purpose=NOTICE_PURPOSE,
            priority=1,  # someone just got (or lost) a place: before broadcasts
        )
        self.queued += 1


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


async def _take_place_counted(session: AsyncSession, challenge_id: str) -> int | None:
    """`_take_place` for a challenge known to exist: the number of members after it, None when full."""
    return await session.scalar(
        update(ChallengeState)
        .where(ChallengeState.challenge_id == challenge_id, ChallengeState.members < _capacity_of())
        .values(members=ChallengeState.members + 1)
        .returning(ChallengeState.members)
        .execution_options(synchronize_session=False)
    )


async def _situation(session: AsyncSession, participant_id: int) -> tuple[str | None, int | None, str | None]:
    """The person's team, and their waiting-list entry and its challenge, in one query."""
    row = (
        await session.execute(
            select(ChallengeMember.challenge_id, WaitlistEntry.id, WaitlistEntry.challenge_id)
            .select_from(Participant)
            .outerjoin(ChallengeMember, ChallengeMember.participant_id == Participant.id)
            .outerjoin(WaitlistEntry, WaitlistEntry.participant_id == Participant.id)
            .where(Participant.id == participant_id)
        )
    ).one_or_none()
    if row is None:  # erased meanwhile: the insert will fail on its foreign key, as before
        return None, None, None
    return row[0], row[1], row[2]


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


async def _promote(
    session: AsyncSession, challenge_ids: Iterable[str], now: datetime, notices: _Notices
) -> int:
    """Fill freed places from the waiting lists, first come first served; returns how many moved.

    A promoted person who was in another team leaves it, which frees a place there in turn; the
    chain ends because every step removes one waiting-list entry. Callers hold every state lock.
    Each promoted person is told.
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
            await notices.tell(participant_id, NoticeKind.PROMOTED, challenge_id, previous)
            promoted += 1
            if previous is not None and previous not in pending:
                pending.append(previous)
    return promoted


async def _known(session: AsyncSession, challenge_id: str) -> bool:
    removed = await session.scalar(
        select(ChallengeState.removed).where(ChallengeState.challenge_id == challenge_id)
    )
    return removed is False


_REFUSALS = {
    PickingReason.NOT_YET: TeamOutcome.PICKING_NOT_YET,
    PickingReason.OVER: TeamOutcome.PICKING_OVER,
    PickingReason.FORCED_CLOSED: TeamOutcome.PICKING_CLOSED,
}


async def _closed(
    session: AsyncSession, event: EventConfig, now: datetime, *, changing: bool
) -> tuple[PickingStatus, TeamOutcome | None]:
    """The picking status, and the refusal when the person may not act now.

    `changing`: leaving or switching team, which the event may forbid even while picking is open.
    """
    picking = await current_picking_status(session, event.team_picking_window, now)
    if not picking.is_open:
        return picking, _REFUSALS[picking.reason]
    if changing and not event.team_picking.allow_changes:
        return picking, TeamOutcome.CHANGES_NOT_ALLOWED
    return picking, None


async def _result(
    session: AsyncSession,
    outcome: TeamOutcome,
    participant_id: int,
    challenge_id: str,
    picking: PickingStatus | None,
    *,
    previous: str | None = None,
    position: int | None = None,
    notified: int = 0,
) -> TeamChange:
    """A `TeamChange` with the challenge's card as it is now, in the same unit of work."""
    card = None
    if picking is not None:
        counts = await counts_of(session, challenge_id)
        if counts is not None:
            card = ChallengeCard(counts, await status_of(session, participant_id), picking)
    return TeamChange(outcome, challenge_id, previous, position, card, picking, notified)


# ---- changing: what people do --------------------------------------------------------------------


async def join(
    session: AsyncSession,
    participant_id: int,
    challenge_id: str,
    now: datetime,
    *,
    event: EventConfig | None = None,
) -> TeamChange:
    """Press "Join this challenge": a place if one is left, else the waiting list.

    With the event (every tap): refused while picking is closed (the window, or the organisers'
    override), and the result carries the card to show. Without it (seeding teams in tests and
    tools): only capacity and the waiting list apply. Someone already in another team gets
    `NEEDS_SWITCH` (the caller asks for confirmation, then calls `switch`), or
    `CHANGES_NOT_ALLOWED` when the event forbids changes. Joining directly drops any other
    waiting-list entry of the person.

    The hot path of a room tapping at once (many joins in one transaction, `models.decisions`):
    about six statements, the card built from what they returned rather than read again.
    """
    state = (
        await session.execute(
            select(
                ChallengeState.removed, ChallengeState.members, _capacity_of(), ChallengeState.config_capacity
            )
            .where(ChallengeState.challenge_id == challenge_id)
            .with_for_update()  # the challenge's lock (PostgreSQL; SQLite has one writer anyway)
        )
    ).one_or_none()
    if state is None or state.removed:
        return TeamChange(TeamOutcome.UNKNOWN, challenge_id)
    picking = None
    if event is not None:
        picking, refused = await _closed(session, event, now, changing=False)
        if refused is not None:
            return await _result(session, refused, participant_id, challenge_id, picking)
    current, entry_id, waiting_for = await _situation(session, participant_id)
    if current == challenge_id:
        return await _result(session, TeamOutcome.ALREADY_MEMBER, participant_id, challenge_id, picking)
    if current is not None:
        if event is not None and not event.team_picking.allow_changes:
            return TeamChange(
                TeamOutcome.CHANGES_NOT_ALLOWED, challenge_id, previous=current, picking=picking
            )
        return TeamChange(TeamOutcome.NEEDS_SWITCH, challenge_id, previous=current, picking=picking)
    if entry_id is not None and waiting_for == challenge_id:
        position = await _position(session, entry_id, challenge_id)
        return await _result(
            session, TeamOutcome.ALREADY_WAITING, participant_id, challenge_id, picking, position=position
        )
    _, members_before, capacity, config_capacity = state
    if entry_id is not None:  # waiting for another challenge: joining this one ends that
        await session.execute(
            delete(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .execution_options(synchronize_session=False)
        )
    members = await _take_place_counted(session, challenge_id)
    if members is not None:
        await session.execute(
            insert(ChallengeMember).values(
                participant_id=participant_id,
                challenge_id=challenge_id,
                joined_at=now,
                via=JoinedVia.SELF.value,
            )
        )
        waiting = await session.scalar(
            select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.challenge_id == challenge_id)
        )
        counts = ChallengeCounts(challenge_id, members, capacity, config_capacity, int(waiting or 0), False)
        person = PersonStatus(challenge_id=challenge_id, joined_at=now)
        card = ChallengeCard(counts, person, picking) if picking is not None else None
        return TeamChange(TeamOutcome.JOINED, challenge_id, card=card, picking=picking)
    new_entry = await session.scalar(
        insert(WaitlistEntry)
        .values(participant_id=participant_id, challenge_id=challenge_id, queued_at=now)
        .returning(WaitlistEntry.id)
    )
    assert new_entry is not None
    waiting, position = (
        await session.execute(
            select(
                func.count(), func.coalesce(func.sum(case((WaitlistEntry.id <= new_entry, 1), else_=0)), 0)
            )
            .select_from(WaitlistEntry)
            .where(WaitlistEntry.challenge_id == challenge_id)
        )
    ).one()
    card = None
    if picking is not None:
        # Full: the members did not change since the locked read.
        counts = ChallengeCounts(challenge_id, members_before, capacity, config_capacity, int(waiting), False)
        person = PersonStatus(waiting_for=challenge_id, position=int(position))
        card = ChallengeCard(counts, person, picking)
    return TeamChange(
        TeamOutcome.WAITLISTED, challenge_id, position=int(position), card=card, picking=picking
    )


@dataclass(frozen=True)
class JoinRequest:
    """One "Join" tap for `join_many`: who, which challenge, when, under which event."""

    participant_id: int
    challenge_id: str
    now: datetime
    event: EventConfig | None = None


_QUEUED_NOW = -1
"""The waiting-list entry id of someone queued in this run (its real id is known after the flush)."""


@dataclass
class _Place:
    """A challenge as `join_many` keeps it while deciding a run of joins."""

    members: int
    capacity: int
    config_capacity: int
    waiting: int
    removed: bool


async def join_many(session: AsyncSession, requests: list[JoinRequest]) -> list[TeamChange]:
    """`join` for a run of taps, decided in the given order: what a room pressing "Join" at once costs.

    The common case (a person without a team, not already waiting for that challenge, picking open)
    is decided in memory from one read of the challenges and one of the people, and written at the
    end in a few statements; anything else (already in a team, already waiting, refused, unknown)
    goes through `join` itself, after the writes decided so far. The results are exactly those
    of calling `join` for each request in turn.
    """
    places: dict[str, _Place] = {}
    people: dict[int, tuple[str | None, int | None, str | None]] = {}
    joined: list[dict[str, object]] = []
    queued: list[dict[str, object]] = []
    dropped: list[int] = []
    touched: set[str] = set()

    async def load() -> None:
        ids = sorted({r.challenge_id for r in requests})
        rows = await session.execute(
            select(
                ChallengeState.challenge_id,
                ChallengeState.members,
                _capacity_of(),
                ChallengeState.config_capacity,
                ChallengeState.removed,
            )
            .where(ChallengeState.challenge_id.in_(ids))
            .order_by(ChallengeState.challenge_id)
            .with_for_update()
        )
        waiting: dict[str, int] = {
            cid: count
            for cid, count in await session.execute(
                select(WaitlistEntry.challenge_id, func.count())
                .where(WaitlistEntry.challenge_id.in_(ids))
                .group_by(WaitlistEntry.challenge_id)
            )
        }
        places.clear()
        for cid, members, capacity, config_capacity, removed in rows:
            places[cid] = _Place(members, capacity, config_capacity, int(waiting.get(cid, 0)), removed)
        situations = await session.execute(
            select(Participant.id, ChallengeMember.challenge_id, WaitlistEntry.id, WaitlistEntry.challenge_id)
            .outerjoin(ChallengeMember, ChallengeMember.participant_id == Participant.id)
            .outerjoin(WaitlistEntry, WaitlistEntry.participant_id == Participant.id)
            .where(Participant.id.in_({r.participant_id for r in requests}))
        )
        people.clear()
        for pid, team, entry_id, waiting_for in situations:
            people[pid] = (team, entry_id, waiting_for)

    async def flush() -> None:
        if dropped:
            await session.execute(
                delete(WaitlistEntry)
                .where(WaitlistEntry.id.in_(dropped))
                .execution_options(synchronize_session=False)
            )
        for cid in sorted(touched):
            await session.execute(
                update(ChallengeState)
                .where(ChallengeState.challenge_id == cid)
                .values(members=places[cid].members)
                .execution_options(synchronize_session=False)
            )
        if joined:
            await session.execute(insert(ChallengeMember), joined)
        if queued:  # one executemany, rows inserted in order: the ids give the waiting list's order
            await session.execute(insert(WaitlistEntry), queued)
        dropped.clear()
        touched.clear()
        joined.clear()
        queued.clear()

    await load()
    results: list[TeamChange] = []
    for request in requests:
        pid, cid, now, event = request.participant_id, request.challenge_id, request.now, request.event
        place = places.get(cid)
        situation = people.get(pid)
        picking = None
        refused = None
        if event is not None and place is not None:
            picking, refused = await _closed(session, event, now, changing=False)
        simple = (
            place is not None
            and not place.removed
            and refused is None
            and situation is not None
            and situation[0] is None
            and situation[1] != _QUEUED_NOW
            and situation[2] != cid
        )
        if not simple:
            await flush()
            results.append(await join(session, pid, cid, now, event=event))
            await load()
            continue
        assert place is not None and situation is not None
        _, entry_id, waiting_for = situation
        if entry_id is not None and waiting_for is not None:  # waiting elsewhere: that ends
            dropped.append(entry_id)
            if waiting_for in places:
                places[waiting_for].waiting -= 1
        if place.members < place.capacity:
            place.members += 1
            touched.add(cid)
            joined.append(
                {"participant_id": pid, "challenge_id": cid, "joined_at": now, "via": JoinedVia.SELF.value}
            )
            people[pid] = (cid, None, None)
            person = PersonStatus(challenge_id=cid, joined_at=now)
            outcome, position = TeamOutcome.JOINED, None
        else:
            place.waiting += 1
            queued.append({"participant_id": pid, "challenge_id": cid, "queued_at": now})
            people[pid] = (None, _QUEUED_NOW, cid)
            person = PersonStatus(waiting_for=cid, position=place.waiting)
            outcome, position = TeamOutcome.WAITLISTED, place.waiting
        counts = ChallengeCounts(
            cid, place.members, place.capacity, place.config_capacity, place.waiting, place.removed
        )
        card = ChallengeCard(counts, person, picking) if picking is not None else None
        results.append(TeamChange(outcome, cid, position=position, card=card, picking=picking))
    await flush()
    return results


async def switch(
    session: AsyncSession,
    participant_id: int,
    from_id: str,
    to_id: str,
    now: datetime,
    *,
    event: EventConfig,
    texts: outbox.Texts,
) -> TeamChange:
    """Confirmed "Leave X and join Y": move if Y has a place, else wait for Y while staying in X.

    Refused while picking is closed or when the event forbids changes; `STALE` when the person is
    no longer in X (an old confirmation button). The first person waiting for X takes the freed
    place and is told. The card is Y's.
    """
    if not await _known(session, to_id):
        return TeamChange(TeamOutcome.UNKNOWN, to_id)
    picking, refused = await _closed(session, event, now, changing=True)
    if refused is not None:
        return await _result(session, refused, participant_id, to_id, picking)
    await _lock(session)
    current = await _membership(session, participant_id)
    if current == to_id:
        return await _result(session, TeamOutcome.ALREADY_MEMBER, participant_id, to_id, picking)
    if current != from_id:
        return await _result(session, TeamOutcome.STALE, participant_id, to_id, picking, previous=current)
    if not await _take_place(session, to_id):
        entry = (
            await session.execute(
                select(WaitlistEntry.id).where(
                    WaitlistEntry.participant_id == participant_id, WaitlistEntry.challenge_id == to_id
                )
            )
        ).scalar_one_or_none()
        if entry is not None:
            outcome, position = TeamOutcome.ALREADY_WAITING, await _position(session, entry, to_id)
        else:
            outcome, position = TeamOutcome.WAITLISTED, await _enqueue(session, participant_id, to_id, now)
        return await _result(
            session, outcome, participant_id, to_id, picking, previous=from_id, position=position
        )
    await _remove_from_waitlist(session, participant_id)
    await _remove_member(session, participant_id)
    await _add_member(session, participant_id, to_id, JoinedVia.SELF, now)
    notices = _Notices(session, event, texts)
    await _promote(session, [from_id], now, notices)
    return await _result(
        session,
        TeamOutcome.SWITCHED,
        participant_id,
        to_id,
        picking,
        previous=from_id,
        notified=notices.queued,
    )


async def leave(
    session: AsyncSession,
    participant_id: int,
    challenge_id: str,
    now: datetime,
    *,
    event: EventConfig,
    texts: outbox.Texts,
) -> TeamChange:
    """Leave a team: its first waiting person takes the place and is told.

    Refused while picking is closed or when the event forbids changes; `STALE` if the person is not
    in that team.
    """
    picking, refused = await _closed(session, event, now, changing=True)
    if refused is not None:
        return await _result(session, refused, participant_id, challenge_id, picking)
    await _lock(session)
    if await _membership(session, participant_id) != challenge_id:
        return await _result(session, TeamOutcome.STALE, participant_id, challenge_id, picking)
    await _remove_member(session, participant_id)
    notices = _Notices(session, event, texts)
    await _promote(session, [challenge_id], now, notices)
    return await _result(
        session, TeamOutcome.LEFT, participant_id, challenge_id, picking, notified=notices.queued
    )


async def leave_waitlist(
    session: AsyncSession, participant_id: int, challenge_id: str, now: datetime, *, event: EventConfig
) -> TeamChange:
    """Stop waiting for a challenge (allowed at any time); `STALE` if the person was not waiting for it."""
    left = await session.scalar(
        delete(WaitlistEntry)
        .where(WaitlistEntry.participant_id == participant_id, WaitlistEntry.challenge_id == challenge_id)
        .returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)
    )
    outcome = TeamOutcome.LEFT_WAITLIST if left is not None else TeamOutcome.STALE
    picking = await current_picking_status(session, event.team_picking_window, now)
    return await _result(session, outcome, participant_id, challenge_id, picking)


# ---- changing: what organisers do ----------------------------------------------------------------


async def move(
    session: AsyncSession,
    participant_id: int,
    to_id: str,
    now: datetime,
    *,
    event: EventConfig,
    texts: outbox.Texts,
) -> MoveResult:
    """An organiser moves someone to `to_id`, within its capacity, at any time (picking closed too).

    The person is told; their old team's first waiting person takes the place and is told.
    """
    if not await _known(session, to_id):
        return MoveResult(MoveOutcome.UNKNOWN)
    await _lock(session)
    current = await _membership(session, participant_id)
    notices = _Notices(session, event, texts)
    if current == to_id:
        outcome = MoveOutcome.ALREADY_THERE
    elif not await _take_place(session, to_id):
        outcome = MoveOutcome.FULL
    else:
        outcome = MoveOutcome.MOVED
        await _remove_from_waitlist(session, participant_id)
        await _remove_member(session, participant_id)
        await _add_member(session, participant_id, to_id, JoinedVia.ORGANISER, now)
        await notices.tell(participant_id, NoticeKind.MOVED, to_id, current)
        if current is not None:
            await _promote(session, [current], now, notices)
    counts = await counts_of(session, to_id)
    return MoveResult(outcome, current, counts=counts, notified=notices.queued)


async def move_found(
    session: AsyncSession,
    query: str,
    to_id: str,
    now: datetime,
    *,
    event: EventConfig,
    texts: outbox.Texts,
) -> MoveResult:
    """`/deplacer`: find the person (Telegram id or name) and move them if exactly one matches."""
    found = [
        Candidate(p.id, p.telegram_id, p.display_name or "") for p in await find_participants(session, query)
    ]
    if not found:
        return MoveResult(MoveOutcome.NOBODY)
    if len(found) > 1:
        return MoveResult(MoveOutcome.AMBIGUOUS, candidates=found)
    moved = await move(session, found[0].participant_id, to_id, now, event=event, texts=texts)
    return MoveResult(moved.outcome, moved.previous, found, moved.counts, moved.notified)


async def set_capacity(
    session: AsyncSession,
    challenge_id: str,
    capacity: int,
    now: datetime,
    *,
    event: EventConfig | None = None,
    texts: outbox.Texts | None = None,
) -> CapacityChange | None:
    """Change a challenge's capacity at runtime; waiting people who get a place are told.

    Lowering it below the team's size removes nobody: new joins wait. None for an unknown
    challenge. Without the event and the catalog, raising it may not promote anyone (it raises).
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
    notices = _Notices(session, event, texts)
    promoted = await _promote(session, [challenge_id], now, notices)
    counts = await counts_of(session, challenge_id)
    assert counts is not None  # known above, and state rows are never deleted
    return CapacityChange(promoted, counts, notices.queued)


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
    session.info[_OVERRIDE_MEMO] = override


@dataclass(frozen=True)
class ConfiguredChallenge:
    """What the event file says about a challenge that the database needs to know."""

    challenge_id: str
    capacity: int
    title: str


def configured_challenges(event: EventConfig) -> list[ConfiguredChallenge]:
    """What the database keeps of the event file's challenges (titles in the default language)."""
    return [
        ConfiguredChallenge(c.id, c.capacity, c.title.get(event.default_language, event.default_language))
        for c in event.challenges
    ]


async def sync_with_event(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, now: datetime
) -> int:
    """Align the database with the event in force (at start, after a reload); returns how many were told."""
    return await sync_challenges(session, configured_challenges(event), now, event=event, texts=texts)


async def sync_challenges(
    session: AsyncSession,
    configured: Iterable[ConfiguredChallenge],
    now: datetime,
    *,
    event: EventConfig | None = None,
    texts: outbox.Texts | None = None,
) -> int:
    """Align the database with the event file's challenges; returns how many people were told.

    New challenges get a state row; changed capacities are taken (an organiser's override stays);
    challenges no longer in the file are marked removed and their team and waiting list are emptied,
    each person being told to pick again. Counters are recounted from the member rows (a
    participant deleted without `/forget`, e.g. by a retention purge, leaves through the cascade),
    and freed places are offered to waiting people, who are told. Without the event and the
    catalog (seeding a fresh database), a sync that must tell someone raises.
    """
    notices = _Notices(session, event, texts)
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
            await notices.tell(participant_id, NoticeKind.REMOVED, challenge_id)
        for participant_id in waiting:
            await notices.tell(participant_id, NoticeKind.REMOVED_WAITLIST, challenge_id)
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
    await _promote(session, sorted(wanted), now, notices)
    return notices.queued


# ---- privacy -------------------------------------------------------------------------------------


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
            "challenges.label.challenge", event.challenge_title(lang, team[0], team[3]) if team else None
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
                        "title": event.challenge_title(lang, challenge_id, stored_title),
                        "position": await _position(session, entry_id, challenge_id),
                    },
                ),
            )
        )
    return items


@register_erasure_hook
async def free_places_of(
    session: AsyncSession, participant: Participant, erasure: ErasureContext | None
) -> None:
    """/forget: free the person's place (the first waiting person takes it, and is told) and their spot.

    Run before the participant row is deleted; the cascade would drop the rows but not the counter.
    """
    if erasure is not None:
        notices, now = _Notices(session, erasure.event, erasure.texts), erasure.now
    else:
        notices, now = _Notices(session, None, None), utcnow()
    await _lock(session)
    await _remove_from_waitlist(session, participant.id)
    left = await _remove_member(session, participant.id)
    if left is not None:
        await _promote(session, [left], now, notices)
