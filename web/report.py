"""The impact report rendered: an HTML page (the dashboard shows it) and the same page as a PDF.

The figures come from `models.report` (`figures_for`: the live tables, or the snapshot kept
after the purge); this module only words and draws them, in the event's language, with the
dashboard's SVG charts (`web.charts`). The PDF is that HTML printed by WeasyPrint (a maintained
HTML/CSS-to-PDF library that draws inline SVG), with `static/report.css` as its stylesheet.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Catalog
from models import report
from models.report import ReportFigures
from schedule.config import EventConfig
from web import charts

if TYPE_CHECKING:
    from web.dashboard import Dashboard

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STYLESHEET = WEB_DIR / "static" / "report.css"
SMALL_GROUP = 3
"""Profile answers given by fewer people than this are merged into "other": a rare town or centre
next to a role could point at one person."""


@dataclass(frozen=True)
class PurgeState:
    """Whether the personal data is already gone (and when), for the data-protection paragraph."""

    done_at: datetime | None


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def duration(catalog: Catalog, lang: str, seconds: float | None) -> str:
    """`45 s`, `4 min 30 s`, `1 h 05 min`; a dash when there is nothing to measure."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return catalog.label(lang, "report.duration_s", s=total)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        key = "report.duration_m" if secs == 0 else "report.duration_ms"
        return catalog.label(lang, key, m=minutes, s=secs)
    hours, minutes = divmod(minutes, 60)
    return catalog.label(lang, "report.duration_h", h=hours, m=f"{minutes:02d}")


def _rows(counts: dict[str, int], labels: dict[str, str], chart: str) -> list[charts.BarRow]:
    colour = charts.PALETTE[0]
    return [
        charts.BarRow(
            label=labels.get(key, key),
            segments=[charts.Segment(labels.get(key, key), value, colour)],
            key=f"{chart}:{key}",
        )
        for key, value in counts.items()
    ]


def merge_small_groups(counts: dict[str, int], other: str) -> dict[str, int]:
    """Groups of fewer than `SMALL_GROUP` people are added up under `other`."""
    kept = {key: n for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= SMALL_GROUP}
    rest = sum(n for n in counts.values() if n < SMALL_GROUP)
    if rest:
        kept[other] = rest
    return kept


def _day_label(catalog: Catalog, lang: str, iso_day: str) -> str:
    from bot.display import date_label

    return str(date_label(catalog, lang, datetime.fromisoformat(iso_day).date()))


def context_for(
    catalog: Catalog, event: EventConfig, figures: ReportFigures, purge: PurgeState, now: datetime
) -> dict[str, Any]:
    """Everything the template shows, worded in the event's language."""
    lang = event.default_language

    def t(key: str, **params: object) -> Markup:
        # Catalog texts are Telegram HTML with every parameter escaped: safe to put in the page.
        return Markup(str(catalog.text(lang, f"report.{key}", **params)))  # noqa: S704

    start, end = event.local(event.start), event.local(event.end)
    dates = _day_label(catalog, lang, start.date().isoformat())
    if end.date() != start.date():
        dates += " – " + _day_label(catalog, lang, end.date().isoformat())
    roles = {role.id: role.label.get(lang, lang) for role in event.roles}
    diets = {option.id: option.label.get(lang, lang) for option in event.dietary_options}
    present = figures.present_per_day
    charts_by_role = charts.bar_chart(
        _rows(figures.by_role, roles, "role"), title=str(t("by_role")), chart_id="report-roles"
    )
    profile_charts = []
    for question_id, counts in figures.profile.items():
        asked = next((q for q in event.profile_questions if q.id == question_id), None)
        if asked is None or not counts:
            continue
        merged = merge_small_groups(counts, str(t("profile_other", count=SMALL_GROUP)))
        wording = asked.text.get(lang, lang)
        chart = charts.bar_chart(
            _rows(merged, {}, question_id), title=wording, chart_id=f"report-{question_id}"
        )
        profile_charts.append((question_id, wording, chart))
    survey_blocks = []
    settings = event.survey
    if figures.survey is not None and settings is not None:
        for result in figures.survey.questions:
            question = settings.question(result.question_id)
            if question is None:
                continue
            labels = {c.id: c.label.get(lang, lang) for c in question.choices}
            chart = (
                charts.bar_chart(
                    _rows(result.counts, labels, result.question_id),
                    title=question.text.get(lang, lang),
                    chart_id=f"report-survey-{result.question_id}",
                )
                if result.kind != "text"
                else Markup("")
            )
            survey_blocks.append(
                {
                    "id": result.question_id,
                    "kind": result.kind,
                    "text": question.text.get(lang, lang),
                    "answers": result.answers,
                    "mean": None
                    if result.mean is None
                    else f"{result.mean:.1f}".replace(".", "," if lang == "fr" else "."),
                    "chart": chart,
                    "quotes": result.quotes,
                }
            )
    meals = [
        {
            "name": (meal.name.get(lang, lang) if (meal := event.meal(m.meal_id)) is not None else m.meal_id),
            "figures": m,
            "diets": ", ".join(
                f"{diets.get(d, d)} : {n}" if lang == "fr" else f"{diets.get(d, d)}: {n}"
                for d, n in m.diets.items()
                if n
            )
            or str(t("diet_none")),
        }
        for m in figures.meals
    ]
    questions = figures.questions
    from bot.display import number

    return {
        "lang": lang,
        "t": t,
        # Figures in tables and key boxes: "1 300" in French, "1,300" in English.
        "n": lambda value: number(lang, int(value)),
        "event_name": event.name.get(lang, lang),
        "subtitle": t("subtitle", event=event.name.get(lang, lang), dates=dates, venue=event.venue.name),
        "generated": t("generated", date=now.astimezone(event.tz).strftime("%d/%m/%Y")),
        "snapshot_note": t("from_snapshot", date=event.local(figures.taken_at).strftime("%d/%m/%Y"))
        if purge.done_at is not None
        else None,
        "figures": figures,
        "present_days": [(_day_label(catalog, lang, day), n) for day, n in present.items()]
        if present
        else None,
        "present_max": max(present.values()) if present else None,
        "role_chart": charts_by_role,
        "profile_charts": profile_charts,
        "teams": figures.teams,
        "has_projects": any(team.project for team in figures.teams),
        "questions_line": t(
            "questions_line",
            asked=questions.asked,
            answered=questions.answered,
            median=duration(catalog, lang, questions.median_seconds),
            p90=duration(catalog, lang, questions.p90_seconds),
        )
        if questions.asked
        else t("questions_none"),
        "deliveries": [(str(t(f"group.{d.group}")), d) for d in figures.deliveries if d.messages],
        "meals": meals,
        "survey_blocks": survey_blocks,
        "privacy_line": t("privacy_done", date=event.local(purge.done_at).strftime("%d/%m/%Y"))
        if purge.done_at is not None
        else t(
            "privacy_pending",
            date=event.local(event.retention_until).strftime("%d/%m/%Y"),
            days=event.privacy.retention_days,
        ),
    }


