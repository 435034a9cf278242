"""Shared fixtures: a fresh migrated database per test (SQLite, and PostgreSQL when configured),
a running simulator that fails the test on any Bot API violation, and the real bot on top."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from models.db import Database
from simulator import Simulator
from tests.support.databases import BACKENDS, TestDatabase, migrated_database
from tests.support.harness import BOT_TOKEN, BOT_USERNAME

# As `bot.app.build_application` does: PTB's timedelta durations, without its warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture(params=BACKENDS)
async def test_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TestDatabase]:
    """A migrated, empty database on each configured backend."""
    async with migrated_database(request.param, tmp_path) as target:
        yield target


@pytest.fixture
async def db(test_database: TestDatabase) -> AsyncIterator[Database]:
    """A `Database` on the test database."""
    database = test_database.connect()
    yield database
    await database.dispose()


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    """A running simulator; the test fails if the bot broke the Bot API spec or a rate limit.

    Mark a test `@pytest.mark.allow_rate_limited` when it provokes 429s on purpose.
    """
    simulator = Simulator()
    simulator.add_bot(token=BOT_TOKEN, username=BOT_USERNAME, first_name="Hackbot")
    await simulator.start(host="127.0.0.1", port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()
    assert not simulator.violations, f"Bot API violations: {simulator.violations}"
    if request.node.get_closest_marker("allow_rate_limited") is None:
        assert not simulator.rate_limited, f"the bot hit Telegram's rate limits: {simulator.rate_limited}"
