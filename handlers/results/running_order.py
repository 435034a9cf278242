"""The running order, for organisers: `/ordre` shows it; set it, draw it, move to the next team.

`/ordre id1 id2 …` sets the order, `/ordre tirage [seed]` (or the button) draws it with a seed that
is shown, so anyone can redo the draw. "Next team" carries the position it moves from: a double tap
(or two organisers at once) moves once. Everyone is told who presents, the team after is told it is
next, and people get a button to give feedback on the team that just finished.
"""

from __future__ import annotations

import secrets

from telegram import Update

from bot.context import HackbotContext
from handlers.common import button_args, edit_pressed_message, organiser_language
from handlers.results import views
from handlers.results.shared import refuse, voice_for
from models import results as rs

DRAW_WORDS = frozenset({"tirage", "draw"})


async def show_order(update: Update, context: HackbotContext) -> None:
    """/ordre [ids… | tirage [seed]]: show, set or draw the running order."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    voice = voice_for(context, lang)
    services = context.services
    args = [arg.strip().lower() for arg in context.args or []]
    async with services.db.transaction() as session:
        if args and args[0] in DRAW_WORDS:
            seed = int(args[1]) if len(args) == 2 and args[1].isdigit() and len(args[1]) <= 9 else _new_seed()
            result = await rs.draw_order(session, services.event, services.catalog, seed)
        elif args:
            result = await rs.set_order(session, services.event, services.catalog, args)
        else:
            result = await rs.order(session)
        teams = await rs.teams(session, services.event)
    if isinstance(result, rs.Refused):
        await message.reply_text(voice.refused(result))
        return
    services.wake_sender()
    body, keyboard = views.order_view(voice, result, teams)
    await message.reply_text(body, reply_markup=keyboard)


def _new_seed() -> int:
    """A seed people can read out: four digits."""
    return 1000 + secrets.randbelow(9000)


async def draw(update: Update, context: HackbotContext) -> None:
    """`rs:draw`: draw the order with a new seed (shown)."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    voice = voice_for(context, lang)
    services = context.services
    async with services.db.transaction() as session:
        result = await rs.draw_order(session, services.event, services.catalog, _new_seed())
        teams = await rs.teams(session, services.event)
    if isinstance(result, rs.Refused):
        await refuse(update, voice, result)
        return
    services.wake_sender()
    await query.answer()
    await edit_pressed_message(update, *views.order_view(voice, result, teams))


async def next_team(update: Update, context: HackbotContext) -> None:
    """`rs:next:<from>`: the next team presents (or the presentations end)."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    (expected,) = button_args(context)
    voice = voice_for(context, lang)
    services = context.services
    async with services.db.transaction() as session:
        result = await rs.next_team(session, services.event, services.catalog, int(expected))
    if isinstance(result, rs.Refused):
        await refuse(update, voice, result)
        return
    services.wake_sender()
    await query.answer()
    await edit_pressed_message(update, *views.order_view(voice, result.order, result.order.teams))


async def close_session(update: Update, context: HackbotContext) -> None:
    """`rs:close`: close feedback and the vote; each team gets its digest."""
    lang = await organiser_language(update, context)
    query = update.callback_query
    if lang is None or query is None:
        return
    voice = voice_for(context, lang)
    services = context.services
    async with services.db.transaction() as session:
        told = await rs.close_session(session, services.event, services.catalog, services.now())
        order = await rs.order(session)
    if isinstance(told, rs.Refused):
        await refuse(update, voice, told)
        return
    services.wake_sender()
    await query.answer(voice.label("session_closed", count=told), show_alert=True)
    await edit_pressed_message(update, *views.order_view(voice, order, order.teams))
