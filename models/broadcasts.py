"""Organiser announcements: drafts, broadcasts, and the corrections and deletions that follow them.

The flow, all in the database so a restart loses nothing:

- `BroadcastDraft`: one per organiser (keyed by Telegram user id: organisers need not be registered
  participants). It holds what the organiser is composing (content, audience, schedule), a random
  `nonce` that every button of the flow carries (an old keyboard cannot act on a newer draft), and
  an expiry: an organiser who loses the connection mid-flow leaves a draft that expires unsent.
- `Broadcast`: created when the draft is confirmed, in the same transaction as one outbox row per
  recipient (`purpose="broadcast"`, `ref_id=broadcast.id`, `dedupe_key="bc:<id>:<chat>"`). The
  outbox rows are the delivery record: who got it (`sent_message_id`), who blocked the bot, who was
  in flight during a crash (`in_doubt`). The audience is frozen at confirmation: the organiser
  approves a number of recipients, and that is who receives it, even when scheduled for later.
- `BroadcastOperation`: "edit everywhere" or "delete everywhere", one outbox row per recipient who
  received the broadcast (`purpose="broadcast.edit"` / `"broadcast.delete"`, `ref_id=operation.id`).

Rows of one broadcast are spread over time (`due_at` steps of one second per `STAGGER_PER_SECOND`
recipients): alone it still leaves as fast as the throttle allows, and two broadcasts confirmed
together interleave instead of the second waiting for the first to finish.

Domain functions take a session and plain values, never Telegram objects, and never commit.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import arrival, outbox
from models.base import Base, BigIntPK, TimestampMixin
from models.challenges import ChallengeMember
from models.meals import MealAnswer
from models.outbox import OutboxMethod, OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.privacy import (
    ERASED_ID,
    DataItem,
    Phrase,
    Value,
    register_account_data_provider,
    register_account_erasure_hook,
)

PURPOSE_SEND = "broadcast"
PURPOSE_EDIT = "broadcast.edit"
PURPOSE_DELETE = "broadcast.delete"

DRAFT_TTL = timedelta(minutes=10)
"""A draft untouched for this long expires: nothing is sent (the organiser lost the connection)."""

STAGGER_PER_SECOND = 30
"""Rows of one broadcast fall due at this rate: slightly above the throttle's 29.4/s, so the throttle,
not the stagger, sets the pace, while a broadcast confirmed later interleaves with this one."""

STAGGER_LEAD = 2.0
"""Seconds of rows due at once when a broadcast starts: the sender always has due rows to claim
(no gap while it wakes up for the next one), and no more than that waits ahead of a newcomer."""

ENQUEUE_CHUNK = 1000
"""Outbox rows written per statement when a broadcast is confirmed."""

SUMMARY_MAX = 80
AUDIENCE_MAX = 64
FILE_ID_MAX = 255
NONCE_BYTES = 4  # 8 hex characters in callback data


def _enum(kind: type[enum.StrEnum], length: int = 16) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ContentKind(enum.StrEnum):
    """What an announcement carries."""

    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"


class AudienceKind(enum.StrEnum):
    """Who an announcement is for.

    "present" and "not arrived" follow the check-ins of `models.arrival`: who is in the building
    when the announcement goes, and who is registered but not checked in on one day (its date is
    the argument, chosen when the organiser picks the audience: "we start in 10 minutes").
    """

    ALL = "all"  # every registered (active) participant
    CHALLENGE = "challenge"  # one challenge's team
    ROLE = "role"  # one registration role
    MEAL = "meal"  # people who answered they will attend one meal
    PRESENT = "present"  # checked in and not left
    NOT_ARRIVED = "not_arrived"  # registered, not checked in on the day given (YYYY-MM-DD)


_WITHOUT_ARGUMENT = frozenset({AudienceKind.ALL, AudienceKind.PRESENT})


class DraftStage(enum.StrEnum):
    """What the organiser's draft waits for."""

    CONTENT = "content"  # the message to broadcast
    AUDIENCE = "audience"  # an audience button
    CONFIRM = "confirm"  # "Send", "Schedule" or "Cancel"
    SCHEDULE = "schedule"  # a typed time (HH:MM)
    EDIT_TEXT = "edit_text"  # the corrected text of a sent broadcast
    EDIT_CONFIRM = "edit_confirm"  # "Correct everywhere" or "Cancel"


INPUT_STAGES = frozenset({DraftStage.CONTENT, DraftStage.SCHEDULE, DraftStage.EDIT_TEXT})
"""Stages in which the organiser's next free message belongs to the draft."""


class BroadcastStatus(enum.StrEnum):
    """Life of a broadcast."""

    SCHEDULED = "scheduled"  # confirmed, rows due later
    SENDING = "sending"
    DONE = "done"  # every row final
    STOPPED = "stopped"  # every row final, some cancelled by the organiser


class OperationKind(enum.StrEnum):
    """What an organiser does to a broadcast already sent."""

    EDIT = "edit"
    DELETE = "delete"


class OperationStatus(enum.StrEnum):
    """Life of an edit or a deletion."""

    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Content:
    """An announcement: its kind, its text or caption in Telegram HTML, its file for media."""

    kind: ContentKind
    html: str | None = None
    file_id: str | None = None

    def send(self) -> tuple[str, dict[str, Any]]:
        """The Bot API method and payload (without chat_id) that deliver it, for everyone alike."""
        if self.kind is ContentKind.TEXT:
            return OutboxMethod.SEND_MESSAGE.value, {"text": self.html or "", "parse_mode": "HTML"}
        method = {
            ContentKind.PHOTO: OutboxMethod.SEND_PHOTO,
            ContentKind.DOCUMENT: OutboxMethod.SEND_DOCUMENT,
            ContentKind.VOICE: OutboxMethod.SEND_VOICE,
        }[self.kind]
        payload: dict[str, Any] = {self.kind.value: self.file_id}
        if self.html:
            payload["caption"] = self.html
            payload["parse_mode"] = "HTML"
        return method.value, payload

    def edit(self, message_id: int, html: str) -> tuple[str, dict[str, Any]]:
        """The request that replaces the text (or caption) of one delivered copy with `html`."""
        if self.kind is ContentKind.TEXT:
            return OutboxMethod.EDIT_MESSAGE_TEXT.value, {
                "message_id": message_id,
                "text": html,
                "parse_mode": "HTML",
            }
        return OutboxMethod.EDIT_MESSAGE_CAPTION.value, {
            "message_id": message_id,
            "caption": html,
            "parse_mode": "HTML",
        }

    def check(self) -> None:
        """Raise `PayloadTooLong` (with the count) if Telegram would refuse it; never truncate."""
        method, payload = self.send()
        outbox.validate_payload(method, payload)

    def with_html(self, html: str) -> Content:
        """The same media (or a text) with another text or caption."""
        return Content(self.kind, html, self.file_id)


