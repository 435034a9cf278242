"""Challenges and teams: the list, the cards, joining and switching, the team page, organisers' tools.

Thin handlers: parse the update, call one function of `models.challenges`, render with the catalog.

Callback data (ASCII, at most 47 bytes with 20-character challenge ids):
`ch:list`, `ch:team`, `ch:card:<id>`, `ch:join:<id>` (join, or the waiting list when full),
`ch:sw:<from>:<to>` (confirmed "leave X and join Y"), `ch:leave:<id>` (asks), `ch:leaveok:<id>`,
`ch:unwait:<id>`. Anything else starting with `ch:` is refused as stale, and so is a challenge id
that the event file does not (or no longer) have.

Commands: `/defis` and the "My challenge" menu button (the list), `/monequipe` (a facilitator's
roster, or a participant's team page); organisers only: `/equipes`, `/ouvrir_equipes`,
`/fermer_equipes`, `/deplacer <telegram id or name> <challenge>`, `/capacite <challenge> <n>`.

People who did not act themselves (promoted from the waiting list, moved by an organiser, their
challenge removed) are told through the outbox: the domain writes `ChallengeNotice` rows in the
same transaction as the change, and `queue_notices` turns them into outbox messages, in the
same transaction when the change is ours, or within seconds from a periodic job otherwise
(`/forget` frees a place through an erasure hook, in a transaction this module does not own).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotApplication, HackbotContext, Services
from bot.i18n import Catalog, Markup, escape
from handlers.common import active_participant, label, language_for, refuse_stale_button, text
from handlers.menu import menu_button
from handlers.registration import role_label
from models import challenges as ch
from models import outbox, registration
from models.outbox import OutboxMethod
from models.participant import Participant
from schedule.config import EventConfig

log = logging.getLogger(__name__)

NOTICE_PURPOSE = "challenges"
NOTICE_INTERVAL_SECONDS = 2.0
TEXT_LIMIT = 4096
TOAST_LIMIT = 200
# The extras keys: the event the database was last aligned with, and the lock around aligning.
_SYNCED_KEY = "challenges.synced_event"
_SYNC_LOCK_KEY = "challenges.sync_lock"

_ID = r"[a-z0-9][a-z0-9-]{0,19}"
_CALLBACK = re.compile(rf"^ch:(?P<action>[a-z]+)(?::(?P<a>{_ID}))?(?::(?P<b>{_ID}))?$")


# ---- small helpers -------------------------------------------------------------------------------


def _facilitator_names(event: EventConfig, challenge_id: str) -> list[str]:
    return [f.name for f in event.facilitators_for(challenge_id)]


def _places(context: HackbotContext, lang: str, counts: ch.ChallengeCounts) -> str:
    places = text(context, lang, "challenges.places", members=counts.members, count=counts.capacity)
    if counts.is_full:
        places += " · " + text(context, lang, "challenges.full")
    return places


def _date_time(event: EventConfig, at: datetime) -> dict[str, str]:
    local = event.local(at)
    return {"date": local.strftime("%d/%m"), "time": local.strftime("%H:%M")}


@dataclass(frozen=True)
class _Phrase:
    """A catalog key and its parameters, rendered as HTML for a message or plain for a callback answer."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def html(self, context: HackbotContext, lang: str) -> str:
        return text(context, lang, self.key, **self.params)

    def toast(self, context: HackbotContext, lang: str) -> str:
        """Plain text (callback answers are never parsed as HTML), within Telegram's 200 characters."""
        plain = label(context, lang, self.key, **self.params)
        return plain if len(plain) <= TOAST_LIMIT else plain[: TOAST_LIMIT - 1] + "…"


def _picking_refusal(event: EventConfig, status: ch.PickingStatus) -> _Phrase:
    """Why joining is not possible now (picking closed), in one short sentence."""
    if status.reason is ch.PickingReason.NOT_YET:
        return _Phrase("challenges.picking_not_yet", dict(_date_time(event, status.opens_at)))
    if status.reason is ch.PickingReason.OVER:
        return _Phrase("challenges.picking_over")
    return _Phrase("challenges.picking_closed")


def _button(text_: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text_, callback_data=data)


