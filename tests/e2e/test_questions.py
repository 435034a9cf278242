"""Questions to facilitators, end to end: participants, a staff group (plain or forum), facilitators.

Every test runs the real application over HTTP against the simulator, on SQLite and (when
TEST_POSTGRES_URL is set) PostgreSQL, and fails on any Bot API violation or 429 (see `sim`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.context import HackbotApplication
from handlers.challenges import ensure_synced
from models import challenges, registration
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from models.questions import QuestionLink, QuestionPost, QuestionTicket, TicketState
from schedule.config import EventConfig
from schedule.questions import JOB_NAME, runtime
from simulator import Simulator
from simulator.client import SimGroup, SimMessage, SimUser
from tests.support.harness import bundled_event, running_bot

if TYPE_CHECKING:
    from tests.support.databases import TestDatabase

ASK = "❓ Poser une question"
CLAIM = "🙋 Je prends"
RESOLVE = "✅ Réglée"
TITLE_RESERVATION = "Réserver une activité du centre social"
TITLE_PANNEAU = "Un panneau d'affichage numérique pour le quartier"


# -- helpers ---------------------------------------------------------------------------------------


class Clock:
    """A clock the test can move forward (the bot reads time through `services.clock`)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


async def register(user: SimUser, role: str = "Habitant·e") -> None:
    """Register with buttons only (consent, keep the Telegram first name, role)."""
    await user.send_text("/start")
    await user.wait_for_message(lambda m: "✅ J'accepte" in m.button_texts)
    await user.press("✅ J'accepte")
    ask_name = await user.wait_for_message(lambda m: any("Garder" in b for b in m.button_texts))
    await user.press(f"Garder « {user.first_name} »", message=ask_name)
    await user.wait_for_message(lambda m: role in m.button_texts)
    await user.press(role)
    await user.wait_for_message(lambda m: "inscrit" in m.text)


async def enrol(
    app: HackbotApplication, user: SimUser, *, role: str = "resident", challenge: str | None = None
) -> Participant:
    """A registered participant, written straight to the database (registration has its own tests)."""
    services = app.bot_data.services
    if challenge is not None:
        await ensure_synced(services)
    async with services.db.transaction() as session:
        participant = await registration.give_consent(
            session,
            telegram_id=user.id,
            first_name=user.first_name,
            language="fr",
            consent_version=services.event.privacy.version,
            now=services.now(),
        )
        registration.set_display_name(participant, user.first_name)
        registration.set_role(participant, role, services.now())
        if challenge is not None:
            result = await challenges.join(session, participant.id, challenge, services.now())
            assert result.outcome is challenges.JoinOutcome.JOINED
    return participant


async def ask(
    user: SimUser, question: str | Callable[[], Awaitable[object]], *, anonymous: bool = False
) -> SimMessage:
    """Send "Ask a question", optionally "without my name", then the question; return the acknowledgement."""
    await user.send_text(ASK)
    prompt = await user.wait_for_message(lambda m: "Écrivez votre question" in m.text)
    if anonymous:
        await user.press("🙈 Sans mon prénom", message=prompt)
        await user.wait_for_edit(prompt, lambda m: "ne sera pas montré" in m.text)
    if isinstance(question, str):
        await user.send_text(question)
    else:
        await question()
    return await user.wait_for_message(lambda m: "Bien reçu" in m.text)


def number_of(ack: SimMessage) -> int:
    after = ack.text.split("n°", 1)[1]
    return int(after[: len(after) - len(after.lstrip("0123456789"))])


async def relayed_question(
    staff: Staff,
    user: SimUser,
    question: str | Callable[[], Awaitable[object]],
    *,
    anonymous: bool = False,
) -> tuple[int, SimMessage]:
    """Ask (see `ask`); the ticket's number and its message in the staff group."""
    number = number_of(await ask(user, question, anonymous=anonymous))
    return number, await staff.ticket_message(number)


