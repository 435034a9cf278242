"""The dashboard's results page in headless Chromium (SQLite, and PostgreSQL), laptop and phone.

Projects with their photo (fetched from Telegram through the bot), feedback figures, jury progress
without the scores, then the final ranking once scoring is closed; names typed as HTML are shown
as text; the three CSV exports parse back. Screenshots go to `docs/screenshots/`.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from models import results as rs
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from simulator import Simulator, SimUser
from tests.e2e.dashboard_support import sign_in_link
from tests.e2e.results_support import participant_of, results_event, seed_team
from tests.e2e.test_dashboard_browser import CHROMIUM, browser  # noqa: F401 - the fixture
from tests.e2e.webhook_support import running_web_bot
from tests.support.people import seed

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"  # the SQLite run's, shown in the README
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"  # the PostgreSQL run's
LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT = 20.0
HOSTILE = "<i>Agenda</i> & <script>x()</script>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def photo_bytes() -> bytes:
    """A real picture (a screenshot-like mock-up), so the page shows something a person recognises."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (236, 242, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 480, 48), fill=(46, 94, 170))
    for row in range(4):
        draw.rectangle(
            (24, 72 + row * 58, 456, 116 + row * 58), fill=(255, 255, 255), outline=(190, 200, 214)
        )
        draw.rectangle((36, 84 + row * 58, 120, 104 + row * 58), fill=(120, 180, 120))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


async def press(user: SimUser, data: str) -> None:
    """Press a button by its data on the person's latest message."""
    message = user.last_message
    assert message is not None
    await user.press(callback_data=data, message=message, timeout=WAIT)


async def fill(
    db: Database, app: Any, teams: dict[str, list[SimUser]], testers: list[SimUser], jurors: list[int]
) -> None:
    """One project sent through the bot with a photo, one through the domain, one team without."""
    services = app.bot_data.services
    event = services.event
    ana = teams["agenda-partage"][0]
    await ana.send_text("/projet")
    await ana.wait_for_message("Nom :", timeout=WAIT)
    for field, value in (
        ("name", HOSTILE),
        ("description", "Un agenda commun aux centres sociaux,\npour les habitants."),
    ):
        await press(ana, f"rs:edit:{field}")
        await ana.wait_for_message("caractères", timeout=WAIT)
        await ana.send_text(value)
        await ana.wait_for_message("Enregistré", timeout=WAIT)
    await press(ana, "rs:edit:photo")
    await ana.wait_for_message("photos", timeout=WAIT)
    await ana.send_photo(data=photo_bytes())
    await ana.wait_for_message("Photo ajoutée", timeout=WAIT)
    await press(ana, "rs:submit")

    now = utcnow()
    bob = await participant_of(db, teams["benevolat"][0])
    async with db.transaction() as session:
        for field, value in (("name", "Coup de main"), ("description", "Relier bénévoles et besoins.")):
            draft = await rs.start_edit(session, bob, field, event, now)
            assert isinstance(draft, rs.Draft)
            await rs.save_field(session, bob, field, value, draft.version, event, now)
        assert isinstance(await rs.submit(session, bob, event, services.catalog, now), rs.Draft)
        await rs.set_order(session, event, services.catalog, ["benevolat", "agenda-partage", "reservation"])
    for step in (-1, 0, 1, 2):
        async with db.transaction() as session:
            assert not isinstance(await rs.next_team(session, event, services.catalog, step), rs.Refused)
    raters: list[Participant] = [await participant_of(db, user) for user in testers]
    async with db.transaction() as session:
        for index, person in enumerate(raters):
            for cid in ("benevolat", "agenda-partage"):
                for criterion in range(3):
                    await rs.rate(session, person, cid, criterion, 1 + (index + criterion) % 5, event)
            await rs.save_comment(session, person, "benevolat", "liked", event, text="Très utile")
            await rs.vote(session, person, "agenda-partage", event)
        for number, juror in enumerate(jurors):
            for team_index, cid in enumerate(
                ["benevolat", "agenda-partage", "reservation"][: 3 - 2 * number]
            ):
                for criterion in range(4):
                    await rs.score(
                        session, juror, cid, criterion, 5 + (team_index + criterion + number) % 5, event
                    )


