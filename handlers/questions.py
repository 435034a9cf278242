"""Questions to facilitators, participant side: "Ask a question", follow-ups, feedback; and the relay.

The relay is shared with `handlers.staff` (the staff group side): it composes the messages that go
through the outbox (Bot API payloads built from catalog texts and stored values, no Telegram
objects) and records, in the outbox sender's result hooks, which Telegram message belongs to which
ticket. The mapping lives in the database (`models.questions`) for the whole event, so a reply
finds its ticket after any restart.

Flow: "Ask a question" (menu button or /question) sets `participant.awaiting = "question"` (or
"question_anon" after "without my name"); the next message, whatever its kind, becomes a ticket
(`receive_question`); it is acknowledged at once and relayed to the staff group through the outbox,
in the challenge's forum topic when the group is a forum. A reply to one of the bot's messages
about a ticket (the acknowledgement, an answer) is a follow-up (`on_private_reply`).

Callback data: `q:anon`, `q:named`, `q:cancel`, `q:fb:<ticket>:y|n` (staff buttons: see
`handlers.staff`). Anything else starting with `q:` is refused as stale.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotContext, Services
from bot.delivery.sender import OutboxSender
from bot.i18n import Catalog, Markup, escape
from handlers.common import active_participant, label, refuse_stale_button, text
from handlers.input import on_input
from handlers.menu import menu_button
from models import outbox, registration
from models import questions as q
from models.outbox import CAPTION_LIMIT, TEXT_LIMIT, OutboxState, OutgoingMessage, telegram_length
from models.participant import Participant
from models.questions import Content, ContentKind, QuestionPost, QuestionTicket, TicketState

log = logging.getLogger(__name__)

AWAITING = "question"
AWAITING_ANONYMOUS = "question_anon"

# A participant may relay this many messages (questions and follow-ups) per window; beyond, each
# message is refused with an explanation (nothing is dropped silently, nothing before is lost).
RATE_LIMIT = 10
RATE_WINDOW = timedelta(minutes=10)
MEMBER_CACHE_SECONDS = 60.0
SCAN_INTERVAL_SECONDS = 30.0

# Outbox priorities: a ticket's own changes before new relays, answers before everything.
PRIORITY_RELAY = 0
PRIORITY_EDIT = 1
PRIORITY_ANSWER = 2

_TAGS = re.compile(r"<[^>]+>")


# -- runtime state (caches only; the truth is in the database) ---------------------------------


@dataclass
class QuestionsRuntime:
    """Process-wide state of the feature, in `services.extras["questions"]`."""

    staff_ready: bool = False  # staff group configured and the bot is a member (checked at start)
    is_forum: bool = False
    topics_allowed: bool = True
    scan_interval: float = SCAN_INTERVAL_SECONDS
    rate_limit: int = RATE_LIMIT
    rate_window: timedelta = RATE_WINDOW
    member_cache: dict[int, tuple[bool, float]] = field(default_factory=dict)
    topic_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    hooked: set[int] = field(default_factory=set)  # id() of senders our result hooks are on


def runtime(services: Services) -> QuestionsRuntime:
    """The feature's runtime state (created on first use)."""
    state = services.extras.get("questions")
    if not isinstance(state, QuestionsRuntime):
        state = QuestionsRuntime()
        services.extras["questions"] = state
    return state


def outbox_sender(services: Services) -> OutboxSender | None:
    """The one outbox sender (`services.sender`)."""
    return services.sender


def wake_sender(services: Services) -> None:
    """After a commit that queued messages: let them leave now."""
    sender = outbox_sender(services)
    if sender is None:
        log.warning("questions: no outbox sender; messages stay queued")
        return
    ensure_hooks(services, sender)
    sender.wake()


def plain(rendered: str) -> str:
    """A catalog text for places without HTML parsing (callback query answers)."""
    return html.unescape(_TAGS.sub("", rendered))


# -- reading messages --------------------------------------------------------------------------


def content_of(message: Message, *, text_override: str | None = None) -> Content | None:
    """What a message carries, if it is a kind we relay (None for stickers, polls, contacts...)."""
    kind: ContentKind | None = None
    body: str | None = message.caption
    if message.text is not None:
        kind, body = ContentKind.TEXT, message.text
    elif message.photo:
        kind = ContentKind.PHOTO
    elif message.voice is not None:
        kind = ContentKind.VOICE
    elif message.animation is not None:  # before `document`: animations carry both
        kind = ContentKind.ANIMATION
    elif message.document is not None:
        kind = ContentKind.DOCUMENT
    elif message.video is not None:
        kind = ContentKind.VIDEO
    elif message.audio is not None:
        kind = ContentKind.AUDIO
    elif message.video_note is not None:
        kind = ContentKind.VIDEO_NOTE
    elif message.location is not None:
        kind = ContentKind.LOCATION
    if kind is None:
        return None
    if text_override is not None:
        body = text_override
    return Content(kind=kind, text=body, chat_id=message.chat_id, message_id=message.message_id)


