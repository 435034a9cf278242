"""Reachability: who blocked the bot, and when an outgoing request left.

`participants.unreachable_since`: set when a person blocks the bot (a `my_chat_member` update or a
403), cleared when they unblock it; nothing is sent to them meanwhile.
`outgoing_messages.departed_at`: set when the request of a row leaves the throttle, so that after a
crash only the rows whose request may have reached Telegram are flagged "in doubt".

Revision ID: 0010_reachability
Revises: 0009_challenge_notices
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_reachability"
down_revision: str | Sequence[str] | None = "0009_challenge_notices"
branch_labels: str | Sequence[str] | None = None
# outgoing_messages is created by the outbox branch; participants by the foundation (an ancestor).
depends_on: str | Sequence[str] | None = "0002_outbox"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outgoing_messages") as batch:
        batch.add_column(sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("outgoing_messages") as batch:
        batch.drop_column("departed_at")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("unreachable_since")
