"""Organiser announcements end to end: `/annonce` through the simulator, on SQLite and PostgreSQL.

Recipients are created directly in the database (registration has its own tests); they "started"
the bot before, which is what Telegram requires for a bot to write to them. The organiser is not a
registered participant: organisers are listed by Telegram id in the event file.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from models import broadcasts as bc
from models import challenges as ch
from models import meals
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant, ParticipantStatus
from simulator import SimMessage, Simulator, SimUser
from tests.e2e.test_programme_support import MovableClock
from tests.support.harness import bundled_event, running_bot

CONSENT_VERSION = bundled_event().privacy.version
NEW = "Nouvelle annonce"
WHO = "À qui l'envoyer"


async def seed(
    sim: Simulator,
    db: Database,
    count: int,
    *,
    role: str = "resident",
    prefix: str = "P",
    status: ParticipantStatus = ParticipantStatus.ACTIVE,
) -> list[SimUser]:
    """Registered participants who started the bot earlier."""
    users = [sim.add_user(first_name=f"{prefix}{index}", language_code="fr") for index in range(count)]
    now = utcnow()
    for user in users:
        user.account.started_bots.add(sim.bot.id)
    async with db.transaction() as session:
        session.add_all(
            Participant(
                telegram_id=user.id,
                display_name=user.first_name,
                language="fr",
                role=role if status is ParticipantStatus.ACTIVE else None,
                consent_version=CONSENT_VERSION,
                consent_given_at=now,
                registered_at=now if status is ParticipantStatus.ACTIVE else None,
                status=status,
            )
            for user in users
        )
    return users


def labels(message: SimMessage) -> list[str]:
    return message.button_texts


def button_starting(message: SimMessage, prefix: str) -> str:
    found = [text for text in message.button_texts if text.startswith(prefix)]
    assert found, f"no button starting with {prefix!r}: {message.button_texts}"
    return found[0]


async def compose(organiser: SimUser, send: Any, *audience: str) -> SimMessage:
    """/annonce, send the content, press the audience buttons (prefixes); return the confirmation."""
    await organiser.send_text("/annonce")
    await organiser.wait_for_message(NEW)
    await send()
    menu = await organiser.wait_for_message(WHO)
    for prefix in audience:
        if not any(text.startswith(prefix) for text in menu.button_texts):
            await organiser.wait_for_edit(
                menu, lambda m, p=prefix: any(t.startswith(p) for t in m.button_texts)
            )
        await organiser.press(button_starting(menu, prefix), message=menu)
    return await organiser.wait_for_message("Destinataires")


async def broadcast_rows(db: Database, purpose: str = bc.PURPOSE_SEND) -> list[OutgoingMessage]:
    async with db.read() as session:
        return list(await session.scalars(select(OutgoingMessage).where(OutgoingMessage.purpose == purpose)))


def received(users: list[SimUser], needle: str) -> dict[int, int]:
    """How many bot messages containing `needle` each user has (deleted ones excluded)."""
    return {user.id: sum(1 for m in user.messages if needle in m.text) for user in users}


async def test_text_broadcast_reaches_everyone_blocked_are_reported_then_corrected(
    sim: Simulator, db: Database
) -> None:
    """Formatting kept, preview, exact count, everyone once, blocked listed by name; then a typo fixed."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    event = bundled_event(organisers=[organiser.id])
    people = await seed(sim, db, 5)
    hostile = (await seed(sim, db, 1, prefix="<b>Bob</b>&"))[0]
    hostile.block_bot()
    registering = await seed(sim, db, 1, prefix="R", status=ParticipantStatus.REGISTERING)
    body = "Le bus est là, devant l'entrée <maintenant> & vite"
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    async with running_bot(sim, db, event):
        confirm = await compose(
            organiser, lambda: organiser.send_text(body, entities=bold), "👥 Tout le monde"
        )
        preview = next(m for m in organiser.messages if m.text == body)
        assert preview.entities == bold  # exactly what recipients get, formatting included
        assert "Destinataires : 6" in confirm.text
        started = time.monotonic()
        await organiser.press("✅ Envoyer à 6 personnes", message=confirm)
        report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)
        elapsed = time.monotonic() - started

        assert received(people, body) == {user.id: 1 for user in people}
        assert all(m.entities == bold for user in people for m in user.messages)
        assert received(registering, body) == {registering[0].id: 0}
        assert "Reçue : 5" in report.text and "Ont bloqué le bot : 1" in report.text
        assert "Échecs : 0" in report.text
        assert elapsed < 10

        await organiser.press(button_starting(report, "👀 Qui ne l'a pas reçue (1)"), message=report)
        listing = await organiser.wait_for_message("ne l'ont pas reçue")
        assert "<b>Bob</b>&0 — a bloqué le bot" in listing.text  # shown literally, escaped on the way

        # A typo: corrected on every copy that arrived, with the new formatting.
        await organiser.press("✏️ Corriger le texte", message=report)
        await organiser.wait_for_message("texte corrigé")
        await organiser.wait_for_message(body)  # the current text, to copy
        fixed = "Le bus est là, devant la sortie <maintenant> & vite"
        italic = [{"type": "italic", "offset": 24, "length": 6}]
        await organiser.send_text(fixed, entities=italic)
        ask = await organiser.wait_for_message("Corriger l'annonce n°")
        assert "chez 5 personnes" in ask.text
        await organiser.press("✅ Corriger partout", message=ask)
        await organiser.wait_for_edit(ask, "terminée", timeout=15)
        for person in people:
            (copy,) = person.messages
            assert copy.text == fixed and copy.entities == italic and copy.edited

        await organiser.send_text("/annonces")
        history = await organiser.wait_for_message("Dernières annonces")
        assert "📬 5 · 🚫 1 · ⚠️ 0" in history.text and "envoyée" in history.text
        assert "devant la sortie" in history.text
    rows = await broadcast_rows(db)
    assert sorted(r.state for r in rows) == [OutboxState.BLOCKED] + [OutboxState.SENT] * 5
    async with db.read() as session:
        stored = (await session.scalars(select(bc.Broadcast))).one()
        assert (stored.status, stored.delivered, stored.blocked, stored.recipients) == (
            bc.BroadcastStatus.DONE,
            5,
            1,
            6,
        )
        assert await session.get(bc.BroadcastDraft, organiser.id) is None


