"""`hackbot reload`: how the command line finds the running bot and asks it to re-read the event file.

The running bot writes its process id to a pid file next to its data (`write_pid_file`, once it
listens for SIGHUP); `request_reload` checks the file first, so an invalid one is never sent to the
bot, then signals that process. The bot's side of the reload is `ProgrammeEngine.reload` in
`schedule.programme`.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import Settings
from schedule.loader import ConfigError, load_event_config

log = logging.getLogger(__name__)


def pid_file_path(settings: Settings) -> Path:
    """Where the running bot writes its process id (for `hackbot reload`): the data folder."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "hackbot.pid"
    suffix = f"-{settings.database_schema}" if settings.database_schema else ""
    return Path("data").resolve() / f"hackbot{suffix}.pid"


def write_pid_file(settings: Settings) -> Path | None:
    """Write this process's id where `hackbot reload` looks; None (logged) if it cannot be written."""
    path = pid_file_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="ascii")
    except OSError:
        log.warning("programme: could not write the pid file; `hackbot reload` will not find the bot")
        return None
    return path


def remove_pid_file(path: Path) -> None:
    """Remove the pid file if it still names this process (another bot may have taken it over)."""
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def request_reload(settings: Settings) -> tuple[bool, str]:
    """Check the event file, then signal the running bot (SIGHUP) to reload it.

    Returns (ok, one line for the person at the terminal). An invalid file is not sent to the bot.
    """
    try:
        load_event_config(settings.event_config)
    except ConfigError as exc:
        return False, f"{exc.path}: " + "; ".join(exc.errors) + " (the bot keeps the current programme)"
    path = pid_file_path(settings)
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False, f"no running bot found ({path} is missing or unreadable)"
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False, f"the bot (pid {pid}) is not running; remove {path}"
    except PermissionError:
        return False, f"not allowed to signal the bot (pid {pid})"
    return True, f"reload requested from the bot (pid {pid})"
