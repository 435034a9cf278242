"""The pure scheduling rules of the throttle, driven by a fake clock."""

from __future__ import annotations

import itertools
import random
from collections import deque

import pytest

from bot.delivery.limits import Priority, RateLimits, Scheduler, SlidingWindow, Ticket, TokenBucket

NO_MARGIN = RateLimits(margin=0.0)


def drain(scheduler: Scheduler, now: float) -> list[Ticket]:
    """Everything granted at `now` (releasing nothing)."""
    granted = []
    while True:
        ticket, _ = scheduler.next_grant(now)
        if ticket is None:
            return granted
        granted.append(ticket)


def test_token_bucket_burst_then_one_per_interval():
    """A full bucket allows its capacity at once, then one token per interval."""
    bucket = TokenBucket(3, 1.0, now=0.0)
    for _ in range(3):
        assert bucket.delay(0.0) == 0
        bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(1.0)
    assert bucket.delay(0.4) == pytest.approx(0.6)
    assert bucket.delay(1.0) == 0
    bucket.take(1.0)
    assert not bucket.idle(1.0)
    assert bucket.idle(4.0)


def test_token_bucket_tolerates_float_residue():
    """Waking exactly after the computed delay finds a whole token (no second micro-sleep)."""
    bucket = TokenBucket(1, 1 / 29, now=0.0)
    now = 0.0
    for _ in range(1000):
        bucket.take(now)
        now += bucket.delay(now)
        assert bucket.delay(now) == 0


def test_sliding_window_waits_for_the_oldest_to_leave():
    """The 21st request waits until the first is a full period old."""
    window = SlidingWindow(20, 60.0)
    for i in range(20):
        assert window.delay(i * 0.5) == 0
        window.take(i * 0.5)
    assert window.delay(10.0) == pytest.approx(50.0)
    assert window.delay(60.0) == 0
    window.take(60.0)
    assert window.delay(60.0) == pytest.approx(0.5)
    assert window.idle(200.0)


def test_global_requests_are_paced_never_two_at_once():
    """With a burst of 1, the bot sends one request, then waits 90 % of the even spacing."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    tickets = [Ticket(chat=chat) for chat in range(1, 6)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == tickets[:1]
    ticket, wait = scheduler.next_grant(0.0)
    assert ticket is None
    assert wait == pytest.approx(0.9 * 1.02 / 29)
    assert drain(scheduler, wait) == tickets[1:2]


def grant_all_waking_late(scheduler: Scheduler, count: int, lateness: float) -> list[float]:
    """Grant `count` queued tickets, each wake-up `lateness` seconds after the wait asked for."""
    for chat in range(1, count + 1):
        scheduler.submit(Ticket(chat=chat), 0.0)
    now, stamps = 0.0, []
    while len(stamps) < count:
        ticket, wait = scheduler.next_grant(now)
        if ticket is None:
            assert wait is not None
            now += wait + lateness
            continue
        stamps.append(now)
    return stamps


def test_late_wake_ups_are_caught_up_and_no_second_holds_more_than_29():
    """A timer firing 1-3 ms late costs nothing over time: 29 per 1.02 s, never 30 in that time."""
    for lateness in (0.0, 0.001, 0.003):
        stamps = grant_all_waking_late(Scheduler(NO_MARGIN, now=0.0), 580, lateness)
        assert stamps[-1] - stamps[0] < 20.0 * 1.02 * (1 + 0.002)  # 20 windows plus a hair
        for index in range(len(stamps) - 29):
            assert stamps[index + 29] - stamps[index] >= 1.02 - 1e-9  # 30 requests span 1.02 s
        gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
        assert min(gaps) >= 0.9 * 1.02 / 29 - 1e-9  # paced: never a clump


def test_a_request_leaving_late_is_counted_when_it_leaves():
    """A request held up 0.1 s after its grant pushes back the one 29 later: no bunching."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    tickets = [Ticket(chat=chat) for chat in range(1, 32)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    now, stamps = 0.0, []
    while len(stamps) < 30:
        ticket, wait = scheduler.next_grant(now)
        if ticket is None:
            assert wait is not None
            now += wait
            continue
        # The first request is stuck 0.1 s (a garbage collection, say) before it goes out.
        scheduler.departed(ticket, now + 0.1 if ticket is tickets[0] else now)
        stamps.append(now + 0.1 if ticket is tickets[0] else now)
    assert stamps[29] == pytest.approx(stamps[0] + 1.02)


