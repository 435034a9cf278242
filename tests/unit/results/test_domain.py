"""The results domain on a real database (SQLite, and PostgreSQL when configured): rules and constraints."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import challenges as ch
from models import results as rs
from models.base import utcnow
from models.db import Database
from models.outbox import OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.privacy import collect_personal_data, run_erasure_hooks
from schedule.config import EventConfig
from tests.support.harness import bundled_event

NOW = utcnow()
JUROR = 900001


class KeyTexts:
    """Satisfies `outbox.Texts`: writes the key and its parameters, so tests read what was meant."""

    def text(self, lang: str, key: str, /, **params: object) -> str:
        """The key and the parameters, as JSON."""
        return json.dumps({"key": key, **params}, sort_keys=True, default=str)

    def label(self, lang: str, key: str, /, **params: object) -> str:
        """The key only."""
        return key


TEXTS = KeyTexts()


def event_with_deadline(hours: float = 1.0) -> EventConfig:
    """The bundled event moved so the results item (the deadline) starts in `hours`."""
    base = bundled_event()
    item = base.item("sat-results")
    assert item is not None
    shifted = base.shifted_to(base.start + (NOW + timedelta(hours=hours) - item.start))
    return shifted.model_copy(update={"results": shifted.results.model_copy(update={"jurors": [JUROR]})})


EVENT = event_with_deadline()


async def people(db: Database, count: int) -> list[Participant]:
    """Registered participants, in the order created."""
    async with db.transaction() as session:
        rows = [
            Participant(
                telegram_id=100 + i,
                display_name=f"P{i}",
                language="fr",
                role="resident",
                consent_version="v",
                consent_given_at=NOW,
                registered_at=NOW,
                status=ParticipantStatus.ACTIVE,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        await ch.sync_challenges(session, ch.configured_challenges(EVENT), NOW)
        for index, person in enumerate(rows[:4]):  # two teams of two, the rest without a team
            await ch.join(session, person.id, ["benevolat", "reservation"][index // 2], NOW)
    return rows


async def presented(db: Database) -> None:
    """Order benevolat, reservation; both have presented."""
    async with db.transaction() as session:
        assert not isinstance(
            await rs.set_order(session, EVENT, TEXTS, ["benevolat", "reservation"]), rs.Refused
        )
    for step in (-1, 0, 1):
        async with db.transaction() as session:
            assert not isinstance(await rs.next_team(session, EVENT, TEXTS, step), rs.Refused)


async def test_constraints_refuse_a_second_row_and_out_of_range_values(db: Database) -> None:
    """UNIQUE (author, team), UNIQUE voter, CHECK 1-5 and 1-10: the database refuses, whatever the code."""
    ana, *_ = await people(db, 5)
    async with db.transaction() as session:
        session.add(rs.Feedback(author_id=ana.id, challenge_id="reservation", hidden=False))
        session.add(rs.Vote(voter_id=ana.id, challenge_id="reservation"))
    cases = [
        rs.Feedback(author_id=ana.id, challenge_id="reservation", hidden=False),
        rs.Vote(voter_id=ana.id, challenge_id="benevolat"),
        rs.JuryScore(juror_id=JUROR, challenge_id="benevolat", criterion="impact", value=11),
        rs.JuryScore(juror_id=JUROR, challenge_id="benevolat", criterion="impact", value=0),
    ]
    for row in cases:
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                session.add(row)
    async with db.transaction() as session:
        feedback_id = await session.scalar(select(rs.Feedback.id))
        session.add(rs.Rating(feedback_id=feedback_id, criterion="utilite", value=5))
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(rs.Rating(feedback_id=feedback_id, criterion="simplicite", value=6))


async def test_feedback_rules(db: Database) -> None:
    """Never one's own team, only once presented, one per person per team, nothing after closing."""
    ana, _, carl, _, tess = await people(db, 5)
    async with db.transaction() as session:
        assert await rs.rate(session, tess, "benevolat", 0, 4, EVENT) == rs.Refused(rs.Refusal.UNKNOWN_TEAM)
    await presented(db)
    async with db.transaction() as session:
        assert await rs.rate(session, ana, "benevolat", 0, 4, EVENT) == rs.Refused(rs.Refusal.OWN_TEAM)
        assert await rs.rate(session, tess, "benevolat", 0, 6, EVENT) == rs.Refused(rs.Refusal.OUT_OF_RANGE)
        step = await rs.rate(session, tess, "benevolat", 0, 4, EVENT)
        assert isinstance(step, rs.FeedbackStep) and step.next_index == 1
        step = await rs.rate(session, tess, "benevolat", 0, 2, EVENT)
        assert isinstance(step, rs.FeedbackStep) and step.ratings == {"utilite": 2}
        assert await rs.start_comment(session, tess, "benevolat", "liked", EVENT) == rs.Refused(
            rs.Refusal.RATINGS_FIRST
        )
        await rs.rate(session, tess, "benevolat", 1, 5, EVENT)
        await rs.rate(session, tess, "benevolat", 2, 3, EVENT)
        await rs.rate(session, carl, "benevolat", 0, 5, EVENT)
    async with db.transaction() as session:
        assert isinstance(await rs.start_comment(session, tess, "benevolat", "liked", EVENT), rs.FeedbackStep)
        saved = await rs.save_comment(session, tess, "benevolat", "liked", EVENT, text="  Très clair  ")
        assert isinstance(saved, rs.FeedbackStep) and saved.liked
        too_long = await rs.save_comment(session, tess, "benevolat", "better", EVENT, text="x" * 1001)
        assert too_long == rs.Refused(rs.Refusal.TOO_LONG, 1000, 1001)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(rs.Feedback)) == 2
        figures = await rs.digest(session, "benevolat", EVENT)
    assert (
        figures.feedbacks == 2 and figures.averages["utilite"] == (3.5, 2) and figures.liked == ["Très clair"]
    )
    async with db.transaction() as session:
        assert await rs.close_session(session, EVENT, TEXTS, NOW) == 2
        assert await rs.rate(session, tess, "reservation", 0, 4, EVENT) == rs.Refused(rs.Refusal.CLOSED)
        digests = list(
            await session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.dedupe_key.like("rs:digest:%"))
            )
        )
    # Each team's digest goes to its own members only: benevolat's two, reservation's two.
    by_chat = {(m.chat_id, json.loads(m.payload["text"].split("\n")[0])["title"][:3]) for m in digests}
    assert by_chat == {(100, "Met"), (101, "Met"), (102, "Rés"), (103, "Rés")}


