"""Pure rate-limit bookkeeping for outgoing Telegram requests: buckets, windows and the wait queue.

Nothing here knows about PTB or asyncio. Every method takes `now` (seconds on a monotonic clock)
and returns how long to wait, so the rules are unit-tested with a fake clock and the async layer
(`bot.delivery.throttle`) only sleeps for the delays computed here.

The rules, per request that Telegram counts (sends, copies, forwards, edits):

- the whole bot: at most `global_per_second` requests in any `global_window` (1.02 s), spaced
  almost evenly (see `RateLimits`);
- a private chat (id > 0): a token bucket, `private_burst` tokens, one back every `private_interval`;
- a group or channel (id < 0, or an @username): at most `group_per_window` in any `group_window`;
- one request in flight per chat, so a chat receives its messages in the order they were queued;
- among chats that may send now, interactive requests go before bulk ones, then first come first served;
- after a 429 the chat (or, when several chats are refused at once, the whole bot) is paused, and
  the pace slows down, then recovers (multiplicative decrease, additive increase: see `RateLimits`);
- a request counts from when it leaves, measured: one granted but not gone yet (its caller has not
  run, a garbage collection, a slow database write before it) counts as leaving now, so a late
  departure never lets the next ones bunch up behind it;
- background requests (an organiser's progress message) go only when nothing else may go, or once
  they waited `background_max_wait` seconds.
"""

from __future__ import annotations

import bisect
import contextlib
import enum
from collections import deque
from dataclasses import dataclass, field

# Float arithmetic on refills leaves 0.9999999 tokens after sleeping exactly the computed delay;
# treating that as a whole token avoids a second, microsecond-long sleep.
EPSILON = 1e-6

ChatKey = int | str | None


