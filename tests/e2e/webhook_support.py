"""Run the real bot with its web server (webhook and/or dashboard) against the simulator.

`running_web_bot(..., webhook=True)`: no PTB updater; the bot registers its webhook with the
simulator, which then POSTs every update with the secret header. `webhook=False`: long polling,
with the dashboard served alongside (as `hackbot run` does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from bot.app import build_application
from bot.context import HackbotApplication
from models.db import Database
from schedule.config import EventConfig
from simulator import Simulator
from tests.support.harness import settings_for
from web.runner import running
from web.server import WebServer, attach, attached

WEBHOOK_SECRET = "test-webhook-secret_0123456789"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


@asynccontextmanager
async def running_web_bot(
    sim: Simulator,
    database: Database,
    event: EventConfig,
    *,
    webhook: bool,
    refresh_seconds: float = 5.0,
    clock: Any = None,
    **settings: Any,
) -> AsyncIterator[tuple[HackbotApplication, WebServer]]:
    """Start the bot with its web server on a free port; stop everything afterwards."""
    config = settings_for(
        sim, database.url, webhook_secret=SecretStr(WEBHOOK_SECRET), web_host="127.0.0.1", **settings
    )
    kwargs: dict[str, Any] = {"database": database, "webhook": webhook}
    if clock is not None:
        kwargs["clock"] = clock
    application = build_application(config, event, **kwargs)
    server = attach(application, webhook=webhook, port=0, refresh_seconds=refresh_seconds)
    if webhook:
        async with running(application):
            yield application, server
        return
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES)
    await application.start()
    try:
        yield application, server
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


@asynccontextmanager
async def running_webhook_bot(
    sim: Simulator, database: Database, event: EventConfig, *, clock: Any = None
) -> AsyncIterator[HackbotApplication]:
    """Drop-in replacement of `tests.support.harness.running_bot`, in webhook mode."""
    async with running_web_bot(sim, database, event, webhook=True, clock=clock) as (application, _server):
        yield application


def server_of(application: HackbotApplication) -> WebServer:
    """The web server attached to an application."""
    server = attached(application.bot_data.services)
    assert server is not None
    return server
