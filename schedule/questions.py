"""The question relay beside the handlers: the staff group check, the escalation scan, the sender's hooks.

Started by its line in `bot.lifecycle` (`start_questions`), before the outbox sender starts:

- the staff group is checked (configured, the bot a member, a forum whose topics it may manage);
  organisers are told clearly what is wrong, and questions are still recorded meanwhile;
- the sender's result hooks are put in place (`models.question_relay.on_*_result`): they record
  which Telegram message carries which ticket, so a reply finds its ticket after any restart;
- the scan (the named job `questions:scan`, every 30 s) escalates tickets waiting longer than
  `event.question_escalation_minutes` and relays tickets recorded while the staff group was
  unavailable. It reads the database, so a restart loses nothing.

Also here, for the handlers and the scan alike: the feature's process-wide state
(`QuestionsRuntime`, `services.questions`), the forum topic of a challenge (created on demand) and
the lookup of the ticket behind a replied-to message (which may wait for the sender's result).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, ChatMember
from telegram.error import TelegramError

from models import question_flows as flows
from models import question_relay as relay
from models import questions as q
from models.outbox import OutgoingMessage

if TYPE_CHECKING:
    from bot.context import HackbotApplication, HackbotContext, Services
    from bot.delivery.sender import OutboxSender

log = logging.getLogger(__name__)

JOB_NAME = "questions:scan"
SCAN_INTERVAL_SECONDS = 30.0
MEMBER_STATUSES = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER})

# A reply can arrive before the sender has recorded which ticket the replied-to message carries
# (the request returned, its result transaction is not committed yet): wait that long at most.
MAPPING_WAIT_SECONDS = 3.0


@dataclass
class QuestionsRuntime:
    """Process-wide state of the feature (`services.questions`): caches only, the truth is in the database."""

    staff_ready: bool = False  # staff group configured and the bot is a member (checked at start)
    is_forum: bool = False
    topics_allowed: bool = True
    scan_interval: float = SCAN_INTERVAL_SECONDS
    rate_limit: int = flows.RATE_LIMIT
    rate_window: timedelta = flows.RATE_WINDOW
    # Staff group membership by user id: (is a member, valid until `time.monotonic()`).
    member_cache: dict[int, tuple[bool, float]] = field(default_factory=dict)
    topic_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    hooked: set[int] = field(default_factory=set)  # id() of senders our result hooks are on

    @property
    def limit(self) -> flows.RateLimit:
        """The rate limit in force, for the domain."""
        return flows.RateLimit(self.rate_limit, self.rate_window)


def runtime(services: Services) -> QuestionsRuntime:
    """The feature's runtime state (created on first use)."""
    if services.questions is None:
        services.questions = QuestionsRuntime()
    return services.questions


# -- the ticket behind a replied-to message --------------------------------------------------------


async def find_ticket(
    services: Services, chat_id: int, message_id: int, *, from_bot: bool
) -> q.TicketRef | None:
    """The ticket behind a replied-to message; for the bot's own messages, waits for a pending mapping."""
    deadline = time.monotonic() + MAPPING_WAIT_SECONDS
    while True:
        async with services.db.read() as session:
            # "Pending?" first: a row seen sending before the lookup cannot have been recorded
            # unseen (on PostgreSQL each statement sees the latest commits).
            pending = from_bot and await q.sending_to(session, chat_id)
            ref = await q.ticket_for_message(session, chat_id, message_id)
        if ref is not None or not pending or time.monotonic() > deadline:
            return ref
        await asyncio.sleep(0.05)


# -- forum topics ------------------------------------------------------------------------------------


async def resolve_thread(bot: Bot, services: Services, challenge_id: str | None) -> int | None:
    """The staff forum topic for this challenge (created on first use), or None (not a forum)."""
    state = runtime(services)
    chat_id = services.event.staff_chat_id
    if chat_id is None or not state.is_forum or not state.topics_allowed:
        return None
    key = challenge_id or q.TOPIC_GENERAL
    async with services.db.read() as session:
        thread = await q.topic_thread(session, chat_id, key)
    if thread is not None:
        return thread
    async with state.topic_lock:  # two questions of one challenge at once: one topic
        async with services.db.read() as session:
            thread = await q.topic_thread(session, chat_id, key)
        if thread is not None:
            return thread
        lang = services.event.default_language
        title = relay.challenge_title(services.event, lang, challenge_id)
        catalog = services.catalog
        name = (
            catalog.label(lang, "questions.topic_general")
            if title is None
            else catalog.label(lang, "questions.topic_challenge", title=title)
        )
        try:
            topic = await bot.create_forum_topic(chat_id, name[:128])
        except TelegramError as exc:
            log.warning("questions: could not create a forum topic (%s); using General", exc.message)
            return None
        async with services.db.transaction() as session:
            return await q.remember_topic(session, chat_id, key, topic.message_thread_id)


# -- the sender's result hooks ---------------------------------------------------------------------


