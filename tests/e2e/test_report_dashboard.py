"""The report and the archive on the dashboard: organisers only; the page in Chromium (laptop and phone).

The rehearsed event (100 people, 5 teams...) is seeded with domain functions; the organiser signs
in with the link the bot sends. The page is screenshot at 1400x900 and 390x844 into
`docs/screenshots/` (skipped, with the reason, without Debian's chromium).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.i18n import Catalog
from models.base import utcnow
from models.db import Database
from simulator import Simulator
from tests.e2e.dashboard_support import sign_in_link, signed_in_session
from tests.e2e.survey_support import PROFILE_QUESTIONS, event_ending_at, rehearse
from tests.e2e.webhook_support import running_web_bot

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


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


async def test_report_pdf_and_archive_for_organisers_only(sim: Simulator, db: Database) -> None:
    """The exports page links them; the PDF and the zip download; others are refused."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    event = event_ending_at(
        utcnow() - timedelta(days=1), organisers=[organiser.id], profile_questions=PROFILE_QUESTIONS
    )
    seeded = await rehearse(db, event, Catalog.load(default_language=event.default_language))
    async with running_web_bot(sim, db, event, webhook=False) as (_app, server):
        async with aiohttp.ClientSession() as stranger:
            for path in ("/report", "/report.pdf", "/export/archive.zip"):
                async with stranger.get(server.local_url + path) as response:
                    assert response.status == 401, path
        http = await signed_in_session(organiser)
        try:
            async with http.get(server.local_url + "/exports") as response:
                exports = await response.text()
            assert 'href="/report.pdf"' in exports and 'href="/export/archive.zip"' in exports
            async with http.get(server.local_url + "/report") as response:
                assert response.status == 200
                page = await response.text()
            assert "Bilan de l'événement" in page and 'href="/static/report.css"' in page
            async with http.get(server.local_url + "/report.pdf") as response:
                assert response.status == 200 and response.content_type == "application/pdf"
                assert (await response.read()).startswith(b"%PDF")
            async with http.get(server.local_url + "/export/archive.zip") as response:
                assert response.status == 200 and response.content_type == "application/zip"
                archive = zipfile.ZipFile(io.BytesIO(await response.read()))
        finally:
            await http.close()
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert names == {
        "participants.csv",
        "teams.csv",
        "meals.csv",
        "questions.csv",
        "survey.csv",
        "report.html",
        "report.css",
        "report.pdf",
    }
    participants = archive.read(f"{event.id}/participants.csv").decode("utf-8-sig")
    assert len(participants.strip().splitlines()) == 101 and seeded.names[0] in participants


@pytest.mark.browser
@needs_chromium
async def test_report_page_in_chromium(sim: Simulator, db: Database, browser: Any) -> None:
    """The page reads well on a laptop and a phone; screenshots for the README."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    event = event_ending_at(
        utcnow() - timedelta(days=1), organisers=[organiser.id], profile_questions=PROFILE_QUESTIONS
    )
    await rehearse(db, event, Catalog.load(default_language=event.default_language))
    async with running_web_bot(sim, db, event, webhook=False) as (_app, server):
        link = await sign_in_link(organiser)
        for name, viewport in (
            ("laptop", {"width": 1400, "height": 900}),
            ("phone", {"width": 390, "height": 844}),
        ):
            context = await browser.new_context(viewport=viewport, locale="fr-FR")
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            if name == "laptop":
                await page.goto(link)
                await page.click("#signin-button")
                await page.wait_for_url(server.local_url + "/")
                cookies = await context.cookies()
            else:
                await context.add_cookies(cookies)
            await page.goto(server.local_url + "/report")
            assert await page.locator('[data-figure="registered"] b').inner_text() == "100"
            wide = await page.locator("#report-roles").is_visible()
            assert wide == (name == "laptop")  # the phone gets the chart drawn for phones
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], "the page scrolls sideways"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"report-{name}.png"), full_page=False)
            assert not errors
            await context.close()