async def deliver_answer(facilitator: SimUser, message: SimMessage, asker: SimUser, text: str) -> SimMessage:
    """A facilitator replies `text` to a staff-group message; the answer as the asker receives it."""
    await facilitator.reply(message, text)
    return await asker.wait_for_message(lambda m: text in m.text, since="all")


@dataclass
class Staff:
    """The staff group and the people in it."""

    group: SimGroup
    camille: SimUser
    yanis: SimUser
    organiser: SimUser

    async def ticket_message(self, number: int, timeout: float = 10.0) -> SimMessage:  # noqa: ASYNC109
        """The ticket's message in the staff group (header + question)."""
        return await self.group.wait_for_message(
            lambda m: staff_text(m).startswith(f"❓ Question n°{number} ·"), timeout=timeout, since="all"
        )

    async def question_list(self) -> SimMessage:
        """Camille sends /questions in the group; the list of waiting questions it gets."""
        await self.camille.send_text("/questions", chat=self.group)
        return await self.group.wait_for_message(lambda m: "Questions en attente" in m.text)


def make_staff(sim: Simulator, *, forum: bool = False, bot_member: bool = True) -> Staff:
    camille = sim.add_user(first_name="Camille", language_code="fr")
    yanis = sim.add_user(first_name="Yanis", language_code="fr")
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    group = sim.add_group(
        "Équipe", members=[camille, yanis], admins=[organiser], is_forum=forum, bot_member=bot_member
    )
    return Staff(group, camille, yanis, organiser)


def event_for(staff: Staff, **changes: object) -> EventConfig:
    return bundled_event(staff_chat_id=staff.group.id, organisers=[staff.organiser.id], **changes)


@asynccontextmanager
async def amina_and_staff(
    sim: Simulator, db: Database, *, clock: Clock | None = None, **changes: object
) -> AsyncIterator[tuple[HackbotApplication, Staff, SimUser]]:
    """The bot running with a staff group (`changes` to the event), and Amina, a registered resident."""
    staff = make_staff(sim)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, event_for(staff, **changes), clock=clock) as app:
        await enrol(app, amina)
        yield app, staff, amina


@asynccontextmanager
async def bot_on(
    sim: Simulator, test_database: TestDatabase, event: EventConfig, *, clock: Clock | None = None
) -> AsyncIterator[HackbotApplication]:
    """The bot on a new connection to the test's database (as after a restart), closed afterwards."""
    database = test_database.connect()
    try:
        async with running_bot(sim, database, event, clock=clock) as app:
            yield app
    finally:
        await database.dispose()


async def ticket_row(db: Database, number: int) -> QuestionTicket:
    async with db.read() as session:
        row = await session.get(QuestionTicket, number)
    assert row is not None
    return row


async def restart_pause() -> None:
    """A restart takes a few seconds. The throttle's memory is per process, while Telegram (and the
    simulator) remember the last second's sends: restarting instantly could exceed a chat's burst."""
    await asyncio.sleep(RESTART_SECONDS)


RESTART_SECONDS = 3.0


def staff_text(message: SimMessage) -> str:
    return message.text or message.caption or ""


async def run_scan(app: HackbotApplication) -> None:
    """Run the escalation scan job now (the JobQueue also runs it every 30 s)."""
    (job,) = app.job_queue.get_jobs_by_name(JOB_NAME)  # type: ignore[union-attr]
    await job.run(app)


# -- the main path ---------------------------------------------------------------------------------


