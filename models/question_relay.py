"""The question relay's messages: what goes to the staff group and to askers, composed and queued.

The bot is a switchboard: a participant's question is copied into the staff group with a header
(ticket number, who asks, challenge, state) and the ticket's buttons; a facilitator's reply goes
back to the asker with the facilitator's first name. Every such message is a row of the outbox,
queued here in the transaction of the change that calls for it (`models.question_flows`), worded
through an `outbox.Texts` (the catalog) in the event's languages. The staff group reads the event's
default language; an asker reads theirs.

Also here: the sender's result hooks (`on_relay_result`...), which record which Telegram message
carries which ticket (so a reply finds its ticket after any restart) and react to a failed delivery.

Nothing here knows Telegram objects: payloads are Bot API JSON built from stored values.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import outbox
from models import questions as q
from models.outbox import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    NewMessage,
    OutboxState,
    OutgoingMessage,
    Texts,
    telegram_length,
)
from models.participant import Participant
from models.questions import Content, ContentKind, QuestionPost, QuestionTicket, TicketState
from schedule.config import EventConfig

log = logging.getLogger(__name__)

# Outbox priorities: a ticket's own changes before new relays, answers before everything.
PRIORITY_RELAY = 0
PRIORITY_EDIT = 1
PRIORITY_ANSWER = 2

# Words in Telegram's refusal when a forum topic was deleted or closed.
_THREAD_ERRORS = ("thread", "topic")


def escape(value: object) -> str:
    """A stored text made safe for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=True)


def hhmm(event: EventConfig, at: datetime) -> str:
    """Local time of day (the domain's copy of `bot.display.hhmm`, which models/ cannot import)."""
    return event.local(at).strftime("%H:%M")


# -- the staff-side texts ------------------------------------------------------------------------
# Texts returned by `texts.text` are passed as parameters of other texts: the catalog recognises
# its own (already escaped) output and does not escape it twice.


def challenge_title(event: EventConfig, lang: str, challenge_id: str | None) -> str | None:
    """The ticket's challenge title (its id if removed from the event file), None for a general one."""
    if challenge_id is None:
        return None
    return event.challenge_title(lang, challenge_id)


def _role_label(event: EventConfig, lang: str, role_id: str | None) -> str:
    if role_id is None:
        return "?"
    return event.role_label(lang, role_id) or role_id


def who(
    event: EventConfig, texts: Texts, ticket: QuestionTicket, asker: Participant | None, lang: str
) -> str:
    """How staff see the asker: name and role, or only their challenge when anonymous."""
    if ticket.erased or asker is None:
        return texts.text(lang, "questions.who_erased")
    if ticket.anonymous:
        title = challenge_title(event, lang, ticket.challenge_id)
        if title is None:
            return texts.text(lang, "questions.who_anonymous_general")
        return texts.text(lang, "questions.who_anonymous", challenge=title)
    return texts.text(
        lang, "questions.who_named", name=asker.display_name, role=_role_label(event, lang, asker.role)
    )


def challenge_line(event: EventConfig, texts: Texts, ticket: QuestionTicket, lang: str) -> str:
    """The challenge line: "Challenge: X", or "General question"."""
    title = challenge_title(event, lang, ticket.challenge_id)
    if title is None:
        return texts.text(lang, "questions.general_line")
    return texts.text(lang, "questions.challenge_line", title=title)


def state_line(texts: Texts, ticket: QuestionTicket, lang: str) -> str:
    """Where the ticket is, and who has it."""
    if ticket.state is TicketState.CLOSED:
        return texts.text(lang, "questions.state_closed", name=ticket.closed_by_name or "?")
    if ticket.state is TicketState.ANSWERED or ticket.answered_at is not None:
        return texts.text(
            lang, "questions.state_answered", name=ticket.answered_by_name or ticket.claimed_by_name or "?"
        )
    if ticket.claimed_by is not None:
        return texts.text(lang, "questions.state_claimed", name=ticket.claimed_by_name or "?")
    return texts.text(lang, "questions.state_open")


