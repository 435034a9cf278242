"""After the event, from the command line: `hackbot report`, `hackbot purge [--dry-run]`, `hackbot export`.

Each opens the database of the settings (migrated first), does one thing and closes it. The bot
may be running at the same time: the report and the export only read; the purge commits one step
at a time, as the scheduled one does (`schedule.retention.purge`), so both can meet without harm.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.i18n import Catalog
from bot.settings import Settings
from models import retention
from models.base import utcnow
from models.db import Database
from models.migrate import upgrade
from schedule.config import EventConfig


async def _open(settings: Settings) -> Database:
    await upgrade(settings.database_url, schema=settings.database_schema)
    return Database(settings.database_url, schema=settings.database_schema)


async def report_files(
    settings: Settings, event: EventConfig, now: datetime | None = None
) -> tuple[bytes, str]:
    """The report as a PDF and as a standalone HTML page (which links `report.css`)."""
    from web import report as rendering

    db = await _open(settings)
    try:
        async with db.read() as session:
            _, context = await rendering.build(
                session, Catalog.load(default_language=event.default_language), event, now or utcnow()
            )
    finally:
        await db.dispose()
    html = rendering.render_html(context, stylesheet_href=rendering.STYLESHEET.name)
    return rendering.render_pdf(html), html


def write_report(pdf: bytes, html: str, out: Path) -> Path:
    """Write the PDF to `out`, the HTML page beside it (`.html`) with its stylesheet; returns the page."""
    from web.report import STYLESHEET

    out.write_bytes(pdf)
    page = out.with_suffix(".html")
    page.write_text(html, encoding="utf-8")
    (page.parent / STYLESHEET.name).write_bytes(STYLESHEET.read_bytes())
    return page


def describe_plan(plan: retention.Plan) -> list[str]:
    """What `hackbot purge --dry-run` prints: the due date, then rows per table."""
    lines = [f"personal data due for deletion at {plan.due_at.isoformat()}"]
    if plan.done_at is not None:
        lines.append(f"already deleted at {plan.done_at.isoformat()}")
    lines.append(f"participants: {plan.participants}")
    lines += [f"  {table}: {count} row(s)" for table, count in sorted(plan.tables.items())]
    lines.append(f"total: {plan.rows} row(s); the report's figures are kept")
    return lines


async def dry_run(settings: Settings, event: EventConfig) -> retention.Plan:
    """What a purge would delete now (nothing is changed)."""
    db = await _open(settings)
    try:
        async with db.read() as session:
            return await retention.plan(session, event)
    finally:
        await db.dispose()


async def purge_now(settings: Settings, event: EventConfig) -> retention.Progress:
    """Delete the personal data now (the figures of the report are stored first)."""
    from schedule.retention import purge

    db = await _open(settings)
    try:
        return await purge(db, event, utcnow)
    finally:
        await db.dispose()


async def archive(settings: Settings, event: EventConfig) -> bytes:
    """The archive (CSV files and the report) as zip bytes."""
    from web.archive import build_archive

    db = await _open(settings)
    try:
        async with db.read() as session:
            return await build_archive(
                session, Catalog.load(default_language=event.default_language), event, utcnow()
            )
    finally:
        await db.dispose()
