"""Challenges and teams, driven through the simulator like phones would (SQLite, and PostgreSQL).

Participants are created directly in the database (registration has its own tests) and open the
chat with /defis, as Telegram only lets a bot write to people who wrote to it first.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import TypeHandler

from bot.lifecycle import run_reload
from models import challenges as ch
from models.base import utcnow
from models.db import Database
from models.outbox import OutgoingMessage
from models.participant import Participant
from schedule.config import EventConfig, Facilitator, TeamPicking
from simulator import SimCallbackQuery, SimMessage, Simulator, SimUser
from tests.support.harness import bundled_event, running_bot
from tests.support.people import seed

CAP12 = "benevolat"  # capacity 12 in the bundled event
OTHER = "reservation"  # capacity 16
STALE = "plus valable"
CONSENT_VERSION = bundled_event().privacy.version  # seeded people agreed to the current notice


def open_event(**changes: Any) -> EventConfig:
    """The bundled event with team picking open now."""
    now = utcnow()
    changes.setdefault(
        "team_picking", TeamPicking(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1))
    )
    return bundled_event(**changes)


def with_challenge(event: EventConfig, challenge_id: str, **changes: Any) -> EventConfig:
    """Change one challenge of the event (capacity, facilitators...)."""
    challenges = [c.model_copy(update=changes) if c.id == challenge_id else c for c in event.challenges]
    return event.model_copy(update={"challenges": challenges})


async def participant_id(db: Database, user: SimUser) -> int:
    async with db.read() as session:
        found = await session.scalar(select(Participant.id).where(Participant.telegram_id == user.id))
    assert found is not None
    return found


async def status(db: Database, user: SimUser) -> ch.PersonStatus:
    pid = await participant_id(db, user)
    async with db.read() as session:
        return await ch.status_of(session, pid)


async def counts(db: Database, challenge_id: str) -> ch.ChallengeCounts:
    async with db.read() as session:
        found = await ch.counts_of(session, challenge_id)
    assert found is not None
    return found


async def open_list(user: SimUser, wait: float = 20.0) -> SimMessage:
    """/defis: the list of challenges (100 people at once take a few seconds: 30 messages/s)."""
    await user.send_text("/defis")
    return await user.wait_for_message(
        lambda m: "Les défis" in m.text or "The challenges" in m.text, timeout=wait
    )


async def answer_of(press: SimCallbackQuery, wait: float = 10.0) -> str:
    answered = await press.wait_answered(wait)
    return answered.text or ""


def has_button(message: SimMessage, label: str) -> bool:
    return label in message.button_texts


async def test_browse_join_and_see_the_team(sim: Simulator, db: Database) -> None:
    """List → card → Join → team page with first names and roles (no usernames)."""
    amina = sim.add_user(first_name="Amina", username="amina_secret", language_code="fr")
    bob = sim.add_user(first_name="Bob <b>&", language_code="fr")
    jo = sim.add_user(first_name="Jo", language_code="en")
    await seed(db, [amina])
    await seed(db, [bob], role="student")
    await seed(db, [jo], role="staff", lang="en")
    async with running_bot(sim, db, open_event()):
        await bob.send_text("/start")  # opens the chat; gets the menu
        await bob.wait_for_message()
        await amina.send_text("/start")
        await amina.wait_for_message()
        await amina.tap("🧩 Mon défi")
        listing = await amina.wait_for_message(lambda m: "Les défis" in m.text)
        assert "Mettre en relation bénévoles et besoins" in listing.text
        assert "Beaucoup d'habitants veulent donner un coup de main" in listing.text  # the pitch
        assert "Lucie (exemple)" in listing.text  # the facilitator
        assert "0 / 12 places" in listing.text

        await amina.press("Mettre en relation bénévoles et besoins · 0/12")
        card = await amina.wait_for_edit(listing, lambda m: has_button(m, "✅ Rejoindre ce défi"))
        assert "📍 Table 4" in card.text
        answer = await answer_of(await amina.press("✅ Rejoindre ce défi"))
        assert "vous avez rejoint" in answer
        card = await amina.wait_for_edit(listing, lambda m: "Vous êtes dans cette équipe" in m.text)
        assert "1 / 12 places" in card.text

        bob_list = await open_list(bob)
        await bob.press(callback_data=f"ch:join:{CAP12}", message=bob_list)
        await bob.wait_for_edit(bob_list, lambda m: "Vous êtes dans cette équipe" in m.text)

        await amina.press("👥 Mon équipe")
        team = await amina.wait_for_edit(listing, lambda m: "Votre équipe" in m.text)
        assert "Lucie (exemple)" in team.text and "Table 4" in team.text
        assert "• Amina — Habitant·e" in team.text and "• Bob <b>& — Étudiant·e" in team.text
        assert "amina_secret" not in team.text
        assert (await status(db, amina)).challenge_id == CAP12
        assert (await counts(db, CAP12)).members == 2

        # Pressing the old Join button again changes nothing.
        again = await answer_of(await amina.press(callback_data=f"ch:join:{CAP12}", message=listing))
        assert "déjà dans cette équipe" in again
        assert (await counts(db, CAP12)).members == 2

        jo_list = await open_list(jo)
        assert "The challenges" in jo_list.text and "2 / 12 places" in jo_list.text
        await jo.press("Matching volunteers with needs · 2/12")
        await jo.wait_for_edit(jo_list, lambda m: has_button(m, "✅ Join this challenge"))
        assert "you joined" in await answer_of(await jo.press("✅ Join this challenge"))
        await jo.wait_for_edit(jo_list, lambda m: "You are in this team" in m.text)
        await jo.press("👥 My team")
        team = await jo.wait_for_edit(jo_list, lambda m: "Your team" in m.text)
        assert "• Bob <b>& — Student" in team.text and "• Jo — Social-centre staff" in team.text

        await amina.send_text("/mydata")
        mydata = await amina.wait_for_message(lambda m: "Ce que je garde" in m.text)
        assert "Défi : Mettre en relation bénévoles et besoins" in mydata.text  # the title, not the id


async def test_thirty_join_at_once_then_one_leaves(sim: Simulator, db: Database) -> None:
    """30 people press Join together on 12 places: 12 in, 18 waiting in order; a leaver's place goes to #1."""
    people = [sim.add_user(first_name=f"P{i}", language_code="fr") for i in range(30)]
    await seed(db, people)
    async with running_bot(sim, db, open_event()):
        lists = await asyncio.gather(*(open_list(user) for user in people))
        presses = await asyncio.gather(
            *(
                user.press(callback_data=f"ch:join:{CAP12}", message=listing)
                for user, listing in zip(people, lists, strict=True)
            )
        )
        answers = await asyncio.gather(*(answer_of(press) for press in presses))
        joined = [user for user, text in zip(people, answers, strict=True) if "vous avez rejoint" in text]
        waiting = {
            user: text for user, text in zip(people, answers, strict=True) if "liste d'attente" in text
        }
        assert len(joined) == 12 and len(waiting) == 18

        state = await counts(db, CAP12)
        assert (state.members, state.capacity, state.waiting) == (12, 12, 18)
        # Everyone was told their place in the queue, and the queue is in that order.
        told = {}
        for user, text in waiting.items():
            told[int(text.split("n°")[1].split(" ")[0])] = user
        assert sorted(told) == list(range(1, 19))
        async with db.read() as session:
            queue = await ch.waitlist_of(session, CAP12)
        assert queue == [await participant_id(db, told[n]) for n in range(1, 19)]

        leaver = joined[0]
        leaver_list = lists[people.index(leaver)]
        await leaver.press(callback_data=f"ch:leave:{CAP12}", message=leaver_list)
        await leaver.wait_for_edit(leaver_list, lambda m: has_button(m, "🚪 Oui, quitter"))
        answer = await answer_of(await leaver.press("🚪 Oui, quitter"))
        assert "Vous avez quitté" in answer

        first = told[1]
        notice = await first.wait_for_message(lambda m: "Une place s'est libérée" in m.text, timeout=10)
        assert "Mettre en relation bénévoles et besoins" in notice.text
        assert has_button(notice, "👥 Mon équipe")
        assert (await status(db, first)).challenge_id == CAP12
        assert (await status(db, told[2])).position == 1
        assert (await status(db, leaver)).challenge_id is None
        assert (await counts(db, CAP12)).members == 12
        # Nobody else was told anything.
        assert not any(
            "Une place s'est libérée" in m.text for u in people if u is not first for m in u.messages
        )


