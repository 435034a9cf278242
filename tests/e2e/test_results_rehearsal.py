"""`hackbot demo --from sat-results`: the rehearsal starts at the results evening and lets one play it.

Amina and Lucas register through the web chat and are put in two teams; Amina writes the project's
name by pressing the buttons; Nadia (the organiser, a juror in rehearsal) draws the order, starts
the presentations, and Lucas gives feedback on Amina's team from the live message's button.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from models import challenges as ch
from models import results as rs
from models.participant import Participant
from tests.e2e.test_webchat_api import register
from tests.e2e.webchat_support import event_stream, persona_named, running_demo, webchat_client
from tests.support import databases


async def bot_message(client: Any, persona: int, pattern: str, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
    """The newest bot message of the persona's private chat containing `pattern`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in reversed(await client.messages(persona)):
            shown = message.get("text") or message.get("caption") or ""
            if message["from"]["is_bot"] and pattern in shown:
                return dict(message)
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(pattern)
        await asyncio.sleep(0.1)


async def test_rehearse_the_results_evening(test_database: databases.TestDatabase) -> None:
    """From sat-results: deadline at its start, the organiser on the jury, the evening playable."""
    async with running_demo(test_database, from_item="sat-results") as demo, webchat_client(demo) as client:
        event = demo.event
        state = await client.get("/webchat/api/state")
        amina, lucas, nadia = (persona_named(state, name)["id"] for name in ("Amina", "Lucas", "Nadia"))
        assert event.results.jurors == [nadia]
        assert event.submission_deadline == demo.starts_at
        assert "rehearse the results evening" not in demo.banner()  # already rehearsing it
        async with event_stream(client) as stream:
            await register(client, stream, amina)
            await register(client, stream, lucas)
        assert demo.application is not None
        jobs = demo.application.job_queue
        assert jobs is not None and jobs.get_jobs_by_name("results:close")  # the digest at the item's end
        db = demo.application.bot_data.services.db
        async with db.transaction() as session:
            for persona, team in ((amina, "agenda-partage"), (lucas, "benevolat")):
                pid = await session.scalar(select(Participant.id).where(Participant.telegram_id == persona))
                assert pid is not None
                await ch.join(session, pid, team, demo.clock())

        await client.send(amina, "/projet")
        draft = await bot_message(client, amina, "Le projet de l'équipe")
        await client.press(amina, draft, "✏️ Nom")
        await bot_message(client, amina, "nom du projet")
        await client.send(amina, "Agenda des voisins")
        await bot_message(client, amina, "Enregistré")

        await client.send(nadia, "/ordre benevolat agenda-partage")
        panel = await bot_message(client, nadia, "Ordre de passage")
        await client.press(nadia, panel, "▶️ Première équipe")
        await bot_message(client, amina, "Votre équipe passe juste après")
        panel = await bot_message(client, nadia, "Ordre de passage")
        await client.press(nadia, panel, "⏭ Équipe suivante")
        live = await bot_message(client, amina, "a terminé")
        await client.press(amina, live, next(b["text"] for row in live["buttons"] for b in row))
        form = await bot_message(client, amina, "Votre avis sur")
        await client.press(amina, form, "4")
        await bot_message(client, amina, "2/3")

        await client.send(nadia, "/jury")
        sheet = await bot_message(client, nadia, "Vos notes de jury")
        assert len(sheet["buttons"]) == 2
        async with db.read() as session:
            submission = await session.scalar(select(rs.Submission))
            assert submission is not None and submission.name == "Agenda des voisins"
            assert (await rs.order(session)).current == 1
