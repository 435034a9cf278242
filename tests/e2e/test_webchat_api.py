"""The rehearsal web chat's JSON API and live events, without a browser, against the real bot.

Every test runs `bot.demo.Demo` (what `hackbot demo` runs) on the test database: SQLite, and
PostgreSQL when TEST_POSTGRES_URL is set. Acting goes through HTTP like the page does; waiting goes
through the Server-Sent Events the page listens to.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from sqlalchemy import select

from models.base import utcnow
from models.participant import Participant, ParticipantStatus
from simulator.webchat import CSRF_HEADER
from tests.e2e.webchat_support import (
    ApiError,
    EventStream,
    WebChatClient,
    button_texts,
    event_stream,
    persona_named,
    running_demo,
    webchat_client,
)

if TYPE_CHECKING:
    from tests.support.databases import TestDatabase

AGREE = "✅ J'accepte"
ROLE_RESIDENT = "Habitant·e"


def new_in(chat_id: int, pred: Any = lambda m: True) -> Any:
    """An SSE predicate: a new message in `chat_id` matching `pred`."""
    return lambda body: body["event"] == "new" and body["chat_id"] == chat_id and pred(body["message"])


def from_bot_with(text: str) -> Any:
    return lambda m: m["from"]["is_bot"] and text in m["text"]


def with_button(label: str) -> Any:
    return lambda m: m["from"]["is_bot"] and label in button_texts(m)


async def register(client: WebChatClient, stream: EventStream, persona: int) -> None:
    """/start, consent, keep the Telegram first name, resident: all by pressing buttons."""
    await client.send(persona, "/start")
    welcome = await stream.wait_for("message", new_in(persona, with_button(AGREE)))
    await client.press(persona, welcome["message"], AGREE)
    ask = await stream.wait_for(
        "message", new_in(persona, lambda m: any("Garder" in t for t in button_texts(m)))
    )
    keep = next(t for t in button_texts(ask["message"]) if t.startswith("Garder"))
    await client.press(persona, ask["message"], keep)
    roles = await stream.wait_for("message", new_in(persona, with_button(ROLE_RESIDENT)))
    await client.press(persona, roles["message"], ROLE_RESIDENT)
    await stream.wait_for("message", new_in(persona, from_bot_with("inscrit")))


async def test_state_page_and_static_files(test_database: TestDatabase) -> None:
    """The page, its script and style, and the four default personas with their chats."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        state = await client.get("/webchat/api/state")
        names = {p["name"]: p for p in state["personas"]}
        assert list(names) == ["Amina", "Lucas", "Camille", "Nadia", "Sofiane"]
        staff_id = demo.staff_group.id
        assert [c["id"] for c in names["Amina"]["chats"]] == [names["Amina"]["id"]]
        assert [c["type"] for c in names["Camille"]["chats"]] == ["private", "group"]
        assert names["Camille"]["chats"][1]["id"] == staff_id
        assert names["Nadia"]["staff"] and not names["Lucas"]["staff"]
        assert demo.event.organisers == [names["Nadia"]["id"]]
        assert demo.event.staff_chat_id == staff_id
        assert demo.staff_group.status_of(demo.webchat.persona(names["Nadia"]["id"]).user) == "administrator"

        async with client.session.get(demo.url, allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/webchat/"
        async with client.session.get(demo.sim.base_url + "/webchat/") as response:
            page = await response.text()
            assert response.status == 200 and '<html lang="fr">' in page
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp
            assert "http" not in page.replace('href="/webchat', "")  # nothing from elsewhere
        for name, kind in (("webchat.js", "application/javascript"), ("webchat.css", "text/css")):
            async with client.session.get(f"{demo.sim.base_url}/webchat/static/{name}") as response:
                assert response.status == 200 and response.content_type == kind
                body = await response.text()
                assert "innerHTML" not in body
                # Nothing loaded from elsewhere; the one address is a link for shared locations.
                assert re.findall(r"https?://[^\"' ]+", body) in (
                    [],
                    ["https://www.openstreetmap.org/?mlat="],
                )
        with pytest.raises(ApiError) as missing:
            await client.get("/webchat/static/..%2Fserver.py")
        assert missing.value.status == 404


async def test_registration_by_buttons_then_the_menu_keyboard(test_database: TestDatabase) -> None:
    """A resident registers by pressing buttons; the welcome's formatting arrives as entities, not HTML."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        amina = persona_named(await client.get("/webchat/api/state"), "Amina")["id"]
        async with event_stream(client) as stream:
            await client.send(amina, "/start")
            welcome = (await stream.wait_for("message", new_in(amina, with_button(AGREE))))["message"]
            assert "<b>" not in welcome["text"] and "Centres Sociaux Connectés" in welcome["text"]
            assert any(e["type"] == "bold" for e in welcome["entities"])
            answer = await client.press(amina, welcome, AGREE)
            assert answer["answered"] is True
            # The consent message is edited in place: the page gets an "edited" event for it.
            await stream.wait_for(
                "message", lambda b: b["event"] == "edited" and b["message"]["id"] == welcome["id"]
            )
            ask = await stream.wait_for(
                "message", new_in(amina, lambda m: "Garder « Amina »" in button_texts(m))
            )
            await client.press(amina, ask["message"], "Garder « Amina »")
            roles = await stream.wait_for("message", new_in(amina, with_button(ROLE_RESIDENT)))
            await client.press(amina, roles["message"], ROLE_RESIDENT)
            done = await stream.wait_for("message", new_in(amina, from_bot_with("inscrit")))
            keyboard = done["keyboard"]
            assert keyboard is not None and keyboard["persistent"]
            assert any("🧩 Mon défi" in row for row in keyboard["rows"])

        chat = await client.get(client.chat(amina, amina))
        assert chat["chat"]["type"] == "private" and chat["keyboard"] == keyboard
        assert any(c["command"] == "start" for c in chat["commands"])
        sent_by_amina = [m for m in chat["messages"] if m["from"]["id"] == amina]
        assert sent_by_amina[0]["text"] == "/start"

        async with demo.application.bot_data.services.db.read() as session:  # type: ignore[union-attr]
            row = await session.scalar(select(Participant).where(Participant.telegram_id == amina))
        assert row is not None and row.status is ParticipantStatus.ACTIVE and row.role == "resident"


async def test_buttons_keyboard_taps_and_stale_presses(test_database: TestDatabase) -> None:
    """Reply-keyboard taps send their text; a button that changed or vanished is refused with 409."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        amina = persona_named(await client.get("/webchat/api/state"), "Amina")["id"]
        async with event_stream(client) as stream:
            await register(client, stream, amina)
            tapped = await client.tap(amina, "📅 Programme")
            assert tapped["text"] == "📅 Programme" and tapped["entities"] == []
            programme = await stream.wait_for(
                "message", new_in(amina, with_button("📆 Ajouter à mon agenda"))
            )
            message = programme["message"]
            with pytest.raises(ApiError) as changed:
                await client.post(
                    client.chat(amina, amina) + "/press",
                    {"message_id": message["id"], "row": 0, "col": 0, "text": "not this one"},
                )
            assert changed.value.status == 409
            with pytest.raises(ApiError) as gone:
                await client.post(
                    client.chat(amina, amina) + "/press",
                    {"message_id": 9999, "row": 0, "col": 0, "text": "x"},
                )
            assert gone.value.status == 409
            with pytest.raises(ApiError) as not_shown:
                await client.tap(amina, "Ce bouton n'existe pas")
            assert not_shown.value.status == 409

            # The calendar file: a document the page offers as a download.
            await client.press(amina, message, "📆 Ajouter à mon agenda")
            ics = await stream.wait_for(
                "message", new_in(amina, lambda m: (m["media"] or {}).get("kind") == "document")
            )
            media = ics["message"]["media"]
            assert media["file_name"].endswith(".ics") and media["url"].startswith("/webchat/api/files/")
            async with client.session.get(client.base + media["url"]) as response:
                body = await response.text()
                assert response.status == 200 and body.startswith("BEGIN:VCALENDAR")
                assert response.headers["Content-Disposition"].startswith("attachment;")
                assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_staff_group_reply_and_membership(test_database: TestDatabase) -> None:
    """Only staff personas see the staff group; replies there carry the message they answer."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        state = await client.get("/webchat/api/state")
        amina = persona_named(state, "Amina")["id"]
        camille = persona_named(state, "Camille")["id"]
        nadia = persona_named(state, "Nadia")["id"]
        staff = demo.staff_group.id
        with pytest.raises(ApiError) as outsider:
            await client.get(client.chat(amina, staff))
        assert outsider.value.status == 404
        with pytest.raises(ApiError) as outsider_sends:
            await client.send(amina, "bonjour", chat=staff)
        assert outsider_sends.value.status == 404

        async with event_stream(client) as stream:
            first = await client.send(nadia, "Briefing à 9h", chat=staff)
            seen = await stream.wait_for("message", new_in(staff))
            assert seen["message"]["id"] == first["id"] and seen["message"]["from"]["name"] == "Nadia"
            reply = await client.send(camille, "Je serai là", chat=staff, reply_to=first["id"])
            assert reply["reply_to"] == {"id": first["id"], "from_name": "Nadia", "text": "Briefing à 9h"}
        group_messages = await client.messages(camille, staff)
        assert [m["text"] for m in group_messages] == ["Briefing à 9h", "Je serai là"]
        with pytest.raises(ApiError) as unknown:
            await client.send(camille, "?", chat=staff, reply_to=4242)
        assert unknown.value.status == 404


async def test_each_chat_shows_the_commands_telegram_would(test_database: TestDatabase) -> None:
    """The "/" menu: a persona's own chat scope first, then private chats, then the default, by language."""
    from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeChatMember

    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        state = await client.get("/webchat/api/state")
        amina = persona_named(state, "Amina")["id"]
        camille = persona_named(state, "Camille")["id"]
        staff = demo.staff_group.id
        assert demo.application is not None
        bot = demo.application.bot
        default = [c["command"] for c in (await client.get(client.chat(amina, amina)))["commands"]]
        assert "start" in default
        await bot.set_my_commands(
            [BotCommand("special", "Rien que pour Amina")], scope=BotCommandScopeChat(amina)
        )
        await bot.set_my_commands(
            [BotCommand("camille", "Dans le groupe, pour Camille")],
            scope=BotCommandScopeChatMember(staff, camille),
        )
        amina_chat = await client.get(client.chat(amina, amina))
        assert [c["command"] for c in amina_chat["commands"]] == ["special"]
        camille_chat = await client.get(client.chat(camille, camille))
        assert [c["command"] for c in camille_chat["commands"]] == default
        group = await client.get(client.chat(camille, staff))
        assert [c["command"] for c in group["commands"]] == ["camille"]
        # A language-specific list wins over the one without language, in the same scope.
        await bot.set_my_commands(
            [BotCommand("speciale", "En français")], scope=BotCommandScopeChat(amina), language_code="fr"
        )
        amina_chat = await client.get(client.chat(amina, amina))
        assert [c["command"] for c in amina_chat["commands"]] == ["speciale"]


async def test_uploads_and_file_downloads_are_safe(test_database: TestDatabase) -> None:
    """Photos show inline as images; any other file, even HTML, is only ever a download."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        camille = persona_named(await client.get("/webchat/api/state"), "Camille")["id"]
        staff = demo.staff_group.id
        path = client.chat(camille, staff) + "/upload"
        headers = {CSRF_HEADER: "1"}

        form = aiohttp.FormData()
        form.add_field("kind", "document")
        form.add_field("caption", "Le plan")
        form.add_field("file", b"<script>alert(1)</script>", filename="plan.html", content_type="text/html")
        async with client.session.post(client.base + path, data=form, headers=headers) as response:
            assert response.status == 201
            document = await response.json()
        media = document["media"]
        assert (
            document["text"] == "Le plan"
            and media["kind"] == "document"
            and media["file_name"] == "plan.html"
        )
        async with client.session.get(client.base + media["url"]) as response:
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''plan.html"
            assert "sandbox" in response.headers["Content-Security-Policy"]

        photo_bytes = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
        form = aiohttp.FormData()
        form.add_field("kind", "photo")
        form.add_field("file", photo_bytes, filename="photo.jpg", content_type="image/jpeg")
        async with client.session.post(client.base + path, data=form, headers=headers) as response:
            photo = await response.json()
        assert photo["media"]["kind"] == "photo" and photo["media"]["inline"] is True
        async with client.session.get(client.base + photo["media"]["url"]) as response:
            assert response.headers["Content-Type"] == "image/jpeg" and await response.read() == photo_bytes
            assert response.headers["Content-Disposition"].startswith("inline;")

        form = aiohttp.FormData()
        form.add_field("kind", "video")
        form.add_field("file", b"x", filename="x.bin")
        async with client.session.post(client.base + path, data=form, headers=headers) as response:
            assert response.status == 400
        with pytest.raises(ApiError) as missing:
            await client.get("/webchat/api/files/nope")
        assert missing.value.status == 404


async def test_requests_from_other_sites_are_refused(test_database: TestDatabase) -> None:
    """Changes need the X-Webchat header and JSON; a foreign Host header is refused (DNS rebinding)."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        amina = persona_named(await client.get("/webchat/api/state"), "Amina")["id"]
        url = client.base + client.chat(amina, amina) + "/messages"
        async with client.session.post(url, json={"text": "/start"}) as response:
            assert response.status == 403
        async with client.session.post(url, data="text=/start", headers={CSRF_HEADER: "1"}) as response:
            assert response.status == 415
        async with client.session.get(
            client.base + "/webchat/api/state", headers={"Host": "evil.example:80"}
        ) as response:
            assert response.status == 403
        for bad in ({"text": ""}, {"text": "x" * 4097}, {"text": "ok", "reply_to": "1"}, []):
            async with client.session.post(url, json=bad, headers={CSRF_HEADER: "1"}) as response:
                assert response.status == 400, bad
        with pytest.raises(ApiError) as unknown:
            await client.send(424242, "hello")
        assert unknown.value.status == 404
        assert not demo.webchat.persona(amina).user.history  # nothing refused was sent


async def test_personas_added_from_the_page(test_database: TestDatabase) -> None:
    """A new persona appears live; an organiser joins the staff group and the event's organisers."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        async with event_stream(client) as stream:
            added = await client.post(
                "/webchat/api/personas", {"name": "<b>Zoé</b>", "role": "organiser", "language": "en"}
            )
            event = await stream.wait_for("persona", lambda body: body["id"] == added["id"])
        assert event["name"] == "<b>Zoé</b>" and event["language"] == "en"
        assert [c["type"] for c in added["chats"]] == ["private", "group"]
        services = demo.application.bot_data.services  # type: ignore[union-attr]
        assert services.event.is_organiser(added["id"])
        student = await client.post("/webchat/api/personas", {"name": "Théo", "role": "student"})
        assert [c["type"] for c in student["chats"]] == ["private"]
        assert not services.event.is_organiser(student["id"])
        for bad in (
            {"name": "", "role": "student"},
            {"name": "X", "role": "pirate"},
            {"name": "X", "language": "??"},
        ):
            with pytest.raises(ApiError) as refused:
                await client.post("/webchat/api/personas", bad)
            assert refused.value.status == 400


async def test_stopping_with_a_page_open_is_quick(test_database: TestDatabase) -> None:
    """An open event stream ends at shutdown instead of holding the server for its whole timeout."""
    async with (
        running_demo(test_database) as demo,
        webchat_client(demo) as client,
        event_stream(client) as stream,
    ):
        started = time.monotonic()
        await demo.stop()
        elapsed = time.monotonic() - started
        await asyncio.wait_for(stream.ended(), 5)  # the server closed it
    assert elapsed < 3, elapsed


async def test_a_meal_is_announced_during_the_rehearsal(test_database: TestDatabase) -> None:
    """`--from sat-lunch`: a resident who registers in the page gets "lunch is served" on time."""
    lunch_at = utcnow() + timedelta(seconds=20)
    async with (
        running_demo(test_database, starts_at=lunch_at, from_item="sat-lunch") as demo,
        webchat_client(demo) as client,
        event_stream(client) as stream,
    ):
        lunch = demo.event.item("sat-lunch")
        assert lunch is not None and lunch.start == lunch_at
        amina = persona_named(await client.get("/webchat/api/state"), "Amina")["id"]
        await register(client, stream, amina)
        served = await stream.wait_for("message", new_in(amina, from_bot_with("c'est servi")), timeout=40)
    arrived = datetime.fromtimestamp(served["message"]["date"], tz=UTC)
    assert abs(arrived - lunch_at) < timedelta(seconds=5)
    assert "Déjeuner" in served["message"]["text"]
