"""`/mydata` and `/forget` end to end: what a person is shown, and what the database holds after.

Participants, their team, meals and questions are written with the domain functions (each feature
has its own tests); `/mydata` and `/forget` go through the simulator like a phone would. Organisers
and facilitators are not registered participants: what is kept about them is keyed by Telegram id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.context import HackbotApplication
from handlers.challenges import ensure_synced
from models import broadcasts as bc
from models import challenges as ch
from models import dashboard, meals, registration
from models import questions as q
from models.db import Database
from models.outbox import OutgoingMessage
from models.participant import Participant
from models.privacy import ERASED_ID
from simulator import SimMessage, Simulator, SimUser
from simulator.client import SimGroup
from tests.e2e.test_broadcasts import compose, received, seed
from tests.e2e.test_programme_support import MovableClock
from tests.support.harness import bundled_event, running_bot

BENEVOLAT = "benevolat"
BENEVOLAT_FR = "Mettre en relation bénévoles et besoins"
BENEVOLAT_EN = "Matching volunteers with needs"
HOSTILE_ALLERGY = "<b>arachides</b> & noix"
ASK = "❓ Poser une question"
CLAIM = "🙋 Je prends"


async def enrol(app: HackbotApplication, user: SimUser, *, lang: str = "fr") -> Participant:
    """A registered participant who already started the bot."""
    services = app.bot_data.services
    async with services.db.transaction() as session:
        person = await registration.give_consent(
            session,
            telegram_id=user.id,
            first_name=user.first_name,
            language=lang,
            consent_version=services.event.privacy.version,
            now=services.now(),
        )
        registration.set_display_name(person, user.first_name)
        registration.set_role(person, "resident", services.now())
    return person


async def ask_mydata(user: SimUser, title: str = "Ce que je garde") -> str:
    """Send /mydata; the whole answer (it may come in several messages)."""
    await user.send_text("/mydata")
    # The footer ends the last message (it names /oublier in French, /forget in English).
    await user.wait_for_message(lambda m: "/oublier" in m.text or "/forget" in m.text)
    start = max(i for i, m in enumerate(user.messages) if title in m.text)
    return "\n".join(m.text for m in user.messages[start:])


async def forget(user: SimUser, *, confirm: str = "Effacer", yes: str = "🗑 Oui, tout effacer") -> SimMessage:
    """Send /forget and confirm; the edited confirmation."""
    await user.send_text("/forget")
    await user.wait_for_message(lambda m: confirm in m.text)
    await user.press(yes)
    done = await user.wait_for_edit(None, lambda m: "effacé" in m.text or "erased" in m.text)
    await user.wait_for_message("👋")  # the menu keyboard is removed
    return done


async def count(db: Database, model: type, *where: object) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_mydata_shows_every_feature_readably_and_forget_erases_it(sim: Simulator, db: Database) -> None:
    """Titles and labels from the event file, person text escaped; after /forget nothing is left."""
    amina = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, bundled_event()) as app:
        services = app.bot_data.services
        person = await enrol(app, amina)
        await ensure_synced(services)
        now = services.now()
        async with services.db.transaction() as session:
            assert (await ch.join(session, person.id, BENEVOLAT, now)).outcome is ch.JoinOutcome.JOINED
            allowed = meals.diet_ids(services.event)
            await meals.toggle_diet(session, person.id, "vegetarian", allowed)
            await meals.toggle_diet(session, person.id, "no-pork", allowed)
            current = await registration.get_participant(session, amina.id)
            assert current is not None
            await meals.set_allergy(session, current, HOSTILE_ALLERGY)
            await meals.set_answer(session, person.id, "lunch", True)
            await meals.set_answer(session, person.id, "aperitif", False)
            ticket, _ = await q.open_ticket(
                session,
                current,
                q.Content(q.ContentKind.TEXT, "Où est la <salle> 3 ?", amina.id, 1),
                challenge_id=BENEVOLAT,
                anonymous=False,
                now=now,
            )

        shown = await ask_mydata(amina)
        assert f"Identifiant Telegram : {amina.id}" in shown
        assert "Prénom : Amina" in shown and "Rôle : Habitant·e" in shown and "Rappels : activés" in shown
        assert f"Défi : {BENEVOLAT_FR}" in shown  # the title, not the id
        assert "Régimes : Végétarien, Sans porc" in shown
        assert f"Allergie : {HOSTILE_ALLERGY}" in shown  # shown literally: escaped on the way
        assert "Présence aux repas : Apéritif convivial — je ne viens pas" in shown
        assert "Présence aux repas : Déjeuner — j'y serai" in shown
        assert "Questions posées : 1" in shown
        assert f"Question : n°{ticket.id} · en attente · Où est la <salle> 3 ?" in shown
        for raw_id in (BENEVOLAT, "vegetarian", "no-pork", "lunch", "open"):
            assert f": {raw_id}" not in shown and f" {raw_id}," not in shown

        await forget(amina)

        assert await count(db, Participant, Participant.telegram_id == amina.id) == 0
        assert await count(db, ch.ChallengeMember) == 0 and await count(db, ch.WaitlistEntry) == 0
        async with db.read() as session:
            state = await ch.counts_of(session, BENEVOLAT)
            assert state is not None and state.members == 0  # the place is free again
            kept = await q.get_ticket(session, ticket.id)
            assert kept is not None and kept.asker_id is None and kept.erased  # an anonymous statistic
        assert await count(db, meals.DietaryProfile) == 0 and await count(db, meals.MealAnswer) == 0
        assert await count(db, q.QuestionPost) == 0
        assert await count(db, OutgoingMessage, OutgoingMessage.chat_id == amina.id) == 0

        await amina.send_text("/mydata")
        await amina.wait_for_message(lambda m: "Je ne garde rien sur vous" in m.text)


async def test_mydata_in_english_with_a_waiting_list_place(sim: Simulator, db: Database) -> None:
    """An English speaker sees titles in English and their place on a waiting list."""
    jo = sim.add_user(first_name="Jo", language_code="en")
    full = sim.add_user(first_name="Full", language_code="fr")
    async with running_bot(sim, db, bundled_event()) as app:
        services = app.bot_data.services
        person = await enrol(app, jo, lang="en")
        other = await enrol(app, full)
        await ensure_synced(services)
        async with services.db.transaction() as session:
            await ch.join(session, other.id, BENEVOLAT, services.now())
            await ch.set_capacity(session, BENEVOLAT, 1, services.now())
            joined = await ch.join(session, person.id, BENEVOLAT, services.now())
            assert joined.outcome is ch.JoinOutcome.WAITLISTED
        shown = await ask_mydata(jo, "What I keep about you")
        assert f"Waiting list: “{BENEVOLAT_EN}”, number 1" in shown
        assert "Challenge: —" in shown and "Reminders: on" in shown

        await forget(jo, confirm="Erase all your data", yes="🗑 Yes, erase everything")
        assert await count(db, ch.WaitlistEntry) == 0
        assert await count(db, Participant) == 1


async def test_organiser_sees_and_erases_their_announcements(sim: Simulator, db: Database) -> None:
    """An unregistered organiser: drafts deleted, announcements kept but no longer theirs, signed out.

    A broadcast still scheduled goes out to everyone after the /forget; nobody is left to report to.
    """
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 2)
    clock = MovableClock()
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id]), clock=clock) as app:
        services = app.bot_data.services
        confirm = await compose(organiser, lambda: organiser.send_text("Le bus est là"), "👥 Tout le monde")
        await organiser.press("✅ Envoyer à 2 personnes", message=confirm)
        await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)

        later = await compose(organiser, lambda: organiser.send_text("Le jury arrive"), "👥 Tout le monde")
        await organiser.press("🕒 Programmer", message=later)
        options = await organiser.wait_for_edit(later, lambda m: "Dans 15 min" in m.button_texts)
        await organiser.press("Dans 15 min", message=options)
        scheduled = await organiser.wait_for_edit(later, "Envoi programmé")
        await organiser.press("✅ Programmer l'envoi", message=scheduled)
        await organiser.wait_for_edit(later, "🕒 Envoi programmé")

        await organiser.send_text("/annonce")
        await organiser.wait_for_message("Nouvelle annonce")
        await organiser.send_text("Mon brouillon <secret>")
        await organiser.wait_for_message("À qui l'envoyer")
        async with services.db.transaction() as session:
            await dashboard.open_session(session, organiser.id, services.now())

        shown = await ask_mydata(organiser)
        assert f"Identifiant Telegram : {organiser.id}" in shown
        assert "Prénom" not in shown  # not a participant: nothing of the sort is stored
        assert "Annonce : n°1 du " in shown and "message « Le bus est là »" in shown
        assert "Annonce : n°2 du " in shown and "message « Le jury arrive »" in shown
        assert "Brouillon d'annonce : message « Mon brouillon <secret> »" in shown
        assert "Connexion au tableau de bord, valable jusqu'au : " in shown

        done = await forget(organiser)
        assert "tout est effacé" in done.text
        async with db.read() as session:
            assert await session.get(bc.BroadcastDraft, organiser.id) is None
            broadcasts = list(await session.scalars(select(bc.Broadcast).order_by(bc.Broadcast.id)))
        assert [b.content_html for b in broadcasts] == ["Le bus est là", "Le jury arrive"]  # the record
        assert all(b.organiser_id == ERASED_ID and b.progress_chat_id == ERASED_ID for b in broadcasts)
        assert all(b.progress_message_id is None for b in broadcasts)
        assert await count(db, dashboard.DashboardSession) == 0
        assert await count(db, OutgoingMessage, OutgoingMessage.purpose == bc.PURPOSE_SEND) == 4

        seen = len(organiser.messages)
        clock.offset += timedelta(minutes=16)
        for _ in range(100):
            async with db.read() as session:
                second = await bc.get_broadcast(session, broadcasts[1].id)
            if second is not None and second.finished:
                break
            await asyncio.sleep(0.1)
        assert second is not None and second.status is bc.BroadcastStatus.DONE and second.delivered == 2
        assert received(people, "Le jury arrive") == {p.id: 1 for p in people}
        assert [m.text for m in organiser.messages[seen:]] == []  # nobody to report to
        assert "Envoi terminé" not in later.text

        await organiser.send_text("/mydata")
        await organiser.wait_for_message(lambda m: "Je ne garde rien sur vous" in m.text)


async def ask_relayed(user: SimUser, group: SimGroup, question: str) -> tuple[int, SimMessage]:
    """Ask with the menu button; the ticket's number and its message in the staff group."""
    await user.send_text(ASK)
    await user.wait_for_message(lambda m: "Écrivez votre question" in m.text)
    await user.send_text(question)
    ack = await user.wait_for_message(lambda m: "Bien reçu" in m.text)
    digits = ack.text.split("n°", 1)[1]
    number = int(digits[: len(digits) - len(digits.lstrip("0123456789"))])
    relayed = await group.wait_for_message(
        lambda m: (m.text or "").startswith(f"❓ Question n°{number} ·"), since="all"
    )
    return number, relayed