async def test_question_relayed_claimed_answered_to_the_right_person(sim: Simulator, db: Database) -> None:
    """Question → staff group → claimed → answered by reply → delivered to the asker only, escaped."""
    staff = make_staff(sim)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    bob = sim.add_user(first_name="Bob", language_code="fr")
    async with running_bot(sim, db, event_for(staff)) as app:
        await register(amina)
        await enrol(app, bob, role="volunteer")
        number, relayed = await relayed_question(staff, amina, "Où est la salle 3 ?")
        assert "Amina (Habitant·e)" in relayed.text and "Où est la salle 3 ?" in relayed.text
        assert "Question générale" in relayed.text and "En attente" in relayed.text
        assert relayed.button_texts == [CLAIM, RESOLVE]

        pressed = await staff.camille.press(CLAIM, message=relayed, chat=staff.group)
        assert "pour vous" in ((await pressed.wait_answered()).text or "")
        edited = await staff.group.wait_for_edit(
            relayed, lambda m: "Prise par Camille" in m.text, since="all"
        )
        assert edited.button_texts == [RESOLVE]
        # Yanis taps "I'll take it" on his (older) screen: he is told Camille has it.
        late = await staff.yanis.press(callback_data=f"q:claim:{number}", message=edited, chat=staff.group)
        answer = await late.wait_answered()
        assert "Camille" in (answer.text or "") and answer.show_alert

        await staff.camille.reply(relayed, "Au fond du couloir <à gauche> & en haut")
        delivered = await amina.wait_for_message(lambda m: "Camille" in m.text, since="all")
        assert "💬 Camille (question n°" in delivered.text
        assert "Au fond du couloir <à gauche> & en haut" in delivered.text
        question = next(m for m in amina.history if m.text == "Où est la salle 3 ?")
        assert delivered.reply_to == question.message_id  # threads under the question
        await staff.group.wait_for_edit(relayed, lambda m: "Répondue par Camille" in m.text, since="all")
        assert not any("Au fond du couloir" in m.text for m in bob.messages)
        row = await ticket_row(db, number)
        assert row.state is TicketState.ANSWERED and row.claimed_by == staff.camille.id
        assert row.staff_message_id == relayed.message_id


async def test_follow_ups_in_both_directions_and_media(sim: Simulator, db: Database) -> None:
    """Asker replies to the answer → reply in the staff thread; facilitator answers it; media is copied."""
    async with amina_and_staff(sim, db) as (_, staff, amina):
        number, relayed = await relayed_question(
            staff, amina, lambda: amina.send_photo("Mon écran affiche ça")
        )
        assert relayed.photo is not None and "Mon écran affiche ça" in (relayed.caption or "")
        assert "Amina (Habitant·e)" in (relayed.caption or "")

        # The facilitator answers with a voice note: copied back, with her first name.
        await staff.camille.send_voice(chat=staff.group, reply_to=relayed)
        voice = await amina.wait_for_message(lambda m: m.voice is not None, since="all")
        assert "Camille" in (voice.caption or "")

        # The asker follows up by replying to the answer: it lands as a reply to the ticket message.
        follow = await amina.send_text("Ça ne marche toujours pas", reply_to=voice)
        await amina.wait_for_message(lambda m: "Ajouté à votre question" in m.text)
        relayed_follow = await staff.group.wait_for_message(
            lambda m: "Ça ne marche toujours pas" in m.text, since="all"
        )
        assert relayed_follow.reply_to == relayed.message_id
        assert f"Question n°{number}" in relayed_follow.text and "Amina" in relayed_follow.text

        # Yanis answers the follow-up: the answer replies to the asker's follow-up message.
        await staff.yanis.reply(relayed_follow, "Redémarrez la box 🙂")
        second = await amina.wait_for_message(lambda m: "Redémarrez" in m.text, since="all")
        assert second.reply_to == follow.message_id and "Yanis" in second.text

        # A document follow-up and a document answer.
        await amina.send_document("erreur.txt", b"trace", caption="Le journal", reply_to=second)
        doc = await staff.group.wait_for_message(lambda m: m.document is not None, since="all")
        assert "Le journal" in (doc.caption or "") and doc.reply_to == relayed.message_id
        async with db.read() as session:
            posts = (
                await session.scalars(select(QuestionPost).where(QuestionPost.ticket_id == number))
            ).all()
        assert [p.kind.value for p in posts] == ["photo", "voice", "text", "text", "document"]