def body_html(message: Message) -> str | None:
    """The text or caption as Telegram HTML, keeping the author's formatting (escaped by PTB)."""
    if message.text is not None:
        return message.text_html
    if message.caption is not None:
        return message.caption_html
    return None


# -- composing the staff-side texts ------------------------------------------------------------


def _challenge_title(services: Services, lang: str, challenge_id: str | None) -> str | None:
    if challenge_id is None:
        return None
    challenge = services.event.challenge(challenge_id)
    if challenge is None:
        return challenge_id  # removed from the event file since
    return challenge.title.get(lang, services.event.default_language)


def _role_label(services: Services, lang: str, role_id: str | None) -> str:
    role = services.event.role(role_id) if role_id else None
    if role is None:
        return role_id or "?"
    return role.label.get(lang, services.event.default_language)


def who(services: Services, ticket: QuestionTicket, asker: Participant | None, lang: str) -> Markup:
    """How staff see the asker: name and role, or only their challenge when anonymous."""
    catalog = services.catalog
    if ticket.erased or asker is None:
        return catalog.text(lang, "questions.who_erased")
    if ticket.anonymous:
        title = _challenge_title(services, lang, ticket.challenge_id)
        if title is None:
            return catalog.text(lang, "questions.who_anonymous_general")
        return catalog.text(lang, "questions.who_anonymous", challenge=title)
    return catalog.text(
        lang, "questions.who_named", name=asker.display_name, role=_role_label(services, lang, asker.role)
    )


def challenge_line(services: Services, ticket: QuestionTicket, lang: str) -> Markup:
    """The challenge line: "Challenge: X", or "General question"."""
    title = _challenge_title(services, lang, ticket.challenge_id)
    if title is None:
        return services.catalog.text(lang, "questions.general_line")
    return services.catalog.text(lang, "questions.challenge_line", title=title)


def state_line(services: Services, ticket: QuestionTicket, lang: str) -> Markup:
    """Where the ticket is, and who has it."""
    catalog = services.catalog
    if ticket.state is TicketState.CLOSED:
        return catalog.text(lang, "questions.state_closed", name=ticket.closed_by_name or "?")
    if ticket.state is TicketState.ANSWERED or ticket.answered_at is not None:
        return catalog.text(
            lang, "questions.state_answered", name=ticket.answered_by_name or ticket.claimed_by_name or "?"
        )
    if ticket.claimed_by is not None:
        return catalog.text(lang, "questions.state_claimed", name=ticket.claimed_by_name or "?")
    return catalog.text(lang, "questions.state_open")


def staff_header(services: Services, ticket: QuestionTicket, asker: Participant | None) -> Markup:
    """Ticket number, asker (or "a participant of X"), challenge, state."""
    lang = services.event.default_language
    catalog = services.catalog
    lines = [
        catalog.text(
            lang,
            "questions.header",
            number=ticket.id,
            who=who(services, ticket, asker, lang),
            challenge=challenge_line(services, ticket, lang),
        ),
    ]
    if ticket.follow_up_of is not None:
        lines.append(catalog.text(lang, "questions.header_follow_up", number=ticket.follow_up_of))
    lines.append(state_line(services, ticket, lang))
    return Markup("\n".join(lines))


def staff_keyboard(catalog: Catalog, lang: str, ticket: QuestionTicket) -> dict[str, Any] | None:
    """The ticket's buttons: "I'll take it" while nobody has it, "Resolved" until it is closed."""
    if ticket.state is TicketState.CLOSED:
        return None
    row = []
    if ticket.claimed_by is None and ticket.answered_at is None:
        row.append(
            InlineKeyboardButton(
                catalog.text(lang, "questions.button_claim"), callback_data=f"q:claim:{ticket.id}"
            )
        )
    row.append(
        InlineKeyboardButton(
            catalog.text(lang, "questions.button_resolve"), callback_data=f"q:done:{ticket.id}"
        )
    )
    return InlineKeyboardMarkup([row]).to_dict()


