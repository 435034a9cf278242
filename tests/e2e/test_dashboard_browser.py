"""The dashboard in headless Chromium (Debian's package, driven by Playwright), over a database filled
through the simulator: sign-in by link, each page's figures against the database, charts present,
HTML names shown as text (no script runs), live refresh without reload, CSV downloads that parse
back. Screenshots of every page (laptop and phone) go to `test-artifacts/dashboard/`.

Skipped, with the reason, when /usr/bin/chromium is missing (CI installs it: see `.ci/run`).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models.db import Database
from models.meals import MealAnswer
from models.outbox import OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.questions import QuestionTicket, TicketState
from simulator import Simulator
from tests.e2e.dashboard_support import (
    FACILITATOR_NAME,
    FORMULA_NAME,
    HOSTILE_STORED,
    LUNCH,
    TEAM_A,
    TEAM_B,
    fill,
    make_world,
    sign_in_link,
)
from tests.e2e.webhook_support import running_web_bot

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium from Debian, through Playwright (no browser download)."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def scalar(db: Database, query: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(query) or 0)


async def figure(page: Any, name: str, within: str = "") -> str:
    return (await page.locator(f'{within} [data-figure="{name}"]'.strip()).first.inner_text()).strip()


async def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_dashboard_in_chromium(sim: Simulator, db: Database, browser: Any) -> None:
    """Sign in by link, check every page against the database, exports, live refresh, screenshots."""
    world = make_world(sim)
    async with running_web_bot(sim, db, world.event, webhook=False, refresh_seconds=1.0) as (app, server):
        await fill(app, world)
        backend = "pg" if not db.is_sqlite else "sqlite"
        context = await browser.new_context(viewport=LAPTOP, accept_downloads=True, locale="fr-FR")
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Sign in with the link the bot sent.
        link = await sign_in_link(world.organiser)
        await page.goto(link)
        await shoot(page, f"signin-{backend}")
        await page.click("#signin-button")
        await page.wait_for_url(server.local_url + "/")
        cookies = await context.cookies()
        session_cookie = next(c for c in cookies if c["name"] == "hackbot_session")
        assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"

        # Overview: the database's figures.
        registered = await scalar(
            db,
            select(func.count())
            .select_from(Participant)
            .where(Participant.status == ParticipantStatus.ACTIVE),
        )
        waiting = await scalar(
            db,
            select(func.count())
            .select_from(QuestionTicket)
            .where(QuestionTicket.state.in_([TicketState.OPEN, TicketState.CLAIMED])),
        )
        assert (registered, waiting) == (4, 2)
        assert await figure(page, "registered") == str(registered)
        assert await figure(page, "open-questions") == str(waiting)
        assert await figure(page, "in-teams") == "3"
        # Only features that exist: the check-in card shows a count (nobody has arrived yet), never
        # a "not available yet" placeholder.
        assert await figure(page, "checked-in") == "0"
        assert "pas encore disponible" not in await page.inner_text("main")
        await shoot(page, f"overview-{backend}")

        # Registrations: over time and by role, with charts.
        await page.goto(server.local_url + "/registrations")
        assert await figure(page, "registered") == "4" and await figure(page, "registering") == "1"
        assert await page.get_attribute("#chart-registrations-time", "data-total") == "4"
        for role in ("resident", "student", "volunteer", "partner"):
            bar = page.locator(f'#chart-roles g.bar[data-key="{role}"]')
            assert await bar.get_attribute("data-value") == "1", role
            assert (
                await page.locator(f'#table-roles tr[data-role="{role}"] td[data-value]').inner_text() == "1"
            )
        assert await page.locator('#chart-roles g.bar[data-key="staff"]').get_attribute("data-value") == "0"
        await shoot(page, f"registrations-{backend}")

        # Teams: against capacity, role mix, names shown as text.
        await page.goto(server.local_url + "/teams")
        team_a = page.locator(f'#chart-teams g.bar[data-key="{TEAM_A}"]')
        assert (
            await team_a.get_attribute("data-value") == "2"
            and await team_a.get_attribute("data-capacity") == "16"
        )
        assert (
            await page.locator(f'#chart-teams g.bar[data-key="{TEAM_B}"]').get_attribute("data-value") == "1"
        )
        assert await team_a.locator("rect.segment").count() == 2  # a resident and a student
        card = page.locator(f'article[data-challenge="{TEAM_A}"]')
        assert await figure(card, "members") == "2"
        names = await card.locator(".people .name").all_inner_texts()
        assert names == ["Amina", HOSTILE_STORED]
        assert await figure(page, "teamless") == "1"
        await shoot(page, f"teams-{backend}")

        # Meals: counts per dietary need for the caterer.
        await page.goto(server.local_url + "/meals")
        async with db.read() as session:
            coming = int(
                await session.scalar(
                    select(func.count())
                    .select_from(MealAnswer)
                    .where(MealAnswer.meal_id == LUNCH, MealAnswer.attending.is_(True))
                )
                or 0
            )
        meal = page.locator(f'section[data-meal="{LUNCH}"]')
        assert await figure(meal, "attending") == str(coming) == "2"
        assert await figure(meal, "not-attending") == "1" and await figure(meal, "no-answer") == "1"
        assert await meal.locator('tr[data-diet="vegetarian"] td[data-value]').inner_text() == "1"
        assert await meal.locator('tr[data-diet="halal"] td[data-value]').inner_text() == "1"
        assert await meal.locator('tr[data-diet="_allergies"] td[data-value]').inner_text() == "1"
        assert "<b>arachides</b> =1+1" in await meal.locator(".allergies").inner_text()
        # The bar counts confirmed people only; those who did not answer are apart.
        lunch_bar = page.locator(f'#chart-meals g.bar[data-key="{LUNCH}"]')
        assert await lunch_bar.get_attribute("data-value") == "2"
        assert await lunch_bar.get_attribute("data-pending") == "1"
        await shoot(page, f"meals-{backend}")

        # Questions: states, waits, the queue with the facilitator's name as text.
        await page.goto(server.local_url + "/questions")
        assert await figure(page, "state-open") == "1" and await figure(page, "state-claimed") == "1"
        assert await page.locator("#table-queue tbody tr").count() == 2
        assert FACILITATOR_NAME in await page.locator("#table-queue").inner_text()
        assert await figure(page, "worst-wait") != "—"
        assert await page.locator("#chart-questions").count() == 1
        await shoot(page, f"questions-{backend}")

        # Announcements: delivery by purpose, as the outbox holds it.
        await page.goto(server.local_url + "/announcements")
        async with db.read() as session:
            purposes = dict(
                (
                    await session.execute(
                        select(OutgoingMessage.purpose, func.count()).group_by(OutgoingMessage.purpose)
                    )
                ).all()
            )
        assert purposes, "the questions feature sends through the outbox"
        for purpose, count in purposes.items():
            row = page.locator(f'#table-purposes tr[data-purpose="{purpose}"] [data-figure="total"]')
            assert await row.inner_text() == str(count), purpose
        await shoot(page, f"announcements-{backend}")

        # Exports: download and parse back.
        await page.goto(server.local_url + "/exports")
        await shoot(page, f"exports-{backend}")
        parsed: dict[str, list[list[str]]] = {}
        for name in ("participants", "teams", "meals", "questions"):
            async with page.expect_download() as download_info:
                await page.click(f"#export-{name}")
            download = await download_info.value
            assert download.suggested_filename == f"{name}.csv"
            data = await asyncio.to_thread(Path(await download.path()).read_bytes)
            assert data.startswith(b"\xef\xbb\xbf")
            parsed[name] = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert {row[0] for row in parsed["participants"][1:]} == {
            "Amina",
            HOSTILE_STORED,
            "'" + FORMULA_NAME,
            "Zoé",
        }
        assert len(parsed["teams"]) == 1 + len(world.event.challenges)
        assert len(parsed["meals"]) == 1 + len(world.event.meals)
        assert len(parsed["questions"]) == 1 + 2

        # Live refresh: Léa finishes registering; the figure changes without a reload.
        await page.goto(server.local_url + "/")
        await page.evaluate("window.__sameDocument = true")
        await world.lea.send_text("Léa")
        await world.lea.wait_for_message(lambda m: "Habitant·e" in m.button_texts)
        await world.lea.press("Habitant·e")
        await world.lea.wait_for_message(lambda m: "inscrit" in m.text)
        await page.wait_for_function(
            "document.querySelector('[data-figure=\"registered\"]').textContent.trim() === '5'",
            timeout=10_000,
        )
        assert await page.evaluate("window.__sameDocument === true")
        assert int(await page.get_attribute("#main", "data-refreshes") or 0) >= 1

        # Phone: the same pages stay readable (no horizontal overflow of the layout).
        phone = await browser.new_context(viewport=PHONE, is_mobile=True)
        await phone.add_cookies([session_cookie])
        mobile = await phone.new_page()
        for path, name in (("/", "overview"), ("/teams", "teams"), ("/questions", "questions")):
            await mobile.goto(server.local_url + path)
            width = await mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, (path, width)
            await shoot(mobile, f"phone-{name}-{backend}")
        await phone.close()

        # English.
        await page.click("a.lang[hreflang='en']")
        await page.wait_for_url(server.local_url + "/")
        assert "Registered" in await page.inner_text("main")

        assert dialogs == [], "a name ran as script"
        assert errors == []
        await context.close()


async def test_used_links_and_facilitators_in_chromium(sim: Simulator, db: Database, browser: Any) -> None:
    """A used link shows how to get a new one; a facilitator sees their team and gets 403 elsewhere."""
    world = make_world(sim)
    async with running_web_bot(sim, db, world.event, webhook=False) as (app, server):
        await fill(app, world)
        backend = "pg" if not db.is_sqlite else "sqlite"
        context = await browser.new_context(viewport=LAPTOP)
        page = await context.new_page()
        link = await sign_in_link(world.facilitator)
        await page.goto(link)
        await page.click("#signin-button")
        await page.wait_for_url(server.local_url + "/teams")
        assert await page.locator("article.team").count() == 1
        assert await page.locator(f'article[data-challenge="{TEAM_A}"]').count() == 1
        await shoot(page, f"facilitator-teams-{backend}")
        response = await page.goto(server.local_url + "/meals")
        assert response is not None and response.status == 403
        assert await page.get_attribute("#message", "data-message") == "forbidden"
        await shoot(page, f"facilitator-forbidden-{backend}")

        other = await browser.new_context(viewport=LAPTOP)
        reused = await other.new_page()
        response = await reused.goto(link)
        assert response is not None and response.status == 401
        assert await reused.get_attribute("#message", "data-message") == "link_invalid"
        await shoot(reused, f"link-used-{backend}")
        response = await reused.goto(server.local_url + "/")
        assert response is not None and response.status == 401
        await other.close()
        await context.close()