async def test_switching_asks_once_and_old_confirmations_are_stale(sim: Simulator, db: Database) -> None:
    """Leave X and join Y? → yes → switched; the same confirmation pressed again is refused."""
    user = sim.add_user(first_name="Léa", language_code="fr")
    await seed(db, [user])
    async with running_bot(sim, db, open_event()):
        listing = await open_list(user)
        await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
        await user.press(callback_data=f"ch:card:{OTHER}", message=listing)
        await user.wait_for_edit(listing, lambda m: has_button(m, "🔁 Choisir ce défi à la place"))
        await user.press("🔁 Choisir ce défi à la place")
        confirm = await user.wait_for_edit(listing, lambda m: "Quitter « Mettre en relation" in m.text)
        assert "rejoindre « Réserver une activité du centre social »" in confirm.text
        answer = await answer_of(await user.press("✅ Oui, changer"))
        assert "vous avez quitté" in answer
        assert (await status(db, user)).challenge_id == OTHER
        assert ((await counts(db, CAP12)).members, (await counts(db, OTHER)).members) == (0, 1)

        stale = await answer_of(await user.press(callback_data=f"ch:sw:{CAP12}:{OTHER}", message=listing))
        assert "déjà dans cette équipe" in stale
        back = await answer_of(await user.press(callback_data=f"ch:sw:{CAP12}:{CAP12}", message=listing))
        assert STALE in back
        assert (await status(db, user)).challenge_id == OTHER


