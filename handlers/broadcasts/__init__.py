"""Organiser announcements: `/annonce`, `/annonces`, their buttons, and the draft's free messages.

`/annonce` (organisers only; anyone else is politely refused): the organiser sends the message to
broadcast (text with formatting, photo, document or voice note), picks the audience with buttons,
gets a preview sent exactly as recipients will get it plus the number of recipients, then sends,
schedules or cancels. The draft lives in the database (`models.broadcasts.BroadcastDraft`) and
expires when left alone. Confirming writes the broadcast and one outbox row per recipient in one
transaction; the one sender delivers them, and the runner (`schedule.broadcasts`) edits the
organiser's message with the progress, then the report.

The modules: `compose` (the draft, up to "Send"), `corrections` (correct or delete everywhere),
`report` (stop, who missed it, a report), `history` (`/annonces`), `views` (rendering), `shared`.
Here: the list of handlers, and the claim through which the input router offers an organiser's free
message to their draft.

Callback data (`<n>`: the draft's nonce, `<id>`: a broadcast id, ids of the event file are slugs):
  bc:x:<n>                      cancel the draft
  bc:menu:<n>:<challenge|role|meal|top>   audience sub-menus
  bc:aud:<n>:all | bc:aud:<n>:<challenge|role|meal>:<slug>   choose the audience
  bc:aud:<n>:present | bc:aud:<n>:not_arrived:<YYYY-MM-DD>  (arrival)
  bc:when:<n>                   schedule options
  bc:at:<n>:<minutes> | bc:at:<n>:type    send in N minutes (0: at once) / type a time
  bc:go:<n>                     confirm
  bc:stop:<id>                  stop a broadcast scheduled or sending
  bc:miss:<id>                  who did not receive it
  bc:edit:<id>, bc:eok:<n>      correct the text everywhere (ask, then confirm)
  bc:del:<id>, bc:delok:<id>, bc:keep:<id>   delete everywhere (ask, confirm, keep)
  bc:show:<id>                  a broadcast's report (from `/annonces`)
Anything else starting with `bc:` matches no pattern and is refused as stale.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import commands
from bot.context import HackbotContext
from handlers.broadcasts import compose, corrections, history, report, views
from handlers.broadcasts.shared import send_content
from handlers.common import on_button
from models import broadcasts as bc
from models.participant import Participant
from schedule.broadcast_views import FEATURE, text

log = logging.getLogger(__name__)

_NONCE = r"[0-9a-f]+"
_ID = r"[0-9]+"
_MENU = "|".join(views.MENUS)
_AUDIENCE = r"all|present|(?:challenge|role|meal):[a-z0-9][a-z0-9-]*|not_arrived:\d{4}-\d{2}-\d{2}"
_WHEN = "|".join(["type", "0", *(str(minutes) for minutes in views.SCHEDULE_CHOICES)])


def content_of(message: Message) -> bc.Content | None:
    """The announcement a message carries (formatting kept as HTML), None for other kinds."""
    if message.text is not None:
        return bc.Content(bc.ContentKind.TEXT, message.text_html)
    caption = message.caption_html if message.caption else None
    if message.photo:
        return bc.Content(bc.ContentKind.PHOTO, caption, message.photo[-1].file_id)
    if message.document is not None:
        return bc.Content(bc.ContentKind.DOCUMENT, caption, message.document.file_id)
    if message.voice is not None:
        return bc.Content(bc.ContentKind.VOICE, caption, message.voice.file_id)
    return None


_ANSWERS = {
    bc.InputOutcome.EXPIRED: "expired",
    bc.InputOutcome.USE_BUTTONS: "use_buttons",
    bc.InputOutcome.UNSUPPORTED: "unsupported",
    bc.InputOutcome.BAD_TIME: "bad_time",
    bc.InputOutcome.TEXT_EXPECTED: "ask_edit_text_again",
}


async def take_draft_input(update: Update, context: HackbotContext, participant: Participant | None) -> bool:
    """Input-router claim: an organiser's free message, taken if their draft waits for one.

    True also for the answers that the draft expired or that the next step is a button. Only new
    messages count (an edited one is not an answer), and menu buttons never get here: their own
    handlers are registered before the router.
    """
    user = update.effective_user
    message = update.message
    services = context.services
    if user is None or message is None or not services.event.is_organiser(user.id):
        return False
    given = bc.DraftInput(
        content=content_of(message),
        text=message.text,
        html=message.text_html if message.text is not None else None,
    )
    async with services.db.transaction() as session:
        result = await bc.take_input(session, user.id, given, services.now(), services.event.tz)
    lang = result.language
    outcome = result.outcome
    if outcome is bc.InputOutcome.NOT_MINE:
        return False
    if outcome in _ANSWERS:
        await message.reply_text(text(services, lang, _ANSWERS[outcome]))
    elif result.too_long is not None:
        log.info(
            "update %s: announcement refused, %s of %d characters",
            update.update_id,
            result.too_long.kind,
            result.too_long.length,
        )
        await message.reply_text(views.too_long(services, lang, result.too_long))
    elif result.counts is not None:
        keyboard = views.audience_keyboard(services, lang, result.nonce, "top", result.counts)
        await message.reply_text(text(services, lang, "choose_audience"), reply_markup=keyboard)
    elif result.confirmation is not None:
        view, keyboard = views.confirmation_view(services, result.confirmation)
        await message.reply_text(view, reply_markup=keyboard)
    elif result.broadcast is not None and result.corrected is not None:
        await send_content(context, message.chat_id, result.corrected)
        view, keyboard = views.correction_confirm(services, lang, result.broadcast, result.nonce)
        await message.reply_text(view, reply_markup=keyboard)
    return True


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """The commands and one handler per button action (free messages come through the claim)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(commands.names("annonce"), compose.start_announcement, filters=private),
        CommandHandler(commands.names("annonces"), history.list_announcements, filters=private),
        on_button(FEATURE, "x", compose.cancel, _NONCE),
        on_button(FEATURE, "menu", compose.open_menu, _NONCE, _MENU),
        on_button(FEATURE, "aud", compose.choose_audience, _NONCE, _AUDIENCE),
        on_button(FEATURE, "when", compose.ask_schedule, _NONCE),
        on_button(FEATURE, "at", compose.set_schedule, _NONCE, _WHEN),
        on_button(FEATURE, "go", compose.confirm, _NONCE),
        on_button(FEATURE, "stop", report.stop, _ID),
        on_button(FEATURE, "miss", report.list_missed, _ID),
        on_button(FEATURE, "show", report.show, _ID),
        on_button(FEATURE, "edit", corrections.start_correction, _ID),
        on_button(FEATURE, "eok", corrections.confirm_correction, _NONCE),
        on_button(FEATURE, "del", corrections.ask_delete, _ID),
        on_button(FEATURE, "delok", corrections.delete, _ID),
        on_button(FEATURE, "keep", corrections.keep, _ID),
    ]
