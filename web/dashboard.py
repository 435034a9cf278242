"""The organisers' dashboard: sign-in by link, server-rendered pages, live refresh, CSV exports.

Access: `/signin/<token>` (from `/dashboard` in Telegram) shows a button; pressing it redeems the
single-use link and sets an HttpOnly, SameSite session cookie. The GET does not redeem the link,
so a link preview or a prefetching browser cannot burn it. Without a valid session every page
answers 401 with a page saying how to get a link; facilitators get 403 on organiser pages.

Pages are Jinja2 templates with autoescaping: names typed by participants are escaped everywhere.
Each page is also served without its layout when the `X-Hackbot-Partial: 1` header is present;
`static/live.js` fetches that every few seconds and swaps the figures in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession

from models import challenges as challenge_store
from models import dashboard as store
from models import reachability
from models.meals import MealCounts
from models.questions import TicketState
from schedule.config import EventConfig, ProgrammeItem
from web import archive, charts, exports
from web import arrival as arrival_page
from web import report as report_page
from web import results as results_page

if TYPE_CHECKING:
    from bot.context import Services
    from web.server import WebServer

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

SESSION_COOKIE = "hackbot_session"
LANG_COOKIE = "hackbot_lang"
PARTIAL_HEADER = "X-Hackbot-Partial"
EXPORTS = ("participants", "teams", "meals", "questions")

ORGANISER_PAGES = (
    "overview",
    "registrations",
    "teams",
    "arrivals",
    "meals",
    "questions",
    "announcements",
    "results",
    "exports",
)
FACILITATOR_PAGES = ("teams", "questions")
_PATHS = {name: "/" if name == "overview" else f"/{name}" for name in ORGANISER_PAGES}

Builder = Callable[[AsyncSession, "Request"], Awaitable[dict[str, Any]]]

NARROW_NBSP = "\u202f"
# A space (or none) before ":", ";", "!" or "?" ending a word: French puts a narrow no-break space
# there. Times (12:30) and addresses (https://) are left alone: the sign is not followed by a space.
_FRENCH_PUNCTUATION = re.compile(r"(?<=[^\s\u202f])[ \u00a0]?([:;!?])(?=\s|$)")


def typography(lang: str, text: str) -> str:
    """`text` with the spacing rules of `lang` (French: "Présents : 4" with a narrow no-break space)."""
    if lang != "fr":
        return text
    return _FRENCH_PUNCTUATION.sub(NARROW_NBSP + r"\1", text)


def colon(lang: str, label: str) -> str:
    """`label` followed by a colon, spaced as `lang` wants it."""
    return label + (NARROW_NBSP + ":" if lang == "fr" else ":")


def purpose_label(t: Callable[..., str], catalog_has: Callable[[str], bool], purpose: str) -> str:
    """What a kind of outgoing message is for, in words ("broadcast" -> "Annonces")."""
    key = "announcements.purposes." + re.sub(r"[^a-z0-9]+", "_", purpose.lower())
    return t(key) if catalog_has(key) else t("announcements.purpose_other", purpose=purpose)


@dataclass(frozen=True)
class Request:
    """What a page needs to know about the request: who, in which language, when."""

    viewer: store.Viewer
    lang: str
    now: datetime
    services: Services

    @property
    def event(self) -> EventConfig:
        """The current event configuration."""
        return self.services.event

    def t(self, key: str, /, **params: object) -> str:
        """A dashboard text (plain: the template escapes it), with the language's typography."""
        return typography(self.lang, self.services.catalog.label(self.lang, f"dashboard.{key}", **params))

    def has_text(self, key: str) -> bool:
        """Whether the catalog has this dashboard text."""
        return f"dashboard.{key}" in self.services.catalog.keys(self.lang)

    def challenge_title(self, challenge_id: str | None, stored: dict[str, str] | None = None) -> str:
        """The challenge's title in our language (a removed challenge keeps its stored title or id)."""
        if challenge_id is None:
            return self.t("no_team")
        challenge = self.event.challenge(challenge_id)
        if challenge is not None:
            return challenge.title.get(self.lang, self.event.default_language)
        return (stored or {}).get(challenge_id, challenge_id)

    def role_label(self, role_id: str | None) -> str:
        """A registration role's label."""
        role = self.event.role(role_id) if role_id else None
        return role.label.get(self.lang, self.event.default_language) if role else self.t("no_role")

    def role_colour(self, role_id: str | None) -> str:
        """The same colour for a role on every chart."""
        ids = [role.id for role in self.event.roles]
        return charts.PALETTE[ids.index(role_id) % len(charts.PALETTE)] if role_id in ids else charts.GREY

    def diet_label(self, diet_id: str) -> str:
        """A dietary option's label."""
        option = self.event.dietary_option(diet_id)
        return option.label.get(self.lang, self.event.default_language) if option else diet_id

    def local(self, moment: datetime | None, fmt: str = "%d/%m %H:%M") -> str:
        """A time in the event's timezone."""
        return self.event.local(moment).strftime(fmt) if moment is not None else "—"

    def item_title(self, item: ProgrammeItem) -> str:
        """A programme item's title."""
        return item.title.get(self.lang, self.event.default_language)


