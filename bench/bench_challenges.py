"""Benchmark: 100 people press "Join" within one second; how long until each button is answered?

Runs the real hackbot application against the local Bot API simulator (Telegram's rate limits on),
with a fresh SQLite database (or PostgreSQL with --database-url). Participants are created in the
database and open the chat with /defis first (not measured). Then every person presses
`ch:join:<challenge>` on their list message, spread evenly over `--spread` seconds, and we measure,
for each press, the time from the update being queued in the simulator to the bot's
answerCallbackQuery reaching it (both are recorded by the simulator).

    .venv/bin/python bench/bench_challenges.py [--users 100] [--spread 1.0] [--rounds 3]
    .venv/bin/python bench/bench_challenges.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.participant import Participant, ParticipantStatus  # noqa: E402
from schedule.config import TeamPicking  # noqa: E402
from simulator import Simulator  # noqa: E402
from tests.support.harness import BOT_TOKEN, BOT_USERNAME, bundled_event, running_bot  # noqa: E402

CHALLENGE = "benevolat"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was actually measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def one_round(database_url: str, schema: str | None, users: int, spread: float) -> list[float]:
    """One fresh database, one bot, `users` presses; returns the latencies in milliseconds."""
    await upgrade(database_url, schema=schema)
    db = Database(database_url, schema=schema)
    sim = Simulator(rate_limits=True)
    sim.add_bot(token=BOT_TOKEN, username=BOT_USERNAME, first_name="Hackbot")
    await sim.start(host="127.0.0.1", port=0)
    now = utcnow()
    event = bundled_event(
        team_picking=TeamPicking(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1))
    )
    people = [sim.add_user(first_name=f"U{i}", language_code="fr") for i in range(users)]
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
    try:
        async with running_bot(sim, db, event):
            for user in people:  # open every chat (Telegram's 30 messages/s: a few seconds)
                await user.send_text("/defis")
            lists = [
                await user.wait_for_message(lambda m: "Les défis" in m.text, timeout=60) for user in people
            ]
            await asyncio.sleep(1.5)  # let the per-chat limits of the list messages pass
            presses = []
            start = time.monotonic()
            for index, (user, listing) in enumerate(zip(people, lists, strict=True)):
                target = start + spread * index / max(users - 1, 1)
                await asyncio.sleep(max(0.0, target - time.monotonic()))
                presses.append(await user.press(callback_data=f"ch:join:{CHALLENGE}", message=listing))
            answers = [await press.wait_answered(timeout=60) for press in presses]
            latencies = [
                (answer.time - press.record.created) * 1000
                for press, answer in zip(presses, answers, strict=True)
            ]
            assert not sim.unanswered_callbacks(), "some presses were never answered"
            assert not sim.violations, sim.violations
            assert not sim.rate_limited, sim.rate_limited
    finally:
        await sim.stop()
        await db.dispose()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the presses are spread")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    all_latencies: list[float] = []
    backend = "sqlite"
    for round_number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            schema = None
            url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            admin = None
            if url.startswith("postgresql"):
                backend = "postgresql"
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
                async with admin.connect() as connection:
                    await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                latencies = await one_round(url, schema, args.users, args.spread)
            finally:
                if admin is not None:
                    async with admin.connect() as connection:
                        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                    await admin.dispose()
        all_latencies += latencies
        print(
            f"round {round_number}: {len(latencies)} answers, p50 {percentile(latencies, 0.5):.1f} ms, "
            f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms"
        )
    print(
        f"{backend}, {args.users} users within {args.spread:g}s, {args.rounds} round(s): "
        f"p50 {percentile(all_latencies, 0.5):.1f} ms, p95 {percentile(all_latencies, 0.95):.1f} ms, "
        f"max {max(all_latencies):.1f} ms, mean {statistics.fmean(all_latencies):.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
