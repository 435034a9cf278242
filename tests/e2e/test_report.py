"""The impact report from a rehearsed event (100 people, 5 teams, questions, announcements, meals, survey).

The figures are checked against the database with queries of their own; the report is rendered to
PDF and every page to an image (`pdftoppm`, poppler-utils), its text read back (`pdftotext`) to
check it names no one; the first two pages are saved under `docs/screenshots/` for the README.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.i18n import Catalog
from models import broadcasts as bc
from models import challenges, meals, report, survey
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from models.profile import ProfileAnswer
from models.questions import QuestionTicket
from tests.e2e.survey_support import PROFILE_QUESTIONS, RARE_TOWN, event_ending_at, rehearse
from web import report as rendering

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) is not installed",
)


def pdf_pages(pdf: Path, out: Path) -> list[Path]:
    """Every page of `pdf` as a PNG (96 dpi), in order."""
    subprocess.run(["pdftoppm", "-png", "-r", "96", str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


def pdf_text(pdf: Path) -> str:
    """The text of the PDF, as a reader would copy it."""
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


async def test_report_figures_match_the_database(db: Database) -> None:
    """Every figure of the report, recomputed from the tables."""
    event = event_ending_at(utcnow() - timedelta(days=1), profile_questions=PROFILE_QUESTIONS)
    catalog = Catalog.load(default_language=event.default_language)
    await rehearse(db, event, catalog)
    async with db.read() as session:
        figures = await report.gather(session, event, utcnow())
        active = Participant.status == ParticipantStatus.ACTIVE
        registered = await session.scalar(select(func.count()).select_from(Participant).where(active))
        roles = {
            role: n
            for role, n in await session.execute(
                select(Participant.role, func.count()).where(active).group_by(Participant.role)
            )
        }
        members = Counter(await session.scalars(select(challenges.ChallengeMember.challenge_id)))
        tickets = list(await session.scalars(select(QuestionTicket)))
        states = Counter(
            (purpose, state)
            for purpose, state in await session.execute(
                select(OutgoingMessage.purpose, OutgoingMessage.state)
            )
        )
        answers = list(await session.scalars(select(survey.SurveyAnswer)))
        finished = await session.scalar(
            select(func.count())
            .select_from(survey.SurveyMark)
            .where(survey.SurveyMark.finished_at.is_not(None))
        )
        lunch_coming = await session.scalar(
            select(func.count())
            .select_from(meals.MealAnswer)
            .where(meals.MealAnswer.meal_id == "lunch", meals.MealAnswer.attending.is_(True))
        )
        broadcasts = await session.scalar(select(func.count()).select_from(bc.Broadcast))
    assert figures.registered == registered == 100
    assert figures.by_role == roles
    assert {team.challenge_id: team.members for team in figures.teams} == {
        challenge.id: members[challenge.id] for challenge in event.challenges
    }
    assert sum(team.members for team in figures.teams) + figures.without_team == 100
    assert sum(team.members for team in figures.teams) == sum(c.capacity for c in event.challenges)  # full
    answered = sorted(
        (t.answered_at - t.asked_at).total_seconds() for t in tickets if t.answered_at is not None
    )
    assert (figures.questions.asked, figures.questions.answered) == (len(tickets), len(answered)) == (20, 15)
    assert figures.questions.median_seconds == statistics.median(answered)
    assert figures.questions.p90_seconds == answered[13]  # nearest rank: ceil(0.9 x 15) = 14th
    announcements = next(d for d in figures.deliveries if d.group == "announcements")
    assert announcements.messages == sum(n for (p, _), n in states.items() if p == bc.PURPOSE_SEND) == 300
    assert announcements.delivered == states[(bc.PURPOSE_SEND, OutboxState.SENT)]
    assert announcements.blocked == states[(bc.PURPOSE_SEND, OutboxState.BLOCKED)] > 0
    assert figures.broadcasts == broadcasts == 3
    assert next(m for m in figures.meals if m.meal_id == "lunch").attending == lunch_coming
    assert figures.survey is not None
    assert figures.survey.invited == 100 and figures.survey.finished == finished == 70
    overall = next(q for q in figures.survey.questions if q.question_id == "overall")
    assert overall.counts == {
        str(v): sum(1 for a in answers if a.question_id == "overall" and a.scale == v) for v in range(1, 6)
    }
    comment = next(q for q in figures.survey.questions if q.question_id == "comment")
    assert comment.quotes == sorted(a.comment for a in answers if a.comment and a.quote_allowed)
    if (
        figures.present_per_day is not None
    ):  # check-in is there: 85 + 2 walk-ins, then 70 + the 2 walk-ins gone
        assert list(figures.present_per_day.values()) == [87, 70]
    programme_rows = sum(n for (p, _), n in states.items() if p == "prog.reminder")
    assert next(d for d in figures.deliveries if d.group == "reminders").messages == programme_rows > 0
    assert figures.survey.reminded == 30
    async with db.read() as session:
        towns = [
            a
            for a in await session.scalars(
                select(ProfileAnswer.answer).where(ProfileAnswer.question_id == "origin")
            )
        ]
    assert sum(figures.profile["origin"].values()) == sum(1 for town in towns if town is not None)
    assert next(n for town, n in figures.profile["origin"].items() if town.lower() == "roubaix") == sum(
        1 for town in towns if town and town.lower() == "roubaix"
    )
    assert sum(figures.profile["first-hackathon"].values()) == 100


@needs_poppler
async def test_report_renders_every_page_and_names_nobody(db: Database, tmp_path: Path) -> None:
    """PDF pages rendered to images; no name, id, question or private comment in it; pages 1-2 saved."""
    event = event_ending_at(utcnow() - timedelta(days=1), profile_questions=PROFILE_QUESTIONS)
    catalog = Catalog.load(default_language=event.default_language)
    seeded = await rehearse(db, event, catalog)
    async with db.read() as session:
        figures, context = await rendering.build(session, catalog, event, utcnow())
    html = rendering.render_html(context)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(rendering.render_pdf(html))
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 2
    assert all(page.stat().st_size > 10_000 for page in pages)  # drawn, not blank
    text = pdf_text(pdf)
    for team in figures.teams:
        assert team.title.split()[0] in text
    assert "Bilan de l'événement" in text and "100" in text
    for quote in seeded.quotes:
        assert quote in html
    everything = html + text
    for secret in [
        *seeded.names,
        *seeded.private_texts,
        *(str(i) for i in seeded.telegram_ids),
        "Facilitatrice",
    ]:
        assert secret not in everything, secret
    assert "Roubaix" in html and RARE_TOWN not in html  # a town given by too few people is not shown
    assert "Autres réponses (moins de 3 personnes chacune)" in html
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(pages[:2], start=1):
        shutil.copyfile(page, SCREENSHOTS / f"report-page-{number}.png")


async def test_report_of_an_event_with_nobody(db: Database) -> None:
    """No one registered: the report says so with zeros, and still renders."""
    event = event_ending_at(utcnow() - timedelta(days=1))
    catalog = Catalog.load(default_language=event.default_language)
    async with db.read() as session:
        figures, context = await rendering.build(session, catalog, event, utcnow())
    assert figures.registered == 0 and figures.questions.asked == 0
    html = rendering.render_html(context)
    assert "0 personne inscrite" in html
    assert rendering.render_pdf(html).startswith(b"%PDF")


async def test_report_groups_thousands_the_french_way(db: Database) -> None:
    """1,300 registered people read "1 300" in the key figures (a narrow no-break space), not "1300"."""
    event = event_ending_at(utcnow() - timedelta(days=1))
    catalog = Catalog.load(default_language=event.default_language)
    async with db.read() as session:
        figures, context = await rendering.build(session, catalog, event, utcnow())
    context["figures"] = dataclasses.replace(figures, registered=1300)
    html = rendering.render_html(context)
    assert '<div class="key" data-figure="registered"><b>1\u202f300</b>' in html
    assert ">1300<" not in html
