"""Benchmark: a 1,000-recipient `/annonce` through the real bot vs a plain loop and PTB's AIORateLimiter.

Each runs against the local Bot API simulator with 50 ms of latency per request and Telegram's
flood limits on (a fresh simulator each):

1. hackbot: the whole application (PTB, handlers, `TelegramThrottle`, outbox, the one sender, a
   fresh migrated database), as its own `python -m bot run` process like in production, and again
   inside the benchmark's process (sharing one event loop with the simulator, as the tests run it).
   An organiser goes through `/annonce` (text, "Everyone", preview) and presses "Send"; timed from
   that press to the last recipient's message. During the broadcast someone sends `/help` at 3, 6
   and 9 s: how long the answer takes is what a person using the bot during a broadcast feels. The
   organiser's report must say 1,000 delivered.
2. PTB's `AIORateLimiter`, tuned so that it never bursts (one request every 1/29 s:
   `overall_max_rate=1, overall_time_period=1/29`), every send started at once, with
   `bench/bench_delivery.py`'s scenario code (same interactive replies at 3, 6 and 9 s).

Both run twice: on the machine as it is, then with a CPU-burning process beside them (a busy loop
in its own process: what a garbage collection, a slow database write or a neighbour does to the
bot's timing, all the time). `--all-baselines` adds the earlier comparisons: hackbot inside the
simulator's process, a plain sequential `send_message` loop and an untuned `AIORateLimiter`.

Target: hackbot's broadcast completes within 5 % of Telegram's floor (1,000 / 30 = 33.3 s) with
zero 429 received, with and without the CPU burner, and is not slower than the tuned
`AIORateLimiter` in the same conditions.

    .venv/bin/python bench/bench_broadcast.py [--recipients 1000] [--latency 0.05] [--skip-baselines]
    .venv/bin/python bench/bench_broadcast.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from telegram.ext import AIORateLimiter  # noqa: E402

from bench import common  # noqa: E402
from bench.bench_delivery import REPLY_AT, Result, baselines, gathered_broadcast, print_table, run_scenario  # noqa: E402
from models.db import Database  # noqa: E402
from simulator import SimUser  # noqa: E402
from tests.e2e.test_broadcasts_crash import write_event  # noqa: E402
from tests.support.harness import bundled_event, running_bot  # noqa: E402
from tests.support.process import start_bot, stop  # noqa: E402

FLOOR_RATE = 30.0  # Telegram's documented limit, messages a second
TARGET = 1.05  # times the floor
BODY = "📣 Le bus est arrivé devant l'entrée : départ dans 5 minutes !"


async def asks_for_help(user: SimUser, started: float, latencies: list[float]) -> None:
    """A participant sends /help at 3, 6 and 9 s into the broadcast; record each answer's delay."""
    for at in REPLY_AT:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        begin = time.monotonic()
        await user.send_text("/help")
        await user.wait_for_message(timeout=30)
        latencies.append(time.monotonic() - begin)


