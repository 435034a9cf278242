"""Flood limits like Telegram's: per bot overall, per private chat and per group.

Telegram documents them loosely ("about 30 messages per second", "one message per second in a chat,
short bursts allowed", "20 messages per minute in a group"); the simulator makes them exact so that tests
of the delivery path are deterministic:

* per bot, at most ``global_per_second`` sends in any sliding one-second window;
* per private chat, a token bucket holding ``private_burst`` tokens refilled at ``private_per_second``;
* per group or supergroup, at most ``group_per_minute`` sends in any sliding 60-second window.

``RateLimiter.check`` only looks; ``RateLimiter.consume`` is called once the send succeeded, so a refused
or failed request costs nothing.  Time comes from an injectable clock for the unit tests.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RateLimitConfig", "RateLimiter", "SlidingWindow", "TokenBucket"]


@dataclass(frozen=True)
class RateLimitConfig:
    """The numbers behind the limits (Telegram's defaults)."""

    global_per_second: int = 30
    private_burst: float = 3.0
    private_per_second: float = 1.0
    group_per_minute: int = 20
    # Telegram does not document whether edits share the limits of sends; counting them is the safe side.
    count_edits: bool = True


class SlidingWindow:
    """At most ``limit`` events in any window of ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._events: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.period:
            self._events.popleft()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        self._forget(now)
        if len(self._events) < self.limit:
            return 0.0
        return self._events[len(self._events) - self.limit] + self.period - now

    def add(self, now: float) -> None:
        """Record one event."""
        self._forget(now)
        self._events.append(now)


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` per second, one token per event."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        # Never refill backwards: callers may read the clock just before the bucket was created.
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)

    def wait_time(self, now: float) -> float:
        """Seconds until a whole token is available."""
        self._refill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def add(self, now: float) -> None:
        """Take one token."""
        self._refill(now)
        self._tokens -= 1.0


@dataclass
class RateLimiter:
    """The limits of all bots; keys are (bot id, chat id)."""

    config: RateLimitConfig = field(default_factory=RateLimitConfig)
    clock: Callable[[], float] = time.monotonic
    _global: dict[int, SlidingWindow] = field(default_factory=dict)
    _private: dict[tuple[int, int], TokenBucket] = field(default_factory=dict)
    _groups: dict[tuple[int, int], SlidingWindow] = field(default_factory=dict)

    def _limits(
        self, bot_id: int, chat_id: int, is_private: bool, now: float
    ) -> list[SlidingWindow | TokenBucket]:
        limits: list[SlidingWindow | TokenBucket] = [
            self._global.setdefault(bot_id, SlidingWindow(self.config.global_per_second, 1.0))
        ]
        if is_private:
            limits.append(
                self._private.setdefault(
                    (bot_id, chat_id),
                    TokenBucket(self.config.private_burst, self.config.private_per_second, now),
                )
            )
        else:
            limits.append(
                self._groups.setdefault((bot_id, chat_id), SlidingWindow(self.config.group_per_minute, 60.0))
            )
        return limits

    def check(self, bot_id: int, chat_id: int, is_private: bool) -> int:
        """0 when a send may go now, else Telegram's ``retry_after``: whole seconds, at least 1."""
        now = self.clock()
        wait = max(limit.wait_time(now) for limit in self._limits(bot_id, chat_id, is_private, now))
        # A float rounding remainder must not turn "allowed now" into a one-second wait.
        return 0 if wait <= 1e-9 else max(1, math.ceil(wait - 1e-9))

    def consume(self, bot_id: int, chat_id: int, is_private: bool) -> None:
        """Count one successful send."""
        now = self.clock()
        for limit in self._limits(bot_id, chat_id, is_private, now):
            limit.add(now)
