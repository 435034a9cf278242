"""The command table: valid names, a description in every language, one meaning per name."""

from __future__ import annotations

import re

from pydantic import SecretStr
from telegram.ext import CommandHandler

from bot import commands
from bot.app import build_application
from bot.i18n import Catalog
from bot.settings import Settings
from tests.support.harness import BOT_TOKEN, bundled_event

CATALOG = Catalog.load()


def test_names_are_valid_telegram_commands() -> None:
    """1-32 characters of [a-z0-9_], as setMyCommands requires."""
    for command in commands.COMMANDS:
        for name in command.names:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", name), name


def test_every_command_is_described_in_every_language() -> None:
    """`commands.<key>` exists in French and English (the "/" menu needs it)."""
    for command in commands.COMMANDS:
        for lang in ("fr", "en"):
            assert f"commands.{command.key}" in CATALOG.keys(lang), (lang, command.key)


def test_a_name_means_one_command() -> None:
    """No two commands share a name (a handler would shadow the other)."""
    seen: dict[str, str] = {}
    for command in commands.COMMANDS:
        for name in command.names:
            assert seen.setdefault(name, command.key) == command.key, name


def test_names_per_language_and_recognition() -> None:
    """French speakers read /profil, English speakers /profile; both are recognised, with @bot too."""
    assert commands.name("profile", "fr") == "profil" and commands.name("profile", "en") == "profile"
    assert commands.names("forget") == ["forget", "oublier"]
    assert commands.is_command("/oublier@hackbot_bot", "forget")
    assert commands.is_command("/mydata", "mydata") and not commands.is_command("/mydataX", "mydata")
    assert not commands.is_command("oublier", "forget")


def test_every_name_of_the_table_reaches_a_handler() -> None:
    """A name shown in a menu or the help is one the bot answers (and every command is in the table)."""
    settings = Settings(
        telegram_bot_token=SecretStr(BOT_TOKEN),
        database_url="sqlite+aiosqlite:///:memory:",
        _env_file=None,  # type: ignore[call-arg]
    )
    application = build_application(settings, bundled_event())
    handled = {
        name
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    listed = {name for command in commands.COMMANDS for name in command.names}
    assert listed - handled == set()
    assert handled - listed == set()
