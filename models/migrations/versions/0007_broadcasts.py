"""Organiser announcements: broadcasts, their edits and deletions, and the organisers' drafts.

Revision ID: 0007_broadcasts
Revises: 0001_foundation
Depends on: 0002_outbox
Create Date: 2026-11-29 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_broadcasts"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002_outbox"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _content_kind() -> sa.Enum:
    return _enum("contentkind", "text", "photo", "document", "voice")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "broadcasts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("organiser_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("content_kind", _content_kind(), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.String(length=80), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("broadcaststatus", "scheduled", "sending", "done", "stopped"), nullable=False
        ),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("in_doubt", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_table(
        "broadcast_operations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("broadcast_id", _ID, nullable=False),
        sa.Column("kind", _enum("operationkind", "edit", "delete"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("status", _enum("operationstatus", "running", "done"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_operations_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_operations")),
    )
    op.create_index(
        op.f("ix_broadcast_operations_broadcast_id"), "broadcast_operations", ["broadcast_id"], unique=False
    )
    op.create_table(
        "broadcast_drafts",
        sa.Column("organiser_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(length=16), nullable=False),
        sa.Column(
            "stage",
            _enum("draftstage", "content", "audience", "confirm", "schedule", "edit_text", "edit_confirm"),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("content_kind", _content_kind(), nullable=True),
        sa.Column("content_html", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("audience", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("broadcast_id", _ID, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_drafts_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organiser_id", name=op.f("pk_broadcast_drafts")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("broadcast_drafts")
    op.drop_index(op.f("ix_broadcast_operations_broadcast_id"), table_name="broadcast_operations")
    op.drop_table("broadcast_operations")
    op.drop_table("broadcasts")
