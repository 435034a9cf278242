"""Keeping the teams in line with the event file: at start, and each time the file is reloaded.

The event file says which challenges exist and their capacities; the database holds the teams.
`models.challenges.sync_with_event` aligns them in one transaction: new challenges get a row,
removed ones are emptied and their people told to pick again, freed places go to the first people
waiting, who are told. It runs as the start step and the reload step of the "challenges" running
part (`bot.lifecycle`); no job polls for it.
"""

from __future__ import annotations

import logging

from bot.context import HackbotApplication, Services
from models import challenges

log = logging.getLogger(__name__)


async def ensure_synced(services: Services) -> int:
    """Align the challenge rows with the event in force; returns how many people were told."""
    async with services.db.transaction() as session:
        told = await challenges.sync_with_event(session, services.event, services.catalog, services.now())
    if told:
        log.info("challenges aligned with the event file: %d people told", told)
        services.wake_sender()
    return told


async def start_challenges(application: HackbotApplication) -> None:
    """Start step: the database follows the event file before any update is handled."""
    await ensure_synced(application.bot_data.services)


async def reload_challenges(application: HackbotApplication) -> None:
    """Reload step: a new event file is in force (`services.event`); follow it."""
    await ensure_synced(application.bot_data.services)
