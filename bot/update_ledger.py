"""Handle each update once, even when Telegram delivers it twice (webhook retries, polling restarts).

Every update id is recorded in the database before the update is handled. Writing one row per
update in its own transaction would queue a hundred simultaneous taps behind SQLite's single
writer, so ids are recorded by group commit: the first id is written at once, and the ids that
arrive while that write is in progress go together in the next one. Each caller still waits until
its own id is durably recorded, so a crash can never let an update through twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from models import registration
from models.db import Database

log = logging.getLogger(__name__)

# Ids remembered in memory to answer an immediate redelivery without a database round trip.
_RECENT_CAPACITY = 10_000


class UpdateLedger:
    """Decides whether an update is seen for the first time, batching the database writes."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[int, asyncio.Future[bool]] = {}
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._writer: asyncio.Task[None] | None = None

    async def first_time(self, update_id: int) -> bool:
        """True the first time an update id is seen (across restarts), False afterwards."""
        if update_id in self._recent or update_id in self._pending:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[update_id] = future
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="update-ledger")
        return await future

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                async with self._db.transaction() as session:
                    new = await registration.record_new_updates(session, list(batch))
            except Exception as exc:  # the updates fail loudly rather than risk a double handling
                log.exception("could not record %d update ids", len(batch))
                for future in batch.values():
                    future.set_exception(exc)
                continue
            for update_id, future in batch.items():
                self._remember(update_id)
                future.set_result(update_id in new)

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        if len(self._recent) > _RECENT_CAPACITY:
            self._recent.popitem(last=False)
