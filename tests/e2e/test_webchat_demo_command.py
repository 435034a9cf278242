"""`hackbot demo` as a person runs it: one command, an address printed, a clean stop with Ctrl+C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_demo_command_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """No token, no database, no other step: the printed address serves the page; Ctrl+C stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env["LOG_LEVEL"] = "WARNING"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", "0"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"open (http://127\.0\.0\.1:\d+/) in your browser", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, process.stderr.read() if process.stderr else ""
        ready = time.monotonic() - started
        with urllib.request.urlopen(url) as response:
            assert "Répétition" in response.read().decode("utf-8")
        with urllib.request.urlopen(url + "webchat/api/state") as response:
            state = json.loads(response.read())
        assert [p["role"] for p in state["personas"]] == ["resident", "student", "facilitator", "organiser"]
        stopping = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
        stopped = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "database is erased" in out
    assert "Traceback" not in err
    assert ready < 20 and stopped < 10, (ready, stopped)