async def test_picking_window_and_organiser_switches(sim: Simulator, db: Database) -> None:
    """Before the window the cards show when it opens; organisers open and close picking by command."""
    user = sim.add_user(first_name="Nour", language_code="fr")
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    stranger = sim.add_user(first_name="Zed", language_code="fr")
    await seed(db, [user])
    opens = utcnow() + timedelta(days=1)
    event = bundled_event(
        organisers=[organiser.id],
        team_picking=TeamPicking(opens_at=opens, closes_at=opens + timedelta(days=1)),
    )
    async with running_bot(sim, db, event):
        listing = await open_list(user)
        await user.press(callback_data=f"ch:card:{CAP12}", message=listing)
        card = await user.wait_for_edit(listing, lambda m: "Le choix des défis ouvre le" in m.text)
        assert event.local(opens).strftime("%d/%m à %H:%M") in card.text
        assert not has_button(card, "✅ Rejoindre ce défi")
        refused = await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
        assert "ouvre le" in refused
        assert (await counts(db, CAP12)).members == 0

        await stranger.send_text("/ouvrir_equipes")
        await stranger.wait_for_message(lambda m: "réservée à l'équipe d'organisation" in m.text)
        await organiser.send_text("/ouvrir_equipes")
        await organiser.wait_for_message(lambda m: "est ouvert" in m.text)
        joined = await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
        assert "vous avez rejoint" in joined

        await organiser.send_text("/fermer_equipes")
        await organiser.wait_for_message(lambda m: "est fermé" in m.text)
        closed = await answer_of(await user.press(callback_data=f"ch:leave:{CAP12}", message=listing))
        assert closed == ""  # the leave question itself is only a question...
        closed = await answer_of(await user.press(callback_data=f"ch:leaveok:{CAP12}", message=listing))
        assert "fermé" in closed  # ...but leaving is refused while picking is closed
        moved = await answer_of(await user.press(callback_data=f"ch:join:{OTHER}", message=listing))
        assert "fermé" in moved
        assert (await status(db, user)).challenge_id == CAP12


