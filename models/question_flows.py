"""The question relay's units of work: each function is one change and the messages it causes.

A handler (or the escalation job) opens one transaction and calls one of these: asking, a
follow-up, an answer, "I'll take it", "Resolved", "did it help?", a pause set by an organiser, an
escalation. The rules live here (the rate limit, who may give feedback, what a closed ticket
refuses) and the notifications are queued through `models.question_relay` in the same
transaction, so either both happen or neither does. Results are plain dataclasses the handler
renders from; nothing is read again after the write.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import outbox
from models import question_relay as relay
from models import questions as q
from models.outbox import Texts
from models.participant import Participant
from models.questions import ClaimOutcome, Content, QuestionTicket, TicketState
from models.registration import get_participant
from schedule.config import EventConfig

# What `participant.awaiting` holds after "Ask a question" (and after "without my name").
AWAITING = "question"
AWAITING_ANONYMOUS = "question_anon"
PROMPT_STATES = (AWAITING, AWAITING_ANONYMOUS)

# A participant may relay this many messages (questions and follow-ups) per window; beyond, each
# message is refused with an explanation (nothing is dropped silently, nothing before is lost).
RATE_LIMIT = 10
RATE_WINDOW = timedelta(minutes=10)

DEFAULT_MUTE_MINUTES = 60
MAX_MUTE_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` messages relayed per `window` and participant."""

    count: int = RATE_LIMIT
    window: timedelta = RATE_WINDOW


class Refused(enum.StrEnum):
    """Why a message was not relayed."""

    GONE = "gone"  # the asker (or the ticket) no longer exists: nothing to say
    MUTED = "muted"  # an organiser paused the asker's questions
    TOO_MANY = "too_many"  # over the rate limit


@dataclass(frozen=True, slots=True)
class Relayed:
    """What became of a message the asker wanted relayed: a ticket (and its post), or a refusal.

    The ids are 0 when the message was refused.
    """

    ticket_id: int = 0
    post_id: int = 0
    asker_id: int = 0
    refused: Refused | None = None
    muted_until: datetime | None = None


async def _refusal(
    session: AsyncSession, asker: Participant, now: datetime, limit: RateLimit
) -> Relayed | None:
    """Why this participant may not relay a message now (muted, too many), or None."""
    muted = await q.active_mute(session, asker.id, now)
    if muted is not None:
        return Relayed(refused=Refused.MUTED, muted_until=muted.until)
    recent = await q.recent_asker_posts(session, asker.id, now - limit.window)
    if recent >= limit.count:
        return Relayed(refused=Refused.TOO_MANY)
    return None


# -- the asker's side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prompt:
    """After "Ask a question": waiting for the question, unless the asker's questions are paused."""

    muted_until: datetime | None


async def open_prompt(session: AsyncSession, telegram_id: int, now: datetime) -> Prompt | None:
    """Wait for the participant's question (None if they no longer exist)."""
    current = await get_participant(session, telegram_id)
    if current is None:
        return None
    muted = await q.active_mute(session, current.id, now)
    if muted is None:
        current.awaiting = AWAITING
    return Prompt(muted.until if muted is not None else None)


async def set_prompt(session: AsyncSession, telegram_id: int, awaiting: str | None) -> bool:
    """Anonymity toggle or cancel on the prompt; False if no question is awaited any more."""
    current = await get_participant(session, telegram_id)
    if current is None or current.awaiting not in PROMPT_STATES:
        return False
    current.awaiting = awaiting
    return True


async def ask(
    session: AsyncSession,
    *,
    telegram_id: int,
    content: Content,
    challenge_id: str | None,
    anonymous: bool,
    thread_id: int | None,
    now: datetime,
    limit: RateLimit,
    event: EventConfig,
    texts: Texts,
    follow_up_of: int | None = None,
) -> Relayed:
    """Open a ticket with `content` and queue its relay to the staff group (in topic `thread_id`)."""
    asker = await get_participant(session, telegram_id)
    if asker is None:
        return Relayed(refused=Refused.GONE)
    refusal = await _refusal(session, asker, now, limit)
    if refusal is not None:
        return refusal
    ticket, post = await q.open_ticket(
        session,
        asker,
        content,
        challenge_id=challenge_id,
        anonymous=anonymous,
        now=now,
        follow_up_of=follow_up_of,
    )
    if asker.awaiting in PROMPT_STATES:
        asker.awaiting = None
    await relay.enqueue_relay(session, event, texts, ticket, post, asker, thread_id)
    return Relayed(ticket_id=ticket.id, post_id=post.id, asker_id=asker.id)


