"""A question typed straight into the chat, /faq, and the question prompt's placeholder and buttons.

Driven through the simulator like a phone: what the person sees, what reaches the staff group, and
what the database keeps (the typed text until the tap, shown by /mydata, erased by /forget).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models.base import utcnow
from models.db import Database
from models.pending_questions import PendingQuestion
from models.questions import QuestionTicket
from simulator import Simulator
from simulator.client import SimUser
from tests.e2e.test_questions import (
    ASK,
    amina_and_staff,
    bot_on,
    enrol,
    event_for,
    make_staff,
    number_of,
    restart_pause,
)
from tests.support.databases import TestDatabase
from tests.support.harness import bundled_event, running_bot

SEND = "✉️ Oui, l'envoyer à l'équipe"
SEND_ANYWAY = "✉️ L'envoyer quand même à l'équipe"
NO_THANKS = "Non merci"
NOT_IN_FAQ = "À quelle heure ferme la salle ce soir ?"


async def pending_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(PendingQuestion)) or 0)


def placeholder(user: SimUser) -> str | None:
    markup = user.chat.reply_keyboard
    return markup.get("input_field_placeholder") if markup else None


async def test_a_typed_question_is_offered_to_the_team_in_one_tap(sim: Simulator, db: Database) -> None:
    """No "I did not understand": the bot offers to send it; one tap makes it a ticket in the staff group."""
    async with amina_and_staff(sim, db) as (_app, staff, amina):
        await amina.send_text(NOT_IN_FAQ)
        offer = await amina.wait_for_message(lambda m: SEND in m.button_texts)
        assert "Je n'ai pas compris" not in offer.text
        assert "envoie votre message à l'équipe" in offer.text and NOT_IN_FAQ in offer.text
        assert NO_THANKS in offer.button_texts
        assert await pending_count(db) == 1

        # Kept until the tap: /mydata shows it.
        await amina.send_text("/mesdonnees")
        mydata = await amina.wait_for_message(lambda m: "en attente d'envoi" in m.text)
        assert NOT_IN_FAQ in mydata.text

        send_data = next(b.callback_data for row in offer.buttons for b in row if b.text == SEND)
        await amina.press(SEND, message=offer)
        ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        ticket = await staff.ticket_message(number_of(ack))
        assert NOT_IN_FAQ in ticket.text and "Amina" in ticket.text
        await amina.wait_for_edit(offer, lambda m: not m.buttons)
        assert await pending_count(db) == 0

        # The old offer's button, pressed again: answered, and nothing is sent twice.
        answer = await amina.press(callback_data=send_data, message=offer)
        assert answer.answered
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(QuestionTicket)) == 1


async def test_an_faq_match_is_answered_and_can_still_go_to_the_team(sim: Simulator, db: Database) -> None:
    """ "Où sont les toilettes svp ?": the FAQ answer, said to be one, and can be sent anyway."""
    async with amina_and_staff(sim, db) as (_app, staff, amina):
        await amina.send_text("Où sont les toilettes svp ?")
        answer = await amina.wait_for_message(lambda m: SEND_ANYWAY in m.button_texts)
        assert "question fréquente" in answer.text and "rez-de-chaussée" in answer.text
        assert "Je n'ai pas compris" not in answer.text

        await amina.press(SEND_ANYWAY, message=answer)
        ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        ticket = await staff.ticket_message(number_of(ack))
        assert "toilettes" in ticket.text
        # The FAQ answer stays readable; only its button went.
        edited = await amina.wait_for_edit(answer, lambda m: not m.buttons)
        assert "rez-de-chaussée" in edited.text


async def test_english_speakers_get_the_same(sim: Simulator, db: Database) -> None:
    """In English: the FAQ answer for "where are the toilets", the offer for anything else."""
    staff = make_staff(sim)
    john = sim.add_user(first_name="John", language_code="en")
    async with running_bot(sim, db, event_for(staff)) as app:
        participant = await enrol(app, john)
        async with app.bot_data.services.db.transaction() as session:
            row = await session.get(type(participant), participant.id)
            assert row is not None
            row.language = "en"
        await john.send_text("where are the toilets please")
        answer = await john.wait_for_message(
            lambda m: "Send it to the team anyway" in " ".join(m.button_texts)
        )
        assert "frequently asked question" in answer.text and "ground floor" in answer.text
        await john.send_text("Can I leave my bike in the yard?")
        offer = await john.wait_for_message(lambda m: "Yes, send it to the team" in " ".join(m.button_texts))
        assert "Shall I send your message" in offer.text


async def test_no_thanks_forgets_the_text(sim: Simulator, db: Database) -> None:
    """ "No thanks": nothing is sent, nothing is kept."""
    async with amina_and_staff(sim, db) as (_app, staff, amina):
        await amina.send_text(NOT_IN_FAQ)
        offer = await amina.wait_for_message(lambda m: SEND in m.button_texts)
        await amina.press(NO_THANKS, message=offer)
        await amina.wait_for_edit(offer, lambda m: "je ne l'envoie pas" in m.text)
        assert await pending_count(db) == 0

        # "merci": nothing to answer, nothing to send, nothing kept.
        await amina.send_text("Merci !")
        reply = await amina.wait_for_message(lambda m: "Je suis là si besoin" in m.text)
        assert not reply.buttons and await pending_count(db) == 0
        assert not [m for m in staff.group.messages if "Question n°" in m.text]


async def test_the_typed_text_survives_a_restart_and_forget_erases_it(
    sim: Simulator, test_database: TestDatabase
) -> None:
    """Typed before a restart, sent after it; a second one erased by /oublier."""
    staff = make_staff(sim)
    amina = sim.add_user(first_name="Amina", language_code="fr")
    event = event_for(staff)
    async with bot_on(sim, test_database, event) as app:
        await enrol(app, amina)
        await amina.send_text(NOT_IN_FAQ)
        offer = await amina.wait_for_message(lambda m: SEND in m.button_texts)
    await restart_pause()
    async with bot_on(sim, test_database, event) as app:
        await amina.press(SEND, message=offer)
        ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        await staff.ticket_message(number_of(ack))

        await amina.send_text("Et le parking vélo, il ferme à quelle heure ?")
        await amina.wait_for_message(lambda m: any("équipe" in b for b in m.button_texts))
        assert await pending_count(app.bot_data.services.db) == 1
        await amina.send_text("/oublier")
        await amina.wait_for_message(lambda m: "Effacer" in m.text)
        await amina.press("🗑 Oui, tout effacer")
        await amina.wait_for_edit(lambda m: "tout est effacé" in m.text)
        assert await pending_count(app.bot_data.services.db) == 0


async def test_question_prompt_placeholder_buttons_and_staff_hint(sim: Simulator, db: Database) -> None:
    """The input field says "write your question"; once received, the prompt's buttons go; the
    acknowledgement says how to reply; the staff ticket says how to answer; the menu placeholder is back."""
    async with amina_and_staff(sim, db) as (_app, staff, amina):
        assert placeholder(amina) is None  # enrolled straight in the database: no keyboard yet
        await amina.send_text(ASK)
        prompt = await amina.wait_for_message(lambda m: "Écrivez votre question" in m.text)
        assert "🙈 Sans mon prénom" in prompt.button_texts and "Annuler" in prompt.button_texts
        assert placeholder(amina) == "Écrivez votre question ici…"

        await amina.send_text("Il reste des chaises ?")
        ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        assert "faites glisser ce message vers la gauche" in ack.text and "« Répondre »" in ack.text
        await amina.wait_for_edit(prompt, lambda m: not m.buttons)
        assert placeholder(amina) == "Choisissez dans le menu"

        ticket = await staff.ticket_message(number_of(ack))
        assert "Répondez à ce message pour répondre à la personne" in ticket.text


async def test_faq_command_lists_questions_with_buttons(sim: Simulator, db: Database) -> None:
    """/faq: one button per question, its answer in place, back to the list, or everything at once."""
    user = sim.add_user(first_name="Zoé", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/faq")
        listing = await user.wait_for_message(lambda m: "Questions fréquentes" in m.text)
        assert "Y a-t-il du wifi ?" in listing.button_texts and "📋 Tout afficher" in listing.button_texts
        await user.press("Y a-t-il du wifi ?", message=listing)
        entry = await user.wait_for_edit(listing, lambda m: "Hackathon-CSC" in m.text)
        await user.press("◀️ Toutes les questions", message=entry)
        await user.wait_for_edit(listing, lambda m: "Y a-t-il du wifi ?" in m.button_texts)
        await user.press("📋 Tout afficher", message=listing)
        everything = await user.wait_for_message(
            lambda m: "Hackathon-CSC" in m.text and "Eurotéléport" in m.text
        )
        assert "Puis-je venir avec mes enfants ?" in everything.text


async def test_allergy_prompt_placeholder(sim: Simulator, db: Database) -> None:
    """After "Allergy…", the input field asks for the allergy; the menu's placeholder comes back after."""
    event = bundled_event().shifted_to(utcnow() + timedelta(hours=1))  # meals still to come
    amina = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, event) as app:
        await enrol(app, amina)
        await amina.send_text("🍽 Repas")
        card = await amina.wait_for_message(lambda m: "🥗 Mes besoins alimentaires" in m.button_texts)
        await amina.press("🥗 Mes besoins alimentaires", message=card)
        diet = await amina.wait_for_message(lambda m: "⚠️ Allergie…" in m.button_texts)
        await amina.press("⚠️ Allergie…", message=diet)
        await amina.wait_for_message(lambda m: "allergie" in m.text)
        assert placeholder(amina) == "Votre allergie (ex. : arachides)"
        await amina.send_text("arachides")
        await amina.wait_for_message(lambda m: "C'est noté : arachides" in m.text)
        assert placeholder(amina) == "Choisissez dans le menu"


async def test_an_older_offer_is_stale_once_a_newer_message_replaced_it(sim: Simulator, db: Database) -> None:
    """Two messages typed in a row: only the newest waits; the older offer's button is refused."""
    async with amina_and_staff(sim, db) as (_app, staff, amina):
        await amina.send_text(NOT_IN_FAQ)
        first = await amina.wait_for_message(lambda m: SEND in m.button_texts)
        await amina.send_text("Et on mange où ce midi, s'il vous plaît ?")
        second = await amina.wait_for_message(lambda m: SEND in m.button_texts and "midi" in m.text)
        refused = await amina.press(SEND, message=first)
        assert "plus valable" in (refused.text or "")
        assert await pending_count(db) == 1
        await amina.press(SEND, message=second)
        ack = await amina.wait_for_message(lambda m: "Bien reçu" in m.text)
        ticket = await staff.ticket_message(number_of(ack))
        assert "midi" in ticket.text and NOT_IN_FAQ not in ticket.text
