"""After the event: survey answers (anonymous), marks and rounds; profile answers; purge; report snapshot.

Revision ID: 0013_after
Revises: 0009_challenge_notices
Create Date: 2026-12-05 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_after"
down_revision: str | Sequence[str] | None = "0009_challenge_notices"
branch_labels: str | Sequence[str] | None = None
# The marks reference participants.
depends_on: str | Sequence[str] | None = ("0001_foundation",)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("scale", sa.SmallInteger(), nullable=True),
        sa.Column("choice", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("quote_allowed", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "scale IS NULL OR (scale >= 1 AND scale <= 5)", name=op.f("ck_survey_answers_scale_1_5")
        ),
        sa.CheckConstraint(
            "(CASE WHEN scale IS NULL THEN 0 ELSE 1 END) + (CASE WHEN choice IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN comment IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_survey_answers_one_value"),
        ),
        sa.CheckConstraint(
            "comment IS NOT NULL OR quote_allowed IS NULL",
            name=op.f("ck_survey_answers_quote_only_for_comments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
    )
    op.create_index(op.f("ix_survey_answers_question_id"), "survey_answers", ["question_id"], unique=False)
    op.create_table(
        "survey_marks",
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_question", sa.Integer(), nullable=False),
        sa.Column("pending_comment", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("next_question >= 0", name=op.f("ck_survey_marks_next_question_not_negative")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_survey_marks_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_survey_marks")),
    )
    op.create_table(
        "survey_rounds",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_survey_rounds")),
    )
    op.create_table(
        "retention_purges",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("participants_erased", sa.Integer(), nullable=False),
        sa.Column("rows_erased", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_retention_purges")),
    )
    op.create_table(
        "profile_answers",
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_profile_answers_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", "question_id", name=op.f("pk_profile_answers")),
    )
    op.create_table(
        "report_snapshots",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_report_snapshots")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("report_snapshots")
    op.drop_table("profile_answers")
    op.drop_table("retention_purges")
    op.drop_table("survey_rounds")
    op.drop_table("survey_marks")
    op.drop_index(op.f("ix_survey_answers_question_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
