"""A message typed straight into the chat by a registered person ("Où sont les toilettes svp ?").

Most people ask like this rather than through "Ask a question". The bot answers from the FAQ when
an entry matches (`models.faq`, a rule a person can follow) and says that it did, with one tap to
send the message to the team anyway; otherwise it offers, in one tap, to send it to the team as a
question. The text waits in the database (`models.pending_questions`) until the tap, so a restart
in between loses nothing; /mydata shows it and /forget erases it.

Reached from the free-message router's fallback (`handlers.registration.answer_unrouted`), i.e.
only when nothing else waits for a text from the person.

Callback data: `qd:send:<pending id>`, `qd:keep:<pending id>`; an older offer's buttons (a newer
message replaced it, or it was sent) are refused as stale.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler

from bot.context import HackbotContext
from handlers.common import (
    active_participant,
    button_args,
    callback_data,
    edit_pressed_message,
    label,
    on_button,
    refuse_stale_button,
    text,
)
from handlers.menu import menu_keyboard
from handlers.questions.views import refusal_text
from models import faq, pending_questions
from models import questions as q
from models.participant import Participant
from schedule.questions import resolve_thread, runtime

log = logging.getLogger(__name__)

FEATURE = "qd"
QUOTE_MAX = 300
"""The offer quotes the message (so the person sees what would be sent), cut at this length."""


def _quote(typed: str) -> str:
    return typed if len(typed) <= QUOTE_MAX else typed[: QUOTE_MAX - 1].rstrip() + "…"


def _button(
    context: HackbotContext, lang: str, key: str, action: str, pending_id: int
) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label(context, lang, key), callback_data=callback_data(FEATURE, action, pending_id)
    )


async def answer_typed(update: Update, context: HackbotContext, participant: Participant) -> None:
    """Answer from the FAQ, or offer to send the message to the team; keep the text until the tap."""
    message = update.effective_message
    assert message is not None
    services, lang = context.services, participant.language
    typed = (message.text or "").strip()
    if not typed:
        # A photo, a sticker, a voice note: "Ask a question" takes those, with its prompt.
        await message.reply_text(
            text(context, lang, "faq.offer_other"), reply_markup=menu_keyboard(services.catalog, lang)
        )
        return
    if not faq.words(typed):
        # "merci", "ok", "👍": nothing to answer and nothing worth sending to the team.
        await message.reply_text(
            text(context, lang, "faq.nothing_to_send"), reply_markup=menu_keyboard(services.catalog, lang)
        )
        return
    event = services.event
    match = faq.best_match(event.faq, typed, event.languages)
    async with services.db.transaction() as session:
        pending_id = await pending_questions.keep_typed(
            session,
            participant.id,
            typed,
            chat_id=message.chat_id,
            message_id=message.message_id,
            now=services.now(),
        )
    if match is not None:
        log.info("free text: answered from FAQ entry %s (score %d)", match.entry.id, match.score)
        default = event.default_language
        body = text(
            context,
            lang,
            "faq.from_faq",
            question=match.entry.question.get(lang, default),
            answer=match.entry.answer.get(lang, default),
        )
        keyboard = InlineKeyboardMarkup([[_button(context, lang, "faq.send_anyway", "send", pending_id)]])
    else:
        body = text(context, lang, "faq.offer", text=_quote(typed))
        keyboard = InlineKeyboardMarkup(
            [
                [_button(context, lang, "faq.send", "send", pending_id)],
                [_button(context, lang, "faq.keep", "keep", pending_id)],
            ]
        )
    await message.reply_text(body, reply_markup=keyboard)


async def _send(update: Update, context: HackbotContext) -> None:
    """The "send it to the team" button: the kept text becomes a question, like "Ask a question"."""
    query = update.callback_query
    participant = await active_participant(update, context)
    if participant is None or query is None or not isinstance(query.message, Message):
        return
    (pending_id,) = button_args(context)
    services, lang = context.services, participant.language
    async with services.db.read() as session:
        waiting = await pending_questions.typed(session, participant.id, int(pending_id))
        challenge_id = await q.asker_challenge(session, participant)
    if waiting is None:
        await refuse_stale_button(update, context)
        return
    # The challenge's forum topic may have to be created (a Telegram request): before the write.
    thread_id = await resolve_thread(context.bot, services, challenge_id)
    limit = runtime(services).limit
    async with services.db.transaction() as session:
        sent = await pending_questions.send_typed(
            session,
            telegram_id=participant.telegram_id,
            pending_id=int(pending_id),
            challenge_id=challenge_id,
            thread_id=thread_id,
            now=services.now(),
            limit=limit,
            event=services.event,
            texts=services.catalog,
        )
    if sent is None:
        await refuse_stale_button(update, context)
        return
    relayed = sent.relayed
    if relayed.refused is not None:
        await query.answer()
        await context.bot.send_message(participant.telegram_id, refusal_text(services, lang, relayed, limit))
        return
    await query.answer()
    services.wake_sender()
    log.info(
        "questions: ticket %d opened from a typed message by participant %d",
        relayed.ticket_id,
        relayed.asker_id,
    )
    # The offer keeps its text (an FAQ answer stays readable) and loses its buttons.
    await edit_pressed_message(update, query.message.text_html)
    ack = await context.bot.send_message(
        participant.telegram_id, text(context, lang, "questions.received", number=relayed.ticket_id)
    )
    # Replying to the acknowledgement adds to the question, as after "Ask a question".
    async with services.db.transaction() as session:
        await q.link_message(
            session,
            chat_id=ack.chat_id,
            message_id=ack.message_id,
            ticket_id=relayed.ticket_id,
            kind=q.LinkKind.ACK,
            post_id=relayed.post_id,
        )


async def _keep(update: Update, context: HackbotContext) -> None:
    """The "no thanks" button: the kept text is forgotten."""
    participant = await active_participant(update, context)
    if participant is None or update.callback_query is None:
        return
    (pending_id,) = button_args(context)
    async with context.services.db.transaction() as session:
        dropped = await pending_questions.drop_typed(session, participant.id, int(pending_id))
    if not dropped:
        await refuse_stale_button(update, context)
        return
    await update.callback_query.answer()
    await edit_pressed_message(update, text(context, participant.language, "faq.kept"))


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The offer's buttons (the typed message itself reaches `answer_typed` through the router)."""
    return [
        on_button(FEATURE, "send", _send, r"\d{1,18}"),
        on_button(FEATURE, "keep", _keep, r"\d{1,18}"),
    ]
