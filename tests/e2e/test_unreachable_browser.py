"""The dashboard's overview in headless Chromium counts the participants who blocked the bot.

Two of five registered participants block the bot (the simulator sends `my_chat_member`); the
overview's "Registered" card says "2 unreachable"; one unblocks and it says 1. Screenshots
(laptop 1400×900, phone 390×844) go to `docs/screenshots/dashboard-unreachable-*.png`.

Skipped, with the reason, when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from models.db import Database
from models.reachability import unreachable_count
from simulator import Simulator
from tests.e2e.dashboard_support import sign_in_link
from tests.e2e.test_broadcasts import seed
from tests.e2e.test_dashboard_browser import CHROMIUM, browser  # noqa: F401 - the fixture
from tests.e2e.webhook_support import running_web_bot
from tests.support.harness import bundled_event

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


async def counted(db: Database, expected: int) -> None:
    """Wait until the database counts `expected` unreachable participants."""
    deadline = time.monotonic() + 10
    while True:
        async with db.read() as session:
            if await unreachable_count(session) == expected:
                return
        assert time.monotonic() < deadline, f"never {expected} unreachable"
        await asyncio.sleep(0.05)


async def test_overview_counts_unreachable_participants(sim: Simulator, db: Database, browser) -> None:  # noqa: F811
    """Blocked participants are counted on the overview, on a laptop and on a phone; unblocking lowers it."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    await organiser.send_text("/start")
    people = await seed(sim, db, 5)
    event = bundled_event(organisers=[organiser.id], staff_chat_id=None)
    async with running_web_bot(sim, db, event, webhook=False) as (_app, server):
        people[1].block_bot()
        people[3].block_bot()
        await counted(db, 2)

        context = await browser.new_context(viewport=LAPTOP, locale="fr-FR")
        page = await context.new_page()
        await page.goto(await sign_in_link(organiser))
        await page.click("#signin-button")
        await page.wait_for_url(server.local_url + "/")
        hint = page.locator("[data-figure='unreachable']")
        assert (await hint.inner_text()).strip() == "2 injoignables (ont bloqué le bot)"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-unreachable-laptop.png"))

        phone = await browser.new_context(viewport=PHONE, is_mobile=True, locale="fr-FR")
        await phone.add_cookies(await context.cookies())
        mobile = await phone.new_page()
        await mobile.goto(server.local_url + "/")
        assert await mobile.locator("[data-figure='unreachable']").is_visible()
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, width
        await mobile.screenshot(path=str(SCREENSHOTS / "dashboard-unreachable-phone.png"))
        await phone.close()

        people[1].unblock_bot()
        await counted(db, 1)
        await page.reload()
        assert (await hint.inner_text()).strip() == "1 injoignable (a bloqué le bot)"
        await context.close()
