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

import argparse
import asyncio
import logging
import math
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

import bot.app  # noqa: E402
from bot.delivery.limits import RateLimits  # noqa: E402
from bot.delivery.throttle import TelegramThrottle  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.participant import Participant, ParticipantStatus  # noqa: E402
from simulator import Simulator  # noqa: E402
from tests.support.harness import BOT_TOKEN, BOT_USERNAME, bundled_event, running_bot  # noqa: E402

GROUP_LIMIT = 20


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (a value that was actually measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def one_round(database_url: str, schema: str | None, users: int, spread: float, speed: float) -> None:
    """One fresh database, one bot, `users` questions; prints the figures."""
    await upgrade(database_url, schema=schema)
    db = Database(database_url, schema=schema)
    start_clock = time.monotonic()
    sim = Simulator(rate_limits=True, clock=lambda: start_clock + (time.monotonic() - start_clock) * speed)
    sim.add_bot(token=BOT_TOKEN, username=BOT_USERNAME, first_name="Hackbot")
    await sim.start(host="127.0.0.1", port=0)
    window = 60.0 / speed
    bot.app.TelegramThrottle = lambda: TelegramThrottle(RateLimits(group_window=window))  # type: ignore[assignment,misc]
    staff_user = sim.add_user(first_name="Camille")
    group = sim.add_group("Équipe", members=[staff_user])
    event = bundled_event(staff_chat_id=group.id, organisers=[])
    people = [sim.add_user(first_name=f"U{i}", language_code="fr") for i in range(users)]
    now = utcnow()
    async with db.transaction() as session:
        session.add_all(
            Participant(
                telegram_id=user.id,
                display_name=user.first_name,
                language="fr",
                role="resident",
                consent_version=event.privacy.version,
                consent_given_at=now,
                registered_at=now,
                status=ParticipantStatus.ACTIVE,
            )
            for user in people
        )
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
        await db.dispose()
    latencies = [(arrivals[uid] - sent[uid]) * 1000 for uid in sent if uid in arrivals]
    times = sorted(t for t, _ in relays)
    busiest = max((sum(1 for t in times if s <= t < s + window) for s in times), default=0)
    print(
        f"acks {len(latencies)}/{users}: p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms, "
        f"mean {statistics.fmean(latencies):.0f} ms"
    )
    print(
        f"relays {len(relays)}/{users} in {drained:.1f}s ({drained * speed / 60:.1f} scaled minutes, "
        f"floor {(math.ceil(users / GROUP_LIMIT) - 1) * 60:.0f} s scaled); busiest window {busiest} "
        f"(limit {GROUP_LIMIT}); 429s {len(sim.rate_limited)}; violations {len(sim.violations)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the questions arrive")
    parser.add_argument("--speed", type=float, default=30.0, help="how much faster the rate-limit clock runs")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        admin = None
        if url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            await one_round(url, schema, args.users, args.spread, args.speed)
        finally:
            if admin is not None:
                async with admin.connect() as connection:
                    await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
