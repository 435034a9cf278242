"""The dashboard over HTTP: sign-in links (expired, reused, tampered), roles, escaping, CSV exports.

The browser tests (`test_dashboard_browser.py`) look at the same pages in Chromium; these run
everywhere, without a browser.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import aiohttp
from sqlalchemy import update

from models.base import utcnow
from models.dashboard import SignInLink
from models.db import Database
from simulator import Simulator
from tests.e2e.dashboard_support import (
    FACILITATOR_NAME,
    FORMULA_NAME,
    HOSTILE_STORED,
    fill,
    make_world,
    sign_in_link,
    signed_in_session,
)
from tests.e2e.webhook_support import running_web_bot

PAGES = ["/", "/registrations", "/teams", "/meals", "/questions", "/announcements", "/exports"]


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM missing"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


async def test_sign_in_links_are_single_use_and_checked(sim: Simulator, db: Database) -> None:
    """A link works once; reused, tampered, expired links and strangers get 401 or a polite refusal."""
    world = make_world(sim)
    stranger = sim.add_user(first_name="Mallory", language_code="fr")
    async with running_web_bot(sim, db, world.event, webhook=False) as (_app, server):
        await stranger.send_text("/dashboard")
        refusal = await stranger.wait_for_message(lambda m: "réservée" in m.text)
        assert "/signin/" not in refusal.text

        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(server.local_url + "/") as response:
                assert response.status == 401
                assert "/tableau_de_bord" in await response.text()  # the French command name
            link = await sign_in_link(world.organiser)
            async with http.get(link) as response:  # opening the link does not use it up
                assert response.status == 200 and "signin-button" in await response.text()
            nonce, _, signature = link.rpartition("/")[2].partition(".")
            tampered = link.replace(signature, ("A" if signature[0] != "A" else "B") + signature[1:])
            async with http.post(tampered, allow_redirects=False) as response:
                assert response.status == 401
            async with http.post(link, allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/"
                cookie = response.cookies["hackbot_session"]
                assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) > 0
            async with http.get(server.local_url + "/") as response:
                assert response.status == 200
            async with aiohttp.ClientSession() as other, other.post(link, allow_redirects=False) as response:
                assert response.status == 401  # reused
            async with aiohttp.ClientSession() as other, other.get(link) as response:
                assert response.status == 401

            expired = await sign_in_link(world.organiser)
            async with db.transaction() as session:
                await session.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
            async with (
                aiohttp.ClientSession() as other,
                other.post(expired, allow_redirects=False) as response,
            ):
                assert response.status == 401
            truncated = server.local_url + "/signin/" + nonce + "."
            async with (
                aiohttp.ClientSession() as other,
                other.post(truncated, allow_redirects=False) as response,
            ):
                assert response.status == 401

            async with http.post(server.local_url + "/signout") as response:
                assert response.status == 200
            async with http.get(server.local_url + "/") as response:
                assert response.status == 401


async def test_facilitators_see_their_team_and_the_queue_only(sim: Simulator, db: Database) -> None:
    """A facilitator lands on their team; organiser pages and exports answer 403."""
    world = make_world(sim)
    async with running_web_bot(sim, db, world.event, webhook=False) as (app, server):
        await fill(app, world)
        await world.facilitator.send_text("/dashboard", chat=world.group)
        await world.group.wait_for_message(lambda m: "message privé" in m.text)
        http = await signed_in_session(world.facilitator)
        async with http:
            async with http.get(server.local_url + "/", allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/teams"
            async with http.get(server.local_url + "/teams") as response:
                assert response.status == 200
                page = await response.text()
            assert 'data-challenge="reservation"' in page and 'data-challenge="benevolat"' not in page
            assert "Amina" in page and "&lt;script&gt;" in page and "<script>alert" not in page
            async with http.get(server.local_url + "/questions") as response:
                assert response.status == 200
            for path in [
                "/registrations",
                "/meals",
                "/announcements",
                "/exports",
                "/export/participants.csv",
            ]:
                async with http.get(server.local_url + path) as response:
                    assert response.status == 403, path


async def test_every_page_escapes_names_and_exports_parse_back(sim: Simulator, db: Database) -> None:
    """HTML in names is shown as text on every page; CSV files are UTF-8 and formula-proof."""
    world = make_world(sim)
    async with running_web_bot(sim, db, world.event, webhook=False) as (app, server):
        await fill(app, world)
        http = await signed_in_session(world.organiser)
        async with http:
            for path in PAGES:
                async with http.get(server.local_url + path) as response:
                    assert response.status == 200, path
                    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
                    page = await response.text()
                assert "<script>alert" not in page and "<img src=x" not in page and "<b>arachides" not in page
            async with http.get(server.local_url + "/teams") as response:
                teams = await response.text()
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;Bob&lt;/b&gt;" in teams
            async with http.get(server.local_url + "/questions") as response:
                questions = await response.text()
            assert "&lt;img src=x onerror=alert(1)&gt;Camille" in questions

            async with http.get(server.local_url + "/export/participants.csv") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/csv")
                assert "attachment" in response.headers["Content-Disposition"]
                participants = parse_csv(await response.read())
            names = {row[0] for row in participants[1:]}
            assert names == {"Amina", HOSTILE_STORED, "'" + FORMULA_NAME, "Zoé"}
            roles = {row[0]: row[1] for row in participants[1:]}
            assert roles["Zoé"] == "Partenaire" and roles["Amina"] == "Habitant·e"
            assert participants[0] == ["Prénom", "Rôle", "Langue", "Inscrit le", "Équipe"]

            async with http.get(server.local_url + "/export/teams.csv") as response:
                teams_csv = parse_csv(await response.read())
            by_team = {row[0]: row for row in teams_csv[1:]}
            assert by_team["Réserver une activité du centre social"][1:3] == ["2", "16"]

            async with http.get(server.local_url + "/export/meals.csv") as response:
                meals_csv = parse_csv(await response.read())
            header = meals_csv[0]
            aperitif = next(row for row in meals_csv[1:] if row[0] == "Apéritif convivial")
            assert aperitif[2:5] == ["2", "1", "1"]
            assert aperitif[header.index("Végétarien")] == "1" and aperitif[header.index("Halal")] == "1"
            assert aperitif[-1] == "<b>arachides</b> =1+1"

            async with http.get(server.local_url + "/export/questions.csv") as response:
                questions_csv = parse_csv(await response.read())
            assert len(questions_csv) == 3
            assert "'" + FACILITATOR_NAME not in {row[-1] for row in questions_csv}
            assert FACILITATOR_NAME in {row[-1] for row in questions_csv}

            async with http.get(server.local_url + "/export/nothing.csv") as response:
                assert response.status == 404
            async with http.get(
                server.local_url + "/lang/en?next=//evil.example", allow_redirects=False
            ) as response:
                assert response.headers["Location"] == "/"
