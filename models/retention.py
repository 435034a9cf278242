"""The promised deletion: `retention_days` after the event, personal data goes, the figures stay.

The purge runs in steps, each in its own transaction together with the progress row
(`retention_purges`), so a crash never leaves anything half-deleted and the next start resumes:

1. `snapshot`: the report's figures are stored (`models.report.take_snapshot`), then the purge is
   marked as begun;
2. `participants`: people are erased in batches of `BATCH`, each exactly as `/forget` erases one
   (`models.registration.forget`, which runs every feature's hooks from `models.privacy`, so a
   table a later feature adds is covered by its own hook or its foreign-key cascade);
3. `accounts`: what is kept about Telegram accounts that never registered (organisers'
   drafts and dashboard sessions, facilitators' names on questions) goes through the account hooks,
   for every Telegram id any table still names;
4. `records`: the records kept for the event's duration that carry people's words or chat ids
   (the message log, questions with their texts, announcements, sign-in links, anonymous survey
   answers once counted) are emptied; then the purge is `done`.

Organisers are warned 7 days and 1 day before (`plan_warnings`, outbox rows due then).
`plan` says what would go, without deleting anything (`hackbot purge --dry-run`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, String, Table, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import outbox, registration, report
from models.base import Base
from models.participant import Participant
from models.privacy import ERASED_ID, run_erasure_hooks
from schedule.config import EventConfig

BATCH = 25
"""Participants erased per transaction: small enough to keep the writer lock short."""
WARNING_DAYS = (7, 1)
PURPOSE_WARNING = "retention"

RECORD_TABLES = (
    "outgoing_messages",
    "recent_sends",
    "processed_updates",
    "question_links",
    "question_posts",
    "question_mutes",
    "question_tickets",
    "broadcast_drafts",
    "broadcast_operations",
    "broadcasts",
    "dashboard_sign_in_links",
    "dashboard_sessions",
    "survey_answers",
    "arrival_walk_ins",
    "results_feedback",
    "results_photos",
)
"""Tables emptied at the last step: their rows hold people's words or chat ids, and what the
report needs of them is in the snapshot. A table missing from the schema is skipped."""

ACCOUNT_COLUMNS = ("telegram_id", "organiser_id", "claimed_by", "staff_user_id", "muted_by", "chat_id")
"""Columns naming a Telegram account, whichever table has them (the account hooks take those ids)."""


class Step(enum.StrEnum):
    """Where a purge is; each step is committed with the work it did."""

    PARTICIPANTS = "participants"
    ACCOUNTS = "accounts"
    RECORDS = "records"
    DONE = "done"


class RetentionPurge(Base):
    """The purge of one event's personal data: begun when, how far, done when."""

    __tablename__ = "retention_purges"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column()
    step: Mapped[str] = mapped_column(String(32), nullable=False)
    participants_erased: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rows_erased: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


# ---- what would go ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a purge would delete: rows per table holding personal data, and when it is due."""

    due_at: datetime
    participants: int
    tables: dict[str, int] = field(default_factory=dict)
    done_at: datetime | None = None

    @property
    def rows(self) -> int:
        """Every row that would go."""
        return sum(self.tables.values())


def _personal_tables() -> list[Table]:
    """Tables tied to a participant (foreign key) or listed as records, in the schema's order."""
    tables = []
    for table in Base.metadata.sorted_tables:
        tied = any(fk.column.table.name == "participants" for fk in table.foreign_keys)
        if table.name == "participants" or tied or table.name in RECORD_TABLES:
            tables.append(table)
    return tables


async def purge_row(session: AsyncSession, event: EventConfig) -> RetentionPurge | None:
    """The purge of this event, once begun."""
    return await session.get(RetentionPurge, event.id)


async def plan(session: AsyncSession, event: EventConfig) -> Plan:
    """Count what the purge would delete (nothing is changed)."""
    row = await purge_row(session, event)
    counts = {}
    for table in _personal_tables():
        statement = select(func.count()).select_from(table)
        links = [fk.parent for fk in table.foreign_keys if fk.column.table.name == "participants"]
        if table.name not in RECORD_TABLES and links:
            # Only the rows about someone go (a team's project loses its editor, not itself).
            statement = statement.where(or_(*(column.is_not(None) for column in links)))
        counts[table.name] = int(await session.scalar(statement) or 0)
    return Plan(
        due_at=event.retention_until,
        participants=counts.get("participants", 0),
        tables={name: n for name, n in counts.items() if n},
        done_at=row.finished_at if row is not None and row.state == Step.DONE else None,
    )


# ---- the purge, step by step -----------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where the purge is after one step."""

    step: Step
    participants_erased: int
    rows_erased: int

    @property
    def done(self) -> bool:
        """Whether nothing is left to do."""
        return self.step is Step.DONE


def _progress(row: RetentionPurge) -> Progress:
    return Progress(Step(row.step), row.participants_erased, row.rows_erased)


async def _account_ids(session: AsyncSession) -> set[int]:
    """Every Telegram account any table still names (positive ids: private chats, not groups)."""
    found: set[int] = set()
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name in ACCOUNT_COLUMNS and isinstance(column.type, BigInteger):
                found.update(
                    int(value)
                    for value in await session.scalars(select(column).distinct())
                    if value is not None
                )
    return {value for value in found if value > ERASED_ID}