async def participant_ids(db: Database, users: list[SimUser]) -> list[int]:
    async with db.read() as session:
        rows = await session.execute(
            select(Participant.id, Participant.telegram_id).where(
                Participant.telegram_id.in_([u.id for u in users])
            )
        )
        by_telegram = {telegram_id: pid for pid, telegram_id in rows}
    return [by_telegram[u.id] for u in users]


async def test_audiences_select_exactly_the_right_people(sim: Simulator, db: Database) -> None:
    """One team, one role, the people coming to a meal: the counts shown and the people reached."""
    # One organiser per announcement: Telegram allows about one message a second in a chat, and
    # each flow shows its organiser a handful of messages.
    organisers = [sim.add_user(first_name=f"Orga{i}", language_code="fr") for i in range(3)]
    event = bundled_event(organisers=[o.id for o in organisers])
    residents = await seed(sim, db, 4, role="resident", prefix="Res")
    students = await seed(sim, db, 2, role="student", prefix="Stu")
    everyone = residents + students
    async with running_bot(sim, db, event):
        ids = dict(zip([u.id for u in everyone], await participant_ids(db, everyone), strict=True))
        now = utcnow()
        async with db.transaction() as session:
            for user in (residents[0], residents[1], students[0]):
                await ch.join(session, ids[user.id], "benevolat", now)
            await ch.join(session, ids[residents[2].id], "reservation", now)
            await meals.set_answer(session, ids[residents[0].id], "lunch", True)
            await meals.set_answer(session, ids[students[1].id], "lunch", True)
            await meals.set_answer(session, ids[residents[1].id], "lunch", False)
            await meals.set_answer(session, ids[residents[3].id], "breakfast", True)

        team = event.challenge("benevolat")
        assert team is not None

        async def announce(organiser: SimUser, body: str, count: int, *path: str) -> None:
            confirm = await compose(organiser, lambda: organiser.send_text(body), *path)
            assert f"Destinataires : {count}" in confirm.text
            await organiser.press(f"✅ Envoyer à {count} personnes", message=confirm)
            await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)

        await asyncio.gather(
            # The team of "benevolat": exactly its three members.
            announce(organisers[0], "Salle 2", 3, "🧩 Une équipe", f"{team.title.get('fr', 'fr')} (3)"),
            # People who said they will come to lunch (not those who said no, nor other meals).
            announce(organisers[1], "Le déjeuner est servi", 2, "🍽", "Déjeuner (2)"),
            # One role: the students only.
            announce(organisers[2], "Les étudiants au fond", 2, "🎭", "Étudiant·e (2)"),
        )
    team_members = (residents[0], residents[1], students[0])
    assert received(everyone, "Salle 2") == {u.id: int(u in team_members) for u in everyone}
    lunch = (residents[0], students[1])
    assert received(everyone, "Le déjeuner est servi") == {u.id: int(u in lunch) for u in everyone}
    assert received(everyone, "Les étudiants au fond") == {u.id: int(u in students) for u in everyone}