async def _edit(update: Update, new_text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Show the new state in the message that carried the pressed button."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(new_text, reply_markup=keyboard)
    except BadRequest as exc:  # "message is not modified" after a double tap, or a too old message
        log.info("update %s: edit skipped (%s)", update.update_id, exc.message)


# ---- keeping the database in line with the event file, and the notices ---------------------------


def _configured(event: EventConfig) -> list[ch.ConfiguredChallenge]:
    return [
        ch.ConfiguredChallenge(c.id, c.capacity, c.title.get(event.default_language, event.default_language))
        for c in event.challenges
    ]


async def ensure_synced(services: Services) -> None:
    """Align the challenge rows with the event in force (at start, and after the file is reloaded)."""
    event = services.event
    if services.extras.get(_SYNCED_KEY) is event:
        return
    lock = services.extras.setdefault(_SYNC_LOCK_KEY, asyncio.Lock())
    async with lock:
        if services.extras.get(_SYNCED_KEY) is event:
            return
        async with services.db.transaction() as session:
            told = await ch.sync_challenges(session, _configured(event), services.now())
            queued = await queue_notices(session, services)
        services.extras[_SYNCED_KEY] = event
    if told or queued:
        log.info("challenges synced with the event file: %d notice(s) queued", queued)
        services.wake_sender()


def _notice_text(services: Services, notice: ch.PendingNotice, titles: dict[str, str]) -> tuple[str, str]:
    """The message for a notice and the label of the button under it."""
    catalog = services.catalog
    lang = notice.language
    event = services.event

    def title_of(challenge_id: str) -> str:
        if event.challenge(challenge_id) is not None:
            return ch.challenge_title(event, lang, challenge_id)
        return titles.get(challenge_id) or challenge_id

    title = title_of(notice.challenge_id)
    previous = title_of(notice.previous_challenge_id) if notice.previous_challenge_id else None
    if notice.kind in (ch.NoticeKind.PROMOTED, ch.NoticeKind.MOVED):
        key = f"challenges.notice_{notice.kind.value}" + ("_from" if previous else "")
        return catalog.text(lang, key, title=title, previous=previous or ""), catalog.label(
            lang, "challenges.button_my_team"
        )
    return catalog.text(lang, f"challenges.notice_{notice.kind.value}", title=title), catalog.label(
        lang, "challenges.button_see_challenges"
    )


async def queue_notices(session: AsyncSession, services: Services) -> int:
    """Turn pending notices into outbox messages, in the caller's unit of work; returns how many."""
    notices = await ch.take_notices(session)
    if not notices:
        return 0
    titles = await ch.stored_titles(session, [n.challenge_id for n in notices])
    for notice in notices:
        message, button = _notice_text(services, notice, titles)
        callback = "ch:team" if notice.kind in (ch.NoticeKind.PROMOTED, ch.NoticeKind.MOVED) else "ch:list"
        await outbox.enqueue(
            session,
            chat_id=notice.telegram_id,
            method=OutboxMethod.SEND_MESSAGE.value,
            payload={
                "text": message,
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": [[{"text": button, "callback_data": callback}]]},
            },
            dedupe_key=f"ch:notice:{notice.id}",
            purpose=NOTICE_PURPOSE,
            priority=1,  # someone just got (or lost) a place: before broadcasts
        )
    return len(notices)


async def _queue_pending_notices(services: Services) -> None:
    async with services.db.read() as session:
        if not await ch.has_notices(session):
            return
    async with services.db.transaction() as session:
        queued = await queue_notices(session, services)
    if queued:
        services.wake_sender()


async def _deliver_notices_job(context: HackbotContext) -> None:
    """Periodic: follow a reloaded event file; queue notices of transactions that are not ours.

    A place freed by `/forget` is given away inside the erasure transaction of the profile feature.
    """
    await ensure_synced(context.services)
    await _queue_pending_notices(context.services)


async def start_challenges(application: HackbotApplication) -> None:
    """Align the database with the event file, queue leftover notices, start the notice job."""
    services = application.bot_data.services
    await ensure_synced(services)
    await _queue_pending_notices(services)
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            _deliver_notices_job,
            interval=NOTICE_INTERVAL_SECONDS,
            first=NOTICE_INTERVAL_SECONDS,
            name="challenges-notices",
        )
    else:  # pragma: no cover - the job-queue extra is a dependency
        log.warning("no job queue: notices after /forget wait for the next team change")


# ---- rendering -----------------------------------------------------------------------------------


