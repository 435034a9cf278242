"""What runs beside the handlers, started and stopped in one written order.

Each part (a scheduled engine, a runner, the web server) has a start step, run once the bot is
connected (after migrations, before updates are processed), perhaps a stop step, run when the
bot stops (before the database is closed), in reverse order, and perhaps a reload step, run when
the organisers reloaded the event file and the new one is in force (`services.event`). The list
below is the only place that says what runs and in which order; a new feature adds its line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import HackbotApplication

LifecycleStep = Callable[["HackbotApplication"], Awaitable[None]]


@dataclass(frozen=True)
class RunningPart:
    """Something that runs beside the handlers: its name (for logs), how it starts and stops."""

    name: str
    start: LifecycleStep
    stop: LifecycleStep | None = None
    reload: LifecycleStep | None = None


def running_parts() -> list[RunningPart]:
    """Every running part, in start order.

    Imported here, when the application starts, rather than at module level: the parts import the
    application's types from `bot`, and `bot` must not need them to be imported first.
    """
    from schedule import arrival, broadcasts, challenges, programme, questions, results, retention, survey
    from web.server import start_attached, stop_attached

    return [
        RunningPart("arrival", arrival.start_arrival, reload=arrival.reload_arrival),
        RunningPart("broadcasts", broadcasts.start_broadcasts, broadcasts.stop_broadcasts),
        RunningPart("challenges", challenges.start_challenges, reload=challenges.reload_challenges),
        RunningPart("dashboard", start_attached, stop_attached),
        # No reload step: the programme performs the reload, then has the others follow it.
        RunningPart(
            "programme", partial(programme.start_programme, after_reload=run_reload), programme.stop_programme
        ),
        RunningPart("questions", questions.start_questions),
        RunningPart("survey", survey.start_survey, reload=survey.reload_survey),
        RunningPart("results", results.start_results, reload=results.reload_results),
        RunningPart("retention", retention.start_retention, reload=retention.reload_retention),
    ]


async def run_startup(application: HackbotApplication) -> None:
    """Start every running part, in order."""
    for part in running_parts():
        await part.start(application)


async def run_shutdown(application: HackbotApplication) -> None:
    """Stop every running part, last started first."""
    for part in reversed(running_parts()):
        if part.stop is not None:
            await part.stop(application)


async def run_reload(application: HackbotApplication) -> None:
    """Tell every running part that a new event file is in force (after `services.event` changed)."""
    for part in running_parts():
        if part.reload is not None:
            await part.reload(application)