async def follow_up(
    session: AsyncSession,
    *,
    telegram_id: int,
    ticket_id: int,
    content: Content,
    now: datetime,
    limit: RateLimit,
    event: EventConfig,
    texts: Texts,
) -> Relayed:
    """Add the asker's message to their open ticket and queue it to the staff group."""
    asker = await get_participant(session, telegram_id)
    ticket = await q.get_ticket(session, ticket_id, for_update=True)
    if asker is None or ticket is None:
        return Relayed(refused=Refused.GONE)
    refusal = await _refusal(session, asker, now, limit)
    if refusal is not None:
        return refusal
    post = await q.add_post(session, ticket, q.Author.ASKER, content, now=now)
    q.follow_up_from_asker(ticket, now)
    await relay.enqueue_followup(session, event, texts, ticket, post, asker)
    return Relayed(ticket_id=ticket.id, post_id=post.id, asker_id=asker.id)


async def give_feedback(
    session: AsyncSession,
    *,
    participant_id: int,
    ticket_id: int,
    helped: bool,
    event: EventConfig,
    texts: Texts,
) -> bool:
    """The asker's "did it help?": recorded once, by the asker only; a "no" is told to the staff group."""
    ticket = await q.get_ticket(session, ticket_id, for_update=True)
    if ticket is None or ticket.asker_id != participant_id or ticket.helpful is not None:
        return False
    ticket.helpful = helped
    if not helped:
        body = texts.text(event.default_language, "questions.feedback_no", number=ticket.id)
        await relay.enqueue_staff_notice(session, event, ticket, body, key=f"q:feedback:{ticket.id}")
    return True


# -- the staff group's side ------------------------------------------------------------------------


async def _pressed_ticket(
    session: AsyncSession, ticket_id: int, chat_id: int, message_id: int
) -> QuestionTicket | None:
    ticket = await q.get_ticket(session, ticket_id, for_update=True)
    if ticket is not None and ticket.staff_message_id is None:
        # The buttons are on the ticket's message: pressed before the sender recorded it.
        ticket.staff_chat_id = chat_id
        ticket.staff_message_id = message_id
    return ticket


@dataclass(frozen=True, slots=True)
class Claimed:
    """After "I'll take it": what happened, and who has the ticket now."""

    outcome: ClaimOutcome
    ticket_id: int
    holder: str


async def claim_ticket(
    session: AsyncSession,
    *,
    ticket_id: int,
    user_id: int,
    name: str,
    chat_id: int,
    message_id: int,
    now: datetime,
    event: EventConfig,
    texts: Texts,
) -> Claimed | None:
    """A facilitator takes the ticket shown in message (`chat_id`, `message_id`); None if unknown."""
    ticket = await _pressed_ticket(session, ticket_id, chat_id, message_id)
    if ticket is None:
        return None
    outcome = q.claim(ticket, user_id, name, now)
    if outcome is ClaimOutcome.CLAIMED:
        await relay.enqueue_header_edit(session, event, texts, ticket)
    holder = ticket.claimed_by_name or ticket.answered_by_name or "?"
    return Claimed(outcome, ticket.id, holder)


async def resolve_ticket(
    session: AsyncSession,
    *,
    ticket_id: int,
    name: str,
    chat_id: int,
    message_id: int,
    now: datetime,
    event: EventConfig,
    texts: Texts,
) -> bool | None:
    """Close the ticket and ask its asker whether it helped; False if already closed, None if unknown."""
    ticket = await _pressed_ticket(session, ticket_id, chat_id, message_id)
    if ticket is None:
        return None
    if not q.resolve(ticket, name, now):
        return False
    await relay.enqueue_header_edit(session, event, texts, ticket)
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    if asker is not None:
        first = await q.first_post(session, ticket.id)
        await relay.enqueue_asker_notice(
            session,
            ticket,
            asker,
            texts.text(asker.language, "questions.resolved", number=ticket.id),
            key=f"q:resolved:{ticket.id}",
            keyboard=relay.resolved_keyboard(texts, asker.language, ticket.id),
            reply_to=first.source_message_id if first is not None else None,
        )
    return True


