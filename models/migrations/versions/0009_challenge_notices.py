"""Challenges: the notices table goes; a team change queues its outbox message in its own transaction.

Revision ID: 0009_challenge_notices
Revises: 0003_challenges
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_challenge_notices"
# Each feature's migrations form their own branch from the foundation: this one follows the
# revision that created the table it drops.
down_revision: str | Sequence[str] | None = "0003_challenges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision.

    The previous version turned notices into outbox rows within two seconds and at every start, so
    the table is empty unless it stopped in the two seconds after a team change.
    """
    op.drop_index(op.f("ix_challenge_notices_participant_id"), table_name="challenge_notices")
    op.drop_table("challenge_notices")


def downgrade() -> None:
    """Revert this revision."""
    op.create_table(
        "challenge_notices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("previous_challenge_id", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_challenge_notices_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_notices")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_challenge_notices_participant_id"), "challenge_notices", ["participant_id"], unique=False
    )
