"""The real `hackbot run --rehearse-at ...` process, killed with SIGKILL between two reminders.

The bot runs as a subprocess against the in-process simulator; once the first reminder has reached
everyone (and the bot recorded it) it is killed without warning and started again. Everyone still
gets the second reminder, and nobody gets either of them twice: the database, not the scheduler,
knows what was sent.

(A kill in the middle of a request, after Telegram accepted a message but before the bot recorded
it, is the one case where a person may get that single message twice: the outbox flags such rows
`in_doubt` and sends them again rather than lose them.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from pathlib import Path

from sqlalchemy import select

from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.programme import BatchState, NotificationBatch
from simulator import Simulator
from tests.e2e.test_programme_support import Inbox, registered_people, title_of
from tests.support.process import start_bot, stop
from tests.unit.programme.events import Item, event_data, write_event


async def all_sent(db: Database, item_id: str, count: int, within: float) -> None:
    """Wait until the bot recorded `count` sent rows for the reminder of `item_id`."""
    for _ in range(int(within / 0.1)):
        async with db.read() as session:
            states = list(
                await session.scalars(
                    select(OutgoingMessage.state).where(
                        OutgoingMessage.dedupe_key.like(f"prog:rem:{item_id}:%")
                    )
                )
            )
        if len(states) == count and all(state is OutboxState.SENT for state in states):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the {item_id} reminder was not recorded as sent: {states}")


async def test_sigkill_between_two_reminders_neither_duplicates_nor_loses(
    sim: Simulator, db: Database, tmp_path: Path, test_database
) -> None:
    """20 people get the first reminder, the bot is SIGKILLed and restarted, all get the second once."""
    people = await registered_people(sim, db, 22, opted_out=2)
    concerned = people[:20]
    path = write_event(
        tmp_path / "event.yaml",
        event_data(
            [
                Item("opening", 0, 70, reminder=0),
                Item("first", 70, 85, reminder=1),  # reminder due 10 s after the start
                Item("second", 85, 110, reminder=1),  # reminder due 25 s after the start
            ]
        ),
    )
    env = {**test_database.env(), "EVENT_CONFIG": str(path)}
    rehearse_at = utcnow() + dt.timedelta(seconds=5)
    log = tmp_path / "bot.log"
    inbox = Inbox().listen(sim)
    process = start_bot(sim, env, log, "--rehearse-at", rehearse_at.isoformat())
    try:
        await inbox.wait_for(title_of("first"), len(concerned), 30)
        await all_sent(db, "first", len(concerned), 10)  # between two reminders: nothing in flight
        await stop(process, signal.SIGKILL)
        assert process.returncode == -signal.SIGKILL
        process = start_bot(sim, env, log, "--rehearse-at", rehearse_at.isoformat())
        await inbox.wait_for(title_of("second"), len(concerned), 30)
        await asyncio.sleep(1.5)  # anything sent twice would arrive now
    finally:
        await stop(process, signal.SIGTERM)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]

    expected = {person.id: 1 for person in concerned}
    assert inbox.count_by_chat(title_of("first")) == expected
    assert inbox.count_by_chat(title_of("second")) == expected
    async with db.read() as session:
        batches = {b.subject_id: b for b in await session.scalars(select(NotificationBatch))}
        rows = list(
            await session.scalars(select(OutgoingMessage).where(OutgoingMessage.purpose.like("prog.%")))
        )
    assert {k: (b.state, b.recipients) for k, b in batches.items()} == {
        "first": (BatchState.DONE, 20),
        "second": (BatchState.DONE, 20),
    }
    assert len(rows) == 40 and all(r.state is OutboxState.SENT and not r.in_doubt for r in rows)
