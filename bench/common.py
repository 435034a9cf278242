"""What the benchmarks share: the command line, a fresh database per round, the simulator with the
bot's account, registered participants, the bot as its own process, and the figures (percentiles,
answer latencies).

The scripts put the project's root on `sys.path` before importing this module (they run as
`.venv/bin/python bench/<script>.py` from anywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from models.base import utcnow
from models.db import Database
from models.migrate import upgrade
from models.participant import Participant, ParticipantStatus
from simulator import Simulator, SimUser
from simulator.client import SimCallbackQuery
from simulator.records import AnsweredCallback
from tests.support.harness import BOT_TOKEN, BOT_USERNAME

ROOT = Path(__file__).resolve().parent.parent


def bench_parser(
    doc: str | None, *, database: bool = True, in_process: bool = False
) -> argparse.ArgumentParser:
    """The script's parser, described by the first line of its docstring, with the options benchmarks
    share: `--database-url` (unless `database` is false), `--in-process` (when `in_process` is true)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    if database:
        parser.add_argument(
            "--database-url",
            default=None,
            help="PostgreSQL URL, a new schema each round (default: a temporary SQLite file)",
        )
    if in_process:
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="run the bot in the benchmark's process, sharing one CPU with the simulator "
            "(default: its own process, as deployed)",
        )
    return parser


def parse_arguments(
    parser: argparse.ArgumentParser, *, log_level: int = logging.WARNING
) -> argparse.Namespace:
    """The command line, parsed; logging set up to show `log_level` and above."""
    args = parser.parse_args()
    logging.basicConfig(level=log_level)
    return args


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was actually measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@asynccontextmanager
async def fresh_database(database_url: str | None) -> AsyncIterator[Database]:
    """A migrated database for one round: a temporary SQLite file when no URL is given, a new schema
    of a PostgreSQL URL (dropped afterwards)."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        async with _new_schema(url) as schema:
            await upgrade(url, schema=schema)
            db = Database(url, schema=schema)
            try:
                yield db
            finally:
                await db.dispose()


@asynccontextmanager
async def _new_schema(url: str) -> AsyncIterator[str | None]:
    """On PostgreSQL, a schema of its own, dropped afterwards; None on SQLite."""
    if not url.startswith("postgresql"):
        yield None
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def started_simulator(*, token: str = BOT_TOKEN, **options: Any) -> Simulator:
    """A simulator (`options` as for `Simulator`) with the bot's account, serving on a free local port."""
    sim = Simulator(**options)
    sim.add_bot(token=token, username=BOT_USERNAME, first_name="Hackbot")
    await sim.start(host="127.0.0.1", port=0)
    return sim


async def registered_participants(
    sim: Simulator, db: Database, count: int, consent_version: str, *, prefix: str, started: bool = False
) -> list[SimUser]:
    """`count` French-speaking residents named `<prefix><n>`, registered straight in the database
    (for speed); `started`: they opened the bot earlier, so it may write to them first."""
    users = [sim.add_user(first_name=f"{prefix}{i}", language_code="fr") for i in range(count)]
    now = utcnow()
    if started:
        for user in users:
            user.account.started_bots.add(sim.bot.id)
    async with db.transaction() as session:
        session.add_all(
            Participant(
                telegram_id=user.id,
                display_name=user.first_name,
                language="fr",
                role="resident",
                consent_version=consent_version,
                consent_given_at=now,
                registered_at=now,
                status=ParticipantStatus.ACTIVE,
            )
            for user in users
        )
    return users


@asynccontextmanager
async def hackbot_process(
    sim: Simulator, db: Database, *arguments: str, env: dict[str, str]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`hackbot run <arguments>` in its own process, on the simulator and `db`, logging errors only
    (`env` adds to its environment); stopped with SIGTERM at the end, killed after 20 s."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": sim.base_url,
        "DATABASE_URL": db.url,
        "LOG_LEVEL": "ERROR",
        **env,
    }
    if db.schema:
        environment["DATABASE_SCHEMA"] = db.schema
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *arguments, env=environment, cwd=str(ROOT)
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()


async def answer_latencies(presses: list[SimCallbackQuery]) -> tuple[list[AnsweredCallback], list[float]]:
    """Wait for the bot to answer every press; the answers, and each one's latency in milliseconds:
    from the update being queued in the simulator to the bot's answer reaching it."""
    answers = [await press.wait_answered(timeout=60) for press in presses]
    latencies = [
        (answer.time - press.record.created) * 1000 for press, answer in zip(presses, answers, strict=True)
    ]
    return answers, latencies


async def measured_rounds(
    database_url: str | None,
    rounds: int,
    one_round: Callable[[Database], Awaitable[list[float]]],
    *,
    counted: str,
    setting: str,
) -> list[float]:
    """Run `one_round` on a fresh database `rounds` times; print each round's latencies and the total.

    `counted` names what a latency is of ("scans", "taps answered"); `setting` describes the load
    ("100 people, 3 desks") for the summary line, which starts with the database's kind.
    """
    everything: list[float] = []
    for round_number in range(1, rounds + 1):
        async with fresh_database(database_url) as db:
            latencies = await one_round(db)
        everything += latencies
        print(f"round {round_number}: {len(latencies)} {counted}, {_figures(latencies)}")
    backend = "postgresql" if database_url and database_url.startswith("postgresql") else "sqlite"
    print(
        f"{backend}, {setting}, {rounds} round(s): {len(everything)} {counted}, "
        f"{_figures(everything)}, mean {statistics.fmean(everything):.1f} ms"
    )
    return everything


def _figures(latencies: list[float]) -> str:
    return (
        f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