def test_interactive_goes_before_bulk():
    """A reply queued after a backlog of bulk messages is granted first."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    bulk = [Ticket(chat=chat, priority=Priority.BULK) for chat in range(1, 50)]
    for ticket in bulk:
        scheduler.submit(ticket, 0.0)
    reply = Ticket(chat=999, priority=Priority.INTERACTIVE)
    scheduler.submit(reply, 0.0)
    assert drain(scheduler, 0.0) == [reply]
    assert drain(scheduler, 1.0) == [bulk[0]]


def test_bulk_is_first_come_first_served_across_chats():
    """Among chats of equal priority the oldest waiter goes first."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    tickets = [Ticket(chat=chat, priority=Priority.BULK) for chat in (5, 3, 9, 1)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    order = []
    now = 0.0
    while len(order) < 4:
        ticket, wait = scheduler.next_grant(now)
        if ticket is None:
            assert wait is not None
            now += wait
        else:
            order.append(ticket)
    assert order == tickets


def test_one_request_in_flight_per_chat_and_fifo():
    """The second message to a chat waits until the first one's request finished, in order."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    first, second = Ticket(chat=7), Ticket(chat=7)
    scheduler.submit(first, 0.0)
    scheduler.submit(second, 0.0)
    assert drain(scheduler, 0.0) == [first]
    assert scheduler.next_grant(10.0) == (None, None)  # blocked until released: no timed wake-up
    scheduler.release(first)
    assert drain(scheduler, 10.0) == [second]


def test_private_chat_burst_of_three_then_interval_with_margin():
    """A private chat gets 3 at once, then one every 1 s + margin."""
    limits = RateLimits(margin=0.1, one_in_flight_per_chat=False)
    scheduler = Scheduler(limits, now=0.0)
    tickets = [Ticket(chat=42) for _ in range(5)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    times = []
    now = 0.0
    while len(times) < 5:
        ticket, wait = scheduler.next_grant(now)
        if ticket is None:
            assert wait is not None and wait > 0
            now += wait
        else:
            times.append(now)
    assert times[2] < 0.1
    assert times[3] == pytest.approx(1.1, abs=1e-6)
    assert times[4] == pytest.approx(2.2, abs=1e-6)


def test_group_twenty_per_window():
    """A group gets 20 quickly, the 21st only once the first is 60 s + margin old."""
    limits = RateLimits(margin=0.5)
    scheduler = Scheduler(limits, now=0.0)
    now = 0.0
    granted_at = []
    for _ in range(21):
        ticket = Ticket(chat=-100123, priority=Priority.BULK)
        scheduler.submit(ticket, now)
        while True:
            got, wait = scheduler.next_grant(now)
            if got is not None:
                granted_at.append(now)
                scheduler.release(got)
                break
            assert wait is not None
            now += wait
    assert granted_at[19] < 1.0
    assert granted_at[20] == pytest.approx(60.5, abs=1e-6)


def test_username_chats_count_as_groups():
    """ "@channel" ids get the group window."""
    scheduler = Scheduler(RateLimits(one_in_flight_per_chat=False, global_burst=100), now=0.0)
    for _ in range(21):
        scheduler.submit(Ticket(chat="@news"), 0.0)
    assert len(drain(scheduler, 0.0)) == 20


def test_urgent_waiter_lifts_its_chat():
    """A bulk message queued first for a chat is sent at interactive priority when a reply waits behind it."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    other = Ticket(chat=1, priority=Priority.BULK)
    scheduler.submit(other, 0.0)
    queued_bulk = Ticket(chat=2, priority=Priority.BULK)
    scheduler.submit(queued_bulk, 0.0)
    reply = Ticket(chat=2, priority=Priority.INTERACTIVE)
    scheduler.submit(reply, 0.0)
    assert drain(scheduler, 0.0) == [queued_bulk]  # chat 2 is urgent now, and stays FIFO
    scheduler.release(queued_bulk)
    assert drain(scheduler, 1.0) == [reply]


