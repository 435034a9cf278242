"""Printable badges: `hackbot badges` writes an A4 PDF; rendered to images, every QR code decodes to a
link that checks its owner in at the desk (SQLite, and PostgreSQL).

The pages are rendered with `pdftoppm` (Debian's poppler-utils) at 150 dpi, about what a phone
camera sees of a printed badge at arm's length; the codes are decoded with zxing-cpp.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from models import challenges
from models.db import Database
from models.participant import Participant
from simulator import Simulator
from tests.e2e.test_arrival import arrival_event, check_ins, seed
from tests.support import databases
from tests.support.harness import BOT_USERNAME, running_bot

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "arrival-badges.png"

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils)")


def render(pdf: Path, out: Path) -> list[Path]:
    """Every page of `pdf` as a PNG."""
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


async def test_badges_pdf_every_code_checks_in(
    sim: Simulator, db: Database, test_database: databases.TestDatabase, tmp_path: Path
) -> None:
    """12 participants → 2 pages (8 + 4); 12 distinct codes; each scanned at the desk checks one person in."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    people = [sim.add_user(first_name=name, language_code="fr") for name in _NAMES]
    await seed(db, people[:6])
    await seed(db, people[6:], role="student")
    async with running_bot(sim, db, arrival_event([desk])):
        await _join_team(db, people[0].id)
        links = await _print_and_read(test_database, tmp_path)
        for link in links:
            await desk.open_link(link)
            card = await desk.wait_for_message(timeout=10)
            assert "Première arrivée aujourd'hui" in card.text
        assert await check_ins(db) == 12


async def _join_team(db: Database, telegram_id: int) -> None:
    async with db.transaction() as session:
        first = await session.scalar(select(Participant).where(Participant.telegram_id == telegram_id))
        assert first is not None
        session.add(challenges.ChallengeMember(participant_id=first.id, challenge_id="benevolat"))


async def _print_and_read(test_database: databases.TestDatabase, tmp_path: Path) -> list[str]:
    """`hackbot badges --out`, the pages rendered, every QR code decoded (the first page saved)."""
    out = tmp_path / "badges.pdf"
    env = {**os.environ, **test_database.env(), "TELEGRAM_BOT_TOKEN": ""}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "badges", "--out", str(out), "--bot-username", BOT_USERNAME],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF")

    pages = render(out, tmp_path)
    assert len(pages) == 2
    links: list[str] = []
    for index, page in enumerate(pages):
        image = Image.open(page)
        assert image.width < image.height  # A4 portrait
        found = [code.text for code in zxingcpp.read_barcodes(image.convert("L"))]
        assert len(found) == (8 if index == 0 else 4)
        links += found
    assert len(set(links)) == 12
    assert all(link.startswith(f"https://t.me/{BOT_USERNAME}?start=ci-") for link in links)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pages[0], SCREENSHOT)
    return links


_NAMES = [
    "Amina Ben Saïd",
    "Jean-Baptiste de la Fontaine",
    "Zoé",
    "Đặng Thị Thu",
    "Nour <b>",
    "Marc",
    "Fatou Diop",
    "Léa",
    "Karim",
    "Ioana Popescu",
    "Sam",
    "Yasmine El Amrani",
]
