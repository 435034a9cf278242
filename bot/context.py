"""The services every handler needs, and the typed PTB context that carries them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.update_ledger import UpdateLedger
from models.base import utcnow

if TYPE_CHECKING:
    from bot.delivery.sender import OutboxSender
    from bot.i18n import Catalog
    from bot.settings import Settings
    from models.db import Database
    from schedule.config import EventConfig


@dataclass
class Services:
    """Process-wide services, built once at start by `bot.app.build_application`.

    `event` is replaced as a whole when the organisers reload the event file, so handlers read it
    at use time (`context.services.event`) instead of keeping a copy.
    """

    settings: Settings
    event: EventConfig
    db: Database
    catalog: Catalog
    clock: Callable[[], datetime] = utcnow
    # The one sender of `outgoing_messages`; set by `build_application` once the bot exists.
    sender: OutboxSender | None = None
    update_ledger: UpdateLedger = field(init=False)

    def __post_init__(self) -> None:
        """Build what depends on the database."""
        self.update_ledger = UpdateLedger(self.db)

    # Feature modules attach what they own here (the outbox sender, the scheduler...).
    extras: dict[str, Any] = field(default_factory=dict)

    def wake_sender(self) -> None:
        """Tell the sender that rows were enqueued (call after the enqueuing transaction commits)."""
        if self.sender is not None:
            self.sender.wake()

    def now(self) -> datetime:
        """The current time, timezone-aware (tests and rehearsals may swap the clock)."""
        return self.clock()


class BotData:
    """PTB's `bot_data`, typed: it holds the services instead of a free-form dictionary."""

    services: Services


class HackbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """Callback context with typed access to the services."""

    @property
    def services(self) -> Services:
        """The process-wide services."""
        return self.bot_data.services


HackbotApplication = Application[ExtBot[None], HackbotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