async def test_bad_input_from_participants_is_refused_politely_or_relayed(
    sim: Simulator, db: Database
) -> None:
    """A sticker is refused (kept waiting), a location and a 4,000-character text are relayed whole."""
    long_text = "Bonjour & <merci> " + "x" * 4032  # 4,050 characters: no room left for a header
    async with amina_and_staff(sim, db) as (_, staff, amina):
        await amina.send_text(ASK)
        await amina.wait_for_message(lambda m: "Écrivez votre question" in m.text)
        await amina.send_sticker()
        await amina.wait_for_message(lambda m: "ne peux pas transmettre" in m.text)
        await amina.send_location(50.69, 3.18)  # still waiting for the question: the location is it
        number = number_of(await amina.wait_for_message(lambda m: "Bien reçu" in m.text))
        header = await staff.ticket_message(number)
        location = await staff.group.wait_for_message(lambda m: m.location is not None, since="all")
        assert location.message_id > header.message_id

        _, long_header = await relayed_question(staff, amina, long_text)
        copy = await staff.group.wait_for_message(lambda m: m.text == long_text, since="all")
        assert copy.message_id == long_header.message_id + 1 and long_text not in long_header.text
        # Replying to the copy (not the header) reaches the asker too.
        await deliver_answer(staff.camille, copy, amina, "Bien lu")


async def test_plain_staff_messages_never_leave_the_group(sim: Simulator, db: Database) -> None:
    """Messages and replies between facilitators stay; a reply to a non-ticket bot message is explained."""
    async with amina_and_staff(sim, db) as (_, staff, amina):
        number, relayed = await relayed_question(staff, amina, "Question ?")
        chat = await staff.camille.send_text("/questions", chat=staff.group)
        listing = await staff.group.wait_for_message(lambda m: "Questions en attente" in m.text)
        assert f"n°{number}" in listing.text and "Amina" in listing.text
        await staff.yanis.send_text("Quelqu'un prend la question ?", chat=staff.group)
        await staff.camille.send_text("Oui moi", chat=staff.group, reply_to=chat)
        await staff.camille.reply(listing, "Réponse au mauvais message")
        await staff.group.wait_for_message(lambda m: "n'est pas une question" in m.text)
        await deliver_answer(staff.camille, relayed, amina, "La vraie réponse")
        texts = [m.text for m in amina.messages]
        assert not any("Quelqu'un" in t or "Oui moi" in t or "mauvais message" in t for t in texts)


async def test_anonymous_questions_never_show_the_name_to_staff(sim: Simulator, db: Database) -> None:
    """Relay, follow-up, escalation and /questions show only "a participant of challenge X"."""
    clock = Clock()
    staff = make_staff(sim)
    amina = sim.add_user(first_name="Amina", last_name="Zed", language_code="fr")
    async with running_bot(sim, db, event_for(staff), clock=clock) as app:
        participant = await enrol(app, amina, challenge="reservation")
        number, relayed = await relayed_question(staff, amina, "Question discrète", anonymous=True)
        assert f"une personne du défi « {TITLE_RESERVATION} »" in relayed.text
        answer = await deliver_answer(staff.camille, relayed, amina, "Réponse")
        await amina.send_text("Merci, et aussi…", reply_to=answer)
        await staff.group.wait_for_message(lambda m: "Merci, et aussi" in m.text, since="all")
        clock.offset = timedelta(minutes=30)
        # The follow-up's arrival in the group can be seen before the sender's result transaction
        # (which puts the ticket back to "waiting") commits; the real job runs every 30 s, so here
        # we run it until it has escalated the ticket rather than racing that commit.
        for _ in range(50):
            await run_scan(app)
            if (await ticket_row(db, number)).escalated_at is not None:
                break
            await asyncio.sleep(0.1)
        await staff.group.wait_for_message(lambda m: "En attente depuis" in m.text, since="all", timeout=10)
        await staff.question_list()
        staff_side = [staff_text(m) for m in staff.group.messages]
        assert len(staff_side) >= 4
        assert not any("Amina" in t or "Zed" in t or "Habitant" in t for t in staff_side)
        row = await ticket_row(db, number)
        assert row.anonymous and row.asker_id == participant.id  # the mapping is in the database only