def render_html(context: dict[str, Any], *, stylesheet_href: str | None = None) -> str:
    """The report as a standalone HTML page (`stylesheet_href`: the CSS link for a browser)."""
    template = _environment().get_template("report.html")
    return template.render(**context, stylesheet_href=stylesheet_href)


def render_pdf(html: str) -> bytes:
    """The page printed to PDF (A4), with the report's stylesheet."""
    from weasyprint import CSS, HTML

    pdf = HTML(string=html, base_url=str(WEB_DIR)).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
    assert pdf is not None
    return bytes(pdf)


async def build(
    session: AsyncSession, catalog: Catalog, event: EventConfig, now: datetime
) -> tuple[ReportFigures, dict[str, Any]]:
    """The figures (live or kept) and the page context, in one read."""
    from models import retention

    figures = await report.figures_for(session, event, now)
    row = await retention.purge_row(session, event)
    done_at = row.finished_at if row is not None and row.state == retention.Step.DONE else None
    return figures, context_for(catalog, event, figures, PurgeState(done_at), now)


# ---- on the dashboard --------------------------------------------------------------------------------


async def organiser(dashboard: Dashboard, request: web.Request) -> int | web.Response:
    """The organiser's Telegram id, or the dashboard's refusal (signed out: 401; facilitator: 403)."""
    viewer = await dashboard._viewer(request)
    if viewer is None:
        return dashboard._message(request, 401, "signed_out")
    if not viewer.is_organiser:
        return dashboard._message(request, 403, "forbidden")
    return viewer.telegram_id


def add_routes(dashboard: Dashboard, router: web.UrlDispatcher) -> None:
    """`/report` (the page) and `/report.pdf`, for organisers only."""

    async def page_and_context(request: web.Request) -> tuple[int, str] | web.Response:
        who = await organiser(dashboard, request)
        if isinstance(who, web.Response):
            return who
        services = dashboard.services
        async with services.db.read() as session:
            _, context = await build(session, services.catalog, services.event, services.now())
        return who, render_html(context, stylesheet_href="/static/report.css")

    async def page(request: web.Request) -> web.StreamResponse:
        found = await page_and_context(request)
        if isinstance(found, web.Response):
            return found
        return web.Response(text=found[1], content_type="text/html", charset="utf-8")

    async def pdf(request: web.Request) -> web.StreamResponse:
        found = await page_and_context(request)
        if isinstance(found, web.Response):
            return found
        who, html = found
        body = await asyncio.to_thread(render_pdf, html)  # a second of CPU: not on the event loop
        log.info("dashboard: report downloaded by %s", who)
        return web.Response(
            body=body,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{dashboard.services.event.id}-report.pdf"'
            },
        )

    router.add_get("/report", page)
    router.add_get("/report.pdf", pdf)
