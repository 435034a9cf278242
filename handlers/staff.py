"""Questions to facilitators, staff group side: claim, resolve, answer by replying, /questions, /mute.

Only the configured staff group (`event.staff_chat_id`) is served (`handlers.common` already ignores
other groups), and only its members act: membership is checked with getChatMember and cached for
a minute. A facilitator answers by replying to a ticket's message (the relayed question, a
follow-up, an escalation): any content is copied back to the asker with the facilitator's first
name. Plain messages in the group, and replies to people, never leave it.

Also here: the start-up check of the staff group (organisers are told clearly when it is missing,
or the bot is not in it), and the periodic scan (a named JobQueue job) that escalates tickets
waiting longer than `event.question_escalation_minutes` and relays tickets recorded while the
staff group was unavailable. The scan reads the database, so a restart loses nothing.

Callback data: `q:claim:<ticket>`, `q:done:<ticket>`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat, ChatMember, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotApplication, HackbotContext, Services
from handlers.common import language_for, refuse_stale_button, text
from handlers.questions import (
    MEMBER_CACHE_SECONDS,
    body_html,
    challenge_line,
    content_of,
    enqueue_answer,
    enqueue_asker_notice,
    enqueue_header_edit,
    enqueue_relay,
    enqueue_staff_notice,
    ensure_hooks,
    find_ticket,
    monotonic,
    plain,
    resolve_thread,
    resolved_keyboard,
    runtime,
    state_line,
    wake_sender,
    who,
)
from models import outbox
from models import questions as q
from models.outbox import OutgoingMessage
from models.participant import Participant
from models.questions import ClaimOutcome, QuestionTicket, TicketState

log = logging.getLogger(__name__)

JOB_NAME = "questions:scan"
DEFAULT_MUTE_MINUTES = 60
MAX_MUTE_MINUTES = 24 * 60
LIST_LIMIT = 30

_MEMBER_STATUSES = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER})


def _staff_lang(services: Services) -> str:
    return services.event.default_language


def _staff_text(services: Services, key: str, /, **params: object) -> str:
    return services.catalog.text(_staff_lang(services), key, **params)


async def is_staff(context: HackbotContext, user_id: int) -> bool:
    """Whether the user is a member of the staff group (getChatMember, cached for a minute)."""
    services = context.services
    chat_id = services.event.staff_chat_id
    if chat_id is None:
        return False
    state = runtime(services)
    cached = state.member_cache.get(user_id)
    now = monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.info("questions: membership of user %d unknown (%s)", user_id, exc.message)
        return False
    allowed = member.status in _MEMBER_STATUSES or (
        member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
    )
    state.member_cache[user_id] = (allowed, now + MEMBER_CACHE_SECONDS)
    return allowed


def _in_staff_chat(update: Update, context: HackbotContext) -> bool:
    chat = update.effective_chat
    staff = context.services.event.staff_chat_id
    return chat is not None and staff is not None and chat.id == staff


# -- buttons on the ticket message -------------------------------------------------------------


async def on_ticket_button(update: Update, context: HackbotContext) -> None:
    """The ticket buttons: "I'll take it" and "Resolved"."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    parts = query.data.split(":")
    if len(parts) != 3 or parts[1] not in ("claim", "done") or not parts[2].isdigit():
        await refuse_stale_button(update, context)
        return
    services = context.services
    if query.message is None or query.message.chat.id != services.event.staff_chat_id:
        await refuse_stale_button(update, context)
        return
    if not await is_staff(context, user.id):
        await query.answer(plain(_staff_text(services, "questions.not_member")), show_alert=True)
        return
    ticket_id = int(parts[2])
    name = user.first_name
    now = services.now()
    async with services.db.transaction() as session:
        ticket = await q.get_ticket(session, ticket_id, for_update=True)
        if ticket is not None and ticket.staff_message_id is None:
            # The buttons are on the ticket's message: pressed before the sender recorded it.
            ticket.staff_chat_id = query.message.chat.id
            ticket.staff_message_id = query.message.message_id
        if ticket is None:
            answer, alert = None, False
        elif parts[1] == "claim":
            answer, alert = await _claim(session, services, ticket, user.id, name, now)
        else:
            answer, alert = await _resolve(session, services, ticket, name, now)
    if answer is None:
        await refuse_stale_button(update, context)
        return
    wake_sender(services)
    await query.answer(plain(answer), show_alert=alert)


