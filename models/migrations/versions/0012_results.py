"""The results evening: submissions and photos, running order, peer feedback, jury scores, votes.

Revision ID: 0012_results
Revises: 0009_challenge_notices
Create Date: 2026-12-05 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_results"
down_revision: str | Sequence[str] | None = "0009_challenge_notices"
branch_labels: str | Sequence[str] | None = None
# participants (foundation) and challenge_states (challenges) are referenced by foreign keys.
depends_on: str | Sequence[str] | None = ("0001_foundation", "0003_challenges")

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _challenge_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["challenge_id"],
        ["challenge_states.challenge_id"],
        name=op.f(f"fk_{table}_challenge_id_challenge_states"),
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "results_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deadline_override", _TS, nullable=True),
        sa.Column("current", sa.Integer(), nullable=True),
        sa.Column("order_seed", sa.Integer(), nullable=True),
        sa.Column("feedback_closed_at", _TS, nullable=True),
        sa.Column("scoring_closed_at", _TS, nullable=True),
        sa.Column("published_at", _TS, nullable=True),
        sa.Column("broadcast_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_results_state_single_row")),
        sa.CheckConstraint(
            "current IS NULL OR current >= 0", name=op.f("ck_results_state_current_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_state")),
    )
    op.create_table(
        "results_submissions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", _TS, nullable=True),
        sa.Column("edited_by", _ID, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_results_submissions_version_positive")),
        _challenge_fk("results_submissions"),
        sa.ForeignKeyConstraint(
            ["edited_by"],
            ["participants.id"],
            name=op.f("fk_results_submissions_edited_by_participants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_submissions")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_results_submissions_challenge_id")),
    )
    op.create_table(
        "results_photos",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("submission_id", _ID, nullable=False),
        sa.Column("file_id", sa.String(length=200), nullable=False),
        sa.Column("added_by", _ID, nullable=True),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["participants.id"],
            name=op.f("fk_results_photos_added_by_participants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["results_submissions.id"],
            name=op.f("fk_results_photos_submission_id_results_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_photos")),
    )
    op.create_index(
        op.f("ix_results_photos_submission_id"), "results_photos", ["submission_id"], unique=False
    )
    op.create_table(
        "results_slots",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_results_slots_position_not_negative")),
        _challenge_fk("results_slots"),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_results_slots")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_results_slots_challenge_id")),
    )
    op.create_table(
        "results_feedback",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("author_id", _ID, nullable=True),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("liked", sa.String(length=1000), nullable=True),
        sa.Column("liked_voice", sa.String(length=200), nullable=True),
        sa.Column("better", sa.String(length=1000), nullable=True),
        sa.Column("better_voice", sa.String(length=200), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["participants.id"],
            name=op.f("fk_results_feedback_author_id_participants"),
            ondelete="CASCADE",
        ),
        _challenge_fk("results_feedback"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_feedback")),
        sa.UniqueConstraint(
            "author_id", "challenge_id", name=op.f("uq_results_feedback_author_id_challenge_id")
        ),
    )
    op.create_index(
        op.f("ix_results_feedback_challenge_id"), "results_feedback", ["challenge_id"], unique=False
    )
    op.create_table(
        "results_ratings",
        sa.Column("feedback_id", _ID, nullable=False),
        sa.Column("criterion", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("value BETWEEN 1 AND 5", name=op.f("ck_results_ratings_value_range")),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["results_feedback.id"],
            name=op.f("fk_results_ratings_feedback_id_results_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feedback_id", "criterion", name=op.f("pk_results_ratings")),
    )
    op.create_table(
        "results_jury_scores",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("juror_id", sa.BigInteger(), nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("criterion", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("value BETWEEN 1 AND 10", name=op.f("ck_results_jury_scores_value_range")),
        _challenge_fk("results_jury_scores"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_jury_scores")),
        sa.UniqueConstraint(
            "juror_id",
            "challenge_id",
            "criterion",
            name=op.f("uq_results_jury_scores_juror_id_challenge_id_criterion"),
        ),
    )
    op.create_table(
        "results_votes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("voter_id", _ID, nullable=False),
        sa.Column("challenge_id", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _challenge_fk("results_votes"),
        sa.ForeignKeyConstraint(
            ["voter_id"],
            ["participants.id"],
            name=op.f("fk_results_votes_voter_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_votes")),
        sa.UniqueConstraint("voter_id", name=op.f("uq_results_votes_voter_id")),
    )
    op.create_index(op.f("ix_results_votes_challenge_id"), "results_votes", ["challenge_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_results_votes_challenge_id"), table_name="results_votes")
    op.drop_table("results_votes")
    op.drop_table("results_jury_scores")
    op.drop_table("results_ratings")
    op.drop_index(op.f("ix_results_feedback_challenge_id"), table_name="results_feedback")
    op.drop_table("results_feedback")
    op.drop_table("results_slots")
    op.drop_index(op.f("ix_results_photos_submission_id"), table_name="results_photos")
    op.drop_table("results_photos")
    op.drop_table("results_submissions")
    op.drop_table("results_state")