# -- forum staff group -----------------------------------------------------------------------------


async def test_forum_topics_per_challenge_survive_a_restart(sim: Simulator, test_database) -> None:
    """Each challenge's questions go to its topic (created once), general ones to a general topic."""
    staff = make_staff(sim, forum=True)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    bob = sim.add_user(first_name="Bob", language_code="fr")
    carla = sim.add_user(first_name="Carla", language_code="fr")
    async with bot_on(sim, test_database, event_for(staff)) as app:
        await enrol(app, amina, challenge="reservation")
        await enrol(app, bob, challenge="panneau-quartier")
        await enrol(app, carla)
        a1 = number_of(await ask(amina, "Question réservation"))
        b1 = number_of(await ask(bob, "Question panneau"))
        c1 = number_of(await ask(carla, "Question générale"))
        relayed = {n: await staff.ticket_message(n) for n in (a1, b1, c1)}
        topics = staff.group.topics
        assert sorted(topics.values()) == sorted(
            [f"❓ {TITLE_RESERVATION}", f"❓ {TITLE_PANNEAU}", "❓ Questions générales"]
        )
        by_name = {name: thread for thread, name in topics.items()}
        assert relayed[a1].thread_id == by_name[f"❓ {TITLE_RESERVATION}"]
        assert relayed[b1].thread_id == by_name[f"❓ {TITLE_PANNEAU}"]
        assert relayed[c1].thread_id == by_name["❓ Questions générales"]

        # A plain message in a topic "replies" to the topic's first message: it goes nowhere.
        await staff.camille.send_text("On s'organise ?", chat=staff.group, thread_id=relayed[a1].thread_id)
        answer = await deliver_answer(staff.camille, relayed[a1], amina, "Réponse dans le sujet")
        assert not any("On s'organise" in m.text for m in amina.messages)
    await restart_pause()

    async with bot_on(sim, test_database, event_for(staff)):
        await amina.send_text("Et pour samedi ?", reply_to=answer)
        follow = await staff.group.wait_for_message(lambda m: "Et pour samedi" in m.text, since="all")
        assert follow.thread_id == relayed[a1].thread_id and follow.reply_to == relayed[a1].message_id
        _, again = await relayed_question(staff, amina, "Deuxième question")
        assert again.thread_id == relayed[a1].thread_id
        assert len(staff.group.topics) == 3  # remembered, not created again


# -- escalation, resolution, feedback --------------------------------------------------------------


async def test_unanswered_ticket_is_escalated_once_and_the_asker_told(sim: Simulator, db: Database) -> None:
    """After the configured delay: one reminder in the staff group, one notice to the asker."""
    clock = Clock()
    async with amina_and_staff(sim, db, clock=clock, question_escalation_minutes=10) as (app, staff, amina):
        bob = sim.add_user(first_name="Bob", language_code="fr")
        await enrol(app, bob)
        waiting, relayed = await relayed_question(staff, amina, "Personne ne répond ?")
        answered, relayed_answered = await relayed_question(staff, bob, "Question vite répondue")
        await deliver_answer(staff.camille, relayed_answered, bob, "Voilà")

        clock.offset = timedelta(minutes=9)
        await run_scan(app)
        clock.offset = timedelta(minutes=11)
        await run_scan(app)
        reminder = await staff.group.wait_for_message(lambda m: "En attente depuis" in m.text, since="all")
        assert f"question n°{waiting}" in reminder.text and "11 min" in reminder.text
        assert reminder.reply_to == relayed.message_id
        await amina.wait_for_message(lambda m: "toujours dans la file" in m.text, since="all")
        clock.offset = timedelta(minutes=25)
        await run_scan(app)
        listing = await staff.question_list()
        assert f"n°{waiting} · 25 min" in listing.text and f"n°{answered}" not in listing.text
        reminders = [m for m in staff.group.messages if "En attente depuis" in m.text]
        assert len(reminders) == 1  # raised once
        assert not any("toujours dans la file" in m.text for m in bob.messages)

        # Replying to the reminder answers the ticket, too.
        await deliver_answer(staff.yanis, reminder, amina, "Désolé du retard")


