"""Fixtures for the delivery tests: a migrated database per backend and a scripted Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from models.db import Database
from tests.support.databases import BACKENDS, migrated_database
from tests.unit.delivery.fakes import ScriptedRequest


@pytest.fixture(params=BACKENDS)
async def outbox_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set)."""
    async with migrated_database(request.param, tmp_path) as target:
        database = target.connect()
        try:
            yield database
        finally:
            await database.dispose()


@pytest.fixture
def api() -> ScriptedRequest:
    """A fake Bot API answering every request with success unless told otherwise."""
    return ScriptedRequest()
