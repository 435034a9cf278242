"""Helpers for the programme end-to-end tests (no tests here): people, an inbox with arrival times,
and the bot started with settings of our own (an event file in tmp_path, a moving clock)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.context import HackbotApplication
from models.base import utcnow
from models.db import Database
from models.participant import Participant, ParticipantStatus
from schedule.config import EventConfig
from simulator import Simulator
from simulator.client import SimMessage, SimUser
from tests.support.harness import running_bot
from tests.unit.programme.events import CONSENT_VERSION


async def registered_people(
    sim: Simulator, db: Database, count: int, *, prefix: str = "P", opted_out: int = 0
) -> list[SimUser]:
    """People who registered earlier: they started the bot, and their participant rows exist.

    Half speak French, half English; the last `opted_out` turned reminders off.
    """
    users = [
        sim.add_user(first_name=f"{prefix}{index}", language_code="fr" if index % 2 == 0 else "en")
        for index in range(count)
    ]
    now = utcnow()
    for user in users:
        user.account.started_bots.add(sim.bot.id)  # they pressed /start before
    async with db.transaction() as session:
        session.add_all(
            [
                Participant(
                    telegram_id=user.id,
                    display_name=user.first_name,
                    language="fr" if index % 2 == 0 else "en",
                    role="resident",
                    consent_version=CONSENT_VERSION,
                    consent_given_at=now,
                    registered_at=now,
                    status=ParticipantStatus.ACTIVE,
                    reminders_enabled=index < count - opted_out,
                )
                for index, user in enumerate(users)
            ]
        )
    return users


@dataclass
class Arrival:
    """A bot message as it reached a chat, with the wall-clock time it arrived."""

    chat_id: int
    text: str
    at: datetime


@dataclass
class Inbox:
    """Every new bot message in private chats, with its arrival time (for "on time" assertions)."""

    arrivals: list[Arrival] = field(default_factory=list)

    def listen(self, sim: Simulator) -> Inbox:
        def record(message: SimMessage, event: str) -> None:
            if event == "new" and message.from_bot and message.chat_id > 0:
                self.arrivals.append(
                    Arrival(message.chat_id, message.text or message.caption or "", utcnow())
                )

        sim.on_message(record)
        return self

    def matching(self, needle: str | Callable[[str], bool]) -> list[Arrival]:
        check = needle if callable(needle) else (lambda text: needle in text)
        return [arrival for arrival in self.arrivals if check(arrival.text)]

    def count_by_chat(self, needle: str | Callable[[str], bool]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for arrival in self.matching(needle):
            counts[arrival.chat_id] = counts.get(arrival.chat_id, 0) + 1
        return counts

    async def wait_for(self, needle: str | Callable[[str], bool], count: int, within: float) -> list[Arrival]:
        """Wait until `count` matching messages arrived (returns them); fail after `within` seconds."""
        import asyncio

        deadline = time.monotonic() + within
        while True:
            found = self.matching(needle)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} messages matching {needle!r} arrived")
            await asyncio.sleep(0.05)


def title_of(item_id: str) -> Callable[[str], bool]:
    """Matches a message naming the programme item `item_id` (in French or English)."""
    return lambda text: f"Titre {item_id}" in text or f"Title {item_id}" in text


class MovableClock:
    """A clock that tests can move forward or back (a wall-clock jump)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@asynccontextmanager
async def bot_with(
    sim: Simulator,
    database: Database,
    event: EventConfig,
    *,
    event_file: Path | None = None,
    clock: Any = None,
    schema: str | None = None,
) -> AsyncIterator[HackbotApplication]:
    """Like `tests.support.harness.running_bot`, with an event file and the database schema set."""
    overrides: dict[str, Any] = {}
    if event_file is not None:
        overrides["event_config"] = event_file
    if schema is not None:
        overrides["database_schema"] = schema
    async with running_bot(sim, database, event, clock=clock, **overrides) as application:
        yield application
