"""The dashboard's arrivals page in headless Chromium, laptop (1400×900) and phone (390×844), over
check-ins made through the simulator: figures against the database, names shown as text, the list's
CSV, the badges PDF, the meals page's "present" figure. Screenshots go to `docs/screenshots/`.

Skipped, with the reason, when /usr/bin/chromium is missing (CI installs it: see `.ci/run`).
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from models.base import utcnow
from models.db import Database
from schedule.config import ArrivalSettings
from simulator import Simulator
from tests.e2e.dashboard_support import sign_in_link
from tests.e2e.test_arrival import badge_link, check_ins, scan, seed
from tests.e2e.test_dashboard_browser import CHROMIUM, browser  # noqa: F401 - the fixture
from tests.e2e.webhook_support import running_web_bot
from tests.support.harness import bundled_event

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
HTML_NAME = "<img src=x onerror=alert(1)>Inès"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


async def test_arrivals_page_in_chromium(sim: Simulator, db: Database, browser: Any) -> None:  # noqa: F811
    """3 of 5 registered arrive (one leaves), one walk-in: the page, the CSV and the PDF agree."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    people = [
        sim.add_user(first_name=name, language_code="fr")
        for name in (HTML_NAME, "Bob", "Chloé", "Dan", "Eve")
    ]
    await seed(db, people)
    # The first meal starts now, whatever the hour, so a meal of today shows who is present now.
    bundled = bundled_event(organisers=[organiser.id], arrival=ArrivalSettings(desk_volunteers=[desk.id]))
    first_meal = min(bundled.meal_window(meal)[0] for meal in bundled.meals)
    event = bundled.shifted_to(utcnow() - (first_meal - bundled.start))
    async with running_web_bot(sim, db, event, webhook=False, refresh_seconds=1.0):
        for person in people[:3]:
            await scan(desk, await badge_link(person))
        await people[2].send_text("/jepars")
        await people[2].wait_for_message()
        await desk.send_text("/inscrire_sur_place Fatou")
        await desk.wait_for_message(lambda m: "inscrit·e sur place" in m.text)
        assert await check_ins(db) == 4

        link = await sign_in_link(organiser)
        for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            context = await browser.new_context(viewport=viewport, accept_downloads=True, locale="fr-FR")
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            dialogs: list[str] = []
            page.on("dialog", lambda dialog, dialogs=dialogs: dialogs.append(dialog.message))
            if size == "laptop":
                await page.goto(link)
                await page.click("#signin-button")
                await page.wait_for_url("**/")
                cookies = await context.cookies()
            else:
                await context.add_cookies(cookies)
            await page.goto(_base(link) + "/arrivals")
            assert await _figure(page, "present") == "3"  # two badges + the walk-in
            assert await _figure(page, "arrived") == "4"
            assert await _figure(page, "waiting") == "2"
            rows = page.locator("#table-arrivals tbody tr")
            assert await rows.count() == 4
            assert HTML_NAME in await page.locator("#table-arrivals").inner_text()
            assert await page.locator("#chart-arrivals-time").count() == 1
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page scrolls sideways on the {size}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"arrivals-{size}.png"), full_page=True)
            assert not errors and not dialogs

            if size == "laptop":
                async with page.expect_download() as csv_download:
                    await page.click("#export-arrivals")
                body = (await _read(csv_download)).decode("utf-8-sig")
                table = list(csv.reader(io.StringIO(body), delimiter=";"))
                assert table[0][:2] == ["Prénom", "Rôle"]
                assert len(table) == 1 + 4 + 2
                assert sorted(row[3] for row in table[1:]) == sorted(
                    ["présent", "présent", "parti", "présent", "pas arrivé", "pas arrivé"]
                )
                async with page.expect_download() as pdf_download:
                    await page.click("#download-badges")
                pdf = await _read(pdf_download)
                assert pdf.startswith(b"%PDF")
                await page.goto(_base(link) + "/meals")
                today = [
                    m.id
                    for m in event.meals
                    if event.local(event.meal_window(m)[0]).date() == event.local(utcnow()).date()
                ]
                assert today
                for meal_id in today:
                    assert await _figure(page, "present", f'[data-meal="{meal_id}"]') == "3"
            await context.close()


async def _read(download_info: Any) -> bytes:
    download = await download_info.value
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


def _base(link: str) -> str:
    return link.split("/signin/")[0]


async def _figure(page: Any, name: str, within: str = "") -> str:
    return (await page.locator(f'{within} [data-figure="{name}"]'.strip()).first.inner_text()).strip()
