"""The programme and meals as a participant sees them: /programme, the calendar file, /rappels, meals.

Driven through the simulator like a phone would; the programme is placed around the current time so
that "now" and "next" are real.
"""

from __future__ import annotations

import datetime as dt

import icalendar
from sqlalchemy import select

from models import challenges as ch
from models import meals
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from simulator import Simulator
from tests.e2e.test_programme_support import MovableClock, bot_with, registered_people
from tests.unit.programme.events import PARIS, Item, MealSpec, build_event


def around_now(now: dt.datetime | None = None):
    """An item running now, the next one, a team item, and one tomorrow (event time)."""
    now = now or utcnow()
    start = now - dt.timedelta(minutes=10)
    tomorrow = now.astimezone(PARIS).date() + dt.timedelta(days=1)
    tomorrow_at = dt.datetime.combine(tomorrow, dt.time(10, 0), tzinfo=PARIS)
    offset = (tomorrow_at - start).total_seconds()
    event = build_event(
        [
            Item("running", 0, 1800, reminder=0),
            Item("following", 1800, 3600, reminder=0, place=None),
            Item("team-only", 2000, 2600, kind="work", reminder=0, audience="reservation"),
            Item("tomorrow", offset, offset + 3600, reminder=0),
        ],
        [MealSpec("lunch", start=offset + 3600, end=offset + 7200)],
        base=start,
    )
    return event, now


async def test_programme_shows_today_now_and_next_and_other_days(sim: Simulator, db: Database) -> None:
    """Times in the event's timezone, now ▶️ and next ⏭ marked; other days by word or button."""
    (user,) = await registered_people(sim, db, 1)
    # The bot's clock reads 15:00 in Paris: late in the evening, "next" would already be tomorrow.
    afternoon = dt.datetime.combine(utcnow().astimezone(PARIS).date(), dt.time(15, 0), tzinfo=PARIS)
    clock = MovableClock()
    clock.offset = afternoon - utcnow()
    event, _ = around_now(afternoon.astimezone(dt.UTC))
    running = event.item("running")
    assert running is not None
    async with bot_with(sim, db, event, clock=clock):
        await user.send_text("/programme")
        shown = await user.wait_for_message(lambda m: "Programme" in m.text)
        lines = shown.text.splitlines()
        running_line = next(line for line in lines if "Titre running" in line)
        assert running_line.startswith("▶️")
        start_local = running.start.astimezone(PARIS).strftime("%H:%M")
        assert start_local in running_line and "Grande salle" in running_line
        assert next(line for line in lines if "Titre following" in line).startswith("⏭")
        assert "Titre team-only" in shown.text  # no team yet: team items are shown, tagged
        assert "Titre tomorrow" not in shown.text
        await user.send_text("/programme demain")
        tomorrow = await user.wait_for_message(lambda m: "Titre tomorrow" in m.text)
        assert "Titre running" not in tomorrow.text and "▶️" not in tomorrow.text
        day_button = next(
            b.text for row in shown.buttons for b in row if b.callback_data.startswith("prog:day")
        )
        await user.press(day_button, message=shown)
        await user.wait_for_edit(shown, lambda m: "Titre tomorrow" in m.text)
        await user.send_text("/programme n'importe quand")
        await user.wait_for_message(lambda m: "pas compris" in m.text)


async def test_calendar_file_for_everyone_and_for_my_team(sim: Simulator, db: Database) -> None:
    """The .ics holds the whole programme, or only the items of my team (plus those for everyone)."""
    (user,) = await registered_people(sim, db, 1)
    event, _ = around_now()
    async with db.transaction() as session:
        await ch.sync_challenges(session, [ch.ConfiguredChallenge("reservation", 16, "R")], utcnow())
        participant = await session.scalar(select(Participant).where(Participant.telegram_id == user.id))
        assert participant is not None
        await ch.join(session, participant.id, "reservation", utcnow())
    async with bot_with(sim, db, event):
        await user.send_text("/programme")
        shown = await user.wait_for_message(lambda m: "Programme" in m.text)
        await user.press("📆 Ajouter à mon agenda", message=shown)
        whole = await user.wait_for_message(lambda m: m.document is not None)
        await user.press("📆 Agenda sans les autres équipes", message=shown)
        mine = await user.wait_for_message(lambda m: m.document is not None)
    assert whole.document is not None and mine.document is not None
    assert whole.document.filename == f"{event.id}.ics"
    calendar = icalendar.Calendar.from_ical(whole.document.data)
    titles = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert titles == sorted(f"Titre {item.id}" for item in event.programme)
    team_calendar = icalendar.Calendar.from_ical(mine.document.data)
    assert len(list(team_calendar.walk("VEVENT"))) == 4  # every item is for all, or for this team
    first = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Titre running")
    running = event.item("running")
    assert running is not None and first.decoded("DTSTART") == running.start.replace(microsecond=0)


