"""The results evening: team submissions, running order, peer feedback, jury scores, public vote.

Tables (the database keeps what the rules promise, whatever the handlers do):

- `ResultsState`: one row: the organisers' deadline extension, where the presentations are
  (`current`: None before the first team, the presenting team's position, then the number of
  teams once they are over), the seed of a drawn order, and when feedback closed, scoring closed
  and the results were published.
- `Submission` (one per team: `UNIQUE(challenge_id)`) with its `Photo`s. `version` grows at each
  saved change; an edit is saved only if the draft is still at the version its author saw
  (`UPDATE ... WHERE version = seen`), so two members typing at the same second never overwrite
  each other silently: the second is told and keeps their text.
- `Slot`: the running order (`UNIQUE(challenge_id)`, position as key).
- `Feedback` (`UNIQUE(author_id, challenge_id)`: one per person per team) and its `Rating`s
  (`CHECK value BETWEEN 1 AND 5`, one per criterion). Comments are kept with their author only
  while organisers may moderate them: publishing the results detaches the author
  (`author_id` NULL); `/forget` before that removes the person's feedback (foreign-key cascade).
- `JuryScore`: `UNIQUE(juror_id, challenge_id, criterion)`, `CHECK value BETWEEN 1 AND 10`.
- `Vote`: the public's prize, `UNIQUE(voter_id)`: one vote per participant (changeable until the
  session closes, never a second row).

Rules (never for one's own team, only after the team presented, nothing after closing, jurors
only...) are checked here; refusals come back as `Refused(reason)`. Every notification (slots,
"you're next", the team now presenting, the digest) is queued through `models.outbox` in the
transaction of its cause. The ranking itself is `models.ranking` (pure).
"""

from __future__ import annotations

import enum
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models import broadcasts as bc
from models import outbox
from models.base import Base, BigIntPK, TimestampMixin, utcnow
from models.challenges import ChallengeMember
from models.participant import Participant, ParticipantStatus
from models.privacy import (
    DataItem,
    Phrase,
    register_account_data_provider,
    register_account_erasure_hook,
    register_data_provider,
)
from models.ranking import SCORE_MAX, SCORE_MIN, Normalisation, Ranking, Score, rank
from schedule.config import EventConfig

NAME_MAX = 80
DESCRIPTION_MAX = 1000
LINK_MAX = 300
COMMENT_MAX = 1000
PHOTOS_MAX = 10
FILE_ID_MAX = 200
RATING_MIN, RATING_MAX = 1, 5
PURPOSE = "results"
FIELDS = ("name", "description", "link")
COMMENTS = ("liked", "better")
_LINK = re.compile(r"^https?://[^\s<>\"]+\.[^\s<>\"]+$", re.IGNORECASE)
_DIGEST_CHUNK = 3500  # under Telegram's 4,096 with room for the heading


# ---- tables ----------------------------------------------------------------------------------------


class ResultsState(Base):
    """The single row of the evening's progress."""

    __tablename__ = "results_state"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("current IS NULL OR current >= 0", name="current_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deadline_override: Mapped[datetime | None] = mapped_column()
    current: Mapped[int | None] = mapped_column(Integer)
    order_seed: Mapped[int | None] = mapped_column(Integer)
    feedback_closed_at: Mapped[datetime | None] = mapped_column()
    scoring_closed_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    broadcast_id: Mapped[int | None] = mapped_column(BigInteger)


class Submission(TimestampMixin, Base):
    """A team's project: one per challenge."""

    __tablename__ = "results_submissions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), unique=True, nullable=False
    )
    name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX))
    link: Mapped[str | None] = mapped_column(String(LINK_MAX))
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column()
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))


class Photo(Base):
    """A photo or screenshot of a submission (Telegram's file id: the picture stays on Telegram)."""

    __tablename__ = "results_photos"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("results_submissions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    file_id: Mapped[str] = mapped_column(String(FILE_ID_MAX), nullable=False)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class Slot(Base):
    """A team's place in the running order (0 = first)."""

    __tablename__ = "results_slots"
    __table_args__ = (CheckConstraint("position >= 0", name="position_not_negative"),)

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), unique=True, nullable=False
    )


class Feedback(TimestampMixin, Base):
    """One person's feedback on one team (the author is detached once results are published)."""

    __tablename__ = "results_feedback"
    __table_args__ = (UniqueConstraint("author_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), index=True, nullable=False
    )
    liked: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    liked_voice: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    better: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    better_voice: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    hidden: Mapped[bool] = mapped_column(default=False, nullable=False)


class Rating(Base):
    """A 1-5 rating of one criterion inside a feedback."""

    __tablename__ = "results_ratings"
    __table_args__ = (CheckConstraint("value BETWEEN 1 AND 5", name="value_range"),)

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("results_feedback.id", ondelete="CASCADE"), primary_key=True
    )
    criterion: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False)