async def test_organiser_overview_moves_and_capacities(sim: Simulator, db: Database) -> None:
    """/equipes flags unbalanced teams; /deplacer moves and tells; /capacite never kicks anyone out."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    students = [sim.add_user(first_name=f"Etu{i}", language_code="fr") for i in range(3)]
    resident = sim.add_user(first_name="Habib", language_code="fr")
    late = sim.add_user(first_name="Tardif", language_code="fr")
    await seed(db, students, role="student")
    await seed(db, [resident, late])
    event = with_challenge(open_event(organisers=[organiser.id]), CAP12, capacity=3)
    async with running_bot(sim, db, event):
        for user in [*students, resident, late]:
            await open_list(user)
        for user in students:
            await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=user.messages[0]))
        await organiser.send_text("/equipes")
        overview = await organiser.wait_for_message(lambda m: "Équipes" in m.text)
        line = next(part for part in overview.text.split("\n\n") if CAP12 in part)
        assert "3/3" in line and "3 Étudiant·e" in line
        assert "aucun·e habitant·e" in line and "plus de la moitié d'étudiant·e·s" in line
        assert "équipe vide" in overview.text and "Sans équipe : 2" in overview.text

        await organiser.send_text(f"/deplacer Habib {CAP12}")
        await organiser.wait_for_message(
            lambda m: "est complet (3/3)" in m.text and f"/capacite {CAP12} 4" in m.text
        )
        await organiser.send_text(f"/deplacer Etu0 {OTHER}")
        await organiser.wait_for_message(lambda m: "Etu0 est maintenant dans" in m.text)
        notice = await students[0].wait_for_message(lambda m: "vous a déplacé·e" in m.text, timeout=10)
        assert "Réserver une activité" in notice.text
        await organiser.send_text(f"/deplacer {resident.id} {CAP12}")
        await organiser.wait_for_message(lambda m: "Habib est maintenant dans" in m.text)
        await resident.wait_for_message(lambda m: "vous a placé·e" in m.text, timeout=10)
        await organiser.send_text(f"/deplacer Personne {CAP12}")
        await organiser.wait_for_message(lambda m: "Personne ne correspond" in m.text)
        await organiser.send_text(f"/deplacer Etu {CAP12}")
        await organiser.wait_for_message(lambda m: "Plusieurs personnes correspondent" in m.text)
        await organiser.send_text("/deplacer Habib nope")
        await organiser.wait_for_message(lambda m: "Je ne connais pas le défi « nope »" in m.text)

        await organiser.send_text(f"/capacite {CAP12} 2")
        lowered = await organiser.wait_for_message(lambda m: "3 / 2 places" in m.text)
        assert "1 personne de trop" in lowered.text
        assert (await counts(db, CAP12)).members == 3  # nobody kicked out
        waited = await answer_of(await late.press(callback_data=f"ch:join:{CAP12}", message=late.messages[0]))
        assert "n°1 sur la liste d'attente" in waited

        await organiser.send_text(f"/capacite {CAP12} 4")
        raised = await organiser.wait_for_message(lambda m: "4 / 4 places" in m.text)
        assert "1 personne en attente a reçu une place" in raised.text
        await late.wait_for_message(lambda m: "Une place s'est libérée" in m.text, timeout=10)
        assert (await status(db, late)).challenge_id == CAP12

        await organiser.send_text("/capacite")
        await organiser.wait_for_message(lambda m: "Utilisation : /capacite" in m.text)
        await students[1].send_text("/capacite benevolat 50")
        await students[1].wait_for_message(lambda m: "réservée à l'équipe d'organisation" in m.text)
        assert (await counts(db, CAP12)).capacity == 4


async def test_forged_and_unknown_buttons_are_refused(sim: Simulator, db: Database) -> None:
    """Callback data naming no configured challenge, or shaped wrong, gets the stale answer."""
    user = sim.add_user(first_name="Eve", language_code="fr")
    await seed(db, [user])
    async with running_bot(sim, db, open_event()):
        listing = await open_list(user)
        for forged in (
            "ch:join:nope",
            "ch:join:" + "x" * 30,
            f"ch:join:{CAP12}:extra",
            f"ch:card:{CAP12.upper()}",
            f"ch:sw:{CAP12}:nope",
            "ch:leaveok",
            "ch:explode",
            "ch:",
        ):
            answer = await answer_of(await user.press(callback_data=forged, message=listing))
            assert STALE in answer, forged
        assert (await counts(db, CAP12)).members == 0
        assert not any("Oups" in m.text for m in user.messages)


async def test_forget_frees_the_place_for_the_first_waiting(sim: Simulator, db: Database) -> None:
    """/forget of a member: their place goes to the first person waiting, who is told."""
    member = sim.add_user(first_name="Ana", language_code="fr")
    waiting = sim.add_user(first_name="Ben", language_code="fr")
    await seed(db, [member, waiting])
    event = with_challenge(open_event(), CAP12, capacity=1)
    async with running_bot(sim, db, event):
        member_list = await open_list(member)
        waiting_list = await open_list(waiting)
        await answer_of(await member.press(callback_data=f"ch:join:{CAP12}", message=member_list))
        assert "n°1" in await answer_of(
            await waiting.press(callback_data=f"ch:join:{CAP12}", message=waiting_list)
        )
        await member.send_text("/forget")
        await member.wait_for_message(lambda m: "Effacer" in m.text)
        await member.press("🗑 Oui, tout effacer")
        await waiting.wait_for_message(lambda m: "Une place s'est libérée" in m.text, timeout=10)
        assert (await status(db, waiting)).challenge_id == CAP12
        assert (await counts(db, CAP12)).members == 1


async def test_removed_challenge_members_are_asked_to_pick_again(sim: Simulator, test_database: Any) -> None:
    """A challenge removed from the file while people are in it: they are told; its buttons go stale."""
    user = sim.add_user(first_name="Rémi", language_code="fr")
    first = test_database.connect()
    await seed(first, [user])
    try:
        async with running_bot(sim, first, open_event()):
            listing = await open_list(user)
            await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
    finally:
        await first.dispose()
    second = test_database.connect()
    try:
        event = open_event()
        event = event.model_copy(update={"challenges": [c for c in event.challenges if c.id != CAP12]})
        async with running_bot(sim, second, event):
            notice = await user.wait_for_message(lambda m: "a été retiré" in m.text, timeout=10)
            assert "Mettre en relation bénévoles et besoins" in notice.text
            assert has_button(notice, "🧩 Voir les défis")
            assert STALE in await answer_of(
                await user.press(callback_data=f"ch:join:{CAP12}", message=listing)
            )
            assert (await status(second, user)).challenge_id is None
            async with second.read() as session:
                rows = list(
                    await session.scalars(select(OutgoingMessage).where(OutgoingMessage.chat_id == user.id))
                )
            assert len(rows) == 1  # told once
    finally:
        await second.dispose()


async def test_facilitators_see_their_roster(sim: Simulator, db: Database) -> None:
    """/monequipe: a facilitator's team with first names and roles; others get their team or a refusal."""
    facilitator = sim.add_user(first_name="Lucie", language_code="fr")
    member = sim.add_user(first_name="Mo", language_code="fr")
    stranger = sim.add_user(first_name="Xavier", language_code="fr")
    await seed(db, [member], role="volunteer")
    event = with_challenge(
        open_event(), CAP12, facilitators=[Facilitator(name="Lucie", telegram_id=facilitator.id)]
    )
    async with running_bot(sim, db, event):
        listing = await open_list(member)
        await answer_of(await member.press(callback_data=f"ch:join:{CAP12}", message=listing))
        await facilitator.send_text("/monequipe")
        roster = await facilitator.wait_for_message(lambda m: "Équipe « Mettre en relation" in m.text)
        assert "1 / 12 places" in roster.text and "• Mo — Bénévole" in roster.text
        await member.send_text("/monequipe")
        await member.wait_for_message(lambda m: "Votre équipe" in m.text and "• Mo — Bénévole" in m.text)
        await stranger.send_text("/monequipe")
        await stranger.wait_for_message(lambda m: "réservée aux personnes qui animent" in m.text)


