"""Optional profile questions after registration, end to end: asked once, skippable, in /mydata, erased.

The bundled event with its (commented-out) profile questions switched on: "which centre or town"
(typed) and "first hackathon?" (buttons).
"""

from __future__ import annotations

from sqlalchemy import select

from models.db import Database
from models.profile import ProfileAnswer
from schedule.config import ProfileQuestion
from simulator import Simulator
from tests.e2e.test_privacy import ask_mydata, forget
from tests.e2e.test_registration import register
from tests.support.harness import bundled_event, running_bot

ORIGIN = ProfileQuestion.model_validate(
    {
        "id": "origin",
        "kind": "text",
        "text": {
            "fr": "De quel centre social ou de quelle ville venez-vous ?",
            "en": "Which centre or town?",
        },
    }
)
FIRST = ProfileQuestion.model_validate(
    {
        "id": "first-hackathon",
        "kind": "choice",
        "text": {"fr": "Est-ce votre premier hackathon ?", "en": "Is it your first hackathon?"},
        "choices": [
            {"id": "yes", "label": {"fr": "Oui, le premier", "en": "Yes"}},
            {"id": "no", "label": {"fr": "Non", "en": "No"}},
        ],
    }
)
TOWN = "Centre social <Roubaix> & Nord"


async def answers(db: Database) -> list[tuple[str, str | None]]:
    async with db.read() as session:
        rows = await session.scalars(select(ProfileAnswer).order_by(ProfileAnswer.question_id))
        return [(row.question_id, row.answer) for row in rows]


async def test_profile_questions_after_registration(sim: Simulator, db: Database) -> None:
    """Typed answer kept (escaped on the way back), the choice skipped; /mydata shows them; /forget erases."""
    event = bundled_event(profile_questions=[ORIGIN, FIRST])
    amina = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, event):
        await register(amina, agree="✅ J'accepte", keep="Garder « Amina »", role="Habitant·e")
        origin = await amina.wait_for_message("De quel centre social")
        assert "Passer ⏭" in origin.button_texts
        await amina.send_text(TOWN)
        first = await amina.wait_for_message("premier hackathon")
        assert first.button_texts == ["Oui, le premier", "Non", "Passer ⏭"]
        forged = await amina.press(message=first, callback_data="pq:a:first-hackathon:maybe")
        assert (
            forged.text
            == "Je n'ai pas pu lire cette réponse : écrivez-la en quelques mots, ou touchez « Passer »."
        )
        await amina.press("Passer ⏭", message=first)
        await amina.wait_for_edit(first, "(passée)")
        await amina.wait_for_message("Merci ! Vous pouvez voir et effacer")
        again = await amina.press(message=first, callback_data="pq:a:first-hackathon:yes")
        assert again.text == "Cette question a déjà sa réponse."
        assert await answers(db) == [("first-hackathon", None), ("origin", TOWN)]

        # Free text is no longer taken for an answer once the questions are done.
        await amina.send_text("bonjour")
        await amina.wait_for_message(lambda m: True, timeout=10)
        assert await answers(db) == [("first-hackathon", None), ("origin", TOWN)]

        shown = await ask_mydata(amina)
        assert f"De quel centre social ou de quelle ville venez-vous ? — {TOWN}" in shown
        assert "Est-ce votre premier hackathon ? — (passée)" in shown
        await forget(amina)
        assert await answers(db) == []


async def test_no_profile_questions_by_default(sim: Simulator, db: Database) -> None:
    """The bundled event asks none: registration ends as before."""
    event = bundled_event()
    assert event.profile_questions == []
    bob = sim.add_user(first_name="Bob", language_code="fr")
    async with running_bot(sim, db, event):
        await register(bob, agree="✅ J'accepte", keep="Garder « Bob »", role="Habitant·e")
        await bob.wait_for_message("inscrit")
        await bob.send_text("/mydata")
        await bob.wait_for_message(lambda m: "/forget" in m.text or "/oublier" in m.text)
    assert not [m for m in bob.messages if "financeurs" in m.text]
