"""Programme notifications: planned batches, the last announced state of each entry, recipients.

The database is the source of truth for what must be sent:

- `programme_notifications`: one row per batch (a reminder, a meal announcement, a change notice),
  with a unique key naming the occurrence it announces, its due time, expiry and state. Scheduler
  jobs are rebuilt from the `planned` rows at every start.
- At fan-out, in ONE transaction, a batch becomes one outbox row per recipient (dedupe key
  `prog:<batch key>:<chat id>`, unique) and turns `done`. A crash before the commit leaves the batch
  planned and no row; after it, the rows exist and the batch is never fanned out again. Either way
  nobody gets it twice, and the outbox sends each row once.
- `programme_entries`: the time and place of each item as participants were last told, with a
  revision number, so a reload can tell once per change that "lunch moves to 13:00".

Domain functions take a session and plain values, never Telegram objects, and never commit.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Index, Integer, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import challenges, meals, outbox
from models.base import Base, BigIntPK, TimestampMixin
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from schedule.config import AUDIENCE_ALL, EventConfig
from schedule.planner import (
    BatchKind,
    EntryState,
    PlannedBatch,
    PlannerOptions,
    ProgrammeDiff,
    change_batch,
    diff_entries,
    entry_states,
    plan_batches,
)

log = logging.getLogger(__name__)

PURPOSE_REMINDER = "prog.reminder"
PURPOSE_MEAL = "prog.meal"
PURPOSE_CHANGE = "prog.change"
PURPOSE_ALERT = "prog.alert"
PURPOSES = {
    BatchKind.REMINDER: PURPOSE_REMINDER,
    BatchKind.MEAL: PURPOSE_MEAL,
    BatchKind.CHANGE: PURPOSE_CHANGE,
}
OPT_OUT_PURPOSES = (PURPOSE_REMINDER, PURPOSE_MEAL)
"""What `/rappels off` stops. Change notices still go out: they correct what people were told."""

PRIORITY = 1
"""Outbox priority of programme notifications: time-sensitive, so ahead of ordinary bulk rows."""


class BatchState(enum.StrEnum):
    """Life of a batch."""

    PLANNED = "planned"  # waiting for its fan-out time
    DONE = "done"  # turned into outbox rows
    CANCELLED = "cancelled"  # the item was deleted or moved, or its reminder switched off
    SKIPPED = "skipped"  # found past its expiry (the bot was down, or quiet hours)


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class NotificationBatch(TimestampMixin, Base):
    """One notification for a group of people, planned from the event configuration."""

    __tablename__ = "programme_notifications"
    __table_args__ = (Index("ix_programme_notifications_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    kind: Mapped[BatchKind] = mapped_column(_enum(BatchKind), nullable=False)
    # The programme item id, meal id, or entry name (for change notices).
    subject_id: Mapped[str] = mapped_column(String(48), nullable=False)
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    state: Mapped[BatchState] = mapped_column(_enum(BatchState), default=BatchState.PLANNED, nullable=False)
    # Change notices: what changed and the entry revision they announce.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recipients: Mapped[int | None] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column()


class ProgrammeEntry(TimestampMixin, Base):
    """Time and place of an item (or meal) as last announced, and how many times it changed."""

    __tablename__ = "programme_entries"

    entry: Mapped[str] = mapped_column(String(48), primary_key=True)
    start: Mapped[datetime] = mapped_column(nullable=False)
    end: Mapped[datetime] = mapped_column(nullable=False)
    place: Mapped[dict[str, str] | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    def state(self) -> EntryState:
        """The stored state as the planner's value."""
        return EntryState(self.start, self.end, dict(self.place) if self.place else None)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone a batch goes to, with what is needed to write to them."""

    participant_id: int
    chat_id: int
    language: str
    needs: meals.Needs = field(default_factory=meals.Needs)


@dataclass
class SyncResult:
    """What `sync_programme` did."""

    diff: ProgrammeDiff
    announced: list[str] = field(default_factory=list)  # entries whose change notice was planned
    planned: int = 0
    cancelled: int = 0
    skipped: int = 0
    rows_cancelled: int = 0


def dedupe_key(batch_key: str, chat_id: int) -> str:
    """The outbox key of one recipient's copy of a batch."""
    return f"prog:{batch_key}:{chat_id}"


