"""Benchmark: memory and start-up with 10,000 registered participants, and a broadcast to all of them.

The bot runs as its own `python -m bot run` process, as deployed (dashboard on), against the local
Bot API simulator with Telegram's flood limits on, on a fresh database holding `--participants`
registered participants. We measure:

- start to first poll: from the process being spawned to its first `getUpdates` reaching the
  simulator (migrations, loading the event, the catalogs, connecting, the start steps of every
  running part); target ≤ 3 s;
- its resident memory (RSS, from `/proc/<pid>/status`) once started, the highest seen while an
  organiser's `/annonce` to everyone is sent, and once it is done (the report shown); target
  ≤ 150 MB each.

The broadcast goes at Telegram's 30 messages a second: 10,000 people take about 5.6 minutes.

    .venv/bin/python bench/bench_memory.py [--participants 10000]
    .venv/bin/python bench/bench_memory.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from models.db import Database  # noqa: E402
from simulator import Simulator  # noqa: E402
from tests.e2e.test_broadcasts_crash import write_event  # noqa: E402
from tests.support.harness import bundled_event  # noqa: E402

BODY = "📣 Le bus est arrivé devant l'entrée : départ dans 5 minutes !"
START_TARGET = 3.0  # seconds
RSS_TARGET = 150.0  # MB


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid`, in MB (0 if it is gone)."""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


@dataclass
class Figures:
    participants: int
    start_to_poll: float = 0.0
    rss_started: float = 0.0
    rss_peak: float = 0.0
    rss_after: float = 0.0
    broadcast_seconds: float = 0.0
    delivered: int = 0
    rate_limited: int = 0
    samples: list[float] = field(default_factory=list)


async def first_poll(sim: Simulator, since: float, within: float) -> float:
    """Seconds from `since` (wall clock) to the first `getUpdates` the simulator answered.

    An update is waiting before the bot starts, so that first long poll is answered at once: the
    simulator records a request when it answers it.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        polls = [record.time for record in sim.requests if record.method == "getUpdates"]
        if polls:
            return min(polls) - since
        await asyncio.sleep(0.01)
    raise TimeoutError("the bot never polled")


async def measure(db: Database, participants: int) -> Figures:
    sim = await common.started_simulator(rate_limits=True)
    figures = Figures(participants)
    try:
        consent = bundled_event().privacy.version
        people = await common.registered_participants(
            sim, db, participants, consent, prefix="P", started=True
        )
        targets = {person.id for person in people}
        organiser = sim.add_user(first_name="Orga", language_code="fr")
        arrivals: set[int] = set()
        everyone = asyncio.Event()

        def record(message, kind: str) -> None:
            if kind == "new" and message.from_bot and message.chat_id in targets and message.text == BODY:
                arrivals.add(message.chat_id)
                if len(arrivals) >= participants:
                    everyone.set()

        sim.on_message(record)
        await organiser.send_text("/start")  # waiting for the first poll (see `first_poll`)
        with tempfile.TemporaryDirectory() as folder:
            env = {
                "EVENT_CONFIG": str(write_event(Path(folder) / "event.yaml", organiser.id)),
                "DASHBOARD_ENABLED": "true",
                "WEB_PORT": "0",  # a free port: the benchmark must not collide with anything
            }
            spawned = time.time()
            async with common.hackbot_process(sim, db, env=env) as process:
                figures.start_to_poll = await first_poll(sim, spawned, 60)
                await asyncio.sleep(2.0)  # let the start steps settle (jobs, first looks)
                figures.rss_started = rss_mb(process.pid)

                await organiser.send_text("/annonce")
                await organiser.wait_for_message("Nouvelle annonce", timeout=60)
                await organiser.send_text(BODY)
                menu = await organiser.wait_for_message("À qui l'envoyer", timeout=30)
                button = next(label for label in menu.button_texts if label.startswith("👥 Tout le monde"))
                await organiser.press(button, message=menu)
                confirm = await organiser.wait_for_message("Destinataires", timeout=60)
                send = next(label for label in confirm.button_texts if label.startswith("✅ Envoyer"))
                started = time.monotonic()
                await organiser.press(send, message=confirm)
                deadline = started + participants / 20 + 120
                while not everyone.is_set() and time.monotonic() < deadline:
                    figures.samples.append(rss_mb(process.pid))
                    await asyncio.sleep(0.5)
                figures.broadcast_seconds = time.monotonic() - started
                await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=60)
                await asyncio.sleep(2.0)
                figures.rss_after = rss_mb(process.pid)
                figures.rss_peak = max([*figures.samples, figures.rss_started, figures.rss_after])
        figures.delivered = len(arrivals)
        figures.rate_limited = len(sim.rate_limited)
        for refused in sim.rate_limited:
            kind = "a recipient" if refused.chat_id in targets else f"chat {refused.chat_id}"
            print(f"  429 on {refused.method} to {kind} (retry after {refused.retry_after} s)")
    finally:
        await sim.stop()
    return figures


async def main() -> int:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    args = common.parse_arguments(parser, log_level=logging.ERROR)
    print(f"load before: {'/'.join(f'{value:.2f}' for value in os.getloadavg())}")
    async with common.fresh_database(args.database_url) as db:
        figures = await measure(db, args.participants)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"load after: {'/'.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"\n{figures.participants} registered participants, hackbot on {backend}\n")
    print("| measure | value | target |")
    print("|---|---:|---:|")
    print(f"| start to first poll | {figures.start_to_poll:.2f} s | ≤ {START_TARGET:.0f} s |")
    print(f"| RSS after start | {figures.rss_started:.1f} MB | ≤ {RSS_TARGET:.0f} MB |")
    print(f"| RSS, highest during the broadcast | {figures.rss_peak:.1f} MB | ≤ {RSS_TARGET:.0f} MB |")
    print(f"| RSS after the broadcast | {figures.rss_after:.1f} MB | ≤ {RSS_TARGET:.0f} MB |")
    if figures.samples:
        step = max(1, len(figures.samples) // 8)
        trace = ", ".join(f"{value:.0f}" for value in figures.samples[::step])
        print(f"| RSS during the broadcast, every {step / 2:.0f} s | {trace} MB | |")
    print(
        f"| broadcast to everyone | {figures.broadcast_seconds:.1f} s, {figures.delivered} delivered, "
        f"{figures.rate_limited} × 429 | |"
    )
    ok = (
        figures.start_to_poll <= START_TARGET
        and figures.rss_peak <= RSS_TARGET
        and figures.delivered == figures.participants
        and not figures.rate_limited
    )
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
