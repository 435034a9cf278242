"""The promised deletion, end to end on SQLite and PostgreSQL, with a moved clock.

A rehearsed event (100 people, teams, meals, questions, announcements, survey) ends; the organiser
is warned 7 days and 1 day before the deadline; at the deadline the purge runs while the organiser
has the dashboard open. Afterwards every table is scanned for the participants' Telegram ids,
names and texts, and the report is generated again from the figures kept. A second test kills the
real bot process (SIGKILL) in the middle of a purge and checks that the restart completes it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, inspect, select, text

from bot.after_event import describe_plan
from bot.i18n import Catalog
from models import report, retention
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from schedule import retention as retention_job
from schedule.config import EventConfig
from simulator import Simulator
from tests.e2e.dashboard_support import signed_in_session
from tests.e2e.survey_support import event_ending_at, people, rehearse
from tests.e2e.test_programme_support import MovableClock
from tests.e2e.webhook_support import running_web_bot
from tests.support import databases
from tests.support.harness import BOT_TOKEN
from tests.support.process import start_bot, stop
from web import report as rendering

ROOT = Path(__file__).resolve().parents[2]


async def all_rows(db: Database) -> dict[str, list[str]]:
    """Every row of every table of the database (as the database has them), as text."""

    def tables(connection: Any) -> list[str]:
        return [name for name in inspect(connection).get_table_names() if name != "alembic_version"]

    async with db.engine.connect() as connection:
        names = await connection.run_sync(tables)
        found = {}
        for name in names:
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            found[name] = [" | ".join(str(value) for value in row) for row in result]
    return found


async def wait_for(check: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def purge_state(db: Database, event: EventConfig) -> retention.RetentionPurge | None:
    async with db.read() as session:
        return await retention.purge_row(session, event)


async def test_warned_then_purged_nothing_personal_left_report_still_made(
    sim: Simulator, db: Database
) -> None:
    """Warnings at 7 days and 1 day; at the deadline no id, name or text is left; the report is the same."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    organiser.account.started_bots.add(sim.bot.id)
    event = event_ending_at(utcnow() - timedelta(days=1), organisers=[organiser.id])
    catalog = Catalog.load(default_language=event.default_language)
    seeded = await rehearse(db, event, catalog)
    async with db.read() as session:
        before = await report.gather(session, event, utcnow())
        plan = await retention.plan(session, event)
    assert plan.participants == 100 and plan.tables["survey_marks"] == 100
    assert any("participants: 100" in line for line in describe_plan(plan))
    deadline = event.retention_until
    clock = MovableClock()
    async with running_web_bot(sim, db, event, webhook=False, clock=clock) as (app, server):
        http = await signed_in_session(organiser)
        try:
            async with http.get(server.local_url + "/") as response:
                assert response.status == 200

            clock.offset = deadline - timedelta(days=7, seconds=-30) - utcnow()
            week = await organiser.wait_for_message("dans 7 jours", timeout=15)
            assert "effacées le" in week.text
            clock.offset = deadline - timedelta(days=1, seconds=-30) - utcnow()
            await organiser.wait_for_message("dans 1 jour", timeout=15)
            assert await purge_state(db, event) is None  # nothing deleted before the deadline

            clock.offset = deadline + timedelta(minutes=1) - utcnow()
            await retention_job.plan(app)  # what a restart or a reload does: the purge is due

            async def done() -> bool:
                row = await purge_state(db, event)
                return row is not None and row.state == retention.Step.DONE

            await wait_for(done, 60, "the purge")
            async with http.get(server.local_url + "/", allow_redirects=False) as response:
                assert response.status == 401  # the session ended with the purge: signed out, no error
        finally:
            await http.close()
    await asyncio.sleep(0)

    rows = await all_rows(db)
    ids = re.compile(r"\b(" + "|".join(str(i) for i in seeded.telegram_ids) + r")\b")
    for table, lines in rows.items():
        for line in lines:
            assert not ids.search(line), f"{table}: a participant's Telegram id is left: {line[:200]}"
            for secret in [*seeded.names, *seeded.private_texts, "Facilitatrice Réponse", "Annonce n°"]:
                assert secret not in line, f"{table}: {secret!r} is left"
            if table != "report_snapshots":
                for quote in seeded.quotes:
                    assert quote not in line, f"{table}: {quote!r} is left outside the report"
    assert not rows["participants"] and not rows["survey_marks"] and not rows["dashboard_sessions"]

    async with db.read() as session:
        after, context = await rendering.build(session, catalog, event, utcnow())
        plan = await retention.plan(session, event)
    assert replace(after, taken_at=before.taken_at) == before  # made from the figures kept before the purge
    assert plan.participants == 0 and plan.done_at is not None
    html = rendering.render_html(context)
    assert "ont été effacées le" in html
    assert rendering.render_pdf(html).startswith(b"%PDF")


