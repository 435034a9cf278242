"""Rehearsal mode: the real bot, a simulated Telegram and a web chat, in one process, with no account.

`hackbot demo` (and `make run` when no bot token is configured) runs a `Demo`:

1. a `Simulator` (the local Bot API server) with a bot and a staff group;
2. the web chat (`simulator.webchat`) on the same port, with four personas: a resident, a student,
   a facilitator in the staff group and an organiser (more can be added from the page);
3. the event file in rehearsal time: the programme shifted so that its first reminder arrives a few
   minutes after start (`--starts-in`, or `--from ITEM` to rehearse from a later item, e.g. lunch),
   team picking open now, quiet hours off, the staff group and the organiser persona filled in;
4. a temporary SQLite database, migrated like production's, erased at exit;
5. the real application (`bot.app.build_application`) polling the simulator in the same event loop.

Nothing leaves the machine: the simulator never talks to Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import signal
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_application
from bot.context import HackbotApplication
from bot.settings import Settings
from models.base import utcnow
from models.db import Database
from models.migrate import upgrade
from schedule.config import EventConfig, ProgrammeItem
from simulator import SimGroup, Simulator
from simulator.webchat import Persona, WebChat
from web.server import WebServer, attach

log = logging.getLogger(__name__)

DEMO_TOKEN = "5550001234:REHEARSAL-hackbot-demo"  # noqa: S105 - the simulator's fake bot, not a secret
DEMO_USERNAME = "hackbot_demo_bot"
DEFAULT_PORT = 8088
STAFF_GROUP_TITLE = "Équipe d'animation"
FIRST_REMINDER_AFTER = dt.timedelta(minutes=3)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


@dataclass(frozen=True)
class DemoPersona:
    """A persona created at start."""

    name: str
    role: str
    language: str = "fr"


DEFAULT_PERSONAS: tuple[DemoPersona, ...] = (
    DemoPersona("Amina", "resident"),
    DemoPersona("Lucas", "student"),
    DemoPersona("Camille", "facilitator"),
    DemoPersona("Nadia", "organiser"),
    DemoPersona("Sofiane", "desk"),
)


class DemoError(Exception):
    """The rehearsal cannot start; the message is one line meant for a person."""


def default_start(event: EventConfig, now: dt.datetime, from_item: str | None = None) -> dt.datetime:
    """When the anchor item (the first, or `from_item`) starts: its reminder comes 3 minutes from now."""
    anchor = _anchor(event, from_item)
    lead = event.reminders.for_item(anchor) or 0
    return now + dt.timedelta(minutes=lead) + FIRST_REMINDER_AFTER


def _anchor(event: EventConfig, from_item: str | None) -> ProgrammeItem:
    if from_item is None:
        return event.sorted_programme[0]
    item = event.item(from_item)
    if item is None:
        known = ", ".join(i.id for i in event.sorted_programme)
        raise DemoError(f"no programme item {from_item!r} in the event file (items: {known})")
    return item


def rehearsal_event(
    event: EventConfig,
    *,
    now: dt.datetime,
    starts_at: dt.datetime,
    staff_chat_id: int,
    organisers: Sequence[int],
    from_item: str | None = None,
) -> EventConfig:
    """The event as rehearsed: `from_item` (default: the first item) starts at `starts_at`.

    Everything moves by the same real elapsed time (`EventConfig.shifted_to`). Team picking opens
    now at the latest, so challenges can be joined during the rehearsal; quiet hours are off, so a
    rehearsal at night still shows the reminders; the staff group and organisers are the simulated ones.
    """
    anchor = _anchor(event, from_item)
    offset = anchor.start.astimezone(dt.UTC) - event.start.astimezone(dt.UTC)
    shifted = event.shifted_to(starts_at.astimezone(dt.UTC) - offset)
    opens, _ = shifted.team_picking_window
    team_picking = shifted.team_picking
    if opens > now:
        team_picking = team_picking.model_copy(update={"opens_at": now})
    return shifted.model_copy(
        update={
            "staff_chat_id": staff_chat_id,
            "organisers": list(organisers),
            "team_picking": team_picking,
            "quiet_hours": shifted.quiet_hours.model_copy(update={"enabled": False}),
            # The file's jurors are placeholders: in rehearsal the organisers score the evening.
            "results": shifted.results.model_copy(update={"jurors": list(organisers)}),
            "programme": [_reminded_after_start(shifted, item, now) for item in shifted.programme],
        }
    )


def _reminded_after_start(event: EventConfig, item: ProgrammeItem, now: dt.datetime) -> ProgrammeItem:
    """`item`, its reminder lead shortened so the reminder comes `FIRST_REMINDER_AFTER` from now.

    A reminder due before the rehearsal starts would go out at once, to nobody (nobody has
    registered yet): with `--starts-in 6` the first item's 15-minute reminder was 9 minutes late.
    Each item still to come keeps its lead when there is time for it; otherwise its reminder comes
    3 minutes after start, or halfway to the item when it starts within 4 minutes. An item starting
    within 2 minutes gets no reminder (it could only arrive before anyone has registered).
    """
    lead = event.reminders.for_item(item)
    if lead is None or item.start <= now:
        return item
    earliest = now + FIRST_REMINDER_AFTER
    if item.start - dt.timedelta(minutes=lead) >= earliest:
        return item
    available = int((item.start - now).total_seconds() // 60)
    shortened = available - 3 if available >= 4 else available // 2
    return item.model_copy(update={"reminder_minutes": max(shortened, 0)})


class Demo:
    """One rehearsal: simulator + web chat + bot + temporary database (`async with Demo(...)`)."""

    def __init__(
        self,
        settings: Settings,
        event: EventConfig,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        starts_at: dt.datetime | None = None,
        from_item: str | None = None,
        personas: Sequence[DemoPersona] = DEFAULT_PERSONAS,
        database: Database | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """Nothing runs until `start`; `database` (tests) replaces the temporary SQLite file."""
        self.clock = clock
        now = clock()
        self._anchor_id = _anchor(event, from_item).id
        self.starts_at = starts_at or default_start(event, now, from_item)
        self._file_event = event
        self._settings = settings
        self._host = host
        self._port = port
        self._from_item = from_item
        self._database = database
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.sim = Simulator()
        bot = self.sim.add_bot(token=DEMO_TOKEN, username=DEMO_USERNAME, first_name="Hackbot")
        self.staff_group: SimGroup = self.sim.add_group(STAFF_GROUP_TITLE)
        self.webchat = WebChat(self.sim, bot=bot, staff_group=self.staff_group)
        for persona in personas:
            self.webchat.add_persona(persona.name, persona.role, language=persona.language)
        organisers = [p.id for p in self.webchat.personas if p.role.id == "organiser"]
        self.event = rehearsal_event(
            event,
            now=now,
            starts_at=self.starts_at,
            staff_chat_id=self.staff_group.id,
            organisers=organisers,
            from_item=from_item,
        )
        desk = [p.id for p in self.webchat.personas if p.role.id == "desk"]
        self.event = self.event.model_copy(
            update={"arrival": self.event.arrival.model_copy(update={"desk_volunteers": desk})}
        )
        self.application: HackbotApplication | None = None
        self.dashboard: WebServer | None = None
        self.webchat.on_persona_added(self._on_persona_added)

    @property
    def url(self) -> str:
        """The page to open."""
        return self.sim.base_url + "/"

    @property
    def personas(self) -> list[Persona]:
        """Every persona (including those added from the page)."""
        return self.webchat.personas

    def _on_persona_added(self, persona: Persona) -> None:
        """An organiser (or desk volunteer) added from the page becomes one for the event."""
        if persona.role.id not in ("organiser", "desk") or self.application is None:
            return
        services = self.application.bot_data.services
        event = services.event
        if persona.role.id == "organiser":
            services.event = event.model_copy(update={"organisers": [*event.organisers, persona.id]})
        else:
            desk = [*event.arrival.desk_volunteers, persona.id]
            services.event = event.model_copy(
                update={"arrival": event.arrival.model_copy(update={"desk_volunteers": desk})}
            )
        self.event = services.event

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the page and the Bot API, prepare the database, start the bot."""
        await self._start_simulator()
        try:
            database = self._database or await self._temporary_database()
            settings = self._settings.model_copy(
                update={
                    "telegram_bot_token": SecretStr(DEMO_TOKEN),
                    "telegram_api_url": self.sim.base_url,
                    "database_url": database.url,
                    "webhook_url": None,
                    # The rehearsal's own dashboard: sign-in links point to where it listens here.
                    "dashboard_enabled": True,
                    "dashboard_url": None,
                }
            )
            application = build_application(settings, self.event, database=database, clock=self.clock)
            self.application = application
            # Any free port: the organiser persona's /dashboard link carries the address.
            self.dashboard = attach(application, webhook=False, host=self._host, port=0)
            await application.initialize()
            if application.post_init is not None:
                await application.post_init(application)
            assert application.updater is not None
            await application.updater.start_polling(
                poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES
            )
            await application.start()
        except BaseException:
            await self.stop()
            raise
        log.info("rehearsal started on %s", self.sim.base_url)

    async def _start_simulator(self) -> None:
        try:
            await self.sim.start(host=self._host, port=self._port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or self._port == 0:
                raise DemoError(f"cannot listen on {self._host}:{self._port}: {exc.strerror}") from None
            # Another program has the port: any free one will do, the address is printed anyway.
            log.info("port %d is busy; using a free port instead", self._port)
            await self.sim.stop()
            await self.sim.start(host=self._host, port=0)

    async def _temporary_database(self) -> Database:
        self._tempdir = tempfile.TemporaryDirectory(prefix="hackbot-demo-")
        url = f"sqlite+aiosqlite:///{Path(self._tempdir.name) / 'rehearsal.db'}"
        await upgrade(url)
        return Database(url)

    async def stop(self) -> None:
        """Stop the bot, then the simulator; erase the temporary database."""
        application, self.application = self.application, None
        if application is not None:
            updater = application.updater
            if updater is not None and updater.running:
                await updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
            with contextlib.suppress(RuntimeError):  # never initialised: nothing to shut down
                await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
        await self.webchat.close()
        await self.sim.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    async def __aenter__(self) -> Demo:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- what to tell the person who started it -----------------------------------------------------

    def banner(self) -> str:
        """What `hackbot demo` prints once everything runs (items named by their title)."""
        event = self.event
        lang = event.default_language
        local = event.local(self.starts_at)
        anchor = event.item(self._anchor_id)
        title = anchor.title.get(lang, lang) if anchor is not None else self._anchor_id
        reminder = event.reminder_at(anchor) if anchor is not None else None
        when = f"{local:%H:%M} ({event.timezone})"
        if reminder is not None:
            when += f"; its reminder arrives at {event.local(reminder):%H:%M}, to everyone registered by then"
        people = ", ".join(f"{p.name} ({p.role.id})" for p in self.personas)
        organiser = next((p.name for p in self.personas if p.role.id == "organiser"), None)
        lines = [
            "",
            f"hackbot rehearsal: open {self.url} in your browser",
            "  nothing is sent to Telegram: the bot talks to a simulated Telegram in this process",
            f"  event: {event.name.get(lang, lang)}",
            f"  «{title}» starts at {when}",
            f"  people: {people} (add more from the page)",
            *(
                [f"  dashboard: as {organiser}, send /tableau_de_bord (/dashboard) and open its link"]
                if organiser is not None and self.dashboard is not None
                else []
            ),
            "  database: temporary, erased when you stop with Ctrl+C",
            *(
                [f"  rehearse a meal instead: hackbot demo --from {meal_item}"]
                if (meal_item := _meal_item(event)) is not None
                else []
            ),
            *(
                [f"  rehearse the results evening: hackbot demo --from {event.results.item}"]
                if event.results.item is not None and event.results.item != self._anchor_id
                else []
            ),
            "  use the real Telegram: put TELEGRAM_BOT_TOKEN in .env, then `make run` (README)",
            "",
        ]
        return "\n".join(lines)


def _meal_item(event: EventConfig) -> str | None:
    """The programme item of the first meal that has one (to suggest rehearsing it)."""
    starts = [(item.start, item.id) for meal in event.meals if meal.item and (item := event.item(meal.item))]
    return min(starts)[1] if starts else None


async def run_demo(
    settings: Settings,
    event: EventConfig,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    starts_in: dt.timedelta | None = None,
    from_item: str | None = None,
    out: TextIO,
) -> None:
    """Run a rehearsal until Ctrl+C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    starts_at = utcnow() + starts_in if starts_in is not None else None
    async with Demo(settings, event, host=host, port=port, starts_at=starts_at, from_item=from_item) as demo:
        out.write(demo.banner() + "\n")
        out.flush()
        await stop.wait()
    out.write("hackbot rehearsal stopped; its database is erased.\n")
