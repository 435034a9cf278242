"""The throttle's record of the last minute's sends, saved at a clean stop for the next start.

Revision ID: 0008_recent_sends
Revises: 0001_foundation
Create Date: 2026-11-29 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_recent_sends"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "recent_sends",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recent_sends")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("recent_sends")
