"""The dashboard's results page: submissions with photos, feedback figures, jury progress, the ranking.

Organisers only. Everything comes from `models.results.board`; the final ranking (and the public's
votes) only once the organisers closed the jury's scoring, as in the bot. Photos stay on Telegram:
`/results/photo/<id>` fetches one through the bot. CSV exports: the projects, the feedback figures
per team and criterion, and the jury (progress while open; the ranking with each juror's mark once
closed). No feedback author is ever shown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import TelegramError

from models import results as rs
from web import exports

if TYPE_CHECKING:
    from web.dashboard import Dashboard, Request

log = logging.getLogger(__name__)

PHOTO_PATH = "/results/photo/{photo_id}"
CSV_PATHS = {
    "submissions": "/results/submissions.csv",
    "feedback": "/results/feedback.csv",
    "jury": "/results/jury.csv",
}


def _text(req: Request) -> Callable[..., str]:
    def rt(key: str, /, **params: object) -> str:
        return req.services.catalog.label(req.lang, f"results.web.{key}", **params)

    return rt


def _figure(req: Request, value: float, signed: bool = False) -> str:
    text = f"{value:+.2f}" if signed else f"{value:.2f}"
    return text.replace(".", ",") if req.lang == "fr" else text


async def page(session: AsyncSession, req: Request) -> dict[str, Any]:
    """The page's figures."""
    event = req.event
    found = await rs.board(session, event)
    jury = found.jury
    criteria = event.results.feedback_criteria
    complete = sum(
        1
        for juror in jury.jurors
        for cid in jury.teams
        if jury.progress.get(juror, {}).get(cid, 0) == jury.criteria and jury.criteria
    )
    return {
        "rt": _text(req),
        "figure": lambda value, signed=False: _figure(req, value, signed),
        "board": found,
        "criteria": [(c.id, c.label.get(req.lang, event.default_language)) for c in criteria],
        "submitted": sum(1 for team in found.teams if team.submitted_at is not None),
        "feedbacks": sum(team.feedbacks for team in found.teams),
        "jury_done": complete,
        "jury_total": len(jury.jurors) * len(jury.teams),
        "votes": sum(jury.votes.values()),
        "public_vote": event.results.public_vote,
        "juror_label": lambda juror: _juror(req, juror),
        "csv_paths": CSV_PATHS,
        "photo_path": lambda photo_id: PHOTO_PATH.format(photo_id=photo_id),
        "signed": event.results.normalisation == "zscore",
    }


def _juror(req: Request, juror: int) -> str:
    jurors = req.event.results.jurors
    number = jurors.index(juror) + 1 if juror in jurors else 0
    return f"{req.services.catalog.label(req.lang, 'results.web.juror')} {number}"


async def csv_rows(session: AsyncSession, req: Request, name: str) -> tuple[list[str], list[list[Any]]]:
    """One of the three exports, in the viewer's language."""
    rt = _text(req)
    event = req.event
    found = await rs.board(session, event)
    if name == "submissions":
        header = [
            rt("csv_position"),
            rt("team"),
            rt("csv_name"),
            rt("csv_description"),
            rt("link"),
            rt("csv_submitted_at"),
            rt("csv_photos"),
        ]
        rows: list[list[Any]] = [
            [
                "" if team.position is None else team.position + 1,
                req.challenge_title(team.challenge_id),
                team.name or "",
                team.description or "",
                team.link or "",
                req.local(team.submitted_at, "%d/%m %H:%M") if team.submitted_at else "",
                len(team.photo_ids),
            ]
            for team in found.teams
        ]
        return header, rows
    if name == "feedback":
        header = [rt("team"), rt("csv_criterion"), rt("mean"), rt("count")]
        rows = []
        for team in found.teams:
            rows.append([req.challenge_title(team.challenge_id), "", "", team.feedbacks])
            for criterion in event.results.feedback_criteria:
                mean, count = team.averages.get(criterion.id, (0.0, 0))
                rows.append(
                    [
                        req.challenge_title(team.challenge_id),
                        criterion.label.get(req.lang, event.default_language),
                        round(mean, 2),
                        count,
                    ]
                )
        return header, rows
    jury = found.jury
    if jury.ranking is None:
        header = [rt("juror"), rt("team"), rt("csv_value")]
        rows = [
            [
                _juror(req, juror),
                req.challenge_title(cid),
                f"{jury.progress.get(juror, {}).get(cid, 0)}/{jury.criteria}",
            ]
            for juror in jury.jurors
            for cid in jury.teams
        ]
        return header, rows
    header = [
        rt("rank"),
        rt("team"),
        rt("score"),
        rt("mean"),
        rt("jurors"),
        *(_juror(req, j) for j in jury.jurors),
    ]
    rows = [
        [
            line.rank if line.rank is not None else "",
            req.challenge_title(line.team),
            round(line.score, 4) if line.score is not None else "",
            round(line.raw_mean, 4) if line.raw_mean is not None else "",
            len(line.marks),
            *(round(line.marks[j], 4) if j in line.marks else "" for j in jury.jurors),
        ]
        for line in jury.ranking.teams
    ]
    return header, rows


def add_routes(dashboard: Dashboard, router: web.UrlDispatcher, request_type: type[Request]) -> None:
    """The exports and the photos (the page itself is one of the dashboard's pages).

    `request_type` is the dashboard's `Request` (passed in: this module is imported by the dashboard).
    """

    async def organiser(request: web.Request) -> Request | web.Response:
        viewer = await dashboard._viewer(request)
        if viewer is None:
            return dashboard._message(request, 401, "signed_out")
        if not viewer.is_organiser:
            return dashboard._message(request, 403, "forbidden")
        return request_type(viewer, dashboard._lang(request), dashboard.services.now(), dashboard.services)

    def export(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def csv(request: web.Request) -> web.StreamResponse:
            req = await organiser(request)
            if isinstance(req, web.Response):
                return req
            async with dashboard.services.db.read() as session:
                header, rows = await csv_rows(session, req, name)
            body = exports.to_csv(
                header, rows, delimiter=exports.delimiter_for(req.lang), decimal=exports.decimal_for(req.lang)
            )
            log.info("dashboard: results %s export downloaded by %s", name, req.viewer.telegram_id)
            return web.Response(
                body=body,
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="results-{name}.csv"'},
            )

        return csv

    async def photo(request: web.Request) -> web.StreamResponse:
        req = await organiser(request)
        if isinstance(req, web.Response):
            return req
        raw = request.match_info["photo_id"]
        file_id = None
        if raw.isdigit() and len(raw) <= 12:
            async with dashboard.services.db.read() as session:
                file_id = await rs.photo_file(session, int(raw))
        if file_id is None:
            return dashboard._message(request, 404, "not_found")
        try:
            telegram_file = await dashboard.server.application.bot.get_file(file_id)
            data = await telegram_file.download_as_bytearray()
        except TelegramError as exc:
            log.info("dashboard: photo %s not fetched (%s)", raw, exc.message)
            return dashboard._message(request, 404, "not_found")
        return web.Response(
            body=bytes(data), content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
        )

    for name, path in CSV_PATHS.items():
        router.add_get(path, export(name))
    router.add_get("/results/photo/{photo_id:\\d+}", photo)
