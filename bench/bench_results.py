"""Benchmark: 60 participants rate the team that just presented, all within 10 seconds; every tap answered?

Runs the real hackbot application against the local Bot API simulator (Telegram's rate limits on),
with a fresh SQLite database (or PostgreSQL with --database-url). Setup (not measured): the
participants are registered, a team presents and finishes (the organiser's "next team"), and every
participant receives the "… has finished" message with its feedback button. Then each participant,
starting at an even spread over `--spread` seconds, taps "Give feedback", then rates the three
criteria of the event file, each tap once the previous answer's message shows the next criterion
(as a person does). We measure, for every tap, the time from the update being queued in the
simulator to the bot's answerCallbackQuery reaching it.

    .venv/bin/python bench/bench_results.py [--users 60] [--spread 10] [--rounds 1]
    .venv/bin/python bench/bench_results.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from models import challenges as ch  # noqa: E402
from models import results as rs  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.participant import Participant  # noqa: E402
from simulator import SimMessage, SimUser  # noqa: E402
from simulator.client import SimCallbackQuery  # noqa: E402
from tests.e2e.results_support import results_event  # noqa: E402
from tests.support.harness import running_bot  # noqa: E402

TEAM = "benevolat"
OTHER = "reservation"
TEAM_SIZE = 5


def _showing(fragment: str) -> Callable[[SimMessage], bool]:
    return lambda message: fragment in message.text


async def rate(user: SimUser, live: SimMessage, start_at: float) -> list[SimCallbackQuery]:
    """One participant: open the feedback, then rate 1-5 on each criterion as it appears."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    presses = [await user.press(callback_data=f"rs:fb:{TEAM}", message=live, timeout=60)]
    form = await user.wait_for_message("Votre avis sur", timeout=60)
    for index in range(3):
        presses.append(
            await user.press(callback_data=f"rs:rate:{TEAM}:{index}:{1 + index}", message=form, timeout=60)
        )
        shown = f"{index + 2}/3" if index < 2 else "Merci"
        await user.wait_for_edit(form, _showing(shown), timeout=60)
    return presses


async def one_round(db: Database, users: int, spread: float) -> list[float]:
    """One fresh database, one bot, `users` participants rating one team; the latencies in ms."""
    sim = await common.started_simulator(rate_limits=True)
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    event = results_event(organiser.id, [])
    raters = await common.registered_participants(
        sim, db, users, event.privacy.version, prefix="R", started=True
    )
    team = await common.registered_participants(
        sim, db, TEAM_SIZE, event.privacy.version, prefix="T", started=True
    )
    try:
        async with running_bot(sim, db, event) as app:
            services = app.bot_data.services
            now = utcnow()
            async with db.transaction() as session:
                for members, cid in ((team, TEAM), (raters[:1], OTHER)):
                    for user in members:
                        pid = await session.scalar(
                            select(Participant.id).where(Participant.telegram_id == user.id)
                        )
                        assert pid is not None
                        await ch.join(session, pid, cid, now)
                await rs.set_order(session, event, services.catalog, [TEAM, OTHER])
            for step in (-1, 0):
                async with db.transaction() as session:
                    assert not isinstance(
                        await rs.next_team(session, event, services.catalog, step), rs.Refused
                    )
            services.wake_sender()
            everyone = raters  # the first one is in the team presenting now: they rate too
            lives = [await user.wait_for_message("a terminé", timeout=120, since="all") for user in everyone]
            await asyncio.sleep(1.5)  # let the per-chat limits of the live messages pass
            start = time.monotonic()
            sequences = await asyncio.gather(
                *(
                    rate(user, live, start + spread * index / max(len(everyone) - 1, 1))
                    for index, (user, live) in enumerate(zip(everyone, lives, strict=True))
                )
            )
            presses = [press for sequence in sequences for press in sequence]
            _, latencies = await common.answer_latencies(presses)
            assert not sim.unanswered_callbacks(), "some taps were never answered"
            assert not sim.violations, sim.violations
            async with db.read() as session:
                count = len(list(await session.scalars(select(rs.Rating.value))))
            assert count == 3 * len(everyone), count
            if sim.rate_limited:
                print(f"  note: {len(sim.rate_limited)} 429(s) from the simulator, retried by the bot")
    finally:
        await sim.stop()
    return latencies


async def main() -> None:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which people start rating")
    parser.add_argument("--rounds", type=int, default=1)
    args = common.parse_arguments(parser)

    await common.measured_rounds(
        args.database_url,
        args.rounds,
        lambda db: one_round(db, args.users, args.spread),
        counted="taps answered",
        setting=f"{args.users} participants rating one team within {args.spread:g}s",
    )


if __name__ == "__main__":
    asyncio.run(main())
