"""Organiser announcements: `/annonce`, `/annonces`, and the loop that reports on deliveries.

`/annonce` (organisers only; anyone else is politely refused): the organiser sends the message to
broadcast (text with formatting, photo, document or voice note), picks the audience with buttons,
gets a preview sent exactly as recipients will get it plus the number of recipients, then sends,
schedules or cancels. The draft lives in the database (`models.broadcasts.BroadcastDraft`) and
expires when left alone. Confirming writes the broadcast and one outbox row per recipient in one
transaction; the one sender delivers them through the throttle.

`BroadcastRunner` follows what is sending: it edits the organiser's confirmation message with the
progress at most every `PROGRESS_EVERY` seconds, then with the report (delivered, blocked, failed,
in doubt) and the buttons to list who did not receive it, to correct the text everywhere and to
delete it everywhere. It reads everything from the database, so after a restart it simply goes on.

Callback data (`<n>`: the draft's nonce, `<id>`: a broadcast id, ids of the event file are slugs):
  bc:x:<n>                      cancel the draft
  bc:menu:<n>:<challenge|role|meal|top>   audience sub-menus
  bc:aud:<n>:all | bc:aud:<n>:<challenge|role|meal>:<slug>   choose the audience
  bc:when:<n>                   schedule options
  bc:at:<n>:<minutes> | bc:at:<n>:type    send in N minutes (0: at once) / type a time
  bc:go:<n>                     confirm
  bc:stop:<id>                  stop a broadcast scheduled or sending
  bc:miss:<id>                  who did not receive it
  bc:edit:<id>, bc:eok:<n>      correct the text everywhere (ask, then confirm)
  bc:del:<id>, bc:delok:<id>, bc:keep:<id>   delete everywhere (ask, confirm, keep)
  bc:show:<id>                  a broadcast's report (from `/annonces`)
Anything else starting with `bc:` is refused as stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HackbotApplication, HackbotContext, Services
from bot.i18n import Catalog, Markup
from handlers import input as free_input
from handlers.common import language_for, refuse_stale_button
from handlers.menu import any_menu_button
from models import broadcasts as bc
from models import registration
from models.outbox import TEXT_LIMIT, PayloadTooLong, telegram_length
from models.privacy import ERASED_ID

log = logging.getLogger(__name__)

EXTRAS_KEY = "broadcasts"
TICK_SECONDS = 1.0
PROGRESS_EVERY = 3.0
"""Seconds between two progress edits of the organiser's message (the report itself is not held).

Edits count against the same 30 messages a second as the broadcast: at 3 s, a 1,000-person
broadcast spends 12 of its ~35 seconds' requests on progress instead of 17 at 2 s."""
PURGE_EVERY = 600.0
SCHEDULE_CHOICES = (15, 30, 60, 120)  # minutes, offered as buttons
HISTORY_SIZE = 10

Keyboard = InlineKeyboardMarkup


# ---- rendering (shared by the handlers and the runner, which has no update at hand) -------------------


def _t(services: Services, lang: str, key: str, /, **params: object) -> Markup:
    return services.catalog.text(lang, f"broadcasts.{key}", **params)


def _l(services: Services, lang: str, key: str, /, **params: object) -> str:
    return services.catalog.label(lang, f"broadcasts.{key}", **params)


def number(lang: str, value: int) -> str:
    """1,000 in English, 1 000 (narrow no-break space) in French."""
    grouped = f"{value:,}"
    return grouped if lang == "en" else grouped.replace(",", "\u202f")


def _when(services: Services, at: datetime) -> dict[str, str]:
    local = services.event.local(at)
    return {"date": local.strftime("%d/%m"), "time": local.strftime("%H:%M")}


def audience_name(services: Services, lang: str, audience: bc.Audience, *, plain: bool = False) -> str:
    """The audience in words: everyone, the team “Réservation”... (`plain`: for a button, unescaped)."""
    event = services.event
    default = event.default_language
    name = ""
    if audience.kind is bc.AudienceKind.CHALLENGE:
        challenge = event.challenge(audience.arg or "")
        name = challenge.title.get(lang, default) if challenge else audience.arg or ""
    elif audience.kind is bc.AudienceKind.ROLE:
        role = event.role(audience.arg or "")
        name = role.label.get(lang, default) if role else audience.arg or ""
    elif audience.kind is bc.AudienceKind.MEAL:
        meal = event.meal(audience.arg or "")
        name = meal.name.get(lang, default) if meal else audience.arg or ""
    key = f"audience.{audience.kind.value}"
    return _l(services, lang, key, name=name) if plain else _t(services, lang, key, name=name)


def _audience_of(services: Services, lang: str, stored: str) -> str:
    try:
        return audience_name(services, lang, bc.Audience.decode(stored))
    except ValueError:
        return stored


def _header(services: Services, lang: str, broadcast: bc.Broadcast) -> list[str]:
    lines: list[str] = [
        _t(
            services,
            lang,
            "title",
            id=broadcast.id,
            audience=Markup(_audience_of(services, lang, broadcast.audience)),
        )
    ]
    if broadcast.summary:
        lines.append(_t(services, lang, "summary_line", summary=broadcast.summary))
    return lines


