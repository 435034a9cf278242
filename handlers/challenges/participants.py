"""Participants and the challenges: the list, a card, the team page, joining, switching, leaving.

Each tap reads the person once (`active_participant`), makes one call to `models.challenges` (a
change is decided in its turn with the taps that arrived with it, `models.decisions`: one
transaction per batch) and renders what that call returned: the toast first, then the card
edited in place (cosmetic, and it may fail on an old message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.context import HackbotContext, Services
from handlers.challenges import views
from handlers.challenges.views import Voice
from handlers.common import active_participant, button_args, edit_pressed_message, refuse_stale_button
from models import challenges as ch
from models.decisions import Decision, Grouped
from models.participant import Participant


def voice_for(context: HackbotContext, lang: str) -> Voice:
    """How to speak to someone in `lang` with the event in force."""
    return Voice(context.services.catalog, context.services.event, lang)


async def _participant_for(
    update: Update, context: HackbotContext, *challenge_ids: str
) -> Participant | None:
    """The participant pressing a button about challenges the event file has; None once refused."""
    if any(context.services.event.challenge(cid) is None for cid in challenge_ids):
        await refuse_stale_button(update, context)  # forged, or removed from the file since
        return None
    return await active_participant(update, context)


async def _answer(update: Update, text: str | None = None) -> None:
    query = update.callback_query
    assert query is not None  # every caller handles a button
    await query.answer(text)


# ---- reading: the list, a card, the team page ------------------------------------------------------


async def _list(context: HackbotContext, participant: Participant) -> views.View:
    """Every challenge with how full it is, and the person's own status."""
    async with context.services.db.read() as session:
        counts = await ch.all_counts(session)
        person = await ch.status_of(session, participant.id)
    return views.list_view(voice_for(context, participant.language), counts, person)


async def show_challenges(update: Update, context: HackbotContext) -> None:
    """/defis and the "My challenge" button: every challenge, how full it is, a button each."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    body, keyboard = await _list(context, participant)
    await message.reply_text(body, reply_markup=keyboard)


async def show_list(update: Update, context: HackbotContext) -> None:
    """`ch:list`: back to the list, in the same message."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    await _answer(update)
    await edit_pressed_message(update, *await _list(context, participant))


async def team_message(context: HackbotContext, participant: Participant) -> views.View:
    """The person's team page, or the invitation to pick one."""
    voice = voice_for(context, participant.language)
    async with context.services.db.read() as session:
        team = await ch.team_of(session, participant.id)
    if team is None or context.services.event.challenge(team.challenge_id) is None:
        return views.no_team_view(voice)
    return views.team_view(voice, team)


async def show_team(update: Update, context: HackbotContext) -> None:
    """`ch:team`: the person's team page."""
    participant = await active_participant(update, context)
    if participant is None:
        return
    await _answer(update)
    await edit_pressed_message(update, *await team_message(context, participant))


async def show_card(update: Update, context: HackbotContext) -> None:
    """`ch:card:<id>`: one challenge, with the buttons that fit the person's situation."""
    (challenge_id,) = button_args(context)
    participant = await _participant_for(update, context, challenge_id)
    if participant is None:
        return
    await _answer(update)
    services = context.services
    async with services.db.read() as session:
        card = await ch.card_of(session, participant.id, challenge_id, services.event, services.now())
    if card is not None:
        voice = voice_for(context, participant.language)
        await edit_pressed_message(update, *views.card_view(voice, challenge_id, card))


async def ask_leave(update: Update, context: HackbotContext) -> None:
    """`ch:leave:<id>`: ask for confirmation (leaving gives the place away)."""
    (challenge_id,) = button_args(context)
    participant = await _participant_for(update, context, challenge_id)
    if participant is None:
        return
    async with context.services.db.read() as session:
        person = await ch.status_of(session, participant.id)
    if person.challenge_id != challenge_id:
        await refuse_stale_button(update, context)
        return
    await _answer(update)
    await edit_pressed_message(
        update, *views.confirm_leave_view(voice_for(context, participant.language), challenge_id)
    )


# ---- changing: one transaction, then the answer from what it returned -------------------------------


async def _render(
    update: Update, context: HackbotContext, participant: Participant, change: ch.TeamChange
) -> None:
    """Answer the tap (toast), then show the challenge's card as the change left it."""
    if change.notified:
        context.services.wake_sender()
    voice = voice_for(context, participant.language)
    outcome = change.outcome
    note = None
    if outcome is ch.TeamOutcome.UNKNOWN:
        await refuse_stale_button(update, context)
        return
    if outcome is ch.TeamOutcome.NEEDS_SWITCH:
        assert change.previous is not None
        await _answer(update)
        await edit_pressed_message(
            update, *views.confirm_switch_view(voice, change.previous, change.challenge_id)
        )
        return
    refused = views.refusal(voice, change)
    if outcome is ch.TeamOutcome.STALE:
        await refuse_stale_button(update, context)
    elif refused is not None:
        await _answer(update, refused.toast(voice))
    else:
        phrase = views.outcome_phrase(voice, change)
        await _answer(update, phrase.toast(voice))
        note = phrase.html(voice)
    if change.card is not None:
        await edit_pressed_message(update, *views.card_view(voice, change.challenge_id, change.card, note))


Change = Callable[[int, Services], "Decision[ch.TeamChange] | Grouped[Any, ch.TeamChange]"]
"""The decision a participant's tap asks for, given the participant id and the services."""


async def _change(update: Update, context: HackbotContext, challenge_id: str, change: Change) -> None:
    """Read the person, have the change decided in its turn, answer from what it returned.

    Taps arriving together are decided in update-id order, in one transaction for all of them
    (`models.decisions`): the first to press gets the place.
    """
    participant = await _participant_for(update, context, challenge_id)
    if participant is None:
        return
    services = context.services
    result = await services.decisions.decide(update.update_id, change(participant.id, services))
    await _render(update, context, participant, result)


async def join(update: Update, context: HackbotContext) -> None:
    """`ch:join:<id>`: join, or wait when full, or be asked to confirm a switch."""
    (cid,) = button_args(context)
    await _change(
        update,
        context,
        cid,
        lambda pid, s: Grouped(ch.join_many, ch.JoinRequest(pid, cid, s.now(), s.event)),
    )


async def switch(update: Update, context: HackbotContext) -> None:
    """`ch:sw:<from>:<to>`: the confirmed "leave X and join Y" (an unknown X is simply stale)."""
    from_id, to_id = button_args(context)

    def change(pid: int, s: Services) -> Decision[ch.TeamChange]:
        now = s.now()
        return lambda session: ch.switch(session, pid, from_id, to_id, now, event=s.event, texts=s.catalog)

    await _change(update, context, to_id, change)


async def leave(update: Update, context: HackbotContext) -> None:
    """`ch:leaveok:<id>`: the confirmed leave; the first person waiting gets the place."""
    (cid,) = button_args(context)

    def change(pid: int, s: Services) -> Decision[ch.TeamChange]:
        now = s.now()
        return lambda session: ch.leave(session, pid, cid, now, event=s.event, texts=s.catalog)

    await _change(update, context, cid, change)


async def unwait(update: Update, context: HackbotContext) -> None:
    """`ch:unwait:<id>`: stop waiting for a challenge."""
    (cid,) = button_args(context)

    def change(pid: int, s: Services) -> Decision[ch.TeamChange]:
        now = s.now()
        return lambda session: ch.leave_waitlist(session, pid, cid, now, event=s.event)

    await _change(update, context, cid, change)
