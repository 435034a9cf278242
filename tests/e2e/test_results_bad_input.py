"""The results evening refuses what it must, kindly (SQLite, and PostgreSQL).

Feedback or a vote for one's own team, twice, after closing, by a stranger; a jury score out of
range or from a non-juror; forged buttons; a 5,000-character description, an HTML payload, a
sticker instead of a photo; two members editing the draft at the same second.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models import results as rs
from models.db import Database
from simulator import SimMessage, Simulator, SimUser
from tests.e2e.results_support import results_event, seed_team
from tests.support.harness import running_bot
from tests.support.people import seed

WAIT = 20.0


async def toast(user: SimUser, data: str, message: SimMessage) -> str:
    """Press a button by its data and return the answer shown."""
    press = await user.press(callback_data=data, message=message, timeout=WAIT)
    return (await press.wait_answered(WAIT)).text or ""


async def test_submission_limits_html_sticker_and_conflict(sim: Simulator, db: Database) -> None:
    """Limit said first, 5,000 characters refused, HTML shown as typed, sticker refused, no edit lost."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    ana, bea = (
        sim.add_user(first_name="Ana", language_code="fr"),
        sim.add_user(first_name="Béa", language_code="fr"),
    )
    await seed(db, [ana, bea])
    async with running_bot(sim, db, results_event(organiser.id, [])):
        await seed_team(db, [ana, bea], "benevolat")
        await ana.send_text("/projet")
        draft = await ana.wait_for_message("Nom :", timeout=WAIT)

        await toast(ana, "rs:edit:description", draft)
        ask = await ana.wait_for_message("caractères", timeout=WAIT)
        assert "au plus 1000 caractères" in ask.text  # the limit is said before anything is typed
        await ana.send_text("x" * 5000)
        refusal = await ana.wait_for_message("trop long", timeout=WAIT)
        assert "5000" in refusal.text and "1000" in refusal.text
        await ana.send_text("<b>gras</b> & <script>alert(1)</script>")
        saved = await ana.wait_for_message("Enregistré", timeout=WAIT)
        assert "<b>gras</b> & <script>alert(1)</script>" in saved.text  # shown as typed, never as HTML

        await toast(ana, "rs:edit:photo", draft)
        await ana.wait_for_message("photos", timeout=WAIT)
        await ana.send_sticker()
        assert "autocollant" in (await ana.wait_for_message(timeout=WAIT)).text
        await toast(ana, "rs:edit:link", draft)
        await ana.wait_for_message("https://", timeout=WAIT)
        await ana.send_text("javascript:alert(1)")
        assert "pas valable" in (await ana.wait_for_message(timeout=WAIT)).text

        # Both open "Name" on the same version, both send at the same second: one is saved, the
        # other is told and gets their text back.
        await bea.send_text("/projet")
        bea_draft = await bea.wait_for_message("Nom :", timeout=WAIT)
        await toast(ana, "rs:edit:name", draft)
        await toast(bea, "rs:edit:name", bea_draft)
        await ana.wait_for_message("nom du projet", timeout=WAIT, since="all")
        await bea.wait_for_message("nom du projet", timeout=WAIT, since="all")
        await asyncio.gather(ana.send_text("Nom d'Ana"), bea.send_text("Nom de Béa"))
        answers = await asyncio.gather(
            ana.wait_for_message(
                lambda m: "Enregistré" in m.text or "pas</b>" in m.text or "pas été" in m.text, timeout=WAIT
            ),
            bea.wait_for_message(lambda m: "Enregistré" in m.text or "pas été" in m.text, timeout=WAIT),
        )
        saved_by = [i for i, m in enumerate(answers) if "Enregistré" in m.text]
        told = [i for i, m in enumerate(answers) if "pas été enregistré" in m.text]
        assert len(saved_by) == 1 and len(told) == 1
        loser_text = ["Nom d'Ana", "Nom de Béa"][told[0]]
        assert loser_text in answers[told[0]].text  # their text is given back
    async with db.read() as session:
        submission = await session.scalar(select(rs.Submission))
        assert submission is not None
        assert submission.name == ["Nom d'Ana", "Nom de Béa"][saved_by[0]]
        assert submission.description == "<b>gras</b> & <script>alert(1)</script>"
        assert submission.link is None