async def test_facilitator_is_unlinked_from_the_answers_they_gave(sim: Simulator, db: Database) -> None:
    """A facilitator's /mydata counts their answers; /forget removes their id and name, keeps the answer."""
    camille = sim.add_user(first_name="Camille", language_code="fr")
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    group = sim.add_group("Équipe", members=[camille], admins=[organiser])
    amina = sim.add_user(first_name="Amina", language_code="fr")
    event = bundled_event(staff_chat_id=group.id, organisers=[organiser.id])
    async with running_bot(sim, db, event) as app:
        await enrol(app, amina)
        number, relayed = await ask_relayed(amina, group, "Où est la salle 3 ?")
        await camille.press(CLAIM, message=relayed, chat=group)
        await group.wait_for_edit(relayed, lambda m: "Prise par Camille" in m.text, since="all")
        await camille.reply(relayed, "Au fond du couloir")
        await amina.wait_for_message(lambda m: "Au fond du couloir" in m.text, since="all")
        other, relayed_other = await ask_relayed(amina, group, "Et le wifi ?")
        await camille.press(CLAIM, message=relayed_other, chat=group)
        await group.wait_for_edit(relayed_other, lambda m: "Prise par Camille" in m.text, since="all")

        shown = await ask_mydata(camille)
        assert "Réponses envoyées pour l'équipe : 1" in shown and "Questions prises en charge : 2" in shown
        assert "Prénom" not in shown  # a facilitator need not register

        await forget(camille)
        async with db.read() as session:
            answered = await q.get_ticket(session, number)
            waiting = await q.get_ticket(session, other)
            posts = list(
                await session.scalars(select(q.QuestionPost).where(q.QuestionPost.ticket_id == number))
            )
        assert answered is not None and waiting is not None
        assert (answered.claimed_by, answered.claimed_by_name, answered.answered_by_name) == (
            None,
            None,
            None,
        )
        assert answered.state is q.TicketState.ANSWERED
        assert waiting.claimed_by is None and waiting.state is q.TicketState.OPEN  # someone else may take it
        staff_posts = [p for p in posts if p.author is q.Author.STAFF]
        assert [(p.text, p.staff_user_id, p.staff_name) for p in staff_posts] == [
            ("Au fond du couloir", None, None)
        ]

        # The asker's own data is untouched.
        mine = await ask_mydata(amina)
        assert f"n°{number} · répondue · Où est la salle 3 ?" in mine
        assert f"n°{other} · en attente · Et le wifi ?" in mine
        await camille.send_text("/mydata")
        await camille.wait_for_message(lambda m: "Je ne garde rien sur vous" in m.text)
