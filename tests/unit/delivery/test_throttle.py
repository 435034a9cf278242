"""`TelegramThrottle` on a real `ExtBot`, with a scripted Bot API and scaled-down limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram.error import BadRequest, RetryAfter
from telegram.ext import ExtBot

from bot.delivery.limits import Priority, RateLimits
from bot.delivery.throttle import TelegramThrottle, chat_key, is_counted, parse_priority, retry_after_seconds
from tests.unit.delivery.fakes import Reply, ScriptedRequest

BULK = {"priority": "bulk"}


@pytest.fixture
async def make_bot(api: ScriptedRequest) -> AsyncIterator:
    """Build an initialised ExtBot with a throttle; shut everything down after the test."""
    bots: list[ExtBot] = []

    async def make(limits: RateLimits | None = None, **kwargs) -> ExtBot:
        bot = ExtBot(
            token="123456:TEST",
            request=api,
            get_updates_request=api,
            rate_limiter=TelegramThrottle(limits, **kwargs),
        )
        await bot.initialize()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.shutdown()


def test_counted_methods():
    """Sends, copies, forwards and edits count; answers, reads, deletions and chat actions do not."""
    for endpoint in ("sendMessage", "sendPhoto", "copyMessage", "forwardMessages", "editMessageText"):
        assert is_counted(endpoint), endpoint
    for endpoint in ("answerCallbackQuery", "getMe", "deleteMessage", "getChat", "sendChatAction"):
        assert not is_counted(endpoint), endpoint


def test_chat_keys_and_priorities():
    """chat_id strings of digits are numbers, @usernames stay strings; priority defaults to interactive."""
    assert chat_key("-100123") == -100123
    assert chat_key("@news") == "@news"
    assert chat_key(None) is None
    assert parse_priority(None) is Priority.INTERACTIVE
    assert parse_priority({"priority": "bulk"}) is Priority.BULK
    with pytest.raises(ValueError, match="unknown priority"):
        parse_priority({"priority": "urgent"})


def test_retry_after_seconds_reads_int_and_timedelta():
    """Both forms PTB accepts give seconds."""
    assert retry_after_seconds(RetryAfter(3)) == 3.0
    assert retry_after_seconds(RetryAfter(timedelta(seconds=1.5))) == 1.5


async def test_interactive_reply_overtakes_a_bulk_backlog(api, make_bot):
    """A button answer queued behind 40 broadcast messages leaves next, not last."""
    bot = await make_bot(RateLimits(global_per_second=20))
    broadcast = [
        asyncio.create_task(bot.send_message(chat_id=chat, text="news", rate_limit_args=BULK))
        for chat in range(1, 41)
    ]
    await asyncio.sleep(0.12)
    started = time.monotonic()
    await bot.send_message(chat_id=999, text="your answer")
    assert time.monotonic() - started < 0.2
    order = [call.params["chat_id"] for call in api.sent("sendMessage")]
    assert order.index(999) <= 5
    await asyncio.gather(*broadcast)
    bulk_order = [chat for chat in order if chat != 999] + [
        call.params["chat_id"] for call in api.sent("sendMessage")[len(order) :]
    ]
    assert bulk_order == list(range(1, 41))  # first come, first served


async def test_one_request_in_flight_per_chat_in_order(api, make_bot):
    """Concurrent sends to one group go one at a time, in the order they were made."""
    api.latency = 0.02
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))
    await asyncio.gather(*(bot.send_message(chat_id=-100500, text=str(i)) for i in range(10)))
    assert [call.params["text"] for call in api.sent("sendMessage")] == [str(i) for i in range(10)]
    assert api.max_in_flight_per_chat == 1


async def test_different_chats_are_sent_concurrently(api, make_bot):
    """Requests to distinct chats overlap: the throttle grants, the callers send."""
    api.latency = 0.1
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))
    started = time.monotonic()
    await asyncio.gather(*(bot.send_message(chat_id=chat, text="hi") for chat in range(1, 31)))
    assert time.monotonic() - started < 0.5
    assert api.max_in_flight >= 20


async def test_retry_after_pauses_the_chat_and_retries(api, make_bot):
    """A 429 is waited out and the same request is sent again; the caller sees only success."""
    api.script[5] = [Reply.flood(1)]
    throttle_limits = RateLimits(global_per_second=1000, global_burst=50)
    bot = await make_bot(throttle_limits)
    started = time.monotonic()
    message = await bot.send_message(chat_id=5, text="hello")
    assert message.text == "hello"
    calls = api.sent("sendMessage")
    assert len(calls) == 2
    assert calls[1].started - calls[0].started >= 1.0
    assert time.monotonic() - started < 1.6
    assert bot.rate_limiter.floods == 1  # type: ignore[union-attr]


async def test_retry_after_is_raised_after_max_retries(api, make_bot):
    """Past max_retries the RetryAfter reaches the caller, and the chat is free again."""
    api.script[5] = [Reply.flood(1), Reply.flood(1)]
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50), max_retries=0)
    with pytest.raises(RetryAfter):
        await bot.send_message(chat_id=5, text="hello")
    with pytest.raises(RetryAfter):
        await bot.send_message(chat_id=5, text="hello", rate_limit_args={"max_retries": 0})
    assert len(api.sent("sendMessage")) == 2


async def test_other_errors_propagate_without_retry(api, make_bot):
    """A 400 is the caller's business: raised at once, never retried, and the chat is released."""
    api.script[7] = [Reply.error(400, "Bad Request: chat not found")]
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(chat_id=7, text="x")
    await asyncio.wait_for(bot.send_message(chat_id=7, text="y"), 1.0)
    assert len(api.sent("sendMessage")) == 2