async def test_feedback_vote_and_jury_refusals(sim: Simulator, db: Database) -> None:
    """Own team, not presented, twice, closed, stranger, forged data, non-juror, out of range."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    juror = sim.add_user(first_name="Jury", language_code="fr")
    ana, bob, tess = (sim.add_user(first_name=n, language_code="fr") for n in ("Ana", "Bob", "Tess"))
    stranger = sim.add_user(first_name="Inconnu", language_code="fr")
    await seed(db, [ana, bob, tess])
    async with running_bot(sim, db, results_event(organiser.id, [juror.id])):
        await seed_team(db, [ana], "benevolat")
        await seed_team(db, [bob], "reservation")
        for user in (ana, bob, tess, stranger, juror, organiser):
            await user.send_text("/start")
            await user.wait_for_message(timeout=WAIT)
        await organiser.send_text("/ordre benevolat reservation")
        panel = await organiser.wait_for_message("Ordre de passage", timeout=WAIT)
        first = tess.last_message
        assert first is not None

        # Before anyone presented: no feedback, no vote.
        assert "pas encore présenté" in await toast(tess, "rs:rate:benevolat:0:4", first)
        assert "pas encore commencé" in await toast(tess, "rs:vote:benevolat", first)
        await toast(organiser, "rs:next:-1", panel)
        await toast(organiser, "rs:next:0", panel)
        # The same "next" from another copy of the panel (a second organiser's): it moved already.
        await organiser.send_text("/ordre")
        other_panel = await organiser.wait_for_message("Ordre de passage", timeout=WAIT)
        assert "déjà fait" in await toast(organiser, "rs:next:0", other_panel)

        assert "votre équipe" in await toast(ana, "rs:rate:benevolat:0:4", first)  # own team
        assert "votre équipe" in await toast(ana, "rs:vote:benevolat", first)
        assert await toast(tess, "rs:rate:benevolat:0:4", first) == "4/5"
        assert await toast(tess, "rs:rate:benevolat:0:2", first) == "2/5"  # changed, not a second one
        assert "pas encore présenté" in await toast(tess, "rs:rate:reservation:0:4", first)  # presenting now
        # Comments: a sticker is refused, a voice note and an HTML text are kept (shown as typed).
        assert "Notez d'abord" in await toast(tess, "rs:cm:benevolat:liked", first)  # ratings first
        await toast(tess, "rs:rate:benevolat:1:5", first)
        await toast(tess, "rs:rate:benevolat:2:5", first)
        await toast(tess, "rs:cm:benevolat:liked", first)
        await tess.wait_for_message("Qu'avez-vous aimé", timeout=WAIT)
        await tess.send_sticker()
        assert "texte ou un message vocal" in (await tess.wait_for_message(timeout=WAIT)).text
        await tess.send_voice()
        await tess.wait_for_message("Merci, c'est noté", timeout=WAIT)
        await toast(tess, "rs:cm:benevolat:better", first)
        await tess.wait_for_message("pourrait être mieux", timeout=WAIT)
        await tess.send_text("<b>plus</b> de couleurs & <i>moins</i>")
        await tess.wait_for_message("Merci, c'est noté", timeout=WAIT)
        assert "Vote enregistré" in await toast(tess, "rs:vote:benevolat", first)
        await tess.send_text("/vote")
        ballot = await tess.wait_for_message("Prix du public", timeout=WAIT)
        assert "déjà fait" in await toast(tess, "rs:vote:benevolat", ballot)  # twice
        assert "Vote changé" in await toast(tess, "rs:vote:reservation", first)

        # Strangers and forged data.
        assert "/start" in await toast(stranger, "rs:rate:benevolat:0:4", stranger.last_message or first)
        stale = "plus valable"
        assert stale in await toast(tess, "rs:rate:benevolat:0:9", first)  # out of the 1-5 buttons
        assert stale in await toast(tess, "rs:rate:benevolat:7", first)
        assert "pas dans l'ordre" in await toast(tess, "rs:fb:demarches", first)
        assert "pas possible" in await toast(tess, "rs:rate:benevolat:5:3", first)  # no 6th criterion
        assert stale in await toast(juror, "rs:js:benevolat:0:11", juror.last_message or first)
        assert "jury" in await toast(tess, "rs:js:benevolat:0:7", first)  # not a juror
        assert await toast(juror, "rs:js:benevolat:0:7", juror.last_message or first) == "7/10"
        assert "réservée" in await toast(tess, "rs:next:1", first)  # an organiser's button
        assert "réservée" in await toast(tess, "rs:jcloseok", first)

        # After the session closed: nothing more.
        await toast(organiser, "rs:close", panel)
        # The digest reaches benevolat's member only: figures, the comment as typed, the voice note.
        digest = await ana.wait_for_message("Vos retours", timeout=WAIT, since="all")
        assert "<b>plus</b> de couleurs & <i>moins</i>" in digest.text and "1 personne" in digest.text
        assert (await ana.wait_for_message(lambda m: m.voice is not None, timeout=WAIT, since="all")).voice
        assert not [m for m in tess.messages if "Vos retours" in m.text]
        assert "close" in await toast(tess, "rs:rate:benevolat:1:4", first)
        assert "close" in await toast(tess, "rs:vote:benevolat", first)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(rs.Feedback)) == 1
        assert await session.scalar(select(rs.Rating.value)) == 2
        assert await session.scalar(select(func.count()).select_from(rs.Vote)) == 1
        assert await session.scalar(select(func.count()).select_from(rs.JuryScore)) == 1
