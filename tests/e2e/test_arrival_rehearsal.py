"""The rehearsal shows the arrival flow: the resident's badge, pasted by the desk persona (a QR code
scanned with a phone's camera stands for opening its link), checks her in."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.e2e.test_webchat_api import register
from tests.e2e.webchat_support import event_stream, persona_named, running_demo, webchat_client
from tests.support import databases

LINK = re.compile(r"https://t\.me/\S+\?start=ci-[A-Za-z0-9_-]+")


async def _bot_text(client: Any, persona: int, pattern: str, timeout: float = 10.0) -> str:  # noqa: ASYNC109
    """The newest bot message (text or caption) of the persona's private chat containing `pattern`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in reversed(await client.messages(persona)):
            shown = message.get("text") or message.get("caption") or ""
            if message["from"]["is_bot"] and pattern in shown:
                return str(shown)
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(pattern)
        await asyncio.sleep(0.1)


async def test_desk_persona_checks_the_resident_in(test_database: databases.TestDatabase) -> None:
    """Amina registers and shows her badge; Sofiane (desk) opens its link; the desk card says so."""
    async with running_demo(test_database) as demo, webchat_client(demo) as client:
        state = await client.get("/webchat/api/state")
        amina = persona_named(state, "Amina")["id"]
        sofiane = persona_named(state, "Sofiane")
        assert sofiane["role"] == "desk"
        assert demo.event.arrival.desk_volunteers == [sofiane["id"]]
        async with event_stream(client) as stream:
            await register(client, stream, amina)
        await client.send(amina, "/badge")
        caption = await _bot_text(client, amina, "Votre badge")
        found = LINK.search(caption)
        assert found is not None
        await client.send(sofiane["id"], found.group(0))
        card = await _bot_text(client, sofiane["id"], "Première arrivée aujourd'hui")
        assert "Amina" in card