def _outbox_prefix(batch_key: str) -> str:
    return f"prog:{batch_key}:"


# ---- challenge membership ----------------------------------------------------------------------
# The only two places that ask the challenges feature (issue 3) who is in which team.


async def challenge_member_ids(session: AsyncSession, challenge_id: str) -> set[int]:
    """Participant ids in the team of `challenge_id`."""
    return {member.participant_id for member in await challenges.members_of(session, challenge_id)}


async def challenge_of(session: AsyncSession, telegram_id: int) -> str | None:
    """The challenge of a Telegram user's team, None if they have none."""
    return await challenges.challenge_of(session, telegram_id)


# ---- planning ----------------------------------------------------------------------------------


async def load_entries(session: AsyncSession) -> dict[str, ProgrammeEntry]:
    """Stored entries by name."""
    return {row.entry: row for row in await session.scalars(select(ProgrammeEntry))}


async def sync_programme(
    session: AsyncSession,
    event: EventConfig,
    *,
    now: datetime,
    announce_changes: bool | None,
    options: PlannerOptions | None = None,
) -> SyncResult:
    """Bring the stored plan in line with `event`; plan change notices for moved items.

    `announce_changes`: True on a reload (every change is told), None at start-up (told unless the
    whole programme moved by one offset, which is a rehearsal moved to another moment, or unless
    nothing was stored yet), False never. `options`: None takes the event file's grace period.
    """
    stored = await load_entries(session)
    new_states = entry_states(event)
    diff = diff_entries({name: row.state() for name, row in stored.items()}, new_states)
    result = SyncResult(diff=diff)
    announce = announce_changes
    if announce is None:
        announce = bool(stored) and diff.uniform_shift is None
    if diff.uniform_shift is not None:
        log.info("programme moved as a whole by %s: no change notices", diff.uniform_shift)

    # Entries: record new states, bump revisions, plan change notices.
    for change in diff.changed:
        row = stored[change.entry]
        state = new_states[change.entry]
        row.start, row.end, row.place = state.start, state.end, dict(state.place) if state.place else None
        row.revision += 1
        if not announce:
            continue
        planned = change_batch(event, change, row.revision, now)
        if planned is None:
            continue
        # An older notice for the same entry not sent yet is superseded by this one.
        result.cancelled += await _cancel_batches(
            session,
            select(NotificationBatch.id).where(
                NotificationBatch.kind == BatchKind.CHANGE,
                NotificationBatch.subject_id == change.entry,
                NotificationBatch.state == BatchState.PLANNED,
            ),
        )
        detail = {"time": change.time_changed, "place": change.place_changed, "revision": row.revision}
        if await _insert_batch(session, planned, detail=detail):
            result.announced.append(change.entry)
    for name in diff.added:
        state = new_states[name]
        session.add(
            ProgrammeEntry(
                entry=name,
                start=state.start,
                end=state.end,
                place=dict(state.place) if state.place else None,
                revision=0,
            )
        )
    for name in diff.removed:
        await session.delete(stored[name])

    # Reminders and meal announcements.
    wanted = {batch.key: batch for batch in plan_batches(event, options)}
    existing = {
        row.key: row
        for row in await session.scalars(
            select(NotificationBatch).where(NotificationBatch.kind.in_([BatchKind.REMINDER, BatchKind.MEAL]))
        )
    }
    for key, planned in wanted.items():
        batch = existing.get(key)
        if batch is None:
            if planned.expires_at > now and await _insert_batch(session, planned):
                result.planned += 1
        elif batch.state in (BatchState.PLANNED, BatchState.CANCELLED):
            if batch.state is BatchState.CANCELLED:
                result.planned += 1  # moved back to a time it had before
            batch.state = BatchState.PLANNED
            batch.due_at, batch.expires_at = planned.due_at, planned.expires_at
    for key, batch in existing.items():
        if key in wanted:
            continue
        # The item was deleted, moved (its key names the old time) or lost its reminder.
        if batch.state is BatchState.PLANNED:
            batch.state = BatchState.CANCELLED
            result.cancelled += 1
        if batch.expires_at > now:
            result.rows_cancelled += await outbox.cancel(session, dedupe_key_prefix=_outbox_prefix(key))

    # Change notices about entries that no longer exist.
    gone = list(diff.removed)
    if gone:
        result.cancelled += await _cancel_batches(
            session,
            select(NotificationBatch.id).where(
                NotificationBatch.kind == BatchKind.CHANGE,
                NotificationBatch.subject_id.in_(gone),
                NotificationBatch.state == BatchState.PLANNED,
            ),
        )
    result.skipped = await skip_expired(session, now)
    await session.flush()
    return result


