"""Foundation: participants and processed updates.

Revision ID: 0001_foundation
Revises: (none)
Create Date: 2026-11-29 10:54:14.123678
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001_foundation'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('participants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('consent_version', sa.String(length=32), nullable=False),
    sa.Column('consent_given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('registering', 'active', name='participantstatus', native_enum=False, length=16), nullable=False),
    sa.Column('awaiting', sa.String(length=32), nullable=True),
    sa.Column('reminders_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status != 'active' OR (role IS NOT NULL AND registered_at IS NOT NULL)", name=op.f('ck_participants_active_has_role')),
    sa.CheckConstraint('length(display_name) > 0', name=op.f('ck_participants_display_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_participants_telegram_id')),
    sqlite_autoincrement=True,
    )
    op.create_table('processed_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_updates'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('processed_updates')
    op.drop_table('participants')
