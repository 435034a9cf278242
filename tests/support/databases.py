"""Fresh, migrated databases for tests: SQLite always, PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from models.db import Database
from models.migrate import upgrade

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@dataclass(frozen=True)
class TestDatabase:
    """Where a test's database lives: the URL and, on PostgreSQL, its private schema."""

    __test__ = False  # a helper whose name starts with "Test", not a test class

    url: str
    schema: str | None

    def connect(self) -> Database:
        """A new `Database` on it (a restarted bot gets a new one)."""
        return Database(self.url, schema=self.schema)

    def env(self) -> dict[str, str]:
        """Environment for a bot subprocess using this database."""
        env = {"DATABASE_URL": self.url}
        if self.schema:
            env["DATABASE_SCHEMA"] = self.schema
        return env


@asynccontextmanager
async def migrated_database(backend: str, tmp_path: Path) -> AsyncIterator[TestDatabase]:
    """Create an empty database, apply every migration, drop it afterwards."""
    if backend == "sqlite":
        target = TestDatabase(f"sqlite+aiosqlite:///{tmp_path / 'hackbot.db'}", None)
        await upgrade(target.url)
        yield target
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        target = TestDatabase(POSTGRES_URL, schema)
        await upgrade(target.url, schema=schema)
        yield target
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()
