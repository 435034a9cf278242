"""The archive organisers download before the purge: the event's CSV files and its report, in one zip.

CSV files are written like the dashboard's exports (`web.exports`: BOM, the language's separator,
no formula injection), headed in the event's language: participants, teams, meals, questions
(times only, as on the dashboard) and the anonymous survey answers. The report is there as PDF
and as HTML. Personal data leaves the database in this file: the dashboard and the command line
offer it to organisers only, and nothing keeps a copy.
"""

from __future__ import annotations

import asyncio
import io
import logging
import zipfile
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Catalog
from models import dashboard, meals, survey
from schedule.config import EventConfig
from web import exports
from web import report as rendering

if TYPE_CHECKING:
    from web.dashboard import Dashboard

log = logging.getLogger(__name__)

FMT = "%Y-%m-%d %H:%M"


async def build_archive(session: AsyncSession, catalog: Catalog, event: EventConfig, now: datetime) -> bytes:
    """The zip: `participants.csv`, `teams.csv`, `meals.csv`, `questions.csv`, `survey.csv`, the report."""
    lang = event.default_language
    delimiter, decimal = exports.delimiter_for(lang), exports.decimal_for(lang)

    def head(*columns: str) -> list[str]:
        return [catalog.label(lang, f"dashboard.csv.{column}") for column in columns]

    def local(at: datetime | None) -> str:
        return event.local(at).strftime(FMT) if at is not None else ""

    def title(challenge_id: str | None) -> str:
        return event.challenge_title(lang, challenge_id) if challenge_id else ""

    files: dict[str, bytes] = {}
    participants = await dashboard.participant_rows(session)
    files["participants.csv"] = exports.to_csv(
        head("name", "role", "language", "registered_at", "team"),
        [
            [
                row.display_name,
                event.role_label(lang, row.role or "") or row.role,
                row.language,
                local(row.registered_at),
                title(row.challenge_id),
            ]
            for row in participants
        ],
        delimiter=delimiter,
        decimal=decimal,
    )
    figures, context = await rendering.build(session, catalog, event, now)
    files["teams.csv"] = exports.to_csv(
        [*head("team", "members"), catalog.label(lang, "report.project")],
        [[team.title, team.members, team.project or ""] for team in figures.teams],
        delimiter=delimiter,
        decimal=decimal,
    )
    diet_ids = [option.id for option in event.dietary_options]
    files["meals.csv"] = exports.to_csv(
        [
            *head("meal", "attending", "not_attending", "no_answer"),
            *(option.label.get(lang, lang) for option in event.dietary_options),
            *head("allergies"),
        ],
        [
            [
                meal.name.get(lang, lang) if (meal := event.meal(counts.meal_id)) else counts.meal_id,
                counts.attending,
                counts.not_attending,
                counts.no_answer,
                *(counts.diets.get(diet, 0) for diet in diet_ids),
                " | ".join(counts.allergies),
            ]
            for counts in await meals.meal_report(session, event)
        ],
        delimiter=delimiter,
        decimal=decimal,
    )
    files["questions.csv"] = exports.to_csv(
        head("ticket", "team", "state", "asked_at", "answered_at", "closed_at", "claimed_by"),
        [
            [
                row.ticket_id,
                title(row.challenge_id),
                row.state,
                local(row.asked_at),
                local(row.answered_at),
                local(row.closed_at),
                row.claimed_by_name or "",
            ]
            for row in await dashboard.question_rows(session)
        ],
        delimiter=delimiter,
        decimal=decimal,
    )
    answers = await session.scalars(select(survey.SurveyAnswer).order_by(survey.SurveyAnswer.question_id))
    files["survey.csv"] = exports.to_csv(
        ["question", "scale", "choice", "comment", "quote_allowed"],
        [
            [
                a.question_id,
                a.scale,
                a.choice,
                a.comment,
                "" if a.quote_allowed is None else int(a.quote_allowed),
            ]
            for a in answers
        ],
        delimiter=delimiter,
        decimal=decimal,
    )
    html = rendering.render_html(context, stylesheet_href=rendering.STYLESHEET.name)
    files["report.html"] = html.encode("utf-8")
    files["report.css"] = rendering.STYLESHEET.read_bytes()
    files["report.pdf"] = await asyncio.to_thread(rendering.render_pdf, html)  # CPU: off the event loop
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{event.id}/{name}", data)
    return buffer.getvalue()


def add_routes(dashboard: Dashboard, router: web.UrlDispatcher) -> None:
    """`/export/archive.zip`, for organisers only."""

    async def archive(request: web.Request) -> web.StreamResponse:
        who = await rendering.organiser(dashboard, request)
        if isinstance(who, web.Response):
            return who
        services = dashboard.services
        async with services.db.read() as session:
            body = await build_archive(session, services.catalog, services.event, services.now())
        log.info("dashboard: archive downloaded by %s", who)
        return web.Response(
            body=body,
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{services.event.id}-archive.zip"'},
        )

    router.add_get("/export/archive.zip", archive)
