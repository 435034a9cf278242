"""A faithful local Telegram Bot API server (aiohttp) and a Python API for tests to act as phone users.

The real PTB application talks to it over HTTP (``base_url=sim.api_url``); tests drive people with
``SimUser`` and assert on what the bot sent (``SimMessage``) and on ``sim.violations``.

Modules: ``spec`` (api.json and validation), ``html`` (parse modes), ``limits`` (flood control),
``world`` (state), ``methods`` (Bot API methods), ``server`` (HTTP and webhooks), ``client`` (test API),
``core`` (``Simulator``), ``__main__`` (standalone server).
"""

from simulator.client import (
    InlineButton,
    SimBot,
    SimCallbackQuery,
    SimDocument,
    SimGroup,
    SimMessage,
    SimUser,
)
from simulator.core import Simulator
from simulator.limits import RateLimitConfig
from simulator.records import AnsweredCallback, RateLimitRecord, RequestRecord, Violation

__all__ = [
    "AnsweredCallback",
    "InlineButton",
    "RateLimitConfig",
    "RateLimitRecord",
    "RequestRecord",
    "SimBot",
    "SimCallbackQuery",
    "SimDocument",
    "SimGroup",
    "SimMessage",
    "SimUser",
    "Simulator",
    "Violation",
]