async def test_hidden_comment_left_out_of_the_digest(db: Database) -> None:
    """A comment an organiser hid is not passed on."""
    *_, tess = await people(db, 5)
    await presented(db)
    async with db.transaction() as session:
        for index in range(3):
            await rs.rate(session, tess, "benevolat", index, 3, EVENT)
        await rs.save_comment(session, tess, "benevolat", "better", EVENT, text="insulte")
        (comment,) = await rs.comments(session)
        assert (await rs.hide_comment(session, comment.feedback_id)) is not None
        figures = await rs.digest(session, "benevolat", EVENT)
    assert figures.better == [] and figures.feedbacks == 1


async def test_vote_rules(db: Database) -> None:
    """One vote per person, never for one's own team, changeable until closing."""
    ana, *_, tess = await people(db, 5)
    async with db.transaction() as session:
        await rs.set_order(session, EVENT, TEXTS, ["benevolat", "reservation"])
        assert await rs.vote(session, tess, "benevolat", EVENT) == rs.Refused(rs.Refusal.NOT_STARTED)
        await rs.next_team(session, EVENT, TEXTS, -1)
        assert await rs.vote(session, ana, "benevolat", EVENT) == rs.Refused(rs.Refusal.OWN_TEAM)
        assert await rs.vote(session, tess, "benevolat", EVENT) == rs.Voted("benevolat", None)
        assert await rs.vote(session, tess, "benevolat", EVENT) == rs.Refused(rs.Refusal.ALREADY)
        assert await rs.vote(session, tess, "reservation", EVENT) == rs.Voted("reservation", "benevolat")
        assert await rs.vote_counts(session) == {"reservation": 1}
    no_vote = EVENT.model_copy(update={"results": EVENT.results.model_copy(update={"public_vote": False})})
    async with db.transaction() as session:
        assert await rs.vote(session, ana, "reservation", no_vote) == rs.Refused(rs.Refusal.NO_PUBLIC_VOTE)