class Priority(enum.IntEnum):
    """Who waits for a request: a person who just tapped a button, or nobody in particular."""

    BACKGROUND = -1  # cosmetic progress edits: only when nothing else may go (or waited too long)
    BULK = 0  # reminders, broadcasts: may wait seconds
    INTERACTIVE = 1  # replies to an update: should leave within a few tens of milliseconds


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Client-side limits, slightly stricter than Telegram's so network jitter never causes a 429.

    The global limit has two parts. A sliding window lets at most `global_per_second` requests go
    in any `global_window` seconds (29 in 1.02 s: 28.4 a second, so that 31 requests always span
    more than a second even when network or event-loop jitter squeezes them by 50 ms): that is the
    binding rule under load. A pacing bucket (capacity `global_burst`, one token every
    `global_pacing` of the even spacing, 32 ms with the defaults) spreads them out, so that the bot
    never sends a clump that jitter could push into one server window.

    Why both: a pacing bucket alone, refilled every 1/29 s, loses every late wake-up of the sender
    for good (an asyncio timer fires about a millisecond late, more on a busy machine: 29/s became
    28.2/s on a quiet machine and 25.5/s on a congested one). The window measures from the request
    29 back instead, so a late wake-up is caught up at the next request.

    `margin` (seconds) lengthens the per-chat intervals and windows for the same reason.

    Adaptive: a 429 multiplies the global pace by `flood_slowdown` (by its square when the whole
    bot was refused), never below `min_rate_scale`; every `recover_every` seconds without a 429 it
    gains `recover_step` back, up to the configured pace. A refused chat's own interval (or window)
    is lengthened by `chat_slowdown` for `chat_recover_after` seconds.
    """

    global_per_second: float = 29.0
    global_burst: int = 1
    global_pacing: float = 0.9
    global_window: float = 1.02
    private_burst: int = 3
    private_interval: float = 1.0
    group_per_window: int = 20
    group_window: float = 60.0
    margin: float = 0.1
    one_in_flight_per_chat: bool = True
    # Two different chats refused within this many seconds: the limit hit is the bot's, not a chat's.
    global_flood_window: float = 1.0
    flood_slowdown: float = 0.8
    min_rate_scale: float = 0.3
    recover_every: float = 1.0
    recover_step: float = 0.05
    chat_slowdown: float = 2.0
    chat_recover_after: float = 60.0
    background_max_wait: float = 10.0
    # Seconds added to the requests of a previous process (`Scheduler.replay`): their round trips
    # are unknown, so they hold their place in the bot-wide window that much longer.
    replay_slack: float = 0.0

    def __post_init__(self) -> None:
        """Refuse limits that would divide by zero or never let anything through."""
        if self.global_per_second < 1 or self.global_burst < 1:
            raise ValueError("global limit must allow at least one request a second")
        if self.global_window < 1.0:
            raise ValueError("global window must be at least Telegram's one second")
        if not 0 < self.global_pacing <= 1:
            raise ValueError("global pacing must be in (0, 1]: a fraction of the even spacing")
        if self.private_burst < 1 or self.private_interval <= 0:
            raise ValueError("private limit must allow at least one request")
        if self.group_per_window < 1 or self.group_window <= 0:
            raise ValueError("group limit must allow at least one request")
        if self.margin < 0:
            raise ValueError("margin cannot be negative")
        if not 0 < self.flood_slowdown < 1 or not 0 < self.min_rate_scale <= 1:
            raise ValueError("a flood must slow the pace down, to a pace above zero")
        if self.recover_every <= 0 or self.recover_step <= 0 or self.chat_slowdown < 1:
            raise ValueError("the pace must recover after a flood")


class TokenBucket:
    """`capacity` tokens, one more every `interval` seconds; each request takes one.

    A request may be `reserve`d (allowed, not gone yet): its token is set aside, and taken when the
    request leaves (`take`), so a full bucket starts refilling from the departure, like Telegram's.
    """

    __slots__ = ("_tokens", "_updated", "capacity", "interval", "reserved")

    def __init__(self, capacity: int, interval: float, now: float) -> None:
        """Start full: a chat nobody wrote to recently may receive a short burst."""
        self.capacity = capacity
        self.interval = interval
        self.reserved = 0
        self._tokens = float(capacity)
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(float(self.capacity), self._tokens + (now - self._updated) / self.interval)
            self._updated = now

    def delay(self, now: float) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        self._refill(now)
        missing = 1.0 - (self._tokens - self.reserved)
        return 0.0 if missing <= EPSILON else missing * self.interval

    def reserve(self) -> None:
        """Set a token aside for a request that will leave soon (see the class docstring)."""
        self.reserved += 1

    def unreserve(self) -> None:
        """The reserved request left (then `take`) or will never leave."""
        self.reserved = max(0, self.reserved - 1)

    def take(self, now: float) -> None:
        """Use one token (the caller checked `delay` first)."""
        self._refill(now)
        self._tokens -= 1.0

    def idle(self, now: float) -> bool:
        """True when full again: forgetting the bucket changes nothing."""
        self._refill(now)
        return not self.reserved and self._tokens >= self.capacity - EPSILON


class SlidingWindow:
    """At most `limit` requests in any `period` seconds.

    A request may be `reserve`d (allowed, not gone yet): until `take` says when it left, it counts
    as leaving at every moment the window is asked about, the latest it could be.
    """

    __slots__ = ("_stamps", "limit", "period", "reserved")

    def __init__(self, limit: int, period: float) -> None:
        """Start empty."""
        self.limit = limit
        self.period = period
        self.reserved = 0
        self._stamps: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.period:
            self._stamps.popleft()

    def delay(self, now: float) -> float | None:
        """Seconds until one more request fits in the window; None until a reserved one leaves."""
        self._prune(now)
        if len(self._stamps) + self.reserved < self.limit:
            return 0.0
        counted = self.limit - self.reserved
        if counted <= 0:
            return None  # every place is held by a request that has not left yet
        # The oldest of the last `limit` requests must leave the window first.
        wait = self._stamps[-counted] + self.period - now
        return 0.0 if wait <= EPSILON else wait

    def reserve(self) -> None:
        """A request was allowed and will leave soon: count it as leaving now until it does."""
        self.reserved += 1

    def unreserve(self) -> None:
        """A reserved request left (see `take`) or will never leave."""
        self.reserved = max(0, self.reserved - 1)

    def take(self, now: float) -> None:
        """Record one request at `now`."""
        self._stamps.append(now)

    def move(self, old: float, new: float) -> None:
        """A request recorded at `old` really happened at `new` (later): count it then."""
        with contextlib.suppress(ValueError):  # already out of the window
            self._stamps.remove(old)
        bisect.insort(self._stamps, new)

    def idle(self, now: float) -> bool:
        """True when the window is empty: forgetting it changes nothing."""
        self._prune(now)
        return not self._stamps and not self.reserved


class ArrivalWindow:
    """The bot-wide window, counted on when requests may *arrive*, from what was measured.

    Telegram counts a request when it arrives. A request that left at `d` arrives at `d + x`, `x`
    being the network and both event loops' delays: the same for every request but for a variable
    part `e >= 0`. Request k may arrive within `period` of request i, 30 (`limit`) earlier, only if
    `d_k - d_i <= period + e_i`: so each request keeps its place until `d_i + period + e_i`, with
    `e_i` bounded once it completed by its round trip minus the fastest recent round trip (a slowed
    process, a busy simulator or network make both grow). Until it completes, a request keeps its
    place; until it leaves (reserved), too. A request not measured (`take(now)` without a ticket)
    keeps it until `d + period`, as a plain sliding window.
    """

    __slots__ = ("_expiries", "_in_flight", "_round_trips", "limit", "period", "reserved")

    # Round trips remembered to find the fastest recent one (the fixed part of every delay).
    _MEMORY = 128

    def __init__(self, limit: int, period: float) -> None:
        """Start empty."""
        self.limit = limit
        self.period = period
        self.reserved = 0
        self._expiries: list[float] = []  # when each counted request frees its place
        self._in_flight: dict[object, float] = {}  # measured requests gone, not answered: departure
        self._round_trips: deque[float] = deque(maxlen=self._MEMORY)

    def _prune(self, now: float) -> None:
        # In the order they were counted, like `SlidingWindow`: a request not measured that left
        # late (`move`) holds back those counted after it.
        expiries = self._expiries
        cut = 0
        while cut < len(expiries) and expiries[cut] <= now:
            cut += 1
        if cut:
            del expiries[:cut]

    def delay(self, now: float) -> float | None:
        """Seconds until one more request may go; None until a request leaves or is answered."""
        self._prune(now)
        held = len(self._expiries) + len(self._in_flight) + self.reserved
        if held < self.limit:
            return 0.0
        must_free = held - self.limit + 1
        if must_free > len(self._expiries):
            return None  # only requests not answered yet could free a place
        wait = self._expiries[must_free - 1] - now
        return 0.0 if wait <= EPSILON else wait

    def reserve(self) -> None:
        """A request was allowed and will leave soon: it holds a place until it is answered."""
        self.reserved += 1

    def unreserve(self) -> None:
        """A reserved request left (see `take`) or will never leave."""
        self.reserved = max(0, self.reserved - 1)

    def take(self, now: float, token: object | None = None) -> None:
        """A request leaves at `now`; with a `token`, its place is kept until `complete(token)`."""
        if token is None:
            self._expiries.append(now + self.period)
        else:
            self._in_flight[token] = now

    def complete(self, token: object, now: float) -> None:
        """The request of `token` was answered (whatever the answer): its place frees in time."""
        departed = self._in_flight.pop(token, None)
        if departed is None:
            return
        round_trip = max(0.0, now - departed)
        self._round_trips.append(round_trip)
        variable = round_trip - min(self._round_trips)
        bisect.insort(self._expiries, departed + self.period + variable)

    def abandon(self, token: object) -> None:
        """A request gone without an answer we will hear of: its place frees `period` after it left."""
        departed = self._in_flight.pop(token, None)
        if departed is not None:
            bisect.insort(self._expiries, departed + self.period)

    def move(self, old: float, new: float) -> None:
        """A request recorded at `old` (not measured) really left at `new` (later)."""
        with contextlib.suppress(ValueError):  # already out of the window
            self._expiries.remove(old + self.period)
        bisect.insort(self._expiries, new + self.period)

    def idle(self, now: float) -> bool:
        """True when nothing is counted any more."""
        self._prune(now)
        return not self._expiries and not self._in_flight and not self.reserved


@dataclass(eq=False, slots=True)
class Ticket:
    """One request waiting for (or holding) permission to go. Compared by identity."""

    chat: ChatKey
    priority: Priority = Priority.INTERACTIVE
    seq: int = -1  # arrival order, given by `Scheduler.submit`; kept across 429 retries
    granted_at: float = 0.0  # when `next_grant` let it go (its place in the global window)
    # The caller says when the request really leaves (`Scheduler.departed`); until then it counts
    # as leaving at every moment. False: it is counted as leaving when granted.
    measured: bool = False
    # A measured ticket may be granted up to `Scheduler.lead` seconds before the bot-wide limits
    # let it leave: its caller then leaves no sooner than this (its work before leaving overlaps
    # the wait instead of adding to it).
    not_before: float = 0.0
    submitted_at: float = 0.0
    _reserved: bool = False


@dataclass(eq=False, slots=True)
class _Lane:
    """Everything the scheduler knows about one chat."""

    limiter: TokenBucket | SlidingWindow | None
    serial: bool
    queue: deque[Ticket] = field(default_factory=deque)
    in_flight: int = 0
    paused_until: float = 0.0
    slowed_until: float = 0.0  # after a 429 for this chat: its limiter runs slower until then
    normal: float = 0.0  # the limiter's interval (bucket) or period (window) when not slowed

    def delay(self, now: float) -> float:
        if self.slowed_until and now >= self.slowed_until:
            self._restore()
        wait = (self.limiter.delay(now) or 0.0) if self.limiter is not None else 0.0
        return max(wait, self.paused_until - now, 0.0)

    def slow_down(self, factor: float, until: float) -> None:
        if self.limiter is None:
            return
        if not self.slowed_until:
            self.normal = (
                self.limiter.interval if isinstance(self.limiter, TokenBucket) else self.limiter.period
            )
            if isinstance(self.limiter, TokenBucket):
                self.limiter.interval = self.normal * factor
            else:
                self.limiter.period = self.normal * factor
        self.slowed_until = until

    def _restore(self) -> None:
        if isinstance(self.limiter, TokenBucket):
            self.limiter.interval = self.normal
        elif isinstance(self.limiter, SlidingWindow):
            self.limiter.period = self.normal
        self.slowed_until = 0.0

    def blocked(self) -> bool:
        return self.serial and self.in_flight > 0

    def priority(self, now: float, background_max_wait: float) -> Priority:
        # A chat is as urgent as its most urgent waiter: a bulk message queued first for that chat
        # must not hold back the reply to a button its recipient just pressed (priority inheritance).
        # A background request that waited long enough is served like bulk: late, never starved.
        best = max(ticket.priority for ticket in self.queue)
        if best is Priority.BACKGROUND and now - self.queue[0].submitted_at >= background_max_wait:
            return Priority.BULK
        return best

    def idle(self, now: float) -> bool:
        return (
            not self.queue
            and self.in_flight == 0
            and self.paused_until <= now
            and self.slowed_until <= now
            and (self.limiter is None or self.limiter.idle(now))
        )


def lane_head_measured(lane: _Lane) -> bool:
    """Whether the next ticket of a chat says when it really leaves (see `Ticket.measured`)."""
    return lane.queue[0].measured


class Scheduler:
    """Decides which waiting request may go next and how long to wait otherwise.

    Protocol: `submit` a ticket; call `next_grant(now)` until it returns a ticket (that request may
    now be sent: its tokens are taken) or a delay; say when it actually leaves with `departed`;
    `release` the ticket when its request finished, `flood` it after a 429 (it is queued again at
    the front of its chat), `withdraw` it if its caller gave up while waiting.
    """

    _SWEEP_EVERY = 512

    def __init__(self, limits: RateLimits, now: float) -> None:
        """Start with no waiters and full buckets."""
        self.limits = limits
        self._global = TokenBucket(
            limits.global_burst, limits.global_pacing * limits.global_window / limits.global_per_second, now
        )
        self._global_window = ArrivalWindow(int(limits.global_per_second), limits.global_window)
        self._global_paused_until = 0.0
        self._pacing = self._global.interval
        self._rate_scale = 1.0  # the adaptive part of the global pace (1 = as configured)
        self._rate_changed_at = now
        # How long before the bot-wide limits allow it a measured ticket may be granted: the time
        # its caller typically needs between the grant and leaving (set by the throttle).
        self.lead = 0.0
        self._lanes: dict[ChatKey, _Lane] = {}
        self._waiting: dict[ChatKey, _Lane] = {}  # lanes with a non-empty queue
        self._seq = 0
        self._grants = 0
        self._recent_floods: deque[tuple[float, ChatKey]] = deque()
        # Every grant of the last `_memory` seconds (the longest window), for `recent`/`replay`.
        self._memory = max(limits.group_window + limits.margin, limits.global_window)
        self._history: deque[tuple[float, ChatKey]] = deque()

    # -- bookkeeping -------------------------------------------------------------------------

    def _lane(self, chat: ChatKey, now: float) -> _Lane:
        lane = self._lanes.get(chat)
        if lane is None:
            limits = self.limits
            limiter: TokenBucket | SlidingWindow | None
            if chat is None:
                limiter = None  # e.g. an inline message edit: only the global limit applies
            elif isinstance(chat, str) or chat < 0:
                limiter = SlidingWindow(limits.group_per_window, limits.group_window + limits.margin)
            else:
                limiter = TokenBucket(limits.private_burst, limits.private_interval + limits.margin, now)
            lane = _Lane(limiter=limiter, serial=chat is not None and limits.one_in_flight_per_chat)
            self._lanes[chat] = lane
        return lane

    def _enqueue(self, lane: _Lane, chat: ChatKey, ticket: Ticket) -> None:
        # Keep each chat's queue in arrival order, even for a ticket coming back after a 429.
        queue = lane.queue
        if not queue or queue[-1].seq < ticket.seq:
            queue.append(ticket)
        else:
            index = next(i for i, other in enumerate(queue) if other.seq > ticket.seq)
            queue.insert(index, ticket)
        self._waiting[chat] = lane

    def _sweep(self, now: float) -> None:
        """Forget chats that are back to their initial state, so memory does not grow with users."""
        for chat in [chat for chat, lane in self._lanes.items() if lane.idle(now)]:
            del self._lanes[chat]

    @property
    def waiting(self) -> int:
        """Number of tickets waiting for permission."""
        return sum(len(lane.queue) for lane in self._waiting.values())

    def tracked_chats(self) -> int:
        """Number of chats whose limits are remembered (for tests of the sweep)."""
        return len(self._lanes)

    @property
    def rate_scale(self) -> float:
        """The global pace as a fraction of the configured one (below 1 after a 429)."""
        return self._rate_scale

    @property
    def paused_until(self) -> float:
        """Until when the whole bot is paused by a 429 (a past time when it is not)."""
        return self._global_paused_until

    def _set_rate_scale(self, scale: float, now: float) -> None:
        self._rate_scale = min(1.0, max(self.limits.min_rate_scale, scale))
        self._rate_changed_at = now
        # Slower: the same number of requests in a longer window, spaced further apart.
        self._global_window.period = self.limits.global_window / self._rate_scale
        self._global.interval = self._pacing / self._rate_scale

    def _recover(self, now: float) -> None:
        """Additive increase: the pace comes back a step per quiet `recover_every` seconds."""
        if self._rate_scale >= 1.0:
            return
        steps = int((now - self._rate_changed_at) / self.limits.recover_every)
        if steps > 0:
            changed_at = self._rate_changed_at + steps * self.limits.recover_every
            self._set_rate_scale(self._rate_scale + steps * self.limits.recover_step, changed_at)

    # -- protocol ----------------------------------------------------------------------------

    def submit(self, ticket: Ticket, now: float) -> None:
        """Queue a new request behind the ones already waiting for the same chat."""
        self._seq += 1
        ticket.seq = self._seq
        ticket.submitted_at = now
        self._enqueue(self._lane(ticket.chat, now), ticket.chat, ticket)

    def withdraw(self, ticket: Ticket) -> bool:
        """Remove a ticket that was not granted yet; False if it is not waiting."""
        lane = self._waiting.get(ticket.chat)
        if lane is None or ticket not in lane.queue:
            return False
        lane.queue.remove(ticket)
        if not lane.queue:
            del self._waiting[ticket.chat]
        return True

    def next_grant(self, now: float) -> tuple[Ticket | None, float | None]:
        """Grant the next request, or say how long to wait.

        Returns `(ticket, None)` when `ticket` may be sent now; `(None, seconds)` when nothing may
        go before `seconds` have passed; `(None, None)` when nothing can go until a request is
        submitted or released (no waiters, or every waiting chat has a request in flight).
        """
        if not self._waiting:
            return None, None
        self._recover(now)
        window_wait = self._global_window.delay(now)
        if window_wait is None:
            return None, None  # told again when a granted request leaves
        global_wait = max(self._global.delay(now), window_wait, self._global_paused_until - now)
        paused = self._global_paused_until - now > EPSILON
        early = 0.0 if paused else self.lead
        if global_wait > early + EPSILON:
            return None, global_wait - early

        best: tuple[int, int] | None = None
        best_chat: ChatKey = None
        soonest: float | None = None
        for chat, lane in self._waiting.items():
            if lane.blocked():
                continue  # released later: the caller is told to wait for that
            wait = lane.delay(now)
            if wait > EPSILON:
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            rank = (-lane.priority(now, self.limits.background_max_wait), lane.queue[0].seq)
            if best is None or rank < best:
                best, best_chat = rank, chat
        if best is None:
            return None, soonest
        if global_wait > EPSILON and not lane_head_measured(self._waiting[best_chat]):
            return None, global_wait  # only a ticket whose departure is measured may go early

        lane = self._waiting[best_chat]
        ticket = lane.queue.popleft()
        ticket.not_before = now + max(global_wait, 0.0)
        if not lane.queue:
            del self._waiting[best_chat]
        lane.in_flight += 1
        self._global.take(now)
        if ticket.measured:
            self._global_window.reserve()
            ticket._reserved = True
        else:
            self._global_window.take(now)
        ticket.granted_at = now
        self._remember(now, ticket.chat)
        if lane.limiter is not None:
            if ticket.measured:
                lane.limiter.reserve()
            else:
                lane.limiter.take(now)
        self._grants += 1
        if self._grants % self._SWEEP_EVERY == 0:
            self._sweep(now)
        return ticket, None

    def _remember(self, at: float, chat: ChatKey) -> None:
        self._history.append((at, chat))
        while self._history and self._history[0][0] <= at - self._memory:
            self._history.popleft()

    def recent(self, now: float) -> list[tuple[ChatKey, float]]:
        """The requests granted in the last minute: (chat, seconds ago), oldest first."""
        return [(chat, now - at) for at, chat in self._history if at > now - self._memory]

    def replay(self, sends: list[tuple[ChatKey, float]], now: float) -> None:
        """Count requests another process made (chat, seconds ago) as if this one had made them.

        Called at start, before anything is sent, with what the previous process sent in its last
        minute: Telegram still counts those against the chats and the bot.
        """
        for chat, age in sorted(sends, key=lambda send: -send[1]):
            if age >= self._memory or age < 0:
                continue
            at = now - age
            lane = self._lane(chat, at)
            if lane.limiter is not None:
                lane.limiter.take(at)
            # When it reached Telegram is not known (a request in flight at a crash is recorded
            # when it left): it keeps its place a little longer than a measured one would.
            self._global_window.take(at + self.limits.replay_slack)
            self._remember(at, chat)

    def departed(self, ticket: Ticket, now: float) -> None:
        """The granted request is leaving now: the global window counts it from now on.

        A pause between the grant and the request (a garbage collection, a busy event loop) would
        otherwise let the next requests, granted on time, reach Telegram bunched up behind it.
        """
        if ticket._reserved:
            ticket._reserved = False
            self._global_window.unreserve()
            self._global_window.take(now, ticket)
            lane = self._lanes.get(ticket.chat)
            if lane is not None and lane.limiter is not None:
                lane.limiter.unreserve()
                lane.limiter.take(now)
            self._retime(ticket, now)
            ticket.granted_at = now
        elif now > ticket.granted_at + EPSILON:
            self._global_window.move(ticket.granted_at, now)
            self._retime(ticket, now)
            ticket.granted_at = now

    def _retime(self, ticket: Ticket, now: float) -> None:
        """The history (saved for the next process) says when the request left, not when granted."""
        for index in range(len(self._history) - 1, -1, -1):
            at, chat = self._history[index]
            if chat == ticket.chat and at == ticket.granted_at:
                self._history[index] = (now, chat)
                return

    def answered(self, ticket: Ticket, now: float) -> None:
        """The request of a measured ticket got its answer (or failed) at `now`: see `ArrivalWindow`."""
        self._global_window.complete(ticket, now)

    def release(self, ticket: Ticket) -> None:
        """The granted request finished (whatever its outcome): its chat may send the next one."""
        self._global_window.abandon(ticket)  # a no-op once `answered`
        lane = self._lanes.get(ticket.chat)
        if ticket._reserved:  # granted, but it never left
            ticket._reserved = False
            self._global_window.unreserve()
            if lane is not None and lane.limiter is not None:
                lane.limiter.unreserve()
        if lane is not None and lane.in_flight > 0:
            lane.in_flight -= 1

    def flood(self, ticket: Ticket, now: float, retry_after: float) -> bool:
        """Telegram answered 429 to a granted request: pause, and queue it again at the front.

        Telegram does not say whether the limit hit was the chat's or the bot's. A 429 for a
        request without a chat, or for a second chat within `global_flood_window`, pauses the
        whole bot; otherwise only the chat. Returns True when the whole bot was paused.
        """
        self.release(ticket)
        until = now + retry_after
        while self._recent_floods and self._recent_floods[0][0] < now - self.limits.global_flood_window:
            self._recent_floods.popleft()
        whole_bot = ticket.chat is None or any(chat != ticket.chat for _, chat in self._recent_floods)
        self._recent_floods.append((now, ticket.chat))
        # Multiplicative decrease: any 429 says the pace was too fast for this moment (a slowed
        # process, jitter); the whole bot refused says it twice.
        slowdown = self.limits.flood_slowdown ** (2 if whole_bot else 1)
        self._set_rate_scale(self._rate_scale * slowdown, now)
        lane = self._lane(ticket.chat, now)
        lane.paused_until = max(lane.paused_until, until)
        lane.slow_down(self.limits.chat_slowdown, until + self.limits.chat_recover_after)
        if whole_bot:
            self._global_paused_until = max(self._global_paused_until, until)
        self._enqueue(lane, ticket.chat, ticket)
        return whole_bot