def progress_view(
    services: Services, broadcast: bc.Broadcast, figures: bc.Progress, now: datetime
) -> tuple[str, Keyboard]:
    """The organiser's message while a broadcast is scheduled or sending."""
    lang = broadcast.language
    lines = _header(services, lang, broadcast)
    if (
        broadcast.status is bc.BroadcastStatus.SCHEDULED
        and broadcast.scheduled_at
        and broadcast.scheduled_at > now
    ):
        lines.append(
            _t(
                services,
                lang,
                "scheduled",
                total=number(lang, figures.total),
                **_when(services, broadcast.scheduled_at),
            )
        )
    else:
        lines.append(
            _t(services, lang, "progress", done=number(lang, figures.done), total=number(lang, figures.total))
        )
    keyboard = Keyboard(
        [[InlineKeyboardButton(_l(services, lang, "button.stop"), callback_data=f"bc:stop:{broadcast.id}")]]
    )
    return "\n".join(lines), keyboard


def report_view(
    services: Services, broadcast: bc.Broadcast, figures: bc.Progress
) -> tuple[str, Keyboard | None]:
    """The report once every delivery ended: figures, and what the organiser can do next."""
    lang = broadcast.language
    lines = _header(services, lang, broadcast)
    lines.append(_t(services, lang, "report_stopped" if figures.cancelled else "report_done"))
    lines.append(_t(services, lang, "report_delivered", count=number(lang, figures.sent)))
    lines.append(_t(services, lang, "report_blocked", count=number(lang, figures.blocked)))
    lines.append(_t(services, lang, "report_failed", count=number(lang, figures.failed)))
    if figures.cancelled:
        lines.append(_t(services, lang, "report_cancelled", count=number(lang, figures.cancelled)))
    if figures.in_doubt:
        lines.append(_t(services, lang, "report_in_doubt", count=number(lang, figures.in_doubt)))
    if broadcast.revision:
        lines.append(_t(services, lang, "report_edited", count=broadcast.revision))
    if broadcast.deleted_at is not None:
        lines.append(_t(services, lang, "report_deleted"))
    rows: list[list[InlineKeyboardButton]] = []
    if figures.missed:
        rows.append(
            [
                InlineKeyboardButton(
                    _l(services, lang, "button.missed", count=figures.missed),
                    callback_data=f"bc:miss:{broadcast.id}",
                )
            ]
        )
    if broadcast.deleted_at is None and figures.sent:
        edit_key = (
            "button.edit_text" if broadcast.content_kind is bc.ContentKind.TEXT else "button.edit_caption"
        )
        rows.append(
            [
                InlineKeyboardButton(_l(services, lang, edit_key), callback_data=f"bc:edit:{broadcast.id}"),
                InlineKeyboardButton(
                    _l(services, lang, "button.delete"), callback_data=f"bc:del:{broadcast.id}"
                ),
            ]
        )
    return "\n".join(lines), Keyboard(rows) if rows else None


def operation_view(services: Services, operation: bc.BroadcastOperation, figures: bc.Progress) -> str:
    """Progress, then result, of an edit or a deletion."""
    lang = operation.language
    prefix = "edit" if operation.kind is bc.OperationKind.EDIT else "delete"
    if figures.finished:
        return _t(
            services,
            lang,
            f"{prefix}_report",
            id=operation.broadcast_id,
            done=number(lang, figures.sent),
            failed=number(lang, figures.missed),
        )
    return _t(
        services,
        lang,
        f"{prefix}_progress",
        id=operation.broadcast_id,
        done=number(lang, figures.done),
        total=number(lang, operation.total),
    )


# ---- the follow-up loop -------------------------------------------------------------------------------


@dataclass
class _Shown:
    text: str
    at: float


