"""The command table: valid names, a description in every language, one meaning per name."""

from __future__ import annotations

import re

from bot import commands
from bot.i18n import Catalog

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