async def test_a_hundred_taps_within_a_second_all_get_an_answer(sim: Simulator, db: Database) -> None:
    """100 people press Join within one second: every button is answered, capacity holds."""
    people = [sim.add_user(first_name=f"U{i}", language_code="fr") for i in range(100)]
    await seed(db, people)
    async with running_bot(sim, db, open_event()):
        lists = await asyncio.gather(*(open_list(user) for user in people))
        presses = []
        for user, listing in zip(people, lists, strict=True):
            presses.append(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
            await asyncio.sleep(0.009)  # 100 taps spread over about one second
        answers = await asyncio.gather(*(answer_of(press, wait=20) for press in presses))
        assert sum("vous avez rejoint" in a for a in answers) == 12
        assert sum("liste d'attente" in a for a in answers) == 88
        assert sim.unanswered_callbacks() == []
        assert (await counts(db, CAP12)).members == 12


async def test_challenge_removed_by_a_reload_is_announced_within_seconds(
    sim: Simulator, db: Database
) -> None:
    """The event file is reloaded without a challenge: its members are told without doing anything."""
    user = sim.add_user(first_name="Inès", language_code="fr")
    await seed(db, [user])
    event = open_event()
    async with running_bot(sim, db, event) as app:
        listing = await open_list(user)
        await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=listing))
        app.bot_data.services.event = event.model_copy(
            update={"challenges": [c for c in event.challenges if c.id != CAP12]}
        )
        await run_reload(app)  # what the reload (/reload, SIGHUP) does once the new file is in force
        await user.wait_for_message(lambda m: "a été retiré" in m.text, timeout=10)
        assert (await counts(db, CAP12)).removed


