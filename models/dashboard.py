"""Organiser dashboard: single-use sign-in links, browser sessions, who may see what, and the figures.

Sign-in: an organiser (or a facilitator) sends `/dashboard` to the bot and gets a link
`/signin/<nonce>.<signature>`. The signature (HMAC with a key derived from the bot token) rejects
a tampered link before the database is asked; the nonce is stored only as a SHA-256 hash, with an
expiry of a few minutes, and is marked used by a conditional UPDATE so two tabs racing on the same
link cannot both win. A redeemed link opens a session whose random id lives in an HttpOnly cookie
and, hashed, in `dashboard_sessions`: sessions survive a restart of the bot.

Who may see what is decided at every request from the current event file (`viewer_for`), so
removing someone from `organisers` closes their dashboard at once.

The figure functions read the other features' tables and return plain values for the web pages
and the CSV exports. Features that do not exist yet (check-in, broadcasts) sit behind one small
function each that returns empty figures.

Domain functions take a session and plain values, never Telegram objects, and never commit.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Index, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import arrival, broadcasts, challenges, meals, questions
from models.base import Base, BigIntPK, utcnow
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus, ProcessedUpdate
from models.privacy import DataItem, register_account_data_provider, register_account_erasure_hook
from models.programme import BatchState, NotificationBatch
from schedule.config import EventConfig

SIGN_IN_LIFETIME = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(hours=12)
_HASH_LEN = 64  # hex SHA-256
_SIGNATURE_CHARS = 22  # 132 bits of the HMAC, base64url


class DashboardRole(enum.StrEnum):
    """What a signed-in person may see."""

    ORGANISER = "organiser"  # every page and every export
    FACILITATOR = "facilitator"  # read-only: their team(s) and the question queue


class SignInLink(Base):
    """A single-use sign-in link sent by the bot (only the hash of its nonce is kept)."""

    __tablename__ = "dashboard_sign_in_links"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    nonce_hash: Mapped[str] = mapped_column(String(_HASH_LEN), unique=True, nullable=False)
    telegram_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column()


class DashboardSession(Base):
    """A signed-in browser (only the hash of the cookie value is kept)."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index("ix_dashboard_sessions_telegram_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(_HASH_LEN), unique=True, nullable=False)
    telegram_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)


# ---- who may see what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and what they may see."""

    telegram_id: int
    role: DashboardRole
    challenge_ids: tuple[str, ...] = ()
    """Facilitators: the challenges they follow (organisers see all of them)."""

    @property
    def is_organiser(self) -> bool:
        """Organisers see every page."""
        return self.role is DashboardRole.ORGANISER


def viewer_for(event: EventConfig, telegram_id: int) -> Viewer | None:
    """Organiser, facilitator (of the challenges listing their Telegram id), or nobody."""
    if event.is_organiser(telegram_id):
        return Viewer(telegram_id, DashboardRole.ORGANISER, tuple(c.id for c in event.challenges))
    followed = tuple(
        challenge.id
        for challenge in event.challenges
        if any(person.telegram_id == telegram_id for person in event.facilitators_for(challenge.id))
    )
    if followed:
        return Viewer(telegram_id, DashboardRole.FACILITATOR, followed)
    return None


# ---- signed, single-use links and sessions -------------------------------------------------------


def signing_key(secret: str) -> bytes:
    """The HMAC key of sign-in links, derived from the bot token: stable across restarts, never stored."""
    return hashlib.sha256(b"hackbot-dashboard-sign-in:" + secret.encode()).digest()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _signature(key: bytes, nonce: str) -> str:
    mac = hmac.new(key, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:_SIGNATURE_CHARS]


def sign(key: bytes, nonce: str) -> str:
    """The token of a link: `<nonce>.<signature>`."""
    return f"{nonce}.{_signature(key, nonce)}"


def verified_nonce(key: bytes, token: str) -> str | None:
    """The nonce of a well-formed, correctly signed token; None for anything else (tampered, truncated)."""
    nonce, dot, signature = token.partition(".")
    if not dot or not nonce or len(token) > 200:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(key, nonce).encode()):
        return None
    return nonce


async def issue_sign_in(
    session: AsyncSession, key: bytes, telegram_id: int, now: datetime, lifetime: timedelta = SIGN_IN_LIFETIME
) -> str:
    """Create a sign-in link for `telegram_id`; returns its token (to put in the URL)."""
    nonce = secrets.token_urlsafe(24)
    session.add(
        SignInLink(
            nonce_hash=_digest(nonce), telegram_id=telegram_id, created_at=now, expires_at=now + lifetime
        )
    )
    await session.flush()
    return sign(key, nonce)


