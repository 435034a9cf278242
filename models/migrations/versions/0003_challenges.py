"""Challenges and teams: runtime state per challenge, members, waiting lists, picking override, notices.

Revision ID: 0003_challenges
Revises: 0001_foundation
Create Date: 2026-11-29 11:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_challenges"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "challenge_states",
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("config_capacity", sa.Integer(), nullable=False),
        sa.Column("capacity_override", sa.Integer(), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("members >= 0", name=op.f("ck_challenge_states_members_not_negative")),
        sa.CheckConstraint("config_capacity > 0", name=op.f("ck_challenge_states_config_capacity_positive")),
        sa.CheckConstraint(
            "capacity_override IS NULL OR capacity_override > 0",
            name=op.f("ck_challenge_states_override_positive"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_challenge_states")),
    )
    op.create_table(
        "challenge_members",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge_states.challenge_id"],
            name=op.f("fk_challenge_members_challenge_id_challenge_states"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_challenge_members_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_members")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_challenge_members_participant_id")),
    )
    op.create_index(
        op.f("ix_challenge_members_challenge_id"), "challenge_members", ["challenge_id"], unique=False
    )
    op.create_table(
        "challenge_waitlist",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge_states.challenge_id"],
            name=op.f("fk_challenge_waitlist_challenge_id_challenge_states"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_challenge_waitlist_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_waitlist")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_challenge_waitlist_participant_id")),
    )
    op.create_index(
        op.f("ix_challenge_waitlist_challenge_id"), "challenge_waitlist", ["challenge_id"], unique=False
    )
    op.create_table(
        "team_picking_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("override", sa.String(length=8), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_team_picking_state_single_row")),
        sa.CheckConstraint(
            "override IS NULL OR override IN ('open', 'closed')",
            name=op.f("ck_team_picking_state_override_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_picking_state")),
    )
    # The single row exists from the start, so organisers opening and closing only ever update it.
    op.execute(
        "INSERT INTO team_picking_state (id, override, updated_at) VALUES (1, NULL, CURRENT_TIMESTAMP)"
    )
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


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_challenge_notices_participant_id"), table_name="challenge_notices")
    op.drop_table("challenge_notices")
    op.drop_table("team_picking_state")
    op.drop_index(op.f("ix_challenge_waitlist_challenge_id"), table_name="challenge_waitlist")
    op.drop_table("challenge_waitlist")
    op.drop_index(op.f("ix_challenge_members_challenge_id"), table_name="challenge_members")
    op.drop_table("challenge_members")
    op.drop_table("challenge_states")
