"""Benchmark: 3 desk volunteers scan 100 badges as fast as they can; time from scan to the desk's answer.

Runs the real hackbot application against the local Bot API simulator (Telegram's rate limits on),
with a fresh SQLite database (or PostgreSQL with --database-url). 100 participants are registered
in the database and their badge codes created (not measured). Then 3 desk volunteers work through
their share of the queue at the same time: each opens a badge's link (what the phone does once its
camera read the QR code: Telegram sends `/start ci-<code>`), waits for the bot's desk card, waits
`--pause` seconds (the next person steps up, the camera finds the code, the volunteer taps the link)
and scans the next. For each scan we measure the time from the update being queued in the simulator
to the desk card arriving in the volunteer's chat.

Telegram lets a bot send one message per second to a chat (a short burst is tolerated): a
volunteer who scans again the instant the card arrives (`--pause 0`) waits for that limit, not
for the bot. `--pause 1` (the default) is a volunteer at phone speed.

    .venv/bin/python bench/bench_arrival.py [--people 100] [--desks 3] [--pause 1.0] [--rounds 1]
    .venv/bin/python bench/bench_arrival.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import common  # noqa: E402
from models import arrival  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.participant import Participant  # noqa: E402
from schedule.config import ArrivalSettings  # noqa: E402
from simulator import SimUser  # noqa: E402
from tests.support.harness import BOT_USERNAME, bundled_event, running_bot  # noqa: E402


async def one_round(db: Database, people: int, desks: int, pause: float) -> list[float]:
    """One fresh database, one bot, `people` scans by `desks` volunteers; latencies in milliseconds."""
    sim = await common.started_simulator(rate_limits=True)
    volunteers = [sim.add_user(first_name=f"Accueil{i}", language_code="fr") for i in range(desks)]
    event = bundled_event(arrival=ArrivalSettings(desk_volunteers=[v.id for v in volunteers]))
    users = await common.registered_participants(sim, db, people, event.privacy.version, prefix="P")
    async with db.transaction() as session:
        ids = {
            tid: pid
            for tid, pid in (await session.execute(select(Participant.telegram_id, Participant.id))).all()
        }
        links = [
            arrival.deep_link(
                BOT_USERNAME, await arrival.personal_code(session, ids[u.id], event.id, utcnow())
            )
            for u in users
        ]
    latencies: list[float] = []

    async def work(volunteer: SimUser, queue: list[str]) -> None:
        for link in queue:
            started = time.monotonic()
            await volunteer.open_link(link)
            card = await volunteer.wait_for_message(timeout=30)
            latencies.append((time.monotonic() - started) * 1000)
            assert "Première arrivée" in card.text, card.text
            await asyncio.sleep(pause)

    try:
        async with running_bot(sim, db, event):
            await asyncio.gather(*(work(v, links[i::desks]) for i, v in enumerate(volunteers)))
            async with db.read() as session:
                checked_in = await session.scalar(select(func.count()).select_from(arrival.CheckIn))
            assert checked_in == people, checked_in
            assert not sim.violations, sim.violations
            assert not sim.rate_limited, sim.rate_limited
    finally:
        await sim.stop()
    return latencies


async def main() -> None:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--desks", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between a card and the next scan")
    parser.add_argument("--rounds", type=int, default=1)
    args = common.parse_arguments(parser)

    await common.measured_rounds(
        args.database_url,
        args.rounds,
        lambda db: one_round(db, args.people, args.desks, args.pause),
        counted="scans",
        setting=f"{args.people} people, {args.desks} desks, pause {args.pause:g}s",
    )


if __name__ == "__main__":
    asyncio.run(main())
