"""`hackbot reload`: checks the file first, finds the running bot by its pid file, signals it."""

from __future__ import annotations

import os
import signal

import pytest

from bot.cli import main
from bot.settings import load_settings
from schedule.reload import pid_file_path
from tests.unit.programme.events import Item, event_data, write_event


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """Environment of a bot whose database (and so pid file) lives in tmp_path."""
    path = write_event(tmp_path / "event.yaml", event_data([Item("a", 0, 600)]))
    monkeypatch.setenv("EVENT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hackbot.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEF")
    return path


def test_invalid_file_is_not_sent_to_the_bot(configured, capsys):
    """A broken file: exit code 2 and the problem, before looking for the bot."""
    data = event_data([Item("a", 0, 600)])
    data["programme"][0]["end"] = data["programme"][0]["start"]
    write_event(configured, data)
    assert main(["reload"]) == 2
    assert "programme[0].end: must be after start" in capsys.readouterr().err


def test_no_running_bot(configured, capsys):
    """No pid file: say so."""
    assert main(["reload"]) == 2
    assert "no running bot found" in capsys.readouterr().err


def test_stale_pid_file(configured, capsys):
    """A pid file left by a killed bot: say so, signal nobody."""
    pid_file_path(load_settings()).write_text("999999999\n")
    assert main(["reload"]) == 2
    assert "is not running" in capsys.readouterr().err


def test_signals_the_running_bot(configured, capsys, monkeypatch):
    """A valid file and a live pid: SIGHUP goes to that pid."""
    pid_file_path(load_settings()).write_text("4242\n")
    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    assert main(["reload"]) == 0
    assert sent == [(4242, signal.SIGHUP)]
    assert "pid 4242" in capsys.readouterr().out
