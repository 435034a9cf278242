"""Webhook mode, end to end: the simulator POSTs updates to the bot's own aiohttp server.

The registration end-to-end tests run unchanged in webhook mode (their `running_bot` is swapped
for the webhook runner). Then the webhook's bad input: no or wrong secret (403, nothing
processed), malformed bodies (400, nothing crashes), and `/healthz`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from models.db import Database
from models.participant import ProcessedUpdate
from simulator import Simulator
from tests.e2e import test_registration as registration_tests
from tests.e2e.webhook_support import WEBHOOK_SECRET, running_web_bot, running_webhook_bot
from tests.support.harness import bundled_event
from web.server import SECRET_HEADER

SCENARIOS: list[Callable[..., Awaitable[None]]] = [
    registration_tests.test_register_in_french_then_mydata_and_forget,
    registration_tests.test_register_in_english_with_a_typed_name,
    registration_tests.test_declining_stores_nothing,
    registration_tests.test_html_and_very_long_names_are_escaped_and_capped,
    registration_tests.test_forged_and_stale_buttons_are_refused_politely,
    registration_tests.test_duplicate_update_is_handled_once,
    registration_tests.test_start_repeatedly_mid_flow_resumes,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.removeprefix("test_"))
async def test_registration_scenarios_pass_in_webhook_mode(
    scenario: Callable[..., Awaitable[None]], sim: Simulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The polling registration tests, unchanged, with updates delivered by webhook."""
    monkeypatch.setattr(registration_tests, "running_bot", running_webhook_bot)
    await scenario(sim, db)
    assert sim.bot.webhook_url is not None and sim.bot.webhook_url.endswith("/telegram")


async def test_registration_survives_a_restart_in_webhook_mode(
    sim: Simulator, test_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates sent while the bot is down wait in the simulator; the restarted bot gets them."""
    monkeypatch.setattr(registration_tests, "running_bot", running_webhook_bot)
    await registration_tests.test_registration_survives_a_restart(sim, test_database)


async def processed_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


def update_body(update_id: int, user_id: int, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "fr"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_webhook_refuses_missing_or_wrong_secret_and_malformed_bodies(
    sim: Simulator, db: Database
) -> None:
    """403 without the secret (nothing processed), 400 for bodies that are not updates; the bot lives on."""
    user = sim.add_user(first_name="Amina", language_code="fr")
    async with running_web_bot(sim, db, bundled_event(), webhook=True) as (_app, server):
        url = server.local_url + server.webhook_path
        async with aiohttp.ClientSession() as http:
            forged = update_body(900001, user.id)
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: WEBHOOK_SECRET + "x"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
            good = {SECRET_HEADER: WEBHOOK_SECRET}
            malformed: list[bytes] = [
                b"",
                b"not json",
                b"\xff\xfe\x00",
                b"[1, 2, 3]",
                b'"text"',
                json.dumps({"message": {"text": "no update id"}}).encode(),
                json.dumps({"update_id": "12"}).encode(),
                json.dumps({"update_id": True}).encode(),
                json.dumps({"update_id": 900002, "message": "not an object"}).encode(),
                json.dumps({"update_id": 900003, "message": {"chat": None}}).encode(),
                json.dumps({"update_id": 900004, "callback_query": [1, 2]}).encode(),
            ]
            for body in malformed:
                async with http.post(
                    url, data=body, headers={**good, "Content-Type": "application/json"}
                ) as response:
                    assert response.status == 400, body
            async with http.get(server.local_url + "/healthz") as response:
                assert response.status == 200
        assert await processed_count(db) == 0  # nothing got through
        assert user.messages_from_bot() == []
        # The bot still works: a real update through the simulator's webhook delivery.
        await user.send_text("/start")
        await user.wait_for_message(lambda m: registration_tests.EVENT_NAME_FR in m.text)
        assert await processed_count(db) == 1


async def test_healthz_reports_database_scheduler_and_last_update(sim: Simulator, db: Database) -> None:
    """`/healthz`: database reachable, scheduler running, time of the last update handled."""
    user = sim.add_user(first_name="Sam", language_code="fr")
    async with (
        running_web_bot(sim, db, bundled_event(), webhook=True) as (_app, server),
        aiohttp.ClientSession() as http,
    ):
        async with http.get(server.local_url + "/healthz") as response:
            assert response.status == 200
            before = await response.json()
        assert before["database"] is True and before["scheduler"] is True
        assert before["mode"] == "webhook" and before["last_update_at"] is None
        await user.send_text("/start")
        await user.wait_for_message(lambda m: registration_tests.EVENT_NAME_FR in m.text)
        async with http.get(server.local_url + "/healthz") as response:
            after = await response.json()
        assert after["status"] == "ok" and after["last_update_at"] is not None
        assert after["webhook_updates"] >= 1


async def test_polling_mode_serves_healthz_too(sim: Simulator, db: Database) -> None:
    """Polling stays the default; the web server (dashboard, health) runs alongside."""
    async with running_web_bot(sim, db, bundled_event(), webhook=False) as (_app, server):
        assert sim.bot.webhook_url is None
        async with aiohttp.ClientSession() as http, http.get(server.local_url + "/healthz") as response:
            assert response.status == 200
            body = await response.json()
        assert body["mode"] == "polling" and body["status"] == "ok"
        # No webhook route in polling mode.
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.local_url + "/telegram", json={}) as response,
        ):
            assert response.status in (404, 405)
