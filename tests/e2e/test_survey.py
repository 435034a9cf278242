"""The satisfaction survey end to end, on SQLite and PostgreSQL: on time, to the right people, once.

The event is the bundled one moved so that it ended a minute ago; the survey goes out a minute after
the end. The clock is moved forward between two runs of the bot (a restart rebuilds the jobs from
the database) to reach the reminder and then the end of the answering window.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, inspect, select

from models import survey
from models.base import utcnow
from models.db import Database
from models.outbox import OutgoingMessage
from models.participant import Participant, ParticipantStatus
from schedule.config import QuietHours
from simulator import Simulator
from tests.e2e.survey_support import event_ending_at, people, survey_settings
from tests.e2e.test_privacy import ask_mydata, forget
from tests.e2e.test_programme_support import Inbox, MovableClock
from tests.support.harness import running_bot

INVITATION = "Votre avis nous aide"
REMINDER = "Petit rappel"
START = "✍️ Donner mon avis"
COMMENT = "Super ambiance, merci à l'équipe <3"


async def test_survey_sent_on_time_to_participants_once_with_one_reminder(
    sim: Simulator, db: Database
) -> None:
    """Invited at the set time (registered people only), answers anonymous, one reminder, then closed."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    clock = MovableClock()
    now = utcnow()
    event = event_ending_at(
        now - timedelta(seconds=55), organisers=[organiser.id], survey=survey_settings(send_after_minutes=1)
    )
    send_at = event.end + timedelta(minutes=1)
    came = await people(sim, db, 3, prefix="Came")
    amina, bilal, chloe = came
    unfinished = await people(sim, db, 1, prefix="Reg", status=ParticipantStatus.REGISTERING)
    latecomer = await people(sim, db, 1, prefix="Late", registered_at=now)
    inbox = Inbox().listen(sim)

    async with running_bot(sim, db, event, clock=clock):
        await asyncio.sleep(1.0)
        assert not inbox.matching(INVITATION), "sent before its time"
        arrivals = await inbox.wait_for(INVITATION, 3, within=15)
        assert all(arrival.at >= send_at - timedelta(seconds=0.5) for arrival in arrivals)
        assert {a.chat_id for a in arrivals} == {u.id for u in came}
        await asyncio.sleep(0.5)
        assert not inbox.matching(INVITATION)[3:]  # once each
        assert "4 questions" in arrivals[0].text

        # Amina answers everything, comment included (may be quoted): one message moves on.
        await amina.press(START)
        card = await amina.wait_for_message("Question 1/4")
        assert card.button_texts[:5] == ["1", "2", "3", "4", "5"]
        tap = await amina.press("4", message=card)
        assert tap.text == "✔️ 4/5"
        await amina.wait_for_edit(card, "Question 2/4")
        # A double tap on the first question changes nothing.
        stale = await amina.press(message=card, callback_data="sv:a:overall:5")
        assert stale.text == "Cette question a déjà sa réponse."
        # A forged value is refused.
        forged = await amina.press(message=card, callback_data="sv:a:welcome:9")
        assert forged.text == "Cette réponse n'est pas possible."
        await amina.press("5", message=card)
        await amina.wait_for_edit(card, "Question 3/4")
        assert (await amina.press("Oui", message=card)).text == "✔️ Oui"
        await amina.wait_for_edit(card, "Question 4/4")
        assert "Passer ⏭" in card.button_texts
        await amina.send_text(COMMENT)
        ask = await amina.wait_for_message("Pouvons-nous citer")
        await amina.press("👍 Oui, vous pouvez le citer", message=ask)
        await amina.wait_for_edit(ask, "Merci pour vos réponses")
        again = await amina.press(START, message=next(m for m in amina.messages if INVITATION in m.text))
        assert again.text == "Vous avez déjà répondu : merci !"

        # Bilal answers the first question only.
        await bilal.press(START)
        question = await bilal.wait_for_message("Question 1/4")
        await bilal.press("2", message=question)
        await bilal.wait_for_edit(question, "Question 2/4")

        # Someone never invited, pressing a forged start: politely refused.
        refused = await latecomer[0].press(message=card, callback_data="sv:go")
        assert refused.text == "Il n'y a pas de questionnaire pour vous."

    assert not inbox.matching(REMINDER)
    clock.offset = timedelta(days=1, minutes=2)  # past the reminder's time
    async with running_bot(sim, db, event, clock=clock):
        reminders = await inbox.wait_for(REMINDER, 2, within=15)
        assert {r.chat_id for r in reminders} == {bilal.id, chloe.id}
        await asyncio.sleep(1.0)
    async with running_bot(sim, db, event, clock=clock):
        await asyncio.sleep(1.5)  # a restart sends nothing again
        shown = await ask_mydata(amina)
        assert "Questionnaire de satisfaction : réponses envoyées le" in shown
        assert COMMENT not in shown  # the answers are not hers any more: they are linked to nobody
        await forget(amina)
    assert len(inbox.matching(REMINDER)) == 2
    assert len(inbox.matching(INVITATION)) == 3
    for user in [organiser, *unfinished, *latecomer]:
        assert not [m for m in user.messages if INVITATION in m.text or REMINDER in m.text]

    clock.offset = timedelta(days=8)  # the answering window closed
    async with running_bot(sim, db, event, clock=clock):
        card = next(m for m in bilal.messages if "Question 2/4" in m.text)
        closed = await bilal.press("3", message=card)
        assert closed.text == "Le questionnaire est clos : merci quand même !"

    async with db.read() as session:
        answers = list(await session.scalars(select(survey.SurveyAnswer)))
        marks = {m.participant_id: m for m in await session.scalars(select(survey.SurveyMark))}
        outbox_rows = await session.scalar(
            select(func.count())
            .select_from(OutgoingMessage)
            .where(OutgoingMessage.purpose == survey.PURPOSE_INVITE)
        )
        ids = {p.telegram_id: p.id for p in await session.scalars(select(Participant))}
        invited = await session.get(survey.SurveyRound, "invite")
    assert outbox_rows == 2  # the third, Amina's, was erased with her data
    assert invited is not None and invited.recipients == 3
    assert sorted((a.question_id, a.scale, a.choice, a.comment, a.quote_allowed) for a in answers) == sorted(
        [
            ("overall", 4, None, None, None),
            ("welcome", 5, None, None, None),
            ("again", None, "yes", None, None),
            ("comment", None, None, COMMENT, True),
            ("overall", 2, None, None, None),
        ]
    )
    # Amina erased her data: her mark went with her, her anonymous answers stay.
    assert amina.id not in ids
    assert set(marks) == {ids[u.id] for u in (bilal, chloe)}
    assert marks[ids[bilal.id]].finished_at is None and marks[ids[bilal.id]].reminded_at is not None


