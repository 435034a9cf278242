"""Who is behind an update: participants read by Telegram id, the reads of simultaneous updates together.

A room tapping at once hands the bot a hundred updates together, and every one of them first needs
its person (the consent check, then the feature). One read session per update would queue a hundred
small reads on the database; instead, the ids asked for within the same turn of the event loop
(and while a read is in progress) are read in one query. Each caller gets its own row, read after
it asked, so a change the caller committed before asking is always seen.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from models.db import Database
from models.participant import Participant

log = logging.getLogger(__name__)


class PeopleLoader:
    """Reads participants by Telegram id, grouping the reads asked for at the same time."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[int, asyncio.Future[Participant | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def get(self, telegram_id: int) -> Participant | None:
        """The participant with this Telegram id (None if not registered), read after this call."""
        future = self._pending.get(telegram_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[telegram_id] = future
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_batches(), name="people")
        # Shielded: one caller giving up must not cancel the answer others wait for.
        return await asyncio.shield(future)

    async def _read_batches(self) -> None:
        await asyncio.sleep(0)  # the updates handed over together ask within this turn
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                async with self._db.read() as session:
                    rows = await session.scalars(
                        select(Participant).where(Participant.telegram_id.in_(list(batch)))
                    )
                    found = {participant.telegram_id: participant for participant in rows}
            except Exception as exc:  # every caller fails, as a read of its own would have
                log.exception("could not read %d participant(s)", len(batch))
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            for telegram_id, future in batch.items():
                if not future.done():
                    future.set_result(found.get(telegram_id))