def _with_body(head: str, body: str | None, sep: str = "\n\n") -> str:
    return head if not body else f"{head}{sep}{body}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row to write (the arguments of `models.outbox.enqueue`)."""

    chat_id: int
    method: str
    payload: dict[str, Any]
    dedupe_key: str
    purpose: str
    ref_id: int | None
    priority: int = 0


def carry(
    *,
    chat_id: int,
    head: str,
    body: str | None,
    source: Content,
    base: dict[str, Any],
    keyboard: dict[str, Any] | None,
    key: str,
    purpose: str,
    copy_purpose: str,
    ref_id: int,
    priority: int,
    sep: str = "\n\n",
) -> tuple[str, list[Outgoing]]:
    """The messages that carry `head` + the content of `source` to `chat_id`: one if it fits.

    Returns the mode ("text": head and text in one message; "caption": a copy whose caption is
    head + caption; "split": a message with the head, then a copy of the original) and the rows.
    `body` is the text or caption as HTML (already escaped). Telegram's limits (4,096 characters
    of text, 1,024 of caption) decide; nothing is ever cut.
    """
    with_markup = {**base, **({"reply_markup": keyboard} if keyboard else {})}
    if source.kind is ContentKind.TEXT:
        whole = _with_body(head, body, sep)
        if telegram_length(whole, "HTML") <= TEXT_LIMIT:
            return "text", [
                Outgoing(
                    chat_id, "sendMessage", {**with_markup, "text": whole}, key, purpose, ref_id, priority
                )
            ]
    elif source.kind.takes_caption:
        caption = _with_body(head, body, sep)
        if telegram_length(caption, "HTML") <= CAPTION_LIMIT:
            payload = {
                **with_markup,
                "from_chat_id": source.chat_id,
                "message_id": source.message_id,
                "caption": caption,
            }
            return "caption", [Outgoing(chat_id, "copyMessage", payload, key, purpose, ref_id, priority)]
    copy_base = {k: v for k, v in base.items() if k not in ("parse_mode",)}
    copy_base.pop("reply_parameters", None)  # the head message already replies where it should
    return "split", [
        Outgoing(chat_id, "sendMessage", {**with_markup, "text": head}, key, purpose, ref_id, priority),
        Outgoing(
            chat_id,
            "copyMessage",
            {**copy_base, "from_chat_id": source.chat_id, "message_id": source.message_id},
            f"{key}:copy",
            copy_purpose,
            ref_id,
            priority,
        ),
    ]


async def write(session: AsyncSession, rows: list[Outgoing]) -> None:
    """Queue the rows in order (same chat, same priority: sent in this order)."""
    for row in rows:
        await outbox.enqueue(
            session,
            chat_id=row.chat_id,
            method=row.method,
            payload=row.payload,
            dedupe_key=row.dedupe_key,
            purpose=row.purpose,
            ref_id=row.ref_id,
            priority=row.priority,
        )


