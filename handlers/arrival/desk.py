"""The welcome desk: scanned links, walk-ins, the desk's "leaving" button, the day's poster.

A phone camera opens the badge's link in Telegram, which sends `/start ci-<code>`; registration's
`/start` hands arrival payloads to `open_link`. Desk volunteers (the event file's
`arrival.desk_volunteers`) and organisers check people in; anyone else is told to show the code
at the desk, and nothing changes.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.badges import qr_png
from bot.context import HackbotContext
from handlers.arrival import views
from handlers.common import button_args, edit_pressed_message, label, language_for, organiser_language, text
from models import arrival

log = logging.getLogger(__name__)

POSTER_DAY = "arrival_poster_day"
"""`user_data` key: the day a newcomer scanned the poster (memory only: nothing is stored before
consent), so that finishing registration checks them in."""


async def desk_language(update: Update, context: HackbotContext) -> str | None:
    """The desk volunteer's (or organiser's) language, or None after a polite refusal."""
    user = update.effective_user
    if user is None:
        return None
    event = context.services.event
    lang = language_for(context, update, await context.person(user.id))
    if event.arrival.is_desk(user.id, event.organisers):
        return lang
    log.info("update %s: desk action refused", update.update_id)
    if update.callback_query is not None:
        await update.callback_query.answer(label(context, lang, "arrival.not_desk"), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text(context, lang, "arrival.not_desk"))
    return None


async def open_link(update: Update, context: HackbotContext, payload: str) -> bool:
    """`/start <arrival payload>`: check in, or say why not. False: registration takes over."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = context.services
    lang = language_for(context, update, await context.person(user.id))
    day = views.today(services)
    async with services.db.transaction() as session:
        result = await arrival.scan(session, services.event, user.id, payload, day, services.now())
    log.info("update %s: arrival link scanned (%s)", update.update_id, type(result).__name__)
    if isinstance(result, arrival.DeskCard):
        card, keyboard = views.desk_card(services, lang, result)
        await message.reply_text(card, reply_markup=keyboard)
        return True
    if isinstance(result, arrival.SelfCheckedIn):
        await message.reply_text(
            views.self_checked_in(services, lang, result), reply_markup=views.leave_keyboard(services, lang)
        )
        return True
    if result.reason is arrival.ScanRefusal.NOT_REGISTERED:
        assert context.user_data is not None
        context.user_data[POSTER_DAY] = day
        await message.reply_text(text(context, lang, "arrival.self.register_first"))
        return False
    await message.reply_text(views.refusal(services, lang, result))
    return True


async def after_registration(update: Update, context: HackbotContext) -> None:
    """Runs after registration's role button (a later group): a newcomer from the poster is present."""
    user = update.effective_user
    if user is None or context.user_data is None or context.user_data.get(POSTER_DAY) is None:
        return
    services = context.services
    day = views.today(services)
    if context.user_data[POSTER_DAY] != day:
        context.user_data.pop(POSTER_DAY, None)
        return
    async with services.db.transaction() as session:
        result = await arrival.check_in_after_registration(session, user.id, day, services.now())
    if result is None:
        return  # still registering (a role button pressed before the name): wait for the next one
    context.user_data.pop(POSTER_DAY, None)
    person = await context.person(user.id)
    lang = language_for(context, update, person)
    await context.bot.send_message(
        user.id,
        text(context, lang, "arrival.self.registered_present", time=views.hhmm(services, result.arrived_at)),
        reply_markup=views.leave_keyboard(services, lang),
    )


async def register_walk_in(update: Update, context: HackbotContext) -> None:
    """`/inscrire_sur_place <name>`: someone without Telegram, registered and present; then the role."""
    message = update.effective_message
    lang = await desk_language(update, context)
    if lang is None or message is None:
        return
    services = context.services
    name = " ".join(context.args or [])
    if not name.strip():
        await message.reply_text(text(context, lang, "arrival.walk_in.usage"))
        return
    now = services.now()
    async with services.db.transaction() as session:
        registered = await arrival.register_walk_in(session, name, views.today(services), now)
    if registered is None:
        await message.reply_text(text(context, lang, "arrival.walk_in.usage"))
        return
    log.info("update %s: walk-in %s registered", update.update_id, registered.walk_in_id)
    await message.reply_text(
        views.walk_in_registered(services, lang, registered, now),
        reply_markup=views.walk_in_roles(services, lang, registered.walk_in_id),
    )


async def choose_walk_in_role(update: Update, context: HackbotContext) -> None:
    """`arr:wrole:<walk-in id>:<role id>`: the walk-in's role."""
    query = update.callback_query
    lang = await desk_language(update, context)
    if lang is None or query is None:
        return
    walk_in_id, role_id = button_args(context)
    services = context.services
    async with services.db.transaction() as session:
        saved = await arrival.set_walk_in_role(
            session, int(walk_in_id), role_id, [role.id for role in services.event.roles]
        )
    if saved is None:
        await query.answer(label(context, lang, "common.stale_button"))
        return
    await query.answer()
    await edit_pressed_message(
        update,
        views.walk_in_role_saved(services, lang, saved),
        views.desk_leave_keyboard(services, lang, saved.check_in_id, saved.name),
    )


async def check_out(update: Update, context: HackbotContext) -> None:
    """`arr:out:<check-in id>`: the desk checks one person out (the card's button)."""
    query = update.callback_query
    lang = await desk_language(update, context)
    if lang is None or query is None:
        return
    (check_in_id,) = button_args(context)
    services = context.services
    async with services.db.transaction() as session:
        result = await arrival.desk_checks_out(
            session, int(check_in_id), views.today(services), services.now()
        )
    answer = views.left(services, lang, result, desk=True)
    await query.answer()
    await edit_pressed_message(update, answer)


async def show_poster(update: Update, context: HackbotContext) -> None:
    """`/affiche` (organisers): today's poster QR code, with a button to renew it."""
    await _poster(update, context, renew=False)


async def renew_poster(update: Update, context: HackbotContext) -> None:
    """`arr:renew`: a new poster code; the old one stops working at once."""
    await _poster(update, context, renew=True)


async def _poster(update: Update, context: HackbotContext, *, renew: bool) -> None:
    lang = await organiser_language(update, context)
    user = update.effective_user
    if lang is None or user is None:
        return
    services = context.services
    event = services.event
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not event.arrival.self_check_in:
        await context.bot.send_message(user.id, text(context, lang, "arrival.poster.disabled"))
        return
    day = views.today(services)
    async with services.db.transaction() as session:
        payload = await arrival.poster_code(session, event.id, day, services.now(), renew=renew)
    caption = text(context, lang, "arrival.poster.caption", date=views.short_date(services, lang, day))
    if renew:
        caption = text(context, lang, "arrival.poster.renewed") + "\n" + caption
    await context.bot.send_photo(
        user.id,
        qr_png(views.badge_link(context.bot.username, payload), box_size=16),
        caption=caption,
        reply_markup=views.poster_keyboard(services, lang),
    )
