"""Flood limits: sliding windows, the private-chat token bucket, and retry_after values."""

from __future__ import annotations

import pytest

from simulator.limits import RateLimitConfig, RateLimiter, SlidingWindow, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_sliding_window_waits_for_the_oldest_event() -> None:
    """The window frees a slot exactly when its oldest event is one period old."""
    window = SlidingWindow(limit=2, period=1.0)
    window.add(0.0)
    window.add(0.4)
    assert window.wait_time(0.5) == pytest.approx(0.5)
    assert window.wait_time(1.0) == 0.0
    window.add(1.0)
    assert window.wait_time(1.1) == pytest.approx(0.3)


def test_token_bucket_bursts_then_refills() -> None:
    """Three at once, then one per second."""
    bucket = TokenBucket(capacity=3, rate=1.0, now=0.0)
    for _ in range(3):
        assert bucket.wait_time(0.0) == 0.0
        bucket.add(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(1.0)
    assert bucket.wait_time(0.25) == pytest.approx(0.75)
    assert bucket.wait_time(1.0) == 0.0
    bucket.add(1.0)
    assert bucket.wait_time(10.0) == 0.0  # refills to capacity, not beyond
    for _ in range(3):
        bucket.add(10.0)
    assert bucket.wait_time(10.0) == pytest.approx(1.0)


def test_private_chat_burst_and_retry_after(clock: FakeClock) -> None:
    """A private chat takes 3 at once; the 4th waits; retry_after is the ceiling of the wait, at least 1."""
    limiter = RateLimiter(clock=clock)
    for _ in range(3):
        assert limiter.check(1, 100, True) == 0
        limiter.consume(1, 100, True)
    assert limiter.check(1, 100, True) == 1
    clock.now += 0.5
    assert limiter.check(1, 100, True) == 1  # 0.5 s left, rounded up
    clock.now += 0.5
    assert limiter.check(1, 100, True) == 0


def test_group_window_of_twenty_per_minute(clock: FakeClock) -> None:
    """A group takes 20 in any 60 s; the 21st waits until the first is a minute old."""
    limiter = RateLimiter(clock=clock)
    for _ in range(20):
        assert limiter.check(1, -100, False) == 0
        limiter.consume(1, -100, False)
        clock.now += 1.0
    assert limiter.check(1, -100, False) == 40  # the first send was 20 s ago
    clock.now += 40.0
    assert limiter.check(1, -100, False) == 0


def test_global_thirty_per_second_across_chats(clock: FakeClock) -> None:
    """Thirty sends per second per bot, whatever the chats; another bot has its own budget."""
    limiter = RateLimiter(clock=clock)
    for chat in range(30):
        assert limiter.check(1, chat + 1, True) == 0
        limiter.consume(1, chat + 1, True)
    assert limiter.check(1, 999, True) == 1
    assert limiter.check(2, 999, True) == 0
    clock.now += 1.0
    assert limiter.check(1, 999, True) == 0


def test_check_does_not_consume(clock: FakeClock) -> None:
    """Only consume() counts a send, so refused or failed requests cost nothing."""
    limiter = RateLimiter(config=RateLimitConfig(private_burst=1), clock=clock)
    for _ in range(5):
        assert limiter.check(1, 7, True) == 0
    limiter.consume(1, 7, True)
    assert limiter.check(1, 7, True) == 1


async def test_edits_count_unless_configured_otherwise() -> None:
    """editMessage* shares the per-chat budget by default; count_edits=False exempts it."""
    from simulator import Simulator

    for count_edits, expected in ((True, 429), (False, 200)):
        sim = Simulator(rate_limit_config=RateLimitConfig(private_burst=1, count_edits=count_edits))
        bot = sim.add_bot(token="1:T").account
        user = sim.add_user("A")
        await user.send_text("/start")
        sent = sim.api.send_message(bot, {"chat_id": user.id, "text": "x"})
        try:
            sim.api.edit_message_text(
                bot, {"chat_id": user.id, "message_id": sent["message_id"], "text": "y"}
            )
            status = 200
        except Exception as error:
            status = getattr(error, "code", 500)
        assert status == expected