async def test_resolved_ticket_feedback_and_closed_replies(sim: Simulator, db: Database) -> None:
    """Resolved: the asker is told and taps whether it helped; replies to a closed ticket are refused."""
    async with amina_and_staff(sim, db) as (_, staff, amina):
        number, relayed = await relayed_question(staff, amina, "Wifi ?")
        answer = await deliver_answer(staff.camille, relayed, amina, "Mot de passe au tableau")
        await staff.camille.press(RESOLVE, message=relayed, chat=staff.group)
        closed = await staff.group.wait_for_edit(
            relayed, lambda m: "Réglée par Camille" in m.text, since="all"
        )
        assert closed.button_texts == []
        notice = await amina.wait_for_message(lambda m: "est réglée" in m.text, since="all")
        await amina.press("👎 Non", message=notice)
        await amina.wait_for_edit(notice, lambda m: "l'équipe est prévenue" in m.text)
        await staff.group.wait_for_message(lambda m: "ne l'a pas aidée" in m.text, since="all")
        assert (await ticket_row(db, number)).helpful is False

        await staff.yanis.reply(relayed, "Encore un détail")
        await staff.group.wait_for_message(lambda m: "est close" in m.text, since="all")
        assert not any("Encore un détail" in m.text for m in amina.messages)

        # The asker adds something to the closed question: it becomes a new, linked question.
        await amina.send_text("Le mot de passe ne marche pas", reply_to=answer)
        new_ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        newer = number_of(new_ack)
        assert newer != number
        relayed_new = await staff.ticket_message(newer)
        assert f"suite de la question n°{number}" in relayed_new.text


# -- who may act -----------------------------------------------------------------------------------


async def test_non_members_cannot_claim_resolve_or_answer(sim: Simulator, db: Database) -> None:
    """Someone no longer in the staff group (checked with getChatMember) is refused."""
    async with amina_and_staff(sim, db) as (app, staff, amina):
        number, relayed = await relayed_question(staff, amina, "Question ?")
        # Yanis leaves the group but still has the message on screen.
        staff.group.remove_member(staff.yanis)
        record = sim.user_presses(
            staff.yanis.account, relayed.stored, f"q:claim:{number}", bot=sim.bot.account
        )
        await asyncio.sleep(0)
        answered = await _answered(sim, record.id)
        assert "Réservé aux membres" in (answered or "")
        sim.user_sends(
            staff.yanis.account,
            staff.group.chat,
            {"text": "Je réponds quand même"},
            reply_to=relayed.message_id,
        )
        await staff.group.wait_for_message(lambda m: "Réservé aux membres" in m.text, since="all")
        row = await ticket_row(db, number)
        assert row.state is TicketState.OPEN and row.claimed_by is None
        assert not any("quand même" in m.text for m in amina.messages)

        # Forged or foreign `q:` buttons change nothing.
        bob = sim.add_user(first_name="Bob", language_code="fr")
        await enrol(app, bob)
        bob_ack = await ask(bob, "Ma question")
        for forged in (f"q:fb:{number}:y", "q:claim:abc", "q:done:999", "q:zzz", f"q:fb:{number}:maybe"):
            answer = await (await bob.press(callback_data=forged, message=bob_ack)).wait_answered()
            assert "plus valable" in (answer.text or "")
        assert (await ticket_row(db, number)).helpful is None
        # /questions is for the staff group's members only, also in private.
        await bob.send_text("/questions")
        await bob.wait_for_message(lambda m: "réservée" in m.text)
        await staff.camille.send_text("/questions")
        listing = await staff.camille.wait_for_message(lambda m: "Questions en attente : 2" in m.text)
        assert f"n°{number}" in listing.text


