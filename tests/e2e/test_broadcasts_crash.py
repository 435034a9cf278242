"""A 500-recipient announcement survives SIGKILL at random points: nobody lost, at most one duplicate per kill.

The real `python -m bot run` process talks to the in-process simulator (Telegram's rate limits on).
The organiser confirms the broadcast through `/annonce`; the process is then killed with SIGKILL
while it sends, `KILLS` times at random moments, and restarted each time. At the end every
recipient has the announcement, the duplicates (messages in flight at a kill) are no more than the
kills and are all among the deliveries the report counts "in doubt", and the report is complete.

Time: 500 messages at Telegram's 30 a second take 17 s whatever happens; each restart adds the
process start-up (about 3 s). Kills come after a random 0.2-1.5 s of sending following each
restart, so the run lasts about 40 s per database backend.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from models import broadcasts as bc
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from schedule.loader import BUNDLED_EVENT
from simulator import SimMessage, Simulator
from tests.e2e.test_broadcasts import seed
from tests.support.databases import TestDatabase
from tests.support.harness import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 500
KILLS = 5
BODY = "Le bus est arrivé : rendez-vous devant l'entrée."


def write_event(path: Path, organiser_id: int) -> Path:
    """The bundled event with our simulated organiser (and no staff group to check)."""
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8")))
    data["organisers"] = [organiser_id]
    data.pop("staff_chat_id", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def start_bot(sim: Simulator, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m bot run` on the test's database, event file and simulator."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": sim.base_url,
            "DASHBOARD_ENABLED": "false",
            "LOG_LEVEL": "INFO",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def stop(process: subprocess.Popen[bytes], sig: int) -> None:
    process.send_signal(sig)
    for _ in range(200):
        if process.poll() is not None:
            return
        await asyncio.sleep(0.05)
    process.kill()
    process.wait()


async def wait_until(check: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_sigkill_during_a_500_recipient_broadcast(
    sim: Simulator, db: Database, tmp_path: Path, test_database: TestDatabase
) -> None:
    """Killed 5 times at random while sending to 500: all delivered, duplicates <= kills, all in doubt."""
    seed_value = int(os.environ.get("HACKBOT_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed_value)
    context = f"(seed {seed_value}; HACKBOT_CRASH_SEED={seed_value} replays the kill times)"
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, RECIPIENTS)
    recipients = {person.id for person in people}
    deliveries: dict[int, int] = {}
    arrivals: dict[int, list[float]] = {}
    events: list[tuple[float, str]] = []

    def count(message: SimMessage, event: str) -> None:
        if event == "new" and message.from_bot and message.chat_id in recipients and message.text == BODY:
            deliveries[message.chat_id] = deliveries.get(message.chat_id, 0) + 1
            arrivals.setdefault(message.chat_id, []).append(time.monotonic())

    sim.on_message(count)
    env = {**test_database.env(), "EVENT_CONFIG": str(write_event(tmp_path / "event.yaml", organiser.id))}
    log = tmp_path / "bot.log"
    process = start_bot(sim, env, log)
    kills: list[int] = []  # deliveries seen at each kill
    try:
        await organiser.send_text("/annonce")
        await organiser.wait_for_message("Nouvelle annonce", timeout=30)
        await organiser.send_text(BODY)
        menu = await organiser.wait_for_message("À qui l'envoyer", timeout=10)
        await organiser.press(f"👥 Tout le monde ({RECIPIENTS})", message=menu)
        confirm = await organiser.wait_for_message("Destinataires", timeout=10)
        await organiser.press(f"✅ Envoyer à {RECIPIENTS} personnes", message=confirm)

        for _ in range(KILLS):
            resumed_from = sum(deliveries.values())
            # Kill while it sends: after it resumed, at a random moment.
            await wait_until(lambda n=resumed_from: sum(deliveries.values()) > n, 30, "sending to resume")
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            events.append((time.monotonic(), "kill"))
            await stop(process, signal.SIGKILL)
            assert process.returncode == -signal.SIGKILL
            kills.append(sum(deliveries.values()))
            assert len(deliveries) < RECIPIENTS, f"the broadcast ended before kill {len(kills)} {context}"
            process = start_bot(sim, env, log)
            events.append((time.monotonic(), "start"))

        await wait_until(lambda: len(deliveries) == RECIPIENTS, 60, f"every recipient {context}")
        report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=30)
        await asyncio.sleep(1.0)  # anything sent twice more would arrive now
    finally:
        await stop(process, signal.SIGTERM)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]

    duplicates = {chat: n - 1 for chat, n in deliveries.items() if n > 1}
    t0 = events[0][0]
    for t, what in events:
        print(f"{t - t0:8.3f} {what}")
    for chat in duplicates:
        print(chat, [f"{t - t0:8.3f}" for t in arrivals[chat]])
    assert set(deliveries) == recipients, context
    assert sum(duplicates.values()) <= KILLS, f"{duplicates} after kills at {kills} {context}"
    async with db.read() as session:
        rows = list(
            await session.scalars(select(OutgoingMessage).where(OutgoingMessage.purpose == bc.PURPOSE_SEND))
        )
        stored = (await session.scalars(select(bc.Broadcast))).one()
    assert len(rows) == RECIPIENTS and all(row.state is OutboxState.SENT for row in rows)
    doubtful = {row.chat_id for row in rows if row.in_doubt}
    assert set(duplicates) <= doubtful, context  # only a message in flight at a kill came twice
    assert (stored.status, stored.delivered, stored.in_doubt) == (
        bc.BroadcastStatus.DONE,
        RECIPIENTS,
        len(doubtful),
    )
    assert f"Reçue : {RECIPIENTS}" in report.text
    if doubtful:
        assert f"En doute après un redémarrage : {len(doubtful)}" in report.text
    print(
        f"kills at {kills} deliveries; duplicates {sum(duplicates.values())}; in doubt {len(doubtful)} {context}"
    )
