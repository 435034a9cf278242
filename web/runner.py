"""Run the bot in webhook mode: our aiohttp server receives updates; PTB has no updater.

`running(application)` starts and stops the application the way `Application.run_polling` would
(initialise, `post_init`, start; then stop, `post_stop`, shut down, `post_shutdown`), without
polling: the web server attached to the application puts updates on the update queue. Tests and
the benchmark use it too. `run_webhook` is what `hackbot run --webhook` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from web.server import attach

if TYPE_CHECKING:
    from bot.context import HackbotApplication
    from bot.settings import Settings
    from schedule.config import EventConfig

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(application: HackbotApplication) -> AsyncIterator[HackbotApplication]:
    """Start the application without an updater; stop it cleanly afterwards."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            yield application
        finally:
            if application.running:
                await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def serve_until_stopped(application: HackbotApplication) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with running(application):
        log.info("bot running in webhook mode; stop with Ctrl+C")
        await stop.wait()


def run_webhook(settings: Settings, event: EventConfig) -> None:
    """Build the application without an updater, attach the web server (webhook + dashboard), run."""
    from bot.app import build_application

    application = build_application(settings, event, webhook=True)
    attach(application, webhook=True, dashboard=settings.dashboard_enabled)
    asyncio.run(serve_until_stopped(application))
