"""The jury: jurors score privately; organisers follow who scored what, then close and see the ranking.

`/jury`: a juror's own sheet (teams, how much they scored); an organiser who is not a juror gets
the overview (`/classement` always gives the overview). Buttons: `rs:jury` (the sheet again),
`rs:jt:<team>` (score a team: the next criterion), `rs:js:<team>:<criterion>:<value>` (one score,
1-10), `rs:jc:<team>:<criterion>` (change one score), `rs:ov` (the overview), `rs:jclose` then
`rs:jcloseok` (close scoring: the ranking shows, with its detail).
"""

from __future__ import annotations

from telegram import CallbackQuery, Update, User

from bot.context import HackbotContext
from handlers.common import button_args, edit_pressed_message, organiser_language
from handlers.results import jury_views, views
from handlers.results.shared import refuse, voice_of
from handlers.results.views import Voice
from models import results as rs


async def show_jury(update: Update, context: HackbotContext) -> None:
    """/jury: the juror's sheet, or the organisers' overview."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    services = context.services
    if not services.event.is_juror(user.id) and services.event.is_organiser(user.id):
        await show_overview(update, context)
        return
    voice = voice_of(update, context, await _lang(update, context))
    async with services.db.read() as session:
        sheet = await rs.jury_sheet(session, user.id, services.event)
    if isinstance(sheet, rs.Refused):
        await message.reply_text(voice.refused(sheet))
        return
    body, keyboard = jury_views.sheet_view(voice, sheet)
    await message.reply_text(body, reply_markup=keyboard)


async def _lang(update: Update, context: HackbotContext) -> str | None:
    user = update.effective_user
    person = await context.person(user.id) if user is not None else None
    return person.language if person is not None else None


async def _juror_tap(update: Update, context: HackbotContext) -> tuple[User, CallbackQuery, Voice] | None:
    """Who pressed a jury button (jurors need not be registered), and how to speak to them."""
    user = update.effective_user
    query = update.callback_query
    if user is None or query is None:
        return None
    return user, query, voice_of(update, context, await _lang(update, context))


async def sheet(update: Update, context: HackbotContext) -> None:
    """`rs:jury`: the juror's sheet again."""
    tap = await _juror_tap(update, context)
    if tap is None:
        return
    user, query, voice = tap
    services = context.services
    async with services.db.read() as session:
        found = await rs.jury_sheet(session, user.id, services.event)
    if isinstance(found, rs.Refused):
        await refuse(update, voice, found)
        return
    await query.answer()
    await edit_pressed_message(update, *jury_views.sheet_view(voice, found))


async def team(update: Update, context: HackbotContext) -> None:
    """`rs:jt:<team>` and `rs:jc:<team>:<criterion>`: score a team (the next or the chosen criterion)."""
    args = button_args(context)
    challenge_id = args[0]
    index = int(args[1]) if len(args) > 1 else None
    tap = await _juror_tap(update, context)
    if tap is None:
        return
    user, query, voice = tap
    services = context.services
    async with services.db.read() as session:
        found = await rs.jury_sheet(session, user.id, services.event)
    if isinstance(found, rs.Refused):
        await refuse(update, voice, found)
        return
    if challenge_id not in {cid for cid, _ in found.teams} or (
        index is not None and not 0 <= index < len(services.event.results.jury_criteria)
    ):
        await refuse(update, voice, rs.Refused(rs.Refusal.UNKNOWN_TEAM))
        return
    if found.closed:
        await refuse(update, voice, rs.Refused(rs.Refusal.CLOSED))
        return
    await query.answer()
    await edit_pressed_message(update, *jury_views.team_sheet_view(voice, found, challenge_id, index))


async def score(update: Update, context: HackbotContext) -> None:
    """`rs:js:<team>:<criterion>:<value>`: one score; the next criterion replaces this one."""
    challenge_id, index, value = button_args(context)
    tap = await _juror_tap(update, context)
    if tap is None:
        return
    user, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        found = await rs.score(session, user.id, challenge_id, int(index), int(value), services.event)
    if isinstance(found, rs.Refused):
        await refuse(update, voice, found)
        return
    await query.answer(voice.label("toast_scored", value=value))
    await edit_pressed_message(update, *jury_views.team_sheet_view(voice, found, challenge_id))


async def show_overview(update: Update, context: HackbotContext) -> None:
    """/classement (and `/jury` for organisers): who scored what; the ranking once closed."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    services = context.services
    voice = voice_of(update, context, lang)
    async with services.db.read() as session:
        overview = await rs.jury_overview(session, services.event)
        names = await rs.juror_names(session, services.event)
    body, keyboard = jury_views.overview_view(voice, overview, names)
    await message.reply_text(body, reply_markup=keyboard)


async def overview(update: Update, context: HackbotContext) -> None:
    """`rs:ov`: the overview again (also "Cancel" on a confirmation)."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    services = context.services
    voice = voice_of(update, context, lang)
    async with services.db.read() as session:
        found = await rs.jury_overview(session, services.event)
        names = await rs.juror_names(session, services.event)
    await query.answer()
    await edit_pressed_message(update, *jury_views.overview_view(voice, found, names))


async def ask_close(update: Update, context: HackbotContext) -> None:
    """`rs:jclose`: ask before closing the scoring."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    voice = voice_of(update, context, lang)
    await query.answer()
    await edit_pressed_message(
        update,
        *views.confirm_view(voice, "confirm_close_scoring", "button_confirm_close_scoring", "jcloseok"),
    )


async def close(update: Update, context: HackbotContext) -> None:
    """`rs:jcloseok`: close the scoring; the ranking shows, with its detail."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    services = context.services
    voice = voice_of(update, context, lang)
    async with services.db.transaction() as session:
        found = await rs.close_scoring(session, services.event, services.now())
        names = await rs.juror_names(session, services.event)
    if isinstance(found, rs.Refused):
        await refuse(update, voice, found)
        return
    await query.answer()
    await edit_pressed_message(update, *jury_views.overview_view(voice, found, names))