def test_flood_pauses_the_chat_and_requeues_at_the_front():
    """After a 429 the chat waits retry_after, and the refused request goes before its successors."""
    scheduler = Scheduler(RateLimits(margin=0.0, private_burst=10), now=0.0)
    first, second = Ticket(chat=5), Ticket(chat=5)
    scheduler.submit(first, 0.0)
    scheduler.submit(second, 0.0)
    assert drain(scheduler, 0.0) == [first]
    assert scheduler.flood(first, now=0.1, retry_after=3.0) is False
    ticket, wait = scheduler.next_grant(0.2)
    assert ticket is None
    assert wait == pytest.approx(2.9)
    assert drain(scheduler, 3.1) == [first]
    scheduler.release(first)
    assert drain(scheduler, 3.2) == [second]


def test_floods_in_two_chats_pause_the_whole_bot():
    """Two chats refused within a second: the bot's own limit was hit, everybody waits."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    a, b, c = Ticket(chat=1), Ticket(chat=2), Ticket(chat=3)
    for ticket in (a, b, c):
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == [a]
    assert drain(scheduler, 0.05) == [b]
    assert scheduler.flood(a, now=0.1, retry_after=2.0) is False
    assert scheduler.flood(b, now=0.2, retry_after=2.0) is True
    ticket, wait = scheduler.next_grant(0.3)
    assert ticket is None and wait == pytest.approx(1.9)
    assert drain(scheduler, 2.2) == [a]  # oldest first once the pause is over


def test_flood_without_chat_pauses_the_bot():
    """A 429 on a request without chat_id (inline edits) can only be the bot's limit."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    ticket = Ticket(chat=None)
    scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == [ticket]
    assert scheduler.flood(ticket, now=0.0, retry_after=1.0) is True


def test_withdraw_removes_a_waiter():
    """A caller that gives up leaves the queue; a granted ticket cannot be withdrawn."""
    scheduler = Scheduler(NO_MARGIN, now=0.0)
    a, b = Ticket(chat=1), Ticket(chat=1)
    scheduler.submit(a, 0.0)
    scheduler.submit(b, 0.0)
    assert scheduler.withdraw(b) is True
    assert scheduler.withdraw(b) is False
    assert drain(scheduler, 0.0) == [a]
    assert scheduler.withdraw(a) is False
    assert scheduler.waiting == 0
    assert scheduler.next_grant(5.0) == (None, None)


def test_idle_chats_are_forgotten():
    """Limits of chats back at rest are dropped, so memory does not grow with the number of users."""
    scheduler = Scheduler(RateLimits(global_per_second=2000), now=0.0)
    now = 0.0
    for chat in range(1, 2000):
        now += 0.001
        ticket = Ticket(chat=chat)
        scheduler.submit(ticket, now)
        assert drain(scheduler, now) == [ticket]
        scheduler.release(ticket)
    assert scheduler.tracked_chats() > 500
    now += 100.0  # every bucket is full again
    for chat in range(5000, 5000 + Scheduler._SWEEP_EVERY):
        now += 0.001
        ticket = Ticket(chat=chat)
        scheduler.submit(ticket, now)
        assert drain(scheduler, now) == [ticket]
        scheduler.release(ticket)
    assert scheduler.tracked_chats() < 600


def test_bad_limits_are_refused():
    """Limits that could never let a request through are configuration errors."""
    with pytest.raises(ValueError, match="global"):
        RateLimits(global_per_second=0)
    with pytest.raises(ValueError, match="window"):
        RateLimits(global_window=0.5)
    with pytest.raises(ValueError, match="pacing"):
        RateLimits(global_pacing=0)
    with pytest.raises(ValueError, match="margin"):
        RateLimits(margin=-1)