def _thread_base(thread_id: int | None, reply_to: int | None = None) -> dict[str, Any]:
    base: dict[str, Any] = {"parse_mode": "HTML"}
    if thread_id is not None:
        base["message_thread_id"] = thread_id
    if reply_to is not None:
        base["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return base


async def enqueue_relay(
    session: AsyncSession,
    services: Services,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant | None,
    thread_id: int | None,
) -> bool:
    """Queue the ticket's message in the staff group; False when there is no staff group."""
    chat_id = services.event.staff_chat_id
    if chat_id is None:
        return False
    lang = services.event.default_language
    mode, rows = carry(
        chat_id=chat_id,
        head=staff_header(services, ticket, asker),
        body=escape(post.text) if post.text else None,
        source=_content(post),
        base=_thread_base(thread_id),
        keyboard=staff_keyboard(services.catalog, lang, ticket),
        key=f"q:relay:{ticket.id}:{chat_id}:{ticket.relay_attempt}",
        purpose=q.PURPOSE_RELAY,
        copy_purpose=q.PURPOSE_RELAY_COPY,
        ref_id=ticket.id,
        priority=PRIORITY_RELAY,
    )
    await write(session, rows)
    ticket.header_mode = mode
    ticket.staff_chat_id = chat_id
    ticket.staff_thread_id = thread_id
    return True


def _content(post: QuestionPost) -> Content:
    return Content(post.kind, post.text, post.source_chat_id, post.source_message_id)


async def repair_staff_message(session: AsyncSession, ticket: QuestionTicket) -> None:
    """Fill in the ticket's staff message from the outbox if its result hook was missed."""
    if ticket.staff_message_id is None:
        ticket.staff_message_id = await q.staff_message_from_outbox(session, ticket)


async def enqueue_header_edit(session: AsyncSession, services: Services, ticket: QuestionTicket) -> None:
    """Show the ticket's new state (claimed, answered, resolved) on its staff message."""
    await repair_staff_message(session, ticket)
    if ticket.staff_message_id is None or ticket.staff_chat_id is None or ticket.erased:
        return
    asker = await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None
    lang = services.event.default_language
    head = staff_header(services, ticket, asker)
    keyboard = staff_keyboard(services.catalog, lang, ticket)
    payload: dict[str, Any] = {"message_id": ticket.staff_message_id, "parse_mode": "HTML"}
    if keyboard is not None:
        payload["reply_markup"] = keyboard
    if ticket.header_mode == "caption":
        post = await q.first_post(session, ticket.id)
        method = "editMessageCaption"
        payload["caption"] = _with_body(head, escape(post.text) if post and post.text else None)
    else:
        method = "editMessageText"
        body = None
        if ticket.header_mode == "text":
            post = await q.first_post(session, ticket.id)
            body = escape(post.text) if post and post.text else None
        payload["text"] = _with_body(head, body)
    await outbox.enqueue(
        session,
        chat_id=ticket.staff_chat_id,
        method=method,
        payload=payload,
        dedupe_key=f"q:hdr:{ticket.id}:{ticket.header_version}",
        purpose=q.PURPOSE_EDIT,
        ref_id=ticket.id,
        priority=PRIORITY_EDIT,
    )


async def enqueue_followup(
    session: AsyncSession,
    services: Services,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant | None,
) -> None:
    """Relay an asker's follow-up as a reply to the ticket's message, in its topic."""
    chat_id = ticket.staff_chat_id or services.event.staff_chat_id
    if chat_id is None:
        return
    await repair_staff_message(session, ticket)
    lang = services.event.default_language
    head = services.catalog.text(
        lang, "questions.followup_header", number=ticket.id, who=who(services, ticket, asker, lang)
    )
    _, rows = carry(
        chat_id=chat_id,
        head=head,
        body=escape(post.text) if post.text else None,
        source=_content(post),
        base=_thread_base(ticket.staff_thread_id, ticket.staff_message_id),
        keyboard=None,
        key=f"{q.followup_key_prefix(ticket.id)}{post.id}",
        purpose=q.PURPOSE_FOLLOWUP,
        copy_purpose=q.PURPOSE_FOLLOWUP,
        ref_id=post.id,
        priority=PRIORITY_RELAY,
        sep="\n",
    )
    await write(session, rows)


async def enqueue_answer(
    session: AsyncSession,
    services: Services,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant,
    *,
    answer_html: str | None,
    reply_to: int | None,
) -> None:
    """Deliver a facilitator's answer to the asker, with the facilitator's first name."""
    head = services.catalog.text(
        asker.language, "questions.answer_prefix", name=post.staff_name or "?", number=ticket.id
    )
    _, rows = carry(
        chat_id=asker.telegram_id,
        head=head,
        body=answer_html,
        source=_content(post),
        base=_thread_base(None, reply_to),
        keyboard=None,
        key=f"q:ans:{post.id}",
        purpose=q.PURPOSE_ANSWER,
        copy_purpose=q.PURPOSE_ANSWER,
        ref_id=post.id,
        priority=PRIORITY_ANSWER,
        sep="\n",
    )
    await write(session, rows)


async def enqueue_staff_notice(
    session: AsyncSession,
    services: Services,
    ticket: QuestionTicket,
    body: str,
    *,
    key: str,
    reply_to: int | None = None,
) -> None:
    """A notice about a ticket in the staff group, replying to the ticket's message by default."""
    chat_id = ticket.staff_chat_id or services.event.staff_chat_id
    if chat_id is None:
        return
    await repair_staff_message(session, ticket)
    target = reply_to if reply_to is not None else ticket.staff_message_id
    await outbox.enqueue(
        session,
        chat_id=chat_id,
        method="sendMessage",
        payload={**_thread_base(ticket.staff_thread_id, target), "text": body},
        dedupe_key=key,
        purpose=q.PURPOSE_STAFF_NOTICE,
        ref_id=ticket.id,
        priority=PRIORITY_EDIT,
    )


async def enqueue_asker_notice(
    session: AsyncSession,
    ticket: QuestionTicket,
    asker: Participant,
    body: str,
    *,
    key: str,
    keyboard: dict[str, Any] | None = None,
    reply_to: int | None = None,
) -> None:
    """A notice to the asker about their ticket ("still in the queue", "resolved")."""
    payload: dict[str, Any] = {**_thread_base(None, reply_to), "text": body}
    if keyboard is not None:
        payload["reply_markup"] = keyboard
    await outbox.enqueue(
        session,
        chat_id=asker.telegram_id,
        method="sendMessage",
        payload=payload,
        dedupe_key=key,
        purpose=q.PURPOSE_ASKER_NOTICE,
        ref_id=ticket.id,
        priority=PRIORITY_ANSWER,
    )


# -- outbox result hooks: the mapping and delivery failures ------------------------------------

_THREAD_ERRORS = ("thread", "topic")


def ensure_hooks(services: Services, sender: OutboxSender | None = None) -> None:
    """Register our result hooks on the sender once (start-up, and again if the sender changed)."""
    sender = sender or outbox_sender(services)
    if sender is None or id(sender) in runtime(services).hooked:
        return
    runtime(services).hooked.add(id(sender))
    hooks: dict[str, Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]] = {
        q.PURPOSE_RELAY: _relay_hook(services, header=True),
        q.PURPOSE_RELAY_COPY: _relay_hook(services, header=False),
        q.PURPOSE_FOLLOWUP: _followup_hook(services),
        q.PURPOSE_ANSWER: _answer_hook(services),
        q.PURPOSE_STAFF_NOTICE: _notice_hook(services),
    }
    for purpose, hook in hooks.items():
        sender.on_result(purpose, hook)