async def test_empty_audience_is_said_before_confirming(sim: Simulator, db: Database) -> None:
    """A role nobody has: the organiser is told at once; no confirmation, nothing queued."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    await seed(sim, db, 2, role="resident")
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        await organiser.send_text("/annonce")
        await organiser.wait_for_message(NEW)
        await organiser.send_text("Bonjour")
        menu = await organiser.wait_for_message(WHO)
        await organiser.press("🎭 Un rôle…", message=menu)
        roles = await organiser.wait_for_edit(menu, lambda m: any("(0)" in t for t in m.button_texts))
        partner = button_starting(roles, "Partenaire")
        assert partner.endswith("(0)")
        await organiser.press(partner, message=roles)
        assert sim.answered_callbacks[-1].text is not None
        assert "Personne dans ce public" in sim.answered_callbacks[-1].text
        assert sim.answered_callbacks[-1].show_alert
        # Typing now does not get lost: the organiser is pointed back at the buttons.
        await organiser.send_text("Et maintenant ?")
        await organiser.wait_for_message("touchez un des boutons")
        assert not any("Destinataires" in m.text for m in organiser.messages)
    assert await broadcast_rows(db) == []


async def test_too_long_text_and_caption_are_refused_with_the_count(sim: Simulator, db: Database) -> None:
    """Over 4,096 characters (1,024 for a caption): refused with the count, never cut, nothing sent."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    await seed(sim, db, 2)
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        await organiser.send_text("/annonce")
        await organiser.wait_for_message(NEW)
        await organiser.send_text("é" * 5000)
        refusal = await organiser.wait_for_message("trop long")
        assert "5\u202f000 caractères" in refusal.text and "4\u202f096" in refusal.text
        await organiser.send_photo(caption="😀" * 600)  # 1,200 UTF-16 units, as Telegram counts
        refusal = await organiser.wait_for_message("trop longue")
        assert "1\u202f200 caractères" in refusal.text and "1\u202f024" in refusal.text
        # Still waiting for a message that fits.
        await organiser.send_text("Court")
        await organiser.wait_for_message(WHO)
    assert await broadcast_rows(db) == []


