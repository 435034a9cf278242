"""`TelegramThrottle`: the rate limiter every request of the bot passes through.

Installed with `ApplicationBuilder().rate_limiter(TelegramThrottle())`, it sees the interactive
replies of the handlers and the outbox sender's bulk traffic alike, so one budget is shared and a
button pressed during a 1,000-person broadcast is still answered at once (interactive requests
jump ahead of bulk ones).

The rules live in `bot.delivery.limits.Scheduler` (pure, tested with a fake clock). This module is
the asyncio shell around it: one pump task grants requests in order and sleeps exactly until the
next one may go; each caller awaits its grant, then sends its own request, so requests to
different chats are in flight concurrently.

`rate_limit_args` (a dict, all keys optional): `{"priority": "bulk" | "interactive", "max_retries": int}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.limits import ChatKey, Priority, RateLimits, Scheduler, Ticket

log = logging.getLogger(__name__)

_COUNTED_PREFIXES = ("send", "editMessage")
_COUNTED_ENDPOINTS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def is_counted(endpoint: str) -> bool:
    """True for the methods Telegram counts against the flood limits (sends, copies, forwards, edits).

    Chat actions ("typing...") are not messages and are not counted.
    """
    if endpoint == "sendChatAction":
        return False
    return endpoint.startswith(_COUNTED_PREFIXES) or endpoint in _COUNTED_ENDPOINTS


def chat_key(chat_id: object) -> ChatKey:
    """Normalise `data["chat_id"]`: ints (also given as digit strings), @usernames, or None."""
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text  # "@channel": a channel or supergroup, limited like a group


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, read without PTB's int-or-timedelta deprecation warning."""
    # PTB 22 stores a timedelta and warns on `.retry_after` unless PTB_TIMEDELTA is set; its own
    # AIORateLimiter reads the private attribute for the same reason.
    value: object = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    if isinstance(value, timedelta):
        return max(value.total_seconds(), 0.0)
    return max(float(value), 0.0)  # type: ignore[arg-type]


def parse_priority(rate_limit_args: dict[str, Any] | None) -> Priority:
    """Interactive unless `{"priority": "bulk"}` (or `Priority.BULK`) was passed."""
    if not rate_limit_args:
        return Priority.INTERACTIVE
    value = rate_limit_args.get("priority", Priority.INTERACTIVE)
    if isinstance(value, Priority):
        return value
    try:
        return Priority[str(value).upper()]
    except KeyError:
        raise ValueError(f"unknown priority {value!r}: use 'bulk' or 'interactive'") from None


class TelegramThrottle(BaseRateLimiter[dict[str, Any]]):
    """Client-side flood control: global, per private chat, per group, with priorities and retries."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`max_retries`: how many times a request refused with 429 is sent again before raising."""
        if max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        self.limits = limits or RateLimits()
        self.max_retries = max_retries
        self._clock = clock
        self._scheduler = Scheduler(self.limits, clock())
        self._waiters: dict[Ticket, asyncio.Future[None]] = {}
        self._wake: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self.floods = 0  # 429 answers seen (for monitoring and tests)

    # -- lifecycle ---------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Start the pump (also started lazily by the first request)."""
        self._ensure_pump()

    async def shutdown(self) -> None:
        """Stop the pump; requests still waiting fail instead of hanging forever."""
        task, self._pump_task = self._pump_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_waiters(RuntimeError("TelegramThrottle was shut down"))

    def _ensure_pump(self) -> None:
        if self._pump_task is None or self._pump_task.done():
            self._wake = asyncio.Event()
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name="telegram-throttle")

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _fail_waiters(self, error: BaseException) -> None:
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()

    async def _pump(self) -> None:
        """Grant requests one by one; sleep exactly until the next may go, or until woken."""
        assert self._wake is not None
        wake = self._wake
        try:
            while True:
                ticket, wait = self._scheduler.next_grant(self._clock())
                if ticket is not None:
                    future = self._waiters.pop(ticket, None)
                    if future is None or future.done():
                        # Its caller gave up between the grant decision and now.
                        self._scheduler.release(ticket)
                    else:
                        future.set_result(None)
                    continue
                # No await between `next_grant` and `clear`: a submit cannot slip in unnoticed.
                wake.clear()
                if wait is None:
                    await wake.wait()
                else:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("throttle pump crashed; failing waiting requests")
            self._fail_waiters(exc)
            raise

    # -- memory across restarts --------------------------------------------------------------

    def recent_sends(self) -> list[tuple[ChatKey, float]]:
        """What this process sent in the last minute: (chat, seconds ago), oldest first."""
        return self._scheduler.recent(self._clock())

    def replay(self, sends: list[tuple[ChatKey, float]]) -> None:
        """Count what a previous process sent (chat, seconds ago): Telegram still counts it."""
        self._scheduler.replay(sends, self._clock())

    # -- requests ----------------------------------------------------------------------------

    async def _granted(self, ticket: Ticket, *, new: bool) -> None:
        """Wait until the scheduler lets `ticket` go."""
        self._ensure_pump()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[ticket] = future
        if new:
            self._scheduler.submit(ticket, self._clock())
        self._notify()
        try:
            await future
        except asyncio.CancelledError:
            self._waiters.pop(ticket, None)
            if future.done() and not future.cancelled():
                self._scheduler.release(ticket)  # granted, but our caller was cancelled meanwhile
                self._notify()
            else:
                self._scheduler.withdraw(ticket)
            raise

    def _release(self, ticket: Ticket) -> None:
        self._scheduler.release(ticket)
        self._notify()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the limits, send, and on 429 pause and retry up to `max_retries` times."""
        priority = parse_priority(rate_limit_args)
        max_retries = int((rate_limit_args or {}).get("max_retries", self.max_retries))

        if not is_counted(endpoint):
            # answerCallbackQuery, getX, deleteMessage...: not counted, so never delayed.
            attempt = 0
            while True:
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    attempt += 1
                    self.floods += 1
                    if attempt > max_retries:
                        raise
                    delay = retry_after_seconds(exc)
                    log.warning("429 on %s, retry %d in %.1fs", endpoint, attempt, delay)
                    await asyncio.sleep(delay)

        ticket = Ticket(chat=chat_key(data.get("chat_id")), priority=priority)
        await self._granted(ticket, new=True)
        attempt = 0
        while True:
            self._scheduler.departed(ticket, self._clock())
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                attempt += 1
                self.floods += 1
                if attempt > max_retries:
                    self._release(ticket)
                    raise
                delay = retry_after_seconds(exc)
                whole_bot = self._scheduler.flood(ticket, self._clock(), delay)
                # Chat ids only: they identify a conversation, not what was said in it.
                log.warning(
                    "429 on %s for chat %s: pausing %s for %.1fs (retry %d/%d)",
                    endpoint,
                    ticket.chat,
                    "the bot" if whole_bot else "the chat",
                    delay,
                    attempt,
                    max_retries,
                )
                await self._granted(ticket, new=False)
                continue
            except BaseException:
                self._release(ticket)
                raise
            self._release(ticket)
            return result
