"""Benchmark: 100 people ask a question within one second; the acknowledgement, and the staff queue.

Runs the real hackbot application against the local Bot API simulator (Telegram's rate limits on)
with a fresh SQLite database (or PostgreSQL with --database-url). Participants are created in the
database; each sends `/question <text>` (the question in one message), spread over `--spread`
seconds. We measure, from the simulator's record of arriving messages:

- the acknowledgement latency: the question stored in the simulator → "Received (#n)" arriving
  (target: p95 under 1 s; the ticket is written before the answer);
- the staff group drain: every relay arrives, in queue order, with no 429 and at most 20 in any
  group window. Telegram's window is a minute; `--speed` scales the simulator's clock and the
  throttle's group window so that 100 relays take seconds instead of five minutes.

    .venv/bin/python bench/bench_questions.py [--users 100] [--spread 1.0] [--speed 30]
    .venv/bin/python bench/bench_questions.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import bot.app  # noqa: E402
from bench import common  # noqa: E402
from bot.delivery.limits import RateLimits  # noqa: E402
from bot.delivery.throttle import TelegramThrottle  # noqa: E402
from models.db import Database  # noqa: E402
from tests.support.harness import bundled_event, running_bot  # noqa: E402

GROUP_LIMIT = 20


async def one_round(db: Database, users: int, spread: float, speed: float) -> None:
    """One fresh database, one bot, `users` questions; prints the figures."""
    start_clock = time.monotonic()
    sim = await common.started_simulator(
        rate_limits=True, clock=lambda: start_clock + (time.monotonic() - start_clock) * speed
    )
    window = 60.0 / speed

    class ScaledThrottle(TelegramThrottle):
        """The bot's throttle with the group window scaled like the simulator's clock (a subclass:
        the application checks that its rate limiter is a `TelegramThrottle`)."""

        def __init__(self) -> None:
            super().__init__(RateLimits(group_window=window))

    bot.app.TelegramThrottle = ScaledThrottle  # type: ignore[assignment,misc]
    staff_user = sim.add_user(first_name="Camille")
    group = sim.add_group("Équipe", members=[staff_user])
    event = bundled_event(staff_chat_id=group.id, organisers=[])
    people = await common.registered_participants(sim, db, users, event.privacy.version, prefix="U")
    arrivals: dict[int, float] = {}  # private chat id → when the acknowledgement arrived
    relays: list[tuple[float, str]] = []
    sim.on_message(
        lambda message, kind: (
            kind == "new"
            and message.from_bot
            and (
                relays.append((time.monotonic(), message.text))
                if message.chat_id == group.id
                else "Bien reçu" in message.text and arrivals.setdefault(message.chat_id, time.monotonic())
            )
        )
    )
    try:
        async with running_bot(sim, db, event):
            sent: dict[int, float] = {}
            start = time.monotonic()
            for index, user in enumerate(people):
                target = start + spread * index / max(users - 1, 1)
                await asyncio.sleep(max(0.0, target - time.monotonic()))
                sent[user.id] = time.monotonic()
                await user.send_text(f"/question Question {index}")
            deadline = time.monotonic() + 60 + users / GROUP_LIMIT * window * 2
            while (len(arrivals) < users or len(relays) < users) and time.monotonic() < deadline:
                await sim.world.changed.wait(1.0)
            drained = time.monotonic() - start
    finally:
        await sim.stop()
    latencies = [(arrivals[uid] - sent[uid]) * 1000 for uid in sent if uid in arrivals]
    times = sorted(t for t, _ in relays)
    busiest = max((sum(1 for t in times if s <= t < s + window) for s in times), default=0)
    print(
        f"acks {len(latencies)}/{users}: p50 {common.percentile(latencies, 0.5):.0f} ms, "
        f"p95 {common.percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms, "
        f"mean {statistics.fmean(latencies):.0f} ms"
    )
    print(
        f"relays {len(relays)}/{users} in {drained:.1f}s ({drained * speed / 60:.1f} scaled minutes, "
        f"floor {(math.ceil(users / GROUP_LIMIT) - 1) * 60:.0f} s scaled); busiest window {busiest} "
        f"(limit {GROUP_LIMIT}); 429s {len(sim.rate_limited)}; violations {len(sim.violations)}"
    )


async def main() -> None:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the questions arrive")
    parser.add_argument("--speed", type=float, default=30.0, help="how much faster the rate-limit clock runs")
    args = common.parse_arguments(parser)
    async with common.fresh_database(args.database_url) as db:
        await one_round(db, args.users, args.spread, args.speed)


if __name__ == "__main__":
    asyncio.run(main())