async def hackbot_broadcast(db: Database, recipients: int, latency: float, *, own_process: bool) -> Result:
    """The real `/annonce` path, end to end: the bot as its own process, or in the simulator's."""
    sim = await common.started_simulator(latency=latency, rate_limits=True)
    name = "own process (as deployed)" if own_process else "in the simulator's process"
    result = Result(f"hackbot, {name}: /annonce → outbox → sender + TelegramThrottle")
    arrivals: dict[int, list[float]] = {}
    targets: set[int] = set()
    try:
        consent_version = bundled_event().privacy.version
        people = await common.registered_participants(
            sim, db, recipients, consent_version, prefix="P", started=True
        )
        asker = sim.add_user(first_name="Asker", language_code="fr")  # not registered: not a recipient
        asker.account.started_bots.add(sim.bot.id)
        organiser = sim.add_user(first_name="Orga", language_code="fr")
        targets = {person.id for person in people}
        print(f"  organiser {organiser.id}, asker {asker.id}")
        everyone = asyncio.Event()

        def record(message, kind: str) -> None:
            if kind == "new" and message.from_bot and message.chat_id in targets and message.text == BODY:
                arrivals.setdefault(message.chat_id, []).append(time.monotonic())
                if len(arrivals) >= recipients:
                    everyone.set()

        sim.on_message(record)
        async with contextlib.AsyncExitStack() as stack:
            if own_process:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                env = {
                    "DATABASE_URL": db.url,
                    "EVENT_CONFIG": str(write_event(folder / "e.yaml", organiser.id)),
                }
                if db.schema:
                    env["DATABASE_SCHEMA"] = db.schema
                process = start_bot(sim, env, folder / "bot.log")
                stack.push_async_callback(stop, process, signal.SIGTERM)
            else:
                event = bundled_event(organisers=[organiser.id], staff_chat_id=None)
                await stack.enter_async_context(running_bot(sim, db, event))
            # The organiser's steps (not timed): write, choose "everyone", read the preview.
            await organiser.send_text("/annonce")
            await organiser.wait_for_message("Nouvelle annonce", timeout=60)
            await organiser.send_text(BODY)
            menu = await organiser.wait_for_message("À qui l'envoyer", timeout=30)
            await organiser.press(f"👥 Tout le monde ({recipients})", message=menu)
            confirm = await organiser.wait_for_message("Destinataires", timeout=30)
            button = next(label for label in confirm.button_texts if label.startswith("✅ Envoyer"))

            started = time.monotonic()
            helper = asyncio.create_task(asks_for_help(asker, started, result.reply_latencies))
            await organiser.press(button, message=confirm)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everyone.wait(), recipients / 20 + 60)
            result.seconds = time.monotonic() - started
            report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=30)
            await helper
            await asyncio.sleep(1.0)  # duplicates, if any, would arrive now
        if f"Reçue : {recipients:,}".replace(",", "\u202f") not in report.text:
            result.failed = recipients  # the report does not say everyone got it
    finally:
        await sim.stop()
    result.delivered = len(arrivals)
    result.duplicates = sum(len(copies) - 1 for copies in arrivals.values())
    result.failed = max(result.failed, recipients - result.delivered)
    result.rate_limited = len(sim.rate_limited)
    for refused in sim.rate_limited:
        kind = "a recipient" if refused.chat_id in targets else f"chat {refused.chat_id}"
        print(f"  429 on {refused.method} to {kind} (retry after {refused.retry_after} s)")
    return result


async def ours(args: argparse.Namespace, *, own_process: bool) -> Result:
    """Run hackbot's path on a fresh SQLite file, or a fresh schema of the PostgreSQL URL given."""
    async with common.fresh_database(args.database_url) as db:
        return await hackbot_broadcast(db, args.recipients, args.latency, own_process=own_process)


@contextlib.contextmanager
def cpu_burner(enabled: bool) -> Iterator[None]:
    """A process spinning on one CPU for the duration (nothing when not `enabled`)."""
    if not enabled:
        yield
        return
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


async def tuned_aio(args: argparse.Namespace, label: str) -> Result:
    """PTB's own limiter, tuned never to burst: one request every 1/29 s, all sends started at once."""
    limiter = AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 29, max_retries=3)
    name = f"PTB AIORateLimiter tuned (1 per 1/29 s), gather{label}"
    return await run_scenario(name, args.recipients, args.latency, limiter, gathered_broadcast)


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), for the record."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


async def main() -> int:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="simulated network latency, seconds")
    parser.add_argument(
        "--skip-baselines", action="store_true", help="only hackbot's path, as its own process"
    )
    parser.add_argument(
        "--all-baselines",
        action="store_true",
        help="also hackbot in the simulator's process, a sequential loop and an untuned AIORateLimiter",
    )
    args = common.parse_arguments(parser, log_level=logging.ERROR)

    mine: list[Result] = []
    results: list[Result] = []
    tuned: list[Result] = []
    for burning in (False, True):
        label = ", CPU burner beside it" if burning else ""
        print(f"load before{label or ' (quiet)'}: {load()}")
        with cpu_burner(burning):
            ours_result = await ours(args, own_process=True)
            ours_result.name += label
            mine.append(ours_result)
            results.append(ours_result)
            if not args.skip_baselines:
                tuned.append(await tuned_aio(args, label))
                results.append(tuned[-1])
        print(f"load after: {load()}")
    if args.all_baselines:
        results.append(await ours(args, own_process=False))
        results += await baselines(args.recipients, args.latency)
    floor = args.recipients / FLOOR_RATE
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"\n{args.recipients} recipients, simulator latency {args.latency * 1000:.0f} ms, "
        f"Telegram's limits on; hackbot on {backend}; load {load()}"
    )
    print(
        f"floor at 30 msg/s: {floor:.1f} s; "
        f"target: within {TARGET - 1:.0%} ({floor * TARGET:.1f} s), no 429\n"
    )
    print_table(results, floor)
    ok = all(
        result.seconds <= floor * TARGET
        and not result.rate_limited
        and not result.duplicates
        and not result.failed
        and result.delivered == args.recipients
        for result in mine
    )
    for result, baseline in zip(mine, tuned, strict=False):
        if result.seconds > baseline.seconds:
            print(f"slower than the tuned AIORateLimiter: {result.seconds:.1f} s > {baseline.seconds:.1f} s")
            ok = False
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