def write_event(path: Path, event: EventConfig) -> Path:
    """The event as a YAML file, for the bot subprocess."""
    data = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def test_sigkill_during_the_purge_then_restart_completes_it(
    sim: Simulator, db: Database, tmp_path: Path, test_database: databases.TestDatabase
) -> None:
    """Killed while erasing people: nothing half-deleted, and the next start finishes the purge."""
    event = event_ending_at(utcnow() - timedelta(days=40))  # retention (30 days) is over
    everyone = 1500
    await people(sim, db, everyone, registered_at=event.start - timedelta(days=3))
    env = {**test_database.env(), "EVENT_CONFIG": str(write_event(tmp_path / "event.yaml", event))}
    log = tmp_path / "bot.log"
    process = start_bot(sim, env, log)
    try:

        async def started() -> bool:
            row = await purge_state(db, event)
            return row is not None and row.participants_erased > 0

        await wait_for(started, 60, "the purge to start")
        await stop(process, signal.SIGKILL)
        row = await purge_state(db, event)
        assert row is not None and row.step == retention.Step.PARTICIPANTS, (
            "killed too late: seed more people"
        )
        async with db.read() as session:
            left = await session.scalar(select(func.count()).select_from(Participant))
        assert left == everyone - row.participants_erased  # every batch whole: erased and counted together

        process = start_bot(sim, env, log)

        async def finished() -> bool:
            row = await purge_state(db, event)
            return row is not None and row.state == retention.Step.DONE

        await wait_for(finished, 120, "the purge to finish after the restart")
    finally:
        if process.poll() is None:
            await stop(process, signal.SIGTERM)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert "resuming the purge" in output
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
        kept = await report.snapshot(session, event)
        row = await retention.purge_row(session, event)
    assert kept is not None and kept.registered == everyone
    assert row is not None and row.participants_erased == everyone


def hackbot(env: dict[str, str], *args: str) -> str:
    """Run `python -m bot <args>` on the test's database; its standard output."""
    import os

    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**os.environ, **env, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_command_line_dry_run_report_export_then_purge(
    db: Database, tmp_path: Path, test_database: databases.TestDatabase
) -> None:
    """`hackbot purge --dry-run` changes nothing; `report` and `export` write their files; `purge` deletes."""
    event = event_ending_at(utcnow() - timedelta(days=2))
    await rehearse(db, event, Catalog.load(default_language=event.default_language))
    env = {**test_database.env(), "EVENT_CONFIG": str(write_event(tmp_path / "event.yaml", event))}

    planned = await asyncio.to_thread(hackbot, env, "purge", "--dry-run")
    assert "participants: 100" in planned and "survey_marks: 100 row(s)" in planned
    assert await purge_state(db, event) is None
    await asyncio.to_thread(hackbot, env, "report", "--out", str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "Bilan de l'événement" in (tmp_path / "report.html").read_text(encoding="utf-8")
    await asyncio.to_thread(hackbot, env, "export", "--out", str(tmp_path / "archive.zip"))
    assert (tmp_path / "archive.zip").stat().st_size > 10_000

    done = await asyncio.to_thread(hackbot, env, "purge")
    assert "100 participant(s)" in done
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
    again = await asyncio.to_thread(hackbot, env, "purge", "--dry-run")
    assert "already deleted" in again and "participants: 0" in again