class BroadcastRunner:
    """Edits organisers' messages with the progress and the report of what is being sent.

    One per application (in `services.extras`). Everything it needs is in the database, so it is
    stateless across restarts; in memory it only remembers what it last showed, to skip useless
    edits and to space them out.
    """

    def __init__(self, application: HackbotApplication) -> None:
        """Not started yet: see `start`."""
        self.application = application
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._shown: dict[tuple[str, int], _Shown] = {}
        self._last_purge = 0.0

    @property
    def services(self) -> Services:
        """The application's services."""
        return self.application.bot_data.services

    async def start(self) -> None:
        """Start following (broadcasts interrupted by a restart are picked up at the first tick)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="broadcast-runner")

    async def stop(self) -> None:
        """Stop following (deliveries go on with the sender; the next start resumes the reports)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look now (a broadcast was confirmed, stopped, corrected...)."""
        self._wake.set()

    def shown(self, kind: str, ident: int, text: str) -> None:
        """A handler just showed `text` on the message of broadcast (`"b"`) or operation (`"o"`) `ident`."""
        self._shown[(kind, ident)] = _Shown(text, time.monotonic())

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("broadcasts: follow-up failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_SECONDS):
                    await self._wake.wait()

    async def tick(self) -> None:
        """One look at everything in progress."""
        services = self.services
        now = services.now()
        async with services.db.read() as session:
            broadcasts = await bc.active_broadcasts(session)
            operations = await bc.active_operations(session)
            sends = {b.id: await bc.progress(session, bc.PURPOSE_SEND, b.id) for b in broadcasts}
            changes = {o.id: await bc.progress(session, bc.purpose_of(o.kind), o.id) for o in operations}
        for broadcast in broadcasts:
            await self._follow(broadcast, sends[broadcast.id], now)
        for operation in operations:
            await self._follow_operation(operation, changes[operation.id], now)
        if time.monotonic() - self._last_purge > PURGE_EVERY:
            self._last_purge = time.monotonic()
            async with services.db.transaction() as session:
                await bc.purge_expired_drafts(session, now)

    async def _follow(self, broadcast: bc.Broadcast, figures: bc.Progress, now: datetime) -> None:
        services = self.services
        if broadcast.status is bc.BroadcastStatus.SCHEDULED:
            if broadcast.scheduled_at is not None and broadcast.scheduled_at > now and not figures.cancelled:
                return  # the confirmation already says when
            async with services.db.transaction() as session:
                await bc.start_sending(session, broadcast.id)
            broadcast.status = bc.BroadcastStatus.SENDING
        key = ("b", broadcast.id)
        if figures.finished:
            text, keyboard = report_view(services, broadcast, figures)
            if await self._show(
                key, broadcast.progress_chat_id, broadcast.progress_message_id, text, keyboard
            ):
                async with services.db.transaction() as session:
                    await bc.finish_broadcast(session, broadcast.id, figures, now)
                self._shown.pop(key, None)
                log.info(
                    "broadcast %d finished: %d sent, %d blocked, %d failed, %d cancelled, %d in doubt",
                    broadcast.id,
                    figures.sent,
                    figures.blocked,
                    figures.failed,
                    figures.cancelled,
                    figures.in_doubt,
                )
            return
        text, keyboard = progress_view(services, broadcast, figures, now)
        await self._show(
            key, broadcast.progress_chat_id, broadcast.progress_message_id, text, keyboard, hold=True
        )

    async def _follow_operation(
        self, operation: bc.BroadcastOperation, figures: bc.Progress, now: datetime
    ) -> None:
        key = ("o", operation.id)
        text = operation_view(self.services, operation, figures)
        if figures.finished:
            if await self._show(key, operation.progress_chat_id, operation.progress_message_id, text, None):
                async with self.services.db.transaction() as session:
                    await bc.finish_operation(session, operation.id, figures, now)
                self._shown.pop(key, None)
            return
        await self._show(
            key, operation.progress_chat_id, operation.progress_message_id, text, None, hold=True
        )

    async def _show(
        self,
        key: tuple[str, int],
        chat_id: int,
        message_id: int | None,
        text: str,
        keyboard: Keyboard | None,
        *,
        hold: bool = False,
    ) -> bool:
        """Edit the organiser's message (or send one if there is none); True once it is shown.

        `hold`: a progress update, skipped when unchanged or shown less than `PROGRESS_EVERY` ago.
        False means "try again at the next tick" (a network error).
        """
        if chat_id == ERASED_ID:
            return True  # the organiser erased their data: nobody to report to
        shown = self._shown.get(key)
        if (
            hold
            and shown is not None
            and (shown.text == text or time.monotonic() - shown.at < PROGRESS_EVERY)
        ):
            return True
        bot = self.application.bot
        try:
            if message_id is None:
                if hold:
                    return True  # no message to update; the report will be sent as a new one
                await bot.send_message(chat_id, text, reply_markup=keyboard)
            else:
                await bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard
                )
        except BadRequest as exc:
            # "message is not modified" after a restart, or the message is gone: nothing more to do.
            log.info(
                "broadcasts: progress message %s in chat %s not edited (%s)", message_id, chat_id, exc.message
            )
        except Forbidden:
            log.info("broadcasts: organiser %s blocked the bot; report not shown", chat_id)
        except TelegramError as exc:
            log.warning("broadcasts: progress edit failed (%s); trying again", exc)
            return False
        self._shown[key] = _Shown(text, time.monotonic())
        return True


def runner_of(services: Services) -> BroadcastRunner | None:
    """The application's runner (None before start-up)."""
    runner = services.extras.get(EXTRAS_KEY)
    return runner if isinstance(runner, BroadcastRunner) else None


def _wake(services: Services, shown: tuple[str, int, str] | None = None) -> None:
    """After a commit that queued deliveries: let the sender and the runner look now.

    `shown`: what the handler is about to show on the progress message (the runner need not).
    """
    services.wake_sender()
    runner = runner_of(services)
    if runner is not None:
        if shown is not None:
            runner.shown(*shown)
        runner.wake()


async def start_broadcasts(application: HackbotApplication) -> None:
    """Follow the broadcasts (those interrupted by a restart too)."""
    services = application.bot_data.services
    runner = BroadcastRunner(application)
    services.extras[EXTRAS_KEY] = runner
    await runner.start()


async def stop_broadcasts(application: HackbotApplication) -> None:
    """Stop following; the sender and the database keep the state."""
    runner = runner_of(application.bot_data.services)
    if runner is not None:
        await runner.stop()


# ---- handlers: who may, and which draft -----------------------------------------------------------------


