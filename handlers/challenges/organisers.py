"""Organisers and the teams: the overview, opening and closing picking, moves and capacities.

Commands: `/equipes`, `/ouvrir_equipes`, `/fermer_equipes`, `/deplacer <telegram id or name>
<challenge>`, `/capacite <challenge> <n>`.

Every command starts with the one organiser check (`organiser_language`); changes are made by
one call to `models.challenges` in one transaction, which also queues the messages to the people
concerned, and the reply is written from what it returned.
"""

from __future__ import annotations

import logging
from collections import Counter

from telegram import Message, Update

from bot.context import HackbotContext
from bot.display import day_and_time, pack_messages, role_label
from bot.i18n import Markup
from handlers.challenges import views
from handlers.challenges.participants import voice_for
from handlers.common import organiser_language
from models import challenges as ch
from schedule.config import EventConfig

log = logging.getLogger(__name__)

CAPACITY_MAX = 10_000

_STATE_KEYS = {
    ch.PickingReason.WINDOW_OPEN: "state_open",
    ch.PickingReason.FORCED_OPEN: "state_open_forced",
    ch.PickingReason.OVER: "state_over",
    ch.PickingReason.FORCED_CLOSED: "state_closed_forced",
}


def picking_state(voice: views.Voice, picking: ch.PickingStatus) -> str:
    """Whether picking is open, and why, in a few words."""
    if picking.reason is ch.PickingReason.NOT_YET:
        return voice.text("state_not_yet", **day_and_time(voice.event, picking.opens_at))
    return voice.text(_STATE_KEYS[picking.reason])


def overview_messages(voice: views.Voice, teams: ch.TeamsOverview) -> list[str]:
    """`/equipes`: a block per team (size, roles, waiting, what looks unbalanced), packed into messages."""
    event = voice.event
    role_ids = [role.id for role in event.roles]
    blocks = [[voice.text("overview_title", state=picking_state(voice, teams.picking))]]
    for challenge in event.challenges:
        c = teams.counts[challenge.id]
        roles = teams.roles.get(challenge.id) or Counter()
        lines = [
            voice.text(
                "overview_team",
                title=voice.title(challenge.id),
                id=challenge.id,
                members=c.members,
                capacity=c.capacity,
            )
        ]
        if roles:
            described = ", ".join(
                voice.text("overview_role", count=n, role=role_label(voice.catalog, event, voice.lang, role))
                for role, n in sorted(roles.items(), key=lambda item: (-item[1], str(item[0])))
            )
            lines.append(voice.text("overview_roles", roles=Markup(described)))
        if c.waiting:
            lines.append(voice.text("overview_waiting", count=c.waiting))
        flags = ch.balance_flags(c.members, c.capacity, roles, role_ids)
        if flags:
            described = ", ".join(voice.text(f"flag.{flag.value}") for flag in flags)
            lines.append(voice.text("overview_flags", flags=Markup(described)))
        blocks.append(lines)
    blocks.append([voice.text("overview_teamless", count=teams.teamless)])
    return pack_messages(blocks)


async def _organiser(update: Update, context: HackbotContext) -> tuple[Message, views.Voice] | None:
    """Where to reply and in which language, for an organiser; None after refusing anyone else."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return None
    return message, voice_for(context, lang)


async def show_teams(update: Update, context: HackbotContext) -> None:
    """/equipes: every team's size against capacity, roles, waiting list and what looks unbalanced."""
    asked = await _organiser(update, context)
    if asked is None:
        return
    message, voice = asked
    services = context.services
    async with services.db.read() as session:
        teams = await ch.overview(session, services.event.team_picking_window, services.now())
    for chunk in overview_messages(voice, teams):
        await message.reply_text(chunk)


async def _set_picking(update: Update, context: HackbotContext, override: ch.PickingOverride) -> None:
    asked = await _organiser(update, context)
    if asked is None:
        return
    message, voice = asked
    async with context.services.db.transaction() as session:
        await ch.set_picking_override(session, override, context.services.now())
    log.info("update %s: team picking set %s by an organiser", update.update_id, override.value)
    await message.reply_text(voice.text("opened" if override is ch.PickingOverride.OPEN else "closed"))


async def open_picking(update: Update, context: HackbotContext) -> None:
    """/ouvrir_equipes: open team picking now, whatever the configured window says."""
    await _set_picking(update, context, ch.PickingOverride.OPEN)


