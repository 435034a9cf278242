"""Arrival: personal check-in codes, the day's poster code, walk-ins and check-ins.

Revision ID: 0011_arrival
Revises: 0009_challenge_notices
Create Date: 2026-12-05 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_arrival"
down_revision: str | Sequence[str] | None = "0009_challenge_notices"
branch_labels: str | Sequence[str] | None = None
# `participants` (foundation) is referenced; it is already an ancestor through 0009.
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "arrival_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_arrival_codes_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_arrival_codes_code")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_arrival_codes_participant_id")),
    )
    op.create_table(
        "arrival_poster_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_poster_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_arrival_poster_codes_code")),
        sa.UniqueConstraint("event_id", "day", name=op.f("uq_arrival_poster_codes_event_id_day")),
    )
    op.create_table(
        "arrival_walk_ins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(display_name) > 0", name=op.f("ck_arrival_walk_ins_display_name_not_empty")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_walk_ins")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "arrival_check_ins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("participant_id", _ID, nullable=True),
        sa.Column("walk_in_id", _ID, nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_via", sa.String(length=16), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_via", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "(participant_id IS NULL) <> (walk_in_id IS NULL)", name=op.f("ck_arrival_check_ins_one_person")
        ),
        sa.CheckConstraint(
            "left_at IS NULL OR left_at >= arrived_at",
            name=op.f("ck_arrival_check_ins_leaves_after_arriving"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_arrival_check_ins_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["walk_in_id"],
            ["arrival_walk_ins.id"],
            name=op.f("fk_arrival_check_ins_walk_in_id_arrival_walk_ins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_check_ins")),
        sa.UniqueConstraint("day", "participant_id", name=op.f("uq_arrival_check_ins_day_participant_id")),
        sa.UniqueConstraint("day", "walk_in_id", name=op.f("uq_arrival_check_ins_day_walk_in_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_arrival_check_ins_day_left_at", "arrival_check_ins", ["day", "left_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_arrival_check_ins_day_left_at", table_name="arrival_check_ins")
    op.drop_table("arrival_check_ins")
    op.drop_table("arrival_walk_ins")
    op.drop_table("arrival_poster_codes")
    op.drop_table("arrival_codes")