async def _organiser_language(update: Update, context: HackbotContext) -> str | None:
    """The organiser's language, or None after a polite refusal for anyone else (forged buttons too)."""
    user = update.effective_user
    if user is None:
        return None
    async with context.services.db.read() as session:
        participant = await registration.get_participant(session, user.id)
    lang = language_for(context, update, participant)
    if context.services.event.is_organiser(user.id):
        return lang
    log.info("update %s: broadcast action refused to a non-organiser", update.update_id)
    catalog = context.services.catalog
    if update.callback_query is not None:
        await update.callback_query.answer(catalog.label(lang, "common.not_allowed"), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(catalog.text(lang, "common.not_allowed"))
    return None


def _nonce_keyboard(services: Services, lang: str, nonce: str) -> Keyboard:
    return Keyboard(
        [[InlineKeyboardButton(_l(services, lang, "button.cancel"), callback_data=f"bc:x:{nonce}")]]
    )


async def _edit_query_message(update: Update, text: str, keyboard: Keyboard | None = None) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:  # "message is not modified" after a double tap
        log.info("update %s: edit skipped (%s)", update.update_id, exc.message)


async def start_announcement(update: Update, context: HackbotContext) -> None:
    """/annonce: a fresh draft; ask for the message to broadcast."""
    message = update.effective_message
    lang = await _organiser_language(update, context)
    if lang is None or message is None or update.effective_user is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        draft = await bc.start_draft(session, update.effective_user.id, lang, services.now())
    log.info("update %s: organiser %s started an announcement", update.update_id, update.effective_user.id)
    await message.reply_text(
        _t(services, lang, "ask_content"), reply_markup=_nonce_keyboard(services, lang, draft.nonce)
    )


# ---- free messages: the content, a typed time, a corrected text ------------------------------------------


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


def _too_long(services: Services, lang: str, exc: PayloadTooLong) -> str:
    key = "too_long_caption" if exc.kind == "caption" else "too_long_text"
    return _t(services, lang, key, length=number(lang, exc.length), limit=number(lang, exc.limit))


async def on_private_message(update: Update, context: HackbotContext) -> None:
    """A free message: the organiser's draft takes it if it waits for one, else the usual routing."""
    user = update.effective_user
    message = update.effective_message
    if user is not None and message is not None and context.services.event.is_organiser(user.id):
        async with context.services.db.read() as session:
            draft = await bc.get_draft(session, user.id)
        if draft is not None and draft.expired(context.services.now()):
            async with context.services.db.transaction() as session:
                await bc.discard_draft(session, user.id)
            if draft.stage in bc.INPUT_STAGES:
                await message.reply_text(_t(context.services, draft.language, "expired"))
                return
        elif draft is not None:
            if draft.stage is bc.DraftStage.CONTENT:
                await _receive_content(update, context, message, draft)
            elif draft.stage is bc.DraftStage.SCHEDULE:
                await _receive_time(update, context, message, draft)
            elif draft.stage is bc.DraftStage.EDIT_TEXT:
                await _receive_correction(update, context, message, draft)
            else:
                # Mid-flow, the next step is a button: say so rather than treat it as a stray message.
                await message.reply_text(_t(context.services, draft.language, "use_buttons"))
            return
    await free_input.route_free_message(update, context)


async def _receive_content(
    update: Update, context: HackbotContext, message: Message, draft: bc.BroadcastDraft
) -> None:
    services = context.services
    lang = draft.language
    content = content_of(message)
    if content is None:
        await message.reply_text(_t(services, lang, "unsupported"))
        return
    try:
        content.check()
    except PayloadTooLong as exc:
        log.info(
            "update %s: announcement refused, %s of %d characters", update.update_id, exc.kind, exc.length
        )
        await message.reply_text(_too_long(services, lang, exc))
        return
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        if current is None or current.nonce != draft.nonce:
            return
        bc.set_content(current, content, services.now())
        counts = await bc.audience_counts(session)
    await message.reply_text(
        _t(services, lang, "choose_audience"),
        reply_markup=_audience_keyboard(services, lang, draft.nonce, "top", counts),
    )


async def _receive_time(
    update: Update, context: HackbotContext, message: Message, draft: bc.BroadcastDraft
) -> None:
    services = context.services
    lang = draft.language
    now = services.now()
    at = bc.parse_send_time(message.text or "", now, services.event.tz)
    if at is None:
        await message.reply_text(_t(services, lang, "bad_time"))
        return
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        if current is None or current.nonce != draft.nonce:
            return
        bc.set_schedule(current, at, now)
        view = await _confirmation(session, services, current)
    await message.reply_text(view[0], reply_markup=view[1])


async def _receive_correction(
    update: Update, context: HackbotContext, message: Message, draft: bc.BroadcastDraft
) -> None:
    services = context.services
    lang = draft.language
    if message.text is None or draft.broadcast_id is None:
        await message.reply_text(_t(services, lang, "ask_edit_text_again"))
        return
    html = message.text_html
    async with services.db.read() as session:
        broadcast = await bc.get_broadcast(session, draft.broadcast_id)
    if broadcast is None:
        return
    try:
        bc.check_correction(broadcast.content_kind, html)
    except PayloadTooLong as exc:
        await message.reply_text(_too_long(services, lang, exc))
        return
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        if current is None or current.nonce != draft.nonce:
            return
        bc.set_correction(current, html, services.now())
    await send_content(context, message.chat_id, broadcast.content.with_html(html))
    await message.reply_text(
        _t(services, lang, "edit_confirm", id=broadcast.id, count=number(lang, broadcast.delivered)),
        reply_markup=Keyboard(
            [
                [
                    InlineKeyboardButton(
                        _l(services, lang, "button.apply_edit"), callback_data=f"bc:eok:{draft.nonce}"
                    )
                ],
                [
                    InlineKeyboardButton(
                        _l(services, lang, "button.cancel"), callback_data=f"bc:x:{draft.nonce}"
                    )
                ],
            ]
        ),
    )


async def send_content(context: HackbotContext, chat_id: int, content: bc.Content) -> None:
    """Send an announcement with the very request its recipients get (the preview)."""
    method, payload = content.send()
    bot = context.bot
    caption = payload.get("caption")
    if method == "sendMessage":
        await bot.send_message(chat_id, payload["text"], parse_mode="HTML")
    elif method == "sendPhoto":
        await bot.send_photo(chat_id, payload["photo"], caption=caption, parse_mode="HTML")
    elif method == "sendDocument":
        await bot.send_document(chat_id, payload["document"], caption=caption, parse_mode="HTML")
    else:
        await bot.send_voice(chat_id, payload["voice"], caption=caption, parse_mode="HTML")


# ---- the audience ---------------------------------------------------------------------------------------


def _audience_keyboard(
    services: Services, lang: str, nonce: str, menu: str, counts: bc.AudienceCounts
) -> Keyboard:
    event = services.event
    default = event.default_language

    def pick(text: str, kind: str, arg: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=f"bc:aud:{nonce}:{kind}:{arg}")

    def item(name: str, count: int) -> str:
        return _l(services, lang, "button.item", name=name, count=count)

    back = [InlineKeyboardButton(_l(services, lang, "button.back"), callback_data=f"bc:menu:{nonce}:top")]
    cancel = [InlineKeyboardButton(_l(services, lang, "button.cancel"), callback_data=f"bc:x:{nonce}")]
    if menu == "challenge":
        rows = [
            [pick(item(c.title.get(lang, default), counts.by_challenge.get(c.id, 0)), "challenge", c.id)]
            for c in event.challenges
        ]
        return Keyboard([*rows, back])
    if menu == "role":
        buttons = [
            pick(item(r.label.get(lang, default), counts.by_role.get(r.id, 0)), "role", r.id)
            for r in event.roles
        ]
        return Keyboard([*[buttons[i : i + 2] for i in range(0, len(buttons), 2)], back])
    if menu == "meal":
        rows = [
            [pick(item(m.name.get(lang, default), counts.by_meal.get(m.id, 0)), "meal", m.id)]
            for m in event.meals
        ]
        return Keyboard([*rows, back])
    rows = [
        [
            InlineKeyboardButton(
                _l(services, lang, "button.everyone", count=counts.everyone),
                callback_data=f"bc:aud:{nonce}:all",
            )
        ],
        [
            InlineKeyboardButton(
                _l(services, lang, "button.challenge_menu"), callback_data=f"bc:menu:{nonce}:challenge"
            ),
            InlineKeyboardButton(
                _l(services, lang, "button.role_menu"), callback_data=f"bc:menu:{nonce}:role"
            ),
        ],
    ]
    if event.meals:
        rows.append(
            [
                InlineKeyboardButton(
                    _l(services, lang, "button.meal_menu"), callback_data=f"bc:menu:{nonce}:meal"
                )
            ]
        )
    # TODO(check-in): a "people on site" button here once check-in exists (see bc.AudienceKind).
    return Keyboard([*rows, cancel])


def _known_audience(services: Services, audience: bc.Audience) -> bool:
    event = services.event
    arg = audience.arg or ""
    return {
        bc.AudienceKind.ALL: True,
        bc.AudienceKind.CHALLENGE: event.challenge(arg) is not None,
        bc.AudienceKind.ROLE: event.role(arg) is not None,
        bc.AudienceKind.MEAL: event.meal(arg) is not None,
    }[audience.kind]


async def _confirmation(
    session: AsyncSession, services: Services, draft: bc.BroadcastDraft
) -> tuple[str, Keyboard]:
    """The confirmation message: audience, number of recipients, when, and the buttons."""
    assert draft.audience is not None
    lang = draft.language
    audience = bc.Audience.decode(draft.audience)
    count = len(await bc.recipients(session, audience))
    lines = [
        _t(
            services,
            lang,
            "confirm",
            audience=Markup(audience_name(services, lang, audience)),
            count=number(lang, count),
        )
    ]
    nonce = draft.nonce
    if draft.scheduled_at is not None:
        lines.append(_t(services, lang, "confirm_at", **_when(services, draft.scheduled_at)))
        go = _l(services, lang, "button.send_later")
        when = _l(services, lang, "button.change_time")
    else:
        lines.append(_t(services, lang, "confirm_now"))
        go = _l(services, lang, "button.send_now", count=count)
        when = _l(services, lang, "button.schedule")
    keyboard = Keyboard(
        [
            [InlineKeyboardButton(go, callback_data=f"bc:go:{nonce}")],
            [
                InlineKeyboardButton(when, callback_data=f"bc:when:{nonce}"),
                InlineKeyboardButton(_l(services, lang, "button.cancel"), callback_data=f"bc:x:{nonce}"),
            ],
        ]
    )
    return "\n".join(lines), keyboard


def _schedule_keyboard(services: Services, lang: str, nonce: str) -> Keyboard:
    def choice(minutes: int) -> InlineKeyboardButton:
        text = (
            _l(services, lang, "button.in_hours", hours=minutes // 60)
            if minutes >= 60
            else _l(services, lang, "button.in_minutes", minutes=minutes)
        )
        return InlineKeyboardButton(text, callback_data=f"bc:at:{nonce}:{minutes}")

    buttons = [choice(minutes) for minutes in SCHEDULE_CHOICES]
    return Keyboard(
        [
            *[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
            [
                InlineKeyboardButton(
                    _l(services, lang, "button.type_time"), callback_data=f"bc:at:{nonce}:type"
                )
            ],
            [InlineKeyboardButton(_l(services, lang, "button.now"), callback_data=f"bc:at:{nonce}:0")],
        ]
    )


# ---- buttons --------------------------------------------------------------------------------------------


async def on_button(update: Update, context: HackbotContext) -> None:
    """All `bc:` buttons; organisers only (a forged button from anyone else is refused)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    lang = await _organiser_language(update, context)
    if lang is None:
        return
    parts = query.data.split(":")
    action, args = parts[1] if len(parts) > 1 else "", parts[2:]
    draft_actions = {
        "x": _cancel,
        "menu": _menu,
        "aud": _choose_audience,
        "when": _ask_schedule,
        "at": _set_schedule,
        "go": _confirm,
        "eok": _confirm_edit,
    }
    broadcast_actions = {
        "stop": _stop,
        "miss": _list_missed,
        "edit": _start_edit,
        "del": _ask_delete,
        "delok": _delete,
        "keep": _keep,
        "show": _show,
    }
    if action in draft_actions and args:
        draft = await _draft_for(context, user.id, args[0])
        if draft is None:
            await refuse_stale_button(update, context)
            return
        if draft.expired(context.services.now()):
            async with context.services.db.transaction() as session:
                await bc.discard_draft(session, user.id)
            await query.answer()
            await _edit_query_message(update, _t(context.services, draft.language, "expired"))
            return
        await draft_actions[action](update, context, draft, args[1:])
        return
    if action in broadcast_actions and len(args) == 1 and args[0].isdigit():
        async with context.services.db.read() as session:
            broadcast = await bc.get_broadcast(session, int(args[0]))
        if broadcast is None:
            await refuse_stale_button(update, context)
            return
        await broadcast_actions[action](update, context, broadcast, lang)
        return
    await refuse_stale_button(update, context)


async def _draft_for(context: HackbotContext, organiser_id: int, nonce: str) -> bc.BroadcastDraft | None:
    async with context.services.db.read() as session:
        draft = await bc.get_draft(session, organiser_id)
    return draft if draft is not None and draft.nonce == nonce else None


async def _cancel(update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]) -> None:
    query = update.callback_query
    assert query is not None
    async with context.services.db.transaction() as session:
        await bc.discard_draft(session, draft.organiser_id)
    await query.answer()
    await _edit_query_message(update, _t(context.services, draft.language, "cancelled"))


async def _menu(update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]) -> None:
    query = update.callback_query
    assert query is not None
    menu = args[0] if args else ""
    if draft.stage not in (bc.DraftStage.AUDIENCE, bc.DraftStage.CONFIRM) or menu not in (
        "top",
        "challenge",
        "role",
        "meal",
    ):
        await refuse_stale_button(update, context)
        return
    async with context.services.db.read() as session:
        counts = await bc.audience_counts(session)
    await query.answer()
    services = context.services
    await _edit_query_message(
        update,
        _t(services, draft.language, "choose_audience"),
        _audience_keyboard(services, draft.language, draft.nonce, menu, counts),
    )


async def _choose_audience(
    update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    lang = draft.language
    try:
        audience = bc.Audience.decode(":".join(args))
    except ValueError:
        audience = None
    if (
        audience is None
        or draft.stage is not bc.DraftStage.AUDIENCE
        or not _known_audience(services, audience)
    ):
        await refuse_stale_button(update, context)
        return
    view: tuple[str, Keyboard] | None = None
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        count = len(await bc.recipients(session, audience))
        if current is not None and current.nonce == draft.nonce and count:
            bc.set_audience(current, audience, services.now())
            view = await _confirmation(session, services, current)
    if view is None:
        # Said before confirming; the audience buttons stay so another one can be chosen.
        await query.answer(_l(services, lang, "empty_audience"), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        # The menu goes (the confirmation names the audience): no stale buttons are left, and a
        # deletion does not count against the chat's one message a second, unlike an edit.
        try:
            await context.bot.delete_message(query.message.chat.id, query.message.message_id)
        except TelegramError as exc:
            log.info("update %s: audience menu not deleted (%s)", update.update_id, exc)
    content = draft.content
    if content is not None and query.message is not None:
        await send_content(context, query.message.chat.id, content)
        await context.bot.send_message(query.message.chat.id, view[0], reply_markup=view[1])


async def _ask_schedule(
    update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]
) -> None:
    query = update.callback_query
    assert query is not None
    if draft.stage is not bc.DraftStage.CONFIRM:
        await refuse_stale_button(update, context)
        return
    services = context.services
    async with services.db.read() as session:
        text, _ = await _confirmation(session, services, draft)
    await query.answer()
    await _edit_query_message(update, text, _schedule_keyboard(services, draft.language, draft.nonce))


async def _set_schedule(
    update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    choice = args[0] if args else ""
    allowed = {"type", "0", *(str(m) for m in SCHEDULE_CHOICES)}
    if draft.stage not in (bc.DraftStage.CONFIRM, bc.DraftStage.SCHEDULE) or choice not in allowed:
        await refuse_stale_button(update, context)
        return
    now = services.now()
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        if current is None or current.nonce != draft.nonce:
            view = None
        elif choice == "type":
            bc.touch(current, bc.DraftStage.SCHEDULE, now)
            view = None
        else:
            minutes = int(choice)
            bc.set_schedule(current, now + timedelta(minutes=minutes) if minutes else None, now)
            view = await _confirmation(session, services, current)
    await query.answer()
    if choice == "type":
        back = Keyboard(
            [
                [
                    InlineKeyboardButton(
                        _l(services, draft.language, "button.back"), callback_data=f"bc:at:{draft.nonce}:0"
                    )
                ]
            ]
        )
        await _edit_query_message(update, _t(services, draft.language, "ask_time"), back)
    elif view is not None:
        await _edit_query_message(update, view[0], view[1])


async def _confirm(
    update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    lang = draft.language
    if draft.stage is not bc.DraftStage.CONFIRM or query.message is None:
        await refuse_stale_button(update, context)
        return
    now = services.now()
    broadcast: bc.Broadcast | None = None
    empty = False
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        if current is not None and current.nonce == draft.nonce and current.stage is bc.DraftStage.CONFIRM:
            try:
                broadcast = await bc.confirm_draft(
                    session,
                    current,
                    progress_chat_id=query.message.chat.id,
                    progress_message_id=query.message.message_id,
                    now=now,
                )
            except bc.EmptyAudienceError:
                # Everyone left the audience since the preview: say so, send nothing.
                await bc.discard_draft(session, draft.organiser_id)
                empty = True
    if empty:
        await query.answer(_l(services, lang, "answer_empty"), show_alert=True)
        await _edit_query_message(update, _t(services, lang, "cancelled"))
        return
    if broadcast is None:
        await refuse_stale_button(update, context)  # a second tap: the first one sent it
        return
    text, keyboard = progress_view(services, broadcast, bc.Progress(waiting=broadcast.recipients), now)
    _wake(services, ("b", broadcast.id, text))
    log.info(
        "update %s: broadcast %d confirmed for %d recipients (%s)",
        update.update_id,
        broadcast.id,
        broadcast.recipients,
        broadcast.audience,
    )
    scheduled = broadcast.status is bc.BroadcastStatus.SCHEDULED
    await query.answer(_l(services, lang, "answer_scheduled" if scheduled else "answer_sent"))
    await _edit_query_message(update, text, keyboard)


async def _stop(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    if broadcast.finished:
        await refuse_stale_button(update, context)
        return
    async with context.services.db.transaction() as session:
        cancelled = await bc.stop_broadcast(session, broadcast.id)
    _wake(context.services)
    log.info(
        "update %s: broadcast %d stopped, %d deliveries cancelled", update.update_id, broadcast.id, cancelled
    )
    await query.answer(_l(context.services, lang, "answer_stopped", count=cancelled))


async def _list_missed(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    async with services.db.read() as session:
        people = await bc.missed(session, broadcast.id)
    await query.answer()
    if query.message is None:
        return
    if not people:
        await context.bot.send_message(query.message.chat.id, _t(services, lang, "missed_none"))
        return
    lines = [
        _t(
            services,
            lang,
            "missed_line",
            name=person.name
            if person.name is not None
            else _l(services, lang, "missed_unknown", id=person.chat_id),
            reason=Markup(_t(services, lang, f"reason.{person.state.value}")),
        )
        for person in people
    ]
    title = _t(services, lang, "missed_title", id=broadcast.id, count=len(people))
    for chunk in _chunks([title, *lines]):
        await context.bot.send_message(query.message.chat.id, chunk)


def _chunks(lines: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Lines grouped into messages Telegram accepts."""
    messages: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if current and telegram_length(candidate, "HTML") > limit:
            messages.append(current)
            current = line
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


async def _start_edit(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    services = context.services
    async with services.db.transaction() as session:
        busy = await bc.running_operation(session, broadcast.id) is not None
        changeable = broadcast.finished and broadcast.deleted_at is None and not busy
        draft = (
            await bc.start_draft(
                session,
                user.id,
                lang,
                services.now(),
                stage=bc.DraftStage.EDIT_TEXT,
                broadcast_id=broadcast.id,
            )
            if changeable
            else None
        )
    if draft is None or query.message is None:
        await query.answer(_l(services, lang, "answer_busy" if busy else "not_changeable"), show_alert=True)
        return
    await query.answer()
    key = "ask_edit_text" if broadcast.content_kind is bc.ContentKind.TEXT else "ask_edit_caption"
    chat_id = query.message.chat.id
    await context.bot.send_message(
        chat_id,
        _t(services, lang, key, id=broadcast.id),
        reply_markup=_nonce_keyboard(services, lang, draft.nonce),
    )
    if broadcast.content_html:
        # The current text, formatted, so the organiser can copy it and change what is wrong.
        await context.bot.send_message(chat_id, broadcast.content_html, parse_mode="HTML")


async def _confirm_edit(
    update: Update, context: HackbotContext, draft: bc.BroadcastDraft, args: list[str]
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    lang = draft.language
    if draft.stage is not bc.DraftStage.EDIT_CONFIRM or draft.broadcast_id is None or query.message is None:
        await refuse_stale_button(update, context)
        return
    operation: bc.BroadcastOperation | None = None
    async with services.db.transaction() as session:
        current = await bc.get_draft(session, draft.organiser_id)
        broadcast = await bc.get_broadcast(session, draft.broadcast_id)
        if (
            current is not None
            and current.nonce == draft.nonce
            and broadcast is not None
            and current.content_html
        ):
            try:
                operation = await bc.edit_everywhere(
                    session,
                    broadcast,
                    current.content_html,
                    language=lang,
                    progress_chat_id=query.message.chat.id,
                    progress_message_id=query.message.message_id,
                    now=services.now(),
                )
            except (bc.NotChangeableError, PayloadTooLong):
                operation = None
            await bc.discard_draft(session, draft.organiser_id)
    if operation is None:
        await query.answer(_l(services, lang, "not_changeable"), show_alert=True)
        return
    text = operation_view(services, operation, bc.Progress(waiting=operation.total))
    _wake(services, ("o", operation.id, text))
    log.info(
        "update %s: broadcast %d corrected, %d copies to edit",
        update.update_id,
        operation.broadcast_id,
        operation.total,
    )
    await query.answer()
    await _edit_query_message(update, text)


async def _ask_delete(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    if not broadcast.finished or broadcast.deleted_at is not None or query.message is None:
        await query.answer(_l(services, lang, "not_changeable"), show_alert=True)
        return
    await query.answer()
    keyboard = Keyboard(
        [
            [
                InlineKeyboardButton(
                    _l(services, lang, "button.delete_yes"), callback_data=f"bc:delok:{broadcast.id}"
                )
            ],
            [
                InlineKeyboardButton(
                    _l(services, lang, "button.delete_no"), callback_data=f"bc:keep:{broadcast.id}"
                )
            ],
        ]
    )
    await context.bot.send_message(
        query.message.chat.id,
        _t(services, lang, "delete_confirm", id=broadcast.id, count=number(lang, broadcast.delivered)),
        reply_markup=keyboard,
    )


async def _delete(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    if query.message is None:
        return
    operation: bc.BroadcastOperation | None = None
    async with services.db.transaction() as session:
        current = await bc.get_broadcast(session, broadcast.id)
        if current is not None:
            try:
                operation = await bc.delete_everywhere(
                    session,
                    current,
                    language=lang,
                    progress_chat_id=query.message.chat.id,
                    progress_message_id=query.message.message_id,
                    now=services.now(),
                )
            except bc.NotChangeableError:
                operation = None
    if operation is None:
        await refuse_stale_button(update, context)
        return
    text = operation_view(services, operation, bc.Progress(waiting=operation.total))
    _wake(services, ("o", operation.id, text))
    log.info(
        "update %s: broadcast %d deleted, %d copies to delete",
        update.update_id,
        broadcast.id,
        operation.total,
    )
    await query.answer()
    await _edit_query_message(update, text)


async def _keep(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await _edit_query_message(update, _t(context.services, lang, "delete_kept", id=broadcast.id))


async def _show(update: Update, context: HackbotContext, broadcast: bc.Broadcast, lang: str) -> None:
    """The report (or the progress) of one broadcast, as a new message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.message is None:
        return
    text, keyboard = await _view_of(context.services, broadcast)
    await context.bot.send_message(query.message.chat.id, text, reply_markup=keyboard)


async def _view_of(services: Services, broadcast: bc.Broadcast) -> tuple[str, Keyboard | None]:
    if broadcast.finished:
        figures = bc.Progress(
            sent=broadcast.delivered,
            blocked=broadcast.blocked,
            failed=broadcast.failed,
            cancelled=broadcast.cancelled,
            in_doubt=broadcast.in_doubt,
        )
        return report_view(services, broadcast, figures)
    async with services.db.read() as session:
        figures = await bc.progress(session, bc.PURPOSE_SEND, broadcast.id)
    return progress_view(services, broadcast, figures, services.now())


# ---- /annonces ------------------------------------------------------------------------------------------


async def list_announcements(update: Update, context: HackbotContext) -> None:
    """/annonces: the latest broadcasts with their delivery figures, and buttons for each report."""
    message = update.effective_message
    lang = await _organiser_language(update, context)
    if lang is None or message is None:
        return
    services = context.services
    async with services.db.read() as session:
        recent = await bc.history(session, HISTORY_SIZE)
        live = {b.id: await bc.progress(session, bc.PURPOSE_SEND, b.id) for b in recent if not b.finished}
    if not recent:
        await message.reply_text(_t(services, lang, "history_empty"))
        return
    lines: list[str] = [_t(services, lang, "history_title")]
    for broadcast in recent:
        status = "deleted" if broadcast.deleted_at is not None else broadcast.status.value
        lines.append(
            _t(
                services,
                lang,
                "history_line",
                id=broadcast.id,
                audience=Markup(_audience_of(services, lang, broadcast.audience)),
                status=Markup(_t(services, lang, f"status.{status}")),
                **_when(services, broadcast.confirmed_at),
            )
        )
        if broadcast.summary:
            lines.append("    " + _t(services, lang, "summary_line", summary=broadcast.summary))
        figures = live.get(broadcast.id) or bc.Progress(
            sent=broadcast.delivered,
            blocked=broadcast.blocked,
            failed=broadcast.failed,
            in_doubt=broadcast.in_doubt,
        )
        key = "history_figures_doubt" if figures.in_doubt else "history_figures"
        lines.append(
            _t(
                services,
                lang,
                key,
                delivered=number(lang, figures.sent),
                blocked=number(lang, figures.blocked),
                failed=number(lang, figures.failed),
                in_doubt=number(lang, figures.in_doubt),
            )
        )
    lines.append(_t(services, lang, "history_more"))
    buttons = [
        InlineKeyboardButton(_l(services, lang, "button.show", id=b.id), callback_data=f"bc:show:{b.id}")
        for b in recent
    ]
    keyboard = Keyboard([buttons[i : i + 5] for i in range(0, len(buttons), 5)])
    chunks = _chunks(lines)
    for index, chunk in enumerate(chunks):
        await message.reply_text(chunk, reply_markup=keyboard if index == len(chunks) - 1 else None)


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Commands, buttons, and the free-message router (last of the features: it hands on what is not ours)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(["annonce", "announce"], start_announcement, filters=private),
        CommandHandler(["annonces", "announcements"], list_announcements, filters=private),
        CallbackQueryHandler(on_button, pattern=r"^bc:"),
        MessageHandler(
            private
            & filters.UpdateType.MESSAGE
            & ~filters.COMMAND
            & ~filters.StatusUpdate.ALL
            & ~any_menu_button(catalog),
            on_private_message,
        ),
    ]
