"""The public's prize: `/vote` lists the teams but one's own; `rs:vote:<team>` records the vote.

One vote per participant (a database constraint); choosing another team changes it until the
session closes. Every rule is `models.results.vote`'s.
"""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message
from handlers.results import views
from handlers.results.shared import participant_tap, refuse, voice_for
from models import results as rs


async def show_vote(update: Update, context: HackbotContext) -> None:
    """/vote: the teams to vote for, the person's current vote ticked."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    services = context.services
    voice = voice_for(context, participant.language)
    if not services.event.results.public_vote:
        await message.reply_text(voice.refused(rs.Refused(rs.Refusal.NO_PUBLIC_VOTE)))
        return
    async with services.db.read() as session:
        ballot = await rs.ballot(session, participant)
    if isinstance(ballot, rs.Refused):
        await message.reply_text(voice.refused(ballot))
        return
    body, keyboard = views.vote_view(voice, ballot.teams, ballot.own, ballot.current)
    await message.reply_text(body, reply_markup=keyboard)


async def vote(update: Update, context: HackbotContext) -> None:
    """`rs:vote:<team>`: vote (or change the vote)."""
    (challenge_id,) = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        voted = await rs.vote(session, participant, challenge_id, services.event)
        ballot = await rs.ballot(session, participant)
    if isinstance(voted, rs.Refused):
        await refuse(update, voice, voted)
        return
    if voted.previous is None:
        toast = voice.label("voted", title=voice.title(voted.challenge_id))
    else:
        toast = voice.label(
            "vote_changed", title=voice.title(voted.challenge_id), previous=voice.title(voted.previous)
        )
    await query.answer(toast, show_alert=True)
    if not isinstance(ballot, rs.Refused):
        await edit_pressed_message(update, *views.vote_view(voice, ballot.teams, ballot.own, ballot.current))
