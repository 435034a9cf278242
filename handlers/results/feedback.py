"""Peer feedback: a 1-5 rating per criterion in a few taps, then optional comments (text or voice).

`rs:fb:<team>` opens the feedback on a team (the button under "X has finished"), `rs:rate:<team>:
<criterion>:<value>` records one rating and shows the next criterion in the same message,
`rs:rerate:<team>` starts the ratings again (changeable until the session closes), `rs:cm:<team>:
<liked|better>` waits for a comment, `rs:fbok:<team>` says thank you. Organisers moderate with
`/commentaires` (`rs:hide:<id>`, `rs:show:<id>`). Every rule (own team, presented, closed, once per
person) is `models.results`'.
"""

from __future__ import annotations

from telegram import Update

from bot.context import HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message, organiser_language
from handlers.results import views
from handlers.results.shared import participant_tap, refuse, voice_for
from models import results as rs
from models.participant import Participant


async def open_feedback(update: Update, context: HackbotContext) -> None:
    """`rs:fb:<team>`: where the person's feedback on that team stands."""
    (challenge_id,) = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.read() as session:
        step = await rs.feedback_of(session, participant, challenge_id, services.event)
    if isinstance(step, rs.Refused):
        await refuse(update, voice, step)
        return
    await query.answer()
    body, keyboard = views.feedback_view(voice, step)
    await context.bot.send_message(participant.telegram_id, body, reply_markup=keyboard)


async def rate(update: Update, context: HackbotContext) -> None:
    """`rs:rate:<team>:<criterion>:<value>`: one rating; the next criterion replaces this one."""
    challenge_id, index, value = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        step = await rs.rate(session, participant, challenge_id, int(index), int(value), services.event)
    if isinstance(step, rs.Refused):
        await refuse(update, voice, step)
        return
    await query.answer(voice.label("toast_rated", value=value))
    await edit_pressed_message(update, *views.feedback_view(voice, step))


async def rerate(update: Update, context: HackbotContext) -> None:
    """`rs:rerate:<team>`: show the first criterion again (each tap replaces the rating)."""
    (challenge_id,) = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.read() as session:
        step = await rs.feedback_of(session, participant, challenge_id, services.event)
    if isinstance(step, rs.Refused):
        await refuse(update, voice, step)
        return
    await query.answer()
    await edit_pressed_message(update, *views.feedback_view(voice, step, 0))


async def ask_comment(update: Update, context: HackbotContext) -> None:
    """`rs:cm:<team>:<liked|better>`: wait for a text or a voice note."""
    challenge_id, which = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        step = await rs.start_comment(session, participant, challenge_id, which, services.event)
    if isinstance(step, rs.Refused):
        await refuse(update, voice, step)
        return
    await query.answer()
    await context.bot.send_message(participant.telegram_id, voice.text(f"ask_{which}", limit=rs.COMMENT_MAX))


async def finish(update: Update, context: HackbotContext) -> None:
    """`rs:fbok:<team>`: thank you (the ratings are already saved)."""
    participant = await active_participant(update, context)
    query = update.callback_query
    if participant is None or query is None:
        return
    voice = voice_for(context, participant.language)
    await query.answer(voice.label("feedback_thanks"))
    await edit_pressed_message(update, voice.text("feedback_thanks"))


async def take_comment(
    update: Update, context: HackbotContext, participant: Participant, challenge_id: str, which: str
) -> None:
    """The comment (awaited as `rs_<liked|better>:<team>`): a text or a voice note."""
    message = update.effective_message
    assert message is not None
    voice = voice_for(context, participant.language)
    if message.text is None and message.voice is None:
        await message.reply_text(voice.text("comment_reprompt"))
        return
    services = context.services
    async with services.db.transaction() as session:
        step = await rs.save_comment(
            session,
            participant,
            challenge_id,
            which,
            services.event,
            text=message.text,
            voice=message.voice.file_id if message.voice is not None else None,
        )
    if isinstance(step, rs.Refused):
        await message.reply_text(voice.refused(step))
        return
    body, keyboard = views.feedback_view(voice, step)
    await message.reply_text(f"{voice.text('comment_saved')}\n\n{body}", reply_markup=keyboard)


async def show_comments(update: Update, context: HackbotContext) -> None:
    """/commentaires: organisers see the latest comments (no names) and can hide them."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    voice = voice_for(context, lang)
    async with context.services.db.read() as session:
        found = await rs.comments(session)
    body, keyboard = views.comments_view(voice, found)
    await message.reply_text(body, reply_markup=keyboard)


async def _moderate(update: Update, context: HackbotContext, hidden: bool) -> None:
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    (feedback_id,) = button_args(context)
    voice = voice_for(context, lang)
    async with context.services.db.transaction() as session:
        changed = await rs.hide_comment(session, int(feedback_id), hidden)
        found = await rs.comments(session)
    if changed is None:
        await refuse(update, voice, rs.Refused(rs.Refusal.STALE))
        return
    await query.answer(voice.label("toast_hidden" if hidden else "toast_shown"))
    await edit_pressed_message(update, *views.comments_view(voice, found))


async def hide(update: Update, context: HackbotContext) -> None:
    """`rs:hide:<id>`: hide a comment (not passed on, not shown)."""
    await _moderate(update, context, True)


async def show(update: Update, context: HackbotContext) -> None:
    """`rs:show:<id>`: show a hidden comment again."""
    await _moderate(update, context, False)