async def sign_in_is_valid(session: AsyncSession, key: bytes, token: str, now: datetime) -> bool:
    """Whether the link could be redeemed now (signed, known, unused, not expired); changes nothing."""
    nonce = verified_nonce(key, token)
    if nonce is None:
        return False
    link = await session.scalar(select(SignInLink).where(SignInLink.nonce_hash == _digest(nonce)))
    return link is not None and link.used_at is None and link.expires_at > now


async def redeem_sign_in(session: AsyncSession, key: bytes, token: str, now: datetime) -> int | None:
    """Use the link once: returns the Telegram id it was issued to, None if tampered, used or expired.

    The UPDATE only matches an unused, unexpired row, so of two concurrent redemptions one wins.
    """
    nonce = verified_nonce(key, token)
    if nonce is None:
        return None
    nonce_hash = _digest(nonce)
    result = await session.execute(
        update(SignInLink)
        .where(SignInLink.nonce_hash == nonce_hash, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now)
    )
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    return await session.scalar(select(SignInLink.telegram_id).where(SignInLink.nonce_hash == nonce_hash))


async def open_session(
    session: AsyncSession, telegram_id: int, now: datetime, lifetime: timedelta = SESSION_LIFETIME
) -> str:
    """Start a browser session; returns the cookie value."""
    value = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            session_hash=_digest(value), telegram_id=telegram_id, created_at=now, expires_at=now + lifetime
        )
    )
    await session.flush()
    return value


async def session_user(session: AsyncSession, cookie: str | None, now: datetime) -> int | None:
    """The Telegram id behind a session cookie, None when absent, unknown or expired."""
    if not cookie or len(cookie) > 200:
        return None
    row = (
        await session.execute(
            select(DashboardSession.telegram_id, DashboardSession.expires_at).where(
                DashboardSession.session_hash == _digest(cookie)
            )
        )
    ).one_or_none()
    if row is None or row[1] <= now:
        return None
    return int(row[0])


async def close_session(session: AsyncSession, cookie: str | None) -> None:
    """Sign out: forget the session."""
    if cookie:
        await session.execute(
            delete(DashboardSession).where(DashboardSession.session_hash == _digest(cookie))
        )


async def prune(session: AsyncSession, now: datetime) -> None:
    """Drop expired links and sessions (used links are kept until they expire, then dropped too)."""
    await session.execute(delete(SignInLink).where(SignInLink.expires_at <= now))
    await session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))


# Organisers and facilitators sign in without being registered participants: both hooks are keyed
# by the Telegram id, so /mydata and /forget reach them too.


@register_account_data_provider
async def _personal_data(session: AsyncSession, telegram_id: int) -> list[DataItem]:
    """`/mydata`: the dashboard sign-in links and browser sessions still stored, with their expiry."""
    links = await session.scalars(
        select(SignInLink.expires_at).where(SignInLink.telegram_id == telegram_id).order_by(SignInLink.id)
    )
    sessions = await session.scalars(
        select(DashboardSession.expires_at)
        .where(DashboardSession.telegram_id == telegram_id)
        .order_by(DashboardSession.id)
    )
    return [
        *(DataItem("dashboard.label.sign_in_link", expires_at) for expires_at in links),
        *(DataItem("dashboard.label.session", expires_at) for expires_at in sessions),
    ]


@register_account_erasure_hook
async def _erase(session: AsyncSession, telegram_id: int) -> bool:
    """`/forget`: an organiser who erases their data is signed out everywhere."""
    links = await session.execute(delete(SignInLink).where(SignInLink.telegram_id == telegram_id))
    sessions = await session.execute(
        delete(DashboardSession).where(DashboardSession.telegram_id == telegram_id)
    )
    return bool(links.rowcount or sessions.rowcount)  # type: ignore[attr-defined]


# ---- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationFigures:
    """Who registered: totals, by role, and when (for the chart over time)."""

    registered: int
    registering: int
    by_role: dict[str | None, int]
    registered_times: list[datetime]
    """Registration times of active participants, oldest first."""


async def registration_figures(session: AsyncSession) -> RegistrationFigures:
    """Counts of registered and still-registering participants, by role and over time."""
    statuses = Counter(
        {
            status: int(n)
            for status, n in await session.execute(
                select(Participant.status, func.count()).group_by(Participant.status)
            )
        }
    )
    by_role = {
        role: int(n)
        for role, n in await session.execute(
            select(Participant.role, func.count())
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .group_by(Participant.role)
        )
    }
    times = [
        moment
        for moment in await session.scalars(
            select(Participant.registered_at)
            .where(Participant.status == ParticipantStatus.ACTIVE, Participant.registered_at.is_not(None))
            .order_by(Participant.registered_at)
        )
        if moment is not None
    ]
    return RegistrationFigures(
        registered=statuses[ParticipantStatus.ACTIVE],
        registering=statuses[ParticipantStatus.REGISTERING],
        by_role=by_role,
        registered_times=times,
    )


