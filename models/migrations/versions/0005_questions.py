"""Questions to facilitators: tickets, posts, the staff message mapping, forum topics, mutes.

Revision ID: 0005_questions
Revises: 0001_foundation
Depends on: 0002_outbox
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_questions"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002_outbox"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "question_tickets",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("asker_id", _ID, nullable=True),
        sa.Column("challenge_id", sa.String(length=64), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("state", _enum("ticketstate", "open", "claimed", "answered", "closed"), nullable=False),
        sa.Column("follow_up_of", sa.BigInteger(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by_name", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_name", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_name", sa.String(length=64), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_thread_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=True),
        sa.Column("header_mode", sa.String(length=16), nullable=True),
        sa.Column("header_version", sa.Integer(), nullable=False),
        sa.Column("relay_attempt", sa.Integer(), nullable=False),
        sa.Column("relay_failed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asker_id"],
            ["participants.id"],
            name=op.f("fk_question_tickets_asker_id_participants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_tickets")),
    )
    op.create_index(op.f("ix_question_tickets_asker_id"), "question_tickets", ["asker_id"], unique=False)
    op.create_index(
        "ix_question_tickets_state_waiting_since",
        "question_tickets",
        ["state", "waiting_since"],
        unique=False,
    )
    op.create_table(
        "question_posts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("author", _enum("author", "asker", "staff", length=8), nullable=False),
        sa.Column("staff_user_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_name", sa.String(length=64), nullable=True),
        sa.Column(
            "kind",
            _enum(
                "contentkind",
                "text",
                "photo",
                "voice",
                "document",
                "video",
                "audio",
                "animation",
                "video_note",
                "location",
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["question_tickets.id"],
            name=op.f("fk_question_posts_ticket_id_question_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_posts")),
    )
    op.create_index(op.f("ix_question_posts_ticket_id"), "question_posts", ["ticket_id"], unique=False)
    op.create_table(
        "question_links",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("post_id", _ID, nullable=True),
        sa.Column("kind", _enum("linkkind", "relay", "notice", "delivery", "ack"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["question_tickets.id"],
            name=op.f("fk_question_links_ticket_id_question_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["question_posts.id"],
            name=op.f("fk_question_links_post_id_question_posts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_links")),
        sa.UniqueConstraint("chat_id", "message_id", name=op.f("uq_question_links_chat_id_message_id")),
    )
    op.create_index(op.f("ix_question_links_ticket_id"), "question_links", ["ticket_id"], unique=False)
    op.create_table(
        "question_topics",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic_key", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_topics")),
        sa.UniqueConstraint("chat_id", "topic_key", name=op.f("uq_question_topics_chat_id_topic_key")),
    )
    op.create_table(
        "question_mutes",
        sa.Column("participant_id", _ID, autoincrement=False, nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("muted_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_question_mutes_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_question_mutes")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("question_mutes")
    op.drop_table("question_topics")
    op.drop_index(op.f("ix_question_links_ticket_id"), table_name="question_links")
    op.drop_table("question_links")
    op.drop_index(op.f("ix_question_posts_ticket_id"), table_name="question_posts")
    op.drop_table("question_posts")
    op.drop_index("ix_question_tickets_state_waiting_since", table_name="question_tickets")
    op.drop_index(op.f("ix_question_tickets_asker_id"), table_name="question_tickets")
    op.drop_table("question_tickets")
