"""Benchmark: a room of people pressing "Join" together; how long until each tap is answered, and is it fair?

Runs the real hackbot application (its own `python -m bot run` process by default, as deployed)
against the local Bot API simulator with Telegram's flood limits on, on a fresh database (a
temporary SQLite file, or a new PostgreSQL schema with --database-url). N registered participants
open the chat with /defis first (not measured), then every one of them presses
`ch:join:benevolat` (a challenge of 12 places) on their list message:

- "one poll": all N presses are queued at once and reach the bot together, the way Telegram hands
  a burst to `getUpdates` (100 updates per answer at most, so 300 taps arrive in 3 answers);
- "spread": the presses are spread evenly over one second.

Each tap's latency is measured by the simulator, from the update being handed to the bot (the
`getUpdates` answer that carried it) to the bot's `answerCallbackQuery` reaching it. The round then
checks fairness: the 12 places went to the first 12 presses in update-id order, and the waiting
list follows that order too.

    .venv/bin/python bench/bench_taps.py [--taps 30 100 300] [--modes poll spread] [--in-process]
    .venv/bin/python bench/bench_taps.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from models import challenges as ch  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.participant import Participant  # noqa: E402
from schedule.config import TeamPicking  # noqa: E402
from schedule.loader import BUNDLED_EVENT  # noqa: E402
from simulator import Simulator  # noqa: E402
from simulator.client import SimCallbackQuery  # noqa: E402
from tests.support.harness import bundled_event, running_bot  # noqa: E402
from tests.support.process import start_bot, stop  # noqa: E402

CHALLENGE = "benevolat"  # 12 places in the bundled event
CAPACITY = 12


@dataclass
class Round:
    """One measured burst."""

    backend: str
    mode: str
    taps: int
    latencies: list[float]
    fair: bool
    seconds: float  # from the first tap handed to the bot to the last answer

    def line(self) -> str:
        """One row of the results table."""
        lat = self.latencies
        return (
            f"| {self.backend} | {self.mode} | {self.taps} | {common.percentile(lat, 0.5):.0f} | "
            f"{common.percentile(lat, 0.95):.0f} | {max(lat):.0f} | {self.seconds * 1000:.0f} | "
            f"{'yes' if self.fair else 'NO'} |"
        )


def write_event(path: Path) -> Path:
    """The bundled event, team picking open now, no staff group (as the tests' `open_event`)."""
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8")))
    now = utcnow()
    data["team_picking"] = {
        **(data.get("team_picking") or {}),
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
    }
    data.pop("staff_chat_id", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def fairness(db: Database, presses: list[SimCallbackQuery], telegram_ids: list[int]) -> bool:
    """Whether the places and the waiting list follow update-id order exactly."""
    order = [tid for _, tid in sorted(zip((p.update_id or 0 for p in presses), telegram_ids, strict=True))]
    async with db.read() as session:
        ids = dict((await session.execute(select(Participant.telegram_id, Participant.id))).all())
        members = {m.participant_id for m in await ch.members_of(session, CHALLENGE)}
        queue = await ch.waitlist_of(session, CHALLENGE)
    expected_members = {ids[tid] for tid in order[:CAPACITY]}
    return members == expected_members and queue == [ids[tid] for tid in order[CAPACITY:]]


async def one_round(db: Database, taps: int, mode: str, *, in_process: bool) -> Round:
    """A fresh simulator and bot, `taps` people pressing Join; the latencies and the fairness check."""
    sim: Simulator = await common.started_simulator(rate_limits=True)
    backend = "PostgreSQL" if db.url.startswith("postgresql") else "SQLite"
    event = bundled_event(
        team_picking=TeamPicking(
            opens_at=utcnow() - timedelta(hours=1), closes_at=utcnow() + timedelta(days=1)
        ),
        staff_chat_id=None,
    )
    people = await common.registered_participants(sim, db, taps, event.privacy.version, prefix="U")
    try:
        async with contextlib.AsyncExitStack() as stack:
            if in_process:
                await stack.enter_async_context(running_bot(sim, db, event))
            else:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                env = {"DATABASE_URL": db.url, "EVENT_CONFIG": str(write_event(folder / "e.yaml"))}
                if db.schema:
                    env["DATABASE_SCHEMA"] = db.schema
                process = start_bot(sim, env, folder / "bot.log")
                stack.push_async_callback(stop, process, 15)  # SIGTERM
            for user in people:  # open every chat (Telegram's 30 messages/s: a few seconds)
                await user.send_text("/defis")
            lists = [
                await user.wait_for_message(lambda m: "Les défis" in m.text, timeout=90) for user in people
            ]
            await asyncio.sleep(1.5)  # let the per-chat limits of the list messages pass
            presses: list[SimCallbackQuery] = []
            data = f"ch:join:{CHALLENGE}"
            if mode == "poll":
                with sim.one_poll():
                    for user, listing in zip(people, lists, strict=True):
                        presses.append(
                            await user.press(callback_data=data, message=listing, wait_answer=False)
                        )
            else:
                start = time.monotonic()
                for index, (user, listing) in enumerate(zip(people, lists, strict=True)):
                    await asyncio.sleep(max(0.0, start + index / max(taps - 1, 1) - time.monotonic()))
                    presses.append(await user.press(callback_data=data, message=listing, wait_answer=False))
            answers = [await press.wait_answered(timeout=60) for press in presses]
            handed = [press.handed_at for press in presses]
            assert all(at is not None for at in handed)
            latencies = [
                (answer.time - at) * 1000
                for answer, at in zip(answers, handed, strict=True)
                if at is not None
            ]
            seconds = max(a.time for a in answers) - min(at for at in handed if at is not None)
            assert not sim.unanswered_callbacks(), "some presses were never answered"
            assert not sim.violations, sim.violations
            if sim.rate_limited:  # the flood-limit throttle is measured by bench_broadcast.py
                print(f"  {len(sim.rate_limited)} × 429 ({sorted({r.method for r in sim.rate_limited})})")
        fair = await fairness(db, presses, [user.id for user in people])
    finally:
        await sim.stop()
    return Round(backend, "one poll" if mode == "poll" else "over 1 s", taps, latencies, fair, seconds)


async def main() -> None:
    parser = common.bench_parser(__doc__, in_process=True)
    parser.add_argument("--taps", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--modes", nargs="+", choices=["poll", "spread"], default=["poll", "spread"])
    args = common.parse_arguments(parser)
    rounds = []
    for mode in args.modes:
        for taps in args.taps:
            async with common.fresh_database(args.database_url) as db:
                result = await one_round(db, taps, mode, in_process=args.in_process)
            rounds.append(result)
            print(result.line(), flush=True)
    print("\n| database | taps | N | p50 ms | p95 ms | max ms | all answered in ms | fair |")
    print("|---|---|---|---|---|---|---|---|")
    for result in rounds:
        print(result.line())


if __name__ == "__main__":
    asyncio.run(main())
