"""Changing the programme while the bot runs: /reload, `hackbot reload` (SIGHUP), and a broken file.

The event file lives in tmp_path and is rehearsed an hour from now; each edit is reloaded, and every
concerned participant is told once about each moved item.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

from sqlalchemy import select

from models.base import utcnow
from models.db import Database
from models.programme import BatchState, NotificationBatch
from schedule.loader import load_event_config
from schedule.programme import ProgrammeEngine
from schedule.reload import pid_file_path, request_reload
from simulator import Simulator
from tests.e2e.test_programme_support import Inbox, bot_with, registered_people, title_of
from tests.support.harness import settings_for
from tests.unit.programme.events import PARIS, Item, MealSpec, event_data, write_event

ITEMS = [
    Item("opening", 0, 1800, reminder=0),
    Item("talk", 1800, 3600, reminder=10),
    Item("lunch", 3600, 7200, kind="meal", reminder=5, place=("Espace café", "Café area")),
    Item("extra", 7200, 9000, reminder=10),
]
MEALS = [MealSpec("lunch-meal", item="lunch")]


def _moved(items: list[Item], item_id: str, **changes) -> list[Item]:
    return [Item(**{**item.__dict__, **changes}) if item.id == item_id else item for item in items]


async def test_reload_announces_each_change_once_and_keeps_a_good_programme(
    sim: Simulator, db: Database, tmp_path: Path
) -> None:
    """Moved lunch and a new place for the talk: told once; a broken file is refused with reasons."""
    people = await registered_people(sim, db, 4)
    organiser, guests = people[0], people[1:]
    path = write_event(tmp_path / "event.yaml", event_data(ITEMS, MEALS, organisers=[organiser.id]))
    event = load_event_config(path).shifted_to(utcnow() + dt.timedelta(hours=1))
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event, event_file=path) as app:
        services = app.bot_data.services
        await guests[0].send_text("/reload")
        await guests[0].wait_for_message(lambda m: "réservée" in m.text or "organising team" in m.text)

        edited = _moved(ITEMS, "lunch", start=5400, end=7200)
        edited = _moved(edited, "talk", place=("Salle B", "Room B"))
        edited = [item for item in edited if item.id != "extra"]
        write_event(path, event_data(edited, MEALS, organisers=[organiser.id]))
        await organiser.send_text("/reload")
        reply = await organiser.wait_for_message(lambda m: "Programme rechargé" in m.text)
        assert "Changements annoncés : 2" in reply.text
        lunch = services.event.item("lunch")
        assert lunch is not None and lunch.start == event.programme[0].start + dt.timedelta(seconds=5400)
        new_time = lunch.start.astimezone(PARIS).strftime("%H:%M")
        await inbox.wait_for(title_of("lunch"), len(people), 5)
        await inbox.wait_for(title_of("talk"), len(people), 5)

        await organiser.send_text("/reload")  # the same file again: nothing new to tell
        again = await organiser.wait_for_message(lambda m: "Programme rechargé" in m.text)
        assert "Changements annoncés : 0" in again.text

        broken = event_data(edited, MEALS, organisers=[organiser.id])
        broken["programme"][1]["end"] = broken["programme"][1]["start"]
        write_event(path, broken)
        await organiser.send_text("/reload")
        refused = await organiser.wait_for_message(lambda m: "erreurs" in m.text)
        assert "programme[1].end: must be after start" in refused.text
        assert services.event.item("lunch") == lunch  # the last good programme is kept

    lunch_notices = inbox.count_by_chat(title_of("lunch"))
    assert lunch_notices == {person.id: 1 for person in people}
    assert all(new_time in a.text for a in inbox.matching(title_of("lunch")))
    assert any("est déplacé à" in a.text for a in inbox.matching(title_of("lunch")))
    assert any("moves to" in a.text for a in inbox.matching(title_of("lunch")))
    assert inbox.count_by_chat(title_of("talk")) == {person.id: 1 for person in people}
    assert all("Salle B" in a.text or "Room B" in a.text for a in inbox.matching(title_of("talk")))
    async with db.read() as session:
        extra = list(
            await session.scalars(select(NotificationBatch).where(NotificationBatch.subject_id == "extra"))
        )
    assert [batch.state for batch in extra] == [BatchState.CANCELLED]


async def test_hackbot_reload_signals_the_running_bot(
    sim: Simulator, db: Database, tmp_path: Path, test_database
) -> None:
    """`hackbot reload` checks the file, then SIGHUP makes the bot reload; a broken file alerts organisers."""
    people = await registered_people(sim, db, 2)
    organiser = people[0]
    path = write_event(tmp_path / "event.yaml", event_data(ITEMS, MEALS, organisers=[organiser.id]))
    event = load_event_config(path).shifted_to(utcnow() + dt.timedelta(hours=1))
    settings = settings_for(sim, db.url, event_config=path, database_schema=test_database.schema)
    inbox = Inbox().listen(sim)
    async with bot_with(sim, db, event, event_file=path, schema=test_database.schema) as app:
        engine = app.bot_data.services.programme
        assert isinstance(engine, ProgrammeEngine)
        assert pid_file_path(settings).read_text().strip() == str(os.getpid())

        write_event(path, event_data(_moved(ITEMS, "talk", start=2400), MEALS, organisers=[organiser.id]))
        ok, message = request_reload(settings)
        assert ok, message
        await inbox.wait_for(title_of("talk"), len(people), 5)

        broken = event_data(ITEMS, MEALS, organisers=[organiser.id])
        broken["programme"][0]["kind"] = "party"
        write_event(path, broken)
        ok, message = request_reload(settings)  # checked first: the bot is not even asked
        assert not ok and "programme[0].kind" in message
        os.kill(os.getpid(), signal.SIGHUP)  # as if someone signalled it anyway
        alert = await organiser.wait_for_message(lambda m: "erreurs" in m.text)
        assert "programme[0].kind" in alert.text
        talk = app.bot_data.services.event.item("talk")
        assert talk is not None and talk.start == event.programme[0].start + dt.timedelta(seconds=2400)
    assert not pid_file_path(settings).exists()
    assert inbox.count_by_chat(title_of("talk")) == {person.id: 1 for person in people}