def _list_view(
    context: HackbotContext,
    lang: str,
    all_counts: dict[str, ch.ChallengeCounts],
    person: ch.PersonStatus,
) -> tuple[str, InlineKeyboardMarkup]:
    """The list of challenges: title, pitch, facilitators, places; one button per challenge."""
    event = context.services.event
    default = event.default_language
    header = [text(context, lang, "challenges.list_title")]
    if person.challenge_id is not None:
        header.append(
            text(
                context,
                lang,
                "challenges.list_your_team",
                title=ch.challenge_title(event, lang, person.challenge_id),
            )
        )
    if person.waiting_for is not None:
        header.append(
            text(
                context,
                lang,
                "challenges.list_your_wait",
                title=ch.challenge_title(event, lang, person.waiting_for),
                position=person.position,
            )
        )
    full_items, short_items, buttons = [], [], []
    if person.challenge_id is not None:
        buttons.append([_button(label(context, lang, "challenges.button_my_team"), "ch:team")])
    for challenge in event.challenges:
        counts = all_counts.get(challenge.id) or ch.ChallengeCounts(
            challenge.id, 0, challenge.capacity, challenge.capacity, 0, False
        )
        title = challenge.title.get(lang, default)
        names = _facilitator_names(event, challenge.id)
        places = _places(context, lang, counts)
        full_items.append(
            text(
                context,
                lang,
                "challenges.list_item",
                title=title,
                pitch=challenge.pitch.get(lang, default),
                facilitators=", ".join(names) if names else text(context, lang, "challenges.no_facilitator"),
                places=Markup(places),
            )
        )
        short_items.append(
            text(context, lang, "challenges.list_item_short", title=title, places=Markup(places))
        )
        key = "button_challenge_mine" if challenge.id == person.challenge_id else "button_challenge"
        buttons.append(
            [
                _button(
                    label(
                        context,
                        lang,
                        f"challenges.{key}",
                        title=title,
                        members=counts.members,
                        capacity=counts.capacity,
                    ),
                    f"ch:card:{challenge.id}",
                )
            ]
        )
    body = "\n\n".join([*header, *full_items])
    if outbox.telegram_length(body, "HTML") > TEXT_LIMIT:
        # Many challenges with long pitches: the pitches move to the cards.
        body = "\n\n".join([*header, "\n".join(short_items)])
    return body, InlineKeyboardMarkup(buttons)


