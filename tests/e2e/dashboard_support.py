"""A small event filled through the simulator, and a signed-in dashboard client, for the dashboard tests.

People register with the bot's buttons (one types a name full of HTML, one keeps a Telegram name
that looks like a spreadsheet formula), join teams with the challenge buttons, and ask questions
through the question button; a facilitator whose name is HTML claims one in the staff group.
Meal answers and dietary needs are written with the meals feature's domain functions (the meal
card only offers the *next* meal, and the bundled event is in the past).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from sqlalchemy import select

from bot.context import HackbotApplication
from models import meals
from models.base import utcnow
from models.participant import Participant
from schedule.config import EventConfig, Facilitator, TeamPicking
from simulator import Simulator, SimUser
from simulator.client import SimGroup
from tests.e2e.test_challenges import answer_of, open_list
from tests.e2e.test_questions import CLAIM, ask, number_of, staff_text
from tests.e2e.test_registration import register
from tests.support.harness import bundled_event

HOSTILE_NAME = "<script>alert('x')</script><b>Bob</b> & " + "é" * 200
HOSTILE_STORED = (HOSTILE_NAME[:63].rstrip() + "…")[:64]
FORMULA_NAME = '=HYPERLINK("http://evil.example","clic")'
FACILITATOR_NAME = "<img src=x onerror=alert(1)>Camille"
TEAM_A = "reservation"  # the facilitator's challenge, capacity 16
TEAM_B = "benevolat"  # capacity 12
LUNCH = "aperitif"
LINK = re.compile(r"https?://\S+/signin/\S+")


@dataclass
class World:
    """Who is who in the filled event."""

    event: EventConfig
    organiser: SimUser
    facilitator: SimUser
    group: SimGroup
    amina: SimUser
    bob: SimUser
    formula: SimUser
    zoe: SimUser
    lea: SimUser


def make_world(sim: Simulator) -> World:
    """People, the staff group, and the event that names the organiser and the facilitator."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    facilitator = sim.add_user(first_name=FACILITATOR_NAME, language_code="fr")
    group = sim.add_group("Équipe", members=[facilitator], admins=[organiser])
    now = utcnow()
    event = bundled_event(
        staff_chat_id=group.id,
        organisers=[organiser.id],
        team_picking=TeamPicking(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1)),
    )
    challenges = [
        c.model_copy(update={"facilitators": [Facilitator(name="Camille", telegram_id=facilitator.id)]})
        if c.id == TEAM_A
        else c
        for c in event.challenges
    ]
    event = event.model_copy(update={"challenges": challenges})
    return World(
        event=event,
        organiser=organiser,
        facilitator=facilitator,
        group=group,
        amina=sim.add_user(first_name="Amina", language_code="fr"),
        bob=sim.add_user(first_name="Bob", language_code="fr"),
        formula=sim.add_user(first_name=FORMULA_NAME, language_code="fr"),
        zoe=sim.add_user(first_name="Zoé", language_code="fr"),
        lea=sim.add_user(first_name="Léa", language_code="fr"),
    )


async def join(user: SimUser, challenge_id: str) -> None:
    """Join a team with the challenge list's button."""
    listing = await open_list(user)
    answer = await answer_of(await user.press(callback_data=f"ch:join:{challenge_id}", message=listing))
    assert answer, "the join button was not answered"


async def fill(app: HackbotApplication, world: World) -> None:
    """Registrations, teams, questions (simulator); meal answers (domain functions).

    Result: 4 registered (resident, student, volunteer, partner) + 1 still registering;
    team A: Amina and Bob; team B: the formula name; Zoé has no team; 2 questions waiting, one
    claimed by the facilitator; lunch: Amina (vegetarian) and Bob (halal, an allergy) come,
    the formula name does not, Zoé did not answer.
    """
    await register(world.amina, agree="✅ J'accepte", keep="Garder « Amina »", role="Habitant·e")
    await world.amina.wait_for_message(lambda m: "inscrit" in m.text)
    await register(world.bob, agree="✅ J'accepte", name=HOSTILE_NAME, role="Étudiant·e")
    await world.bob.wait_for_message(lambda m: "inscrit" in m.text)
    await register(world.formula, agree="✅ J'accepte", keep=f"Garder « {FORMULA_NAME} »", role="Bénévole")
    await world.formula.wait_for_message(lambda m: "inscrit" in m.text)
    await register(world.zoe, agree="✅ J'accepte", keep="Garder « Zoé »", role="Partenaire")
    await world.zoe.wait_for_message(lambda m: "inscrit" in m.text)
    await world.lea.send_text("/start")
    await world.lea.wait_for_message(lambda m: "✅ J'accepte" in m.button_texts)
    await world.lea.press("✅ J'accepte")
    await world.lea.wait_for_message(lambda m: "Comment voulez-vous" in m.text)

    await join(world.amina, TEAM_A)
    await join(world.bob, TEAM_A)
    await join(world.formula, TEAM_B)

    ack = await ask(world.amina, "Où sont les rallonges ?")
    claimed = number_of(ack)
    relayed = await world.group.wait_for_message(
        lambda m: staff_text(m).startswith(f"❓ Question n°{claimed} ·"), since="all"
    )
    await world.facilitator.press(CLAIM, message=relayed, chat=world.group)
    await world.group.wait_for_edit(relayed, lambda m: "Camille" in staff_text(m))
    await ask(world.zoe, "Quel est le mot de passe du wifi ?")

    services = app.bot_data.services
    allowed = meals.diet_ids(services.event)
    async with services.db.transaction() as session:
        ids = {p.telegram_id: p.id for p in (await session.scalars(select(Participant))).all()}
        await meals.set_answer(session, ids[world.amina.id], LUNCH, True)
        await meals.toggle_diet(session, ids[world.amina.id], "vegetarian", allowed)
        await meals.set_answer(session, ids[world.bob.id], LUNCH, True)
        await meals.toggle_diet(session, ids[world.bob.id], "halal", allowed)
        bob = await session.get(Participant, ids[world.bob.id])
        assert bob is not None
        await meals.set_allergy(session, bob, "<b>arachides</b> =1+1")
        await meals.set_answer(session, ids[world.formula.id], LUNCH, False)


async def sign_in_link(user: SimUser) -> str:
    """Send /dashboard and return the link the bot answers with."""
    await user.send_text("/dashboard")
    message = await user.wait_for_message(lambda m: LINK.search(m.text) is not None)
    found = LINK.search(message.text)
    assert found is not None
    return found.group(0)


async def signed_in_session(user: SimUser) -> aiohttp.ClientSession:
    """An HTTP client signed in as `user` (the caller closes it)."""
    link = await sign_in_link(user)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(link, allow_redirects=False) as response:
        assert response.status == 303, response.status
    return http
