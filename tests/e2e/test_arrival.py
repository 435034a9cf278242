"""Arrival through the simulator (SQLite, and PostgreSQL): badges, the desk, walk-ins, leaving, headcount.

Participants are created directly in the database (registration has its own tests). A badge's QR
code is decoded from the photo the bot sent, and the desk volunteer opens that link like a phone
camera would (`SimUser.open_link`).
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from models import arrival
from models.base import utcnow
from models.db import Database
from models.participant import Participant
from schedule.config import ArrivalSettings, EventConfig
from simulator import SimMessage, Simulator, SimUser
from tests.support.harness import BOT_USERNAME, bundled_event, running_bot
from tests.support.people import seed

CONSENT_VERSION = bundled_event().privacy.version


def arrival_event(desk: list[SimUser], organisers: list[SimUser] = (), **settings: Any) -> EventConfig:  # type: ignore[assignment]
    """The bundled event with these desk volunteers and organisers."""
    return bundled_event(
        organisers=[o.id for o in organisers],
        arrival=ArrivalSettings(desk_volunteers=[d.id for d in desk], **settings),
    )


def decode_qr(png: bytes) -> list[str]:
    """Every QR code in an image, decoded."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]


async def badge_link(user: SimUser) -> str:
    """The participant asks for their badge; the link its QR code carries."""
    await user.send_text("/badge")
    photo = await user.wait_for_message(lambda m: m.photo is not None)
    assert photo.file_bytes is not None
    (link,) = decode_qr(photo.file_bytes)
    return link


async def check_ins(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(arrival.CheckIn)) or 0)


async def scan(desk: SimUser, link: str, wait: float = 10.0) -> SimMessage:
    """The desk volunteer's phone opens the link; the bot's answer."""
    await desk.open_link(link)
    return await desk.wait_for_message(timeout=wait)