async def test_strangers_and_forged_buttons_are_refused(sim: Simulator, db: Database) -> None:
    """/annonce from a participant, and a forged "send" button, are politely refused; nothing sent."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 2)
    stranger = people[0]
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        confirm = await compose(organiser, lambda: organiser.send_text("Vrai message"), "👥 Tout le monde")
        go = confirm.button("✅ Envoyer à 2 personnes")["callback_data"]

        await stranger.send_text("/annonce")
        refusal = await stranger.wait_for_message("réservée à l'équipe d'organisation")
        await stranger.press(message=refusal, callback_data=go)
        assert "réservée" in (sim.answered_callbacks[-1].text or "")
        await stranger.press(message=refusal, callback_data="bc:delok:1")
        assert "réservée" in (sim.answered_callbacks[-1].text or "")
        # The organiser with a button of another draft (wrong nonce): stale, nothing sent.
        await organiser.press(message=confirm, callback_data="bc:go:00000000")
        assert "plus valable" in (sim.answered_callbacks[-1].text or "")
        await asyncio.sleep(0.3)
    assert await broadcast_rows(db) == []
    assert all(not any("Vrai message" in m.text for m in p.messages) for p in people)


async def test_confirming_twice_sends_once(sim: Simulator, db: Database) -> None:
    """A double tap on "send": one broadcast, one message each; the second tap is stale."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 3)
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        confirm = await compose(
            organiser,
            lambda: organiser.send_document("plan.pdf", b"%PDF-1.4", caption="Une seule fois"),
            "👥 Tout le monde",
        )
        first = await organiser.press("✅ Envoyer à 3 personnes", message=confirm, wait_answer=False)
        second = await organiser.press(
            message=confirm, callback_data=confirm.button("✅ Envoyer à 3 personnes")["callback_data"]
        )
        await first.wait_answered(5)
        del second
        await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)
    assert received(people, "Une seule fois") == {p.id: 1 for p in people}
    assert all(p.messages[0].document and p.messages[0].document.data == b"%PDF-1.4" for p in people)
    assert len(await broadcast_rows(db)) == 3


async def test_draft_expires_and_nothing_is_sent(sim: Simulator, db: Database) -> None:
    """An organiser who comes back after the draft expired: told so, nothing sent."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 2)
    clock = MovableClock()
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id]), clock=clock):
        confirm = await compose(
            organiser, lambda: organiser.send_voice(caption="Trop tard"), "👥 Tout le monde"
        )
        assert any(m.voice for m in organiser.messages)  # the preview
        clock.offset += bc.DRAFT_TTL + bc.timedelta(seconds=1)
        await organiser.press("✅ Envoyer à 2 personnes", message=confirm)
        await organiser.wait_for_edit(confirm, "expiré")
        await asyncio.sleep(0.5)
    assert await broadcast_rows(db) == []
    assert received(people, "Trop tard") == {p.id: 0 for p in people}
    async with db.read() as session:
        assert await session.get(bc.BroadcastDraft, organiser.id) is None


async def test_scheduled_broadcast_leaves_at_its_time(sim: Simulator, db: Database) -> None:
    """Scheduled in 15 minutes: nothing before, everyone once after (the clock jumps forward)."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 3)
    clock = MovableClock()
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id]), clock=clock):
        confirm = await compose(organiser, lambda: organiser.send_text("Le jury arrive"), "👥 Tout le monde")
        await organiser.press("🕒 Programmer", message=confirm)
        options = await organiser.wait_for_edit(confirm, lambda m: "Dans 15 min" in m.button_texts)
        await organiser.press("Dans 15 min", message=options)
        scheduled = await organiser.wait_for_edit(confirm, "Envoi programmé")
        await organiser.press("✅ Programmer l'envoi", message=scheduled)
        await organiser.wait_for_edit(confirm, "🕒 Envoi programmé")
        await asyncio.sleep(1.5)
        assert received(people, "Le jury arrive") == {p.id: 0 for p in people}
        clock.offset += bc.timedelta(minutes=16)
        await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)
    assert received(people, "Le jury arrive") == {p.id: 1 for p in people}