async def answer(
    session: AsyncSession,
    *,
    ticket_id: int,
    post_id: int | None,
    content: Content,
    staff_user_id: int,
    staff_name: str,
    answer_html: str | None,
    now: datetime,
    event: EventConfig,
    texts: Texts,
) -> bool:
    """Record a facilitator's answer and queue it to the asker; False if the ticket is closed or gone.

    The answer replies to the asker's message the facilitator replied to (`post_id`: a follow-up,
    or the question itself).
    """
    ticket = await q.get_ticket(session, ticket_id, for_update=True)
    asker = await session.get(Participant, ticket.asker_id) if ticket and ticket.asker_id else None
    if ticket is None or asker is None or ticket.state is TicketState.CLOSED:
        return False
    target = await session.get(q.QuestionPost, post_id) if post_id is not None else None
    if target is None or target.author is not q.Author.ASKER:
        target = await q.first_post(session, ticket.id)
    post = await q.add_post(
        session, ticket, q.Author.STAFF, content, now=now, staff_user_id=staff_user_id, staff_name=staff_name
    )
    first_answer = q.record_answer(ticket, staff_user_id, staff_name, now)
    await relay.enqueue_answer(
        session,
        texts,
        ticket,
        post,
        asker,
        answer_html=answer_html,
        reply_to=target.source_message_id if target is not None else None,
    )
    if first_answer:
        await relay.enqueue_header_edit(session, event, texts, ticket)
    return True


@dataclass(frozen=True, slots=True)
class WaitingList:
    """/questions: how many tickets wait, and the longest-waiting ones with their askers."""

    total: int
    tickets: list[tuple[QuestionTicket, Participant | None]]


async def waiting_list(session: AsyncSession, limit: int) -> WaitingList:
    """The tickets waiting for an answer, longest wait first (at most `limit`)."""
    total = await q.count_waiting(session)
    tickets = await q.waiting_tickets(session, limit)
    rows = [
        (ticket, await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None)
        for ticket in tickets
    ]
    return WaitingList(total, rows)


# -- pauses (organisers) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketTarget:
    """Which ticket an organiser's /mute or /unmute is about: the message replied to, else a number."""

    chat_id: int
    reply_message_id: int | None  # a real reply in the staff group, else None
    args: tuple[str, ...]


async def _target(session: AsyncSession, target: TicketTarget) -> tuple[QuestionTicket | None, Sequence[str]]:
    """The ticket, and the arguments left after its number (if given as one)."""
    args = target.args
    if target.reply_message_id is not None:
        ref = await q.ticket_for_message(session, target.chat_id, target.reply_message_id)
        if ref is not None:
            return ref.ticket, args
    if args and args[0].lstrip("#").isdigit():
        return await q.get_ticket(session, int(args[0].lstrip("#"))), args[1:]
    return None, args


@dataclass(frozen=True, slots=True)
class Paused:
    """A pause set or lifted: the ticket found (0: none), its asker (0: erased), the pause's end."""

    ticket_id: int = 0
    asker_id: int = 0
    until: datetime | None = None
    minutes: int = 0
    lifted: bool = False


async def mute_asker(
    session: AsyncSession,
    *,
    target: TicketTarget,
    muted_by: int,
    now: datetime,
    event: EventConfig,
    texts: Texts,
) -> Paused:
    """Pause the questions of a ticket's asker ([minutes] after the ticket, 1 to 24 h) and tell them."""
    ticket, rest = await _target(session, target)
    if ticket is None:
        return Paused()
    minutes = DEFAULT_MUTE_MINUTES
    if rest and rest[0].isdigit():
        minutes = max(1, min(MAX_MUTE_MINUTES, int(rest[0])))
    until = now + timedelta(minutes=minutes)
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    if asker is None:
        return Paused(ticket_id=ticket.id)
    await q.mute(session, asker.id, until=until, muted_by=muted_by, now=now)
    await relay.enqueue_asker_notice(
        session,
        ticket,
        asker,
        texts.text(asker.language, "questions.muted_notice", until=relay.hhmm(event, until)),
        key=f"q:mute:{asker.id}:{int(until.timestamp())}",
    )
    return Paused(ticket_id=ticket.id, asker_id=asker.id, until=until, minutes=minutes)