async def _retry_without_thread(session: AsyncSession, row: OutgoingMessage) -> bool:
    """A staff message refused because its forum topic is gone: send it to the group's General."""
    error = (row.last_error or "").lower()
    thread_id = row.payload.get("message_thread_id")
    if thread_id is None or not any(word in error for word in _THREAD_ERRORS):
        return False
    await q.forget_topic(session, row.chat_id, int(thread_id))
    payload = {k: v for k, v in row.payload.items() if k != "message_thread_id"}
    await outbox.enqueue(
        session,
        chat_id=row.chat_id,
        method=row.method,
        payload=payload,
        dedupe_key=f"{row.dedupe_key}:general"[:200],
        purpose=row.purpose,
        ref_id=row.ref_id,
        priority=row.priority,
    )
    return True


def _relay_hook(
    services: Services, *, header: bool
) -> Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]:
    async def hook(session: AsyncSession, row: OutgoingMessage) -> None:
        if row.ref_id is None:
            return
        ticket = await session.get(QuestionTicket, row.ref_id)
        if ticket is None:
            return
        if row.state is OutboxState.SENT and row.sent_message_id is not None:
            first = await q.first_post(session, ticket.id)
            await q.link_message(
                session,
                chat_id=row.chat_id,
                message_id=row.sent_message_id,
                ticket_id=ticket.id,
                kind=q.LinkKind.RELAY,
                post_id=first.id if first else None,
            )
            if header:
                ticket.staff_chat_id = row.chat_id
                ticket.staff_message_id = row.sent_message_id
                ticket.staff_thread_id = row.payload.get("message_thread_id")
            return
        if row.state in (OutboxState.FAILED, OutboxState.BLOCKED):
            if await _retry_without_thread(session, row):
                if header:
                    ticket.staff_thread_id = None
                return
            if header:
                # Recorded, not relayed: retried at the next start once the staff group works.
                ticket.relay_failed = True
                log.warning("questions: ticket %d could not be relayed (%s)", ticket.id, row.last_error)

    return hook


async def _link_sent_post(
    session: AsyncSession, row: OutgoingMessage, kind: q.LinkKind
) -> QuestionPost | None:
    """Record which Telegram message a relayed post became; return the post (None if it is gone)."""
    post = await session.get(QuestionPost, row.ref_id) if row.ref_id is not None else None
    if post is not None and row.state is OutboxState.SENT and row.sent_message_id is not None:
        await q.link_message(
            session,
            chat_id=row.chat_id,
            message_id=row.sent_message_id,
            ticket_id=post.ticket_id,
            kind=kind,
            post_id=post.id,
        )
    return post


def _followup_hook(services: Services) -> Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]:
    async def hook(session: AsyncSession, row: OutgoingMessage) -> None:
        post = await _link_sent_post(session, row, q.LinkKind.RELAY)
        if post is None:
            return
        if row.state in (OutboxState.FAILED, OutboxState.BLOCKED) and not await _retry_without_thread(
            session, row
        ):
            log.warning("questions: follow-up %d of ticket %d not relayed", post.id, post.ticket_id)

    return hook