async def _answered(sim: Simulator, callback_id: str, timeout: float = 5.0) -> str | None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        record = sim.api.callbacks[callback_id]
        if record.answer is not None:
            return record.answer.text
        await sim.world.changed.wait(0.2)
    raise TimeoutError("callback not answered")


async def test_organisers_mute_and_unmute_a_participant(sim: Simulator, db: Database) -> None:
    """/mute in reply to a ticket pauses the asker (told politely); only organisers may; /unmute lifts it."""
    async with amina_and_staff(sim, db) as (_, staff, amina):
        number, relayed = await relayed_question(staff, amina, "Spam")
        await staff.camille.send_text("/mute 30", chat=staff.group, reply_to=relayed)
        await staff.group.wait_for_message(lambda m: "réservée à l'équipe d'organisation" in m.text)
        await staff.organiser.send_text("/mute 30", chat=staff.group, reply_to=relayed)
        await staff.group.wait_for_message(lambda m: "en pause jusqu'à" in m.text)
        await amina.wait_for_message(lambda m: "mis vos questions en pause" in m.text, since="all")
        await amina.send_text(ASK)
        await amina.wait_for_message(lambda m: "en pause jusqu'à" in m.text)
        await staff.organiser.send_text(f"/unmute {number}", chat=staff.group)
        await staff.group.wait_for_message(lambda m: "de nouveau poser" in m.text)
        await ask(amina, "Ça remarche ?")


async def test_rate_limit_refuses_with_an_explanation_and_loses_nothing_before(
    sim: Simulator, db: Database
) -> None:
    """Many messages in a minute: the first ones are all relayed, the rest refused, each with a reason."""
    async with amina_and_staff(sim, db) as (app, staff, amina):
        runtime(app.bot_data.services).rate_limit = 3  # the default is 10 per 10 minutes
        ack = await ask(amina, "Message 0")
        for i in range(1, 6):
            await amina.send_text(f"Message {i}", reply_to=ack)
        for _ in range(2):
            await amina.wait_for_message(lambda m: "Ajouté à votre question" in m.text, timeout=15)
        for _ in range(3):
            await amina.wait_for_message(lambda m: "pas été transmis" in m.text, timeout=15)
        for i in range(3):
            await staff.group.wait_for_message(
                lambda m, i=i: f"Message {i}" in m.text, since="all", timeout=15
            )
        async with db.read() as session:
            posts = await session.scalar(select(func.count()).select_from(QuestionPost))
        assert posts == 3  # exactly the messages before the limit, all relayed
        assert not any(f"Message {i}" in staff_text(m) for m in staff.group.messages for i in range(3, 6))


# -- failures on the way -----------------------------------------------------------------------------


