"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base


async def test_migrated_schema_matches_the_models(test_database: Any) -> None:
    """`upgrade heads` leaves nothing for autogenerate to add, drop or change."""
    database = test_database.connect()
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await database.dispose()
    assert differences == []