def staff_header(event: EventConfig, texts: Texts, ticket: QuestionTicket, asker: Participant | None) -> str:
    """Ticket number, asker (or "a participant of X"), challenge, state, and how to answer while open."""
    lang = event.default_language
    lines = [
        texts.text(
            lang,
            "questions.header",
            number=ticket.id,
            who=who(event, texts, ticket, asker, lang),
            challenge=challenge_line(event, texts, ticket, lang),
        ),
    ]
    if ticket.follow_up_of is not None:
        lines.append(texts.text(lang, "questions.header_follow_up", number=ticket.follow_up_of))
    lines.append(state_line(texts, ticket, lang))
    if ticket.state is not TicketState.CLOSED:
        # Facilitators new to Telegram do not know that a reply is how the answer reaches the person.
        lines.append(texts.text(lang, "questions.staff_hint"))
    return "\n".join(lines)


def _keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in rows]
    }


# Button data, matched by the handlers' patterns (`handlers.questions`): `q:claim:<ticket>`,
# `q:done:<ticket>`, `q:fb:<ticket>:y|n`. Stored in messages already sent: never change them.
def claim_data(ticket_id: int) -> str:
    """The data of "I'll take it"."""
    return f"q:claim:{ticket_id}"


def resolve_data(ticket_id: int) -> str:
    """The data of "Resolved"."""
    return f"q:done:{ticket_id}"


def feedback_data(ticket_id: int, *, helped: bool) -> str:
    """The data of "did it help?" yes / no."""
    return f"q:fb:{ticket_id}:{'y' if helped else 'n'}"


def staff_keyboard(texts: Texts, lang: str, ticket: QuestionTicket) -> dict[str, Any] | None:
    """The ticket's buttons: "I'll take it" while nobody has it, "Resolved" until it is closed."""
    if ticket.state is TicketState.CLOSED:
        return None
    row = []
    if ticket.claimed_by is None and ticket.answered_at is None:
        row.append((texts.label(lang, "questions.button_claim"), claim_data(ticket.id)))
    row.append((texts.label(lang, "questions.button_resolve"), resolve_data(ticket.id)))
    return _keyboard([row])


def resolved_keyboard(texts: Texts, lang: str, ticket_id: int) -> dict[str, Any]:
    """One tap: did the answer help?"""
    return _keyboard(
        [
            [
                (texts.label(lang, "questions.helpful_yes"), feedback_data(ticket_id, helped=True)),
                (texts.label(lang, "questions.helpful_no"), feedback_data(ticket_id, helped=False)),
            ]
        ]
    )


# -- carrying a message with a header --------------------------------------------------------------


def _with_body(head: str, body: str | None, sep: str = "\n\n") -> str:
    return head if not body else f"{head}{sep}{body}"


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
) -> tuple[str, list[NewMessage]]:
    """The messages that carry `head` + the content of `source` to `chat_id`: one if it fits.

    Returns the mode ("text": head and text in one message; "caption": a copy whose caption is
    head + caption; "split": a message with the head, then a copy of the original) and the rows.
    `body` is the text or caption as HTML (already escaped). Telegram's limits (4,096 characters
    of text, 1,024 of caption) decide; nothing is ever cut.
    """
    with_markup = {**base, **({"reply_markup": keyboard} if keyboard else {})}

    def row(method: str, payload: dict[str, Any], dedupe_key: str, row_purpose: str) -> NewMessage:
        return NewMessage(chat_id, method, payload, dedupe_key, row_purpose, ref_id=ref_id, priority=priority)

    if source.kind is ContentKind.TEXT:
        whole = _with_body(head, body, sep)
        if telegram_length(whole, "HTML") <= TEXT_LIMIT:
            return "text", [row("sendMessage", {**with_markup, "text": whole}, key, purpose)]
    elif source.kind.takes_caption:
        caption = _with_body(head, body, sep)
        if telegram_length(caption, "HTML") <= CAPTION_LIMIT:
            payload = {
                **with_markup,
                "from_chat_id": source.chat_id,
                "message_id": source.message_id,
                "caption": caption,
            }
            return "caption", [row("copyMessage", payload, key, purpose)]
    copy_base = {k: v for k, v in base.items() if k not in ("parse_mode",)}
    copy_base.pop("reply_parameters", None)  # the head message already replies where it should
    copy = {**copy_base, "from_chat_id": source.chat_id, "message_id": source.message_id}
    return "split", [
        row("sendMessage", {**with_markup, "text": head}, key, purpose),
        row("copyMessage", copy, f"{key}:copy", copy_purpose),
    ]