class JuryScore(TimestampMixin, Base):
    """A juror's score of one team on one criterion (jurors are Telegram ids from the event file)."""

    __tablename__ = "results_jury_scores"
    __table_args__ = (
        UniqueConstraint("juror_id", "challenge_id", "criterion"),
        CheckConstraint(f"value BETWEEN {SCORE_MIN} AND {SCORE_MAX}", name="value_range"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    juror_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    challenge_id: Mapped[str] = mapped_column(ForeignKey("challenge_states.challenge_id"), nullable=False)
    criterion: Mapped[str] = mapped_column(String(12), nullable=False)
    value: Mapped[int] = mapped_column(Integer, nullable=False)


class Vote(TimestampMixin, Base):
    """A participant's vote for the public's prize."""

    __tablename__ = "results_votes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    voter_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    challenge_id: Mapped[str] = mapped_column(
        ForeignKey("challenge_states.challenge_id"), index=True, nullable=False
    )


# ---- results of the domain functions ---------------------------------------------------------------


class Refusal(enum.StrEnum):
    """Why a request was refused (the catalog key `results.refused_<reason>`)."""

    NOT_CONFIGURED = "not_configured"  # the event file has no results section (or no criteria)
    NO_TEAM = "no_team"
    DEADLINE_PASSED = "deadline_passed"
    TOO_LONG = "too_long"
    BAD_LINK = "bad_link"
    INCOMPLETE = "incomplete"
    RATINGS_FIRST = "ratings_first"  # a comment before every criterion is rated
    TOO_MANY_PHOTOS = "too_many_photos"
    UNKNOWN_TEAM = "unknown_team"
    OWN_TEAM = "own_team"
    NOT_PRESENTED = "not_presented"
    CLOSED = "closed"
    OUT_OF_RANGE = "out_of_range"
    NOT_JUROR = "not_juror"
    NO_PUBLIC_VOTE = "no_public_vote"
    NOT_STARTED = "not_started"
    ORDER_LOCKED = "order_locked"
    NO_ORDER = "no_order"
    NO_TEAMS = "no_teams"
    STALE = "stale"
    SCORING_OPEN = "scoring_open"
    PUBLISHED = "published"
    ALREADY = "already"


@dataclass(frozen=True)
class Refused:
    """A refusal, with what the message needs (a limit and a length for a text too long)."""

    reason: Refusal
    limit: int = 0
    length: int = 0


@dataclass(frozen=True)
class Draft:
    """A team's submission as its members see it."""

    challenge_id: str
    name: str | None
    description: str | None
    link: str | None
    photos: int
    version: int
    submitted_at: datetime | None
    deadline: datetime | None
    editable: bool


@dataclass(frozen=True)
class Conflict:
    """Someone else saved the draft since this person started typing: nothing of theirs was saved."""

    draft: Draft
    field: str
    kept: str  # what they typed, given back so nothing is lost


@dataclass(frozen=True)
class Order:
    """The running order: challenge ids by position, the seed if drawn, where the session is."""

    teams: list[str]
    seed: int | None
    current: int | None
    feedback_closed: bool


@dataclass(frozen=True)
class FeedbackStep:
    """Where a person's feedback on a team stands."""

    challenge_id: str
    ratings: dict[str, int]
    next_index: int | None  # the criterion to rate next, None when all are rated
    liked: bool
    better: bool


@dataclass(frozen=True)
class Voted:
    """The person's vote now, and the team it replaced (None for a first vote)."""

    challenge_id: str
    previous: str | None


@dataclass(frozen=True)
class JurySheet:
    """A juror's progress: criteria scored per team, in running order."""

    teams: list[tuple[str, int]]
    criteria: int
    closed: bool
    scores: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class JuryOverview:
    """What organisers see: who scored how much of what (not the scores) until scoring closes."""

    jurors: list[int]
    teams: list[str]
    progress: dict[int, dict[str, int]]  # juror -> team -> criteria scored
    criteria: int
    closed: bool
    ranking: Ranking | None  # only once scoring is closed
    votes: dict[str, int]
    published: bool


@dataclass(frozen=True)
class Digest:
    """The end-of-session figures of one team (no names)."""

    challenge_id: str
    feedbacks: int
    averages: dict[str, tuple[float, int]]  # criterion -> (mean, count)
    liked: list[str]
    better: list[str]
    voices: list[str]


# ---- small helpers ---------------------------------------------------------------------------------


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT with ON CONFLICT support in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def state(session: AsyncSession, *, lock: bool = False) -> ResultsState:
    """The single state row of the evening.

    With `lock` (before a change): created if missing and locked for the change. Without it (reads):
    a row never written reads as the evening not started, and nothing is written.
    """
    if not lock:
        row = await session.scalar(
            select(ResultsState).where(ResultsState.id == 1).execution_options(populate_existing=True)
        )
        return row if row is not None else ResultsState(id=1)
    await session.execute(_insert(session, ResultsState).values(id=1).on_conflict_do_nothing())
    query = (
        select(ResultsState)
        .where(ResultsState.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one()


async def _team_of(session: AsyncSession, participant_id: int) -> str | None:
    return await session.scalar(
        select(ChallengeMember.challenge_id).where(ChallengeMember.participant_id == participant_id)
    )


async def _member_chats(session: AsyncSession, challenge_id: str) -> list[tuple[int, int, str]]:
    """(participant id, Telegram id, language) of a team's members."""
    rows = await session.execute(
        select(Participant.id, Participant.telegram_id, Participant.language)
        .join(ChallengeMember, ChallengeMember.participant_id == Participant.id)
        .where(ChallengeMember.challenge_id == challenge_id)
        .order_by(Participant.id)
    )
    return [(pid, tid, lang) for pid, tid, lang in rows]


async def _await(session: AsyncSession, participant_id: int, awaiting: str | None) -> None:
    """Set what the bot waits for from this person (their next free message goes to this feature)."""
    await session.execute(
        update(Participant).where(Participant.id == participant_id).values(awaiting=awaiting)
    )


async def stop_waiting(session: AsyncSession, participant_id: int) -> None:
    """Stop waiting for this person's text, photo or voice note for the results (if we were)."""
    await session.execute(
        update(Participant)
        .where(Participant.id == participant_id, Participant.awaiting.like("rs\\_%", escape="\\"))
        .values(awaiting=None)
    )


def deadline_of(event: EventConfig, row: ResultsState) -> datetime | None:
    """When submissions close: the organisers' extension, else the event file's item."""
    return row.deadline_override or event.submission_deadline


async def teams(session: AsyncSession, event: EventConfig) -> list[str]:
    """Challenges of the event file that have a team (at least one member), in the file's order."""
    with_members = set(await session.scalars(select(ChallengeMember.challenge_id).distinct()))
    return [c.id for c in event.challenges if c.id in with_members]


async def order(session: AsyncSession) -> Order:
    """The running order as it stands."""
    row = await state(session)
    slots = list(await session.scalars(select(Slot.challenge_id).order_by(Slot.position)))
    return Order(slots, row.order_seed, row.current, row.feedback_closed_at is not None)


# ---- submissions -----------------------------------------------------------------------------------


def _draft(
    submission: Submission | None, challenge_id: str, photos: int, deadline: datetime | None, now: datetime
) -> Draft:
    editable = deadline is None or now < deadline
    if submission is None:
        return Draft(challenge_id, None, None, None, 0, 0, None, deadline, editable)
    return Draft(
        challenge_id,
        submission.name,
        submission.description,
        submission.link,
        photos,
        submission.version,
        submission.submitted_at,
        deadline,
        editable,
    )


async def _load_draft(session: AsyncSession, challenge_id: str, event: EventConfig, now: datetime) -> Draft:
    submission = await session.scalar(
        select(Submission)
        .where(Submission.challenge_id == challenge_id)
        .execution_options(populate_existing=True)
    )
    photos = 0
    if submission is not None:
        photos = await session.scalar(select(func.count()).where(Photo.submission_id == submission.id)) or 0
    return _draft(submission, challenge_id, photos, deadline_of(event, await state(session)), now)


async def draft_of(
    session: AsyncSession, participant: Participant, event: EventConfig, now: datetime
) -> Draft | Refused:
    """The person's team's submission (empty before anyone wrote), or why they have none."""
    challenge_id = await _team_of(session, participant.id)
    if challenge_id is None:
        return Refused(Refusal.NO_TEAM)
    return await _load_draft(session, challenge_id, event, now)


async def start_edit(
    session: AsyncSession, participant: Participant, what: str, event: EventConfig, now: datetime
) -> Draft | Refused:
    """A member starts writing one field (or sending photos): remember the version they see."""
    if what not in (*FIELDS, "photo"):
        return Refused(Refusal.UNKNOWN_TEAM)
    challenge_id = await _team_of(session, participant.id)
    if challenge_id is None:
        return Refused(Refusal.NO_TEAM)
    await session.execute(
        _insert(session, Submission)
        .values(challenge_id=challenge_id, version=1, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["challenge_id"])
    )
    draft = await _load_draft(session, challenge_id, event, now)
    if not draft.editable:
        return Refused(Refusal.DEADLINE_PASSED)
    await _await(session, participant.id, f"rs_{what}:{draft.version}")
    return draft


def check_limit(what: str) -> int:
    """The length limit of a field (said before the person types)."""
    return {"name": NAME_MAX, "description": DESCRIPTION_MAX, "link": LINK_MAX, "photo": PHOTOS_MAX}[what]


def check_field(what: str, value: str) -> Refused | None:
    """Whether a typed value fits the field (limits are said before typing, checked again here)."""
    limit = check_limit(what)
    if len(value) > limit:
        return Refused(Refusal.TOO_LONG, limit, len(value))
    if what == "link" and not _LINK.match(value):
        return Refused(Refusal.BAD_LINK)
    return None


async def save_field(
    session: AsyncSession,
    participant: Participant,
    what: str,
    value: str,
    seen_version: int,
    event: EventConfig,
    now: datetime,
) -> Draft | Conflict | Refused:
    """Save one field if nobody saved the draft since `seen_version`; else a `Conflict`."""
    value = value.strip()
    refused = check_field(what, value)
    if refused is not None:
        return refused  # still waiting for a better text
    challenge_id = await _team_of(session, participant.id)
    if challenge_id is None:
        await _await(session, participant.id, None)
        return Refused(Refusal.NO_TEAM)
    row = await state(session)
    deadline = deadline_of(event, row)
    if deadline is not None and now >= deadline:
        await _await(session, participant.id, None)
        return Refused(Refusal.DEADLINE_PASSED)
    changed = await session.execute(
        update(Submission)
        .where(Submission.challenge_id == challenge_id, Submission.version == seen_version)
        .values(
            {what: value, "version": Submission.version + 1, "edited_by": participant.id, "updated_at": now}
        )
    )
    draft = await _load_draft(session, challenge_id, event, now)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        await _await(session, participant.id, f"rs_{what}:{draft.version}")
        return Conflict(draft, what, value)
    await _await(session, participant.id, None)
    return draft


async def add_photo(
    session: AsyncSession, participant: Participant, file_id: str, event: EventConfig, now: datetime
) -> Draft | Refused:
    """Add a photo to the team's submission (photos are added, never overwritten: no version check)."""
    challenge_id = await _team_of(session, participant.id)
    if challenge_id is None:
        await _await(session, participant.id, None)
        return Refused(Refusal.NO_TEAM)
    draft = await _load_draft(session, challenge_id, event, now)
    if not draft.editable:
        await _await(session, participant.id, None)
        return Refused(Refusal.DEADLINE_PASSED)
    if draft.photos >= PHOTOS_MAX:
        return Refused(Refusal.TOO_MANY_PHOTOS, PHOTOS_MAX)
    submission_id = await session.scalar(select(Submission.id).where(Submission.challenge_id == challenge_id))
    assert submission_id is not None  # `start_edit` created it
    session.add(Photo(submission_id=submission_id, file_id=file_id[:FILE_ID_MAX], added_by=participant.id))
    await session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(version=Submission.version + 1, edited_by=participant.id, updated_at=now)
    )
    return await _load_draft(session, challenge_id, event, now)


async def clear_photos(
    session: AsyncSession, participant: Participant, event: EventConfig, now: datetime
) -> Draft | Refused:
    """Remove every photo of the team's submission (to start them again)."""
    draft = await draft_of(session, participant, event, now)
    if isinstance(draft, Refused) or not draft.editable:
        return draft if isinstance(draft, Refused) else Refused(Refusal.DEADLINE_PASSED)
    submission_id = await session.scalar(
        select(Submission.id).where(Submission.challenge_id == draft.challenge_id)
    )
    if submission_id is not None:
        await session.execute(delete(Photo).where(Photo.submission_id == submission_id))
    return await _load_draft(session, draft.challenge_id, event, now)


async def submit(
    session: AsyncSession, participant: Participant, event: EventConfig, texts: outbox.Texts, now: datetime
) -> Draft | Refused:
    """Mark the team's submission as submitted and tell the other members (it stays editable)."""
    draft = await draft_of(session, participant, event, now)
    if isinstance(draft, Refused):
        return draft
    if not draft.editable:
        return Refused(Refusal.DEADLINE_PASSED)
    if not draft.name or not draft.description:
        return Refused(Refusal.INCOMPLETE)
    if draft.submitted_at is not None:
        return Refused(Refusal.ALREADY)
    await session.execute(
        update(Submission).where(Submission.challenge_id == draft.challenge_id).values(submitted_at=now)
    )
    for pid, telegram_id, lang in await _member_chats(session, draft.challenge_id):
        if pid == participant.id:
            continue
        await outbox.enqueue(
            session,
            chat_id=telegram_id,
            method="sendMessage",
            payload=outbox.text_message(
                texts.text(lang, "results.notice_submitted", name=draft.name, who=participant.display_name),
                [[(texts.label(lang, "results.button_draft"), "rs:draft")]],
            ),
            dedupe_key=f"rs:submitted:{draft.challenge_id}:{pid}",
            purpose=PURPOSE,
        )
    return await _load_draft(session, draft.challenge_id, event, now)


async def extend_deadline(
    session: AsyncSession, minutes: int, event: EventConfig, now: datetime
) -> datetime | Refused:
    """Organisers: push the deadline `minutes` past the later of now and the deadline in force."""
    if minutes <= 0 or minutes > 24 * 60:
        return Refused(Refusal.OUT_OF_RANGE)
    row = await state(session, lock=True)
    current = deadline_of(event, row)
    if current is None:
        return Refused(Refusal.NOT_CONFIGURED)
    row.deadline_override = max(current, now) + timedelta(minutes=minutes)
    return row.deadline_override


async def remind_unsubmitted(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, now: datetime
) -> int:
    """Queue the deadline reminder to the members of every team that has not submitted; returns how many."""
    row = await state(session)
    deadline = deadline_of(event, row)
    if deadline is None or now >= deadline:
        return 0
    submitted = set(
        await session.scalars(select(Submission.challenge_id).where(Submission.submitted_at.is_not(None)))
    )
    messages: list[outbox.NewMessage] = []
    for challenge_id in await teams(session, event):
        if challenge_id in submitted:
            continue
        for pid, telegram_id, lang in await _member_chats(session, challenge_id):
            local = event.local(deadline)
            messages.append(
                outbox.NewMessage(
                    chat_id=telegram_id,
                    method="sendMessage",
                    payload=outbox.text_message(
                        texts.text(lang, "results.reminder", hour=local.strftime("%H:%M")),
                        [[(texts.label(lang, "results.button_draft"), "rs:draft")]],
                    ),
                    dedupe_key=f"rs:remind:{int(deadline.timestamp())}:{pid}",
                    purpose=PURPOSE,
                    expires_at=deadline,
                )
            )
    return len(await outbox.enqueue_many(session, messages))


# ---- running order ---------------------------------------------------------------------------------


async def _active_chats(session: AsyncSession) -> list[tuple[int, int, str]]:
    rows = await session.execute(
        select(Participant.id, Participant.telegram_id, Participant.language)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .order_by(Participant.id)
    )
    return [(pid, tid, lang) for pid, tid, lang in rows]


async def _write_order(
    session: AsyncSession,
    event: EventConfig,
    texts: outbox.Texts,
    challenge_ids: Sequence[str],
    seed: int | None,
) -> Order | Refused:
    row = await state(session, lock=True)
    if row.current is not None:
        return Refused(Refusal.ORDER_LOCKED)
    if not challenge_ids:
        return Refused(Refusal.NO_TEAMS)
    await session.execute(delete(Slot))
    await session.flush()
    session.add_all(Slot(position=index, challenge_id=cid) for index, cid in enumerate(challenge_ids))
    row.order_seed = seed
    stamp = f"{seed if seed is not None else 'set'}:{'-'.join(challenge_ids)}"[:60]
    for index, challenge_id in enumerate(challenge_ids):
        for pid, telegram_id, lang in await _member_chats(session, challenge_id):
            await outbox.enqueue(
                session,
                chat_id=telegram_id,
                method="sendMessage",
                payload=outbox.text_message(
                    texts.text(
                        lang,
                        "results.notice_slot",
                        position=index + 1,
                        count=len(challenge_ids),
                        title=event.challenge_title(lang, challenge_id),
                    )
                ),
                dedupe_key=f"rs:slot:{pid}:{stamp}",
                purpose=PURPOSE,
            )
    await session.flush()
    return Order(list(challenge_ids), seed, None, row.feedback_closed_at is not None)


async def set_order(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, challenge_ids: Sequence[str]
) -> Order | Refused:
    """Organisers give the order; every team with members must appear exactly once."""
    expected = await teams(session, event)
    if sorted(challenge_ids) != sorted(expected) or len(set(challenge_ids)) != len(challenge_ids):
        return Refused(Refusal.UNKNOWN_TEAM)
    return await _write_order(session, event, texts, challenge_ids, None)


def drawn_order(challenge_ids: Sequence[str], seed: int) -> list[str]:
    """The order drawn with `seed`: the same seed always gives the same order (it is shown)."""
    shuffled = sorted(challenge_ids)
    random.Random(seed).shuffle(shuffled)  # a fair, reproducible draw, not a secret
    return shuffled


async def draw_order(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, seed: int
) -> Order | Refused:
    """Draw the order with a seed that is shown, so anyone can check the draw."""
    return await _write_order(session, event, texts, drawn_order(await teams(session, event), seed), seed)


@dataclass(frozen=True)
class Advanced:
    """The session moved on: who presents now (None once over) and who just finished."""

    order: Order
    presenting: str | None
    finished: str | None


async def next_team(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, expected: int
) -> Advanced | Refused:
    """Organisers' "next team": move from position `expected` (-1 before the first) to the next.

    A second tap on the same button (or two organisers at once) finds the session moved already:
    `STALE`, nothing sent twice. Everyone is told who presents now, with a button to give
    feedback on the team that just finished; the team after it is told it is next.
    """
    row = await state(session, lock=True)
    slots = list(await session.scalars(select(Slot.challenge_id).order_by(Slot.position)))
    if not slots:
        return Refused(Refusal.NO_ORDER)
    current = -1 if row.current is None else row.current
    if current != expected or current >= len(slots):
        return Refused(Refusal.STALE)
    if row.feedback_closed_at is not None:
        return Refused(Refusal.CLOSED)
    row.current = current + 1
    presenting = slots[row.current] if row.current < len(slots) else None
    finished = slots[current] if current >= 0 else None
    following = slots[row.current + 1] if row.current + 1 < len(slots) else None
    members = {cid: {pid for pid, _, _ in await _member_chats(session, cid)} for cid in slots}
    messages: list[outbox.NewMessage] = []
    for pid, telegram_id, lang in await _active_chats(session):
        lines = []
        buttons: list[list[tuple[str, str]]] = []
        if finished is not None:
            title = event.challenge_title(lang, finished)
            lines.append(texts.text(lang, "results.live_finished", title=title))
            if pid not in members[finished] and event.results.feedback_criteria:
                lines[-1] += " " + texts.text(lang, "results.live_feedback_invite")
                buttons.append(
                    [(texts.label(lang, "results.button_feedback", title=title), f"rs:fb:{finished}")]
                )
        if presenting is not None:
            lines.append(
                texts.text(
                    lang,
                    "results.live_presenting",
                    title=event.challenge_title(lang, presenting),
                    position=row.current + 1,
                    count=len(slots),
                )
            )
        else:
            lines.append(texts.text(lang, "results.live_over"))
        if following is not None and pid in members[following]:
            lines.append(texts.text(lang, "results.live_you_are_next"))
        messages.append(
            outbox.NewMessage(
                chat_id=telegram_id,
                method="sendMessage",
                payload=outbox.text_message("\n\n".join(lines), buttons),
                dedupe_key=f"rs:live:{row.current}:{pid}",
                purpose=PURPOSE,
            )
        )
    await outbox.enqueue_many(session, messages)
    return Advanced(Order(slots, row.order_seed, row.current, False), presenting, finished)


# ---- peer feedback ---------------------------------------------------------------------------------


async def _may_give_feedback(
    session: AsyncSession, participant: Participant, challenge_id: str, event: EventConfig
) -> Refused | None:
    if not event.results.feedback_criteria:
        return Refused(Refusal.NOT_CONFIGURED)
    position = await session.scalar(select(Slot.position).where(Slot.challenge_id == challenge_id))
    if position is None:
        return Refused(Refusal.UNKNOWN_TEAM)
    if await _team_of(session, participant.id) == challenge_id:
        return Refused(Refusal.OWN_TEAM)
    row = await state(session)
    if row.feedback_closed_at is not None:
        return Refused(Refusal.CLOSED)
    if row.current is None or position >= row.current:
        return Refused(Refusal.NOT_PRESENTED)
    return None


async def _step(
    session: AsyncSession, feedback: Feedback | None, challenge_id: str, event: EventConfig
) -> FeedbackStep:
    ratings: dict[str, int] = {}
    if feedback is not None:
        rows = await session.execute(
            select(Rating.criterion, Rating.value).where(Rating.feedback_id == feedback.id)
        )
        ratings = {criterion: value for criterion, value in rows}
    criteria = [c.id for c in event.results.feedback_criteria]
    next_index = next((i for i, c in enumerate(criteria) if c not in ratings), None)
    liked = feedback is not None and bool(feedback.liked or feedback.liked_voice)
    better = feedback is not None and bool(feedback.better or feedback.better_voice)
    return FeedbackStep(challenge_id, ratings, next_index, liked, better)


async def _feedback(session: AsyncSession, participant_id: int, challenge_id: str) -> Feedback | None:
    return await session.scalar(
        select(Feedback)
        .where(Feedback.author_id == participant_id, Feedback.challenge_id == challenge_id)
        .execution_options(populate_existing=True)
    )


async def feedback_of(
    session: AsyncSession, participant: Participant, challenge_id: str, event: EventConfig
) -> FeedbackStep | Refused:
    """Where the person's feedback on a team stands (refused if they may not give one)."""
    refused = await _may_give_feedback(session, participant, challenge_id, event)
    if refused is not None:
        return refused
    return await _step(session, await _feedback(session, participant.id, challenge_id), challenge_id, event)


async def rate(
    session: AsyncSession,
    participant: Participant,
    challenge_id: str,
    index: int,
    value: int,
    event: EventConfig,
) -> FeedbackStep | Refused:
    """Record (or change) the 1-5 rating of criterion number `index`; one feedback per person per team."""
    criteria = event.results.feedback_criteria
    if not 0 <= index < len(criteria) or not RATING_MIN <= value <= RATING_MAX:
        return Refused(Refusal.OUT_OF_RANGE)
    refused = await _may_give_feedback(session, participant, challenge_id, event)
    if refused is not None:
        return refused
    now = utcnow()
    await session.execute(
        _insert(session, Feedback)
        .values(
            author_id=participant.id, challenge_id=challenge_id, hidden=False, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing(index_elements=["author_id", "challenge_id"])
    )
    feedback = await _feedback(session, participant.id, challenge_id)
    assert feedback is not None
    await session.execute(
        _insert(session, Rating)
        .values(feedback_id=feedback.id, criterion=criteria[index].id, value=value)
        .on_conflict_do_update(index_elements=["feedback_id", "criterion"], set_={"value": value})
    )
    return await _step(session, feedback, challenge_id, event)


async def start_comment(
    session: AsyncSession, participant: Participant, challenge_id: str, which: str, event: EventConfig
) -> FeedbackStep | Refused:
    """The person chose to say what they liked (or what could be better): wait for text or voice."""
    if which not in COMMENTS:
        return Refused(Refusal.OUT_OF_RANGE)
    step = await feedback_of(session, participant, challenge_id, event)
    if isinstance(step, Refused):
        return step
    if step.next_index is not None:
        return Refused(Refusal.RATINGS_FIRST)  # a comment belongs to a complete feedback
    await _await(session, participant.id, f"rs_{which}:{challenge_id}")
    return step


async def save_comment(
    session: AsyncSession,
    participant: Participant,
    challenge_id: str,
    which: str,
    event: EventConfig,
    *,
    text: str | None = None,
    voice: str | None = None,
) -> FeedbackStep | Refused:
    """Keep the comment (text, or a voice note's file id); replaces the previous one of that kind."""
    if text is not None and len(text.strip()) > COMMENT_MAX:
        return Refused(Refusal.TOO_LONG, COMMENT_MAX, len(text.strip()))
    await _await(session, participant.id, None)
    step = await feedback_of(session, participant, challenge_id, event)
    if isinstance(step, Refused):
        return step
    feedback = await _feedback(session, participant.id, challenge_id)
    if feedback is None or which not in COMMENTS:
        return Refused(Refusal.INCOMPLETE)
    setattr(feedback, which, text.strip() if text else None)
    setattr(feedback, f"{which}_voice", voice[:FILE_ID_MAX] if voice else None)
    feedback.hidden = False
    await session.flush()
    return await _step(session, feedback, challenge_id, event)


@dataclass(frozen=True)
class Comment:
    """A comment as organisers moderate it (no author shown)."""

    feedback_id: int
    challenge_id: str
    liked: str | None
    better: str | None
    voices: int
    hidden: bool


async def comments(session: AsyncSession, limit: int = 30) -> list[Comment]:
    """The latest comments, newest first, for moderation."""
    rows = await session.scalars(
        select(Feedback)
        .where(
            (Feedback.liked.is_not(None))
            | (Feedback.better.is_not(None))
            | (Feedback.liked_voice.is_not(None))
            | (Feedback.better_voice.is_not(None))
        )
        .order_by(Feedback.updated_at.desc(), Feedback.id.desc())
        .limit(limit)
    )
    return [
        Comment(
            f.id,
            f.challenge_id,
            f.liked,
            f.better,
            int(bool(f.liked_voice)) + int(bool(f.better_voice)),
            f.hidden,
        )
        for f in rows
    ]


async def hide_comment(session: AsyncSession, feedback_id: int, hidden: bool = True) -> Comment | None:
    """Organisers hide (or show again) a feedback's comments: left out of the digest and the dashboard."""
    feedback = await session.get(Feedback, feedback_id)
    if feedback is None:
        return None
    feedback.hidden = hidden
    await session.flush()
    voices = int(bool(feedback.liked_voice)) + int(bool(feedback.better_voice))
    return Comment(
        feedback.id, feedback.challenge_id, feedback.liked, feedback.better, voices, feedback.hidden
    )


# ---- public vote -----------------------------------------------------------------------------------


async def vote(
    session: AsyncSession, participant: Participant, challenge_id: str, event: EventConfig
) -> Voted | Refused:
    """Vote for the public's prize (or change one's vote until the session closes); never one's own team."""
    if not event.results.public_vote:
        return Refused(Refusal.NO_PUBLIC_VOTE)
    if await session.scalar(select(Slot.position).where(Slot.challenge_id == challenge_id)) is None:
        return Refused(Refusal.UNKNOWN_TEAM)
    if await _team_of(session, participant.id) == challenge_id:
        return Refused(Refusal.OWN_TEAM)
    row = await state(session)
    if row.feedback_closed_at is not None:
        return Refused(Refusal.CLOSED)
    if row.current is None:
        return Refused(Refusal.NOT_STARTED)
    previous = await session.scalar(select(Vote.challenge_id).where(Vote.voter_id == participant.id))
    if previous == challenge_id:
        return Refused(Refusal.ALREADY)
    now = utcnow()
    await session.execute(
        _insert(session, Vote)
        .values(voter_id=participant.id, challenge_id=challenge_id, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=["voter_id"], set_={"challenge_id": challenge_id, "updated_at": now}
        )
    )
    return Voted(challenge_id, previous)


async def vote_of(session: AsyncSession, participant_id: int) -> str | None:
    """The team the person voted for, if any."""
    return await session.scalar(select(Vote.challenge_id).where(Vote.voter_id == participant_id))


async def vote_counts(session: AsyncSession) -> dict[str, int]:
    """Votes per team."""
    rows = await session.execute(select(Vote.challenge_id, func.count()).group_by(Vote.challenge_id))
    return {cid: count for cid, count in rows}


# ---- jury ------------------------------------------------------------------------------------------


async def jury_sheet(session: AsyncSession, juror_id: int, event: EventConfig) -> JurySheet | Refused:
    """A juror's progress on every team of the order (the teams with members before it is set)."""
    if not event.is_juror(juror_id):
        return Refused(Refusal.NOT_JUROR)
    if not event.results.jury_criteria:
        return Refused(Refusal.NOT_CONFIGURED)
    slots = (await order(session)).teams or await teams(session, event)
    rows = await session.execute(
        select(JuryScore.challenge_id, JuryScore.criterion, JuryScore.value).where(
            JuryScore.juror_id == juror_id
        )
    )
    known = {c.id for c in event.results.jury_criteria}
    scores: dict[str, dict[str, int]] = defaultdict(dict)
    for cid, criterion, value in rows:
        if criterion in known:
            scores[cid][criterion] = value
    row = await state(session)
    return JurySheet(
        [(cid, len(scores.get(cid, {}))) for cid in slots],
        len(known),
        row.scoring_closed_at is not None,
        dict(scores),
    )


async def score(
    session: AsyncSession, juror_id: int, challenge_id: str, index: int, value: int, event: EventConfig
) -> JurySheet | Refused:
    """Record (or change) a juror's score of a team on criterion number `index` (1-10), privately."""
    if not event.is_juror(juror_id):
        return Refused(Refusal.NOT_JUROR)
    criteria = event.results.jury_criteria
    if not 0 <= index < len(criteria) or not SCORE_MIN <= value <= SCORE_MAX:
        return Refused(Refusal.OUT_OF_RANGE)
    sheet = await jury_sheet(session, juror_id, event)
    if isinstance(sheet, Refused):
        return sheet
    if sheet.closed:
        return Refused(Refusal.CLOSED)
    if challenge_id not in {cid for cid, _ in sheet.teams}:
        return Refused(Refusal.UNKNOWN_TEAM)
    now = utcnow()
    await session.execute(
        _insert(session, JuryScore)
        .values(
            juror_id=juror_id,
            challenge_id=challenge_id,
            criterion=criteria[index].id,
            value=value,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["juror_id", "challenge_id", "criterion"], set_={"value": value, "updated_at": now}
        )
    )
    result = await jury_sheet(session, juror_id, event)
    assert not isinstance(result, Refused)
    return result


async def ranking(session: AsyncSession, event: EventConfig) -> Ranking:
    """The jury's ranking now (see `models.ranking` for the method)."""
    slots = (await order(session)).teams or await teams(session, event)
    rows = await session.execute(
        select(JuryScore.juror_id, JuryScore.challenge_id, JuryScore.criterion, JuryScore.value)
    )
    weights = {c.id: c.weight for c in event.results.jury_criteria}
    return rank(
        slots,
        [Score(*row) for row in rows],
        weights,
        Normalisation(event.results.normalisation),
        jurors=event.results.jurors,
    )


async def jury_overview(session: AsyncSession, event: EventConfig) -> JuryOverview:
    """Organisers' view: progress per juror and team; the ranking only once scoring is closed."""
    slots = (await order(session)).teams or await teams(session, event)
    known = {c.id for c in event.results.jury_criteria}
    rows = await session.execute(
        select(JuryScore.juror_id, JuryScore.challenge_id, func.count())
        .where(JuryScore.criterion.in_(known))
        .group_by(JuryScore.juror_id, JuryScore.challenge_id)
    )
    progress: dict[int, dict[str, int]] = defaultdict(dict)
    for juror, cid, count in rows:
        progress[juror][cid] = count
    row = await state(session)
    closed = row.scoring_closed_at is not None
    return JuryOverview(
        list(event.results.jurors),
        slots,
        dict(progress),
        len(known),
        closed,
        await ranking(session, event) if closed else None,
        await vote_counts(session) if closed else {},
        row.published_at is not None,
    )


async def close_scoring(session: AsyncSession, event: EventConfig, now: datetime) -> JuryOverview | Refused:
    """Organisers close the scoring: no score changes after it, and the ranking shows."""
    row = await state(session, lock=True)
    if row.scoring_closed_at is not None:
        return Refused(Refusal.ALREADY)
    row.scoring_closed_at = now
    await session.flush()
    return await jury_overview(session, event)


# ---- closing the session: the digest ---------------------------------------------------------------


async def digest(session: AsyncSession, challenge_id: str, event: EventConfig) -> Digest:
    """A team's feedback figures: counts, averages per criterion, the comments without names."""
    feedbacks = list(await session.scalars(select(Feedback).where(Feedback.challenge_id == challenge_id)))
    ids = [f.id for f in feedbacks]
    sums: dict[str, list[int]] = defaultdict(list)
    if ids:
        for criterion, value in await session.execute(
            select(Rating.criterion, Rating.value).where(Rating.feedback_id.in_(ids))
        ):
            sums[criterion].append(value)
    averages = {
        c.id: (sum(sums[c.id]) / len(sums[c.id]), len(sums[c.id]))
        for c in event.results.feedback_criteria
        if sums.get(c.id)
    }
    shown = [f for f in feedbacks if not f.hidden]
    return Digest(
        challenge_id,
        len(feedbacks),
        averages,
        [f.liked for f in shown if f.liked],
        [f.better for f in shown if f.better],
        [voice for f in shown for voice in (f.liked_voice, f.better_voice) if voice],
    )


def _chunks(lines: list[str]) -> list[str]:
    """Join lines into texts under Telegram's limit (a long list of comments becomes several)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > _DIGEST_CHUNK:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def digest_texts(texts: outbox.Texts, lang: str, event: EventConfig, figures: Digest) -> list[str]:
    """The digest of one team as messages, in `lang`."""
    lines = [
        texts.text(
            lang,
            "results.digest_title",
            title=event.challenge_title(lang, figures.challenge_id),
            count=figures.feedbacks,
        )
    ]
    for criterion in event.results.feedback_criteria:
        mean, count = figures.averages.get(criterion.id, (0.0, 0))
        lines.append(
            texts.text(
                lang,
                "results.digest_average",
                criterion=criterion.label.get(lang, event.default_language),
                mean=f"{mean:.1f}".replace(".", "," if lang == "fr" else "."),
                count=count,
            )
        )
    for key, items in (("results.digest_liked", figures.liked), ("results.digest_better", figures.better)):
        if items:
            lines.append("")
            lines.append(texts.text(lang, key))
            lines += [texts.text(lang, "results.digest_comment", comment=item) for item in items]
    if figures.voices:
        lines.append(texts.text(lang, "results.digest_voices", count=len(figures.voices)))
    return _chunks(lines)


async def close_session(
    session: AsyncSession, event: EventConfig, texts: outbox.Texts, now: datetime
) -> int | Refused:
    """Close feedback and the vote, and queue each team's digest to that team only; returns teams told."""
    row = await state(session, lock=True)
    if row.feedback_closed_at is not None:
        return Refused(Refusal.ALREADY)
    row.feedback_closed_at = now
    slots = list(await session.scalars(select(Slot.challenge_id).order_by(Slot.position)))
    messages: list[outbox.NewMessage] = []
    for challenge_id in slots:
        figures = await digest(session, challenge_id, event)
        for pid, telegram_id, lang in await _member_chats(session, challenge_id):
            for index, body in enumerate(digest_texts(texts, lang, event, figures)):
                messages.append(
                    outbox.NewMessage(
                        chat_id=telegram_id,
                        method="sendMessage",
                        payload=outbox.text_message(body),
                        dedupe_key=f"rs:digest:{challenge_id}:{pid}:{index}",
                        purpose=PURPOSE,
                    )
                )
            for index, voice in enumerate(figures.voices):
                messages.append(
                    outbox.NewMessage(
                        chat_id=telegram_id,
                        method="sendVoice",
                        payload={"voice": voice},
                        dedupe_key=f"rs:digestv:{challenge_id}:{pid}:{index}",
                        purpose=PURPOSE,
                    )
                )
    await outbox.enqueue_many(session, messages)
    return len(slots)


# ---- publishing ------------------------------------------------------------------------------------


def announcement(texts: outbox.Texts, event: EventConfig, standing: Ranking, votes: dict[str, int]) -> str:
    """The results announcement, in the event's default language, as the event file says to publish."""
    lang = event.default_language
    settings = event.results
    lines = [texts.text(lang, "results.announce_title", event=event.name.get(lang, lang))]
    ranked = [team for team in standing.teams if team.rank is not None]
    if settings.publish == "prizes":
        ranked = [team for team in ranked if team.rank is not None and team.rank <= settings.prizes]
    for team in ranked:
        title = event.challenge_title(lang, team.team)
        if settings.publish == "ranking" and team.raw_mean is not None:
            mark = f"{team.raw_mean:.1f}".replace(".", "," if lang == "fr" else ".")
            lines.append(
                texts.text(lang, "results.announce_line_mark", rank=team.rank, title=title, mark=mark)
            )
        else:
            lines.append(texts.text(lang, "results.announce_line", rank=team.rank, title=title))
    if settings.public_vote and votes:
        best = max(votes.values())
        winners = [cid for cid in (t.team for t in standing.teams) if votes.get(cid) == best]
        lines.append("")
        lines.append(
            texts.text(
                lang,
                "results.announce_public",
                titles=", ".join(event.challenge_title(lang, cid) for cid in winners),
                count=best,
            )
        )
    return "\n".join(lines)


async def publish(
    session: AsyncSession,
    event: EventConfig,
    texts: outbox.Texts,
    organiser_id: int,
    *,
    progress_chat_id: int,
    progress_message_id: int | None,
    now: datetime,
) -> int | Refused:
    """Publish the results as an announcement to everyone through the broadcast path; returns its id.

    Refused until scoring is closed, and the second time. Feedback authors are detached in the
    same transaction: moderation is over, the comments stay as the team's anonymous figures.
    The organiser's own announcement draft, if any, is replaced (a results announcement is one).
    """
    row = await state(session, lock=True)
    if row.published_at is not None:
        return Refused(Refusal.PUBLISHED)
    if row.scoring_closed_at is None:
        return Refused(Refusal.SCORING_OPEN)
    html = announcement(texts, event, await ranking(session, event), await vote_counts(session))
    draft = await bc.start_draft(session, organiser_id, event.default_language, now)
    bc.set_content(draft, bc.Content(bc.ContentKind.TEXT, html), now)
    bc.set_audience(draft, bc.Audience(bc.AudienceKind.ALL), now)
    try:
        broadcast = await bc.confirm_draft(
            session,
            draft,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            now=now,
        )
    except bc.EmptyAudienceError:
        await bc.discard_draft(session, organiser_id)
        return Refused(Refusal.NO_TEAMS)
    row.published_at = now
    row.broadcast_id = broadcast.id
    await session.execute(
        update(Feedback).values(author_id=None).execution_options(synchronize_session=False)
    )
    return broadcast.id


# ---- privacy: /mydata and /forget ------------------------------------------------------------------


@register_data_provider
async def personal_data(
    session: AsyncSession, participant: Participant, event: EventConfig
) -> list[DataItem]:
    """For /mydata: the team submission the person edited, their feedback (ratings, comments), their vote."""
    lang = participant.language
    items: list[DataItem] = []
    edited = await session.execute(
        select(Submission.challenge_id, Submission.name).where(Submission.edited_by == participant.id)
    )
    for cid, name in edited:
        items.append(
            DataItem(
                "results.label.submission",
                Phrase(
                    "results.mydata_submission",
                    {"title": event.challenge_title(lang, cid), "name": name or "—"},
                ),
            )
        )
    photos = await session.scalar(select(func.count()).where(Photo.added_by == participant.id))
    if photos:
        items.append(DataItem("results.label.photos", int(photos)))
    for feedback in await session.scalars(
        select(Feedback).where(Feedback.author_id == participant.id).order_by(Feedback.id)
    ):
        ratings = await session.execute(
            select(Rating.criterion, Rating.value).where(Rating.feedback_id == feedback.id)
        )
        labels = {c.id: c.label.get(lang, event.default_language) for c in event.results.feedback_criteria}
        figures = ", ".join(f"{labels.get(criterion, criterion)} {value}/5" for criterion, value in ratings)
        comment = " / ".join(c for c in (feedback.liked, feedback.better) if c)
        voices = int(bool(feedback.liked_voice)) + int(bool(feedback.better_voice))
        items.append(
            DataItem(
                "results.label.feedback",
                Phrase(
                    "results.mydata_feedback",
                    {
                        "title": event.challenge_title(lang, feedback.challenge_id),
                        "ratings": figures or "—",
                        "comment": comment or "—",
                        "voices": voices,
                    },
                ),
            )
        )
    voted = await vote_of(session, participant.id)
    if voted is not None:
        items.append(DataItem("results.label.vote", event.challenge_title(lang, voted)))
    return items


@register_account_data_provider
async def juror_data(session: AsyncSession, telegram_id: int) -> list[DataItem]:
    """For /mydata of a juror: how many scores they gave (the scores themselves stay private)."""
    count = await session.scalar(select(func.count()).where(JuryScore.juror_id == telegram_id))
    return [DataItem("results.label.jury", int(count))] if count else []


@register_account_erasure_hook
async def forget_juror(session: AsyncSession, telegram_id: int) -> bool:
    """/forget of a juror: their scores go before publication; after it, they stay under a pseudonym.

    A published ranking must stay explainable, so its scores are kept, no longer tied to the
    person: the juror id becomes the negative of the first score's id (no Telegram id is negative
    for a person, and it stays unique per juror).
    """
    first = await session.scalar(select(func.min(JuryScore.id)).where(JuryScore.juror_id == telegram_id))
    if first is None:
        return False
    row = await state(session)
    if row.published_at is None:
        await session.execute(delete(JuryScore).where(JuryScore.juror_id == telegram_id))
    else:
        await session.execute(
            update(JuryScore).where(JuryScore.juror_id == telegram_id).values(juror_id=-first)
        )
    return True


async def juror_names(session: AsyncSession, event: EventConfig) -> dict[int, str]:
    """First names of the jurors who registered with the bot (others are shown by their number)."""
    jurors = list(event.results.jurors)
    if not jurors:
        return {}
    rows = await session.execute(
        select(Participant.telegram_id, Participant.display_name).where(Participant.telegram_id.in_(jurors))
    )
    return {telegram_id: name for telegram_id, name in rows}


@dataclass(frozen=True)
class Ballot:
    """What a participant sees to vote: the teams, their own, their current vote."""

    teams: list[str]
    own: str | None
    current: str | None


async def ballot(session: AsyncSession, participant: Participant) -> Ballot | Refused:
    """The public vote's ballot for one person (refused before the running order exists)."""
    slots = list(await session.scalars(select(Slot.challenge_id).order_by(Slot.position)))
    if not slots:
        return Refused(Refusal.NO_ORDER)
    return Ballot(slots, await _team_of(session, participant.id), await vote_of(session, participant.id))


async def preview(session: AsyncSession, event: EventConfig, texts: outbox.Texts) -> str | Refused:
    """The results announcement as `publish` would send it (refused as `publish` would be)."""
    row = await state(session)
    if row.published_at is not None:
        return Refused(Refusal.PUBLISHED)
    if row.scoring_closed_at is None:
        return Refused(Refusal.SCORING_OPEN)
    return announcement(texts, event, await ranking(session, event), await vote_counts(session))


# ---- the dashboard's page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamBoard:
    """One team on the dashboard: its submission, its photos, its feedback figures, its votes."""

    challenge_id: str
    position: int | None
    name: str | None
    description: str | None
    link: str | None
    submitted_at: datetime | None
    photo_ids: list[int]
    feedbacks: int
    averages: dict[str, tuple[float, int]]
    comments: int
    votes: int


@dataclass(frozen=True)
class Board:
    """Everything the dashboard's results page shows (the votes only once scoring is closed)."""

    teams: list[TeamBoard]
    jury: JuryOverview
    deadline: datetime | None
    current: int | None
    feedback_closed: bool


async def board(session: AsyncSession, event: EventConfig) -> Board:
    """The results page: submissions with photos, feedback figures, jury progress, the final ranking."""
    row = await state(session)
    current_order = await order(session)
    team_ids = current_order.teams or await teams(session, event)
    submissions = {s.challenge_id: s for s in await session.scalars(select(Submission))}
    photos: dict[int, list[int]] = defaultdict(list)
    for photo_id, submission_id in await session.execute(
        select(Photo.id, Photo.submission_id).order_by(Photo.id)
    ):
        photos[submission_id].append(photo_id)
    jury = await jury_overview(session, event)
    lines = []
    for cid in team_ids:
        submission = submissions.get(cid)
        figures = await digest(session, cid, event)
        lines.append(
            TeamBoard(
                cid,
                current_order.teams.index(cid) if cid in current_order.teams else None,
                submission.name if submission else None,
                submission.description if submission else None,
                submission.link if submission else None,
                submission.submitted_at if submission else None,
                photos.get(submission.id, []) if submission else [],
                figures.feedbacks,
                figures.averages,
                len(figures.liked) + len(figures.better) + len(figures.voices),
                jury.votes.get(cid, 0),
            )
        )
    return Board(lines, jury, deadline_of(event, row), row.current, row.feedback_closed_at is not None)


async def photo_file(session: AsyncSession, photo_id: int) -> str | None:
    """The Telegram file id of a submission photo (for the dashboard to show it)."""
    return await session.scalar(select(Photo.file_id).where(Photo.id == photo_id))