def check_correction(kind: ContentKind, html: str) -> None:
    """Raise `PayloadTooLong` if `html` is too long as the new text (or caption) of `kind`."""
    Content(kind, html, "x" if kind is not ContentKind.TEXT else None).check()


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives a broadcast: a kind and, except for everyone, the id of a challenge, role or meal."""

    kind: AudienceKind
    arg: str | None = None

    def encode(self) -> str:
        """Stored form: `all`, `present`, `challenge:<id>`, `role:<id>`, `meal:<id>`, `not_arrived:<date>`."""
        return self.kind.value if self.arg is None else f"{self.kind.value}:{self.arg}"

    @classmethod
    def decode(cls, value: str) -> Audience:
        """Inverse of `encode`; ValueError for anything else."""
        kind, _, arg = value.partition(":")
        audience = cls(AudienceKind(kind), arg or None)
        if (audience.kind in _WITHOUT_ARGUMENT) != (audience.arg is None):
            raise ValueError(f"malformed audience {value!r}")
        if audience.kind is AudienceKind.NOT_ARRIVED:
            date.fromisoformat(audience.arg or "")  # ValueError for anything but a date
        return audience


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_SPACES = re.compile(r"\s+")


def summarize(html: str | None, limit: int = SUMMARY_MAX) -> str:
    """The first words of an announcement as plain text (for the organisers' list)."""
    if not html:
        return ""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.parts)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def new_nonce() -> str:
    """A random token for the buttons of one draft."""
    return secrets.token_hex(NONCE_BYTES)


_TIME = re.compile(r"^\s*(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?\s*$")