async def _insert_batch(
    session: AsyncSession, planned: PlannedBatch, *, detail: dict[str, Any] | None = None
) -> bool:
    if await session.scalar(select(NotificationBatch.id).where(NotificationBatch.key == planned.key)):
        return False
    session.add(
        NotificationBatch(
            key=planned.key,
            kind=planned.kind,
            subject_id=planned.subject_id,
            due_at=planned.due_at,
            expires_at=planned.expires_at,
            state=BatchState.PLANNED,
            detail=detail,
        )
    )
    await session.flush()
    return True


async def _cancel_batches(session: AsyncSession, ids_query: Any) -> int:
    ids = list(await session.scalars(ids_query))
    if not ids:
        return 0
    await session.execute(
        update(NotificationBatch)
        .where(NotificationBatch.id.in_(ids))
        .values(state=BatchState.CANCELLED)
        .execution_options(synchronize_session="fetch")
    )
    return len(ids)


async def skip_expired(session: AsyncSession, now: datetime) -> int:
    """Planned batches past their expiry become `skipped` (missed while the bot was down)."""
    expired = list(
        await session.scalars(
            select(NotificationBatch).where(
                NotificationBatch.state == BatchState.PLANNED, NotificationBatch.expires_at <= now
            )
        )
    )
    for row in expired:
        row.state = BatchState.SKIPPED
        log.info("programme: batch %s (%s) skipped: past its expiry", row.id, row.kind.value)
    return len(expired)


async def planned_batches(session: AsyncSession) -> list[NotificationBatch]:
    """Every batch still to fan out, by due time."""
    return list(
        await session.scalars(
            select(NotificationBatch)
            .where(NotificationBatch.state == BatchState.PLANNED)
            .order_by(NotificationBatch.due_at, NotificationBatch.id)
        )
    )


