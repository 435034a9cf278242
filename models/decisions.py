"""Contended decisions (a place in a team, a seat at a meal, a vote) taken in arrival order, in batches.

When a room of people presses "Join" within the same instant, Telegram hands the bot their taps
together (one `getUpdates` answer) and numbers them in the order they were pressed (the update
id). Taking one write transaction per tap would queue every tap behind the previous one (SQLite
has one writer) and decide in whatever order the tasks happen to reach the database. Instead:

- every update that may ask for a decision is *expected* as soon as it arrives (in update-id order), with
  its update id as its ticket (`expect`), and *withdrawn* when its handling ends (`withdraw`);
- a handler asks with `decide(ticket, decision)`, where `decision(session)` is a domain function
  call on a session it must not commit;
- the decisions asked for are taken together, in ONE transaction, in ticket order: as soon as
  every expected ticket has asked; else, after `hold` (a few ms), those before the first ticket
  still on its way; after `patience`, all of them (a slow neighbour must not stall the room).
  Consecutive `Grouped` decisions of one kind go to one call (`models.challenges.join_many`
  decides a room's joins in a handful of statements). If a decision raises, the transaction is
  rolled back and the batch taken again with a savepoint per decision: the failing one is undone
  alone and its caller gets the error, the others are committed;
- each caller gets its own decision's result (everything it needs to answer, read in the same
  transaction), once the transaction has committed.

A tap whose decisions are batched this way costs one write transaction per batch, not per person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from models.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

Decision = Callable[[AsyncSession], Awaitable[T]]
"""One domain call on the batch's session (it never commits)."""

Item = TypeVar("Item")


@dataclass(frozen=True)
class Grouped(Generic[Item, T]):
    """A decision that can be taken together with its neighbours of the same kind, in one call.

    `many(session, items)` decides the items in order and returns one result each (e.g.
    `models.challenges.join_many`: a room's joins in a handful of statements instead of six each).
    Consecutive grouped decisions with the same `many` (in ticket order) go to one call.
    """

    many: Callable[[AsyncSession, list[Item]], Awaitable[list[T]]]
    item: Item

    async def __call__(self, session: AsyncSession) -> T:
        """Decide this one alone."""
        (result,) = await self.many(session, [self.item])
        return result


DEFAULT_HOLD = 0.02
"""How long (seconds) a decision waits for the taps that arrived with it before a batch goes without them."""
DEFAULT_PATIENCE = 0.5
"""How long (seconds) a decision waits for an earlier ticket before it is taken anyway."""


@dataclass
class _Request:
    ticket: int
    decision: Decision[Any] | Grouped[Any, Any]
    future: asyncio.Future[Any]
    since: float = field(default_factory=time.monotonic)


