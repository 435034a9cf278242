"""One decision per organiser action: each tap or free message decided in one transaction."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from models import broadcasts as bc
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState
from tests.unit.broadcasts.test_domain import TEXT, add_people, confirm, mark, rows

TZ = ZoneInfo("Europe/Paris")
EVERYONE = bc.Audience(bc.AudienceKind.ALL)
ORGANISER = 1


def typed(text: str) -> bc.DraftInput:
    """A free text message as the draft sees it."""
    return bc.DraftInput(bc.Content(bc.ContentKind.TEXT, text), text, text)


async def fresh_draft(db: Database) -> bc.BroadcastDraft:
    async with db.transaction() as session:
        return await bc.start_draft(session, ORGANISER, "fr", utcnow())


async def take(db: Database, message: bc.DraftInput, at: timedelta = timedelta()) -> bc.InputResult:
    async with db.transaction() as session:
        return await bc.take_input(session, ORGANISER, message, utcnow() + at, TZ)


async def test_free_messages_walk_the_draft_to_its_confirmation(db: Database) -> None:
    """The announcement, then a typed time: each message moves the draft one step and says what next."""
    await add_people(db, ["resident", "resident"])
    draft = await fresh_draft(db)
    sticker = await take(db, bc.DraftInput(None, None, None))
    assert sticker.outcome is bc.InputOutcome.UNSUPPORTED
    stored = await take(db, typed("Le bus est là"))
    assert stored.outcome is bc.InputOutcome.AUDIENCE
    assert stored.counts is not None and stored.counts.everyone == 2
    assert (await take(db, typed("encore"))).outcome is bc.InputOutcome.USE_BUTTONS
    async with db.transaction() as session:
        chosen = await bc.choose_audience(session, ORGANISER, draft.nonce, EVERYONE, utcnow())
        waiting = await bc.wait_for_typed_time(session, ORGANISER, draft.nonce, utcnow())
    assert isinstance(chosen, bc.Confirmation) and chosen.recipients == 2
    assert isinstance(waiting, bc.BroadcastDraft)
    assert (await take(db, typed("plus tard"))).outcome is bc.InputOutcome.BAD_TIME
    timed = await take(db, typed("23:59"))
    assert timed.outcome is bc.InputOutcome.CONFIRM
    assert timed.confirmation is not None and timed.confirmation.scheduled_at is not None


async def test_no_draft_or_an_expired_one_leaves_the_message_to_others(db: Database) -> None:
    """Without a draft the message is not the draft's; an expired one says so once, then is gone."""
    assert (await take(db, typed("bonjour"))).outcome is bc.InputOutcome.NOT_MINE
    await fresh_draft(db)
    late = await take(db, typed("bonjour"), at=bc.DRAFT_TTL + timedelta(seconds=1))
    assert late.outcome is bc.InputOutcome.EXPIRED and late.language == "fr"
    assert (await take(db, typed("bonjour"))).outcome is bc.InputOutcome.NOT_MINE


async def test_buttons_of_another_draft_or_step_are_stale_and_expiry_comes_first(db: Database) -> None:
    """An old nonce or a step already passed is stale; an expired draft is reported as expired."""
    draft = await fresh_draft(db)
    now = utcnow()
    async with db.transaction() as session:
        other = await bc.confirm(
            session, ORGANISER, "00000000", progress_chat_id=1, progress_message_id=2, now=now
        )
        early = await bc.confirm(
            session, ORGANISER, draft.nonce, progress_chat_id=1, progress_message_id=2, now=now
        )
        expired = await bc.cancel_draft(session, ORGANISER, draft.nonce, now + bc.DRAFT_TTL)
        gone = await bc.get_draft(session, ORGANISER)
    assert other == bc.STALE and early == bc.STALE
    assert expired == bc.Refused(bc.Refusal.EXPIRED, "fr")
    assert gone is None


async def test_an_audience_emptied_after_the_preview_sends_nothing(db: Database) -> None:
    """Nobody left in the audience: refused as empty, the draft dropped, no delivery queued."""
    draft = await fresh_draft(db)
    async with db.transaction() as session:
        current = await bc.get_draft(session, ORGANISER)
        assert current is not None
        bc.set_content(current, TEXT, utcnow())
        bc.set_audience(current, EVERYONE, utcnow())
    async with db.transaction() as session:
        sent = await bc.confirm(
            session, ORGANISER, draft.nonce, progress_chat_id=1, progress_message_id=2, now=utcnow()
        )
        left = await bc.get_draft(session, ORGANISER)
    assert sent == bc.Refused(bc.Refusal.EMPTY, "fr")
    assert left is None
    assert await rows(db) == []


async def test_stop_and_corrections_refuse_what_cannot_be_done_now(db: Database) -> None:
    """Stop once finished is stale; a correction while sending is refused; once sent, it starts."""
    await add_people(db, ["resident", "resident"])
    broadcast = await confirm(db, EVERYONE)
    async with db.transaction() as session:
        sending = await bc.start_correction(session, ORGANISER, broadcast.id, "fr", utcnow())
    assert sending == bc.Refused(bc.Refusal.NOT_CHANGEABLE)
    await mark(db, {5000: OutboxState.SENT, 5001: OutboxState.BLOCKED})
    async with db.transaction() as session:
        figures = await bc.progress(session, bc.PURPOSE_SEND, broadcast.id)
        await bc.finish_broadcast(session, broadcast.id, figures, utcnow())
    async with db.transaction() as session:
        stopped = await bc.stop_unfinished(session, broadcast.id)
        started = await bc.start_correction(session, ORGANISER, broadcast.id, "fr", utcnow())
    assert stopped == bc.STALE
    assert isinstance(started, bc.Correction) and started.draft.stage is bc.DraftStage.EDIT_TEXT
    corrected = await take(db, typed("<b>Le bus</b> part"))
    assert corrected.outcome is bc.InputOutcome.CORRECTION
    assert corrected.corrected is not None and corrected.corrected.html == "<b>Le bus</b> part"
    async with db.read() as session:
        standing = await bc.standing_of(session, broadcast.id)
        report = await bc.missed_report(session, broadcast.id)
    assert standing is not None and standing.figures.sent == 1 and standing.figures.blocked == 1
    assert report is not None and [person.chat_id for person in report.people] == [5001]