async def _claim(
    session: AsyncSession, services: Services, ticket: QuestionTicket, user_id: int, name: str, now: datetime
) -> tuple[str, bool]:
    outcome = q.claim(ticket, user_id, name, now)
    if outcome is ClaimOutcome.CLAIMED:
        await enqueue_header_edit(session, services, ticket)
        return _staff_text(services, "questions.claimed_ok", number=ticket.id), False
    if outcome is ClaimOutcome.ALREADY_YOURS:
        return _staff_text(services, "questions.already_yours", number=ticket.id), False
    if outcome is ClaimOutcome.TAKEN:
        holder = ticket.claimed_by_name or ticket.answered_by_name or "?"
        return _staff_text(services, "questions.taken", name=holder, number=ticket.id), True
    return _staff_text(services, "questions.ticket_closed_alert", number=ticket.id), True


async def _resolve(
    session: AsyncSession, services: Services, ticket: QuestionTicket, name: str, now: datetime
) -> tuple[str, bool]:
    if not q.resolve(ticket, name, now):
        return _staff_text(services, "questions.ticket_closed_alert", number=ticket.id), True
    await enqueue_header_edit(session, services, ticket)
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    if asker is not None:
        first = await q.first_post(session, ticket.id)
        await enqueue_asker_notice(
            session,
            ticket,
            asker,
            services.catalog.text(asker.language, "questions.resolved", number=ticket.id),
            key=f"q:resolved:{ticket.id}",
            keyboard=resolved_keyboard(services.catalog, asker.language, ticket.id),
            reply_to=first.source_message_id if first is not None else None,
        )
    return _staff_text(services, "questions.resolved_ok", number=ticket.id), False


# -- answers: replies in the staff group -------------------------------------------------------


def _is_topic_root_reply(message: Message) -> bool:
    """In a forum, a plain message "replies" to its topic's first message: not a real reply."""
    reply = message.reply_to_message
    if reply is None:
        return True
    if reply.forum_topic_created is not None:
        return True
    return bool(message.is_topic_message and reply.message_id == message.message_thread_id)


