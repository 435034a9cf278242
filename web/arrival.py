"""The dashboard's arrivals page: the headcount, arrivals over time, the list, its CSV and the badges PDF.

Organisers only. The figures come from `models.arrival.headcount` for today (event timezone); the
badges PDF is the same as `hackbot badges` (`bot.badges`), with links to this bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.badges import event_badges_pdf
from models import arrival
from web import charts, exports

if TYPE_CHECKING:
    from web.dashboard import Dashboard, Request

log = logging.getLogger(__name__)

CSV_PATH = "/arrivals/list.csv"
BADGES_PATH = "/arrivals/badges.pdf"


async def page(session: AsyncSession, req: Request) -> dict[str, Any]:
    """The page's figures, chart and list (today, event timezone)."""
    today = req.event.local(req.now).date()
    count = await arrival.headcount(session, today)
    arrived = [person for person in count.attendees if person.arrived_at is not None]
    return {
        "count": count,
        "arrived": arrived,
        "waiting": count.not_arrived,
        "day": today.strftime("%d/%m/%Y"),
        "csv_path": CSV_PATH,
        "badges_path": BADGES_PATH,
        "timeline_chart": charts.cumulative_chart(
            [person.arrived_at for person in arrived if person.arrived_at is not None],
            title=req.t("arrivals.chart_time"),
            chart_id="chart-arrivals-time",
            tz=req.event.tz,
            until=req.now,
        ),
    }


def status(req: Request, person: arrival.Attendee) -> str:
    """In the building, left, or not arrived, in words."""
    if person.arrived_at is None:
        return req.t("arrivals.status_waiting")
    return req.t("arrivals.status_present") if person.left_at is None else req.t("arrivals.status_left")


async def csv_rows(session: AsyncSession, req: Request) -> tuple[list[str], list[list[Any]]]:
    """Today's list: everyone who arrived, then who did not."""
    today = req.event.local(req.now).date()
    count = await arrival.headcount(session, today)
    columns = ("name", "role", "team", "status", "arrived_at", "left_at", "walk_in")
    header = [req.t(f"arrivals.csv_{column}") for column in columns]
    rows: list[list[Any]] = [
        [
            person.name,
            req.role_label(person.role),
            req.challenge_title(person.challenge_id) if person.challenge_id else "",
            status(req, person),
            req.local(person.arrived_at, "%H:%M") if person.arrived_at else "",
            req.local(person.left_at, "%H:%M") if person.left_at else "",
            req.t("arrivals.word_yes") if person.walk_in else "",
        ]
        for person in count.attendees
    ]
    return header, rows


def add_routes(dashboard: Dashboard, router: web.UrlDispatcher, request_type: type[Request]) -> None:
    """The CSV and the badges PDF (the page itself is one of the dashboard's pages).

    `request_type` is the dashboard's `Request` (passed in: this module is imported by the dashboard).
    """

    async def organiser(request: web.Request) -> Request | web.Response:
        viewer = await dashboard._viewer(request)
        if viewer is None:
            return dashboard._message(request, 401, "signed_out")
        if not viewer.is_organiser:
            return dashboard._message(request, 403, "forbidden")
        return request_type(viewer, dashboard._lang(request), dashboard.services.now(), dashboard.services)

    async def csv(request: web.Request) -> web.StreamResponse:
        req = await organiser(request)
        if isinstance(req, web.Response):
            return req
        async with dashboard.services.db.read() as session:
            header, rows = await csv_rows(session, req)
        body = exports.to_csv(
            header, rows, delimiter=exports.delimiter_for(req.lang), decimal=exports.decimal_for(req.lang)
        )
        log.info("dashboard: arrivals export downloaded by %s", req.viewer.telegram_id)
        return web.Response(
            body=body,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="arrivals.csv"'},
        )

    async def badges(request: web.Request) -> web.StreamResponse:
        req = await organiser(request)
        if isinstance(req, web.Response):
            return req
        services = dashboard.services
        bot_username = dashboard.server.application.bot.username
        body = await event_badges_pdf(services.db, services.event, services.catalog, bot_username)
        log.info("dashboard: badges downloaded by %s", req.viewer.telegram_id)
        return web.Response(
            body=body,
            content_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="badges.pdf"'},
        )

    router.add_get(CSV_PATH, csv)
    router.add_get(BADGES_PATH, badges)


async def meal_presence(
    session: AsyncSession, req: Request
) -> Callable[[datetime | None], tuple[str, int] | None]:
    """For the meals page: beside a meal's RSVPs, who is present (today: now; past days: who came)."""
    today = req.event.local(req.now).date()
    days = req.event.arrival_days()
    counts = await arrival.presence_by_day(session, [*days, today], today)

    def presence(start: datetime | None) -> tuple[str, int] | None:
        if start is None:
            return None
        day = req.event.local(start).date()
        if day > today:
            return None
        label = req.t("arrivals.meal_present") if day == today else req.t("arrivals.meal_came")
        return label, counts.get(day, 0)

    return presence
