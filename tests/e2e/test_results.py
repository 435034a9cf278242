"""The results evening through the simulator (SQLite, and PostgreSQL): the whole evening at full size.

5 teams submit their project, the organiser draws the order and moves from team to team, the 60
participants (55 in teams, 5 test users with no team) give feedback at the same time after each
presentation, 4 jurors score (one leaves midway), everyone votes once for the public's prize, the
organiser closes the scoring, publishes, closes the session, and each team gets its own digest.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import results as rs
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from simulator import SimMessage, Simulator, SimUser
from tests.e2e.results_support import participant_of, results_event, seed_team
from tests.support.harness import running_bot
from tests.support.people import seed

TEAMS = ["reservation", "panneau-quartier", "demarches", "benevolat", "agenda-partage"]
PER_TEAM = 11
TESTERS = 5
WAIT = 60.0


async def answer(user: SimUser, data: str, message: SimMessage) -> str:
    """Press a button (by its data) on a message and return the toast."""
    press = await user.press(callback_data=data, message=message, timeout=WAIT)
    answered = await press.wait_answered(WAIT)
    return answered.text or ""


async def submit_project(member: SimUser, title: str) -> None:
    """A member writes the name and the description, adds a photo and submits."""
    await member.send_text("/projet")
    draft = await member.wait_for_message("Nom :", timeout=WAIT)
    for field, value in (("name", title), ("description", f"Ce que fait {title}, et pour qui.")):
        await answer(member, f"rs:edit:{field}", draft)
        await member.wait_for_message("caractères", timeout=WAIT)
        await member.send_text(value)
        await member.wait_for_message("Enregistré", timeout=WAIT)
    await answer(member, "rs:edit:photo", draft)
    await member.wait_for_message("photos", timeout=WAIT)
    await member.send_photo()
    await member.wait_for_message("Photo ajoutée", timeout=WAIT)
    assert "Projet envoyé" in await answer(member, "rs:submit", draft)


async def give_feedback(user: SimUser, live: SimMessage, team: str, values: tuple[int, int, int]) -> None:
    """Open the feedback from the live message, rate the three criteria, say one thing liked."""
    await answer(user, f"rs:fb:{team}", live)
    form = await user.wait_for_message("Votre avis", timeout=WAIT)
    for index, value in enumerate(values):
        assert await answer(user, f"rs:rate:{team}:{index}:{value}", form) == f"{value}/5"


# 900 requests in bursts on a machine shared with other work: the throttle's spacing can reach the
# simulator bunched, and a rare 429 is retried by the bot (the throttle's own tests cover that).
@pytest.mark.allow_rate_limited
async def test_the_whole_evening(sim: Simulator, db: Database) -> None:
    """5 teams, 60 participants giving feedback at once, 4 jurors, 1 vote each, digests to each team only."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    jurors = [sim.add_user(first_name=f"Juré{i}", language_code="fr") for i in range(4)]
    teams = {
        cid: [sim.add_user(first_name=f"{cid[:3]}{i}", language_code="fr") for i in range(PER_TEAM)]
        for cid in TEAMS
    }
    testers = [sim.add_user(first_name=f"Usager{i}", language_code="fr") for i in range(TESTERS)]
    everyone = [u for members in teams.values() for u in members] + testers
    assert len(everyone) == 60
    await seed(db, everyone)
    event = results_event(organiser.id, [j.id for j in jurors])
    async with running_bot(sim, db, event):
        for cid, members in teams.items():
            await seed_team(db, members, cid)
        # Telegram lets a bot write only to people who wrote to it first.
        await asyncio.gather(*(u.send_text("/start") for u in [*everyone, *jurors, organiser]))
        await asyncio.gather(*(u.wait_for_message(timeout=WAIT) for u in [*everyone, *jurors, organiser]))

        # 5 teams submit (one member each, all at once).
        await asyncio.gather(*(submit_project(members[0], f"Projet {cid}") for cid, members in teams.items()))
        # The other members were told.
        await teams["benevolat"][1].wait_for_message("a envoyé le projet", timeout=WAIT, since="all")

        # The organiser draws the order (seed shown) and every team is told its slot.
        await organiser.send_text("/ordre tirage 42")
        panel = await organiser.wait_for_message("Tiré au sort avec le numéro 42", timeout=WAIT)
        order = rs.drawn_order(TEAMS, 42)
        for cid, members in teams.items():
            await members[3].wait_for_message(f"n°{order.index(cid) + 1} sur 5", timeout=WAIT, since="all")

        # Presentations: after each one, everyone outside the team gives feedback at the same time.
        ratings: dict[str, list[tuple[int, int, int]]] = {cid: [] for cid in TEAMS}
        step = -1
        for position in range(len(order) + 1):
            await answer(organiser, f"rs:next:{step}", panel)
            step += 1
            if position == 0:
                continue
            finished = order[position - 1]
            raters = [u for u in everyone if u not in teams[finished]]
            heading = f"{event.challenge_title('fr', finished)} a terminé"
            lives = await asyncio.gather(
                *(u.wait_for_message(heading, timeout=WAIT, since="all") for u in raters)
            )
            if position + 1 < len(order):
                # The team after the one now presenting is told it is next.
                assert "juste après" in lives[raters.index(teams[order[position + 1]][0])].text
                assert "juste après" not in lives[raters.index(testers[0])].text
            values = [(1 + i % 5, 1 + (i + position) % 5, 3) for i in range(len(raters))]
            ratings[finished] = values
            await asyncio.gather(
                *(
                    give_feedback(u, live, finished, v)
                    for u, live, v in zip(raters, lives, values, strict=True)
                )
            )

        # Own team refused, even at the end.
        own = teams["demarches"][2]
        toast = await answer(own, "rs:fb:demarches", own.last_message or panel)
        assert "votre équipe" in toast

        # One vote each for the public's prize (never one's own team).
        votes: Counter[str] = Counter()

        async def vote(user: SimUser, index: int) -> None:
            mine = next((cid for cid, members in teams.items() if user in members), None)
            choice = [cid for cid in TEAMS if cid != mine][index % 4]
            votes[choice] += 1
            await user.send_text("/vote")
            ballot = await user.wait_for_message("Prix du public", timeout=WAIT)
            assert "Vote enregistré" in await answer(user, f"rs:vote:{choice}", ballot)

        await asyncio.gather(*(vote(u, i) for i, u in enumerate(everyone)))

        # 4 jurors score privately; the last one leaves after two teams.
        async def score(juror: SimUser, number: int) -> None:
            await juror.send_text("/jury")
            sheet = await juror.wait_for_message("Vos notes de jury", timeout=WAIT)
            for t, cid in enumerate(order if number < 3 else order[:2]):
                for c in range(4):
                    value = 1 + (t * 2 + c + number) % 10
                    assert await answer(juror, f"rs:js:{cid}:{c}:{value}", sheet) == f"{value}/10"

        await asyncio.gather(*(score(j, n) for n, j in enumerate(jurors)))

        # The organiser sees who scored what, not the scores; closes; sees the ranking with a note.
        await organiser.send_text("/classement")
        overview = await organiser.wait_for_message("Jury : avancement", timeout=WAIT)
        assert "5/5 équipes" in overview.text and "2/5 équipes" in overview.text
        assert "/10" not in overview.text
        await answer(organiser, "rs:jclose", overview)
        await answer(organiser, "rs:jcloseok", overview)
        closed = await organiser.wait_for_edit(
            overview, lambda m: "Classement du jury" in m.text, timeout=WAIT
        )
        assert "a noté 2 équipe(s) sur 5" in closed.text
        assert "Prix du public" in closed.text

        # Publish: an announcement to everyone, through the broadcast path.
        await answer(organiser, "rs:pub", closed)
        await answer(organiser, "rs:pubok", closed)
        for user in (testers[0], teams["reservation"][5]):
            await user.wait_for_message("Les résultats", timeout=WAIT, since="all")

        # Close the session: each team gets its own digest, nobody else gets one.
        await answer(organiser, "rs:close", panel)
        for cid, members in teams.items():
            for member in (members[0], members[-1]):
                digest = await member.wait_for_message("Vos retours", timeout=WAIT, since="all")
                assert f"« {event.challenge_title('fr', cid)} »" in digest.text
                assert f"{len(everyone) - PER_TEAM} personnes ont donné leur avis" in digest.text
        await asyncio.sleep(1.0)
        for tester in testers:
            assert not [m for m in tester.messages if "Vos retours" in m.text]
        for cid, members in teams.items():
            titles = [m.text for m in members[4].messages if "Vos retours" in m.text]
            assert len(titles) == 1 and event.challenge_title("fr", cid) in titles[0]

    # What the database holds, and what it refuses.
    async with db.read() as session:
        feedbacks = await session.scalar(select(func.count()).select_from(rs.Feedback))
        assert feedbacks == len(TEAMS) * (len(everyone) - PER_TEAM)
        ratings_count = await session.scalar(select(func.count()).select_from(rs.Rating))
        assert ratings_count == 3 * feedbacks
        assert await rs.vote_counts(session) == dict(votes)
        # Published: feedback authors detached (kept as the teams' anonymous figures).
        assert await session.scalar(select(func.count()).where(rs.Feedback.author_id.is_not(None))) == 0
    voter = await participant_of(db, testers[0])
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(rs.Vote(voter_id=voter.id, challenge_id="benevolat"))
    async with db.transaction() as session:
        session.add(rs.Feedback(author_id=voter.id, challenge_id="benevolat", hidden=False))
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(rs.Feedback(author_id=voter.id, challenge_id="benevolat", hidden=False))
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 60
    assert utcnow()  # the clock is real: nothing above waited for the deadline