async def test_erased_or_blocked_askers_and_the_facilitator_is_told(sim: Simulator, db: Database) -> None:
    """/forget anonymises the ticket and deletes the staff copy; a blocked bot is reported on answer."""
    async with amina_and_staff(sim, db) as (app, staff, amina):
        bob = sim.add_user(first_name="Bob", language_code="fr")
        await enrol(app, bob)
        a, relayed_a = await relayed_question(staff, amina, "Question d'Amina")
        b, relayed_b = await relayed_question(staff, bob, "Question de Bob")

        await amina.send_text("/mydata")
        mydata = await amina.wait_for_message(lambda m: "Ce que je garde" in m.text)
        assert f"n°{a} · en attente · Question d'Amina" in mydata.text
        # The sender is paused so that a facilitator's reply arrives between /forget and the
        # deletion of the staff copy (afterwards there is nothing left to reply to).
        sender = app.bot_data.services.sender
        assert sender is not None
        await sender.stop()
        await amina.send_text("/forget")
        await amina.wait_for_message(lambda m: "Effacer" in m.text)
        await amina.press("🗑 Oui, tout effacer")
        await amina.wait_for_edit(None, lambda m: "tout est effacé" in m.text)
        await staff.camille.reply(relayed_a, "Réponse trop tard")
        await staff.group.wait_for_message(lambda m: "a effacé ses données" in m.text, since="all")
        await sender.start()
        for _ in range(50):
            if relayed_a.message_id not in {m.message_id for m in staff.group.messages}:
                break
            await asyncio.sleep(0.1)
        assert relayed_a.message_id not in {m.message_id for m in staff.group.messages}  # copy deleted
        assert not any("trop tard" in m.text for m in amina.messages)
        row = await ticket_row(db, a)
        assert row.asker_id is None and row.erased and row.state is TicketState.CLOSED
        async with db.read() as session:
            assert not (await session.scalars(select(QuestionPost).where(QuestionPost.ticket_id == a))).all()
            assert not (
                await session.scalars(select(QuestionLink).where(QuestionLink.chat_id == amina.id))
            ).all()

        bob.block_bot()
        await staff.camille.reply(relayed_b, "Réponse pour Bob")
        notice = await staff.group.wait_for_message(lambda m: "a bloqué le bot" in m.text, since="all")
        assert f"n°{b}" in notice.text


async def test_staff_group_missing_or_bot_not_member(sim: Simulator, test_database) -> None:
    """Organisers are told at start; questions are recorded, then relayed once the bot is in the group."""
    staff = make_staff(sim, bot_member=False)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await staff.organiser.send_text("/start")  # so the bot may write to the organiser
    no_group = bundled_event(staff_chat_id=None, organisers=[staff.organiser.id])
    async with bot_on(sim, test_database, no_group) as app:
        await staff.organiser.wait_for_message(lambda m: "aucun groupe de l'équipe" in m.text, since="all")
        await enrol(app, amina)
        number = number_of(await ask(amina, "Quelqu'un ?"))
    assert (await ticket_row_on(test_database, number)).staff_message_id is None

    async with bot_on(sim, test_database, event_for(staff)):
        await staff.organiser.wait_for_message(lambda m: "n'est pas membre" in m.text, since="all")
    await restart_pause()

    sim.world.groups[staff.group.id].members[sim.bot.id] = "member"
    async with bot_on(sim, test_database, event_for(staff)):
        relayed = await staff.ticket_message(number)
        assert "Quelqu'un ?" in relayed.text


async def ticket_row_on(test_database, number: int) -> QuestionTicket:
    database = test_database.connect()
    try:
        return await ticket_row(database, number)
    finally:
        await database.dispose()


# -- restart in the middle -------------------------------------------------------------------------


async def test_the_mapping_survives_a_restart(sim: Simulator, test_database) -> None:
    """Relayed and claimed before a restart, answered and followed up after it."""
    clock = Clock()
    staff = make_staff(sim)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    async with bot_on(sim, test_database, event_for(staff), clock=clock) as app:
        await enrol(app, amina)
        _, relayed = await relayed_question(staff, amina, "Avant le redémarrage")
        await staff.camille.press(CLAIM, message=relayed, chat=staff.group)
        await staff.group.wait_for_edit(relayed, lambda m: "Prise par Camille" in m.text, since="all")
    await restart_pause()

    async with bot_on(sim, test_database, event_for(staff), clock=clock) as app:
        clock.offset = timedelta(minutes=12)
        await run_scan(app)
        await staff.group.wait_for_message(lambda m: "En attente depuis 12 min" in m.text, since="all")
        answer = await deliver_answer(staff.camille, relayed, amina, "Après le redémarrage")
        await amina.send_text("Merci !", reply_to=answer)
        follow = await staff.group.wait_for_message(lambda m: "Merci !" in m.text, since="all")
        assert follow.reply_to == relayed.message_id
        async with app.bot_data.services.db.read() as session:
            tickets = await session.scalar(select(func.count()).select_from(QuestionTicket))
        assert tickets == 1