class ServerRules:
    """Telegram's limits as the simulator enforces them, checked on arrival times."""

    def __init__(self) -> None:
        self.global_window: deque[float] = deque()
        self.buckets: dict[int, tuple[float, float]] = {}
        self.groups: dict[int, deque[float]] = {}

    def accept(self, chat: int, t: float) -> bool:
        while self.global_window and self.global_window[0] <= t - 1.0:
            self.global_window.popleft()
        if len(self.global_window) >= 30:
            return False
        if chat > 0:
            tokens, updated = self.buckets.get(chat, (3.0, t))
            tokens = min(3.0, tokens + (t - updated))
            if tokens < 1.0:
                return False
            self.buckets[chat] = (tokens - 1.0, t)
        else:
            window = self.groups.setdefault(chat, deque())
            while window and window[0] <= t - 60.0:
                window.popleft()
            if len(window) >= 20:
                return False
            window.append(t)
        self.global_window.append(t)
        return True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mixed_traffic_never_breaks_the_server_limits_under_jitter(seed):
    """Simulated 40 s of bulk and interactive traffic, 50 ms ± 20 ms latency: the server accepts all."""
    rng = random.Random(seed)
    scheduler = Scheduler(RateLimits(), now=0.0)
    server = ServerRules()
    chats = [rng.randint(1, 300) for _ in range(900)] + [-rng.randint(1, 3) for _ in range(100)]
    rng.shuffle(chats)
    now = 0.0
    for chat in chats:
        priority = Priority.INTERACTIVE if rng.random() < 0.1 else Priority.BULK
        scheduler.submit(Ticket(chat=chat, priority=priority), now)
    in_flight: list[tuple[float, Ticket]] = []
    arrivals: list[tuple[float, int]] = []
    granted = 0
    while granted < len(chats):
        ticket, wait = scheduler.next_grant(now)
        if ticket is not None:
            granted += 1
            latency = 0.05 + rng.uniform(-0.015, 0.015)
            arrivals.append((now + latency, ticket.chat))  # type: ignore[arg-type]
            in_flight.append((now + 2 * latency, ticket))
            continue
        # Advance to the next event: a timed wait or the end of a request.
        in_flight.sort(key=lambda item: item[0])
        candidates = [now + wait] if wait is not None else []
        if in_flight:
            candidates.append(in_flight[0][0])
        now = max(now, min(candidates))
        while in_flight and in_flight[0][0] <= now:
            scheduler.release(in_flight.pop(0)[1])
    arrivals.sort()
    refused = [arrival for arrival in arrivals if not server.accept(arrival[1], arrival[0])]
    assert refused == []
    # Throughput: the groups' 20/min dominate the tail; private messages go at the global pace.
    private_done = max(t for t, chat in arrivals if chat > 0)
    assert private_done < len(chats) / 29 + 3


