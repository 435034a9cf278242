"""Errors raised by simulated Bot API methods and the records the simulator keeps for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AnsweredCallback",
    "ApiError",
    "ErrorKind",
    "RateLimitRecord",
    "RequestRecord",
    "Violation",
]

# "violation": the request breaks the specification or a documented limit (a bug in the bot);
# "runtime": Telegram would refuse it too for a legitimate reason (chat not found, blocked, ...);
# "unsupported": valid, but the simulator does not implement the method or option.
ErrorKind = Literal["violation", "runtime", "unsupported"]


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status == ``code``."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        kind: ErrorKind = "runtime",
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.kind = kind
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """The response body Telegram sends."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, kind: ErrorKind = "runtime") -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}", kind=kind)


def forbidden(description: str) -> ApiError:
    """A 403 with Telegram's "Forbidden: " prefix."""
    return ApiError(403, f"Forbidden: {description}")


@dataclass(frozen=True)
class Violation:
    """A request that broke the specification (or, in ``Simulator.unsupported``, an unsupported call)."""

    method: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitRecord:
    """A send refused with 429."""

    time: float
    bot_id: int
    method: str
    chat_id: int
    retry_after: int


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP call to the Bot API."""

    time: float
    token: str
    method: str
    params: dict[str, Any]
    status: int


@dataclass
class AnsweredCallback:
    """An answerCallbackQuery call."""

    callback_query_id: str
    user_id: int
    data: str | None
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    time: float = 0.0