def _card_view(
    context: HackbotContext,
    lang: str,
    challenge_id: str,
    counts: ch.ChallengeCounts,
    person: ch.PersonStatus,
    picking: ch.PickingStatus,
    note: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """One challenge: pitch, facilitators, place, fill level, the person's status, the right buttons."""
    event = context.services.event
    default = event.default_language
    challenge = event.challenge(challenge_id)
    assert challenge is not None
    parts = [
        text(context, lang, "challenges.card_title", title=challenge.title.get(lang, default)),
        escape(challenge.pitch.get(lang, default)),
    ]
    details = []
    names = _facilitator_names(event, challenge_id)
    details.append(
        text(
            context,
            lang,
            "challenges.card_facilitators",
            names=", ".join(names) if names else text(context, lang, "challenges.no_facilitator"),
        )
    )
    if challenge.place is not None:
        details.append(text(context, lang, "challenges.card_place", place=challenge.place.get(lang, default)))
    details.append(
        text(context, lang, "challenges.card_places", places=Markup(_places(context, lang, counts)))
    )
    if counts.waiting:
        details.append(text(context, lang, "challenges.card_waiting", count=counts.waiting))
    parts.append("\n".join(details))

    status_lines = []
    buttons: list[list[InlineKeyboardButton]] = []
    is_member = person.challenge_id == challenge_id
    is_waiting = person.waiting_for == challenge_id
    if is_member:
        status_lines.append(text(context, lang, "challenges.card_member"))
        buttons.append([_button(label(context, lang, "challenges.button_my_team"), "ch:team")])
        if picking.is_open and event.team_picking.allow_changes:
            buttons.append(
                [_button(label(context, lang, "challenges.button_leave"), f"ch:leave:{challenge_id}")]
            )
    elif is_waiting:
        status_lines.append(text(context, lang, "challenges.card_waiting_you", position=person.position))
        buttons.append(
            [_button(label(context, lang, "challenges.button_unwait"), f"ch:unwait:{challenge_id}")]
        )
    else:
        if person.challenge_id is not None:
            status_lines.append(
                text(
                    context,
                    lang,
                    "challenges.card_other_team",
                    title=ch.challenge_title(event, lang, person.challenge_id),
                )
            )
        if not picking.is_open:
            status_lines.append(_picking_refusal(event, picking).html(context, lang))
        elif counts.is_full:
            status_lines.append(text(context, lang, "challenges.card_full"))
        if picking.is_open:
            if person.challenge_id is not None:
                key = "button_switch"
            elif counts.is_full:
                key = "button_wait"
            else:
                key = "button_join"
            buttons.append([_button(label(context, lang, f"challenges.{key}"), f"ch:join:{challenge_id}")])
    if status_lines:
        parts.append("\n".join(status_lines))
    if note:
        parts.append(note)
    buttons.append([_button(label(context, lang, "challenges.button_all"), "ch:list")])
    return "\n\n".join(parts), InlineKeyboardMarkup(buttons)


def _member_lines(context: HackbotContext, lang: str, members: Sequence[ch.TeamMember]) -> list[str]:
    """First names (as the people chose them) and roles; never usernames."""
    if not members:
        return [text(context, lang, "challenges.team_empty")]
    return [
        text(
            context,
            lang,
            "challenges.team_member",
            name=m.display_name,
            role=role_label(context, lang, m.role),
        )
        for m in members
    ]


def _team_view(
    context: HackbotContext,
    lang: str,
    challenge_id: str,
    counts: ch.ChallengeCounts,
    members: Sequence[ch.TeamMember],
) -> tuple[str, InlineKeyboardMarkup]:
    """The person's team page: challenge, facilitators, meeting place, members."""
    event = context.services.event
    challenge = event.challenge(challenge_id)
    assert challenge is not None
    names = _facilitator_names(event, challenge_id)
    head = [
        text(context, lang, "challenges.team_title", title=ch.challenge_title(event, lang, challenge_id)),
        text(
            context,
            lang,
            "challenges.card_facilitators",
            names=", ".join(names) if names else text(context, lang, "challenges.no_facilitator"),
        ),
    ]
    if challenge.place is not None:
        head.append(
            text(
                context,
                lang,
                "challenges.card_place",
                place=challenge.place.get(lang, event.default_language),
            )
        )
    head.append(text(context, lang, "challenges.card_places", places=Markup(_places(context, lang, counts))))
    body = [
        text(context, lang, "challenges.team_members", count=len(members)),
        *_member_lines(context, lang, members),
    ]
    keyboard = InlineKeyboardMarkup(
        [
            [_button(label(context, lang, "challenges.button_all"), "ch:list")],
        ]
    )
    return "\n".join(head) + "\n\n" + "\n".join(body), keyboard


def _result_phrase(event: EventConfig, lang: str, result: ch.JoinResult) -> _Phrase:
    title = ch.challenge_title(event, lang, result.challenge_id)
    previous = ch.challenge_title(event, lang, result.previous) if result.previous else ""
    outcome = result.outcome
    if outcome is ch.JoinOutcome.JOINED:
        return _Phrase("challenges.joined", {"title": title})
    if outcome is ch.JoinOutcome.SWITCHED:
        return _Phrase("challenges.switched", {"title": title, "previous": previous})
    if outcome is ch.JoinOutcome.WAITLISTED:
        key = "challenges.waitlisted_keep" if result.previous else "challenges.waitlisted"
        return _Phrase(key, {"title": title, "previous": previous, "position": result.position})
    if outcome is ch.JoinOutcome.ALREADY_WAITING:
        return _Phrase("challenges.already_waiting", {"position": result.position})
    return _Phrase("challenges.already_member")


# ---- participants: list, card, team -------------------------------------------------------------


async def _show_card(
    update: Update,
    context: HackbotContext,
    participant: Participant,
    challenge_id: str,
    note: str | None = None,
) -> None:
    services = context.services
    async with services.db.read() as session:
        counts = await ch.counts_of(session, challenge_id)
        person = await ch.status_of(session, participant.id)
        picking = await ch.current_picking_status(session, services.event.team_picking_window, services.now())
    if counts is None:  # pragma: no cover - ensure_synced created it
        return
    body, keyboard = _card_view(context, participant.language, challenge_id, counts, person, picking, note)
    await _edit(update, body, keyboard)


async def _list_message(
    context: HackbotContext, participant: Participant
) -> tuple[str, InlineKeyboardMarkup]:
    async with context.services.db.read() as session:
        counts = await ch.all_counts(session)
        person = await ch.status_of(session, participant.id)
    return _list_view(context, participant.language, counts, person)


async def _team_message(
    context: HackbotContext, participant: Participant
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The team page, or None when the person has no team."""
    async with context.services.db.read() as session:
        person = await ch.status_of(session, participant.id)
        if person.challenge_id is None or context.services.event.challenge(person.challenge_id) is None:
            return None
        counts = await ch.counts_of(session, person.challenge_id)
        members = await ch.members_of(session, person.challenge_id)
    assert counts is not None
    return _team_view(context, participant.language, person.challenge_id, counts, members)


def _no_team_view(context: HackbotContext, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    return text(context, lang, "challenges.no_team"), InlineKeyboardMarkup(
        [[_button(label(context, lang, "challenges.button_see_challenges"), "ch:list")]]
    )


async def show_challenges(update: Update, context: HackbotContext) -> None:
    """/defis and the "My challenge" button: every challenge, how full it is, a button each."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    await ensure_synced(context.services)
    body, keyboard = await _list_message(context, participant)
    await message.reply_text(body, reply_markup=keyboard)


async def _answer(update: Update, context: HackbotContext, lang: str, phrase: _Phrase | None = None) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(phrase.toast(context, lang) if phrase is not None else None)


def _closed_phrase(event: EventConfig, picking: ch.PickingStatus) -> _Phrase:
    """Why a team change is refused: picking closed, or changes not allowed by the event."""
    if not picking.is_open:
        return _picking_refusal(event, picking)
    return _Phrase("challenges.changes_not_allowed")


async def _join(update: Update, context: HackbotContext, participant: Participant, challenge_id: str) -> None:
    services = context.services
    event = services.event
    lang = participant.language
    now = services.now()
    async with services.db.transaction() as session:
        picking = await ch.current_picking_status(session, event.team_picking_window, now)
        result = await ch.join(session, participant.id, challenge_id, now) if picking.is_open else None
    if result is None:
        await _answer(update, context, lang, _picking_refusal(event, picking))
        await _show_card(update, context, participant, challenge_id)
        return
    if result.outcome is ch.JoinOutcome.UNKNOWN:
        await refuse_stale_button(update, context)
        return
    if result.outcome is ch.JoinOutcome.NEEDS_SWITCH:
        assert result.previous is not None
        if not event.team_picking.allow_changes:
            await _answer(update, context, lang, _Phrase("challenges.changes_not_allowed"))
            return
        await _answer(update, context, lang)
        question = text(
            context,
            lang,
            "challenges.confirm_switch",
            title=ch.challenge_title(event, lang, challenge_id),
            previous=ch.challenge_title(event, lang, result.previous),
        )
        keyboard = InlineKeyboardMarkup(
            [
                [
                    _button(
                        label(context, lang, "challenges.button_confirm_switch"),
                        f"ch:sw:{result.previous}:{challenge_id}",
                    )
                ],
                [_button(label(context, lang, "challenges.button_stay"), f"ch:card:{challenge_id}")],
            ]
        )
        await _edit(update, question, keyboard)
        return
    phrase = _result_phrase(event, lang, result)
    await _answer(update, context, lang, phrase)
    await _show_card(update, context, participant, challenge_id, phrase.html(context, lang))


async def _switch(
    update: Update, context: HackbotContext, participant: Participant, from_id: str, to_id: str
) -> None:
    services = context.services
    event = services.event
    lang = participant.language
    now = services.now()
    queued = 0
    result = None
    async with services.db.transaction() as session:
        picking = await ch.current_picking_status(session, event.team_picking_window, now)
        if picking.is_open and event.team_picking.allow_changes:
            result = await ch.switch(session, participant.id, from_id, to_id, now)
            queued = await queue_notices(session, services)
    if queued:
        services.wake_sender()
    if result is None:
        await _answer(update, context, lang, _closed_phrase(event, picking))
        await _show_card(update, context, participant, to_id)
        return
    if result.outcome in (ch.JoinOutcome.STALE, ch.JoinOutcome.UNKNOWN):
        await refuse_stale_button(update, context)
        await _show_card(update, context, participant, to_id)
        return
    phrase = _result_phrase(event, lang, result)
    await _answer(update, context, lang, phrase)
    await _show_card(update, context, participant, to_id, phrase.html(context, lang))


async def _ask_leave(
    update: Update, context: HackbotContext, participant: Participant, challenge_id: str
) -> None:
    lang = participant.language
    async with context.services.db.read() as session:
        person = await ch.status_of(session, participant.id)
    if person.challenge_id != challenge_id:
        await refuse_stale_button(update, context)
        return
    await _answer(update, context, lang)
    keyboard = InlineKeyboardMarkup(
        [
            [_button(label(context, lang, "challenges.button_confirm_leave"), f"ch:leaveok:{challenge_id}")],
            [_button(label(context, lang, "challenges.button_stay"), f"ch:card:{challenge_id}")],
        ]
    )
    title = ch.challenge_title(context.services.event, lang, challenge_id)
    await _edit(update, text(context, lang, "challenges.confirm_leave", title=title), keyboard)


async def _leave(
    update: Update, context: HackbotContext, participant: Participant, challenge_id: str
) -> None:
    services = context.services
    event = services.event
    lang = participant.language
    now = services.now()
    left: bool | None = None
    queued = 0
    async with services.db.transaction() as session:
        picking = await ch.current_picking_status(session, event.team_picking_window, now)
        if picking.is_open and event.team_picking.allow_changes:
            left = await ch.leave(session, participant.id, challenge_id, now)
            queued = await queue_notices(session, services)
    if queued:
        services.wake_sender()
    if left is None:
        await _answer(update, context, lang, _closed_phrase(event, picking))
        await _show_card(update, context, participant, challenge_id)
        return
    if not left:
        await refuse_stale_button(update, context)
        await _show_card(update, context, participant, challenge_id)
        return
    phrase = _Phrase("challenges.left", {"title": ch.challenge_title(event, lang, challenge_id)})
    await _answer(update, context, lang, phrase)
    await _show_card(update, context, participant, challenge_id, phrase.html(context, lang))


async def _unwait(
    update: Update, context: HackbotContext, participant: Participant, challenge_id: str
) -> None:
    lang = participant.language
    async with context.services.db.transaction() as session:
        left = await ch.leave_waitlist(session, participant.id, challenge_id)
    if not left:
        await refuse_stale_button(update, context)
        await _show_card(update, context, participant, challenge_id)
        return
    phrase = _Phrase(
        "challenges.left_waitlist", {"title": ch.challenge_title(context.services.event, lang, challenge_id)}
    )
    await _answer(update, context, lang, phrase)
    await _show_card(update, context, participant, challenge_id, phrase.html(context, lang))


def _valid_callback(event: EventConfig, data: str | None) -> tuple[str, str | None, str | None] | None:
    """Parse `ch:` callback data; None for anything forged, old or about an unknown challenge."""
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    action, a, b = match.group("action"), match.group("a"), match.group("b")
    if action in {"list", "team"} and a is None:
        return action, None, None
    if action in {"card", "join", "leave", "leaveok", "unwait"} and a and b is None and event.challenge(a):
        return action, a, None
    if action == "sw" and a and b and event.challenge(b):
        return action, a, b
    return None


async def on_button(update: Update, context: HackbotContext) -> None:
    """Every `ch:` button."""
    query = update.callback_query
    if query is None:
        return
    parsed = _valid_callback(context.services.event, query.data)
    if parsed is None:
        await refuse_stale_button(update, context)
        return
    participant = await active_participant(update, context)
    if participant is None:
        return
    await ensure_synced(context.services)
    action, a, b = parsed
    lang = participant.language
    if action == "list":
        await query.answer()
        await _edit(update, *await _list_message(context, participant))
    elif action == "team":
        await query.answer()
        view = await _team_message(context, participant)
        await _edit(update, *(view or _no_team_view(context, lang)))
    elif action == "card" and a:
        await query.answer()
        await _show_card(update, context, participant, a)
    elif action == "join" and a:
        await _join(update, context, participant, a)
    elif action == "sw" and a and b:
        await _switch(update, context, participant, a, b)
    elif action == "leave" and a:
        await _ask_leave(update, context, participant, a)
    elif action == "leaveok" and a:
        await _leave(update, context, participant, a)
    elif action == "unwait" and a:
        await _unwait(update, context, participant, a)


# ---- facilitators --------------------------------------------------------------------------------


def facilitated_by(event: EventConfig, telegram_id: int) -> list[str]:
    """Challenge ids whose facilitators (or mentors) include this Telegram user."""
    return [
        c.id
        for c in event.challenges
        if any(f.telegram_id == telegram_id for f in event.facilitators_for(c.id))
    ]


async def show_my_team(update: Update, context: HackbotContext) -> None:
    """/monequipe: a facilitator's roster(s); for a participant, their team page."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = context.services
    event = services.event
    await ensure_synced(services)
    async with services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    lang = language_for(context, update, participant)
    challenge_ids = facilitated_by(event, user.id)
    if challenge_ids:
        for challenge_id in challenge_ids:
            async with services.db.read() as session:
                counts = await ch.counts_of(session, challenge_id)
                members = await ch.members_of(session, challenge_id)
            assert counts is not None
            lines = [
                text(
                    context,
                    lang,
                    "challenges.roster_title",
                    title=ch.challenge_title(event, lang, challenge_id),
                    places=Markup(_places(context, lang, counts)),
                ),
                *_member_lines(context, lang, members),
            ]
            if counts.waiting:
                lines.append(text(context, lang, "challenges.roster_waiting", count=counts.waiting))
            await message.reply_text("\n".join(lines))
        return
    if participant is None or not participant.is_active:
        await message.reply_text(text(context, lang, "challenges.not_facilitator"))
        return
    view = await _team_message(context, participant)
    body, keyboard = view or _no_team_view(context, lang)
    await message.reply_text(body, reply_markup=keyboard)


# ---- organisers ----------------------------------------------------------------------------------


async def _organiser_language(update: Update, context: HackbotContext) -> str | None:
    """The organiser's language, or None after a polite refusal for anyone else."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return None
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    lang = language_for(context, update, participant)
    if not context.services.event.is_organiser(user.id):
        log.info("update %s: organiser command refused", update.update_id)
        await message.reply_text(text(context, lang, "common.not_allowed"))
        return None
    return lang


def _picking_state(context: HackbotContext, lang: str, status: ch.PickingStatus) -> str:
    reason = status.reason
    if reason is ch.PickingReason.NOT_YET:
        return text(
            context, lang, "challenges.state_not_yet", **_date_time(context.services.event, status.opens_at)
        )
    key = {
        ch.PickingReason.WINDOW_OPEN: "state_open",
        ch.PickingReason.FORCED_OPEN: "state_open_forced",
        ch.PickingReason.OVER: "state_over",
        ch.PickingReason.FORCED_CLOSED: "state_closed_forced",
    }[reason]
    return text(context, lang, f"challenges.{key}")


def _chunks(parts: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Group paragraphs into messages Telegram accepts."""
    messages: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}\n\n{part}" if current else part
        if current and outbox.telegram_length(candidate, "HTML") > limit:
            messages.append(current)
            current = part
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


async def show_teams(update: Update, context: HackbotContext) -> None:
    """/equipes: every team's size against capacity, roles, waiting list and what looks unbalanced."""
    lang = await _organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    services = context.services
    event = services.event
    await ensure_synced(services)
    async with services.db.read() as session:
        counts = await ch.all_counts(session)
        breakdown = await ch.role_breakdown(session)
        teamless = await ch.teamless_count(session)
        picking = await ch.current_picking_status(session, event.team_picking_window, services.now())
    role_ids = [role.id for role in event.roles]
    parts = [text(context, lang, "challenges.overview_title", state=_picking_state(context, lang, picking))]
    for challenge in event.challenges:
        c = counts[challenge.id]
        roles = breakdown.get(challenge.id) or Counter()
        lines = [
            text(
                context,
                lang,
                "challenges.overview_team",
                title=ch.challenge_title(event, lang, challenge.id),
                id=challenge.id,
                members=c.members,
                capacity=c.capacity,
            )
        ]
        if roles:
            described = ", ".join(
                text(context, lang, "challenges.overview_role", count=n, role=role_label(context, lang, role))
                for role, n in sorted(roles.items(), key=lambda item: (-item[1], str(item[0])))
            )
            lines.append(text(context, lang, "challenges.overview_roles", roles=Markup(described)))
        if c.waiting:
            lines.append(text(context, lang, "challenges.overview_waiting", count=c.waiting))
        flags = ch.balance_flags(c.members, c.capacity, roles, role_ids)
        if flags:
            described = ", ".join(text(context, lang, f"challenges.flag.{flag.value}") for flag in flags)
            lines.append(text(context, lang, "challenges.overview_flags", flags=Markup(described)))
        parts.append("\n".join(lines))
    parts.append(text(context, lang, "challenges.overview_teamless", count=teamless))
    for chunk in _chunks(parts):
        await message.reply_text(chunk)


async def _set_picking(update: Update, context: HackbotContext, override: ch.PickingOverride) -> None:
    lang = await _organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    async with context.services.db.transaction() as session:
        await ch.set_picking_override(session, override, context.services.now())
    log.info("update %s: team picking set %s by an organiser", update.update_id, override.value)
    key = "challenges.opened" if override is ch.PickingOverride.OPEN else "challenges.closed"
    await message.reply_text(text(context, lang, key))


async def open_picking(update: Update, context: HackbotContext) -> None:
    """/ouvrir_equipes: open team picking now, whatever the configured window says."""
    await _set_picking(update, context, ch.PickingOverride.OPEN)


async def close_picking(update: Update, context: HackbotContext) -> None:
    """/fermer_equipes: close team picking now (the cards stay visible)."""
    await _set_picking(update, context, ch.PickingOverride.CLOSED)


def _ids(event: EventConfig) -> str:
    return ", ".join(c.id for c in event.challenges)


async def move_participant(update: Update, context: HackbotContext) -> None:
    """/deplacer <telegram id or name> <challenge>: move someone (they are told)."""
    lang = await _organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    services = context.services
    event = services.event
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(text(context, lang, "challenges.move_usage", ids=_ids(event)))
        return
    query, challenge_id = " ".join(args[:-1]), args[-1].lower()
    if event.challenge(challenge_id) is None:
        await message.reply_text(
            text(context, lang, "challenges.unknown_challenge", id=challenge_id, ids=_ids(event))
        )
        return
    await ensure_synced(services)
    now = services.now()
    queued = 0
    async with services.db.transaction() as session:
        found = await ch.find_participants(session, query)
        outcome: ch.MoveOutcome | None = None
        if len(found) == 1:
            outcome, _ = await ch.move(session, found[0].id, challenge_id, now)
            queued = await queue_notices(session, services)
        counts = await ch.counts_of(session, challenge_id)
    if not found:
        await message.reply_text(text(context, lang, "challenges.move_nobody", query=query))
        return
    if outcome is None:
        lines = [text(context, lang, "challenges.move_ambiguous")] + [
            text(context, lang, "challenges.move_candidate", name=p.display_name, telegram_id=p.telegram_id)
            for p in found
        ]
        await message.reply_text("\n".join(lines))
        return
    if queued:
        services.wake_sender()
    assert counts is not None
    person = found[0]
    title = ch.challenge_title(event, lang, challenge_id)
    if outcome is ch.MoveOutcome.MOVED:
        log.info("update %s: an organiser moved participant %s", update.update_id, person.id)
        reply = text(
            context,
            lang,
            "challenges.moved",
            name=person.display_name,
            title=title,
            members=counts.members,
            capacity=counts.capacity,
        )
    elif outcome is ch.MoveOutcome.FULL:
        reply = text(
            context,
            lang,
            "challenges.move_full",
            title=title,
            members=counts.members,
            capacity=counts.capacity,
            id=challenge_id,
            suggested=counts.members + 1,
        )
    else:
        reply = text(context, lang, "challenges.move_already", name=person.display_name, title=title)
    await message.reply_text(reply)


async def change_capacity(update: Update, context: HackbotContext) -> None:
    """/capacite <challenge> <n>: change a capacity now; nobody is removed when it goes down."""
    lang = await _organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    services = context.services
    event = services.event
    args = context.args or []
    if len(args) != 2 or not args[1].isdigit() or not 1 <= int(args[1]) <= 10_000:
        await message.reply_text(text(context, lang, "challenges.capacity_usage", ids=_ids(event)))
        return
    challenge_id, capacity = args[0].lower(), int(args[1])
    if event.challenge(challenge_id) is None:
        await message.reply_text(
            text(context, lang, "challenges.unknown_challenge", id=challenge_id, ids=_ids(event))
        )
        return
    await ensure_synced(services)
    async with services.db.transaction() as session:
        promoted = await ch.set_capacity(session, challenge_id, capacity, services.now())
        queued = await queue_notices(session, services)
        counts = await ch.counts_of(session, challenge_id)
    if queued:
        services.wake_sender()
    assert counts is not None
    log.info("update %s: capacity of %s set to %d", update.update_id, challenge_id, capacity)
    lines = [
        text(
            context,
            lang,
            "challenges.capacity_set",
            title=ch.challenge_title(event, lang, challenge_id),
            places=Markup(_places(context, lang, counts)),
        )
    ]
    if promoted:
        lines.append(text(context, lang, "challenges.capacity_promoted", count=promoted))
    if counts.members > counts.capacity:
        lines.append(text(context, lang, "challenges.capacity_over", count=counts.members - counts.capacity))
    await message.reply_text("\n".join(lines))


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Challenge handlers: the menu button, the commands, the `ch:` buttons."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "challenge"), show_challenges),
        CommandHandler("defis", show_challenges, filters=private),
        CommandHandler("monequipe", show_my_team, filters=private),
        CommandHandler("equipes", show_teams),
        CommandHandler("ouvrir_equipes", open_picking),
        CommandHandler("fermer_equipes", close_picking),
        CommandHandler("deplacer", move_participant),
        CommandHandler("capacite", change_capacity),
        CallbackQueryHandler(on_button, pattern=r"^ch:"),
    ]
