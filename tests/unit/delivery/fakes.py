"""A scripted Bot API behind PTB's own `BaseRequest` interface, so the real `Bot` is exercised."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 123456


@dataclass
class Call:
    """One request the bot made."""

    endpoint: str
    params: dict[str, Any]
    started: float
    finished: float = 0.0


@dataclass
class Reply:
    """What to answer: an HTTP status and a Bot API body, or an exception to raise."""

    status: int = 200
    body: dict[str, Any] | None = None
    raises: BaseException | None = None

    @classmethod
    def error(cls, status: int, description: str, **parameters: Any) -> Reply:
        """A Bot API error answer."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return cls(status=status, body=body)

    @classmethod
    def flood(cls, retry_after: int) -> Reply:
        """A 429 answer."""
        return cls.error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def timeout(cls) -> Reply:
        """The connection gave up (the request may or may not have arrived)."""
        return cls(raises=TimedOut())


@dataclass
class ScriptedRequest(BaseRequest):
    """Answers per chat from a script (a list of replies used in turn), success by default."""

    latency: float = 0.0
    script: dict[Any, list[Reply]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    in_flight: dict[Any, int] = field(default_factory=dict)
    max_in_flight_per_chat: int = 0
    max_in_flight: int = 0
    hook: Callable[[Call], None] | None = None
    _next_message_id: int = 1000
    _total_in_flight: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def read_timeout(self) -> float | None:
        """Required by `BaseRequest`."""
        return 5.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def sent(self, endpoint_prefix: str = "") -> list[Call]:
        """Calls whose endpoint starts with `endpoint_prefix` (answered or not)."""
        return [call for call in self.calls if call.endpoint.startswith(endpoint_prefix)]

    def _message(self, chat_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        self._next_message_id += 1
        chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
        }
        if "text" in params:
            message["text"] = params["text"]
        return message

    def _success(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": "fake_bot"}
        if endpoint == "copyMessage":
            self._next_message_id += 1
            return {"message_id": self._next_message_id}
        if endpoint in {"deleteMessage", "answerCallbackQuery"}:
            return True
        if endpoint.startswith("editMessage"):
            message = self._message(params.get("chat_id"), params)
            message["message_id"] = params["message_id"]
            return message
        return self._message(params.get("chat_id"), params)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer from the script, after `latency` seconds."""
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        chat = params.get("chat_id")
        call = Call(endpoint, params, time.monotonic())
        self.calls.append(call)
        if self.hook is not None:
            self.hook(call)
        self.in_flight[chat] = self.in_flight.get(chat, 0) + 1
        self._total_in_flight += 1
        self.max_in_flight_per_chat = max(self.max_in_flight_per_chat, self.in_flight[chat])
        self.max_in_flight = max(self.max_in_flight, self._total_in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            replies = self.script.get(chat)
            reply = replies.pop(0) if replies else Reply()
            if reply.raises is not None:
                raise reply.raises
            body = (
                reply.body
                if reply.body is not None
                else {"ok": True, "result": self._success(endpoint, params)}
            )
            return reply.status, json.dumps(body).encode()
        finally:
            call.finished = time.monotonic()
            self.in_flight[chat] -= 1
            self._total_in_flight -= 1
