"""What `/mydata` shows and what `/forget` erases, contributed by every feature.

Each feature that stores something about a person registers a provider (what to show) and, if its
rows are not removed by a foreign-key cascade, an erasure hook. Keeping the registry here means the
privacy commands never forget a table that a later feature adds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.participant import Participant


@dataclass(frozen=True)
class DataItem:
    """One line of `/mydata`: a catalog key for the label and the stored value.

    Text values are shown as stored (escaped); datetimes are shown in the event's timezone.
    """

    label_key: str
    value: str | datetime | None


DataProvider = Callable[[AsyncSession, Participant], Awaitable[list[DataItem]]]
ErasureHook = Callable[[AsyncSession, Participant], Awaitable[None]]

_providers: list[DataProvider] = []
_erasure_hooks: list[ErasureHook] = []


def register_data_provider(provider: DataProvider) -> DataProvider:
    """Add a provider (usable as a decorator); registering the same one twice has no effect."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def register_erasure_hook(hook: ErasureHook) -> ErasureHook:
    """Add an erasure hook, run inside the `/forget` transaction before the participant row goes."""
    if hook not in _erasure_hooks:
        _erasure_hooks.append(hook)
    return hook


async def collect_personal_data(session: AsyncSession, participant: Participant) -> list[DataItem]:
    """Everything stored about one person, feature by feature."""
    items: list[DataItem] = []
    for provider in _providers:
        items.extend(await provider(session, participant))
    return items


async def run_erasure_hooks(session: AsyncSession, participant: Participant) -> None:
    """Erase what every feature stored about the person."""
    for hook in _erasure_hooks:
        await hook(session, participant)
