"""Team submissions: `/projet` shows the team's draft; any member edits it until the deadline.

Editing a field asks for it (the limit said first) and remembers the version the member saw; the
answer is saved only if nobody saved the draft meanwhile, else the member is told and gets their
text back (`models.results.save_field`). Photos are added one by one; a sticker or a file is
answered with what we wait for. Organisers extend the deadline with `/prolonger_projets <minutes>`.
"""

from __future__ import annotations

from typing import cast

from telegram import Update

from bot.context import HackbotApplication, HackbotContext
from handlers.common import active_participant, button_args, edit_pressed_message, organiser_language
from handlers.results import views
from handlers.results.shared import participant_tap, refuse, voice_for
from models import results as rs
from models.participant import Participant
from schedule.results import plan


async def show_draft(update: Update, context: HackbotContext) -> None:
    """/projet: the team's submission, with the buttons to edit it."""
    message = update.effective_message
    participant = await active_participant(update, context)
    if participant is None or message is None:
        return
    services = context.services
    voice = voice_for(context, participant.language)
    async with services.db.read() as session:
        draft = await rs.draft_of(session, participant, services.event, services.now())
    if isinstance(draft, rs.Refused):
        await message.reply_text(voice.refused(draft))
        return
    body, keyboard = views.draft_view(voice, draft)
    await message.reply_text(body, reply_markup=keyboard)


async def refresh(update: Update, context: HackbotContext) -> None:
    """`rs:draft`: the draft again (also "Done" after photos: stop waiting for more)."""
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        await rs.stop_waiting(session, participant.id)
        draft = await rs.draft_of(session, participant, services.event, services.now())
    if isinstance(draft, rs.Refused):
        await refuse(update, voice, draft)
        return
    await query.answer()
    await edit_pressed_message(update, *views.draft_view(voice, draft))


async def start_edit(update: Update, context: HackbotContext) -> None:
    """`rs:edit:<field>`: ask for the field (its limit said before anything is saved)."""
    (what,) = button_args(context)
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        draft = await rs.start_edit(session, participant, what, services.event, services.now())
    if isinstance(draft, rs.Refused):
        await refuse(update, voice, draft)
        return
    await query.answer()
    body, keyboard = views.ask_view(voice, what)
    await context.bot.send_message(participant.telegram_id, body, reply_markup=keyboard)


async def clear_photos(update: Update, context: HackbotContext) -> None:
    """`rs:clearph`: remove the photos (to send them again)."""
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        draft = await rs.clear_photos(session, participant, services.event, services.now())
    if isinstance(draft, rs.Refused):
        await refuse(update, voice, draft)
        return
    await query.answer()
    await edit_pressed_message(update, *views.draft_view(voice, draft))


async def submit(update: Update, context: HackbotContext) -> None:
    """`rs:submit`: send the project (the other members are told)."""
    tap = await participant_tap(update, context)
    if tap is None:
        return
    participant, query, voice = tap
    services = context.services
    async with services.db.transaction() as session:
        draft = await rs.submit(session, participant, services.event, services.catalog, services.now())
    if isinstance(draft, rs.Refused):
        await refuse(update, voice, draft)
        return
    services.wake_sender()
    await query.answer(voice.label("submitted"), show_alert=True)
    await edit_pressed_message(update, *views.draft_view(voice, draft))


async def take_field(
    update: Update, context: HackbotContext, participant: Participant, what: str, seen: int
) -> None:
    """The typed name, description or link (awaited as `rs_<field>:<version seen>`)."""
    message = update.effective_message
    assert message is not None
    voice = voice_for(context, participant.language)
    if message.text is None:
        await message.reply_text(voice.text(f"ask_{what}", limit=rs.check_limit(what)))
        return
    services = context.services
    async with services.db.transaction() as session:
        result = await rs.save_field(
            session, participant, what, message.text, seen, services.event, services.now()
        )
    if isinstance(result, rs.Refused):
        await message.reply_text(voice.refused(result))
        return
    if isinstance(result, rs.Conflict):
        body, keyboard = views.draft_view(voice, result.draft)
        await message.reply_text(voice.text("conflict", kept=result.kept))
        await message.reply_text(body, reply_markup=keyboard)
        return
    body, keyboard = views.draft_view(voice, result)
    await message.reply_text(f"{voice.text('saved')}\n\n{body}", reply_markup=keyboard)


async def take_photo(update: Update, context: HackbotContext, participant: Participant) -> None:
    """A photo for the submission (awaited as `rs_photo:<version>`); anything else is asked again."""
    message = update.effective_message
    assert message is not None
    voice = voice_for(context, participant.language)
    if not message.photo:
        await message.reply_text(voice.text("photo_reprompt"), reply_markup=views.ask_view(voice, "photo")[1])
        return
    services = context.services
    async with services.db.transaction() as session:
        draft = await rs.add_photo(
            session, participant, message.photo[-1].file_id, services.event, services.now()
        )
    if isinstance(draft, rs.Refused):
        await message.reply_text(voice.refused(draft))
        return
    await message.reply_text(
        voice.text("photo_added", count=draft.photos, limit=rs.PHOTOS_MAX),
        reply_markup=views.ask_view(voice, "photo")[1],
    )


async def extend(update: Update, context: HackbotContext) -> None:
    """/prolonger_projets <minutes>: organisers push the deadline."""
    lang = await organiser_language(update, context)
    message = update.effective_message
    if lang is None or message is None:
        return
    voice = voice_for(context, lang)
    args = context.args or []
    minutes = int(args[0]) if len(args) == 1 and args[0].isdigit() else 0
    services = context.services
    async with services.db.transaction() as session:
        deadline = await rs.extend_deadline(session, minutes, services.event, services.now())
    if isinstance(deadline, rs.Refused):
        await message.reply_text(voice.refused(deadline))
        return
    await plan(cast("HackbotApplication", context.application))  # the reminder moves with the deadline
    await message.reply_text(voice.text("extended", when=voice.when(deadline)))
