"""Facilitators and their teams: `/monequipe` shows each team they lead (to a participant: their own)."""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.challenges import views
from handlers.challenges.participants import team_message, voice_for
from handlers.common import language_for
from models import challenges as ch
from schedule.config import EventConfig


def facilitated_by(event: EventConfig, telegram_id: int) -> list[str]:
    """Challenge ids whose facilitators (or mentors) include this Telegram user."""
    return [
        c.id
        for c in event.challenges
        if any(f.telegram_id == telegram_id for f in event.facilitators_for(c.id))
    ]


def roster_text(
    voice: views.Voice, challenge_id: str, counts: ch.ChallengeCounts, members: list[ch.TeamMember]
) -> str:
    """One team for its facilitator: title and places, members with roles, how many wait."""
    lines = [
        voice.text("roster_title", title=voice.title(challenge_id), places=views.places(voice, counts)),
        *views.member_lines(voice, members),
    ]
    if counts.waiting:
        lines.append(voice.text("roster_waiting", count=counts.waiting))
    return "\n".join(lines)


async def show_my_team(update: Update, context: HackbotContext) -> None:
    """/monequipe: a facilitator's roster(s); for a participant, their team page."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    participant = await context.person(user.id)
    voice = voice_for(context, language_for(context, update, participant))
    challenge_ids = facilitated_by(context.services.event, user.id)
    if challenge_ids:
        for challenge_id in challenge_ids:
            async with context.services.db.read() as session:
                counts = await ch.counts_of(session, challenge_id)
                members = await ch.members_of(session, challenge_id)
            assert counts is not None  # the event's challenges are synced at start and on reload
            await message.reply_text(roster_text(voice, challenge_id, counts, members))
        return
    if participant is None or not participant.is_active:
        await message.reply_text(voice.text("not_facilitator"))
        return
    body, keyboard = await team_message(context, participant)
    await message.reply_text(body, reply_markup=keyboard)