def _answer_hook(services: Services) -> Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]:
    async def hook(session: AsyncSession, row: OutgoingMessage) -> None:
        post = await _link_sent_post(session, row, q.LinkKind.DELIVERY)
        if post is None or row.state not in (OutboxState.FAILED, OutboxState.BLOCKED):
            return
        ticket = await session.get(QuestionTicket, post.ticket_id)
        if ticket is None:
            return
        key = "questions.asker_blocked" if row.state is OutboxState.BLOCKED else "questions.delivery_failed"
        lang = services.event.default_language
        # Tell the facilitator, as a reply to their own answer, that it did not arrive.
        await enqueue_staff_notice(
            session,
            services,
            ticket,
            services.catalog.text(lang, key, number=ticket.id),
            key=f"q:undelivered:{post.id}",
            reply_to=post.source_message_id,
        )

    return hook


def _notice_hook(services: Services) -> Callable[[AsyncSession, OutgoingMessage], Awaitable[None]]:
    async def hook(session: AsyncSession, row: OutgoingMessage) -> None:
        if row.state is OutboxState.SENT and row.sent_message_id is not None and row.ref_id is not None:
            if await session.get(QuestionTicket, row.ref_id) is None:
                return
            await q.link_message(
                session,
                chat_id=row.chat_id,
                message_id=row.sent_message_id,
                ticket_id=row.ref_id,
                kind=q.LinkKind.NOTICE,
            )

    return hook


# -- finding the ticket behind a reply ---------------------------------------------------------

# A reply can arrive before the sender has recorded which ticket the replied-to message carries
# (the request returned, its result transaction is not committed yet): wait that long at most.
MAPPING_WAIT_SECONDS = 3.0


async def find_ticket(
    services: Services, chat_id: int, message_id: int, *, from_bot: bool
) -> q.TicketRef | None:
    """The ticket behind a replied-to message; for the bot's own messages, waits for a pending mapping."""
    deadline = monotonic() + MAPPING_WAIT_SECONDS
    while True:
        async with services.db.read() as session:
            # "Pending?" first: a row seen sending before the lookup cannot have been recorded
            # unseen (on PostgreSQL each statement sees the latest commits).
            pending = from_bot and await q.sending_to(session, chat_id)
            ref = await q.ticket_for_message(session, chat_id, message_id)
        if ref is not None or not pending or monotonic() > deadline:
            return ref
        await asyncio.sleep(0.05)


# -- forum topics ------------------------------------------------------------------------------


async def resolve_thread(context_bot: Any, services: Services, challenge_id: str | None) -> int | None:
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
        title = _challenge_title(services, lang, challenge_id)
        name = (
            services.catalog.text(lang, "questions.topic_general")
            if title is None
            else services.catalog.text(lang, "questions.topic_challenge", title=title)
        )
        try:
            topic = await context_bot.create_forum_topic(chat_id, plain(name)[:128])
        except TelegramError as exc:
            log.warning("questions: could not create a forum topic (%s); using General", exc.message)
            return None
        async with services.db.transaction() as session:
            return await q.remember_topic(session, chat_id, key, topic.message_thread_id)


# -- participant side --------------------------------------------------------------------------


def _prompt_keyboard(context: HackbotContext, lang: str, *, anonymous: bool) -> InlineKeyboardMarkup:
    toggle = (
        InlineKeyboardButton(label(context, lang, "questions.button_named"), callback_data="q:named")
        if anonymous
        else InlineKeyboardButton(label(context, lang, "questions.button_anonymous"), callback_data="q:anon")
    )
    return InlineKeyboardMarkup(
        [
            [toggle],
            [InlineKeyboardButton(label(context, lang, "questions.button_cancel"), callback_data="q:cancel")],
        ]
    )


def _until(services: Services, until: datetime) -> str:
    return services.event.local(until).strftime("%H:%M")


