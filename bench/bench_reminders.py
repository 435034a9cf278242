"""Benchmark: one reminder to 1,000 people through the real bot, the simulator at 50 ms of latency.

The whole hackbot application (`hackbot run --rehearse-at`, in its own process as in production;
`--in-process` to run it beside the simulator) runs against the local Bot API simulator with
Telegram's flood limits on. 1,000 registered participants (created in the database; they started
the bot earlier) and a rehearsed programme whose one reminder falls due about 25 s after the bot
starts. We measure, from
the simulator's record of arriving messages:

- the delivery time: first to last arrival, against the floor set by Telegram's 30 messages a second
  (1,000 / 30 = 33.3 s); target: within 10 % of the floor;
- where the deliveries fall around the due time (the batch is released half its sending time early);
- 429 answers received (target 0), duplicates (target 0), people missed (target 0).

    .venv/bin/python bench/bench_reminders.py [--recipients 1000] [--latency 0.05] [--rounds 1]
    .venv/bin/python bench/bench_reminders.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.programme import NotificationBatch  # noqa: E402
from simulator import Simulator  # noqa: E402
from tests.support.harness import running_bot  # noqa: E402
from tests.unit.programme.events import CONSENT_VERSION, Item, build_event, event_data, write_event  # noqa: E402

FLOOR_RATE = 30.0  # Telegram's documented limit, messages a second
TITLE = "Titre talk"


@dataclass
class Outcome:
    recipients: int
    delivered: int
    duplicates: int
    missed: int
    rate_limited: int
    first_offset: float  # seconds from the due time (negative: before)
    last_offset: float
    median_offset: float
    span: float  # first to last arrival
    busiest_second: int  # most sends the server accepted in any one second
    refusals: list[str]  # the 429s: when, which method, which chat
    fanout_lead: float  # how long before the due time the batch was turned into outbox rows


@contextlib.asynccontextmanager
async def bot_process(
    sim: Simulator, db: Database, event: dict[str, Any], starts_at: datetime
) -> AsyncIterator[None]:
    """`hackbot run --rehearse-at` in its own process: its pauses (garbage collection, the CPU
    given to another process) then delay its own sends only, as they would in production, instead
    of also stalling the simulated Telegram server that shares the benchmark's event loop."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "EVENT_CONFIG": str(write_event(Path(folder) / "event.yaml", event)),
            "DASHBOARD_ENABLED": "false",
        }
        async with common.hackbot_process(sim, db, "--rehearse-at", starts_at.isoformat(), env=env):
            yield


async def one_round(db: Database, recipients: int, latency: float, *, in_process: bool) -> Outcome:
    sim = await common.started_simulator(latency=latency, rate_limits=True)
    await common.registered_participants(sim, db, recipients, CONSENT_VERSION, prefix="P", started=True)
    arrivals: dict[int, list[datetime]] = {}
    everyone = asyncio.Event()

    def record(message, event: str) -> None:
        if event == "new" and message.from_bot and TITLE in (message.text or ""):
            arrivals.setdefault(message.chat_id, []).append(utcnow())
            if len(arrivals) >= recipients:
                everyone.set()

    sim.on_message(record)
    # The simulator stands in for Telegram's servers, which no pause of ours can stall: keep its
    # 1,000-person world out of the cyclic collector, whose full passes over it would stall the
    # simulated server for tens of milliseconds and bunch the arrivals it counts.
    gc.collect()
    gc.freeze()
    # The reminder of "talk" (1 minute before it starts) falls due 25 s after the programme starts.
    items = [Item("opening", 0, 85, reminder=0), Item("talk", 85, 300, reminder=1)]
    starts_at = utcnow()
    event = build_event(items).shifted_to(starts_at)
    talk = event.item("talk")
    assert talk is not None
    due = talk.start - timedelta(minutes=1)
    limit = (due - utcnow()).total_seconds() + recipients / 20 + 30
    try:
        if in_process:
            async with running_bot(sim, db, event):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(everyone.wait(), limit)
                await asyncio.sleep(2)  # duplicates, if any, would arrive now
        else:
            async with bot_process(sim, db, event_data(items), starts_at):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(everyone.wait(), limit)
                await asyncio.sleep(2)
        async with db.read() as session:
            batch = await session.scalar(
                select(NotificationBatch).where(NotificationBatch.subject_id == "talk")
            )
            fanned_at = batch.done_at if batch is not None else None
    finally:
        await sim.stop()
        gc.unfreeze()
    times = sorted(t for chat in arrivals.values() for t in chat)
    accepted = sorted(
        record.time for record in sim.requests if record.method == "sendMessage" and record.status == 200
    )
    busiest, start = 0, 0
    for end, stamp in enumerate(accepted):
        while accepted[start] <= stamp - 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    refusals = [f"{record.method} to chat {record.chat_id}" for record in sim.rate_limited]
    offsets = [(t - due).total_seconds() for t in times]
    return Outcome(
        recipients=recipients,
        delivered=len(arrivals),
        duplicates=sum(len(v) - 1 for v in arrivals.values()),
        missed=recipients - len(arrivals),
        rate_limited=len(sim.rate_limited),
        first_offset=offsets[0] if offsets else float("nan"),
        last_offset=offsets[-1] if offsets else float("nan"),
        median_offset=statistics.median(offsets) if offsets else float("nan"),
        span=(times[-1] - times[0]).total_seconds() if times else float("nan"),
        fanout_lead=(due - fanned_at).total_seconds() if fanned_at else float("nan"),
        busiest_second=busiest,
        refusals=refusals,
    )


async def main() -> int:
    parser = common.bench_parser(__doc__, in_process=True)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="simulated network latency, seconds")
    parser.add_argument("--rounds", type=int, default=1)
    args = common.parse_arguments(parser)
    floor = args.recipients / FLOOR_RATE
    print(f"{args.recipients} recipients, simulator latency {args.latency * 1000:.0f} ms, rate limits on")
    print(f"floor at {FLOOR_RATE:.0f} msg/s: {floor:.1f} s; target: within 10 % ({floor * 1.1:.1f} s)")
    ok = True
    for index in range(args.rounds):
        async with common.fresh_database(args.database_url) as db:
            result = await one_round(db, args.recipients, args.latency, in_process=args.in_process)
        ratio = result.span / floor
        print(
            f"round {index + 1}: delivered {result.delivered}/{result.recipients} in {result.span:.1f} s "
            f"({ratio:.1%} of the floor, {result.delivered / result.span:.1f} msg/s); "
            f"429s {result.rate_limited}; duplicates {result.duplicates}; missed {result.missed}"
        )
        print(
            f"  around the due time: first {result.first_offset:+.1f} s, "
            f"median {result.median_offset:+.1f} s, last {result.last_offset:+.1f} s; "
            f"batch turned into outbox rows {result.fanout_lead:.1f} s ahead; "
            f"busiest second at the server: {result.busiest_second} messages"
        )
        for refusal in result.refusals:
            print(f"  429: {refusal}")
        ok = ok and ratio <= 1.10 and not result.rate_limited and not result.duplicates and not result.missed
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