async def test_answers_table_links_to_nobody(db: Database) -> None:
    """No column of `survey_answers` names a participant or an account, and no foreign key leaves it."""

    def columns(connection: object) -> tuple[list[str], list[object]]:
        inspector = inspect(connection)
        names = [column["name"] for column in inspector.get_columns("survey_answers")]
        return names, inspector.get_foreign_keys("survey_answers")

    async with db.engine.connect() as connection:
        names, foreign_keys = await connection.run_sync(columns)
    assert set(names) == {"id", "question_id", "scale", "choice", "comment", "quote_allowed"}
    assert not foreign_keys
    assert not any(
        word in name for name in names for word in ("participant", "telegram", "user", "chat", "_at")
    )


async def test_quiet_hours_move_the_survey_to_their_end() -> None:
    """Due at 02:00 local with quiet hours 23:00-07:00: sent at 07:00."""
    event = event_ending_at(
        utcnow(), quiet_hours=QuietHours(enabled=True), survey=survey_settings(send_after_minutes=0)
    )
    local_end = event.local(event.end)
    night = local_end.replace(hour=2, minute=0, second=0, microsecond=0) + timedelta(days=1)
    moved = event_ending_at(
        night, quiet_hours=QuietHours(enabled=True), survey=survey_settings(send_after_minutes=0)
    )
    times = survey.schedule_of(moved)
    assert times is not None
    assert moved.local(times.send_at).hour == 7 and moved.local(times.send_at).minute == 0