async def ask(update: Update, context: HackbotContext) -> None:
    """The "Ask a question" button and /question: wait for the question (or take it from /question ...)."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    services = context.services
    lang = participant.language
    inline = message.text.split(maxsplit=1)[1].strip() if context.args and message.text else ""
    if inline:
        # "/question where is room 3?": the question is already there (one write, not two).
        await _receive(update, context, participant, anonymous=False, text_override=inline)
        return
    async with services.db.transaction() as session:
        current = await registration.get_participant(session, participant.telegram_id)
        if current is None:
            return
        muted = await q.active_mute(session, current.id, services.now())
        if muted is None:
            current.awaiting = AWAITING
    if muted is not None:
        await message.reply_text(text(context, lang, "questions.muted", until=_until(services, muted.until)))
        return
    await message.reply_text(
        text(context, lang, "questions.ask_prompt"),
        reply_markup=_prompt_keyboard(context, lang, anonymous=False),
    )


@on_input(AWAITING, accepts_media=True)
async def receive_question(update: Update, context: HackbotContext, participant: Participant) -> None:
    """The message after "Ask a question": it becomes a ticket."""
    await _receive(update, context, participant, anonymous=False)


@on_input(AWAITING_ANONYMOUS, accepts_media=True)
async def receive_anonymous_question(
    update: Update, context: HackbotContext, participant: Participant
) -> None:
    """The message after "Ask a question" → "without my name"."""
    await _receive(update, context, participant, anonymous=True)


async def _refusal(
    session: AsyncSession, services: Services, participant: Participant, now: datetime
) -> tuple[str, dict[str, object]] | None:
    """Why this participant may not relay a message now (muted, too many), or None."""
    muted = await q.active_mute(session, participant.id, now)
    if muted is not None:
        return "questions.muted", {"until": _until(services, muted.until)}
    state = runtime(services)
    recent = await q.recent_asker_posts(session, participant.id, now - state.rate_window)
    if recent >= state.rate_limit:
        return "questions.too_many", {"minutes": int(state.rate_window.total_seconds() // 60)}
    return None


async def _receive(
    update: Update,
    context: HackbotContext,
    participant: Participant,
    *,
    anonymous: bool,
    text_override: str | None = None,
    follow_up_of: QuestionTicket | None = None,
) -> None:
    """Turn a message into a ticket: record, acknowledge at once, relay through the outbox."""
    message = update.effective_message
    assert message is not None
    services = context.services
    lang = participant.language
    content = content_of(message, text_override=text_override)
    if content is None:
        await message.reply_text(text(context, lang, "questions.unsupported"))
        return
    async with services.db.read() as session:
        challenge_id = await q.asker_challenge(session, participant)
    thread_id = await resolve_thread(context.bot, services, challenge_id)
    async with services.db.transaction() as session:
        # Read inside the unit of work, so tickets are numbered and timed in the same order.
        now = services.now()
        asker = await registration.get_participant(session, participant.telegram_id)
        if asker is None:
            return
        refusal = await _refusal(session, services, asker, now)
        if refusal is None:
            ticket, post = await q.open_ticket(
                session,
                asker,
                content,
                challenge_id=challenge_id,
                anonymous=anonymous,
                now=now,
                follow_up_of=follow_up_of.id if follow_up_of is not None else None,
            )
            if asker.awaiting in (AWAITING, AWAITING_ANONYMOUS):
                asker.awaiting = None
            await enqueue_relay(session, services, ticket, post, asker, thread_id)
    if refusal is not None:
        await message.reply_text(text(context, lang, refusal[0], **refusal[1]))
        return
    log.info("questions: ticket %d opened by participant %d", ticket.id, asker.id)
    wake_sender(services)
    ack = await message.reply_text(text(context, lang, "questions.received", number=ticket.id))
    async with services.db.transaction() as session:
        await q.link_message(
            session,
            chat_id=ack.chat_id,
            message_id=ack.message_id,
            ticket_id=ticket.id,
            kind=q.LinkKind.ACK,
            post_id=post.id,
        )


async def on_private_reply(update: Update, context: HackbotContext) -> None:
    """A reply in the private chat: to a ticket's message it is a follow-up; else the usual routing."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    services = context.services
    reply = message.reply_to_message
    from_bot = reply.from_user is not None and reply.from_user.id == context.bot.id
    ref = await find_ticket(services, message.chat_id, reply.message_id, from_bot=from_bot)
    ticket = ref.ticket if ref is not None else None
    async with services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    if (
        participant is None
        or ticket is None
        or ticket.asker_id != participant.id
        or not participant.is_active
    ):
        from handlers.input import route_free_message

        await route_free_message(update, context)
        return
    if ticket.state is TicketState.CLOSED:
        # A resolved question stays closed for the staff; what the person adds becomes a new one.
        await _receive(update, context, participant, anonymous=ticket.anonymous, follow_up_of=ticket)
        return
    lang = participant.language
    content = content_of(message)
    if content is None:
        await message.reply_text(text(context, lang, "questions.unsupported"))
        return
    now = services.now()
    async with services.db.transaction() as session:
        asker = await registration.get_participant(session, participant.telegram_id)
        current = await q.get_ticket(session, ticket.id, for_update=True)
        if asker is None or current is None:
            return
        refusal = await _refusal(session, services, asker, now)
        if refusal is None:
            post = await q.add_post(session, current, q.Author.ASKER, content, now=now)
            q.follow_up_from_asker(current, now)
            await enqueue_followup(session, services, current, post, asker)
    if refusal is not None:
        await message.reply_text(text(context, lang, refusal[0], **refusal[1]))
        return
    wake_sender(services)
    await message.reply_text(text(context, lang, "questions.followup_sent", number=ticket.id))