class DecisionBatcher:
    """Takes contended decisions in ticket order, those asked for together in one transaction."""

    def __init__(
        self, db: Database, *, hold: float = DEFAULT_HOLD, patience: float = DEFAULT_PATIENCE
    ) -> None:
        self._db = db
        self._hold = hold
        self._patience = patience
        self._expected: dict[int, int] = {}  # ticket -> how many handlers may still ask with it
        self._requests: dict[int, _Request] = {}
        self._changed: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions taken so far (each held one or more decisions)."""

    def expect(self, ticket: int) -> None:
        """A decision may be asked for with `ticket`: later tickets wait for it (at most `hold`)."""
        self._expected[ticket] = self._expected.get(ticket, 0) + 1

    def withdraw(self, ticket: int) -> None:
        """The handling of `ticket` is over: no decision will come from it (any more)."""
        self._consume(ticket)

    def _consume(self, ticket: int) -> None:
        count = self._expected.get(ticket, 0) - 1
        if count > 0:
            self._expected[ticket] = count
        elif self._expected.pop(ticket, None) is not None:
            self._poke()

    async def decide(self, ticket: int, decision: Decision[T] | Grouped[Any, T]) -> T:
        """Take `decision` in its turn, in a transaction shared with the decisions asked at the same time.

        Returns what `decision` returned, once committed; raises what it raised (it was undone).
        """
        while ticket in self._requests:  # a second decision for the same update: after the first
            await asyncio.wait([self._requests[ticket].future])
        self._consume(ticket)  # asked: later tickets no longer wait for this one
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._requests[ticket] = _Request(ticket, decision, future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="decisions")
        self._poke()
        return await future

    # ---- the worker ---------------------------------------------------------------------------------

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _ready(self, now: float) -> list[_Request]:
        """The requests to decide now, in ticket order (empty: wait for more).

        Everyone expected has asked: all of them. Otherwise, once the oldest request has waited
        `hold`, those before the first ticket still on its way; after `patience`, all of them (a
        neighbour stuck elsewhere must not stall the room).
        """
        ordered = [request for _, request in sorted(self._requests.items())]
        unasked = [ticket for ticket in self._expected if ticket not in self._requests]
        if not unasked:
            return ordered
        waited = now - min(request.since for request in ordered)
        if waited >= self._patience:
            return ordered
        if waited < self._hold:
            return []
        first_unasked = min(unasked)
        return [request for request in ordered if request.ticket < first_unasked]

    def _next_check(self, now: float) -> float:
        waited = now - min(request.since for request in self._requests.values())
        return max(0.0, (self._hold if waited < self._hold else self._patience) - waited)

    async def _run(self) -> None:
        self._changed = asyncio.Event()
        while self._requests:
            # Let the taps handed over with this one reach their request first (one loop turn).
            await asyncio.sleep(0)
            now = time.monotonic()
            batch = self._ready(now)
            if not batch:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._next_check(now))
                continue
            for request in batch:
                del self._requests[request.ticket]
            await self._take(batch)

    async def _take(self, batch: list[_Request]) -> None:
        """One transaction for the batch; the callers learn their result after the commit.

        The decisions run one after the other without savepoints (two statements fewer each). If
        one raises, the transaction is rolled back and the batch taken again with a savepoint per
        decision, so the failing one is undone alone and its caller gets the error.
        """
        try:
            try:
                outcomes = await self._attempt(batch, savepoints=False)
            except _DecisionFailedError:
                outcomes = await self._attempt(batch, savepoints=True)
        except Exception as exc:  # the transaction failed: nothing was decided
            log.exception("a batch of %d decisions failed", len(batch))
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        finally:
            self.batches += 1
        for request, succeeded, value in outcomes:
            if request.future.done():  # the caller gave up (cancelled)
                continue
            if succeeded:
                request.future.set_result(value)
            else:
                request.future.set_exception(value)

    async def _attempt(self, batch: list[_Request], *, savepoints: bool) -> list[tuple[_Request, bool, Any]]:
        outcomes: list[tuple[_Request, bool, Any]] = []
        async with self._db.transaction() as session:
            if savepoints:  # one at a time, each undone alone if it fails
                for request in batch:
                    try:
                        async with session.begin_nested():
                            outcomes.append((request, True, await request.decision(session)))
                    except Exception as exc:
                        outcomes.append((request, False, exc))
                return outcomes
            for run in _runs(batch):
                try:
                    first = run[0].decision
                    if isinstance(first, Grouped):
                        items = [r.decision.item for r in run if isinstance(r.decision, Grouped)]
                        results = await first.many(session, items)
                    else:
                        results = [await first(session)]
                except Exception as exc:
                    raise _DecisionFailedError from exc
                outcomes += [(request, True, result) for request, result in zip(run, results, strict=True)]
        return outcomes


def _runs(batch: list[_Request]) -> list[list[_Request]]:
    """The batch cut into runs: consecutive grouped decisions of one kind together, others alone."""
    runs: list[list[_Request]] = []
    for request in batch:
        decision = request.decision
        previous = runs[-1][-1].decision if runs else None
        if isinstance(decision, Grouped) and isinstance(previous, Grouped) and previous.many == decision.many:
            runs[-1].append(request)
        else:
            runs.append([request])
    return runs


class _DecisionFailedError(Exception):
    """A decision raised in a batch taken without savepoints: take the batch again with them."""
