"""Build the PTB application: settings + event + database + catalog → a wired `Application`."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from telegram import BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults

import handlers
from bot import commands
from bot.context import BotData, HackbotApplication, HackbotContext, Services
from bot.delivery.sender import OutboxSender
from bot.delivery.throttle import TelegramThrottle
from bot.delivery.transport import AiohttpRequest
from bot.i18n import Catalog
from bot.lifecycle import run_shutdown, run_startup
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from models import rate_history, registration
from models.base import utcnow
from models.db import Database
from schedule.config import EventConfig

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    event: EventConfig,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    webhook: bool = False,
) -> HackbotApplication:
    """Wire the application; nothing touches the network until it is initialised.

    `webhook=True`: no PTB updater; our web server (`web.server`) puts updates on the update queue.
    """
    # PTB 22 warns on every 429 unless the process opts in to its next major version's timedelta
    # durations; the throttle reads both forms, and no other duration attribute is used.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    catalog = Catalog.load(default_language=event.default_language)
    db = database or Database(settings.database_url, schema=settings.database_schema)
    services = Services(settings=settings, event=event, db=db, catalog=catalog, clock=clock)
    context_types = ContextTypes(context=HackbotContext, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_file_base_url)
        .defaults(Defaults(parse_mode="HTML", tzinfo=event.tz))
        .context_types(context_types)
        .concurrent_updates(PerUserUpdateProcessor(decisions=services.decisions))
        .rate_limiter(TelegramThrottle())
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if webhook:
        builder = builder.updater(None)
    application = cast(HackbotApplication, builder.build())
    services.sender = OutboxSender(application.bot, db, clock=clock)
    application.bot_data.services = services
    handlers.register(application)
    return application


async def _post_init(application: HackbotApplication) -> None:
    """Announce the commands, then start what runs beside the handlers, once the bot is connected."""
    services = application.bot_data.services
    await announce_commands(application)
    async with services.db.transaction() as session:
        # Telegram never redelivers an update after 24 hours: older ids are dead weight.
        await registration.prune_processed_updates(session, services.now() - timedelta(days=2))
        recent = await rate_history.take_recent_sends(session, services.now())
    throttle = _throttle(application)
    if throttle is not None and recent:
        # Telegram still counts what the previous process sent in its last minute.
        now = services.now()
        throttle.replay([(chat_id, (now - sent_at).total_seconds()) for chat_id, sent_at in recent])
        log.info("throttle: %d send(s) of the previous process counted", len(recent))
    # Features first: they register the sender's result hooks, which must be in place before
    # the first row (perhaps left over from before a restart) is sent.
    await run_startup(application)
    if services.sender is not None:
        await services.sender.start()
    # Everything built so far (PTB, SQLAlchemy, the event, the catalogs) lives as long as the
    # process: taking it out of the cyclic collector's sight shortens its full collections, which
    # otherwise pause the event loop for 15-70 ms, long enough to bunch the requests the throttle
    # had spaced out (measured in bench/bench_reminders.py). `gc.unfreeze` at shut-down.
    gc.collect()
    gc.freeze()
    log.info("bot started for event %s", services.event.id)


async def _post_stop(application: HackbotApplication) -> None:
    # Features, then the sender, stop while the bot can still send (its HTTP client closes at
    # shut-down); requests still waiting in the throttle would fail after that.
    await run_shutdown(application)
    services = application.bot_data.services
    sender = services.sender
    if sender is not None and sender.running:
        await sender.stop()
    throttle = _throttle(application)
    if throttle is not None:
        now = services.now()
        sends = [
            (chat, now - timedelta(seconds=age))
            for chat, age in throttle.recent_sends()
            if isinstance(chat, int)  # an @username is not a chat id; we never send to one
        ]
        try:
            async with services.db.transaction() as session:
                await rate_history.save_recent_sends(session, sends)
        except Exception:  # the next start may meet one 429, which the throttle handles
            log.exception("throttle: could not save the last minute's sends")


async def announce_commands(application: HackbotApplication) -> None:
    """Telegram's "/" menu, per language and per scope (see `bot.commands`).

    Participants get the default scope; each organiser's, desk volunteer's and juror's private chat
    gets the participants' commands and their own on top; the staff group gets its own. A chat
    Telegram refuses (an organiser who never opened the bot, a staff group the bot is not in) is
    skipped with a log line: `hackbot check-config --online` says what to do.
    """
    services = application.bot_data.services
    event, catalog = services.event, services.catalog
    participants = commands.for_audience(commands.Audience.PARTICIPANT)
    staff = [*commands.for_audience(commands.Audience.STAFF), commands.command("staffgroup")]
    scopes: list[tuple[BotCommandScope, list[commands.Command]]] = [(BotCommandScopeDefault(), participants)]
    # Each organiser, desk volunteer and juror sees the participants' commands and theirs on top.
    people = dict.fromkeys([*event.organisers, *event.arrival.desk_volunteers, *event.results.jurors])
    for user_id in people:
        extra: list[commands.Command] = []
        if event.is_organiser(user_id):
            extra += commands.for_audience(commands.Audience.ORGANISER)
        if event.arrival.is_desk(user_id, event.organisers):
            extra += commands.for_audience(commands.Audience.DESK)
        if event.is_juror(user_id):
            extra += commands.for_audience(commands.Audience.JURY)
        scopes.append((BotCommandScopeChat(user_id), participants + extra))
    if event.staff_chat_id is not None:
        scopes.append((BotCommandScopeChat(event.staff_chat_id), staff))
    for scope, listed in scopes:
        for lang in event.languages:
            menu = [BotCommand(c.name(lang), catalog.label(lang, f"commands.{c.key}")) for c in listed]
            language_code = None if lang == event.default_language else lang
            try:
                await application.bot.set_my_commands(menu, scope=scope, language_code=language_code)
            except BadRequest as exc:
                log.warning("commands: scope %s refused (%s)", scope.type, exc.message)
                break


def _throttle(application: HackbotApplication) -> TelegramThrottle | None:
    limiter = getattr(application.bot, "rate_limiter", None)
    return limiter if isinstance(limiter, TelegramThrottle) else None


async def _post_shutdown(application: HackbotApplication) -> None:
    await application.bot_data.services.db.dispose()
    gc.unfreeze()  # in a process that outlives the bot (tests, the demo), let its objects go
