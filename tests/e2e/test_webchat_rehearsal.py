"""The rehearsal in headless Chromium as an organiser tries it, on a laptop and on a phone.

Sizes: 1400 × 900 and 390 × 844. In one `hackbot demo` process (`Demo`, in-process): Nadia, the
organiser persona, opens the "/" menu (the commands set with setMyCommands, in her language),
sends /dashboard from it, taps the link the bot answers with, signs in and lands on the
dashboard's overview. On the phone, the page fits the screen: the subtitle is whole, nothing
scrolls sideways, persona labels are not clipped. Screenshots go to `docs/screenshots/` (the
README links them).
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.webchat_support import running_demo
from tests.support.databases import migrated_database

if TYPE_CHECKING:
    from bot.demo import Demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SIZES = {"laptop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed"),
]

# Elements wider than their box (something cut or scrolling sideways), and text cut by an ellipsis.
OVERFLOWS_JS = """
() => {
  const found = [];
  const limit = document.documentElement.clientWidth;
  const watched = "#subtitle, .topbar, .personas, .persona, .persona-text, .chat-head, .chat-tabs, "
    + ".chat-tab, .send-form";
  for (const el of document.querySelectorAll(watched)) {
    const box = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || box.right > limit + 1 || box.left < -1) {
      const what = el.className || el.id;
      found.push(`${what}: ${el.scrollWidth} > ${el.clientWidth} (right ${Math.round(box.right)})`);
    }
    const cut = getComputedStyle(el).textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth;
    if (cut) found.push("ellipsis " + el.id);
  }
  const page = document.documentElement.scrollWidth;
  if (page > limit) found.push("page " + page);
  return found;
}
"""


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with migrated_database("sqlite", tmp_path) as database, running_demo(database) as running:
        yield running


async def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.parametrize("size", ["laptop", "phone"])
async def test_organiser_goes_from_dashboard_command_to_the_dashboard(demo: Demo, size: str) -> None:
    """/dashboard from the "/" menu, the link in the chat, sign in: the overview, in the same process."""
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    assert demo.dashboard is not None, "hackbot demo starts the dashboard"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport=SIZES[size], locale="fr-FR", has_touch=size == "phone", is_mobile=size == "phone"
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(demo.url)
            await expect(page.locator(".persona", has_text="Nadia")).to_be_visible()

            # The page fits the screen: nothing cut, nothing scrolling sideways.
            assert await page.evaluate(OVERFLOWS_JS) == []
            subtitle = page.locator("#subtitle")
            assert "tout se passe sur cet ordinateur" in await subtitle.inner_text()
            await shoot(page, f"webchat-start-{size}")

            # Nadia's "/" menu: the commands Telegram would show her.
            await page.locator(".persona", has_text="Nadia").click()
            await page.locator('.chat-tab[data-chat-type="private"]').click()
            await page.locator("#commands-button").click()
            menu = page.locator("#commands")
            await expect(menu.locator("button", has_text="/tableau_de_bord")).to_be_visible()
            assert "Pas encore de commandes" not in await menu.inner_text()
            assert await menu.locator("button").count() >= 5
            # However long the menu, the message field stays on the screen.
            field = await page.locator("#text").bounding_box()
            assert field is not None and field["y"] + field["height"] <= SIZES[size]["height"]
            await shoot(page, f"webchat-commands-{size}")
            await menu.locator("button", has_text="/tableau_de_bord").click()

            # The answer carries a link that opens the dashboard of this very process.
            link = page.locator('.msg[data-from="bot"] a[href*="/signin/"]').last
            await expect(link).to_be_visible()
            href = await link.get_attribute("href")
            assert href is not None and href.startswith(demo.dashboard.local_url + "/signin/")
            assert await page.evaluate(OVERFLOWS_JS) == []
            await shoot(page, f"webchat-dashboard-link-{size}")
            async with context.expect_page() as opened:
                await link.click()
            dashboard = await opened.value
            await dashboard.locator("#signin-button").click()
            await dashboard.wait_for_url(demo.dashboard.local_url + "/")
            await expect(dashboard.locator("h1")).to_have_text("Vue d'ensemble")
            await expect(dashboard.locator('[data-figure="registered"]')).to_have_text("0")
            await shoot(dashboard, f"rehearsal-dashboard-{size}")
            assert errors == []
        finally:
            await browser.close()
