"""`TelegramThrottle`: the rate limiter every request of the bot passes through.

Installed with `ApplicationBuilder().rate_limiter(TelegramThrottle())`, it sees the interactive
replies of the handlers and the outbox sender's bulk traffic alike, so one budget is shared and a
button pressed during a 1,000-person broadcast is still answered at once (interactive requests
jump ahead of bulk ones).

The rules live in `bot.delivery.limits.Scheduler` (pure, tested with a fake clock). This module is
the asyncio shell around it: one pump task grants requests in order and sleeps exactly until the
next one may go; each caller awaits its grant, then sends its own request, so requests to
different chats are in flight concurrently.

Departures are measured, not assumed: a request holds its place in the bot-wide window from its
grant until it is answered, then for as long as its round trip says it may have reached Telegram
late (`limits.ArrivalWindow`), so a slowed process (CPU contention, a garbage collection, a slow
database write) never bunches requests up. Callers are granted a little ahead of time (the lag
they typically need before leaving, measured) and leave no sooner than allowed, so that lag does
not cost throughput. Any 429 slows the pace down, which then recovers (see `RateLimits`).

`rate_limit_args` (a dict, all keys optional): `{"priority": "background" | "bulk" | "interactive",
"max_retries": int, "before_send": async callable}`. `before_send` is awaited once the request may
go and before it leaves (the outbox sender records there that the request may have reached
Telegram); if it raises, the request is not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.limits import ChatKey, Priority, RateLimits, Scheduler, Ticket

log = logging.getLogger(__name__)

_COUNTED_PREFIXES = ("send", "editMessage")
_COUNTED_ENDPOINTS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})
_MAX_LEAD = 0.1  # seconds a request may be granted ahead of the bot-wide limits


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
        raise ValueError(f"unknown priority {value!r}: use 'background', 'bulk' or 'interactive'") from None


DEFAULT_LIMITS = RateLimits(global_per_second=30.0, replay_slack=0.05)
"""What the bot runs with: Telegram's 30 requests, in any 1.02 s rather than any second.

The 20 ms of margin is enough because the rest is measured: a request counts from when it really
leaves (not from when it was allowed to), holds its place until it is answered, and then for as
much longer as its round trip exceeded the fastest recent one (see `limits.ArrivalWindow`); and
every 429 slows the pace down, then it recovers. `RateLimits()`'s 29 in 1.02 s was a fixed
allowance for all that, which cost 3 % of the throughput. What a previous process sent in its
last minute (replayed at start) holds its place 50 ms longer: its round trips are unknown."""


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """Why sending is slower than usual right now, for reports: a 429 pause and the pace."""

    paused_for: float  # seconds the whole bot still waits at Telegram's request (0: not paused)
    last_retry_after: float  # the longest wait Telegram asked for in the last `recent` seconds (0: none)
    rate_scale: float  # the global pace as a fraction of the configured one

    @property
    def slowed(self) -> bool:
        """True when Telegram asked the bot to wait recently."""
        return self.paused_for > 0 or self.last_retry_after > 0


def _follow(estimate: float, sample: float, up: float = 0.2, down: float = 0.02) -> float:
    """Move an estimate towards a new sample, faster upwards than downwards.

    With the defaults it follows about the 90th percentile: a lag longer than the estimate costs
    throughput, a shorter one only a short wait.
    """
    return max(0.0, estimate + (up if sample > estimate else down) * (sample - estimate))


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
        self.limits = limits or DEFAULT_LIMITS
        self.max_retries = max_retries
        self._clock = clock
        self._scheduler = Scheduler(self.limits, clock())
        self._waiters: dict[Ticket, asyncio.Future[None]] = {}
        self._wake: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self.floods = 0  # 429 answers seen (for monitoring and tests)
        self._long_waits: list[tuple[float, float]] = []  # (when, retry_after) of recent 429s
        # Learnt (see `_ready_to_leave`): grant to caller running, and the time `before_send` takes.
        self._wake_lag = 0.0
        self._send_prep = 0.0

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

    def state(self, recent: float = 120.0) -> ThrottleState:
        """Whether Telegram slowed the bot down in the last `recent` seconds (for reports)."""
        now = self._clock()
        self._long_waits = [(at, wait) for at, wait in self._long_waits if at + wait > now - recent]
        return ThrottleState(
            paused_for=max(0.0, self._scheduler.paused_until - now),
            last_retry_after=max((wait for _, wait in self._long_waits), default=0.0),
            rate_scale=self._scheduler.rate_scale,
        )

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

    async def _ready_to_leave(
        self, ticket: Ticket, before_send: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """Run `before_send` as late as possible, then wait until the ticket may leave.

        A ticket is granted ahead of time by what its caller typically needs before leaving: the
        time to be woken, and `before_send` (the sender's database write). Both are learnt here.
        `before_send` starts so as to end about when the ticket may leave: what it records (that
        the request may have reached Telegram) is then true within milliseconds, not the whole lead.
        """
        now = self._clock()
        self._wake_lag = _follow(self._wake_lag, now - ticket.granted_at)
        if before_send is not None:
            start = ticket.not_before - self._send_prep
            if start > now:
                await asyncio.sleep(start - now)
            began = self._clock()
            await before_send()
            # Nearer the median: each millisecond it ends early is one more millisecond in which
            # a crash would count the request "in doubt" although it had not left.
            self._send_prep = _follow(self._send_prep, self._clock() - began, up=0.1, down=0.05)
        self._scheduler.lead = min(_MAX_LEAD, self._wake_lag + self._send_prep)
        wait = ticket.not_before - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)

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
        before_send: Callable[[], Awaitable[object]] | None = (rate_limit_args or {}).get("before_send")

        if not is_counted(endpoint):
            # answerCallbackQuery, getX, deleteMessage...: not counted, so never delayed.
            if before_send is not None:
                await before_send()
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

        ticket = Ticket(chat=chat_key(data.get("chat_id")), priority=priority, measured=True)
        await self._granted(ticket, new=True)
        try:
            await self._ready_to_leave(ticket, before_send)
        except BaseException:
            self._release(ticket)
            raise
        attempt = 0
        while True:
            try:
                if attempt:
                    await self._ready_to_leave(ticket)
                self._scheduler.departed(ticket, self._clock())
                self._notify()  # a place it held in the window may be known now
                try:
                    result = await callback(*args, **kwargs)
                finally:
                    # Its round trip bounds when it reached Telegram (see `ArrivalWindow`).
                    self._scheduler.answered(ticket, self._clock())
            except RetryAfter as exc:
                attempt += 1
                self.floods += 1
                if attempt > max_retries:
                    self._release(ticket)
                    raise
                delay = retry_after_seconds(exc)
                now = self._clock()
                self._long_waits = [(at, wait) for at, wait in self._long_waits if at + wait > now - 600]
                self._long_waits.append((now, delay))
                whole_bot = self._scheduler.flood(ticket, now, delay)
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
