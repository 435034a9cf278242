"""Delivery benchmark: 1,000 recipients through the simulator with 50 ms latency and Telegram's limits.

Compares, on a fresh simulator each:
  1. hackbot's path: outbox rows → OutboxSender → ExtBot + TelegramThrottle (SQLite file database);
  2. a plain sequential `send_message` loop (no rate limiter);
  3. PTB's AIORateLimiter (max_retries=3) with all sends started at once (asyncio.gather).

During each run, three interactive replies are sent to another person (at 3 s, 6 s and 9 s) and
their latency is measured: that is what a person pressing a button during the broadcast feels.

Run: .venv/bin/python bench/bench_delivery.py [--recipients 1000] [--latency 0.05]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from telegram.error import TelegramError  # noqa: E402
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseRateLimiter  # noqa: E402

from bench import common  # noqa: E402
from bot.delivery.sender import OutboxSender  # noqa: E402
from bot.delivery.throttle import TelegramThrottle  # noqa: E402
from bot.delivery.transport import AiohttpRequest  # noqa: E402
from models import outbox  # noqa: E402
from models.db import Database  # noqa: E402
from models.outbox import (  # noqa: E402
    NewMessage,
    OutboxState,
    OutgoingMessage,
)
from simulator import Simulator  # noqa: E402

TOKEN = "123456:TEST-TOKEN"
REPLY_AT = (3.0, 6.0, 9.0)


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    delivered: int = 0
    rate_limited: int = 0
    duplicates: int = 0
    failed: int = 0
    reply_latencies: list[float] = field(default_factory=list)


async def make_world(recipients: int, latency: float) -> tuple[Simulator, list[Any], Any]:
    sim = await common.started_simulator(token=TOKEN, latency=latency, rate_limits=True)
    people = [sim.add_user(first_name=f"P{i}") for i in range(recipients)]
    asker = sim.add_user(first_name="Asker")
    for person in [*people, asker]:
        await person.send_text("/start")
    return sim, people, asker


async def make_app(sim: Simulator, limiter: BaseRateLimiter | None) -> Application:
    # The bot's own transport, so that the comparison is of the rate limiters alone.
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(sim.api_url)
        .base_file_url(sim.file_url)
        .request(AiohttpRequest())
        .updater(None)
    )
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    await app.initialize()
    return app


async def interactive_replies(app: Application, asker: Any, started: float, latencies: list[float]) -> None:
    """Answer 'button presses' during the broadcast; record how long each answer took."""
    for at in REPLY_AT:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        begin = time.monotonic()
        await app.bot.send_message(chat_id=asker.id, text=f"answer at {at}s")
        latencies.append(time.monotonic() - begin)


def tally(result: Result, sim: Simulator, people: list[Any]) -> Result:
    counts = [len(person.messages) for person in people]
    result.delivered = sum(1 for count in counts if count >= 1)
    result.duplicates = sum(count - 1 for count in counts if count > 1)
    result.rate_limited = len(sim.rate_limited)
    return result


Broadcast = Callable[[Application, list[Any], Result], Awaitable[None]]


async def run_scenario(
    name: str,
    recipients: int,
    latency: float,
    limiter: BaseRateLimiter | None,
    broadcast: Broadcast,
) -> Result:
    sim, people, asker = await make_world(recipients, latency)
    app = await make_app(sim, limiter)
    result = Result(name)
    try:
        started = time.monotonic()
        replies = asyncio.create_task(interactive_replies(app, asker, started, result.reply_latencies))
        await broadcast(app, people, result)
        result.seconds = time.monotonic() - started
        await replies
    finally:
        await app.shutdown()
        await sim.stop()
    return tally(result, sim, people)


def outbox_broadcast(db: Database) -> Broadcast:
    """Enqueue one row per person (timed: it is part of a broadcast), then let the sender drain them."""

    async def run(app: Application, people: list[Any], result: Result) -> None:
        sender = OutboxSender(app.bot, db)
        try:
            async with db.transaction() as session:
                await outbox.enqueue_many(
                    session,
                    [
                        NewMessage(
                            chat_id=person.id,
                            method="sendMessage",
                            payload={"text": f"<b>Broadcast</b> #{i}", "parse_mode": "HTML"},
                            dedupe_key=f"broadcast:1:{person.id}",
                            purpose="broadcast",
                            ref_id=1,
                        )
                        for i, person in enumerate(people)
                    ],
                )
            await sender.start()
            while True:
                async with db.read() as session:
                    left = await session.scalar(
                        select(func.count()).where(
                            OutgoingMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING])
                        )
                    )
                if not left:
                    break
                await asyncio.sleep(0.05)
            async with db.read() as session:
                result.failed = (
                    await session.scalar(
                        select(func.count()).where(OutgoingMessage.state != OutboxState.SENT)
                    )
                    or 0
                )
        finally:
            await sender.stop()

    return run


async def sequential_broadcast(app: Application, people: list[Any], result: Result) -> None:
    for i, person in enumerate(people):
        try:
            await app.bot.send_message(chat_id=person.id, text=f"<b>Broadcast</b> #{i}", parse_mode="HTML")
        except TelegramError:
            result.failed += 1


async def gathered_broadcast(app: Application, people: list[Any], result: Result) -> None:
    async def one(i: int, person: Any) -> None:
        try:
            await app.bot.send_message(chat_id=person.id, text=f"<b>Broadcast</b> #{i}", parse_mode="HTML")
        except TelegramError:
            result.failed += 1

    await asyncio.gather(*(one(i, person) for i, person in enumerate(people)))


async def baselines(recipients: int, latency: float) -> list[Result]:
    """What hackbot is compared with: a plain sequential loop, then PTB's limiter with every send at once."""
    return [
        await run_scenario("sequential send_message loop", recipients, latency, None, sequential_broadcast),
        await run_scenario(
            "PTB AIORateLimiter (max_retries=3), gather",
            recipients,
            latency,
            AIORateLimiter(max_retries=3),
            gathered_broadcast,
        ),
    ]


def print_table(results: list[Result], floor: float) -> None:
    """One Markdown row per path: time, against the floor, rate, and what went wrong."""
    print(
        "| path | time (s) | vs floor | msg/s | delivered | 429s | duplicates | failed "
        "| reply latency max (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rate = r.delivered / r.seconds if r.seconds else 0.0
        replies = max(r.reply_latencies) if r.reply_latencies else float("nan")
        print(
            f"| {r.name} | {r.seconds:.1f} | {r.seconds / floor:.2f}× | {rate:.1f} | {r.delivered} | "
            f"{r.rate_limited} | {r.duplicates} | {r.failed} | {replies:.2f} |"
        )


async def main() -> None:
    parser = common.bench_parser(__doc__, database=False)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = common.parse_arguments(parser, log_level=logging.ERROR)

    async with common.fresh_database(None) as db:  # migrated before the clock starts
        ours = await run_scenario(
            "hackbot: outbox + TelegramThrottle",
            args.recipients,
            args.latency,
            TelegramThrottle(),
            outbox_broadcast(db),
        )
    results = [ours, *await baselines(args.recipients, args.latency)]
    floor = args.recipients / 30
    latency_ms = args.latency * 1000
    print(f"\n{args.recipients} recipients, simulator latency {latency_ms:.0f} ms, Telegram's limits on")
    print(f"floor at 30 msg/s: {floor:.1f} s\n")
    print_table(results, floor)


if __name__ == "__main__":
    asyncio.run(main())
