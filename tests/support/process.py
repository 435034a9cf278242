"""The real bot in its own process, as `hackbot run` starts it, for the crash and restart tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from simulator import Simulator
from tests.support.harness import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def start_bot(sim: Simulator, env: dict[str, str], log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """`python -m bot run [arguments]` on the test's database and event file (in `env`), against `sim`."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", *arguments],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": sim.base_url,
            "DASHBOARD_ENABLED": "false",  # another test's bot may hold the web port
            "LOG_LEVEL": "INFO",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def stop(process: subprocess.Popen[bytes], sig: int, within: float = 15.0) -> None:
    """Signal the bot and wait for it without blocking the loop (the simulator answers its last calls)."""
    process.send_signal(sig)
    for _ in range(int(within / 0.05)):
        if process.poll() is not None:
            return
        await asyncio.sleep(0.05)
    process.kill()
    process.wait()
