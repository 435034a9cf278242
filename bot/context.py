"""The services every handler needs, and the typed PTB context that carries them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from telegram.ext import Application, CallbackContext, ExtBot

from bot.people import PeopleLoader
from bot.update_ledger import UpdateLedger
from models.base import utcnow
from models.decisions import DecisionBatcher
from models.participant import Participant

if TYPE_CHECKING:
    from bot.delivery.sender import OutboxSender
    from bot.i18n import Catalog
    from bot.settings import Settings
    from models.db import Database
    from schedule.broadcasts import BroadcastRunner
    from schedule.config import EventConfig
    from schedule.programme import ProgrammeEngine
    from schedule.questions import QuestionsRuntime
    from web.server import WebServer


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
    # The programme's reminders and reloads (`schedule.programme`); set when it starts.
    programme: ProgrammeEngine | None = None
    # The dashboard and webhook server (`web.server`), when one is attached.
    web_server: WebServer | None = None
    # The question relay's caches and staff group state (`schedule.questions`); set when it starts.
    questions: QuestionsRuntime | None = None
    # Follows announcements and reports on them (`schedule.broadcasts`); set when it starts.
    broadcasts: BroadcastRunner | None = None
    update_ledger: UpdateLedger = field(init=False)
    # Contended decisions of simultaneous taps, in update-id order, batched (`models.decisions`).
    decisions: DecisionBatcher = field(init=False)
    # The person behind each update, simultaneous updates read together (`bot.people`).
    people: PeopleLoader = field(init=False)

    def __post_init__(self) -> None:
        """Build what depends on the database."""
        self.update_ledger = UpdateLedger(self.db)
        self.decisions = DecisionBatcher(self.db)
        self.people = PeopleLoader(self.db)

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


_NOT_LOADED: Any = object()


class HackbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """Callback context with typed access to the services.

    PTB builds one context per update and hands it to every handler group, so what is loaded here
    (the person behind the update) is read from the database once per update, not once per step.
    """

    @property
    def services(self) -> Services:
        """The process-wide services."""
        return self.bot_data.services

    async def person(self, telegram_id: int) -> Participant | None:
        """The participant row of `telegram_id` (None if not registered), read once per update.

        A snapshot taken before the handler acts: a handler that changes the person passes it to
        its domain function, which locks and re-reads the row inside its own transaction.
        """
        cached = self.__dict__.get("_person", _NOT_LOADED)
        if cached is not _NOT_LOADED and cached[0] == telegram_id:
            return cast("Participant | None", cached[1])
        participant = await self.services.people.get(telegram_id)
        self.__dict__["_person"] = (telegram_id, participant)
        return participant

    def forget_person(self) -> None:
        """Drop the snapshot (after the handler changed the person and reads them again)."""
        self.__dict__.pop("_person", None)


HackbotApplication = Application[ExtBot[None], HackbotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
