"""Apply Alembic migrations programmatically (on start, from `hackbot db upgrade`, and in tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str, *, schema: str | None = None) -> Config:
    """Build the Alembic configuration in code, so no `alembic.ini` has to be found on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in URLs (encoded passwords) would be read as interpolation by ConfigParser.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade_sync(database_url: str, *, schema: str | None = None, revision: str = "heads") -> None:
    """Upgrade the database to the newest revision (blocking)."""
    command.upgrade(alembic_config(database_url, schema=schema), revision)


async def upgrade(database_url: str, *, schema: str | None = None, revision: str = "heads") -> None:
    """Upgrade from async code: Alembic's env runs its own event loop, so it runs in a thread."""
    await asyncio.to_thread(upgrade_sync, database_url, schema=schema, revision=revision)