def duration(value: timedelta | None) -> str:
    """A wait, short: `45 s`, `12 min`, `1 h 05`."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"


def redirect(location: str) -> web.Response:
    """A 303 "see other" answer (after a form, or to a facilitator's home page)."""
    return web.Response(status=303, headers={"Location": location})


def safe_next(path: str | None) -> str:
    """A local path to go back to after switching language (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class Dashboard:
    """Routes and views of the dashboard, bound to one web server."""

    def __init__(self, server: WebServer) -> None:
        """Load the templates."""
        self.server = server
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @property
    def services(self) -> Services:
        """The bot's services."""
        return self.server.services

    def add_routes(self, app: web.Application) -> None:
        """Register every dashboard route."""
        router = app.router
        pages: dict[str, tuple[Builder, bool]] = {
            "overview": (self._overview, True),
            "registrations": (self._registrations, True),
            "teams": (self._teams, False),
            "arrivals": (arrival_page.page, True),
            "meals": (self._meals, True),
            "questions": (self._questions, False),
            "announcements": (self._announcements, True),
            "results": (results_page.page, True),
            "exports": (self._exports, True),
        }
        for name, (builder, organisers_only) in pages.items():
            router.add_get(_PATHS[name], self._page_view(name, builder, organisers_only))
        router.add_get("/export/{name}.csv", self.export)
        arrival_page.add_routes(self, router, Request)
        results_page.add_routes(self, router, Request)
        report_page.add_routes(self, router)
        archive.add_routes(self, router)
        router.add_get("/signin/{token}", self.sign_in_page)
        router.add_post("/signin/{token}", self.sign_in)
        router.add_post("/signout", self.sign_out)
        router.add_get("/lang/{code}", self.set_language)
        router.add_static("/static", STATIC_DIR)

    # ---- who is asking -------------------------------------------------------------------------------

    def _lang(self, request: web.Request) -> str:
        event = self.services.event
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen in event.languages:
            return chosen
        for part in request.headers.get("Accept-Language", "").split(","):
            code = part.split(";")[0].strip().split("-")[0].lower()
            if code in event.languages:
                return code
        return event.default_language

    async def _viewer(self, request: web.Request) -> store.Viewer | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        async with self.services.db.read() as session:
            telegram_id = await store.session_user(session, cookie, self.services.now())
        return store.viewer_for(self.services.event, telegram_id) if telegram_id is not None else None

    # ---- rendering -----------------------------------------------------------------------------------

    def _t(self, lang: str) -> Callable[..., str]:
        catalog = self.services.catalog
        return lambda key, /, **params: typography(lang, catalog.label(lang, f"dashboard.{key}", **params))

    def _message(self, request: web.Request, status: int, key: str, **params: object) -> web.Response:
        lang = self._lang(request)
        if request.headers.get(PARTIAL_HEADER) == "1":
            return web.Response(status=status, text=str(status))
        body = self.templates.get_template("message.html").render(
            t=self._t(lang), lang=lang, key=key, params=params, event_name=self._event_name(lang)
        )
        return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")

    def _event_name(self, lang: str) -> str:
        event = self.services.event
        return event.name.get(lang, event.default_language)

    def _render(self, request: web.Request, page: str, req: Request, context: dict[str, Any]) -> web.Response:
        partial = request.headers.get(PARTIAL_HEADER) == "1"
        names = ORGANISER_PAGES if req.viewer.is_organiser else FACILITATOR_PAGES
        nav = [
            {"href": _PATHS[name], "label": req.t(f"{name}.nav"), "current": name == page} for name in names
        ]
        body = self.templates.get_template(f"{page}.html").render(
            **context,
            r=req,
            t=req.t,
            duration=duration,
            colon=lambda label: colon(req.lang, label),
            refresh_seconds=max(1, round(self.server.refresh_seconds)),
            lang=req.lang,
            languages=req.event.languages,
            nav=nav,
            page=page,
            path=request.path_qs,
            partial=partial,
            refresh_ms=int(self.server.refresh_seconds * 1000),
            event_name=self._event_name(req.lang),
            updated=req.local(req.now, "%H:%M:%S"),
            organiser=req.viewer.is_organiser,
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    def _page_view(
        self, page: str, builder: Builder, organisers_only: bool
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            viewer = await self._viewer(request)
            if viewer is None:
                return self._message(request, 401, "signed_out")
            if page == "overview" and not viewer.is_organiser:
                return redirect("/teams")
            if organisers_only and not viewer.is_organiser:
                return self._message(request, 403, "forbidden")
            req = Request(viewer, self._lang(request), self.services.now(), self.services)
            async with self.services.db.read() as session:
                context = await builder(session, req)
            return self._render(request, page, req, context)

        return view

    # ---- pages ---------------------------------------------------------------------------------------

    async def _overview(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        event = req.event
        registrations = await store.registration_figures(session)
        teams = await store.team_figures(session, [c.id for c in event.challenges])
        questions = await store.question_figures(session, req.now)
        current = [item for item in event.sorted_programme if item.start <= req.now < item.end]
        upcoming = [item for item in event.sorted_programme if item.start > req.now]
        return {
            "registrations": registrations,
            # Participants who blocked the bot: nothing reaches them (reminders, announcements).
            "unreachable": await reachability.unreachable_count(session),
            "checked_in": await store.checked_in_count(session),
            "in_teams": sum(team.members for team in teams),
            "places": sum(team.capacity for team in teams if not team.removed),
            "teamless": await store.teamless_count(session),
            "questions": questions,
            "current_items": current,
            "next_item": upcoming[0] if upcoming else None,
        }

    async def _registrations(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        figures = await store.registration_figures(session)
        role_ids: list[str | None] = [role.id for role in req.event.roles]
        role_ids += [role for role in figures.by_role if role not in role_ids]
        rows = [
            charts.BarRow(
                req.role_label(role),
                [charts.Segment(req.role_label(role), figures.by_role.get(role, 0), req.role_colour(role))],
                key=role or "",
            )
            for role in role_ids
        ]
        total = max(1, figures.registered)
        return {
            "figures": figures,
            "roles": [(row.key, row.label, row.total, round(100 * row.total / total)) for row in rows],
            "timeline_chart": charts.cumulative_chart(
                figures.registered_times,
                title=req.t("registrations.chart_time"),
                chart_id="chart-registrations-time",
                tz=req.event.tz,
                until=req.now,
            ),
            "role_chart": charts.bar_chart(
                rows, title=req.t("registrations.chart_roles"), chart_id="chart-roles"
            ),
        }

    async def _teams(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        event = req.event
        ids = list(req.viewer.challenge_ids)
        figures = await store.team_figures(session, ids)
        titles = await challenge_store.stored_titles(session, ids)
        known_roles = [role.id for role in event.roles]
        teams = []
        rows = []
        for figure in figures:
            title = req.challenge_title(figure.challenge_id, titles)
            order = [*known_roles, *(r for r in figure.roles if r not in known_roles)]
            mix = [
                (req.role_label(role), figure.roles[role], req.role_colour(role))
                for role in order
                if figure.roles.get(role)
            ]
            flags = challenge_store.balance_flags(figure.members, figure.capacity, figure.roles, known_roles)
            teams.append(
                {
                    "figure": figure,
                    "title": title,
                    "mix": mix,
                    "flags": [req.t(f"teams.flag_{flag}") for flag in flags],
                    "people": [
                        (person.display_name, req.role_label(person.role)) for person in figure.people
                    ],
                }
            )
            rows.append(
                charts.BarRow(
                    title,
                    [charts.Segment(label, count, colour) for label, count, colour in mix],
                    capacity=figure.capacity,
                    key=figure.challenge_id,
                )
            )
        legend = charts.Legend(
            [(req.role_label(role.id), req.role_colour(role.id)) for role in event.roles],
            frame=req.t("teams.chart_frame"),
        )
        return {
            "teams": teams,
            "teamless": await store.teamless_count(session) if req.viewer.is_organiser else None,
            "chart": charts.bar_chart(
                rows, title=req.t("teams.chart"), chart_id="chart-teams", legend=legend
            ),
        }

    async def _meals(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        event = req.event
        report = await store.meal_figures(session, event)
        by_id = {meal.id: meal for meal in event.meals}
        report.sort(
            key=lambda counts: (
                event.meal_window(by_id[counts.meal_id])[0] if counts.meal_id in by_id else req.now
            )
        )
        meals = []
        rows = []
        presence = await arrival_page.meal_presence(session, req)
        for counts in report:
            meal = by_id.get(counts.meal_id)
            name = meal.name.get(req.lang, event.default_language) if meal else counts.meal_id
            start = event.meal_window(meal)[0] if meal else None
            diets = self._diet_rows(req, counts)
            meals.append(
                {"counts": counts, "name": name, "start": start, "diets": diets, "present": presence(start)}
            )
            # The bar counts confirmed people only (what the caterer must serve); those who did not
            # answer are drawn apart, dashed, and not counted. Check-in adds "present" here.
            rows.append(
                charts.BarRow(
                    name,
                    [charts.Segment(req.t("meals.attending"), counts.attending, charts.PALETTE[1])],
                    key=counts.meal_id,
                    pending=counts.no_answer,
                    pending_label=req.t("meals.no_answer"),
                )
            )
        legend = charts.Legend(
            [(req.t("meals.attending"), charts.PALETTE[1])], pending=req.t("meals.chart_pending")
        )
        return {
            "meals": meals,
            "chart": charts.bar_chart(
                rows, title=req.t("meals.chart"), chart_id="chart-meals", legend=legend
            ),
        }

    @staticmethod
    def _diet_rows(req: Request, counts: MealCounts) -> list[tuple[str, str, int]]:
        ordered = [option.id for option in req.event.dietary_options]
        ordered += sorted(diet for diet in counts.diets if diet not in ordered)
        return [(diet, req.diet_label(diet), counts.diets.get(diet, 0)) for diet in ordered]

    async def _questions(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        figures = await store.question_figures(session, req.now)
        states = [TicketState.OPEN, TicketState.CLAIMED, TicketState.ANSWERED, TicketState.CLOSED]
        colours = [charts.PALETTE[4], charts.PALETTE[2], charts.PALETTE[1], charts.GREY]
        # A state's name agrees with its count: "1 Répondue", "2 Répondues".
        rows = [
            charts.BarRow(
                req.t(f"questions.state_{state}", count=figures.by_state.get(state, 0)),
                [
                    charts.Segment(
                        req.t(f"questions.state_{state}", count=figures.by_state.get(state, 0)),
                        figures.by_state.get(state, 0),
                        colour,
                    )
                ],
                key=str(state),
            )
            for state, colour in zip(states, colours, strict=True)
        ]
        return {
            "figures": figures,
            "states": [
                (
                    str(state),
                    req.t(f"questions.state_{state}", count=figures.by_state.get(state, 0)),
                    figures.by_state.get(state, 0),
                )
                for state in states
            ],
            "waiting": [
                {
                    "ticket": question,
                    "team": req.challenge_title(question.challenge_id),
                    "state": req.t(f"questions.state_{question.state}", count=1),
                    "wait": duration(max(timedelta(0), req.now - question.waiting_since)),
                }
                for question in figures.waiting
            ],
            "chart": charts.bar_chart(rows, title=req.t("questions.chart"), chart_id="chart-questions"),
        }

    async def _announcements(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        event = req.event
        figures = await store.broadcast_announcements(session) + await store.programme_announcements(session)
        figures.sort(key=lambda figure: figure.due_at, reverse=True)
        colours = {
            "sent": charts.PALETTE[1],
            "pending": charts.GREY,
            "failed": charts.PALETTE[4],
            "blocked": charts.PALETTE[2],
            "expired": charts.PALETTE[6],
        }
        items = []
        rows = []
        for index, figure in enumerate(figures):
            item = event.item(figure.subject) if figure.source == "programme" else None
            meal = event.meal(figure.subject) if figure.source == "programme" else None
            if item is not None:
                subject = req.item_title(item)
            elif meal is not None:
                subject = meal.name.get(req.lang, event.default_language)
            else:
                subject = figure.subject
            items.append(
                {"figure": figure, "subject": subject, "kind": req.t(f"announcements.kind_{figure.kind}")}
            )
            if index < 12:
                rows.append(
                    charts.BarRow(
                        f"{req.local(figure.due_at, '%d/%m %H:%M')} {subject}",
                        [
                            charts.Segment(
                                req.t(f"announcements.{name}"), getattr(figure.delivery, name), colour
                            )
                            for name, colour in colours.items()
                        ],
                        key=str(index),
                    )
                )
        legend = charts.Legend([(req.t(f"announcements.{name}"), colour) for name, colour in colours.items()])
        return {
            "items": items,
            "by_purpose": [
                (purpose, purpose_label(req.t, req.has_text, purpose), delivery)
                for purpose, delivery in (await store.delivery_by_purpose(session)).items()
            ],
            "chart": charts.bar_chart(
                rows, title=req.t("announcements.chart"), chart_id="chart-announcements", legend=legend
            ),
        }

    async def _exports(self, session: AsyncSession, req: Request) -> dict[str, Any]:
        del session
        return {"exports": EXPORTS, "delimiter": exports.delimiter_for(req.lang)}

    # ---- CSV -----------------------------------------------------------------------------------------

    async def export(self, request: web.Request) -> web.StreamResponse:
        """`GET /export/<name>.csv` (organisers only)."""
        viewer = await self._viewer(request)
        if viewer is None:
            return self._message(request, 401, "signed_out")
        if not viewer.is_organiser:
            return self._message(request, 403, "forbidden")
        name = request.match_info["name"]
        if name not in EXPORTS:
            return self._message(request, 404, "not_found")
        req = Request(viewer, self._lang(request), self.services.now(), self.services)
        async with self.services.db.read() as session:
            header, rows = await getattr(self, f"_csv_{name}")(session, req)
        body = exports.to_csv(
            header, rows, delimiter=exports.delimiter_for(req.lang), decimal=exports.decimal_for(req.lang)
        )
        log.info("dashboard: %s export downloaded by %s", name, viewer.telegram_id)
        return web.Response(
            body=body,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )

    async def _csv_participants(
        self, session: AsyncSession, req: Request
    ) -> tuple[list[str], list[list[Any]]]:
        header = [req.t(f"csv.{column}") for column in ("name", "role", "language", "registered_at", "team")]
        rows = [
            [
                row.display_name,
                req.role_label(row.role),
                row.language,
                req.local(row.registered_at, "%Y-%m-%d %H:%M"),
                req.challenge_title(row.challenge_id) if row.challenge_id else "",
            ]
            for row in await store.participant_rows(session)
        ]
        return header, rows

    async def _csv_teams(self, session: AsyncSession, req: Request) -> tuple[list[str], list[list[Any]]]:
        roles = [role.id for role in req.event.roles]
        ids = [challenge.id for challenge in req.event.challenges]
        titles = await challenge_store.stored_titles(session, ids)
        header = [req.t(f"csv.{column}") for column in ("team", "members", "capacity", "waiting")]
        header += [req.role_label(role) for role in roles]
        rows = [
            [
                req.challenge_title(figure.challenge_id, titles),
                figure.members,
                figure.capacity,
                figure.waiting,
                *(figure.roles.get(role, 0) for role in roles),
            ]
            for figure in await store.team_figures(session, ids)
        ]
        return header, rows

    async def _csv_meals(self, session: AsyncSession, req: Request) -> tuple[list[str], list[list[Any]]]:
        event = req.event
        diets = [option.id for option in event.dietary_options]
        header = [
            req.t(f"csv.{column}") for column in ("meal", "time", "attending", "not_attending", "no_answer")
        ]
        header += [req.diet_label(diet) for diet in diets] + [req.t("csv.allergies")]
        rows = []
        for counts in await store.meal_figures(session, event):
            meal = event.meal(counts.meal_id)
            rows.append(
                [
                    meal.name.get(req.lang, event.default_language) if meal else counts.meal_id,
                    req.local(event.meal_window(meal)[0], "%Y-%m-%d %H:%M") if meal else "",
                    counts.attending,
                    counts.not_attending,
                    counts.no_answer,
                    *(counts.diets.get(diet, 0) for diet in diets),
                    " | ".join(counts.allergies),
                ]
            )
        return header, rows

    async def _csv_questions(self, session: AsyncSession, req: Request) -> tuple[list[str], list[list[Any]]]:
        columns = (
            "ticket",
            "team",
            "state",
            "asked_at",
            "claimed_at",
            "answered_at",
            "closed_at",
            "minutes_to_answer",
            "claimed_by",
        )
        fmt = "%Y-%m-%d %H:%M"
        rows = [
            [
                row.ticket_id,
                req.challenge_title(row.challenge_id) if row.challenge_id else "",
                req.t(f"questions.state_{row.state}", count=1),
                req.local(row.asked_at, fmt),
                req.local(row.claimed_at, fmt) if row.claimed_at else "",
                req.local(row.answered_at, fmt) if row.answered_at else "",
                req.local(row.closed_at, fmt) if row.closed_at else "",
                round((row.answered_at - row.asked_at).total_seconds() / 60, 1) if row.answered_at else "",
                row.claimed_by_name or "",
            ]
            for row in await store.question_rows(session)
        ]
        return [req.t(f"csv.{column}") for column in columns], rows

    # ---- sign-in, sign-out, language -----------------------------------------------------------------

    async def sign_in_page(self, request: web.Request) -> web.Response:
        """`GET /signin/<token>`: a button to sign in (the link is not used up by merely opening it)."""
        token = request.match_info["token"]
        async with self.services.db.read() as session:
            valid = await store.sign_in_is_valid(session, self.server.sign_in_key, token, self.services.now())
        if not valid:
            return self._message(request, 401, "link_invalid")
        lang = self._lang(request)
        body = self.templates.get_template("signin.html").render(
            t=self._t(lang), lang=lang, action=request.path, event_name=self._event_name(lang)
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """`POST /signin/<token>`: use the link once and open a session."""
        token = request.match_info["token"]
        now = self.services.now()
        async with self.services.db.transaction() as session:
            telegram_id = await store.redeem_sign_in(session, self.server.sign_in_key, token, now)
            viewer = store.viewer_for(self.services.event, telegram_id) if telegram_id is not None else None
            cookie = (
                await store.open_session(session, viewer.telegram_id, now) if viewer is not None else None
            )
            await store.prune(session, now)
        if telegram_id is None:
            log.info("dashboard: expired, used or tampered sign-in link refused")
            return self._message(request, 401, "link_invalid")
        if viewer is None or cookie is None:
            log.info("dashboard: sign-in by %s refused (no longer organiser or facilitator)", telegram_id)
            return self._message(request, 403, "forbidden")
        log.info("dashboard: %s signed in as %s", viewer.telegram_id, viewer.role)
        response = redirect("/" if viewer.is_organiser else "/teams")
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(store.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=self.server.base_url.startswith("https://"),
            path="/",
        )
        return response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        """`POST /signout`: close the session."""
        async with self.services.db.transaction() as session:
            await store.close_session(session, request.cookies.get(SESSION_COOKIE))
        response = self._message(request, 200, "signed_out_done")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def set_language(self, request: web.Request) -> web.StreamResponse:
        """`GET /lang/<code>?next=/page`: remember the language, go back to the page."""
        code = request.match_info["code"]
        response = redirect(safe_next(request.query.get("next")))
        if code in self.services.event.languages:
            response.set_cookie(
                LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, path="/"
            )
        return response
