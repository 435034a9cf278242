"""The update ledger: each update id is handled once, across concurrency and restarts."""

from __future__ import annotations

import asyncio

from bot.update_ledger import UpdateLedger
from models.db import Database


async def test_concurrent_and_repeated_ids_are_first_time_once(db: Database) -> None:
    """Two hundred ids at once, each twice: exactly one True per id, ids written in few batches."""
    ledger = UpdateLedger(db)
    results = await asyncio.gather(*(ledger.first_time(i % 200) for i in range(400)))
    assert sum(results) == 200
    assert {i % 200 for i, first in enumerate(results) if first} == set(range(200))


async def test_a_restarted_process_still_knows_the_ids(db: Database, test_database) -> None:
    """A new ledger (a restarted bot) refuses ids recorded by the previous one."""
    assert await UpdateLedger(db).first_time(42)
    other = test_database.connect()
    try:
        assert not await UpdateLedger(other).first_time(42)
        assert await UpdateLedger(other).first_time(43)
    finally:
        await other.dispose()
