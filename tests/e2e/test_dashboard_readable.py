"""The dashboard as organisers read it, in headless Chromium on a laptop (1400 × 900) and a phone (390 × 844).

Checks what the rehearsal's trial found: meal headcounts of confirmed people with "no answer"
apart, outbox purposes in words, French spacing before ":" ";" "!" "?", a real sentence for the
refresh, question states agreeing with their count, whole team titles, the frame of the teams
chart explained, the registrations axis ending now, no word broken in a table cell, charts
readable on a phone, French decimals in the CSV files, and only features that exist.

Screenshots of each page at both sizes go to `docs/screenshots/` (the README links some).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.db import Database
from models.questions import QuestionTicket, TicketState
from simulator import Simulator
from tests.e2e.dashboard_support import LUNCH, TEAM_A, fill, make_world, sign_in_link
from tests.e2e.test_dashboard_browser import CHROMIUM, browser
from tests.e2e.webhook_support import running_web_bot
from tests.unit.i18n.test_french_web import english_words

__all__ = ["browser"]  # the fixture, shared with the other browser test

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"laptop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGES = ("/", "/registrations", "/teams", "/meals", "/questions", "/announcements", "/exports")
# A ":" ";" "!" "?" that ends a word in French text needs a narrow no-break space before it.
BAD_FRENCH_SPACING = re.compile(r".{0,12}(?<!\u202f)[:;!?](?=\s|$)")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

# Every word of every table cell drawn on one line: a word cut across two lines has two boxes.
BROKEN_WORDS_JS = """
() => {
  const broken = [];
  for (const cell of document.querySelectorAll("main td, main th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const boxes = [...range.getClientRects()].filter(r => r.width > 0);
        const lines = new Set(boxes.map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}
"""

# The smallest text of the visible charts, in CSS pixels as drawn on the screen.
SMALLEST_CHART_TEXT_JS = """
() => {
  let smallest = Infinity;
  for (const svg of document.querySelectorAll("svg.chart")) {
    if (svg.getBoundingClientRect().width === 0) continue;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const text of svg.querySelectorAll("text")) {
      smallest = Math.min(smallest, parseFloat(text.getAttribute("font-size")) * scale);
    }
  }
  return smallest;
}
"""


async def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def download(page: Any, name: str) -> list[list[str]]:
    async with page.expect_download() as info:
        await page.click(f"#export-{name}")
    data = await asyncio.to_thread(Path(await (await info.value).path()).read_bytes)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def test_dashboard_reads_right_on_a_laptop_and_a_phone(
    sim: Simulator, db: Database, browser: Any
) -> None:
    """Every page in French at both sizes: the trial's findings are gone; screenshots kept."""
    world = make_world(sim)
    async with running_web_bot(sim, db, world.event, webhook=False, refresh_seconds=5.0) as (app, server):
        await fill(app, world)
        # One question answered 66 seconds after it was asked: 1.1 minutes in the export.
        async with db.transaction() as session:
            ticket = (await session.scalars(select(QuestionTicket).order_by(QuestionTicket.id))).first()
            assert ticket is not None
            ticket.state = TicketState.ANSWERED
            ticket.answered_at = ticket.asked_at + timedelta(seconds=66)
        record = db.is_sqlite  # one backend's pictures are enough (SQLite always runs)
        laptop = await browser.new_context(viewport=SIZES["laptop"], accept_downloads=True, locale="fr-FR")
        page = await laptop.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(await sign_in_link(world.organiser))
        await page.click("#signin-button")
        await page.wait_for_url(server.local_url + "/")
        cookie = next(c for c in await laptop.cookies() if c["name"] == "hackbot_session")
        phone_context = await browser.new_context(viewport=SIZES["phone"], is_mobile=True, locale="fr-FR")
        await phone_context.add_cookies([cookie])
        phone = await phone_context.new_page()

        for size, tab in (("laptop", page), ("phone", phone)):
            for path in PAGES:
                await tab.goto(server.local_url + path)
                text = await tab.inner_text("main")
                name = path.strip("/") or "overview"
                # French spacing, a French sentence for the refresh, only what exists.
                assert not BAD_FRENCH_SPACING.findall(text), (size, path, BAD_FRENCH_SPACING.findall(text))
                assert "quelques secondes" not in text and "toutes les 5 secondes" in text, text
                assert "pas encore disponible" not in text and "(cadre = places)" not in text
                # No English word on a French page (names typed by participants aside).
                names = " ".join(await tab.locator("main .name").all_inner_texts())
                assert english_words(text.replace(names, " ") if names else text) == [], (size, path)
                charts_text = " ".join(await tab.locator("svg.chart text").all_text_contents())
                assert "…" not in charts_text, (size, path)  # labels wrap, never cut
                # No word cut in a table cell; nothing wider than the screen.
                assert await tab.evaluate(BROKEN_WORDS_JS) == [], (size, path)
                width = await tab.evaluate("document.documentElement.scrollWidth")
                assert width <= SIZES[size]["width"], (size, path, width)
                if await tab.locator("svg.chart").count():
                    # Chart texts at least 10 px on the screen (12 px on the phone's own layout).
                    smallest = await tab.evaluate(SMALLEST_CHART_TEXT_JS)
                    assert smallest >= (11 if size == "phone" else 10), (size, path, smallest)
                if record:
                    await shoot(tab, f"dashboard-{name}-{size}")

        # Meals: confirmed people, and "no answer" apart (not added to the headcount).
        await page.goto(server.local_url + "/meals")
        bar = page.locator(f'#chart-meals g.bar[data-key="{LUNCH}"]')
        assert (await bar.get_attribute("data-value"), await bar.get_attribute("data-pending")) == ("2", "1")
        assert (await bar.locator("text.value").text_content() or "").strip() == "2"
        lunch = page.locator(f'section[data-meal="{LUNCH}"] .fill')
        assert "Confirmés\u202f: 2" in await lunch.inner_text()
        assert "Sans réponse\u202f: 1" in await lunch.inner_text()
        assert "sans réponse (pas comptés" in await page.inner_text(".legend")

        # Every message by purpose: words, not the outbox's keys.
        await page.goto(server.local_url + "/announcements")
        for row in await page.locator("#table-purposes tbody tr").all():
            purpose = await row.get_attribute("data-purpose")
            label = (await row.locator("td").first.inner_text()).strip()
            assert purpose and label != purpose and not re.fullmatch(r"[a-z_.-]+", label), (purpose, label)

        # Questions: one question, one singular state.
        await page.goto(server.local_url + "/questions")
        cards = await page.locator(".card .label").all_inner_texts()
        assert "Prise en charge" in cards and "Répondue" in cards, cards
        assert await page.locator("#table-queue td", has_text="Prises en charge").count() == 0

        # Teams: whole titles in the chart (wrapped, never cut), the frame explained.
        await page.goto(server.local_url + "/teams")
        for chart_id in ("#chart-teams", "#chart-teams-phone"):
            for group in await page.locator(f"{chart_id} g.bar").all():
                drawn = " ".join(await group.locator("text.label tspan").all_text_contents())
                assert drawn == await group.get_attribute("data-label")
        assert "cadre gris" in await page.inner_text(".legend")
        assert await page.locator(f'#chart-teams g.bar[data-key="{TEAM_A}"] text.label tspan').count() >= 1

        # Registrations: the time axis stops now.
        await page.goto(server.local_url + "/registrations")
        end = await page.get_attribute("#chart-registrations-time", "data-end")
        assert end is not None and datetime.fromisoformat(end) <= app.bot_data.services.now()

        # CSV files in French: decimal comma.
        await page.goto(server.local_url + "/exports")
        questions = await download(page, "questions")
        minutes = [row[7] for row in questions[1:] if row[7]]
        assert minutes == ["1,1"], questions

        assert errors == []
        await phone_context.close()
        await laptop.close()
