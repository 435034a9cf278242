"""Start-up and shut-down steps contributed by features (schedulers, senders, checks).

Features register here instead of editing the application wiring, so adding one never means
touching `bot/app.py`. Steps run in registration order at start, in reverse order at shut-down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import HackbotApplication

LifecycleStep = Callable[["HackbotApplication"], Awaitable[None]]

_startup: list[LifecycleStep] = []
_shutdown: list[LifecycleStep] = []


def on_startup(step: LifecycleStep) -> LifecycleStep:
    """Run `step` once the bot is connected (after migrations, before updates are processed)."""
    if step not in _startup:
        _startup.append(step)
    return step


def on_shutdown(step: LifecycleStep) -> LifecycleStep:
    """Run `step` when the bot stops (before the database is closed)."""
    if step not in _shutdown:
        _shutdown.append(step)
    return step


async def run_startup(application: HackbotApplication) -> None:
    """Run every start-up step."""
    for step in _startup:
        await step(application)


async def run_shutdown(application: HackbotApplication) -> None:
    """Run every shut-down step, last registered first."""
    for step in reversed(_shutdown):
        await step(application)
