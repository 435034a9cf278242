"""Programme: notification batches, announced entries, dietary needs and meal answers.

Revision ID: 0004_programme
Revises: 0001_foundation
Create Date: 2026-11-29 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_programme"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "programme_notifications",
        _id(),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("reminder", "meal", "change", name="batchkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=48), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "planned", "done", "cancelled", "skipped", name="batchstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_programme_notifications_key")),
    )
    op.create_index(
        "ix_programme_notifications_state_due_at",
        "programme_notifications",
        ["state", "due_at"],
        unique=False,
    )
    op.create_table(
        "programme_entries",
        sa.Column("entry", sa.String(length=48), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.JSON(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("entry", name=op.f("pk_programme_entries")),
    )
    op.create_table(
        "dietary_profiles",
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("diets", sa.JSON(), nullable=False),
        sa.Column("allergy", sa.String(length=200), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_dietary_profiles_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_dietary_profiles")),
    )
    op.create_table(
        "meal_answers",
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("meal_id", sa.String(length=32), nullable=False),
        sa.Column("attending", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_meal_answers_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", "meal_id", name=op.f("pk_meal_answers")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("meal_answers")
    op.drop_table("dietary_profiles")
    op.drop_table("programme_entries")
    op.drop_index("ix_programme_notifications_state_due_at", table_name="programme_notifications")
    op.drop_table("programme_notifications")