@dataclass(frozen=True)
class ParticipantRow:
    """One line of the participants export: only what the consent notice covers."""

    display_name: str
    role: str | None
    language: str
    registered_at: datetime | None
    challenge_id: str | None


async def participant_rows(session: AsyncSession) -> list[ParticipantRow]:
    """Registered participants with their team, by registration time."""
    rows = await session.execute(
        select(
            Participant.display_name,
            Participant.role,
            Participant.language,
            Participant.registered_at,
            challenges.ChallengeMember.challenge_id,
        )
        .outerjoin(challenges.ChallengeMember, challenges.ChallengeMember.participant_id == Participant.id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .order_by(Participant.registered_at, Participant.id)
    )
    return [ParticipantRow(*row) for row in rows]


@dataclass(frozen=True)
class TeamFigure:
    """How full one team is, its role mix and its members."""

    challenge_id: str
    members: int
    capacity: int
    waiting: int
    removed: bool
    roles: dict[str | None, int]
    people: list[challenges.TeamMember] = field(default_factory=list)


async def team_figures(session: AsyncSession, challenge_ids: Iterable[str]) -> list[TeamFigure]:
    """Teams of the given challenges, in that order (challenges never synced count as empty)."""
    counts = await challenges.all_counts(session)
    breakdown = await challenges.role_breakdown(session)
    figures = []
    for challenge_id in challenge_ids:
        count = counts.get(challenge_id)
        figures.append(
            TeamFigure(
                challenge_id=challenge_id,
                members=count.members if count else 0,
                capacity=count.capacity if count else 0,
                waiting=count.waiting if count else 0,
                removed=count.removed if count else False,
                roles=dict(breakdown.get(challenge_id, Counter())),
                people=await challenges.members_of(session, challenge_id),
            )
        )
    return figures


async def teamless_count(session: AsyncSession) -> int:
    """Registered participants in no team."""
    return await challenges.teamless_count(session)


async def meal_figures(session: AsyncSession, event: EventConfig) -> list[meals.MealCounts]:
    """Per meal: who comes, who does not, who did not answer, diets and allergies of those coming."""
    return await meals.meal_report(session, event)


@dataclass(frozen=True)
class WaitingQuestion:
    """A question waiting for an answer (no text: the dashboard shows the queue, not the content)."""

    ticket_id: int
    challenge_id: str | None
    state: str
    waiting_since: datetime
    claimed_by_name: str | None


@dataclass(frozen=True)
class QuestionRow:
    """One question of the export (times only, no content, no asker)."""

    ticket_id: int
    challenge_id: str | None
    state: str
    asked_at: datetime
    claimed_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    claimed_by_name: str | None


@dataclass(frozen=True)
class QuestionFigures:
    """The question queue at a glance."""

    by_state: dict[str, int]
    waiting: list[WaitingQuestion]
    median_wait: timedelta | None
    """Median of the current waits of questions still waiting."""
    worst_wait: timedelta | None
    median_answer_time: timedelta | None
    """Median time from question to first answer, over answered questions."""
    worst_answer_time: timedelta | None

    @property
    def open(self) -> int:
        """Questions nobody has claimed yet."""
        return self.by_state.get(questions.TicketState.OPEN, 0)

    @property
    def waiting_count(self) -> int:
        """Questions whose asker waits (open or claimed)."""
        return sum(self.by_state.get(state, 0) for state in questions.WAITING_STATES)


def _median(values: list[timedelta]) -> timedelta | None:
    return statistics.median(values) if values else None  # type: ignore[type-var]


async def question_figures(session: AsyncSession, now: datetime) -> QuestionFigures:
    """Counts by state, the waiting queue (longest wait first), waiting and answer times."""
    ticket = questions.QuestionTicket
    by_state = {
        str(state): int(n)
        for state, n in await session.execute(select(ticket.state, func.count()).group_by(ticket.state))
    }
    waiting = [
        WaitingQuestion(t.id, t.challenge_id, str(t.state), t.waiting_since, t.claimed_by_name)
        for t in await questions.waiting_tickets(session, limit=500)
    ]
    waits = [max(timedelta(0), now - q.waiting_since) for q in waiting]
    answer_times = [
        max(timedelta(0), answered - asked)
        for asked, answered in await session.execute(
            select(ticket.asked_at, ticket.answered_at).where(ticket.answered_at.is_not(None))
        )
        if answered is not None
    ]
    return QuestionFigures(
        by_state=by_state,
        waiting=waiting,
        median_wait=_median(waits),
        worst_wait=max(waits) if waits else None,
        median_answer_time=_median(answer_times),
        worst_answer_time=max(answer_times) if answer_times else None,
    )


async def question_rows(session: AsyncSession) -> list[QuestionRow]:
    """Every question, oldest first, for the export."""
    ticket = questions.QuestionTicket
    rows = await session.scalars(select(ticket).order_by(ticket.asked_at, ticket.id))
    return [
        QuestionRow(
            t.id,
            t.challenge_id,
            str(t.state),
            t.asked_at,
            t.claimed_at,
            t.answered_at,
            t.closed_at,
            t.claimed_by_name,
        )
        for t in rows
    ]


@dataclass
class Delivery:
    """How the messages of one announcement fared."""

    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    expired: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        """Every recipient row."""
        return self.sent + self.pending + self.failed + self.blocked + self.expired + self.cancelled

    def add(self, state: OutboxState, count: int = 1) -> None:
        """Count `count` rows in `state` (`sending` counts as pending: not final yet)."""
        name = "pending" if state in (OutboxState.PENDING, OutboxState.SENDING) else str(state)
        setattr(self, name, getattr(self, name) + count)


@dataclass(frozen=True)
class AnnouncementFigure:
    """One announcement (a programme notification, later a broadcast) and its delivery."""

    source: str  # "programme" or "broadcast"
    kind: str  # reminder, meal, change... or the broadcast's kind
    subject: str  # programme item / meal id, or the broadcast's title
    due_at: datetime
    state: str
    delivery: Delivery


async def programme_announcements(session: AsyncSession) -> list[AnnouncementFigure]:
    """Programme notifications already fanned out (or skipped), with their outbox delivery, newest first."""
    batches = list(
        await session.scalars(
            select(NotificationBatch)
            .where(NotificationBatch.state != BatchState.PLANNED)
            .order_by(NotificationBatch.due_at.desc(), NotificationBatch.id.desc())
            .limit(200)
        )
    )
    deliveries: dict[str, Delivery] = {}
    rows = await session.execute(
        select(OutgoingMessage.dedupe_key, OutgoingMessage.state).where(
            OutgoingMessage.dedupe_key.like("prog:%")
        )
    )
    for key, state in rows:
        # Keys are `prog:<batch key>:<chat id>`: strip the chat id to find the batch.
        batch_key = key.removeprefix("prog:").rpartition(":")[0]
        deliveries.setdefault(batch_key, Delivery()).add(state)
    return [
        AnnouncementFigure(
            "programme", str(b.kind), b.subject_id, b.due_at, str(b.state), deliveries.get(b.key, Delivery())
        )
        for b in batches
    ]


async def broadcast_announcements(session: AsyncSession) -> list[AnnouncementFigure]:
    """Organisers' broadcasts with their delivery (from the outbox rows), newest first."""
    sent = broadcasts.Broadcast
    items = list(
        await session.execute(
            select(sent.id, sent.summary, sent.scheduled_at, sent.confirmed_at, sent.status)
            .order_by(sent.confirmed_at.desc(), sent.id.desc())
            .limit(200)
        )
    )
    deliveries: dict[int, Delivery] = {}
    rows = await session.execute(
        select(OutgoingMessage.ref_id, OutgoingMessage.state, func.count())
        .where(OutgoingMessage.purpose == broadcasts.PURPOSE_SEND)
        .group_by(OutgoingMessage.ref_id, OutgoingMessage.state)
    )
    for ref_id, state, count in rows:
        if ref_id is not None:
            deliveries.setdefault(int(ref_id), Delivery()).add(state, int(count))
    return [
        AnnouncementFigure(
            "broadcast",
            "broadcast",
            summary or f"#{broadcast_id}",
            scheduled_at or confirmed_at,
            str(status),
            deliveries.get(broadcast_id, Delivery()),
        )
        for broadcast_id, summary, scheduled_at, confirmed_at, status in items
    ]


async def delivery_by_purpose(session: AsyncSession) -> dict[str, Delivery]:
    """Every outgoing message by purpose and state (covers any feature that uses the outbox)."""
    totals: dict[str, Delivery] = {}
    rows = await session.execute(
        select(OutgoingMessage.purpose, OutgoingMessage.state, func.count()).group_by(
            OutgoingMessage.purpose, OutgoingMessage.state
        )
    )
    for purpose, state, count in rows:
        totals.setdefault(purpose, Delivery()).add(state, int(count))
    return dict(sorted(totals.items()))


async def checked_in_count(session: AsyncSession) -> int | None:
    """People in the building now (checked in and not left: participants and walk-ins)."""
    return await arrival.present_now(session)


async def last_update_at(session: AsyncSession) -> datetime | None:
    """When the bot last handled an update (polling or webhook alike)."""
    return await session.scalar(select(func.max(ProcessedUpdate.received_at)))
