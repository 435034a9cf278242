"""Pure rendering of the question relay's replies: texts and keyboards, no database, no sending."""

from __future__ import annotations

import html
import re
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import Services
from bot.display import hhmm
from bot.i18n import Catalog
from handlers.common import callback_data
from models import question_flows as flows
from models import question_relay as relay
from models.questions import ClaimOutcome

_TAGS = re.compile(r"<[^>]+>")

FEATURE = "q"


def plain(rendered: str) -> str:
    """A catalog text for places without HTML parsing (callback query answers)."""
    return html.unescape(_TAGS.sub("", rendered))


def staff_text(services: Services, key: str, /, **params: object) -> str:
    """A text for the staff group, in the event's default language."""
    return services.catalog.text(services.event.default_language, key, **params)


def prompt_keyboard(catalog: Catalog, lang: str, *, anonymous: bool) -> InlineKeyboardMarkup:
    """Under "write your question": with or without my name, and cancel."""
    toggle = (
        InlineKeyboardButton(
            catalog.label(lang, "questions.button_named"), callback_data=callback_data(FEATURE, "named")
        )
        if anonymous
        else InlineKeyboardButton(
            catalog.label(lang, "questions.button_anonymous"), callback_data=callback_data(FEATURE, "anon")
        )
    )
    cancel = InlineKeyboardButton(
        catalog.label(lang, "questions.button_cancel"), callback_data=callback_data(FEATURE, "cancel")
    )
    return InlineKeyboardMarkup([[toggle], [cancel]])


def refusal_text(services: Services, lang: str, result: flows.Relayed, limit: flows.RateLimit) -> str:
    """Why a message was not relayed (paused by an organiser, or too many at once)."""
    if result.refused is flows.Refused.MUTED and result.muted_until is not None:
        return services.catalog.text(lang, "questions.muted", until=hhmm(services.event, result.muted_until))
    return services.catalog.text(lang, "questions.too_many", minutes=int(limit.window.total_seconds() // 60))


def claim_answer(services: Services, claimed: flows.Claimed) -> tuple[str, bool]:
    """The toast after "I'll take it" (and whether it is an alert)."""
    number = claimed.ticket_id
    if claimed.outcome is ClaimOutcome.CLAIMED:
        return staff_text(services, "questions.claimed_ok", number=number), False
    if claimed.outcome is ClaimOutcome.ALREADY_YOURS:
        return staff_text(services, "questions.already_yours", number=number), False
    if claimed.outcome is ClaimOutcome.TAKEN:
        return staff_text(services, "questions.taken", name=claimed.holder, number=number), True
    return staff_text(services, "questions.ticket_closed_alert", number=number), True


def waiting_list(services: Services, waiting: flows.WaitingList, now: datetime) -> str:
    """/questions: the waiting tickets, how long each has waited, who asks and who has it."""
    if not waiting.tickets:
        return staff_text(services, "questions.list_empty")
    event, catalog = services.event, services.catalog
    lang = event.default_language
    lines = [staff_text(services, "questions.list_title", count=waiting.total)]
    for ticket, asker in waiting.tickets:
        minutes = max(0, int((now - ticket.waiting_since).total_seconds() // 60))
        lines.append(
            catalog.text(
                lang,
                "questions.list_item",
                number=ticket.id,
                minutes=minutes,
                who=relay.who(event, catalog, ticket, asker, lang),
                state=relay.state_line(catalog, ticket, lang),
            )
        )
    if waiting.total > len(waiting.tickets):
        lines.append(staff_text(services, "questions.list_more", count=waiting.total - len(waiting.tickets)))
    return "\n".join(lines)