async def unmute_asker(session: AsyncSession, *, target: TicketTarget, now: datetime, texts: Texts) -> Paused:
    """Lift the pause of a ticket's asker and tell them (`lifted` is False if there was none)."""
    ticket, _ = await _target(session, target)
    if ticket is None:
        return Paused()
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    if asker is None:
        return Paused(ticket_id=ticket.id)
    lifted = await q.unmute(session, asker.id)
    if lifted:
        await relay.enqueue_asker_notice(
            session,
            ticket,
            asker,
            texts.text(asker.language, "questions.unmuted_notice"),
            key=f"q:unmute:{asker.id}:{int(now.timestamp())}",
        )
    return Paused(ticket_id=ticket.id, asker_id=asker.id, lifted=lifted)


# -- on time: escalations, relays recorded while the staff group was away, start-up warnings ----------


async def escalate_overdue(
    session: AsyncSession, *, now: datetime, delay: timedelta, event: EventConfig, texts: Texts
) -> int:
    """Raise, once per wait, every ticket waiting longer than `delay`; tell its asker. Returns how many."""
    lang = event.default_language
    tickets = await q.overdue_tickets(session, now, delay)
    for ticket in tickets:
        ticket.escalated_at = now
        asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
        minutes = max(1, int((now - ticket.waiting_since).total_seconds() // 60))
        stamp = int(ticket.waiting_since.timestamp())
        await relay.enqueue_staff_notice(
            session,
            event,
            ticket,
            texts.text(
                lang,
                "questions.escalation",
                minutes=minutes,
                number=ticket.id,
                who=relay.who(event, texts, ticket, asker, lang),
                challenge=relay.challenge_line(event, texts, ticket, lang),
            ),
            key=f"q:esc:{ticket.id}:{stamp}",
        )
        if asker is not None:
            await relay.enqueue_asker_notice(
                session,
                ticket,
                asker,
                texts.text(asker.language, "questions.still_waiting", number=ticket.id),
                key=f"q:esc-asker:{ticket.id}:{stamp}",
            )
    return len(tickets)


@dataclass(frozen=True, slots=True)
class PendingRelay:
    """A ticket recorded but not relayed yet, and its challenge (which decides the forum topic)."""

    ticket_id: int
    challenge_id: str | None


async def pending_relays(session: AsyncSession, staff_chat_id: int) -> list[PendingRelay]:
    """Tickets not relayed yet whose relay to `staff_chat_id` is not queued (read only)."""
    tickets = await q.unrelayed_tickets(session)
    keys = {ticket.id: relay.relay_key(ticket, staff_chat_id) for ticket in tickets}
    queued = await relay.queued_relay_keys(session, list(keys.values()))
    return [PendingRelay(t.id, t.challenge_id) for t in tickets if keys[t.id] not in queued]


async def relay_again(
    session: AsyncSession, *, ticket_id: int, thread_id: int | None, event: EventConfig, texts: Texts
) -> bool:
    """Queue the relay of a ticket recorded while the staff group was unavailable; True if queued."""
    ticket = await q.get_ticket(session, ticket_id, for_update=True)
    if ticket is None or ticket.staff_message_id is not None or ticket.state is TicketState.CLOSED:
        return False
    sent = await q.staff_message_from_outbox(session, ticket)
    if sent is not None:  # sent, but the result hook was missed: repair the mapping only
        ticket.staff_message_id = sent
        return False
    post = await q.first_post(session, ticket.id)
    if post is None:
        return False
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    return await relay.enqueue_relay(session, event, texts, ticket, post, asker, thread_id)


async def warn_organisers(
    session: AsyncSession, *, key: str, event: EventConfig, texts: Texts, now: datetime
) -> None:
    """Tell every organiser what is wrong with the staff group (`key`: the catalog text)."""
    chat_id = event.staff_chat_id
    body = texts.text(event.default_language, key, chat_id=chat_id if chat_id is not None else "-")
    stamp = int(now.timestamp())
    recipients = list(event.organisers)
    # A forum without topic rights still receives questions (in General): say so there too.
    if key == "questions.config_no_topics" and chat_id is not None:
        recipients.append(chat_id)
    await outbox.enqueue_many(
        session,
        [
            outbox.NewMessage(
                chat_id=recipient,
                method="sendMessage",
                payload=outbox.text_message(body),
                dedupe_key=f"q:config:{key}:{recipient}:{stamp}",
                purpose=q.PURPOSE_CONFIG,
            )
            for recipient in recipients
        ],
    )