async def test_jury_rules_and_ranking(db: Database) -> None:
    """Jurors only, 1-10 only, nothing after closing; the ranking follows the scores."""
    await people(db, 5)
    async with db.transaction() as session:
        assert await rs.score(session, 12345, "benevolat", 0, 5, EVENT) == rs.Refused(rs.Refusal.NOT_JUROR)
        assert await rs.score(session, JUROR, "benevolat", 0, 11, EVENT) == rs.Refused(
            rs.Refusal.OUT_OF_RANGE
        )
        assert await rs.score(session, JUROR, "demarches", 0, 5, EVENT) == rs.Refused(rs.Refusal.UNKNOWN_TEAM)
        for index in range(4):
            await rs.score(session, JUROR, "benevolat", index, 8, EVENT)
            await rs.score(session, JUROR, "reservation", index, 6, EVENT)
        overview = await rs.jury_overview(session, EVENT)
        assert overview.ranking is None and overview.progress == {JUROR: {"benevolat": 4, "reservation": 4}}
        closed = await rs.close_scoring(session, EVENT, NOW)
        assert isinstance(closed, rs.JuryOverview) and closed.ranking is not None
        assert [t.team for t in closed.ranking.teams] == ["benevolat", "reservation"]
        assert await rs.score(session, JUROR, "benevolat", 0, 1, EVENT) == rs.Refused(rs.Refusal.CLOSED)


async def test_submission_versions_and_deadline(db: Database) -> None:
    """An edit on an old version is a conflict (text given back); after the deadline nothing changes."""
    ana, bea, *_ = await people(db, 5)
    async with db.transaction() as session:
        seen = await rs.start_edit(session, ana, "name", EVENT, NOW)
        assert isinstance(seen, rs.Draft)
        first = await rs.save_field(session, bea, "name", "Béa", seen.version, EVENT, NOW)
        second = await rs.save_field(session, ana, "name", "Ana", seen.version, EVENT, NOW)
        assert isinstance(first, rs.Draft) and first.name == "Béa"
        assert isinstance(second, rs.Conflict) and second.kept == "Ana" and second.draft.name == "Béa"
        assert await rs.submit(session, ana, EVENT, TEXTS, NOW) == rs.Refused(rs.Refusal.INCOMPLETE)
    late = event_with_deadline(-1)
    async with db.transaction() as session:
        assert await rs.start_edit(session, ana, "name", late, NOW) == rs.Refused(rs.Refusal.DEADLINE_PASSED)
        assert isinstance(await rs.extend_deadline(session, 30, late, NOW), type(NOW))
        assert isinstance(await rs.start_edit(session, ana, "name", late, NOW), rs.Draft)


async def test_reminder_goes_to_teams_without_a_submission(db: Database) -> None:
    """Members of teams that have not submitted are reminded once; submitted teams are not."""
    ana, bea, carl, dan, _ = await people(db, 5)
    async with db.transaction() as session:
        draft = await rs.start_edit(session, ana, "name", EVENT, NOW)
        assert isinstance(draft, rs.Draft)
        await rs.save_field(session, ana, "name", "N", draft.version, EVENT, NOW)
        draft = await rs.start_edit(session, ana, "description", EVENT, NOW)
        assert isinstance(draft, rs.Draft)
        await rs.save_field(session, ana, "description", "D", draft.version, EVENT, NOW)
        assert isinstance(await rs.submit(session, ana, EVENT, TEXTS, NOW), rs.Draft)
        assert await rs.remind_unsubmitted(session, EVENT, TEXTS, NOW) == 2
        assert await rs.remind_unsubmitted(session, EVENT, TEXTS, NOW) == 0  # once
        chats = set(
            await session.scalars(
                select(OutgoingMessage.chat_id).where(OutgoingMessage.dedupe_key.like("rs:remind:%"))
            )
        )
    assert chats == {carl.telegram_id, dan.telegram_id}
    assert bea.telegram_id not in chats


async def test_mydata_and_forget(db: Database) -> None:
    """/mydata shows the feedback and the vote; /forget erases them before publication."""
    *_, tess = await people(db, 5)
    await presented(db)
    async with db.transaction() as session:
        for index in range(3):
            await rs.rate(session, tess, "benevolat", index, 4, EVENT)
        await rs.save_comment(session, tess, "benevolat", "liked", EVENT, text="bravo")
        await rs.vote(session, tess, "reservation", EVENT)
        await rs.score(session, JUROR, "benevolat", 0, 5, EVENT)
    async with db.read() as session:
        person = await session.get(Participant, tess.id)
        blocks = await collect_personal_data(session, tess.telegram_id, person, EVENT)
        juror_blocks = await collect_personal_data(session, JUROR, None, EVENT)
    labels = {item.label_key for block in blocks for item in block}
    assert {"results.label.feedback", "results.label.vote"} <= labels
    assert "results.label.jury" in {item.label_key for block in juror_blocks for item in block}
    async with db.transaction() as session:
        person = await session.get(Participant, tess.id)
        assert person is not None
        await run_erasure_hooks(session, tess.telegram_id, person, None)
        await session.delete(person)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(rs.Feedback)) == 0
        assert await session.scalar(select(func.count()).select_from(rs.Vote)) == 0