def _next_batch() -> Select[Any]:
    """The next participants to erase: those still waiting for a team place first.

    Erasing a team member gives their place to the first person waiting, who is told; people
    waiting go first, so nobody is promoted (and messaged) by a purge after the event.
    """
    statement = select(Participant.telegram_id)
    waitlist = Base.metadata.tables.get("challenge_waitlist")
    if waitlist is not None:
        waiting = (
            select(waitlist.c.participant_id).where(waitlist.c.participant_id == Participant.id).exists()
        )
        statement = statement.order_by(case((waiting, 0), else_=1))
    return statement.order_by(Participant.id).limit(BATCH)


async def run_step(session: AsyncSession, event: EventConfig, now: datetime) -> Progress:
    """Do the next step of the purge (a batch of participants at most); call again until `done`.

    The caller commits after each call: the work and the progress row go together.
    """
    row = await session.get(RetentionPurge, event.id, with_for_update=True)
    if row is None:
        await report.take_snapshot(session, event, now)
        row = RetentionPurge(
            event_id=event.id,
            state="running",
            started_at=now,
            step=Step.PARTICIPANTS,
            participants_erased=0,
            rows_erased=0,
        )
        session.add(row)
        await session.flush()
        return _progress(row)
    if row.step == Step.PARTICIPANTS:
        ids = list(await session.scalars(_next_batch()))
        for telegram_id in ids:
            await registration.forget(session, telegram_id, None)
        row.participants_erased += len(ids)
        if len(ids) < BATCH:
            row.step = Step.ACCOUNTS
    elif row.step == Step.ACCOUNTS:
        for telegram_id in sorted(await _account_ids(session)):
            await run_erasure_hooks(session, telegram_id, None)
        row.step = Step.RECORDS
    elif row.step == Step.RECORDS:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in RECORD_TABLES:
                result = await session.execute(delete(table))
                row.rows_erased += int(result.rowcount or 0)  # type: ignore[attr-defined]
        row.step = Step.DONE
        row.state = Step.DONE
        row.finished_at = now
    await session.flush()
    return _progress(row)


async def is_due(session: AsyncSession, event: EventConfig, now: datetime) -> bool:
    """Whether the retention period is over for data this database collected before its end.

    A database whose people all arrived after the deadline (a rehearsal of an old event file, a
    test) holds nothing the promise covers: the automatic purge leaves it alone. `hackbot purge`
    deletes regardless.
    """
    deadline = event.retention_until
    if now < deadline:
        return False
    collected = await session.scalar(
        select(func.count()).select_from(Participant).where(Participant.consent_given_at < deadline)
    )
    if collected:
        return True
    messages = await session.scalar(
        select(func.count())
        .select_from(outbox.OutgoingMessage)
        .where(outbox.OutgoingMessage.created_at < deadline)
    )
    return bool(messages)


# ---- warnings to the organisers --------------------------------------------------------------------


async def plan_warnings(
    session: AsyncSession,
    event: EventConfig,
    texts: outbox.Texts,
    now: datetime,
    date_label: Callable[[str, datetime], str],
) -> int:
    """Queue the 7-day and 1-day warnings to every organiser (once each); returns how many were queued.

    A warning already due when the bot starts goes out at once, unless a later one is due too
    (a bot started the day before the purge sends the 1-day warning only). A changed retention
    date cancels the warnings planned for the old one. `date_label` words the date in a language.
    """
    due = event.retention_until
    keys_wanted: set[str] = set()
    rows = []
    warnings = [(days, due - timedelta(days=days)) for days in WARNING_DAYS]
    if now < due:
        past = [days for days, at in warnings if at <= now]
        for days, at in warnings:
            if at <= now and days != min(past):
                continue
            for organiser in event.organisers:
                key = f"retention:warn:{event.id}:{due:%Y%m%d%H%M}:{days}:{organiser}"
                keys_wanted.add(key)
                lang = event.default_language
                body = texts.text(
                    lang,
                    "retention.warning",
                    count=days,
                    date=date_label(lang, due),
                    event=event.name.get(lang, lang),
                )
                rows.append(
                    outbox.NewMessage(
                        chat_id=organiser,
                        method="sendMessage",
                        payload=outbox.text_message(body),
                        dedupe_key=key,
                        purpose=PURPOSE_WARNING,
                        due_at=event.quiet_hours.next_allowed(max(at, now), event.tz),
                        expires_at=due,
                    )
                )
    stale = [
        message_id
        for message_id, key in await session.execute(
            select(outbox.OutgoingMessage.id, outbox.OutgoingMessage.dedupe_key).where(
                outbox.OutgoingMessage.purpose == PURPOSE_WARNING,
                outbox.OutgoingMessage.state == outbox.OutboxState.PENDING,
            )
        )
        if key not in keys_wanted
    ]
    if stale:
        await outbox.cancel(session, ids=stale, purpose=PURPOSE_WARNING)
    return len(await outbox.enqueue_many(session, rows))
