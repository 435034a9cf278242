"""Helpers for the after-event tests (no tests here): an event that just ended, people who came,
and a whole rehearsed event (`rehearse`) for the report and the purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

try:  # check-in may not be installed: the rehearsal then has none
    from models import arrival
except ImportError:  # pragma: no cover
    arrival = None  # type: ignore[assignment]

from models import broadcasts as bc
from models import challenges, meals, profile, programme, question_flows, questions, registration, survey
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage, Texts
from models.participant import Participant, ParticipantStatus
from schedule.config import EventConfig, ProfileQuestion, QuietHours, SurveySettings
from simulator import Simulator, SimUser
from tests.support.harness import bundled_event

CONSENT_VERSION = bundled_event().privacy.version


def event_ending_at(end: datetime, **changes: object) -> EventConfig:
    """The bundled event moved so that it ends at `end` (quiet hours off unless given)."""
    event = bundled_event()
    moved = event.shifted_to(event.start + (end - event.end))
    changes.setdefault("quiet_hours", QuietHours(enabled=False))
    return moved.model_copy(update=changes)


PROFILE_QUESTIONS = [
    ProfileQuestion.model_validate(
        {
            "id": "origin",
            "kind": "text",
            "text": {"fr": "De quel centre social ou de quelle ville venez-vous ?"},
        }
    ),
    ProfileQuestion.model_validate(
        {
            "id": "first-hackathon",
            "kind": "choice",
            "text": {"fr": "Est-ce votre premier hackathon ?"},
            "choices": [
                {"id": "yes", "label": {"fr": "Oui, le premier"}},
                {"id": "no", "label": {"fr": "Non"}},
            ],
        }
    ),
]
"""The funders' questions, as the bundled event file has them (commented out)."""


def survey_settings(**changes: object) -> SurveySettings:
    """The bundled survey (four questions: two scales, a choice, an optional comment)."""
    settings = bundled_event().survey
    assert settings is not None
    return settings.model_copy(update=changes)


async def people(
    sim: Simulator,
    db: Database,
    count: int,
    *,
    prefix: str = "P",
    registered_at: datetime | None = None,
    status: ParticipantStatus = ParticipantStatus.ACTIVE,
    lang: str = "fr",
) -> list[SimUser]:
    """Participants who started the bot; registered at `registered_at` (default: a day ago)."""
    users = [sim.add_user(first_name=f"{prefix}{index}", language_code=lang) for index in range(count)]
    at = registered_at or utcnow() - timedelta(days=1)
    for user in users:
        user.account.started_bots.add(sim.bot.id)
    async with db.transaction() as session:
        session.add_all(
            Participant(
                telegram_id=user.id,
                display_name=user.first_name,
                language=lang,
                role="resident" if status is ParticipantStatus.ACTIVE else None,
                consent_version=CONSENT_VERSION,
                consent_given_at=at,
                registered_at=at if status is ParticipantStatus.ACTIVE else None,
                status=status,
            )
            for user in users
        )
    return users


# ---- a rehearsed event: what the report and the purge are tested on -------------------------------

ROLES = ("resident", "volunteer", "staff", "student", "partner")
SECRET_QUESTION = "Question privée n°{index} : mon fils peut-il venir ?"
PRIVATE_COMMENT = "Commentaire privé n°{index}, à ne pas citer"
QUOTABLE_COMMENT = "Un week-end formidable, édition n°{index}"
ALLERGY = "allergie secrète {index}"
ANNOUNCEMENT = "Annonce n°{index} : le bus part à 18 h"
TOWNS = (
    "Roubaix",
    "roubaix",
    "Tourcoing",
    "Centre social Fresnoy",
    "Lille",
    "Wattrelos",
    "Croix",
    "Hem",
    "Lys",
)
"""Typed answers: the same town in two spellings counts once."""
RARE_TOWN = "Leers"
"""Given by two people only: merged into "other answers" in the report."""
SCALE_ANSWERS = (5, 4, 5, 3, 4, 5, 4, 2, 5, 4, 4, 5, 3, 1)


@dataclass
class Rehearsal:
    """What was seeded: who (Telegram ids, names) and what they wrote, for the scans."""

    event: EventConfig
    telegram_ids: list[int]
    names: list[str]
    private_texts: list[str]
    quotes: list[str]
    staff_id: int


