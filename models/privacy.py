"""What `/mydata` shows and what `/forget` erases, contributed by every feature.

Each feature that stores something about a person registers a provider (what to show) and, if its
rows are not removed by a foreign-key cascade, an erasure hook. Keeping the registry here means the
privacy commands never forget a table that a later feature adds.

Two kinds of data:

- about a participant (`register_data_provider`, `register_erasure_hook`): rows tied to the
  `participants` row (team, meals, questions...), shown and erased only for someone registered;
- about a Telegram account (`register_account_data_provider`, `register_account_erasure_hook`):
  rows keyed by a Telegram user id that may exist without registration, because organisers and
  facilitators need not be participants (announcement drafts, dashboard sessions, staff actions,
  messages sent to the chat). They are shown and erased for anyone who asks.

Providers return plain values (`DataItem`), made readable without catalogs: a title from the event
file is picked in the person's language by the provider; a fixed wording is a `Phrase` (a catalog
key and its parameters) that `handlers.profile` renders. Nothing here knows Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession

from models.participant import Participant
from schedule.config import EventConfig

if TYPE_CHECKING:  # `models.outbox` registers its own hooks here: a runtime import would be circular
    from models.outbox import Texts

ERASED_ID = 0
"""Put in a NOT NULL Telegram-id column of a record kept after its author erased their data (the
announcement an organiser sent, the pause an organiser decided). No Telegram user or chat has id 0,
so it never points at anyone."""


Value: TypeAlias = "str | int | datetime | Phrase | None"
"""What a `DataItem` or a `Phrase` parameter may hold."""


@dataclass(frozen=True)
class Phrase:
    """A value worded by the catalog: `key` rendered in the person's language with `params`.

    Parameters are escaped by the catalog like every other; a parameter may itself be a `Phrase`
    or a datetime (shown in the event's timezone).
    """

    key: str
    params: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class DataItem:
    """One line of `/mydata`: a catalog key for the label and the stored value.

    Text values are shown as stored (escaped); datetimes in the event's timezone; None as a dash.
    """

    label_key: str
    value: Value


@dataclass(frozen=True)
class ErasureContext:
    """What an erasure hook may need beyond the session: an erasure can change what others see.

    Freeing a team place gives it to the first person waiting, who is told in the same
    transaction: the hook words that message with the event in force and the catalog.
    """

    event: EventConfig
    texts: Texts
    now: datetime


DataProvider = Callable[[AsyncSession, Participant, EventConfig], Awaitable[list[DataItem]]]
ErasureHook = Callable[[AsyncSession, Participant, ErasureContext | None], Awaitable[None]]
"""Runs inside the `/forget` transaction; the context is None only for callers that cannot word a
message (tests and tools erasing people nobody waits behind)."""
AccountDataProvider = Callable[[AsyncSession, int], Awaitable[list[DataItem]]]
AccountErasureHook = Callable[[AsyncSession, int], Awaitable[bool]]
"""Takes a Telegram user id; returns True when it erased (or anonymised) something."""

_providers: list[DataProvider] = []
_erasure_hooks: list[ErasureHook] = []
_account_providers: list[AccountDataProvider] = []
_account_erasure_hooks: list[AccountErasureHook] = []


def register_data_provider(provider: DataProvider) -> DataProvider:
    """Add a participant data provider (usable as a decorator); registering twice has no effect."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def register_erasure_hook(hook: ErasureHook) -> ErasureHook:
    """Add an erasure hook, run inside the `/forget` transaction before the participant row goes."""
    if hook not in _erasure_hooks:
        _erasure_hooks.append(hook)
    return hook


def register_account_data_provider(provider: AccountDataProvider) -> AccountDataProvider:
    """Add a provider of data keyed by a Telegram id (shown to registered people and others alike)."""
    if provider not in _account_providers:
        _account_providers.append(provider)
    return provider


def register_account_erasure_hook(hook: AccountErasureHook) -> AccountErasureHook:
    """Add an erasure hook for data keyed by a Telegram id (run by `/forget`, registered or not)."""
    if hook not in _account_erasure_hooks:
        _account_erasure_hooks.append(hook)
    return hook


async def collect_personal_data(
    session: AsyncSession, telegram_id: int, participant: Participant | None, event: EventConfig
) -> list[list[DataItem]]:
    """Everything stored about one person, one block per feature (empty blocks left out)."""
    blocks: list[list[DataItem]] = []
    if participant is not None:
        for provider in _providers:
            blocks.append(await provider(session, participant, event))
    for account_provider in _account_providers:
        blocks.append(await account_provider(session, telegram_id))
    return [block for block in blocks if block]


async def run_erasure_hooks(
    session: AsyncSession,
    telegram_id: int,
    participant: Participant | None,
    erasure: ErasureContext | None = None,
) -> bool:
    """Erase what every feature stored about the person; True if anything was there."""
    erased = participant is not None
    if participant is not None:
        for hook in _erasure_hooks:
            await hook(session, participant, erasure)
    for account_hook in _account_erasure_hooks:
        erased = await account_hook(session, telegram_id) or erased
    return erased