async def test_reminders_can_be_turned_off_and_on(sim: Simulator, db: Database) -> None:
    """/rappels shows the state and a button; `/rappels on` switches back."""
    (user,) = await registered_people(sim, db, 1)
    event, _ = around_now()
    async with bot_with(sim, db, event):
        await user.send_text("/rappels")
        state = await user.wait_for_message(lambda m: "rappels sont activés" in m.text)
        await user.press("🔕 Couper les rappels", message=state)
        await user.wait_for_edit(state, lambda m: "Rappels désactivés" in m.text)
        async with db.read() as session:
            row = await session.scalar(select(Participant).where(Participant.telegram_id == user.id))
        assert row is not None and row.reminders_enabled is False
        await user.send_text("/rappels on")
        await user.wait_for_message(lambda m: "Rappels activés" in m.text)
        async with db.read() as session:
            row = await session.scalar(select(Participant).where(Participant.telegram_id == user.id))
        assert row is not None and row.reminders_enabled is True


async def test_meals_answer_diet_allergy_and_organiser_counts(sim: Simulator, db: Database) -> None:
    """Next meal card, "I'll be there", diets with buttons, a typed allergy, and /repas for organisers."""
    guest, organiser = await registered_people(sim, db, 2, prefix="M")
    event, _ = around_now()
    event = event.model_copy(update={"organisers": [organiser.id]})
    async with bot_with(sim, db, event):
        await guest.send_text("🍽 Repas")
        card = await guest.wait_for_message(lambda m: "Repas lunch" in m.text)
        assert "Espace café" in card.text and "Végétarien" in card.text
        await guest.press("✅ J'y serai", message=card)
        await guest.wait_for_edit(card, lambda m: "j'y serai" in m.text)
        await guest.press("🥗 Mes besoins alimentaires", message=card)
        diet = await guest.wait_for_message(lambda m: "besoins alimentaires" in m.text)
        await guest.press("Halal", message=diet)
        await guest.wait_for_edit(diet, lambda m: "Pour l'instant : Halal" in m.text)
        await guest.press("⚠️ Allergie…", message=diet)
        await guest.wait_for_message(lambda m: "allergie" in m.text)
        await guest.send_text("arachides <b>")
        await guest.wait_for_message(lambda m: "C'est noté : arachides <b>" in m.text)
        await guest.press("✔️ Terminé")
        await guest.wait_for_edit(pred=lambda m: "Halal" in m.text and "arachides" in m.text)

        await organiser.send_text("/repas")
        report = await organiser.wait_for_message(lambda m: "caterer" in m.text)  # an English speaker
        assert "1 coming" in report.text and "Halal 1" in report.text and "arachides <b>" in report.text
        await guest.send_text("/repas")  # not an organiser: the meal card
        await guest.wait_for_message(lambda m: "Repas lunch" in m.text)

    async with db.read() as session:
        row = await session.scalar(select(Participant).where(Participant.telegram_id == guest.id))
        assert row is not None and row.awaiting is None
        needs = await meals.get_needs(session, row.id)
        answers = await meals.answers_of(session, row.id)
    assert needs.diets == ("halal",) and needs.allergy == "arachides <b>"
    assert answers == {"lunch": True}


async def test_forged_programme_and_meal_buttons_are_refused(sim: Simulator, db: Database) -> None:
    """Unknown days, meals and diets get the stale-button answer and change nothing."""
    (user,) = await registered_people(sim, db, 1)
    event, _ = around_now()
    async with bot_with(sim, db, event):
        await user.send_text("/programme")
        shown = await user.wait_for_message(lambda m: "Programme" in m.text)
        for forged in (
            "prog:day:19990101",
            "prog:day:xx",
            "prog:ics:mine",
            "prog:ics:x",
            "prog:rem:maybe",
            "meal:go:nope",
            "meal:dt:caviar",
            "meal:go:lunch:extra",
            "meal:",
        ):
            answer = await user.press(callback_data=forged, message=shown)
            record = await answer.wait_answered()
            assert record.text is not None and "plus valable" in record.text, forged
    async with db.read() as session:
        row = await session.scalar(select(Participant).where(Participant.telegram_id == user.id))
        assert row is not None
        assert await meals.answers_of(session, row.id) == {}