def ensure_hooks(services: Services, sender: OutboxSender | None = None) -> None:
    """Put our result hooks on the sender once (at start, before it sends anything)."""
    sender = sender or services.sender
    state = runtime(services)
    if sender is None or id(sender) in state.hooked:
        return
    state.hooked.add(id(sender))

    async def relay_sent(session: AsyncSession, row: OutgoingMessage) -> None:
        await relay.on_relay_result(session, row, header=True)

    async def copy_sent(session: AsyncSession, row: OutgoingMessage) -> None:
        await relay.on_relay_result(session, row, header=False)

    async def answer_sent(session: AsyncSession, row: OutgoingMessage) -> None:
        # The event as it is now (a reload replaces it), not as it was at start.
        await relay.on_answer_result(session, row, services.event, services.catalog)

    sender.on_result(q.PURPOSE_RELAY, relay_sent)
    sender.on_result(q.PURPOSE_RELAY_COPY, copy_sent)
    sender.on_result(q.PURPOSE_FOLLOWUP, relay.on_followup_result)
    sender.on_result(q.PURPOSE_ANSWER, answer_sent)
    sender.on_result(q.PURPOSE_STAFF_NOTICE, relay.on_notice_result)


# -- the periodic scan: escalations and pending relays ---------------------------------------------


async def escalate_overdue(services: Services) -> int:
    """Raise every ticket waiting longer than the event's delay, once per wait. Returns how many."""
    delay = timedelta(minutes=services.event.question_escalation_minutes)
    async with services.db.transaction() as session:
        count = await flows.escalate_overdue(
            session, now=services.now(), delay=delay, event=services.event, texts=services.catalog
        )
    if count:
        log.info("questions: %d ticket(s) escalated", count)
    return count


async def relay_pending(application: HackbotApplication) -> int:
    """Queue the relay of tickets recorded but not relayed yet (idempotent: one row per attempt)."""
    services = application.bot_data.services
    chat_id = services.event.staff_chat_id
    if chat_id is None:
        return 0
    async with services.db.read() as session:
        pending = await flows.pending_relays(session, chat_id)
    count = 0
    for ticket in pending:
        # The topic may have to be created (a Telegram request): outside the transaction.
        thread_id = await resolve_thread(application.bot, services, ticket.challenge_id)
        async with services.db.transaction() as session:
            queued = await flows.relay_again(
                session,
                ticket_id=ticket.ticket_id,
                thread_id=thread_id,
                event=services.event,
                texts=services.catalog,
            )
        count += queued
    return count


async def scan(context: HackbotContext) -> None:
    """The named job: escalate overdue tickets, relay pending ones, then wake the sender."""
    services = context.services
    try:
        escalated = await escalate_overdue(services)
        relayed = await relay_pending(cast("HackbotApplication", context.application))
    except Exception:
        log.exception("questions: scan failed; next try in %.0fs", runtime(services).scan_interval)
        return
    if escalated or relayed:
        services.wake_sender()


# -- start-up --------------------------------------------------------------------------------------


async def check_staff_group(application: HackbotApplication) -> str | None:
    """Check the staff group; returns the catalog key of the problem to report, or None."""
    services = application.bot_data.services
    state = runtime(services)
    chat_id = services.event.staff_chat_id
    state.staff_ready = False
    if chat_id is None:
        return "questions.config_missing"
    bot = application.bot
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError as exc:
        log.warning("questions: staff group %d unreachable (%s)", chat_id, exc.message)
        return "questions.config_not_member"
    if member.status not in MEMBER_STATUSES:
        return "questions.config_not_member"
    state.staff_ready = True
    state.is_forum = bool(chat.is_forum)
    if state.is_forum:
        can_manage = member.status == ChatMember.ADMINISTRATOR and bool(
            getattr(member, "can_manage_topics", False)
        )
        state.topics_allowed = can_manage or member.status == ChatMember.OWNER
        if not state.topics_allowed:
            return "questions.config_no_topics"
    return None


async def start_questions(application: HackbotApplication) -> None:
    """Check the staff group, warn organisers of problems, retry failed relays, start the scan job."""
    services = application.bot_data.services
    state = runtime(services)
    ensure_hooks(services)
    problem = await check_staff_group(application)
    if problem is not None:
        log.warning("questions: staff group problem: %s", problem.rsplit(".", 1)[-1])
        async with services.db.transaction() as session:
            await flows.warn_organisers(
                session, key=problem, event=services.event, texts=services.catalog, now=services.now()
            )
    if state.staff_ready:
        async with services.db.transaction() as session:
            retried = await q.retry_failed_relays(session)
        if retried:
            log.info("questions: %d ticket(s) recorded while the staff group failed will be relayed", retried)
    job_queue = application.job_queue
    if job_queue is None:
        log.error("questions: no JobQueue; escalations will not run")
        return
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    job_queue.run_repeating(scan, interval=state.scan_interval, first=0.5, name=JOB_NAME)
    services.wake_sender()
