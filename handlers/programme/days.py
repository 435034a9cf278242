"""`/programme` and the menu button (one day, now and next), the day buttons, the calendar file."""

from __future__ import annotations

import datetime as dt

from telegram import InputFile, Update

from bot.context import HackbotContext
from handlers.common import button_args, edit_pressed_message, language_for, refuse_stale_button, text
from handlers.programme.views import Viewer, calendar_name, day_view
from models import programme as store
from schedule import timeline
from schedule.ics import programme_ics
from schedule.planner import parse_day


async def viewer_of(update: Update, context: HackbotContext) -> Viewer | None:
    """The person behind the update, their language and their team's challenge (None if no team)."""
    user = update.effective_user
    if user is None:
        return None
    participant = await context.person(user.id)
    challenge = None
    if participant is not None:
        async with context.services.db.read() as session:
            challenge = await store.challenge_of(session, user.id)
    return Viewer(participant, language_for(context, update, participant), challenge)


async def show_programme(update: Update, context: HackbotContext) -> None:
    """Menu button and `/programme [demain|samedi|4/11...]`: one day, now and next highlighted."""
    message = update.effective_message
    viewer = await viewer_of(update, context)
    if message is None or viewer is None:
        return
    event = context.services.event
    now = context.services.now()
    day = timeline.current_or_next_day(event, now)
    args = context.args or []  # None for the menu button
    if args:
        asked = parse_day(args, event, event.local(now).date())
        if asked is None:
            body, keyboard = day_view(context.services, viewer, day)
            await message.reply_text(
                text(context, viewer.lang, "programme.unknown_day") + "\n\n" + body, reply_markup=keyboard
            )
            return
        day = asked
    body, keyboard = day_view(context.services, viewer, day)
    await message.reply_text(body, reply_markup=keyboard)


async def on_day_button(update: Update, context: HackbotContext) -> None:
    """`prog:day:<YYYYMMDD>`: show that day in the same message."""
    query = update.callback_query
    viewer = await viewer_of(update, context)
    if query is None or viewer is None:
        return
    (raw,) = button_args(context)
    try:
        day = dt.datetime.strptime(raw, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        day = None
    if day is None or day not in context.services.event.days():
        await refuse_stale_button(update, context)
        return
    await query.answer()
    await edit_pressed_message(update, *day_view(context.services, viewer, day))


async def on_calendar_button(update: Update, context: HackbotContext) -> None:
    """`prog:ics:all|mine`: the whole programme, or the team's, as a calendar file."""
    query = update.callback_query
    user = update.effective_user
    viewer = await viewer_of(update, context)
    if query is None or user is None or viewer is None:
        return
    (which,) = button_args(context)
    mine = which == "mine"
    if mine and viewer.challenge is None:
        await refuse_stale_button(update, context)
        return
    await query.answer()
    services = context.services
    event = services.event
    items = event.sorted_programme
    name = None
    if mine and viewer.challenge is not None:
        items = [item for item in items if item.is_for(viewer.challenge)]
        name = calendar_name(services, viewer)
    data = programme_ics(event, items, viewer.lang, now=services.now(), calendar_name=name)
    filename = f"{event.id}-{viewer.challenge}.ics" if mine and viewer.challenge else f"{event.id}.ics"
    await context.bot.send_document(
        user.id,
        document=InputFile(data, filename=filename),
        caption=services.catalog.text(viewer.lang, "programme.ics_caption"),
    )