async def _write(session: AsyncSession, rows: list[NewMessage]) -> None:
    """Queue the rows one by one, in order (same chat, same priority: sent in this order)."""
    for message in rows:
        await outbox.enqueue(
            session,
            chat_id=message.chat_id,
            method=message.method,
            payload=message.payload,
            dedupe_key=message.dedupe_key,
            purpose=message.purpose,
            ref_id=message.ref_id,
            priority=message.priority,
        )


def _thread_base(thread_id: int | None, reply_to: int | None = None) -> dict[str, Any]:
    base: dict[str, Any] = {"parse_mode": "HTML"}
    if thread_id is not None:
        base["message_thread_id"] = thread_id
    if reply_to is not None:
        base["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return base


def _content(post: QuestionPost) -> Content:
    return Content(post.kind, post.text, post.source_chat_id, post.source_message_id)


async def _asker_of(session: AsyncSession, ticket: QuestionTicket) -> Participant | None:
    return await session.get(Participant, ticket.asker_id) if ticket.asker_id is not None else None


# -- queueing ----------------------------------------------------------------------------------------


def relay_key(ticket: QuestionTicket, chat_id: int) -> str:
    """The dedupe key of the ticket's relay (one per attempt, so a retry is a new row)."""
    return f"q:relay:{ticket.id}:{chat_id}:{ticket.relay_attempt}"


async def enqueue_relay(
    session: AsyncSession,
    event: EventConfig,
    texts: Texts,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant | None,
    thread_id: int | None,
) -> bool:
    """Queue the ticket's message in the staff group; False when there is no staff group."""
    chat_id = event.staff_chat_id
    if chat_id is None:
        return False
    mode, rows = carry(
        chat_id=chat_id,
        head=staff_header(event, texts, ticket, asker),
        body=escape(post.text) if post.text else None,
        source=_content(post),
        base=_thread_base(thread_id),
        keyboard=staff_keyboard(texts, event.default_language, ticket),
        key=relay_key(ticket, chat_id),
        purpose=q.PURPOSE_RELAY,
        copy_purpose=q.PURPOSE_RELAY_COPY,
        ref_id=ticket.id,
        priority=PRIORITY_RELAY,
    )
    await _write(session, rows)
    ticket.header_mode = mode
    ticket.staff_chat_id = chat_id
    ticket.staff_thread_id = thread_id
    return True


async def queued_relay_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these relay keys are already in the outbox."""
    if not keys:
        return set()
    found = await session.scalars(
        select(OutgoingMessage.dedupe_key).where(OutgoingMessage.dedupe_key.in_(keys))
    )
    return set(found)


async def repair_staff_message(session: AsyncSession, ticket: QuestionTicket) -> None:
    """Fill in the ticket's staff message from the outbox if its result hook was missed."""
    if ticket.staff_message_id is None:
        ticket.staff_message_id = await q.staff_message_from_outbox(session, ticket)


async def enqueue_header_edit(
    session: AsyncSession, event: EventConfig, texts: Texts, ticket: QuestionTicket
) -> None:
    """Show the ticket's new state (claimed, answered, resolved) on its staff message."""
    await repair_staff_message(session, ticket)
    if ticket.staff_message_id is None or ticket.staff_chat_id is None or ticket.erased:
        return
    head = staff_header(event, texts, ticket, await _asker_of(session, ticket))
    keyboard = staff_keyboard(texts, event.default_language, ticket)
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
    event: EventConfig,
    texts: Texts,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant | None,
) -> None:
    """Relay an asker's follow-up as a reply to the ticket's message, in its topic."""
    chat_id = ticket.staff_chat_id or event.staff_chat_id
    if chat_id is None:
        return
    await repair_staff_message(session, ticket)
    lang = event.default_language
    head = texts.text(
        lang, "questions.followup_header", number=ticket.id, who=who(event, texts, ticket, asker, lang)
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
    await _write(session, rows)


async def enqueue_answer(
    session: AsyncSession,
    texts: Texts,
    ticket: QuestionTicket,
    post: QuestionPost,
    asker: Participant,
    *,
    answer_html: str | None,
    reply_to: int | None,
) -> None:
    """Deliver a facilitator's answer to the asker, with the facilitator's first name."""
    head = texts.text(
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
    await _write(session, rows)


async def enqueue_staff_notice(
    session: AsyncSession,
    event: EventConfig,
    ticket: QuestionTicket,
    body: str,
    *,
    key: str,
    reply_to: int | None = None,
) -> None:
    """A notice about a ticket in the staff group, replying to the ticket's message by default."""
    chat_id = ticket.staff_chat_id or event.staff_chat_id
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


# -- the sender's result hooks: the mapping and delivery failures ----------------------------------


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
        dedupe_key=f"{row.dedupe_key}:general"[: outbox.DEDUPE_KEY_MAX],
        purpose=row.purpose,
        ref_id=row.ref_id,
        priority=row.priority,
    )
    return True


def _failed(row: OutgoingMessage) -> bool:
    return row.state in (OutboxState.FAILED, OutboxState.BLOCKED)


async def on_relay_result(session: AsyncSession, row: OutgoingMessage, *, header: bool) -> None:
    """A ticket's message (`header`) or the copy after it was sent, or refused, in the staff group."""
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
    if _failed(row):
        if await _retry_without_thread(session, row):
            if header:
                ticket.staff_thread_id = None
            return
        if header:
            # Recorded, not relayed: retried at the next start once the staff group works.
            ticket.relay_failed = True
            log.warning("questions: ticket %d could not be relayed (%s)", ticket.id, row.last_error)


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


async def on_followup_result(session: AsyncSession, row: OutgoingMessage) -> None:
    """An asker's follow-up was sent to the staff group (mapped), or refused."""
    post = await _link_sent_post(session, row, q.LinkKind.RELAY)
    if post is None:
        return
    if _failed(row) and not await _retry_without_thread(session, row):
        log.warning("questions: follow-up %d of ticket %d not relayed", post.id, post.ticket_id)


async def on_answer_result(
    session: AsyncSession, row: OutgoingMessage, event: EventConfig, texts: Texts
) -> None:
    """An answer reached the asker (mapped), or did not: the facilitator is told, under their answer."""
    post = await _link_sent_post(session, row, q.LinkKind.DELIVERY)
    if post is None or not _failed(row):
        return
    ticket = await session.get(QuestionTicket, post.ticket_id)
    if ticket is None:
        return
    key = "questions.asker_blocked" if row.state is OutboxState.BLOCKED else "questions.delivery_failed"
    await enqueue_staff_notice(
        session,
        event,
        ticket,
        texts.text(event.default_language, key, number=ticket.id),
        key=f"q:undelivered:{post.id}",
        reply_to=post.source_message_id,
    )


async def on_notice_result(session: AsyncSession, row: OutgoingMessage) -> None:
    """A notice about a ticket was sent to the staff group: replying to it reaches the asker too."""
    if row.state is not OutboxState.SENT or row.sent_message_id is None or row.ref_id is None:
        return
    if await session.get(QuestionTicket, row.ref_id) is None:
        return
    await q.link_message(
        session,
        chat_id=row.chat_id,
        message_id=row.sent_message_id,
        ticket_id=row.ref_id,
        kind=q.LinkKind.NOTICE,
    )