async def claim_batch(session: AsyncSession, batch_id: int) -> NotificationBatch | None:
    """The batch, locked for this transaction, if it is still planned."""
    statement = select(NotificationBatch).where(
        NotificationBatch.id == batch_id, NotificationBatch.state == BatchState.PLANNED
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return await session.scalar(statement)


def finish_batch(batch: NotificationBatch, state: BatchState, now: datetime, recipients: int = 0) -> None:
    """Record how a batch ended."""
    batch.state = state
    batch.done_at = now
    batch.recipients = recipients


async def queue_batch(
    session: AsyncSession,
    batch: NotificationBatch,
    messages: Sequence[tuple[Recipient, str]],
    *,
    now: datetime,
    send_from: datetime,
    expires_at: datetime,
) -> int:
    """Turn a claimed batch into one outbox row per recipient and mark it done; returns rows queued.

    In the caller's transaction: the rows and the batch's `done` state commit together, so a
    crash leaves either the planned batch and no row, or the rows and a batch never fanned out
    again. A text Telegram would refuse is left out (and logged) rather than failing the batch.
    """
    rows = []
    for recipient, body in messages:
        payload = outbox.text_message(body)
        try:
            outbox.validate_payload(outbox.OutboxMethod.SEND_MESSAGE, payload)
        except ValueError:
            log.error("programme: batch %d text refused for chat %d", batch.id, recipient.chat_id)
            continue
        rows.append(
            outbox.NewMessage(
                chat_id=recipient.chat_id,
                method=outbox.OutboxMethod.SEND_MESSAGE,
                payload=payload,
                dedupe_key=dedupe_key(batch.key, recipient.chat_id),
                purpose=PURPOSES[batch.kind],
                due_at=send_from,
                ref_id=batch.id,
                expires_at=expires_at,
                priority=PRIORITY,
            )
        )
    created = await outbox.enqueue_many(session, rows)
    finish_batch(batch, BatchState.DONE, now, len(created))
    return len(created)


async def queue_alert(session: AsyncSession, organisers: Iterable[int], body: str, attempt: str) -> int:
    """Tell every organiser why the event file was refused (`attempt` names this refusal)."""
    created = await outbox.enqueue_many(
        session,
        [
            outbox.NewMessage(
                chat_id=organiser,
                method=outbox.OutboxMethod.SEND_MESSAGE,
                payload=outbox.text_message(body),
                dedupe_key=f"prog:alert:{attempt}:{organiser}",
                purpose=PURPOSE_ALERT,
                priority=PRIORITY,
            )
            for organiser in organisers
        ],
    )
    return len(created)


# ---- recipients --------------------------------------------------------------------------------


async def count_reachable(session: AsyncSession) -> int:
    """Registered participants who accept reminders (an estimate of a batch's size)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.status == ParticipantStatus.ACTIVE, Participant.reminders_enabled.is_(True))
        )
        or 0
    )


async def recipients(
    session: AsyncSession,
    *,
    audience: str = AUDIENCE_ALL,
    respect_opt_out: bool = True,
    exclude: Iterable[int] = (),
    with_needs: bool = False,
) -> list[Recipient]:
    """Registered participants concerned by an audience (`all` or a challenge id), by id.

    `respect_opt_out`: leave out those who turned reminders off. `exclude`: participant ids to leave
    out (e.g. people who said they will not come to a meal).
    """
    statement = select(Participant.id, Participant.telegram_id, Participant.language).where(
        Participant.status == ParticipantStatus.ACTIVE
    )
    if respect_opt_out:
        statement = statement.where(Participant.reminders_enabled.is_(True))
    rows: list[tuple[int, int, str]] = [
        (row[0], row[1], row[2]) for row in await session.execute(statement.order_by(Participant.id))
    ]
    excluded = set(exclude)
    if audience != AUDIENCE_ALL:
        members = await challenge_member_ids(session, audience)
        rows = [row for row in rows if row[0] in members]
    rows = [row for row in rows if row[0] not in excluded]
    needs = await meals.needs_of(session, [row[0] for row in rows]) if with_needs else {}
    return [
        Recipient(participant_id, chat_id, language, needs.get(participant_id, meals.Needs()))
        for participant_id, chat_id, language in rows
    ]


# ---- opting out --------------------------------------------------------------------------------


async def set_reminders(session: AsyncSession, participant: Participant, enabled: bool) -> int:
    """Turn reminders on or off; turning them off cancels those already queued. Returns rows cancelled."""
    participant.reminders_enabled = enabled
    if enabled:
        return 0
    return await cancel_pending_for(session, participant.telegram_id, OPT_OUT_PURPOSES)


@dataclass(frozen=True, slots=True)
class ReminderSwitch:
    """What `/rappels on|off` did: the state now in force and the queued reminders withdrawn."""

    enabled: bool
    cancelled: int = 0


async def switch_reminders(session: AsyncSession, telegram_id: int, enabled: bool) -> ReminderSwitch | None:
    """Turn one registered participant's reminders on or off; None if they are not registered."""
    participant = await session.scalar(
        select(Participant).where(
            Participant.telegram_id == telegram_id, Participant.status == ParticipantStatus.ACTIVE
        )
    )
    if participant is None:
        return None
    cancelled = await set_reminders(session, participant, enabled)
    if cancelled:
        log.info("programme: %d queued reminder(s) withdrawn after an opt-out", cancelled)
    return ReminderSwitch(participant.reminders_enabled, cancelled)


async def cancel_pending_for(session: AsyncSession, chat_id: int, purposes: Sequence[str]) -> int:
    """Cancel one chat's pending programme rows of the given purposes."""
    ids = list(
        await session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.chat_id == chat_id,
                OutgoingMessage.purpose.in_(list(purposes)),
                OutgoingMessage.state == OutboxState.PENDING,
            )
        )
    )
    if not ids:
        return 0
    return await outbox.cancel(session, ids=ids)