async def test_photo_caption_corrected_then_deleted_everywhere(sim: Simulator, db: Database) -> None:
    """A photo with a caption: "correct" reaches every copy, then "delete everywhere" removes them."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 3)
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        confirm = await compose(
            organiser, lambda: organiser.send_photo(caption="Salle 12"), "👥 Tout le monde"
        )
        preview = next(m for m in organiser.messages if m.photo)
        assert preview.caption == "Salle 12"
        await organiser.press("✅ Envoyer à 3 personnes", message=confirm)
        report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=15)
        assert all(p.messages[-1].photo and p.messages[-1].caption == "Salle 12" for p in people)

        await organiser.press("✏️ Corriger la légende", message=report)
        await organiser.wait_for_message("nouvelle légende")
        await organiser.send_text("Salle 21", entities=[{"type": "italic", "offset": 0, "length": 5}])
        ask = await organiser.wait_for_message("Corriger l'annonce n°")
        assert "chez 3 personnes" in ask.text
        await organiser.press("✅ Corriger partout", message=ask)
        await organiser.wait_for_edit(ask, "terminée", timeout=15)
        for person in people:
            copy = person.messages[-1]
            assert copy.caption == "Salle 21" and copy.edited
            assert copy.entities == [{"type": "italic", "offset": 0, "length": 5}]

        await organiser.press("🗑 Supprimer partout", message=report)
        really = await organiser.wait_for_message("On ne pourra pas revenir en arrière")
        await organiser.press("🗑 Oui, supprimer partout", message=really)
        done = await organiser.wait_for_edit(really, "supprimée", timeout=15)
        assert "3" in done.text
        assert all(not p.messages and len(p.deleted_messages) == 1 for p in people)
    edits = await broadcast_rows(db, bc.PURPOSE_EDIT)
    deletions = await broadcast_rows(db, bc.PURPOSE_DELETE)
    assert [r.state for r in edits] == [OutboxState.SENT] * 3
    assert [r.state for r in deletions] == [OutboxState.SENT] * 3


async def test_stop_midway_reports_what_was_not_sent(sim: Simulator, db: Database) -> None:
    """ "Stop" during a 90-person broadcast: the rest is cancelled and the report says how many."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 90)
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        confirm = await compose(organiser, lambda: organiser.send_text("Arrêtez-moi"), "👥 Tout le monde")
        await organiser.press("✅ Envoyer à 90 personnes", message=confirm)
        sending = await organiser.wait_for_edit(confirm, "Envoi en cours")
        await organiser.press("⏹ Arrêter l'envoi", message=sending)
        report = await organiser.wait_for_edit(confirm, "Envoi arrêté", timeout=15)
        assert "Pas envoyée (arrêt)" in report.text
    counts = received(people, "Arrêtez-moi")
    rows = await broadcast_rows(db)
    sent = [r for r in rows if r.state is OutboxState.SENT]
    cancelled = [r for r in rows if r.state is OutboxState.CANCELLED]
    assert len(sent) + len(cancelled) == 90 and cancelled
    assert sum(counts.values()) == len(sent) and max(counts.values()) == 1


async def test_two_broadcasts_at_once_interleave_within_the_limit(sim: Simulator, db: Database) -> None:
    """Two organisers confirm together: both complete, interleaved, and no 429 (the fixture checks)."""
    first, second = (sim.add_user(first_name=f"Orga{i}", language_code="fr") for i in range(2))
    residents = await seed(sim, db, 60, role="resident", prefix="Res")
    students = await seed(sim, db, 60, role="student", prefix="Stu")
    arrivals: list[tuple[float, str]] = []

    def record(message: SimMessage, event: str) -> None:
        if event == "new" and message.from_bot and message.text in ("Pour A", "Pour B"):
            arrivals.append((time.monotonic(), message.text))

    sim.on_message(record)
    async with running_bot(sim, db, bundled_event(organisers=[first.id, second.id])):
        confirm_a, confirm_b = await asyncio.gather(
            compose(first, lambda: first.send_text("Pour A"), "🎭", "Habitant"),
            compose(second, lambda: second.send_text("Pour B"), "🎭", "Étudiant"),
        )
        press_a = await first.press("✅ Envoyer à 60 personnes", message=confirm_a, wait_answer=False)
        press_b = await second.press("✅ Envoyer à 60 personnes", message=confirm_b, wait_answer=False)
        await press_a.wait_answered(5)
        await press_b.wait_answered(5)
        await first.wait_for_edit(confirm_a, "Envoi terminé", timeout=20)
        await second.wait_for_edit(confirm_b, "Envoi terminé", timeout=20)
    assert received(residents, "Pour A") == {u.id: 1 for u in residents}
    assert received(students, "Pour B") == {u.id: 1 for u in students}
    order = [text for _, text in sorted(arrivals)]
    last_a = max(i for i, text in enumerate(order) if text == "Pour A")
    first_b = order.index("Pour B")
    assert first_b < last_a, "the second broadcast waited for the first to finish"
    span = arrivals[-1][0] - arrivals[0][0]
    assert span >= 120 / 30 - 0.5  # never faster than Telegram allows
