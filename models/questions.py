"""Questions to facilitators: tickets, their conversation, the message mapping, forum topics, mutes.

The bot is a switchboard between a participant's private chat and the staff group. Everything it
needs to route a reply lives here, in the database, for the whole event:

- `QuestionTicket`: one question (asker, challenge, state open → claimed → answered → closed).
- `QuestionPost`: every message of the ticket's conversation, from the asker or a facilitator.
- `QuestionLink`: which Telegram message (chat id, message id) belongs to which ticket, on both
  sides: the relayed copy in the staff group, the answer delivered to the asker, the "received"
  acknowledgement. UNIQUE(chat_id, message_id), so a reply always finds exactly one ticket.
- `StaffTopic`: the forum topic of each challenge in the staff group (created on demand).
- `QuestionMute`: a participant whose questions are paused by an organiser.

Domain functions take a session and plain values, never Telegram objects, and never commit.

Privacy (`/forget`): the asker's tickets are kept as anonymous statistics (number, challenge,
times, state) but everything that could identify them or say what they asked is deleted: the
posts (texts of both sides), the link to the participant, the links in their private chat, the
mute. The caller also deletes the relayed copies in the staff group (see `forget_asker`).
A facilitator or organiser who erases their data is unlinked from the tickets they handled, keyed
by their Telegram id since staff need not be registered (see `forget_staff_member`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import outbox
from models.base import Base, BigIntPK, TimestampMixin
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant
from models.privacy import (
    ERASED_ID,
    DataItem,
    ErasureContext,
    Phrase,
    register_account_data_provider,
    register_account_erasure_hook,
    register_data_provider,
    register_erasure_hook,
)
from schedule.config import EventConfig

NAME_MAX = 64
TOPIC_GENERAL = "_general"

# Outbox purposes (at most 32 characters). `ref_id` is a ticket id or a post id, as noted.
PURPOSE_RELAY = "q_relay"  # the ticket's message in the staff group (ref: ticket)
PURPOSE_RELAY_COPY = "q_relay_copy"  # the original content, when it could not carry the header (ref: ticket)
PURPOSE_FOLLOWUP = "q_followup"  # an asker's follow-up relayed to the staff group (ref: post)
PURPOSE_ANSWER = "q_answer"  # a facilitator's answer delivered to the asker (ref: post)
PURPOSE_STAFF_NOTICE = "q_staff_notice"  # escalations and other notices about a ticket (ref: ticket)
PURPOSE_ASKER_NOTICE = "q_asker_notice"  # "still in the queue", "resolved" (ref: ticket)
PURPOSE_EDIT = "q_edit"  # header edits of the ticket's staff message (ref: ticket)
PURPOSE_CLEANUP = "q_cleanup"  # deleting relayed copies after /forget (ref: ticket)
PURPOSE_CONFIG = "q_config"  # start-up warnings to organisers

# Purposes whose sent message in the staff group carries a ticket (replying to it reaches the asker).
STAFF_TICKET_PURPOSES = (PURPOSE_RELAY, PURPOSE_RELAY_COPY, PURPOSE_FOLLOWUP, PURPOSE_STAFF_NOTICE)
TICKET_REF_PURPOSES = frozenset({PURPOSE_RELAY, PURPOSE_RELAY_COPY, PURPOSE_STAFF_NOTICE})


class TicketState(enum.StrEnum):
    """Life of a ticket."""

    OPEN = "open"  # waiting for a facilitator
    CLAIMED = "claimed"  # a facilitator said "I'll take it"
    ANSWERED = "answered"  # at least one answer was delivered to the asker
    CLOSED = "closed"  # resolved (or the asker erased their data)


WAITING_STATES = (TicketState.OPEN, TicketState.CLAIMED)


class ContentKind(enum.StrEnum):
    """What a relayed message contains. All of these can be copied with copyMessage."""

    TEXT = "text"
    PHOTO = "photo"
    VOICE = "voice"
    DOCUMENT = "document"
    VIDEO = "video"
    AUDIO = "audio"
    ANIMATION = "animation"
    VIDEO_NOTE = "video_note"
    LOCATION = "location"

    @property
    def takes_caption(self) -> bool:
        """Whether Telegram lets a copy of this content carry a caption."""
        return self not in (ContentKind.TEXT, ContentKind.VIDEO_NOTE, ContentKind.LOCATION)


class Author(enum.StrEnum):
    """Who wrote a post."""

    ASKER = "asker"
    STAFF = "staff"


class LinkKind(enum.StrEnum):
    """What a mapped Telegram message is."""

    RELAY = "relay"  # staff group: a copy of an asker's post (the ticket message or a follow-up)
    NOTICE = "notice"  # staff group: an escalation or another notice about the ticket
    DELIVERY = "delivery"  # asker's chat: a facilitator's answer
    ACK = "ack"  # asker's chat: "received, a facilitator will answer here"


def _str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class QuestionTicket(TimestampMixin, Base):
    """One question; its id is the ticket number staff and asker see (#12)."""

    __tablename__ = "question_tickets"
    __table_args__ = (Index("ix_question_tickets_state_waiting_since", "state", "waiting_since"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # NULL once the asker erased their data: the ticket stays as an anonymous statistic.
    asker_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    challenge_id: Mapped[str | None] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    state: Mapped[TicketState] = mapped_column(
        _str_enum(TicketState), default=TicketState.OPEN, nullable=False
    )
    follow_up_of: Mapped[int | None] = mapped_column(BigInteger)
    asked_at: Mapped[datetime] = mapped_column(nullable=False)
    # Start of the current wait (the question, or a follow-up after an answer): escalation clock.
    waiting_since: Mapped[datetime] = mapped_column(nullable=False)
    escalated_at: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    claimed_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    erased: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Where the ticket's message is in the staff group (set once the relay was sent).
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # How the header is carried: "text" (header + question), "caption" (copy + caption) or
    # "split" (a header message, then a copy of the original): decides how it is edited.
    header_mode: Mapped[str | None] = mapped_column(String(16))
    header_version: Mapped[int] = mapped_column(default=0, nullable=False)
    relay_attempt: Mapped[int] = mapped_column(default=0, nullable=False)
    relay_failed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    @property
    def is_waiting(self) -> bool:
        """Open or claimed: the asker is waiting for an answer."""
        return self.state in WAITING_STATES


class QuestionPost(Base):
    """One message of a ticket's conversation: the question, a follow-up or an answer."""

    __tablename__ = "question_posts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("question_tickets.id", ondelete="CASCADE"), index=True, nullable=False
    )
    author: Mapped[Author] = mapped_column(_str_enum(Author, 8), nullable=False)
    # Facilitators only: who answered (asker posts are tied to the ticket's asker).
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    kind: Mapped[ContentKind] = mapped_column(_str_enum(ContentKind), nullable=False)
    # The text or caption as typed (None for a photo without caption, a voice note...).
    text: Mapped[str | None] = mapped_column(Text)
    # The original message, copied with copyMessage (the asker's private chat or the staff group).
    source_chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source_message_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class QuestionLink(Base):
    """A Telegram message that belongs to a ticket, on either side of the switchboard."""

    __tablename__ = "question_links"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    message_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ticket_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("question_tickets.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # The post this message carries (an answer replies to exactly the message it answers).
    post_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("question_posts.id", ondelete="SET NULL")
    )
    kind: Mapped[LinkKind] = mapped_column(_str_enum(LinkKind), nullable=False)


class StaffTopic(Base):
    """The forum topic of one challenge (or of general questions) in a staff group."""

    __tablename__ = "question_topics"
    __table_args__ = (UniqueConstraint("chat_id", "topic_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    topic_key: Mapped[str] = mapped_column(String(64), nullable=False)
    thread_id: Mapped[int] = mapped_column(BigInteger, nullable=False)


class QuestionMute(Base):
    """A participant who may not send questions until `until` (set by an organiser)."""

    __tablename__ = "question_mutes"

    participant_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    until: Mapped[datetime] = mapped_column(nullable=False)
    muted_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


# -- plain values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Content:
    """A message to relay, described without Telegram objects."""

    kind: ContentKind
    text: str | None
    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class TicketRef:
    """What a mapped message points at."""

    ticket: QuestionTicket
    post_id: int | None
    kind: LinkKind | None


class ClaimOutcome(enum.StrEnum):
    """Result of "I'll take it"."""

    CLAIMED = "claimed"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"  # someone else claimed or answered it
    CLOSED = "closed"


# -- the asker's challenge ---------------------------------------------------------------------


async def asker_challenge(session: AsyncSession, participant: Participant) -> str | None:
    """The id of the challenge the participant's team works on, or None (a general question).

    The one place that knows where the team choice is stored (issue 3, `models.challenges`).
    """
    from models.challenges import challenge_of

    return await challenge_of(session, participant.telegram_id)


# -- tickets -----------------------------------------------------------------------------------


async def get_ticket(
    session: AsyncSession, ticket_id: int, *, for_update: bool = False
) -> QuestionTicket | None:
    """A ticket by number (locked for the transaction on PostgreSQL when `for_update`)."""
    return await session.get(QuestionTicket, ticket_id, with_for_update=for_update, populate_existing=True)


async def open_ticket(
    session: AsyncSession,
    asker: Participant,
    content: Content,
    *,
    challenge_id: str | None,
    anonymous: bool,
    now: datetime,
    follow_up_of: int | None = None,
) -> tuple[QuestionTicket, QuestionPost]:
    """Create a ticket and its first post."""
    ticket = QuestionTicket(
        asker_id=asker.id,
        challenge_id=challenge_id,
        anonymous=anonymous,
        state=TicketState.OPEN,
        follow_up_of=follow_up_of,
        asked_at=now,
        waiting_since=now,
        header_version=0,
        relay_attempt=0,
        relay_failed=False,
        erased=False,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    post = await add_post(session, ticket, Author.ASKER, content, now=now)
    return ticket, post


async def add_post(
    session: AsyncSession,
    ticket: QuestionTicket,
    author: Author,
    content: Content,
    *,
    now: datetime,
    staff_user_id: int | None = None,
    staff_name: str | None = None,
) -> QuestionPost:
    """Record one message of the conversation."""
    post = QuestionPost(
        ticket_id=ticket.id,
        author=author,
        staff_user_id=staff_user_id,
        staff_name=staff_name,
        kind=content.kind,
        text=content.text,
        source_chat_id=content.chat_id,
        source_message_id=content.message_id,
        created_at=now,
    )
    session.add(post)
    await session.flush()
    return post


async def first_post(session: AsyncSession, ticket_id: int) -> QuestionPost | None:
    """The question itself."""
    return await session.scalar(
        select(QuestionPost).where(QuestionPost.ticket_id == ticket_id).order_by(QuestionPost.id).limit(1)
    )


def follow_up_from_asker(ticket: QuestionTicket, now: datetime) -> None:
    """The asker added something: if they had an answer, they are waiting again."""
    if ticket.state is TicketState.ANSWERED:
        ticket.state = TicketState.CLAIMED if ticket.claimed_by is not None else TicketState.OPEN
        ticket.waiting_since = now
    ticket.updated_at = now


def claim(ticket: QuestionTicket, user_id: int, name: str, now: datetime) -> ClaimOutcome:
    """A facilitator takes the ticket, unless it is closed or somebody else already has it."""
    if ticket.state is TicketState.CLOSED:
        return ClaimOutcome.CLOSED
    if ticket.claimed_by == user_id:
        return ClaimOutcome.ALREADY_YOURS
    if ticket.claimed_by is not None or ticket.state is TicketState.ANSWERED:
        return ClaimOutcome.TAKEN
    ticket.claimed_by = user_id
    ticket.claimed_by_name = name[:NAME_MAX]
    ticket.claimed_at = now
    ticket.state = TicketState.CLAIMED
    ticket.header_version += 1
    ticket.updated_at = now
    return ClaimOutcome.CLAIMED


def record_answer(ticket: QuestionTicket, user_id: int, name: str, now: datetime) -> bool:
    """A facilitator's answer is on its way; returns True when it is the first one (header changes)."""
    first = ticket.answered_at is None
    if ticket.claimed_by is None:
        ticket.claimed_by = user_id
        ticket.claimed_by_name = name[:NAME_MAX]
        ticket.claimed_at = now
    if first:
        ticket.answered_at = now
        ticket.answered_by_name = name[:NAME_MAX]
        ticket.header_version += 1
    if ticket.state is not TicketState.CLOSED:
        ticket.state = TicketState.ANSWERED
    ticket.updated_at = now
    return first


def resolve(ticket: QuestionTicket, name: str, now: datetime) -> bool:
    """Close the ticket; False if it was already closed."""
    if ticket.state is TicketState.CLOSED:
        return False
    ticket.state = TicketState.CLOSED
    ticket.closed_at = now
    ticket.closed_by_name = name[:NAME_MAX]
    ticket.header_version += 1
    ticket.updated_at = now
    return True


async def waiting_tickets(session: AsyncSession, limit: int = 50) -> list[QuestionTicket]:
    """Tickets whose asker waits for an answer, longest wait first."""
    return list(
        await session.scalars(
            select(QuestionTicket)
            .where(QuestionTicket.state.in_(WAITING_STATES))
            .order_by(QuestionTicket.waiting_since, QuestionTicket.id)
            .limit(limit)
        )
    )


async def count_waiting(session: AsyncSession) -> int:
    """How many tickets wait for an answer."""
    return int(
        await session.scalar(
            select(func.count()).select_from(QuestionTicket).where(QuestionTicket.state.in_(WAITING_STATES))
        )
        or 0
    )


async def overdue_tickets(session: AsyncSession, now: datetime, delay: timedelta) -> list[QuestionTicket]:
    """Waiting tickets not escalated since their wait began and older than `delay` (already relayed)."""
    return list(
        await session.scalars(
            select(QuestionTicket)
            .where(
                QuestionTicket.state.in_(WAITING_STATES),
                QuestionTicket.waiting_since <= now - delay,
                QuestionTicket.staff_message_id.is_not(None),
                or_(
                    QuestionTicket.escalated_at.is_(None),
                    QuestionTicket.escalated_at < QuestionTicket.waiting_since,
                ),
            )
            .order_by(QuestionTicket.waiting_since, QuestionTicket.id)
            .with_for_update(skip_locked=True)
        )
    )


async def unrelayed_tickets(session: AsyncSession, limit: int = 200) -> list[QuestionTicket]:
    """Tickets not closed whose staff message is not known yet and whose relay did not fail."""
    return list(
        await session.scalars(
            select(QuestionTicket)
            .where(
                QuestionTicket.state != TicketState.CLOSED,
                QuestionTicket.staff_message_id.is_(None),
                QuestionTicket.relay_failed.is_(False),
                QuestionTicket.erased.is_(False),
            )
            .order_by(QuestionTicket.id)
            .limit(limit)
        )
    )


async def retry_failed_relays(session: AsyncSession) -> int:
    """After the staff group was fixed: give failed relays another attempt; returns how many."""
    tickets = list(
        await session.scalars(
            select(QuestionTicket).where(
                QuestionTicket.relay_failed.is_(True),
                QuestionTicket.state != TicketState.CLOSED,
                QuestionTicket.staff_message_id.is_(None),
            )
        )
    )
    for ticket in tickets:
        ticket.relay_failed = False
        ticket.relay_attempt += 1
    return len(tickets)


# -- the message mapping -----------------------------------------------------------------------


async def link_message(
    session: AsyncSession,
    *,
    chat_id: int,
    message_id: int,
    ticket_id: int,
    kind: LinkKind,
    post_id: int | None = None,
) -> None:
    """Map a Telegram message to a ticket (a message already mapped keeps its first mapping)."""
    values = {
        "chat_id": chat_id,
        "message_id": message_id,
        "ticket_id": ticket_id,
        "post_id": post_id,
        "kind": kind,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(QuestionLink).values(**values).on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
    )


async def ticket_for_message(session: AsyncSession, chat_id: int, message_id: int) -> TicketRef | None:
    """The ticket a Telegram message belongs to, if any (read-only).

    Falls back to the outbox (the row that sent it) when the mapping was not recorded, e.g. for a
    message sent in the instant between a restart and the registration of the result hooks.
    """
    link = await session.scalar(
        select(QuestionLink).where(QuestionLink.chat_id == chat_id, QuestionLink.message_id == message_id)
    )
    if link is not None:
        ticket = await session.get(QuestionTicket, link.ticket_id)
        return TicketRef(ticket, link.post_id, link.kind) if ticket is not None else None
    row = await session.scalar(
        select(OutgoingMessage).where(
            OutgoingMessage.chat_id == chat_id,
            OutgoingMessage.sent_message_id == message_id,
            OutgoingMessage.state == OutboxState.SENT,
            OutgoingMessage.purpose.in_([*STAFF_TICKET_PURPOSES, PURPOSE_ANSWER]),
        )
    )
    if row is None or row.ref_id is None:
        return None
    post_id: int | None = None
    if row.purpose in TICKET_REF_PURPOSES:
        ticket_id = row.ref_id
    else:
        post = await session.get(QuestionPost, row.ref_id)
        if post is None:
            return None
        ticket_id, post_id = post.ticket_id, post.id
    ticket = await session.get(QuestionTicket, ticket_id)
    if ticket is None:
        return None
    kind = (
        LinkKind.DELIVERY
        if row.purpose == PURPOSE_ANSWER
        else LinkKind.NOTICE
        if row.purpose == PURPOSE_STAFF_NOTICE
        else LinkKind.RELAY
    )
    if post_id is None and kind is LinkKind.RELAY:
        first = await first_post(session, ticket_id)
        post_id = first.id if first is not None else None
    return TicketRef(ticket, post_id, kind)


async def sending_to(session: AsyncSession, chat_id: int) -> bool:
    """Whether one of our messages to this chat is being sent (its mapping is not recorded yet)."""
    found = await session.scalar(
        select(OutgoingMessage.id)
        .where(
            OutgoingMessage.chat_id == chat_id,
            OutgoingMessage.state == OutboxState.SENDING,
            OutgoingMessage.purpose.in_([*STAFF_TICKET_PURPOSES, PURPOSE_ANSWER]),
        )
        .limit(1)
    )
    return found is not None


async def staff_message_from_outbox(session: AsyncSession, ticket: QuestionTicket) -> int | None:
    """The sent ticket message found in the outbox (when the result hook was missed)."""
    return await session.scalar(
        select(OutgoingMessage.sent_message_id)
        .where(
            OutgoingMessage.purpose == PURPOSE_RELAY,
            OutgoingMessage.ref_id == ticket.id,
            OutgoingMessage.state == OutboxState.SENT,
        )
        .order_by(OutgoingMessage.id.desc())
        .limit(1)
    )


async def staff_relay_messages(session: AsyncSession, ticket_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(chat id, message id) of the bot's messages in the staff group for these tickets."""
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(QuestionLink.chat_id, QuestionLink.message_id).where(
            QuestionLink.ticket_id.in_(list(ticket_ids)),
            QuestionLink.kind.in_([LinkKind.RELAY, LinkKind.NOTICE]),
        )
    )
    return [(int(chat), int(message)) for chat, message in rows]


# -- forum topics ------------------------------------------------------------------------------


async def topic_thread(session: AsyncSession, chat_id: int, topic_key: str) -> int | None:
    """The remembered forum topic for a challenge (or `TOPIC_GENERAL`)."""
    return await session.scalar(
        select(StaffTopic.thread_id).where(StaffTopic.chat_id == chat_id, StaffTopic.topic_key == topic_key)
    )


async def remember_topic(session: AsyncSession, chat_id: int, topic_key: str, thread_id: int) -> int:
    """Store a topic created on demand; if another one was stored meanwhile, that one wins."""
    existing = await topic_thread(session, chat_id, topic_key)
    if existing is not None:
        return existing
    session.add(StaffTopic(chat_id=chat_id, topic_key=topic_key, thread_id=thread_id))
    await session.flush()
    return thread_id


async def forget_topic(session: AsyncSession, chat_id: int, thread_id: int) -> None:
    """A topic was deleted or closed by the staff: create a new one next time."""
    await session.execute(
        delete(StaffTopic).where(StaffTopic.chat_id == chat_id, StaffTopic.thread_id == thread_id)
    )


# -- abuse: rate limit and mutes ---------------------------------------------------------------


async def recent_asker_posts(session: AsyncSession, asker_id: int, since: datetime) -> int:
    """Questions and follow-ups the participant sent since `since`."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(QuestionPost)
            .join(QuestionTicket, QuestionTicket.id == QuestionPost.ticket_id)
            .where(
                QuestionTicket.asker_id == asker_id,
                QuestionPost.author == Author.ASKER,
                QuestionPost.created_at >= since,
            )
        )
        or 0
    )


async def active_mute(session: AsyncSession, participant_id: int, now: datetime) -> QuestionMute | None:
    """The mute in force for this participant, if any."""
    mute = await session.get(QuestionMute, participant_id)
    return mute if mute is not None and mute.until > now else None


async def mute(
    session: AsyncSession, participant_id: int, *, until: datetime, muted_by: int, now: datetime
) -> QuestionMute:
    """Pause a participant's questions until `until` (replaces an earlier mute)."""
    current = await session.get(QuestionMute, participant_id)
    if current is None:
        current = QuestionMute(participant_id=participant_id, until=until, muted_by=muted_by, created_at=now)
        session.add(current)
    else:
        current.until, current.muted_by, current.created_at = until, muted_by, now
    await session.flush()
    return current


async def unmute(session: AsyncSession, participant_id: int) -> bool:
    """Lift a mute; False if there was none."""
    result = await session.execute(delete(QuestionMute).where(QuestionMute.participant_id == participant_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def followup_key_prefix(ticket_id: int) -> str:
    """Dedupe keys of a ticket's follow-ups start with this (so they can be withdrawn together)."""
    return f"q:fu:{ticket_id}:"


# -- privacy -----------------------------------------------------------------------------------


async def tickets_of(session: AsyncSession, asker_id: int) -> list[QuestionTicket]:
    """Every ticket of one asker, oldest first."""
    return list(
        await session.scalars(
            select(QuestionTicket).where(QuestionTicket.asker_id == asker_id).order_by(QuestionTicket.id)
        )
    )


QUESTION_SHOWN_MAX = 200
"""Characters of a question shown by /mydata (the whole text is erased by /forget all the same)."""


@register_data_provider
async def personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """/mydata: how many questions, each one with its state and what was asked, the pause if any."""
    tickets = await tickets_of(session, participant.id)
    items = [DataItem("questions.label.count", len(tickets))]
    for ticket in tickets:
        posts = list(
            await session.scalars(
                select(QuestionPost).where(QuestionPost.ticket_id == ticket.id).order_by(QuestionPost.id)
            )
        )
        what: str | Phrase | None = None
        if posts:
            first = posts[0]
            what = first.text or Phrase(f"questions.mydata_content.{first.kind.value}")
            if isinstance(what, str) and len(what) > QUESTION_SHOWN_MAX:
                what = what[: QUESTION_SHOWN_MAX - 1] + "…"
        key = "questions.mydata_ticket_anonymous" if ticket.anonymous else "questions.mydata_ticket"
        state = Phrase(f"questions.mydata_state.{ticket.state.value}")
        items.append(
            DataItem(
                "questions.label.ticket", Phrase(key, {"number": ticket.id, "state": state, "text": what})
            )
        )
        if len(posts) > 1:
            conversation = Phrase(
                "questions.mydata_conversation", {"number": ticket.id, "count": len(posts) - 1}
            )
            items.append(DataItem("questions.label.conversation", conversation))
        if ticket.helpful is not None:
            feedback = "questions.mydata_helpful_yes" if ticket.helpful else "questions.mydata_helpful_no"
            items.append(DataItem("questions.label.feedback", Phrase(feedback, {"number": ticket.id})))
    mute_row = await session.get(QuestionMute, participant.id)
    if mute_row is not None:
        items.append(DataItem("questions.label.muted_until", mute_row.until))
    return items


async def forget_asker(session: AsyncSession, participant: Participant) -> list[int]:
    """Erase the asker's side of every ticket; returns the ids of the tickets concerned.

    Kept: the ticket number, challenge, times and state (anonymous statistics for the organisers)
    and the staff-side mapping (chat id + message id only), so a facilitator who replies to an old
    message is told the person erased their data instead of being silently ignored.
    """
    tickets = await tickets_of(session, participant.id)
    ids = [ticket.id for ticket in tickets]
    if ids:
        await session.execute(delete(QuestionPost).where(QuestionPost.ticket_id.in_(ids)))
        # Links in the asker's private chat carry their Telegram id: personal data.
        await session.execute(
            delete(QuestionLink).where(
                QuestionLink.ticket_id.in_(ids), QuestionLink.chat_id == participant.telegram_id
            )
        )
    for ticket in tickets:
        ticket.asker_id = None
        ticket.erased = True
        ticket.anonymous = True
        if ticket.state is not TicketState.CLOSED:
            ticket.state = TicketState.CLOSED
            ticket.closed_at = ticket.updated_at
        ticket.helpful = None
    await session.execute(delete(QuestionMute).where(QuestionMute.participant_id == participant.id))
    await session.flush()
    return ids


@register_erasure_hook
async def _erase(session: AsyncSession, participant: Participant, _erasure: ErasureContext | None) -> None:
    """/forget: erase the asker's side of their tickets and withdraw what is still queued for them."""
    ids = await forget_asker(session, participant)
    # Rows addressed to the person's own chat are removed by `models.outbox`'s erasure hook.
    if not ids:
        return
    for ticket_id in ids:
        # Relays not sent yet would copy the person's messages into the staff group: withdraw them.
        for purpose in (PURPOSE_RELAY, PURPOSE_RELAY_COPY, PURPOSE_STAFF_NOTICE):
            await outbox.cancel(session, purpose=purpose, ref_id=ticket_id)
        await outbox.cancel(session, dedupe_key_prefix=followup_key_prefix(ticket_id))
    # The copies already in the staff group show what the person asked: delete them.
    for chat_id, message_id in await staff_relay_messages(session, ids):
        await outbox.enqueue(
            session,
            chat_id=chat_id,
            method="deleteMessage",
            payload={"message_id": message_id},
            dedupe_key=f"q:del:{chat_id}:{message_id}",
            purpose=PURPOSE_CLEANUP,
        )


# -- privacy: the staff side -------------------------------------------------------------------


@register_account_data_provider
async def staff_data(session: AsyncSession, telegram_id: int) -> list[DataItem]:
    """/mydata of a facilitator or organiser: the answers they sent, tickets they took, pauses they set."""
    answers = await session.scalar(
        select(func.count()).select_from(QuestionPost).where(QuestionPost.staff_user_id == telegram_id)
    )
    claimed = await session.scalar(
        select(func.count()).select_from(QuestionTicket).where(QuestionTicket.claimed_by == telegram_id)
    )
    mutes = await session.scalar(
        select(func.count()).select_from(QuestionMute).where(QuestionMute.muted_by == telegram_id)
    )
    figures = [
        ("questions.label.staff_answers", int(answers or 0)),
        ("questions.label.staff_claimed", int(claimed or 0)),
        ("questions.label.staff_mutes", int(mutes or 0)),
    ]
    return [DataItem(label, count) for label, count in figures if count]


@register_account_erasure_hook
async def forget_staff_member(session: AsyncSession, telegram_id: int) -> bool:
    """/forget of a facilitator or organiser: their id and name leave the tickets they handled.

    The answers themselves stay: they belong to the asker's conversation (erased when the asker
    erases theirs) and to the organisers' record of the help given; only the link to the person
    goes, as for an organiser's announcements. A ticket they held without answering is open again,
    so that someone else takes it. A ticket they closed without taking or answering it keeps the
    name (the table records no id for "closed by", so it cannot be told from a namesake's).
    """
    names: set[str] = set()
    touched: set[int] = set()
    for ticket_id, name in await session.execute(
        select(QuestionPost.ticket_id, QuestionPost.staff_name).where(
            QuestionPost.staff_user_id == telegram_id
        )
    ):
        touched.add(ticket_id)
        if name:
            names.add(name)
    posts = await session.execute(
        update(QuestionPost)
        .where(QuestionPost.staff_user_id == telegram_id)
        .values(staff_user_id=None, staff_name=None)
        .execution_options(synchronize_session=False)
    )
    tickets = list(
        await session.scalars(
            select(QuestionTicket)
            .where(or_(QuestionTicket.claimed_by == telegram_id, QuestionTicket.id.in_(touched)))
            .execution_options(populate_existing=True)
        )
    )
    for ticket in tickets:
        if ticket.claimed_by == telegram_id:
            if ticket.claimed_by_name:
                names.add(ticket.claimed_by_name)
            ticket.claimed_by = None
            ticket.claimed_by_name = None
            if ticket.state is TicketState.CLAIMED:
                ticket.state = TicketState.OPEN
    for ticket in tickets:
        if ticket.answered_by_name in names:
            ticket.answered_by_name = None
        if ticket.closed_by_name in names:
            ticket.closed_by_name = None
    # A pause protects the staff from a participant: it stays, without who decided it.
    mutes = await session.execute(
        update(QuestionMute)
        .where(QuestionMute.muted_by == telegram_id)
        .values(muted_by=ERASED_ID)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return bool(posts.rowcount or tickets or mutes.rowcount)  # type: ignore[attr-defined]
