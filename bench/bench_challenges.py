"""Benchmark: 100 people press "Join" within one second; how long until each button is answered?

Runs the real hackbot application against the local Bot API simulator (Telegram's rate limits on),
with a fresh SQLite database (or PostgreSQL with --database-url). Participants are created in the
database and open the chat with /defis first (not measured). Then every person presses
`ch:join:<challenge>` on their list message, spread evenly over `--spread` seconds, and we measure,
for each press, the time from the update being queued in the simulator to the bot's
answerCallbackQuery reaching it (both are recorded by the simulator). Taps handed to the bot
together, in one `getUpdates` answer, as a room tapping at once really arrives: `bench_taps.py`.

    .venv/bin/python bench/bench_challenges.py [--users 100] [--spread 1.0] [--rounds 3]
    .venv/bin/python bench/bench_challenges.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from schedule.config import TeamPicking  # noqa: E402
from tests.support.harness import bundled_event, running_bot  # noqa: E402

CHALLENGE = "benevolat"


async def one_round(db: Database, users: int, spread: float) -> list[float]:
    """One fresh database, one bot, `users` presses; returns the latencies in milliseconds."""
    sim = await common.started_simulator(rate_limits=True)
    now = utcnow()
    event = bundled_event(
        team_picking=TeamPicking(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1))
    )
    people = await common.registered_participants(sim, db, users, event.privacy.version, prefix="U")
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
            _, latencies = await common.answer_latencies(presses)
            assert not sim.unanswered_callbacks(), "some presses were never answered"
            assert not sim.violations, sim.violations
            assert not sim.rate_limited, sim.rate_limited
    finally:
        await sim.stop()
    return latencies


async def main() -> None:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the presses are spread")
    parser.add_argument("--rounds", type=int, default=3)
    args = common.parse_arguments(parser)

    await common.measured_rounds(
        args.database_url,
        args.rounds,
        lambda db: one_round(db, args.users, args.spread),
        counted="answers",
        setting=f"{args.users} users within {args.spread:g}s",
    )


if __name__ == "__main__":
    asyncio.run(main())
