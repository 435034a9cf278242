"""Helpers for the web chat tests: a running rehearsal (`hackbot demo` in-process), an HTTP client for
its JSON API, and a reader for its Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import SecretStr

from bot.demo import Demo
from bot.settings import Settings
from schedule.config import EventConfig
from simulator.webchat import CSRF_HEADER

if TYPE_CHECKING:
    from tests.support.databases import TestDatabase
from tests.support.harness import bundled_event


@asynccontextmanager
async def running_demo(
    test_database: TestDatabase, event: EventConfig | None = None, **options: Any
) -> AsyncIterator[Demo]:
    """The rehearsal on a free port and the test's database; fails on any Bot API violation."""
    settings = Settings(
        telegram_bot_token=SecretStr("1:unused"),
        database_url=test_database.url,
        database_schema=test_database.schema,
        _env_file=None,  # type: ignore[call-arg]
    )
    demo = Demo(
        settings,
        event or bundled_event(),
        port=0,
        database=test_database.connect(),
        **options,
    )
    async with demo:
        yield demo
    assert not demo.sim.violations, f"Bot API violations: {demo.sim.violations}"
    assert not demo.sim.internal_errors, f"simulator failures: {demo.sim.internal_errors}"


class ApiError(Exception):
    """A non-2xx answer of the web chat API."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass
class WebChatClient:
    """The page's side of the API, for tests."""

    session: aiohttp.ClientSession
    base: str

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            body = await response.json()
            if response.status >= 300:
                raise ApiError(response.status, body)
            return body

    async def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        headers = {CSRF_HEADER: "1", **kwargs.pop("headers", {})}
        async with self.session.post(self.base + path, json=body, headers=headers, **kwargs) as response:
            answer = await response.json()
            if response.status >= 300:
                raise ApiError(response.status, answer)
            return answer

    def chat(self, persona: int, chat: int) -> str:
        return f"/webchat/api/personas/{persona}/chats/{chat}"

    async def messages(self, persona: int, chat: int | None = None) -> list[dict[str, Any]]:
        return (await self.get(self.chat(persona, chat or persona)))["messages"]

    async def send(
        self, persona: int, text: str, *, chat: int | None = None, reply_to: int | None = None
    ) -> Any:
        body: dict[str, Any] = {"text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        return await self.post(self.chat(persona, chat or persona) + "/messages", body)

    async def tap(self, persona: int, text: str) -> Any:
        return await self.post(self.chat(persona, persona) + "/tap", {"text": text})

    async def press(
        self, persona: int, message: dict[str, Any], text: str, *, chat: int | None = None
    ) -> Any:
        """Press the button labelled `text` on `message` (by its row and column, like the page)."""
        for row, buttons in enumerate(message["buttons"]):
            for col, button in enumerate(buttons):
                if button["text"] == text:
                    return await self.post(
                        self.chat(persona, chat or persona) + "/press",
                        {"message_id": message["id"], "row": row, "col": col, "text": text},
                    )
        raise AssertionError(f"no button {text!r} in {message['buttons']}")


@asynccontextmanager
async def webchat_client(demo: Demo) -> AsyncIterator[WebChatClient]:
    async with aiohttp.ClientSession() as session:
        yield WebChatClient(session, demo.sim.base_url)


class EventStream:
    """Reads the page's Server-Sent Events into a list; `wait_for` waits for one matching a predicate."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        kind, data = "message", ""
        async for raw in self.response.content:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
            elif line == "" and data:
                async with self._changed:
                    self.events.append((kind, json.loads(data)))
                    self._changed.notify_all()
                kind, data = "message", ""

    async def wait_for(
        self,
        kind: str,
        pred: Callable[[dict[str, Any]], bool] = lambda body: True,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((body for event_kind, body in self.events if event_kind == kind and pred(body)), None)

        async with asyncio.timeout(timeout), self._changed:
            while (hit := found()) is None:
                await self._changed.wait()
        return hit

    async def ended(self) -> None:
        """Wait until the server ends the stream."""
        await self._task

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.response.close()


@asynccontextmanager
async def event_stream(client: WebChatClient) -> AsyncIterator[EventStream]:
    response = await client.session.get(client.base + "/webchat/api/events")
    stream = EventStream(response)
    try:
        await stream.wait_for("ready")
        yield stream
    finally:
        await stream.close()


def persona_named(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in state["personas"] if p["name"] == name)


def button_texts(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in message["buttons"] for button in row]