class SessionCounter:
    """Counts the database sessions each button press costs, in the tasks that work for it.

    The bot's `Database` is wrapped so every `transaction()` and `read()` is recorded with the task
    that opened it, in order; a handler in the first group records which task handles which press
    and when. A press's sessions are those its own task opened, plus those the shared workers
    opened while it was handled: the decisions batcher (the write of its change, shared with the
    taps decided with it) and the people loader (the read of its person, shared likewise). The
    update ledger's group commit and the sender are not the press's.
    """

    SHARED_WORKERS = ("decisions", "people")

    def __init__(self, db: Database, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[tuple[asyncio.Task[Any] | None, str]] = []
        self.handled_by: dict[str, tuple[asyncio.Task[Any], int]] = {}
        self.ended: dict[str, int] = {}
        for kind, name in (("write", "transaction"), ("read", "read")):
            monkeypatch.setattr(db, name, self._counting(kind, getattr(db, name)))
        app.add_handler(TypeHandler(Update, self._note_task), group=-100)

    def _counting(self, kind: str, open_session: Callable[[], Any]) -> Callable[[], Any]:
        def counted() -> Any:
            self.opened.append((asyncio.current_task(), kind))
            return open_session()

        return counted

    async def _note_task(self, update: Update, _context: Any) -> None:
        query = update.callback_query
        task = asyncio.current_task()
        if query is not None and task is not None:
            self.handled_by[query.id] = (task, len(self.opened))
            task.add_done_callback(lambda _task: self.ended.setdefault(query.id, len(self.opened)))

    async def settled(self, *presses: SimCallbackQuery) -> None:
        """Wait until the handling of these presses is over (their edits included)."""
        await asyncio.wait([self.handled_by[press.id][0] for press in presses], timeout=10)

    async def sessions_of(self, *presses: SimCallbackQuery) -> Counter[str]:
        """Writes and reads opened for these presses, handled together and alone (the shared workers'
        sessions are counted by when they were opened)."""
        await self.settled(*presses)
        tasks = [self.handled_by[press.id][0] for press in presses]
        start = min(self.handled_by[press.id][1] for press in presses)
        end = max(self.ended[press.id] for press in presses)
        return Counter(
            kind
            for index, (opener, kind) in enumerate(self.opened)
            if opener in tasks
            or (start <= index < end and opener is not None and opener.get_name() in self.SHARED_WORKERS)
        )


async def test_a_tap_opens_one_write_and_at_most_one_read(
    sim: Simulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Join, leave (with someone waiting) and switch: one transaction each, the person read once."""
    first = sim.add_user(first_name="Una", language_code="fr")
    second = sim.add_user(first_name="Dos", language_code="fr")
    await seed(db, [first, second])
    event = with_challenge(open_event(), CAP12, capacity=1)
    async with running_bot(sim, db, event) as app:
        counter = SessionCounter(db, app, monkeypatch)
        first_list, second_list = await open_list(first), await open_list(second)

        # One press at a time, each handled to its end before the next (its edit included).
        joined = await first.press(callback_data=f"ch:join:{CAP12}", message=first_list)
        assert "vous avez rejoint" in await answer_of(joined)
        await first.wait_for_edit(first_list, lambda m: "Vous êtes dans cette équipe" in m.text)
        await counter.settled(joined)
        waited = await second.press(callback_data=f"ch:join:{CAP12}", message=second_list)
        assert "n°1" in await answer_of(waited)
        await counter.settled(waited)
        left = await first.press(callback_data=f"ch:leaveok:{CAP12}", message=first_list)
        assert "Vous avez quitté" in await answer_of(left)
        await counter.settled(left)
        await second.wait_for_message(lambda m: "Une place s'est libérée" in m.text, timeout=10)
        switched = await second.press(callback_data=f"ch:sw:{CAP12}:{OTHER}", message=second_list)
        assert "vous avez quitté" in await answer_of(switched)

        for press in (joined, waited, left, switched):
            sessions = await counter.sessions_of(press)
            assert sessions["write"] == 1, (press.data, sessions)
            assert sessions["read"] <= 1, (press.data, sessions)


async def test_taps_in_one_poll_share_one_write_and_one_read(
    sim: Simulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty Join taps handed over in one getUpdates answer: one write transaction, one read, in all."""
    people = [sim.add_user(first_name=f"B{i}", language_code="fr") for i in range(20)]
    await seed(db, people)
    async with running_bot(sim, db, open_event()) as app:
        lists = await asyncio.gather(*(open_list(user) for user in people))
        counter = SessionCounter(db, app, monkeypatch)
        with sim.one_poll():
            presses = [
                await user.press(callback_data=f"ch:join:{CAP12}", message=listing, wait_answer=False)
                for user, listing in zip(people, lists, strict=True)
            ]
        answers = await asyncio.gather(*(answer_of(press) for press in presses))
        assert sum("vous avez rejoint" in a for a in answers) == 12
        assert len({press.handed_at for press in presses}) == 1  # one getUpdates answer carried them all
        sessions = await counter.sessions_of(*presses)
        assert sessions["write"] == 1, sessions
        assert sessions["read"] == 1, sessions
