"""Settings errors are one clear line; `hackbot check-config` reports problems with their path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli import main
from bot.settings import Settings, SettingsError, load_settings
from models.db import ensure_sqlite_folder
from schedule.loader import BUNDLED_EVENT

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("token", [None, "", "not-a-token", "123:"])
def test_bad_token_is_one_clear_line(token: str | None) -> None:
    """A missing or malformed token raises SettingsError with a single-line message."""
    settings = Settings(telegram_bot_token=SecretStr(token) if token is not None else None, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(SettingsError) as info:
        settings.bot_token()
    assert "\n" not in str(info.value) and "TELEGRAM_BOT_TOKEN" in str(info.value)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The factory reads the environment at call time, not at import time."""
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(_env_file=None)
    assert settings.bot_api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.log_level == "DEBUG"


def test_malformed_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed value names the variable in one line."""
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith("LOG_LEVEL") and "\n" not in str(info.value)


def test_run_without_token_exits_with_one_line(tmp_path: Path) -> None:
    """`hackbot run` without a token prints one line, no traceback, and exits non-zero."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_the_bundled_event(capsys: pytest.CaptureFixture[str]) -> None:
    """The example event is valid."""
    assert main(["check-config", str(BUNDLED_EVENT)]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_reports_each_error_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken file: non-zero exit and one line per problem, with its path."""
    broken = BUNDLED_EVENT.read_text(encoding="utf-8").replace("capacity: 12", "capacity: 0", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "capacity" in err and "challenges[" in err


def test_check_config_reports_a_negative_grace_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminders.grace_minutes: -5` is one line naming the setting, and a non-zero exit."""
    text = BUNDLED_EVENT.read_text(encoding="utf-8").replace("# grace_minutes: 30", "grace_minutes: -5", 1)
    path = tmp_path / "negative-grace.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    assert "reminders.grace_minutes: must be >= 0" in capsys.readouterr().err


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is a clear error, not a traceback."""
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_database_folder_is_created(tmp_path: Path) -> None:
    """The SQLite file's folder is created when missing."""
    target = tmp_path / "a" / "b" / "hackbot.db"
    ensure_sqlite_folder(f"sqlite+aiosqlite:///{target}")
    assert target.parent.is_dir()
