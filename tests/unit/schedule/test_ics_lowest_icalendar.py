"""The programme's `.ics` builds with the LOWEST icalendar that `pyproject.toml` allows.

`schedule/ics.py` uses `Calendar.add_missing_timezones()`, which older icalendar releases lack: the
floor in `pyproject.toml` must be a release that has it. The test fetches that exact release with
pip (no install: the wheel is unpacked in a temporary folder put first on the path of a child
Python) and builds the bundled event's calendar with it. Skipped, saying why, when pip cannot
fetch the wheel (no network, no index).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]

CHILD = """
import datetime as dt
import icalendar
from schedule.ics import programme_ics
from schedule.loader import BUNDLED_EVENT, load_event_config

assert icalendar.__file__.startswith({unpacked!r}), icalendar.__file__
event = load_event_config(BUNDLED_EVENT)
data = programme_ics(event, event.sorted_programme, "fr", now=dt.datetime.now(dt.UTC))
calendar = icalendar.Calendar.from_ical(data)
zones = [zone["TZID"] for zone in calendar.walk("VTIMEZONE")]
assert zones == [event.timezone], zones
starts = [entry.decoded("DTSTART") for entry in calendar.walk("VEVENT")]
assert len(starts) == len(event.programme) and all(start.tzinfo is not None for start in starts)
print("ok", icalendar.__version__)
"""


def icalendar_floor() -> str:
    """The `X` of `icalendar>=X` in the project's dependencies."""
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    for dependency in dependencies:
        found = re.fullmatch(r"icalendar\s*>=\s*([0-9][0-9.]*)\s*(,.*)?", dependency.strip())
        if found:
            return found.group(1)
    raise AssertionError(f"no icalendar>=X floor in {dependencies}")


def test_the_floor_is_a_release_with_add_missing_timezones(tmp_path: Path) -> None:
    """Build and parse the bundled programme's calendar with icalendar at the floor version."""
    version = icalendar_floor()
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", f"icalendar=={version}", "--no-deps", "-q", "-d", tmp_path],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    wheels = list(tmp_path.glob("icalendar-*.whl"))
    if fetched.returncode != 0 or not wheels:
        pytest.skip(f"pip could not fetch icalendar=={version}: {fetched.stderr.strip()[-200:]}")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(unpacked)
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(unpacked=str(unpacked))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        env={"PYTHONPATH": f"{unpacked}:{PROJECT}", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert release(child.stdout.strip().removeprefix("ok ")) == release(version)


def release(version: str) -> tuple[int, ...]:
    """`6.1` and `6.1.0` are the same release."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
