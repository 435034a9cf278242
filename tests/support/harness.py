"""Run the real hackbot application against the simulator, over HTTP, as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from bot.app import build_application
from bot.context import HackbotApplication
from bot.settings import Settings
from models.db import Database
from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT, load_event_config
from simulator import Simulator

BOT_TOKEN = "123456789:TEST-hackbot-token"
BOT_USERNAME = "hackbot_test_bot"


def bundled_event(**changes: Any) -> EventConfig:
    """The example event, with some fields replaced (e.g. the staff group of the simulated world)."""
    event = load_event_config(BUNDLED_EVENT)
    return event.model_copy(update=changes) if changes else event


def settings_for(sim: Simulator, database_url: str, **overrides: Any) -> Settings:
    """Settings pointing the bot at the simulator."""
    return Settings(
        telegram_bot_token=SecretStr(BOT_TOKEN),
        telegram_api_url=sim.base_url,
        database_url=database_url,
        _env_file=None,  # type: ignore[call-arg]
        **overrides,
    )


@asynccontextmanager
async def running_bot(
    sim: Simulator,
    database: Database,
    event: EventConfig,
    *,
    clock: Any = None,
    **setting_overrides: Any,
) -> AsyncIterator[HackbotApplication]:
    """Start the application with long polling against the simulator; stop it cleanly afterwards."""
    setting_overrides.setdefault("database_schema", database.schema)
    settings = settings_for(sim, database.url, **setting_overrides)
    kwargs: dict[str, Any] = {"database": database}
    if clock is not None:
        kwargs["clock"] = clock
    application = build_application(settings, event, **kwargs)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0,
        timeout=10,
        allowed_updates=["message", "edited_message", "callback_query", "my_chat_member"],
    )
    await application.start()
    try:
        yield application
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


def now_utc() -> datetime:
    """Wall-clock now, timezone-aware."""
    from models.base import utcnow

    return utcnow()