async def on_staff_reply(update: Update, context: HackbotContext) -> None:
    """A reply in the staff group: to a ticket's message it is an answer for the asker."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not _in_staff_chat(update, context):
        return
    if message.sender_chat is not None or user.is_bot or _is_topic_root_reply(message):
        return
    reply = message.reply_to_message
    assert reply is not None
    services = context.services
    from_bot = reply.from_user is not None and reply.from_user.id == context.bot.id
    ref = await find_ticket(services, message.chat_id, reply.message_id, from_bot=from_bot)
    if ref is None:
        # Staff talk among themselves by replying to each other: that stays in the group. A reply
        # to one of the bot's other messages is a mistake worth pointing out.
        if from_bot:
            await message.reply_text(_staff_text(services, "questions.not_a_ticket"))
        return
    if not await is_staff(context, user.id):
        await message.reply_text(_staff_text(services, "questions.not_member"))
        return
    ticket = ref.ticket
    if ticket.erased or ticket.asker_id is None:
        await message.reply_text(_staff_text(services, "questions.asker_erased", number=ticket.id))
        return
    if ticket.state is TicketState.CLOSED:
        await message.reply_text(_staff_text(services, "questions.ticket_closed_reply", number=ticket.id))
        return
    content = content_of(message)
    if content is None:
        await message.reply_text(_staff_text(services, "questions.unsupported_answer"))
        return
    await _deliver_answer(update, context, message, ticket.id, ref.post_id, content)


async def _deliver_answer(
    update: Update,
    context: HackbotContext,
    message: Message,
    ticket_id: int,
    post_id: int | None,
    content: q.Content,
) -> None:
    user = update.effective_user
    assert user is not None
    services = context.services
    now = services.now()
    name = user.first_name
    async with services.db.transaction() as session:
        ticket = await q.get_ticket(session, ticket_id, for_update=True)
        asker = await session.get(Participant, ticket.asker_id) if ticket and ticket.asker_id else None
        if ticket is None or asker is None or ticket.state is TicketState.CLOSED:
            refused = True
        else:
            refused = False
            # Answer the exact message the facilitator replied to (a follow-up, or the question).
            target = await session.get(q.QuestionPost, post_id) if post_id is not None else None
            if target is None or target.author is not q.Author.ASKER:
                target = await q.first_post(session, ticket.id)
            post = await q.add_post(
                session, ticket, q.Author.STAFF, content, now=now, staff_user_id=user.id, staff_name=name
            )
            first_answer = q.record_answer(ticket, user.id, name, now)
            await enqueue_answer(
                session,
                services,
                ticket,
                post,
                asker,
                answer_html=body_html(message),
                reply_to=target.source_message_id if target is not None else None,
            )
            if first_answer:
                await enqueue_header_edit(session, services, ticket)
    if refused:
        await message.reply_text(_staff_text(services, "questions.ticket_closed_reply", number=ticket_id))
        return
    log.info("questions: answer to ticket %d queued by user %d", ticket_id, user.id)
    wake_sender(services)


# -- /questions ----------------------------------------------------------------------------------


async def list_questions(update: Update, context: HackbotContext) -> None:
    """/questions: waiting tickets and how long each has waited (staff group members only)."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    services = context.services
    if chat.type != Chat.PRIVATE and not _in_staff_chat(update, context):
        return
    if not await is_staff(context, user.id):
        if chat.type == Chat.PRIVATE:
            await message.reply_text(text(context, language_for(context, update), "common.not_allowed"))
        return
    now = services.now()
    lang = _staff_lang(services)
    async with services.db.read() as session:
        total = await q.count_waiting(session)
        tickets = await q.waiting_tickets(session, LIST_LIMIT)
        askers = {
            t.id: await session.get(Participant, t.asker_id) if t.asker_id is not None else None
            for t in tickets
        }
    if not tickets:
        await message.reply_text(_staff_text(services, "questions.list_empty"))
        return
    lines = [_staff_text(services, "questions.list_title", count=total)]
    for ticket in tickets:
        minutes = max(0, int((now - ticket.waiting_since).total_seconds() // 60))
        lines.append(
            services.catalog.text(
                lang,
                "questions.list_item",
                number=ticket.id,
                minutes=minutes,
                who=who(services, ticket, askers[ticket.id], lang),
                state=state_line(services, ticket, lang),
            )
        )
    if total > len(tickets):
        lines.append(_staff_text(services, "questions.list_more", count=total - len(tickets)))
    await message.reply_text("\n".join(lines))


# -- /mute and /unmute (organisers) --------------------------------------------------------------


async def _target_ticket(update: Update, context: HackbotContext) -> tuple[QuestionTicket | None, list[str]]:
    """The ticket a /mute refers to: the replied-to ticket message, or a number as first argument."""
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    reply = message.reply_to_message
    async with context.services.db.read() as session:
        if reply is not None and _in_staff_chat(update, context) and not _is_topic_root_reply(message):
            ref = await q.ticket_for_message(session, message.chat_id, reply.message_id)
            if ref is not None:
                return ref.ticket, args
        if args and args[0].lstrip("#").isdigit():
            return await q.get_ticket(session, int(args[0].lstrip("#"))), args[1:]
    return None, args


async def _organiser_only(update: Update, context: HackbotContext) -> bool:
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return False
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE and not _in_staff_chat(update, context):
        return False
    if not context.services.event.is_organiser(user.id):
        await message.reply_text(text(context, language_for(context, update), "common.not_allowed"))
        return False
    return True


async def mute_command(update: Update, context: HackbotContext) -> None:
    """/mute [minutes] in reply to a ticket, or /mute <ticket> [minutes]: pause the asker's questions."""
    if not await _organiser_only(update, context):
        return
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    services = context.services
    ticket, rest = await _target_ticket(update, context)
    if ticket is None:
        key = "questions.mute_usage" if not context.args else "questions.mute_not_found"
        await message.reply_text(_staff_text(services, key))
        return
    minutes = DEFAULT_MUTE_MINUTES
    if rest and rest[0].isdigit():
        minutes = max(1, min(MAX_MUTE_MINUTES, int(rest[0])))
    now = services.now()
    until = now + timedelta(minutes=minutes)
    async with services.db.transaction() as session:
        asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
        if asker is not None:
            await q.mute(session, asker.id, until=until, muted_by=user.id, now=now)
            shown = services.event.local(until).strftime("%H:%M")
            await enqueue_asker_notice(
                session,
                ticket,
                asker,
                services.catalog.text(asker.language, "questions.muted_notice", until=shown),
                key=f"q:mute:{asker.id}:{int(until.timestamp())}",
            )
    if asker is None:
        await message.reply_text(_staff_text(services, "questions.mute_not_found"))
        return
    log.info("questions: participant %d muted for %d min by %d", asker.id, minutes, user.id)
    wake_sender(services)
    await message.reply_text(
        _staff_text(
            services,
            "questions.muted_ok",
            number=ticket.id,
            until=services.event.local(until).strftime("%H:%M"),
        )
    )


async def unmute_command(update: Update, context: HackbotContext) -> None:
    """/unmute in reply to a ticket, or /unmute <ticket>."""
    if not await _organiser_only(update, context):
        return
    message = update.effective_message
    assert message is not None
    services = context.services
    ticket, _ = await _target_ticket(update, context)
    if ticket is None:
        key = "questions.unmute_usage" if not context.args else "questions.mute_not_found"
        await message.reply_text(_staff_text(services, key))
        return
    async with services.db.transaction() as session:
        asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
        lifted = asker is not None and await q.unmute(session, asker.id)
        if asker is not None and lifted:
            await enqueue_asker_notice(
                session,
                ticket,
                asker,
                services.catalog.text(asker.language, "questions.unmuted_notice"),
                key=f"q:unmute:{asker.id}:{int(services.now().timestamp())}",
            )
    if asker is None:
        await message.reply_text(_staff_text(services, "questions.mute_not_found"))
        return
    wake_sender(services)
    key = "questions.unmuted_ok" if lifted else "questions.not_muted"
    await message.reply_text(_staff_text(services, key, number=ticket.id))


# -- the periodic scan: escalations and pending relays -------------------------------------------


def escalation_delay(services: Services) -> timedelta:
    """How long a ticket may wait before it is raised again in the staff group."""
    return timedelta(minutes=services.event.question_escalation_minutes)


async def escalate_overdue(services: Services) -> int:
    """Raise, once per wait, every ticket waiting longer than the delay; tell its asker. Returns how many."""
    now = services.now()
    lang = _staff_lang(services)
    async with services.db.transaction() as session:
        tickets = await q.overdue_tickets(session, now, escalation_delay(services))
        for ticket in tickets:
            ticket.escalated_at = now
            asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
            minutes = max(1, int((now - ticket.waiting_since).total_seconds() // 60))
            stamp = int(ticket.waiting_since.timestamp())
            await enqueue_staff_notice(
                session,
                services,
                ticket,
                services.catalog.text(
                    lang,
                    "questions.escalation",
                    minutes=minutes,
                    number=ticket.id,
                    who=who(services, ticket, asker, lang),
                    challenge=challenge_line(services, ticket, lang),
                ),
                key=f"q:esc:{ticket.id}:{stamp}",
            )
            if asker is not None:
                await enqueue_asker_notice(
                    session,
                    ticket,
                    asker,
                    services.catalog.text(asker.language, "questions.still_waiting", number=ticket.id),
                    key=f"q:esc-asker:{ticket.id}:{stamp}",
                )
    if tickets:
        log.info("questions: %d ticket(s) escalated", len(tickets))
    return len(tickets)


async def relay_pending(application: HackbotApplication) -> int:
    """Queue the relay of tickets recorded but not relayed yet (idempotent: one row per attempt)."""
    services = application.bot_data.services
    if services.event.staff_chat_id is None:
        return 0
    async with services.db.read() as session:
        tickets = await q.unrelayed_tickets(session)
        keys = {t.id: f"q:relay:{t.id}:{services.event.staff_chat_id}:{t.relay_attempt}" for t in tickets}
        queued = await _existing_keys(session, list(keys.values()))
    todo = [t for t in tickets if keys[t.id] not in queued]
    count = 0
    for stale in todo:
        thread_id = await resolve_thread(application.bot, services, stale.challenge_id)
        async with services.db.transaction() as session:
            ticket = await q.get_ticket(session, stale.id, for_update=True)
            if ticket is None or ticket.staff_message_id is not None or ticket.state is TicketState.CLOSED:
                continue
            sent = await q.staff_message_from_outbox(session, ticket)
            if sent is not None:  # sent, but the result hook was missed: repair the mapping only
                ticket.staff_message_id = sent
                continue
            post = await q.first_post(session, ticket.id)
            asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
            if post is None:
                continue
            count += await enqueue_relay(session, services, ticket, post, asker, thread_id)
    return count


async def _existing_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        await session.scalars(select(OutgoingMessage.dedupe_key).where(OutgoingMessage.dedupe_key.in_(keys)))
    )


async def scan(context: HackbotContext) -> None:
    """The named job: escalate overdue tickets, relay pending ones, then wake the sender."""
    services = context.services
    ensure_hooks(services)
    try:
        escalated = await escalate_overdue(services)
        relayed = await relay_pending(cast(HackbotApplication, context.application))
    except Exception:
        log.exception("questions: scan failed; next try in %.0fs", runtime(services).scan_interval)
        return
    if escalated or relayed:
        wake_sender(services)


# -- start-up ------------------------------------------------------------------------------------


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
    if member.status not in _MEMBER_STATUSES:
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


async def _warn_organisers(application: HackbotApplication, key: str) -> None:
    services = application.bot_data.services
    chat_id = services.event.staff_chat_id
    body = _staff_text(services, key, chat_id=chat_id if chat_id is not None else "-")
    stamp = int(services.now().timestamp())
    async with services.db.transaction() as session:
        for organiser in services.event.organisers:
            await outbox.enqueue(
                session,
                chat_id=organiser,
                method="sendMessage",
                payload={"text": body, "parse_mode": "HTML"},
                dedupe_key=f"q:config:{key}:{organiser}:{stamp}",
                purpose=q.PURPOSE_CONFIG,
            )
        # A forum without topic rights still receives questions (in General): say so there too.
        if key == "questions.config_no_topics" and chat_id is not None:
            await outbox.enqueue(
                session,
                chat_id=chat_id,
                method="sendMessage",
                payload={"text": body, "parse_mode": "HTML"},
                dedupe_key=f"q:config:{key}:{chat_id}:{stamp}",
                purpose=q.PURPOSE_CONFIG,
            )


async def start_questions(application: HackbotApplication) -> None:
    """Check the staff group, warn organisers of problems, retry failed relays, start the scan job."""
    services = application.bot_data.services
    state = runtime(services)
    ensure_hooks(services)
    problem = await check_staff_group(application)
    if problem is not None:
        log.warning("questions: staff group problem: %s", problem.rsplit(".", 1)[-1])
        await _warn_organisers(application, problem)
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
    wake_sender(services)


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Staff group handlers (commands first, then ticket buttons, then replies)."""
    groups = filters.ChatType.GROUPS
    return [
        CommandHandler("questions", list_questions),
        CommandHandler("mute", mute_command),
        CommandHandler("unmute", unmute_command),
        CallbackQueryHandler(on_ticket_button, pattern=r"^q:(claim|done):"),
        MessageHandler(groups & filters.REPLY & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_staff_reply),
    ]