async def on_button(update: Update, context: HackbotContext) -> None:
    """The participant's `q:` buttons: anonymity toggle, cancel, and "did it help?"."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action in ("anon", "named", "cancel") and len(parts) == 2:
        await _prompt_button(update, context, action)
        return
    if action == "fb" and len(parts) == 4 and parts[2].isdigit() and parts[3] in ("y", "n"):
        await _feedback(update, context, int(parts[2]), helped=parts[3] == "y")
        return
    await refuse_stale_button(update, context)


async def _prompt_button(update: Update, context: HackbotContext, action: str) -> None:
    query = update.callback_query
    assert query is not None
    participant = await active_participant(update, context)
    if participant is None:
        return
    lang = participant.language
    async with context.services.db.transaction() as session:
        current = await registration.get_participant(session, participant.telegram_id)
        waiting = current is not None and current.awaiting in (AWAITING, AWAITING_ANONYMOUS)
        if current is not None and waiting:
            current.awaiting = {"anon": AWAITING_ANONYMOUS, "named": AWAITING, "cancel": None}[action]
    if not waiting:
        await refuse_stale_button(update, context)
        return
    await query.answer()
    if action == "cancel":
        await query.edit_message_text(text(context, lang, "questions.cancelled"))
        return
    anonymous = action == "anon"
    key = "questions.ask_prompt_anonymous" if anonymous else "questions.ask_prompt"
    await query.edit_message_text(
        text(context, lang, key), reply_markup=_prompt_keyboard(context, lang, anonymous=anonymous)
    )


async def _feedback(update: Update, context: HackbotContext, ticket_id: int, *, helped: bool) -> None:
    query = update.callback_query
    assert query is not None
    participant = await active_participant(update, context)
    if participant is None:
        return
    services = context.services
    lang = participant.language
    async with services.db.transaction() as session:
        ticket = await q.get_ticket(session, ticket_id, for_update=True)
        if ticket is None or ticket.asker_id != participant.id or ticket.helpful is not None:
            ticket = None
        else:
            ticket.helpful = helped
            if not helped:
                staff_lang = services.event.default_language
                await enqueue_staff_notice(
                    session,
                    services,
                    ticket,
                    services.catalog.text(staff_lang, "questions.feedback_no", number=ticket.id),
                    key=f"q:feedback:{ticket.id}",
                )
    if ticket is None:
        await refuse_stale_button(update, context)
        return
    await query.answer()
    wake_sender(services)
    await query.edit_message_text(
        text(context, lang, "questions.thanks_yes" if helped else "questions.thanks_no")
    )


def resolved_keyboard(catalog: Catalog, lang: str, ticket_id: int) -> dict[str, Any]:
    """One tap: did the answer help?"""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.text(lang, "questions.helpful_yes"), callback_data=f"q:fb:{ticket_id}:y"
                ),
                InlineKeyboardButton(
                    catalog.text(lang, "questions.helpful_no"), callback_data=f"q:fb:{ticket_id}:n"
                ),
            ]
        ]
    ).to_dict()


def handlers(services: Services) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Participant-side handlers (the staff group side is `handlers.staff.handlers`).

    Also puts our result hooks on the sender now, before it starts: a relay sent right after a
    restart then has its mapping recorded like any other.
    """
    ensure_hooks(services)
    catalog = services.catalog
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "question"), ask),
        CommandHandler("question", ask, filters=private),
        CallbackQueryHandler(on_button, pattern=r"^q:(anon|named|cancel|fb)(:|$)"),
        MessageHandler(
            private & filters.REPLY & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_private_reply
        ),
    ]


def monotonic() -> float:
    """Clock of the membership cache (a function so tests can replace it)."""
    return time.monotonic()