async def test_badge_scanned_at_the_desk(sim: Simulator, db: Database) -> None:
    """Badge → QR → desk scan: name, role, challenge, needs, first time; a second scan says when."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    amina = sim.add_user(first_name="Amina <b>&", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([desk])):
        link = await badge_link(amina)
        assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=ci-")
        assert "Montrez ce code à l'accueil" in amina.last_message.caption  # type: ignore[union-attr]
        assert await badge_link(amina) == link  # the same code every time

        card = await scan(desk, link)
        assert "Amina <b>&" in card.text and "<b>&" not in (card.html or "").replace("&lt;b&gt;&amp;", "")
        assert "Première arrivée aujourd'hui" in card.text
        assert "Habitant" in card.text and "Défi : pas encore choisi" in card.text
        assert "Aucun besoin alimentaire signalé" in card.text
        again = await scan(desk, link)
        assert "Déjà pointé·e aujourd'hui" in again.text
        assert await check_ins(db) == 1


async def test_bad_links_change_nothing(sim: Simulator, db: Database) -> None:
    """Forged, truncated, someone else's badge opened by a participant, one's own badge, another event."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    bob = sim.add_user(first_name="Bob", language_code="fr")
    await seed(db, [amina, bob])
    async with running_bot(sim, db, arrival_event([desk])):
        link = await badge_link(amina)
        own = await scan(amina, link)
        assert "C'est votre badge" in own.text
        other = await scan(bob, link)
        assert "montrez-le à l'accueil" in other.text
        truncated = await scan(desk, link[:-3])
        assert "pas reconnu" in truncated.text
        forged = await scan(desk, link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"))
        assert "pas reconnu" in forged.text
        assert await check_ins(db) == 0
        async with db.transaction() as session:
            await session.execute(arrival.ArrivalCode.__table__.update().values(event_id="another-event"))
        elsewhere = await scan(desk, link)
        assert "autre événement" in elsewhere.text
        assert await check_ins(db) == 0


async def test_erased_person_badge_is_worthless(sim: Simulator, db: Database) -> None:
    """After /forget, the badge's code no longer checks anyone in; /mydata showed the times before."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([desk])):
        link = await badge_link(amina)
        await scan(desk, link)
        await amina.send_text("/mydata")
        mydata = await amina.wait_for_message(lambda m: "Arrivée" in m.text)
        assert "Badge d'entrée" in mydata.text
        await amina.send_text("/forget")
        confirm = await amina.wait_for_message(lambda m: bool(m.buttons))
        await amina.press(message=confirm, callback_data=confirm.buttons[0][0].data)
        await asyncio.sleep(0.5)
        assert await check_ins(db) == 0
        refused = await scan(desk, link)
        assert "pas reconnu" in refused.text


async def test_leaving_and_the_desk_checkout(sim: Simulator, db: Database) -> None:
    """ "Je pars" checks out; the desk card's button too; a return the same day is one row."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([desk])):
        link = await badge_link(amina)
        await scan(desk, link)
        await amina.send_text("/jepars")
        assert "Votre départ est noté" in (await amina.wait_for_message()).text
        await amina.send_text("/jepars")
        assert "pas noté·e présent·e" in (await amina.wait_for_message()).text
        back = await scan(desk, link)
        assert "De retour" in back.text
        await desk.press(message=back, text=back.button_texts[0])
        edited = await desk.wait_for_edit(back)
        assert "départ noté" in edited.text
        assert await check_ins(db) == 1


async def test_walk_in_registered_at_the_desk(sim: Simulator, db: Database) -> None:
    """/inscrire_sur_place: a name (HTML, 5,000 characters) and a role; counted in the headcount."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    orga = sim.add_user(first_name="Orga", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([desk], [orga])):
        await amina.send_text("/inscrire_sur_place Moi")
        assert "réservée à l'accueil" in (await amina.wait_for_message()).text
        await desk.send_text("/inscrire_sur_place")
        assert "Écrivez le nom" in (await desk.wait_for_message()).text
        await desk.send_text("/inscrire_sur_place <b>Fatima</b> & co")
        answer = await desk.wait_for_message(lambda m: "inscrit·e sur place" in m.text)
        assert "<b>Fatima</b> & co" in answer.text
        await desk.press("Étudiant·e", message=answer)
        saved = await desk.wait_for_edit(answer, lambda m: "Étudiant" in m.text)
        assert "<b>Fatima</b> & co" in saved.text
        await desk.send_text("/inscrire_sur_place " + "A" * 5000)
        long = await desk.wait_for_message(lambda m: "inscrit·e sur place" in m.text)
        assert "A" * 63 + "…" in long.text and "A" * 64 not in long.text

        await orga.send_text("/presents")
        count = await orga.wait_for_message(lambda m: "Présents" in m.text)
        assert "Dans le bâtiment maintenant : 2" in count.text
        assert "dont 2 inscrits sur place" in count.text
        assert "Inscrits pas encore arrivés : 1" in count.text
        assert "• Amina" in count.text
        await amina.send_text("/presents")
        assert "réservée à l'équipe" in (await amina.wait_for_message()).text


async def test_eighty_people_three_desks_at_once(sim: Simulator, db: Database) -> None:
    """80 people, 3 desk volunteers at once, ten scanned twice: every scan answered, exact headcount."""
    desks = [sim.add_user(first_name=f"Accueil{i}", language_code="fr") for i in range(3)]
    orga = sim.add_user(first_name="Orga", language_code="fr")
    people = [sim.add_user(first_name=f"P{i:02d}", language_code="fr") for i in range(80)]
    await seed(db, people)
    async with running_bot(sim, db, arrival_event(desks, [orga])):
        async with db.transaction() as session:
            ids = {
                tid: pid
                for tid, pid in (await session.execute(select(Participant.telegram_id, Participant.id))).all()
            }
            links = [
                arrival.deep_link(
                    BOT_USERNAME, await arrival.personal_code(session, ids[p.id], "csc-2017", utcnow())
                )
                for p in people
            ]
        # The first ten people are scanned by two volunteers in the same instant.
        queues = [links[i::3] for i in range(3)]
        queues[1] = links[:10] + queues[1]

        async def work(desk: SimUser, queue: list[str]) -> list[str]:
            answers = []
            for link in queue:
                await desk.open_link(link)
                answers.append((await desk.wait_for_message(timeout=30)).text)
            return answers

        results = await asyncio.gather(*(work(d, q) for d, q in zip(desks, queues, strict=True)))
        assert sum(len(r) for r in results) == 90
        firsts = sum(1 for r in results for text in r if "Première arrivée" in text)
        assert firsts == 80
        assert await check_ins(db) == 80
        await orga.send_text("/presents")
        count = await orga.wait_for_message(lambda m: "Présents" in m.text)
        assert "Dans le bâtiment maintenant : <b>80</b>" in (count.html or "")
        assert "Inscrits pas encore arrivés : 0" in count.text


async def test_same_person_same_second(sim: Simulator, db: Database) -> None:
    """Two volunteers scan one badge in the same poll: one check-in, both answered."""
    desks = [sim.add_user(first_name=f"Accueil{i}", language_code="fr") for i in range(2)]
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event(desks)):
        link = await badge_link(amina)
        with sim.one_poll():
            for desk in desks:
                await desk.open_link(link)
        answers = [await desk.wait_for_message(timeout=10) for desk in desks]
        assert sorted("Première" in a.text for a in answers) == [False, True]
        assert await check_ins(db) == 1


async def test_self_check_in_with_the_poster(sim: Simulator, db: Database) -> None:
    """The day's poster: a registered person checks in; a newcomer registers and is present; renewal."""
    orga = sim.add_user(first_name="Orga", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    newcomer = sim.add_user(first_name="Zoé", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([], [orga], self_check_in=True)):
        await orga.send_text("/affiche")
        poster = await orga.wait_for_message(lambda m: m.photo is not None)
        assert poster.file_bytes is not None
        (link,) = decode_qr(poster.file_bytes)
        assert "?start=door-" in link
        answer = await scan(amina, link)
        assert "Votre arrivée est notée" in answer.text
        assert "déjà noté·e présent·e" in (await scan(amina, link)).text

        await newcomer.open_link(link)
        await newcomer.wait_for_message(lambda m: "Inscrivez-vous ci-dessous" in m.text)
        notice = await newcomer.wait_for_message(lambda m: bool(m.buttons))
        await newcomer.press("✅ J'accepte", message=notice)
        await newcomer.press(
            callback_data="reg:keepname", message=await newcomer.wait_for_message(lambda m: bool(m.buttons))
        )
        roles = await newcomer.wait_for_message(lambda m: "Habitant·e" in m.button_texts)
        await newcomer.press("Habitant·e", message=roles)
        await newcomer.wait_for_message(lambda m: "votre arrivée est notée" in m.text, timeout=10)
        assert await check_ins(db) == 2

        await orga.press("🔄 Renouveler le code", message=poster)
        renewed = await orga.wait_for_message(lambda m: m.photo is not None and m != poster)
        (new_link,) = decode_qr(renewed.file_bytes or b"")
        assert new_link != link
        assert "plus valable" in (await scan(amina, link)).text
        assert "déjà noté·e présent·e" in (await scan(amina, new_link)).text


async def test_end_of_day_checkout(sim: Simulator, db: Database) -> None:
    """At the day's end everyone still present is checked out; the job is named and rebuilt at start."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    event = arrival_event([desk])
    # Two hours from now, whatever the hour the test runs at (past 06:00 means the next morning).
    later = (event.local(utcnow()) + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    event = event.model_copy(update={"arrival": event.arrival.model_copy(update={"check_out_at": later})})
    async with running_bot(sim, db, event) as app:
        names = [job.name for job in app.job_queue.jobs()]  # type: ignore[union-attr]
        assert any(name and name.startswith("arrival:checkout:") for name in names)
        await scan(desk, await badge_link(amina))
        from schedule.arrival import close_day

        services = app.bot_data.services
        day = services.event.local(services.now()).date()
        assert await close_day(services, day) == 1
        async with db.read() as session:
            row = await session.scalar(select(arrival.CheckIn))
        assert row is not None and row.left_via == "end_of_day" and row.left_at is not None
        assert row.left_at <= utcnow() + timedelta(seconds=1)


async def test_announcements_to_present_and_not_arrived(sim: Simulator, db: Database) -> None:
    """The audiences "on site now" and "not arrived yet": exact recipients, one message each."""
    from tests.e2e.test_broadcasts import compose, received

    desk = sim.add_user(first_name="Nadia", language_code="fr")
    orga = sim.add_user(first_name="Orga", language_code="fr")
    here = [sim.add_user(first_name=f"Ici{i}", language_code="fr") for i in range(2)]
    gone = sim.add_user(first_name="Parti", language_code="fr")
    away = [sim.add_user(first_name=f"Loin{i}", language_code="fr") for i in range(3)]
    everyone = [*here, gone, *away]
    await seed(db, everyone)
    async with running_bot(sim, db, arrival_event([desk], [orga])):
        for person in [*here, gone]:
            await scan(desk, await badge_link(person))
        for person in away:  # Telegram lets a bot write only to people who wrote to it first
            await person.send_text("/start")
            await person.wait_for_message()
        await gone.send_text("/jepars")
        await gone.wait_for_message()

        confirm = await compose(
            orga, lambda: orga.send_text("Le repas est servi"), "🏢 Sur place maintenant (2)"
        )
        assert "Destinataires : 2" in confirm.text and "les personnes sur place" in confirm.text
        await orga.press("✅ Envoyer à 2 personnes", message=confirm)
        await orga.wait_for_edit(confirm, "Envoi terminé", timeout=15)
        assert received(everyone, "Le repas est servi") == {u.id: int(u in here) for u in everyone}

        confirm = await compose(
            orga, lambda: orga.send_text("On commence dans 10 minutes"), "🚶 Pas encore arrivés"
        )
        assert "Destinataires : 3" in confirm.text and "pas encore arrivés le" in confirm.text
        await orga.press("✅ Envoyer à 3 personnes", message=confirm)
        await orga.wait_for_edit(confirm, "Envoi terminé", timeout=15)
        assert received(everyone, "On commence dans 10 minutes") == {u.id: int(u in away) for u in everyone}


async def test_meal_counts_show_who_is_present(sim: Simulator, db: Database) -> None:
    """/repas for organisers: beside today's meals, who is in the building now (walk-ins included)."""
    desk = sim.add_user(first_name="Nadia", language_code="fr")
    orga = sim.add_user(first_name="Orga", language_code="fr")
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    event = arrival_event([desk], [orga]).shifted_to(utcnow() - timedelta(minutes=30))
    async with running_bot(sim, db, event):
        await scan(desk, await badge_link(amina))
        await desk.send_text("/inscrire_sur_place Fatou")
        await desk.wait_for_message(lambda m: "inscrit·e sur place" in m.text)
        await orga.send_text("/repas")
        report = await orga.wait_for_message(lambda m: "traiteur" in m.text)
        assert "Sur place maintenant : 2" in report.text


async def test_day_before_badge_message(sim: Simulator, db: Database) -> None:
    """The day before, everyone registered is told once; the button (or the menu text) shows the QR."""
    from schedule.arrival import BADGES_JOB, send_badges

    amina = sim.add_user(first_name="Amina", language_code="fr")
    jo = sim.add_user(first_name="Jo", language_code="en")
    await seed(db, [amina])
    await seed(db, [jo], lang="en")
    event = arrival_event([]).shifted_to(utcnow() + timedelta(days=2))
    for user in (amina, jo):
        user.account.started_bots.add(sim.bot.id)  # they opened the bot when they registered
    async with running_bot(sim, db, event) as app:
        assert [job.name for job in app.job_queue.get_jobs_by_name(BADGES_JOB)] == [BADGES_JOB]  # type: ignore[union-attr]
        services = app.bot_data.services
        assert await send_badges(services) == 2
        assert await send_badges(services) == 0  # once per person, even if the job runs again
        notice = await amina.wait_for_message(
            lambda m: "Votre badge d'entrée est prêt" in m.text, since="all"
        )
        await amina.press("🎫 Mon badge", message=notice)
        photo = await amina.wait_for_message(lambda m: m.photo is not None)
        assert decode_qr(photo.file_bytes or b"")[0].startswith(f"https://t.me/{BOT_USERNAME}?start=ci-")
        await jo.wait_for_message(lambda m: "Your entry badge is ready" in m.text, since="all")
        await jo.send_text("🎫 My badge", entities=[])
        assert (await jo.wait_for_message(lambda m: m.photo is not None)).caption


async def test_deep_link_as_telegram_sends_it(sim: Simulator, db: Database) -> None:
    """`open_link` sends `/start <payload>` with a command entity on `/start` only; other links pass by."""
    amina = sim.add_user(first_name="Amina", language_code="fr")
    await seed(db, [amina])
    async with running_bot(sim, db, arrival_event([])):
        sent = await amina.open_link(f"https://t.me/{BOT_USERNAME}?start=ci-{'A' * 22}")
        assert sent.text == f"/start ci-{'A' * 22}"
        assert sent.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
        assert "montrez-le à l'accueil" in (await amina.wait_for_message()).text  # not a desk: learns nothing
        other = await amina.open_link(f"https://t.me/{BOT_USERNAME}?start=promo-2026")
        assert other.text == "/start promo-2026"
        assert "Re-bonjour" in (await amina.wait_for_message()).text  # not ours: the usual welcome back
        bad = await amina.open_link(f"https://t.me/{BOT_USERNAME}?start=<b>x</b>")
        assert bad.text == "/start"