async def test_uncounted_methods_are_not_delayed(api, make_bot):
    """answerCallbackQuery does not queue behind a backlog of sends."""
    bot = await make_bot(RateLimits(global_per_second=5))
    backlog = [
        asyncio.create_task(bot.send_message(chat_id=chat, text="x", rate_limit_args=BULK))
        for chat in range(1, 11)
    ]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await bot.answer_callback_query("42")
    assert time.monotonic() - started < 0.05
    for task in backlog:
        task.cancel()
    await asyncio.gather(*backlog, return_exceptions=True)


async def test_a_cancelled_waiter_leaves_the_queue(api, make_bot):
    """Cancelling a send that waits for its turn does not block the chat's next message."""
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50, private_burst=1, margin=0.0))
    await bot.send_message(chat_id=3, text="first")  # empties the chat's bucket for ~1 s
    waiting = asyncio.create_task(bot.send_message(chat_id=3, text="cancelled"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait_for(bot.send_message(chat_id=3, text="third"), 2.0)
    assert [call.params["text"] for call in api.sent("sendMessage")] == ["first", "third"]


async def test_shutdown_fails_waiting_requests(api, make_bot):
    """Nothing hangs forever once the throttle is shut down."""
    bot = await make_bot(RateLimits(global_per_second=1000, private_burst=1, margin=0.0))
    await bot.send_message(chat_id=3, text="first")
    waiting = asyncio.create_task(bot.send_message(chat_id=3, text="second"))
    await asyncio.sleep(0.05)
    await bot.rate_limiter.shutdown()  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="shut down"):
        await waiting


async def test_before_send_runs_once_allowed_and_before_the_request(api, make_bot):
    """The hook is awaited after the grant and before the request leaves; not again on a 429 retry."""
    api.script[5] = [Reply.flood(1)]
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))
    seen: list[int] = []

    async def before_send() -> None:
        await asyncio.sleep(0.05)  # a database write
        seen.append(len(api.sent("sendMessage")))

    await bot.send_message(chat_id=5, text="hello", rate_limit_args={**BULK, "before_send": before_send})
    assert seen == [0]
    assert len(api.sent("sendMessage")) == 2


async def test_a_failing_before_send_sends_nothing(api, make_bot):
    """If the hook raises, the request is not sent and the chat is free for the next one."""
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))

    async def broken() -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await bot.send_message(chat_id=5, text="lost", rate_limit_args={**BULK, "before_send": broken})
    assert api.sent("sendMessage") == []
    await asyncio.wait_for(bot.send_message(chat_id=5, text="next"), 1.0)


async def test_state_says_when_telegram_made_the_bot_wait(api, make_bot):
    """After 429s in two chats the whole bot is paused: `state()` says for how long, and the pace is lower."""
    api.script[5] = [Reply.flood(2)]
    api.script[6] = [Reply.flood(2)]
    bot = await make_bot(RateLimits(global_per_second=1000, global_burst=50))
    throttle = bot.rate_limiter
    assert isinstance(throttle, TelegramThrottle)
    assert not throttle.state().slowed
    sends = [asyncio.create_task(bot.send_message(chat_id=chat, text="x")) for chat in (5, 6)]
    await asyncio.sleep(0.3)
    state = throttle.state()
    assert state.slowed and 1.0 < state.paused_for <= 2.0 and state.last_retry_after == 2.0
    assert state.rate_scale < 1.0
    await asyncio.gather(*sends)
    assert throttle.state().paused_for == 0.0


async def test_background_edits_wait_for_bulk(api, make_bot):
    """A background request queued behind bulk ones leaves after them."""
    api.latency = 0.01
    bot = await make_bot(RateLimits(global_per_second=5, global_burst=1, global_pacing=1.0))
    order: list[str] = []

    async def send(chat: int, priority: str) -> None:
        await bot.send_message(chat_id=chat, text=priority, rate_limit_args={"priority": priority})
        order.append(priority)

    first = asyncio.create_task(send(1, "bulk"))  # takes the one token
    await asyncio.sleep(0.01)
    tasks = [asyncio.create_task(send(-100, "background"))]
    tasks += [asyncio.create_task(send(chat, "bulk")) for chat in (2, 3)]
    await asyncio.gather(first, *tasks)
    assert order == ["bulk", "bulk", "bulk", "background"]