def parse_send_time(typed: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A typed time ("14:30", "14h30", "9h", "9.05") as the next such moment, in UTC.

    Today in the event's timezone if still to come, else tomorrow. None if it is not a time.
    """
    match = _TIME.match(typed)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    local_now = now.astimezone(tz)
    day = local_now.date()
    candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.combine(day + timedelta(days=1), time(hour, minute), tzinfo=tz)
    return candidate.astimezone(UTC)


# ---- tables ----------------------------------------------------------------------------------------


class Broadcast(TimestampMixin, Base):
    """One confirmed announcement; its deliveries are the outbox rows with `ref_id = id`."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organiser_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # The organiser's language, for progress and report texts written without an update at hand.
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    content_kind: Mapped[ContentKind] = mapped_column(_enum(ContentKind), nullable=False)
    # Text or caption in Telegram HTML (the current revision); the organiser's own words.
    content_html: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX), default="", nullable=False)
    audience: Mapped[str] = mapped_column(String(AUDIENCE_MAX), nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[BroadcastStatus] = mapped_column(_enum(BroadcastStatus), nullable=False)
    scheduled_at: Mapped[datetime | None] = mapped_column()
    confirmed_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column()
    # The organiser's confirmation message, edited with the progress and then the report.
    progress_chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column()
    # Final figures, copied from the outbox rows when the last one ends.
    delivered: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    blocked: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cancelled: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    in_doubt: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    @property
    def content(self) -> Content:
        """The current content as a value."""
        return Content(self.content_kind, self.content_html, self.file_id)

    @property
    def finished(self) -> bool:
        """True once every delivery ended."""
        return self.status in (BroadcastStatus.DONE, BroadcastStatus.STOPPED)

    @property
    def final_figures(self) -> Progress:
        """The figures kept when the last delivery ended."""
        return Progress(
            sent=self.delivered,
            blocked=self.blocked,
            failed=self.failed,
            cancelled=self.cancelled,
            in_doubt=self.in_doubt,
        )


class BroadcastOperation(TimestampMixin, Base):
    """An edit or a deletion of a sent broadcast, applied to every copy delivered."""

    __tablename__ = "broadcast_operations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[OperationKind] = mapped_column(_enum(OperationKind), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[OperationStatus] = mapped_column(_enum(OperationStatus), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    progress_chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[datetime | None] = mapped_column()
    done: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class BroadcastDraft(TimestampMixin, Base):
    """What one organiser is composing (or correcting); gone once confirmed, cancelled or expired."""

    __tablename__ = "broadcast_drafts"

    organiser_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(16), nullable=False)
    stage: Mapped[DraftStage] = mapped_column(_enum(DraftStage), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    content_kind: Mapped[ContentKind | None] = mapped_column(_enum(ContentKind))
    content_html: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    audience: Mapped[str | None] = mapped_column(String(AUDIENCE_MAX))
    scheduled_at: Mapped[datetime | None] = mapped_column()
    # When correcting a sent broadcast: which one.
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(nullable=False)

    @property
    def content(self) -> Content | None:
        """The content given so far, if any."""
        if self.content_kind is None:
            return None
        return Content(self.content_kind, self.content_html, self.file_id)

    def expired(self, now: datetime) -> bool:
        """Whether the organiser waited too long."""
        return now >= self.expires_at


# ---- drafts ----------------------------------------------------------------------------------------


async def get_draft(session: AsyncSession, organiser_id: int) -> BroadcastDraft | None:
    """The organiser's draft, expired or not (callers check `expired`)."""
    return await session.get(BroadcastDraft, organiser_id, populate_existing=True)


async def start_draft(
    session: AsyncSession,
    organiser_id: int,
    language: str,
    now: datetime,
    *,
    stage: DraftStage = DraftStage.CONTENT,
    broadcast_id: int | None = None,
) -> BroadcastDraft:
    """A fresh draft (replacing any other of this organiser: its buttons stop working)."""
    await session.execute(delete(BroadcastDraft).where(BroadcastDraft.organiser_id == organiser_id))
    draft = BroadcastDraft(
        organiser_id=organiser_id,
        nonce=new_nonce(),
        stage=stage,
        language=language,
        broadcast_id=broadcast_id,
        expires_at=now + DRAFT_TTL,
    )
    session.add(draft)
    await session.flush()
    return draft


def touch(draft: BroadcastDraft, stage: DraftStage, now: datetime) -> None:
    """Move the draft to `stage`; the expiry counts from the organiser's last action."""
    draft.stage = stage
    draft.expires_at = now + DRAFT_TTL


def set_content(draft: BroadcastDraft, content: Content, now: datetime) -> None:
    """Store the announcement (already checked with `Content.check`); next: the audience."""
    draft.content_kind = content.kind
    draft.content_html = content.html
    draft.file_id = content.file_id
    touch(draft, DraftStage.AUDIENCE, now)


def set_audience(draft: BroadcastDraft, audience: Audience, now: datetime) -> None:
    """Store the chosen audience; next: the confirmation."""
    draft.audience = audience.encode()
    touch(draft, DraftStage.CONFIRM, now)


def set_schedule(draft: BroadcastDraft, at: datetime | None, now: datetime) -> None:
    """Send at `at` (None: at once); back to the confirmation."""
    draft.scheduled_at = at
    touch(draft, DraftStage.CONFIRM, now)


def set_correction(draft: BroadcastDraft, html: str, now: datetime) -> None:
    """Store the corrected text of a sent broadcast; next: "correct everywhere"."""
    draft.content_html = html
    touch(draft, DraftStage.EDIT_CONFIRM, now)


async def discard_draft(session: AsyncSession, organiser_id: int) -> bool:
    """Forget the organiser's draft; False if there was none."""
    result = await session.execute(delete(BroadcastDraft).where(BroadcastDraft.organiser_id == organiser_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def purge_expired_drafts(session: AsyncSession, now: datetime) -> int:
    """Delete drafts nobody finished (they hold the organisers' unsent words)."""
    result = await session.execute(delete(BroadcastDraft).where(BroadcastDraft.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- audiences ---------------------------------------------------------------------------------------


def _audience_query(audience: Audience) -> Any:
    query = select(Participant.telegram_id).where(Participant.status == ParticipantStatus.ACTIVE)
    if audience.kind is AudienceKind.CHALLENGE:
        query = query.join(ChallengeMember, ChallengeMember.participant_id == Participant.id).where(
            ChallengeMember.challenge_id == audience.arg
        )
    elif audience.kind is AudienceKind.ROLE:
        query = query.where(Participant.role == audience.arg)
    elif audience.kind is AudienceKind.MEAL:
        query = query.join(MealAnswer, MealAnswer.participant_id == Participant.id).where(
            MealAnswer.meal_id == audience.arg, MealAnswer.attending.is_(True)
        )
    elif audience.kind is AudienceKind.PRESENT:
        query = query.where(Participant.id.in_(arrival.present_participant_ids()))
    elif audience.kind is AudienceKind.NOT_ARRIVED:
        day = date.fromisoformat(audience.arg or "")
        query = query.where(Participant.id.not_in(arrival.arrived_participant_ids(day)))
    return query.order_by(Participant.id)


async def recipients(session: AsyncSession, audience: Audience) -> list[int]:
    """Telegram ids of the registered participants in `audience`, in registration order."""
    return list(await session.scalars(_audience_query(audience)))


@dataclass(frozen=True, slots=True)
class AudienceCounts:
    """How many people each audience holds right now (shown on the audience buttons)."""

    everyone: int
    by_challenge: dict[str, int]
    by_role: dict[str, int]
    by_meal: dict[str, int]
    present: int = 0

    def of(self, audience: Audience) -> int:
        """The count for one audience ("not arrived" depends on its day: counted at confirmation)."""
        if audience.kind is AudienceKind.ALL:
            return self.everyone
        if audience.kind is AudienceKind.PRESENT:
            return self.present
        if audience.kind is AudienceKind.NOT_ARRIVED:
            return 0
        table = {
            AudienceKind.CHALLENGE: self.by_challenge,
            AudienceKind.ROLE: self.by_role,
            AudienceKind.MEAL: self.by_meal,
        }[audience.kind]
        return table.get(audience.arg or "", 0)


async def audience_counts(session: AsyncSession) -> AudienceCounts:
    """Counts of every audience, in four grouped queries."""
    active = Participant.status == ParticipantStatus.ACTIVE
    everyone = await session.scalar(select(func.count()).select_from(Participant).where(active))
    by_challenge = await session.execute(
        select(ChallengeMember.challenge_id, func.count())
        .join(Participant, ChallengeMember.participant_id == Participant.id)
        .where(active)
        .group_by(ChallengeMember.challenge_id)
    )
    by_role = await session.execute(
        select(Participant.role, func.count()).where(active).group_by(Participant.role)
    )
    by_meal = await session.execute(
        select(MealAnswer.meal_id, func.count())
        .join(Participant, MealAnswer.participant_id == Participant.id)
        .where(active, MealAnswer.attending.is_(True))
        .group_by(MealAnswer.meal_id)
    )
    present = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(active, Participant.id.in_(arrival.present_participant_ids()))
    )
    return AudienceCounts(
        everyone=int(everyone or 0),
        by_challenge={str(key): int(count) for key, count in by_challenge},
        by_role={str(key): int(count) for key, count in by_role if key is not None},
        by_meal={str(key): int(count) for key, count in by_meal},
        present=int(present or 0),
    )


# ---- confirming ------------------------------------------------------------------------------------


class EmptyAudienceError(ValueError):
    """Nobody is in the chosen audience: nothing to send."""


def stagger(index: int, start: datetime) -> datetime:
    """When the `index`-th recipient's row falls due (see `STAGGER_PER_SECOND`, `STAGGER_LEAD`)."""
    return start + timedelta(seconds=max(0.0, index / STAGGER_PER_SECOND - STAGGER_LEAD))


def send_key(broadcast_id: int, chat_id: int) -> str:
    """Dedupe key of one delivery: a broadcast reaches each chat once."""
    return f"bc:{broadcast_id}:{chat_id}"


async def confirm_draft(
    session: AsyncSession,
    draft: BroadcastDraft,
    *,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> Broadcast:
    """Turn a complete draft into a broadcast and queue one delivery per recipient; drop the draft.

    Raises `EmptyAudienceError` (nothing written) when the audience is empty now.
    """
    content = draft.content
    if content is None or draft.audience is None:
        raise ValueError("the draft is not complete")
    content.check()
    chats = await recipients(session, Audience.decode(draft.audience))
    if not chats:
        raise EmptyAudienceError(draft.audience)
    scheduled = draft.scheduled_at if draft.scheduled_at is not None and draft.scheduled_at > now else None
    broadcast = Broadcast(
        organiser_id=draft.organiser_id,
        language=draft.language,
        content_kind=content.kind,
        content_html=content.html,
        file_id=content.file_id,
        summary=summarize(content.html),
        audience=draft.audience,
        recipients=len(chats),
        status=BroadcastStatus.SCHEDULED if scheduled else BroadcastStatus.SENDING,
        scheduled_at=scheduled,
        confirmed_at=now,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    session.add(broadcast)
    await session.flush()
    method, payload = content.send()
    start = scheduled or now
    # A thousand rows at a time: 10,000 recipients' rows built at once would cost the process
    # tens of megabytes it keeps afterwards (same transaction, same result).
    for first in range(0, len(chats), ENQUEUE_CHUNK):
        await outbox.enqueue_many(
            session,
            [
                outbox.NewMessage(
                    chat_id=chat_id,
                    method=method,
                    payload=payload,
                    dedupe_key=send_key(broadcast.id, chat_id),
                    purpose=PURPOSE_SEND,
                    ref_id=broadcast.id,
                    due_at=stagger(index, start),
                )
                for index, chat_id in enumerate(chats[first : first + ENQUEUE_CHUNK], start=first)
            ],
        )
    await session.delete(draft)
    await session.flush()
    return broadcast


# ---- following the deliveries ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the deliveries of a broadcast (or of an edit or deletion) stand, from the outbox rows."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0  # refused by Telegram, out of attempts, or expired
    cancelled: int = 0  # stopped by the organiser before they left
    waiting: int = 0  # pending or being sent
    in_doubt: int = 0  # sent again after a crash: may have arrived twice

    @property
    def total(self) -> int:
        """Every row."""
        return self.sent + self.blocked + self.failed + self.cancelled + self.waiting

    @property
    def done(self) -> int:
        """Rows that reached a final state."""
        return self.total - self.waiting

    @property
    def finished(self) -> bool:
        """True when nothing is left to send."""
        return self.waiting == 0

    @property
    def missed(self) -> int:
        """Recipients who did not get it."""
        return self.blocked + self.failed + self.cancelled


async def progress(session: AsyncSession, purpose: str, ref_id: int) -> Progress:
    """Count the outbox rows of one broadcast (or operation) by outcome, in one query."""
    rows = await session.execute(
        select(OutgoingMessage.state, OutgoingMessage.in_doubt, func.count())
        .where(OutgoingMessage.purpose == purpose, OutgoingMessage.ref_id == ref_id)
        .group_by(OutgoingMessage.state, OutgoingMessage.in_doubt)
    )
    counts = dict.fromkeys(OutboxState, 0)
    in_doubt = 0
    for state, doubtful, count in rows:
        counts[OutboxState(state)] += count
        if doubtful:
            in_doubt += count
    return Progress(
        sent=counts[OutboxState.SENT],
        blocked=counts[OutboxState.BLOCKED],
        failed=counts[OutboxState.FAILED] + counts[OutboxState.EXPIRED],
        cancelled=counts[OutboxState.CANCELLED],
        waiting=counts[OutboxState.PENDING] + counts[OutboxState.SENDING],
        in_doubt=in_doubt,
    )


async def active_broadcasts(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts still scheduled or sending, oldest first."""
    return list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status.in_([BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]))
            .order_by(Broadcast.id)
        )
    )


async def active_operations(session: AsyncSession) -> list[BroadcastOperation]:
    """Edits and deletions still running, oldest first."""
    return list(
        await session.scalars(
            select(BroadcastOperation)
            .where(BroadcastOperation.status == OperationStatus.RUNNING)
            .order_by(BroadcastOperation.id)
        )
    )


async def start_sending(session: AsyncSession, broadcast_id: int) -> bool:
    """A scheduled broadcast fell due: it is sending now. False if it was not scheduled any more."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
        .values(status=BroadcastStatus.SENDING)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish_broadcast(
    session: AsyncSession, broadcast_id: int, figures: Progress, now: datetime
) -> bool:
    """Every delivery ended: keep the figures. False if another caller finished it first."""
    status = BroadcastStatus.STOPPED if figures.cancelled else BroadcastStatus.DONE
    result = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status.in_([BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]),
        )
        .values(
            status=status,
            finished_at=now,
            delivered=figures.sent,
            blocked=figures.blocked,
            failed=figures.failed,
            cancelled=figures.cancelled,
            in_doubt=figures.in_doubt,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish_operation(
    session: AsyncSession, operation_id: int, figures: Progress, now: datetime
) -> bool:
    """Every edit (or deletion) ended: keep the figures. False if it was already finished."""
    result = await session.execute(
        update(BroadcastOperation)
        .where(BroadcastOperation.id == operation_id, BroadcastOperation.status == OperationStatus.RUNNING)
        .values(
            status=OperationStatus.DONE,
            finished_at=now,
            done=figures.sent,
            failed=figures.blocked + figures.failed + figures.cancelled,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def stop_broadcast(session: AsyncSession, broadcast_id: int) -> int:
    """Cancel the deliveries that have not left yet; return how many. Those in flight still end."""
    cancelled = await outbox.cancel(session, purpose=PURPOSE_SEND, ref_id=broadcast_id)
    # A scheduled broadcast is now over too: the follow-up loop finishes it as "stopped".
    await start_sending(session, broadcast_id)
    return cancelled


# ---- reading --------------------------------------------------------------------------------------


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """One broadcast by id."""
    return await session.get(Broadcast, broadcast_id, populate_existing=True)


async def history(session: AsyncSession, limit: int = 10) -> list[Broadcast]:
    """The most recent broadcasts, newest first."""
    return list(await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class Missed:
    """A recipient who did not receive a broadcast, and why (an outbox state)."""

    chat_id: int
    name: str | None  # None when the participant erased their data since
    state: OutboxState


async def missed(session: AsyncSession, broadcast_id: int) -> list[Missed]:
    """Recipients whose delivery ended otherwise than sent (blocked first, then failed, then stopped)."""
    rows = await session.execute(
        select(OutgoingMessage.chat_id, OutgoingMessage.state, Participant.display_name)
        .outerjoin(Participant, Participant.telegram_id == OutgoingMessage.chat_id)
        .where(
            OutgoingMessage.purpose == PURPOSE_SEND,
            OutgoingMessage.ref_id == broadcast_id,
            OutgoingMessage.state.in_(
                [OutboxState.BLOCKED, OutboxState.FAILED, OutboxState.EXPIRED, OutboxState.CANCELLED]
            ),
        )
        .order_by(OutgoingMessage.id)
    )
    order = {OutboxState.BLOCKED: 0, OutboxState.FAILED: 1, OutboxState.EXPIRED: 1, OutboxState.CANCELLED: 2}
    found = [Missed(int(chat), name, OutboxState(state)) for chat, state, name in rows]
    return sorted(found, key=lambda m: order[m.state])


async def running_operation(session: AsyncSession, broadcast_id: int) -> BroadcastOperation | None:
    """The edit or deletion of this broadcast still running, if any."""
    return await session.scalar(
        select(BroadcastOperation).where(
            BroadcastOperation.broadcast_id == broadcast_id,
            BroadcastOperation.status == OperationStatus.RUNNING,
        )
    )


async def get_operation(session: AsyncSession, operation_id: int) -> BroadcastOperation | None:
    """One operation by id."""
    return await session.get(BroadcastOperation, operation_id, populate_existing=True)


# ---- editing and deleting everywhere -----------------------------------------------------------------


class NotChangeableError(ValueError):
    """The broadcast cannot be edited or deleted now (still sending, deleted, or busy)."""


async def _delivered_copies(session: AsyncSession, broadcast_id: int) -> Sequence[tuple[int, int]]:
    rows = await session.execute(
        select(OutgoingMessage.chat_id, OutgoingMessage.sent_message_id)
        .where(
            OutgoingMessage.purpose == PURPOSE_SEND,
            OutgoingMessage.ref_id == broadcast_id,
            OutgoingMessage.state == OutboxState.SENT,
            OutgoingMessage.sent_message_id.is_not(None),
        )
        .order_by(OutgoingMessage.id)
    )
    return [(int(chat), int(message)) for chat, message in rows if message is not None]


async def _check_changeable(session: AsyncSession, broadcast: Broadcast) -> None:
    if not broadcast.finished or broadcast.deleted_at is not None:
        raise NotChangeableError(broadcast.id)
    if await running_operation(session, broadcast.id) is not None:
        raise NotChangeableError(broadcast.id)


async def _start_operation(
    session: AsyncSession,
    broadcast: Broadcast,
    kind: OperationKind,
    *,
    language: str,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> tuple[BroadcastOperation, Sequence[tuple[int, int]]]:
    await _check_changeable(session, broadcast)
    copies = await _delivered_copies(session, broadcast.id)
    operation = BroadcastOperation(
        broadcast_id=broadcast.id,
        kind=kind,
        revision=broadcast.revision + (1 if kind is OperationKind.EDIT else 0),
        total=len(copies),
        status=OperationStatus.RUNNING,
        language=language,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    session.add(operation)
    await session.flush()
    return operation, copies


async def edit_everywhere(
    session: AsyncSession,
    broadcast: Broadcast,
    html: str,
    *,
    language: str,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> BroadcastOperation:
    """Replace the text (or caption) of every delivered copy; queue one edit per copy.

    Raises `PayloadTooLong` for a text Telegram would refuse, `NotChangeableError` while the
    broadcast is sending, deleted or being changed.
    """
    check_correction(broadcast.content_kind, html)
    operation, copies = await _start_operation(
        session,
        broadcast,
        OperationKind.EDIT,
        language=language,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        now=now,
    )
    broadcast.revision = operation.revision
    broadcast.content_html = html
    broadcast.summary = summarize(html)
    content = broadcast.content
    rows = []
    for index, (chat_id, message_id) in enumerate(copies):
        method, payload = content.edit(message_id, html)
        rows.append(
            outbox.NewMessage(
                chat_id=chat_id,
                method=method,
                payload=payload,
                dedupe_key=f"bc:{broadcast.id}:e{operation.revision}:{chat_id}",
                purpose=PURPOSE_EDIT,
                ref_id=operation.id,
                due_at=stagger(index, now),
            )
        )
    await outbox.enqueue_many(session, rows)
    return operation


async def delete_everywhere(
    session: AsyncSession,
    broadcast: Broadcast,
    *,
    language: str,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> BroadcastOperation:
    """Delete every delivered copy; queue one deletion per copy. `NotChangeableError` as for edits."""
    operation, copies = await _start_operation(
        session,
        broadcast,
        OperationKind.DELETE,
        language=language,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        now=now,
    )
    broadcast.deleted_at = now
    await outbox.enqueue_many(
        session,
        [
            outbox.NewMessage(
                chat_id=chat_id,
                method=OutboxMethod.DELETE_MESSAGE.value,
                payload={"message_id": message_id},
                dedupe_key=f"bc:{broadcast.id}:d:{chat_id}",
                purpose=PURPOSE_DELETE,
                ref_id=operation.id,
                due_at=stagger(index, now),
            )
            for index, (chat_id, message_id) in enumerate(copies)
        ],
    )
    return operation


def purpose_of(kind: OperationKind) -> str:
    """Outbox purpose of an operation's rows."""
    return PURPOSE_EDIT if kind is OperationKind.EDIT else PURPOSE_DELETE


# ---- one decision per tap ------------------------------------------------------------------------
#
# Each organiser action (a free message for the draft, a button) is decided by one function below,
# inside the one transaction of the update: the draft or broadcast is read once, checked, changed,
# and what the organiser is shown next is returned, so the handler never reads again after writing.


class Refusal(enum.StrEnum):
    """Why an organiser's action did nothing."""

    STALE = "stale"  # another draft's button, a step already passed, a second tap, a broadcast gone
    EXPIRED = "expired"  # the draft was left alone too long (it is discarded)
    EMPTY = "empty"  # nobody is in the chosen audience
    NOT_CHANGEABLE = "not_changeable"  # still sending, deleted, or the correction cannot apply
    BUSY = "busy"  # an edit or a deletion of this broadcast is still running


@dataclass(frozen=True, slots=True)
class Refused:
    """An action refused; `language` is the draft's (for the message saying so) when there is one."""

    reason: Refusal
    language: str | None = None


STALE = Refused(Refusal.STALE)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the confirmation of a draft shows: the audience, how many, when, and the preview."""

    language: str
    nonce: str
    audience: Audience
    recipients: int
    scheduled_at: datetime | None
    content: Content | None


@dataclass(frozen=True, slots=True)
class AudienceMenu:
    """An audience menu of a draft, with the count of every audience."""

    language: str
    nonce: str
    counts: AudienceCounts


async def _confirmation(session: AsyncSession, draft: BroadcastDraft) -> Confirmation:
    if draft.audience is None:
        raise ValueError("the draft has no audience yet")
    audience = Audience.decode(draft.audience)
    count = len(await recipients(session, audience))
    return Confirmation(draft.language, draft.nonce, audience, count, draft.scheduled_at, draft.content)


async def _tapped(
    session: AsyncSession,
    organiser_id: int,
    nonce: str,
    now: datetime,
    stages: frozenset[DraftStage] | None = None,
) -> BroadcastDraft | Refused:
    """The draft a button of `nonce` acts on; an expired one is discarded (checked before the stage)."""
    draft = await get_draft(session, organiser_id)
    if draft is None or draft.nonce != nonce:
        return STALE
    if draft.expired(now):
        await discard_draft(session, organiser_id)
        return Refused(Refusal.EXPIRED, draft.language)
    if stages is not None and draft.stage not in stages:
        return STALE
    return draft


_CHOOSING = frozenset({DraftStage.AUDIENCE, DraftStage.CONFIRM})
_SCHEDULING = frozenset({DraftStage.CONFIRM, DraftStage.SCHEDULE})


async def cancel_draft(
    session: AsyncSession, organiser_id: int, nonce: str, now: datetime
) -> BroadcastDraft | Refused:
    """The button "Cancel" on a draft (at any step): it is discarded; the discarded draft is returned."""
    draft = await _tapped(session, organiser_id, nonce, now)
    if isinstance(draft, BroadcastDraft):
        await discard_draft(session, organiser_id)
    return draft


async def open_audience_menu(
    session: AsyncSession, organiser_id: int, nonce: str, now: datetime
) -> AudienceMenu | Refused:
    """An audience (sub-)menu, while the audience may still be chosen."""
    draft = await _tapped(session, organiser_id, nonce, now, _CHOOSING)
    if isinstance(draft, Refused):
        return draft
    return AudienceMenu(draft.language, draft.nonce, await audience_counts(session))


async def choose_audience(
    session: AsyncSession, organiser_id: int, nonce: str, audience: Audience | None, now: datetime
) -> Confirmation | Refused:
    """Store the audience and return the confirmation; `EMPTY` (nothing stored) if nobody is in it.

    `audience` None: one the event no longer offers (an old button), refused as stale.
    """
    draft = await _tapped(session, organiser_id, nonce, now, frozenset({DraftStage.AUDIENCE}))
    if isinstance(draft, Refused):
        return draft
    if audience is None:
        return STALE
    if not await recipients(session, audience):
        return Refused(Refusal.EMPTY, draft.language)
    set_audience(draft, audience, now)
    return await _confirmation(session, draft)


async def schedule_options(
    session: AsyncSession, organiser_id: int, nonce: str, now: datetime
) -> Confirmation | Refused:
    """The button "Schedule": the confirmation as it stands (the options replace its buttons)."""
    draft = await _tapped(session, organiser_id, nonce, now, frozenset({DraftStage.CONFIRM}))
    if isinstance(draft, Refused):
        return draft
    return await _confirmation(session, draft)


async def schedule_in(
    session: AsyncSession, organiser_id: int, nonce: str, minutes: int, now: datetime
) -> Confirmation | Refused:
    """Send in `minutes` (0: at once); back to the confirmation."""
    draft = await _tapped(session, organiser_id, nonce, now, _SCHEDULING)
    if isinstance(draft, Refused):
        return draft
    set_schedule(draft, now + timedelta(minutes=minutes) if minutes else None, now)
    return await _confirmation(session, draft)


async def wait_for_typed_time(
    session: AsyncSession, organiser_id: int, nonce: str, now: datetime
) -> BroadcastDraft | Refused:
    """The button "Type a time": the draft now waits for the organiser's next message."""
    draft = await _tapped(session, organiser_id, nonce, now, _SCHEDULING)
    if isinstance(draft, BroadcastDraft):
        touch(draft, DraftStage.SCHEDULE, now)
    return draft


async def confirm(
    session: AsyncSession,
    organiser_id: int,
    nonce: str,
    *,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> Broadcast | Refused:
    """The button "Send": the broadcast and its deliveries (see `confirm_draft`).

    `EMPTY` when everyone left the audience since the preview: the draft is discarded, nothing sent.
    """
    draft = await _tapped(session, organiser_id, nonce, now, frozenset({DraftStage.CONFIRM}))
    if isinstance(draft, Refused):
        return draft
    try:
        return await confirm_draft(
            session,
            draft,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            now=now,
        )
    except EmptyAudienceError:
        await discard_draft(session, organiser_id)
        return Refused(Refusal.EMPTY, draft.language)


async def confirm_correction(
    session: AsyncSession,
    organiser_id: int,
    nonce: str,
    *,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> BroadcastOperation | Refused:
    """The button "Correct everywhere": queue the edits (see `edit_everywhere`) and drop the draft."""
    draft = await _tapped(session, organiser_id, nonce, now, frozenset({DraftStage.EDIT_CONFIRM}))
    if isinstance(draft, Refused):
        return draft
    if draft.broadcast_id is None:
        return STALE
    broadcast = await get_broadcast(session, draft.broadcast_id)
    if broadcast is None or not draft.content_html:
        return Refused(Refusal.NOT_CHANGEABLE, draft.language)
    try:
        operation: BroadcastOperation | Refused = await edit_everywhere(
            session,
            broadcast,
            draft.content_html,
            language=draft.language,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            now=now,
        )
    except (NotChangeableError, outbox.PayloadTooLong):
        operation = Refused(Refusal.NOT_CHANGEABLE, draft.language)
    await discard_draft(session, organiser_id)
    return operation


@dataclass(frozen=True, slots=True)
class DraftInput:
    """A free message as a draft may take it: as an announcement, a typed time or a corrected text."""

    content: Content | None  # None: a kind of message that cannot be broadcast
    text: str | None  # the plain text (None for media)
    html: str | None  # the text with its formatting, as Telegram HTML (None for media)


class InputOutcome(enum.StrEnum):
    """What an organiser's free message did to their draft."""

    NOT_MINE = "not_mine"  # no draft waits for a message: someone else's to answer
    IGNORED = "ignored"  # taken, nothing to say (the broadcast being corrected is gone)
    EXPIRED = "expired"
    USE_BUTTONS = "use_buttons"  # the draft waits for a button
    UNSUPPORTED = "unsupported"  # a sticker, a location...: not an announcement
    TOO_LONG = "too_long"
    BAD_TIME = "bad_time"
    TEXT_EXPECTED = "text_expected"  # a correction must be a text
    AUDIENCE = "audience"  # the announcement is stored: choose the audience
    CONFIRM = "confirm"  # the time is stored: the confirmation
    CORRECTION = "correction"  # the corrected text is stored: the preview, then "correct everywhere"


@dataclass(frozen=True, slots=True)
class InputResult:
    """What the draft did with a free message, and what to show."""

    outcome: InputOutcome
    language: str = ""
    nonce: str = ""
    too_long: outbox.PayloadTooLong | None = None
    counts: AudienceCounts | None = None  # AUDIENCE
    confirmation: Confirmation | None = None  # CONFIRM
    broadcast: Broadcast | None = None  # CORRECTION: the broadcast corrected
    corrected: Content | None = None  # CORRECTION: the broadcast with its new text


async def take_input(
    session: AsyncSession, organiser_id: int, message: DraftInput, now: datetime, tz: ZoneInfo
) -> InputResult:
    """An organiser's free message, given to their draft if it waits for one."""
    draft = await get_draft(session, organiser_id)
    if draft is None:
        return InputResult(InputOutcome.NOT_MINE)
    lang, nonce = draft.language, draft.nonce
    if draft.expired(now):
        await discard_draft(session, organiser_id)
        if draft.stage in INPUT_STAGES:
            return InputResult(InputOutcome.EXPIRED, lang)
        return InputResult(InputOutcome.NOT_MINE)
    if draft.stage is DraftStage.CONTENT:
        if message.content is None:
            return InputResult(InputOutcome.UNSUPPORTED, lang)
        try:
            message.content.check()
        except outbox.PayloadTooLong as exc:
            return InputResult(InputOutcome.TOO_LONG, lang, too_long=exc)
        set_content(draft, message.content, now)
        return InputResult(InputOutcome.AUDIENCE, lang, nonce, counts=await audience_counts(session))
    if draft.stage is DraftStage.SCHEDULE:
        at = parse_send_time(message.text or "", now, tz)
        if at is None:
            return InputResult(InputOutcome.BAD_TIME, lang)
        set_schedule(draft, at, now)
        return InputResult(
            InputOutcome.CONFIRM, lang, nonce, confirmation=await _confirmation(session, draft)
        )
    if draft.stage is DraftStage.EDIT_TEXT:
        return await _take_correction(session, draft, message, now)
    # Mid-flow, the next step is a button: say so rather than treat it as a stray message.
    return InputResult(InputOutcome.USE_BUTTONS, lang)


async def _take_correction(
    session: AsyncSession, draft: BroadcastDraft, message: DraftInput, now: datetime
) -> InputResult:
    lang = draft.language
    if message.html is None or draft.broadcast_id is None:
        return InputResult(InputOutcome.TEXT_EXPECTED, lang)
    broadcast = await get_broadcast(session, draft.broadcast_id)
    if broadcast is None:
        return InputResult(InputOutcome.IGNORED, lang)
    try:
        check_correction(broadcast.content_kind, message.html)
    except outbox.PayloadTooLong as exc:
        return InputResult(InputOutcome.TOO_LONG, lang, too_long=exc)
    set_correction(draft, message.html, now)
    return InputResult(
        InputOutcome.CORRECTION,
        lang,
        draft.nonce,
        broadcast=broadcast,
        corrected=broadcast.content.with_html(message.html),
    )


async def stop_unfinished(session: AsyncSession, broadcast_id: int) -> int | Refused:
    """The button "Stop": cancel what has not left yet (see `stop_broadcast`); `STALE` once it is over."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast is None or broadcast.finished:
        return STALE
    return await stop_broadcast(session, broadcast_id)


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction started: the draft waiting for the new text, and the broadcast it corrects."""

    draft: BroadcastDraft
    broadcast: Broadcast


async def start_correction(
    session: AsyncSession, organiser_id: int, broadcast_id: int, language: str, now: datetime
) -> Correction | Refused:
    """The button "Correct the text": a draft waiting for the new text (replacing any other)."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast is None:
        return STALE
    if await running_operation(session, broadcast.id) is not None:
        return Refused(Refusal.BUSY)
    if not broadcast.finished or broadcast.deleted_at is not None:
        return Refused(Refusal.NOT_CHANGEABLE)
    draft = await start_draft(
        session, organiser_id, language, now, stage=DraftStage.EDIT_TEXT, broadcast_id=broadcast.id
    )
    return Correction(draft, broadcast)


async def deletable(session: AsyncSession, broadcast_id: int) -> Broadcast | Refused:
    """The broadcast "delete everywhere" would delete, asked before doing it."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast is None:
        return STALE
    if not broadcast.finished or broadcast.deleted_at is not None:
        return Refused(Refusal.NOT_CHANGEABLE)
    return broadcast


async def delete_broadcast(
    session: AsyncSession,
    broadcast_id: int,
    *,
    language: str,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> BroadcastOperation | Refused:
    """The button "Delete everywhere", confirmed (see `delete_everywhere`); `STALE` if it cannot now."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast is None:
        return STALE
    try:
        return await delete_everywhere(
            session,
            broadcast,
            language=language,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            now=now,
        )
    except NotChangeableError:
        return STALE


@dataclass(frozen=True, slots=True)
class Standing:
    """A broadcast and where its deliveries stand (live while sending, the kept figures after)."""

    broadcast: Broadcast
    figures: Progress


async def standing(session: AsyncSession, broadcast: Broadcast) -> Standing:
    """Where one broadcast's deliveries stand."""
    if broadcast.finished:
        return Standing(broadcast, broadcast.final_figures)
    return Standing(broadcast, await progress(session, PURPOSE_SEND, broadcast.id))


async def standing_of(session: AsyncSession, broadcast_id: int) -> Standing | None:
    """Where one broadcast's deliveries stand; None if there is no such broadcast."""
    broadcast = await get_broadcast(session, broadcast_id)
    return None if broadcast is None else await standing(session, broadcast)


async def recent_standings(session: AsyncSession, limit: int = 10) -> list[Standing]:
    """The most recent broadcasts, newest first, with where their deliveries stand."""
    return [await standing(session, broadcast) for broadcast in await history(session, limit)]


@dataclass(frozen=True, slots=True)
class MissedReport:
    """Who did not receive a broadcast."""

    broadcast: Broadcast
    people: list[Missed]


async def missed_report(session: AsyncSession, broadcast_id: int) -> MissedReport | None:
    """The broadcast and who did not receive it; None if there is no such broadcast."""
    broadcast = await get_broadcast(session, broadcast_id)
    return None if broadcast is None else MissedReport(broadcast, await missed(session, broadcast_id))


# ---- privacy ---------------------------------------------------------------------------------------
#
# An organiser's announcements hold their own words, and organisers need not be registered, so
# both are keyed by the Telegram id (account-level hooks, run by /mydata and /forget for anyone).
#
# - A draft is unsent words nobody else has seen: /forget deletes it.
# - A confirmed announcement went to other people, who keep their copy; it is the federation's
#   record of what it told participants (the other organisers follow it in /annonces, may stop,
#   correct or delete it). Deleting it would also lose the delivery record that a later "delete
#   everywhere" needs. So its text stays, and what ties it to the person goes: the author's id
#   and the chat and message where their progress report lives become `ERASED_ID` / NULL (the
#   runner then has nobody to report to). The same holds for the edits and deletions they made.
#   A signature typed inside the text itself is part of the announcement and stays with it.


def _content_phrase(key: str, kind: ContentKind, html: str | None, **params: Value) -> Phrase:
    """`key` (or `key_no_text` for media without a caption) with the kind and the first words."""
    summary = summarize(html)
    params["kind"] = Phrase(f"broadcasts.mydata_kind.{kind.value}")
    if summary:
        params["summary"] = summary
        return Phrase(key, params)
    return Phrase(f"{key}_no_text", params)


@register_account_data_provider
async def organiser_data(session: AsyncSession, telegram_id: int) -> list[DataItem]:
    """/mydata of an organiser: the draft in progress and every announcement they confirmed."""
    items: list[DataItem] = []
    draft = await session.get(BroadcastDraft, telegram_id)
    if draft is not None:
        value = (
            _content_phrase("broadcasts.mydata_draft", draft.content_kind, draft.content_html)
            if draft.content_kind is not None
            else Phrase("broadcasts.mydata_draft_empty")
        )
        items.append(DataItem("broadcasts.label.draft", value))
    written = await session.scalars(
        select(Broadcast).where(Broadcast.organiser_id == telegram_id).order_by(Broadcast.id)
    )
    for broadcast in written:
        value = _content_phrase(
            "broadcasts.mydata_sent",
            broadcast.content_kind,
            broadcast.content_html,
            number=broadcast.id,
            when=broadcast.confirmed_at,
        )
        items.append(DataItem("broadcasts.label.sent", value))
    changes = await session.scalar(
        select(func.count())
        .select_from(BroadcastOperation)
        .where(BroadcastOperation.progress_chat_id == telegram_id)
    )
    if changes:
        items.append(DataItem("broadcasts.label.changes", int(changes)))
    return items


@register_account_erasure_hook
async def forget_organiser(session: AsyncSession, telegram_id: int) -> bool:
    """/forget of an organiser: delete the draft; unlink their announcements from them (see above)."""
    draft = await session.execute(delete(BroadcastDraft).where(BroadcastDraft.organiser_id == telegram_id))
    authored = await session.execute(
        update(Broadcast)
        .where(Broadcast.organiser_id == telegram_id)
        .values(organiser_id=ERASED_ID)
        .execution_options(synchronize_session=False)
    )
    # Progress reports live in the private chat of whoever confirmed (or corrected, or deleted):
    # unlink those in the person's chat, whoever wrote the announcement.
    await session.execute(
        update(Broadcast)
        .where(Broadcast.progress_chat_id == telegram_id)
        .values(progress_chat_id=ERASED_ID, progress_message_id=None)
        .execution_options(synchronize_session=False)
    )
    operations = await session.execute(
        update(BroadcastOperation)
        .where(BroadcastOperation.progress_chat_id == telegram_id)
        .values(progress_chat_id=ERASED_ID, progress_message_id=None)
        .execution_options(synchronize_session=False)
    )
    return bool(draft.rowcount or authored.rowcount or operations.rowcount)  # type: ignore[attr-defined]
