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
    # No LOG_LEVEL: the rehearsal then prints only warnings, so its banner stays on the screen.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "LOG_LEVEL"))}
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
        banner: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"open (http://127\.0\.0\.1:\d+/) in your browser", line)
            if found:
                url = found.group(1)
            if url is not None:
                banner.append(line)
                if "make run" in line:  # the banner's last line
                    break
        assert url is not None, process.stderr.read() if process.stderr else ""
        ready = time.monotonic() - started
        with urllib.request.urlopen(url) as response:
            assert "Répétition" in response.read().decode("utf-8")
        with urllib.request.urlopen(url + "webchat/api/state") as response:
            state = json.loads(response.read())
        roles = [p["role"] for p in state["personas"]]
        assert roles == ["resident", "student", "facilitator", "organiser", "desk"]
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
    # Items by their title, the reminder still to come, the dashboard; no routine log line.
    text = "".join(banner)
    assert "«Accueil et présentation du projet» starts at" in text and "fri-welcome" not in text
    assert "its reminder arrives at" in text and "/dashboard" in text
    assert " INFO " not in err
    assert "Traceback" not in err
    assert ready < 20 and stopped < 10, (ready, stopped)