async def shoot(page: Any, name: str, backend: str) -> None:
    folder = SCREENSHOTS if backend == "sqlite" else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if backend == "sqlite" else f"-{backend}"
    await page.screenshot(path=str(folder / f"{name}{suffix}.png"), full_page=True)


async def test_results_page_in_chromium(sim: Simulator, db: Database, browser: Any) -> None:  # noqa: F811
    """Projects, photos, figures, progress, then the ranking; exports; laptop and phone."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    juror_users = [sim.add_user(first_name=f"Juré{i}", language_code="fr") for i in range(2)]
    teams = {
        cid: [sim.add_user(first_name=f"{cid[:3]}{i}", language_code="fr") for i in range(2)]
        for cid in ("agenda-partage", "benevolat", "reservation")
    }
    testers = [sim.add_user(first_name=f"Usager{i}", language_code="fr") for i in range(4)]
    members = [u for group in teams.values() for u in group]
    await seed(db, [*members, *testers])
    event = results_event(organiser.id, [j.id for j in juror_users])
    async with running_web_bot(sim, db, event, webhook=False, refresh_seconds=60.0) as (app, server):
        for cid, group in teams.items():
            await seed_team(db, group, cid)
        for user in (*members, *testers):
            await user.send_text("/start")
            await user.wait_for_message(timeout=WAIT)
        await fill(db, app, teams, testers, [j.id for j in juror_users])
        backend = "pg" if not db.is_sqlite else "sqlite"

        context = await browser.new_context(viewport=LAPTOP, accept_downloads=True, locale="fr-FR")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await page.goto(await sign_in_link(organiser))
        await page.click("#signin-button")
        await page.wait_for_url(server.local_url + "/")
        await page.goto(server.local_url + "/results")

        assert (await page.locator('[data-figure="submitted"]').inner_text()).strip() == "2/3"
        assert (await page.locator('[data-figure="feedbacks"]').inner_text()).strip() == "8"
        assert (await page.locator('[data-figure="jury"]').inner_text()).strip() == "4/6"
        assert (await page.locator('[data-figure="votes"]').inner_text()).strip() == "—"  # not before closing
        card = page.locator('article[data-team="agenda-partage"]')
        assert await card.get_attribute("data-state") == "sent"
        assert (await card.locator("h3").inner_text()) == HOSTILE  # shown as typed, never run
        image = card.locator(".photos img")
        assert await image.count() == 1
        await page.wait_for_function(
            "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert await image.evaluate("i => i.naturalWidth") == 480
        assert await page.locator('article[data-team="reservation"] .empty').count() == 1
        assert (
            await page.locator('#table-feedback tr[data-team="benevolat"] [data-figure="count"]').inner_text()
            == "4"
        )
        assert await page.locator("#table-jury td.progress").count() == 6
        assert "/10" not in await page.locator("#table-jury").inner_text()
        assert await page.locator("#table-ranking").count() == 0
        await shoot(page, "dashboard-results-open-laptop", backend)

        services = app.bot_data.services
        async with db.transaction() as session:
            assert not isinstance(await rs.close_scoring(session, services.event, utcnow()), rs.Refused)
        await page.reload()
        rows = page.locator("#table-ranking tbody tr")
        assert await rows.count() == 3
        assert await rows.nth(0).get_attribute("data-team") == "reservation"  # juror 1: 7.5 of 10, the best
        assert (await page.locator('[data-figure="votes"]').inner_text()).strip() == "4"
        await shoot(page, "dashboard-results-closed-laptop", backend)

        for name, expected_rows in (("submissions", 3), ("feedback", 3 + 3 * 3), ("jury", 3)):
            async with page.expect_download() as info:
                await page.click(f"#export-results-{name}")
            download = await info.value
            text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8-sig")
            parsed = list(csv.reader(io.StringIO(text), delimiter=";"))
            assert len(parsed) == 1 + expected_rows, (name, parsed)
        assert "Usager" not in text  # no author anywhere

        phone = await browser.new_context(
            viewport=PHONE, locale="fr-FR", storage_state=await context.storage_state()
        )
        small = await phone.new_page()
        await small.goto(server.local_url + "/results")
        await small.wait_for_function(
            "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        overflow = await small.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, overflow
        await shoot(small, "dashboard-results-closed-phone", backend)
        assert not errors and not dialogs