async def close_picking(update: Update, context: HackbotContext) -> None:
    """/fermer_equipes: close team picking now (the cards stay visible)."""
    await _set_picking(update, context, ch.PickingOverride.CLOSED)


def _ids(event: EventConfig) -> str:
    return ", ".join(c.id for c in event.challenges)


async def _refused_unknown(message: Message, voice: views.Voice, challenge_id: str) -> bool:
    """Answer with the known ids when the event file has no such challenge; True when refused."""
    if voice.event.challenge(challenge_id) is not None:
        return False
    await message.reply_text(voice.text("unknown_challenge", id=challenge_id, ids=_ids(voice.event)))
    return True


def move_reply(voice: views.Voice, query: str, challenge_id: str, moved: ch.MoveResult) -> str:
    """What the organiser is told after `/deplacer`."""
    if moved.outcome is ch.MoveOutcome.NOBODY:
        return voice.text("move_nobody", query=query)
    if moved.outcome is ch.MoveOutcome.AMBIGUOUS:
        lines = [voice.text("move_ambiguous")] + [
            voice.text("move_candidate", name=c.display_name, telegram_id=c.telegram_id)
            for c in moved.candidates
        ]
        return "\n".join(lines)
    counts = moved.counts
    assert counts is not None and moved.candidates  # the challenge is known, one person was found
    name, title = moved.candidates[0].display_name, voice.title(challenge_id)
    if moved.outcome is ch.MoveOutcome.MOVED:
        return voice.text("moved", name=name, title=title, members=counts.members, capacity=counts.capacity)
    if moved.outcome is ch.MoveOutcome.FULL:
        return voice.text(
            "move_full",
            title=title,
            members=counts.members,
            capacity=counts.capacity,
            id=challenge_id,
            suggested=counts.members + 1,
        )
    return voice.text("move_already", name=name, title=title)


async def move_participant(update: Update, context: HackbotContext) -> None:
    """/deplacer <telegram id or name> <challenge>: move someone (they are told)."""
    asked = await _organiser(update, context)
    if asked is None:
        return
    message, voice = asked
    services = context.services
    event = services.event
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(voice.text("move_usage", ids=_ids(event)))
        return
    query, challenge_id = " ".join(args[:-1]), args[-1].lower()
    if await _refused_unknown(message, voice, challenge_id):
        return
    async with services.db.transaction() as session:
        moved = await ch.move_found(
            session, query, challenge_id, services.now(), event=event, texts=services.catalog
        )
    if moved.notified:
        services.wake_sender()
    if moved.outcome is ch.MoveOutcome.MOVED:
        log.info(
            "update %s: an organiser moved participant %s",
            update.update_id,
            moved.candidates[0].participant_id,
        )
    await message.reply_text(move_reply(voice, query, challenge_id, moved))


async def change_capacity(update: Update, context: HackbotContext) -> None:
    """/capacite <challenge> <n>: change a capacity now; nobody is removed when it goes down."""
    asked = await _organiser(update, context)
    if asked is None:
        return
    message, voice = asked
    services = context.services
    event = services.event
    args = context.args or []
    if len(args) != 2 or not args[1].isdigit() or not 1 <= int(args[1]) <= CAPACITY_MAX:
        await message.reply_text(voice.text("capacity_usage", ids=_ids(event)))
        return
    challenge_id, capacity = args[0].lower(), int(args[1])
    if await _refused_unknown(message, voice, challenge_id):
        return
    async with services.db.transaction() as session:
        changed = await ch.set_capacity(
            session, challenge_id, capacity, services.now(), event=event, texts=services.catalog
        )
    if changed is None:  # pragma: no cover - the event's challenges are synced at start and on reload
        return
    if changed.notified:
        services.wake_sender()
    log.info("update %s: capacity of %s set to %d", update.update_id, challenge_id, capacity)
    counts = changed.counts
    lines = [voice.text("capacity_set", title=voice.title(challenge_id), places=views.places(voice, counts))]
    if changed.promoted:
        lines.append(voice.text("capacity_promoted", count=changed.promoted))
    if counts.members > counts.capacity:
        lines.append(voice.text("capacity_over", count=counts.members - counts.capacity))
    await message.reply_text("\n".join(lines))