async def rehearse(
    db: Database, event: EventConfig, texts: Texts, *, count: int = 100, first_id: int = 7_000_000
) -> Rehearsal:
    """100 people registered, 5 teams, meals, questions answered, announcements, the survey answered.

    Written with the domain functions, at the times they would have happened (before and during
    the event); the outbox rows are then marked as the sender would have (most delivered, a few
    blocked or failed).
    """
    assert event.survey is not None
    before, during = event.start - timedelta(days=2), event.team_picking_window[0] + timedelta(minutes=5)
    staff_id = first_id - 1
    ids = [first_id + index for index in range(count)]
    names = [f"Prénom{index:03d} Nomdefamille" for index in range(count)]
    private: list[str] = []
    quotes: list[str] = []
    async with db.transaction() as session:
        people = []
        for index, (telegram_id, name) in enumerate(zip(ids, names, strict=True)):
            person = await registration.give_consent(
                session,
                telegram_id=telegram_id,
                first_name=name,
                language="fr" if index % 5 else "en",
                consent_version=CONSENT_VERSION,
                now=before + timedelta(minutes=index),
            )
            registration.set_display_name(person, name)
            registration.set_role(
                person, ROLES[index % len(ROLES)], before + timedelta(minutes=index, seconds=30)
            )
            people.append(person)
        await session.flush()
        await challenges.sync_with_event(session, event, texts, before)
        for index, person in enumerate(people[:90]):
            await challenges.join(session, person.id, event.challenges[index % 5].id, during, event=event)
        allowed = meals.diet_ids(event)
        for index, person in enumerate(people):
            if index % 4 == 0:
                await meals.toggle_diet(session, person.id, "vegetarian", allowed)
            if index % 9 == 0:
                await meals.toggle_diet(session, person.id, "halal", allowed)
            if index % 25 == 0:
                private.append(ALLERGY.format(index=index))
                await meals.set_allergy(session, person, private[-1])
            for meal in event.meals:
                if index % 10 != 9:
                    await meals.set_answer(session, person.id, meal.id, index % 7 != 0)
    async with db.transaction() as session:  # the funders' questions, when the event asks them
        for index, person in enumerate(people):
            for question in event.profile_questions:
                if question.kind == "choice":
                    value: str | None = question.choices[index % 3 % len(question.choices)].id
                else:
                    value = (
                        RARE_TOWN if index in (5, 13) else TOWNS[index % len(TOWNS)] if index % 8 else None
                    )
                await profile.answer(session, person.id, question.id, value, event)
    days = event.days()
    async with db.transaction() as session:
        if arrival is not None:  # check-in exists: most came on the first day, fewer on the second
            for index, telegram_id in enumerate(ids[:85]):
                day = days[0]
                await arrival.check_in_after_registration(
                    session, telegram_id, day, event.start + timedelta(minutes=index)
                )
                if index % 6 != 0:
                    await arrival.check_in_after_registration(
                        session, telegram_id, days[-1], event.end - timedelta(hours=8, minutes=-index)
                    )
            for index in range(2):
                names.append(f"Visiteuse{index} Sanstelegram")
                await arrival.register_walk_in(session, names[-1], days[0], event.start + timedelta(hours=1))
        await programme.sync_programme(session, event, now=before, announce_changes=None)
        batches = list(await session.scalars(select(programme.NotificationBatch)))
        for batch in batches:
            recipients = [programme.Recipient(p.id, p.telegram_id, p.language) for p in people]
            await programme.queue_batch(
                session,
                batch,
                [(r, f"Rappel {batch.subject_id}") for r in recipients],
                now=batch.due_at,
                send_from=batch.due_at,
                expires_at=batch.expires_at,
            )
    for index in range(20):
        asked = during + timedelta(minutes=10 * index)
        question = SECRET_QUESTION.format(index=index)
        private.append(question)
        async with db.transaction() as session:
            asker = people[index * 3]
            fresh = await session.get(Participant, asker.id)
            assert fresh is not None
            ticket, _ = await questions.open_ticket(
                session,
                fresh,
                questions.Content(questions.ContentKind.TEXT, question, asker.telegram_id, 100 + index),
                challenge_id=event.challenges[index % 5].id,
                anonymous=False,
                now=asked,
            )
            if index < 15:
                await question_flows.answer(
                    session,
                    ticket_id=ticket.id,
                    post_id=None,
                    content=questions.Content(
                        questions.ContentKind.TEXT, f"Réponse {index}", staff_id, 500 + index
                    ),
                    staff_user_id=staff_id,
                    staff_name="Facilitatrice Réponse",
                    answer_html=None,
                    now=asked + timedelta(minutes=2 + index),
                    event=event,
                    texts=texts,
                )
    for index in range(3):
        async with db.transaction() as session:
            draft = await bc.start_draft(session, event.organisers[0], "fr", during)
            bc.set_content(draft, bc.Content(bc.ContentKind.TEXT, ANNOUNCEMENT.format(index=index)), during)
            bc.set_audience(draft, bc.Audience(bc.AudienceKind.ALL), during)
            await bc.confirm_draft(
                session, draft, progress_chat_id=event.organisers[0], progress_message_id=None, now=during
            )
    after = event.end + timedelta(hours=15)
    async with db.transaction() as session:
        await survey.invite(session, event, texts, after)
    for index, person in enumerate(people[:70]):
        async with db.transaction() as session:
            step = await survey.begin(session, person.id, event, after)
            while step.outcome in (survey.Outcome.ASK, survey.Outcome.ASK_QUOTE):
                if step.outcome is survey.Outcome.ASK_QUOTE:
                    step = await survey.decide_quote(session, person.id, index % 3 == 0, event, after)
                    continue
                question_asked = step.question
                assert question_asked is not None
                if question_asked.kind == "scale":
                    step = await survey.answer(
                        session,
                        person.id,
                        question_asked.id,
                        str(SCALE_ANSWERS[(index + step.number) % len(SCALE_ANSWERS)]),
                        event,
                        after,
                    )
                elif question_asked.kind == "choice":
                    choice = question_asked.choices[index % len(question_asked.choices)].id
                    step = await survey.answer(session, person.id, question_asked.id, choice, event, after)
                elif index % 5 == 0:
                    comment = (QUOTABLE_COMMENT if index % 3 == 0 else PRIVATE_COMMENT).format(index=index)
                    (quotes if index % 3 == 0 else private).append(comment)
                    step = await survey.give_comment(session, person.id, comment, event, after)
                else:
                    step = await survey.skip(session, person.id, question_asked.id, event, after)
    async with db.transaction() as session:
        await survey.remind(session, event, texts, after + timedelta(days=1))
    async with db.transaction() as session:
        rows = list(await session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id)))
        for position, row in enumerate(rows):
            row.state = (
                OutboxState.BLOCKED
                if position % 50 == 7
                else OutboxState.FAILED
                if position % 97 == 3
                else OutboxState.SENT
            )
    return Rehearsal(event, ids, names, private, sorted(quotes), staff_id)