def test_a_granted_request_counts_as_leaving_until_it_leaves():
    """Measured tickets: 29 granted, not gone, hold the whole window; each frees its place once it left."""
    scheduler = Scheduler(RateLimits(margin=0.0, global_burst=100), now=0.0)
    tickets = [Ticket(chat=chat, measured=True) for chat in range(1, 32)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    granted = drain(scheduler, 0.0)
    assert granted == tickets[:29]
    # Five seconds later none has left yet (a stalled process): still nothing more may go.
    assert scheduler.next_grant(5.0) == (None, None)
    scheduler.departed(tickets[0], 5.0)
    assert scheduler.next_grant(5.0) == (None, None)  # gone, not answered: it may still arrive
    scheduler.answered(tickets[0], 5.05)
    ticket, wait = scheduler.next_grant(5.05)
    assert ticket is None and wait == pytest.approx(0.97)  # counted from when it really left
    assert drain(scheduler, 6.02) == tickets[29:30]


def test_a_slow_round_trip_holds_its_place_longer():
    """A round trip 30 ms slower than the fastest: it may have arrived 30 ms late, its place frees later."""
    scheduler = Scheduler(RateLimits(margin=0.0, global_burst=100, global_per_second=1), now=0.0)
    first, second, third = (Ticket(chat=chat, measured=True) for chat in (1, 2, 3))
    for ticket in (first, second, third):
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == [first]
    scheduler.departed(first, 0.0)
    scheduler.answered(first, 0.05)  # the fastest round trip so far
    assert drain(scheduler, 1.02) == [second]
    scheduler.departed(second, 1.02)
    scheduler.answered(second, 1.10)  # 30 ms slower
    assert drain(scheduler, 2.04) == []
    assert drain(scheduler, 2.07) == [third]


def test_a_granted_request_that_never_leaves_gives_its_place_back():
    """Released without leaving (its caller gave up): the window forgets it."""
    scheduler = Scheduler(RateLimits(margin=0.0, global_burst=100, global_per_second=2), now=0.0)
    first, second, third = (Ticket(chat=chat, measured=True) for chat in (1, 2, 3))
    for ticket in (first, second, third):
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == [first, second]
    scheduler.release(first)
    assert drain(scheduler, 0.0) == [third]


def test_a_private_chat_bucket_refills_from_the_departure():
    """A burst whose first request left late: the fourth waits a full interval from that departure."""
    scheduler = Scheduler(RateLimits(margin=0.0, global_burst=100, one_in_flight_per_chat=False), now=0.0)
    tickets = [Ticket(chat=7, measured=True) for _ in range(4)]
    for ticket in tickets:
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == tickets[:3]
    scheduler.departed(tickets[0], 0.5)  # held up half a second
    scheduler.departed(tickets[1], 0.5)
    scheduler.departed(tickets[2], 0.5)
    assert drain(scheduler, 1.2) == []  # Telegram's bucket started refilling at 0.5, not at 0
    assert drain(scheduler, 1.5) == tickets[3:]


def test_a_flood_slows_the_pace_down_then_it_recovers():
    """Multiplicative decrease on a 429 (more when the whole bot was refused), additive increase after."""
    limits = RateLimits(margin=0.0, private_burst=10)
    scheduler = Scheduler(limits, now=0.0)
    one, other = Ticket(chat=1), Ticket(chat=2)
    scheduler.submit(one, 0.0)
    scheduler.submit(other, 0.0)
    assert drain(scheduler, 0.0) == [one]
    assert drain(scheduler, 1.0) == [other]
    scheduler.flood(one, 1.0, retry_after=1.0)
    assert scheduler.rate_scale == pytest.approx(0.8)
    scheduler.flood(other, 1.1, retry_after=1.0)  # a second chat within a second: the whole bot
    assert scheduler.rate_scale == pytest.approx(0.8 * 0.64)
    waiting = Ticket(chat=3)
    scheduler.submit(waiting, 1.1)
    scheduler.next_grant(1.1 + 2 * limits.recover_every)  # two quiet periods: two steps back
    assert scheduler.rate_scale == pytest.approx(0.8 * 0.64 + 2 * limits.recover_step)
    scheduler.next_grant(1.1 + 60.0)
    assert scheduler.rate_scale == 1.0


def test_a_refused_chat_is_slowed_for_a_while():
    """After a 429 a chat's own interval is longer until `chat_recover_after` has passed."""
    limits = RateLimits(margin=0.0, private_burst=1, global_burst=100)
    scheduler = Scheduler(limits, now=0.0)
    first = Ticket(chat=5)
    scheduler.submit(first, 0.0)
    assert drain(scheduler, 0.0) == [first]
    scheduler.flood(first, 0.0, retry_after=1.0)
    assert drain(scheduler, 1.0) == []  # one token per 2 s now, not per second
    assert drain(scheduler, 2.0) == [first]
    scheduler.release(first)
    later = Ticket(chat=5)
    scheduler.submit(later, 70.0)
    assert drain(scheduler, 70.0) == [later]  # recovered: the bucket is full again


def test_background_goes_when_nothing_else_may_or_after_waiting():
    """A progress edit never takes a place a delivery could use, but it is not starved either."""
    limits = RateLimits(margin=0.0, global_burst=100, global_per_second=1000, background_max_wait=10.0)
    scheduler = Scheduler(limits, now=0.0)
    edit = Ticket(chat=-100, priority=Priority.BACKGROUND)
    scheduler.submit(edit, 0.0)
    bulk = [Ticket(chat=chat, priority=Priority.BULK) for chat in range(1, 4)]
    for ticket in bulk:
        scheduler.submit(ticket, 0.0)
    assert drain(scheduler, 0.0) == [*bulk, edit]  # bulk first, the edit once nothing else may go

    scheduler.release(edit)
    late_edit = Ticket(chat=-100, priority=Priority.BACKGROUND)
    scheduler.submit(late_edit, 0.0)
    more = Ticket(chat=9, priority=Priority.BULK)
    scheduler.submit(more, 10.0)
    ticket, _ = scheduler.next_grant(10.0)
    assert ticket is late_edit  # waited 10 s: served like bulk, in arrival order
