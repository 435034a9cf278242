"""No English in a French screen: command names and everyday English words, found in French texts.

`FRENCH_SCREENS` lists where French screens come from; other parts of the product (web pages,
templates) add their own `FrenchScreens` to it. `ENGLISH_COMMANDS` comes from the command table
(`bot.commands`: every English name that has a French one); `ENGLISH_WORDS` are words a French
screen never needs. `ALLOWED` names the few places where an English word is the right one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot import commands

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class FrenchScreens:
    """Files whose texts are shown to French speakers, and how to take their texts out."""

    name: str
    paths: Callable[[], list[Path]]
    texts: Callable[[Path], Iterator[tuple[str, str]]]
    """(where, text) pairs of one file."""


def _yaml_texts(path: Path) -> Iterator[tuple[str, str]]:
    def walk(prefix: str, node: object) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(f"{prefix}.{key}", value)
        elif isinstance(node, str):
            yield prefix, node

    yield from walk(path.stem, yaml.safe_load(path.read_text(encoding="utf-8")) or {})


FRENCH_SCREENS: list[FrenchScreens] = [
    FrenchScreens(
        "bot catalogs",
        lambda: sorted((ROOT / "bot" / "locales" / "fr").glob("*.yaml")),
        _yaml_texts,
    ),
]

ENGLISH_COMMANDS: set[str] = {
    command.key for command in commands.COMMANDS if command.name("fr") != command.key
} | {name for command in commands.COMMANDS for lang, name in command.translated.items() if lang == "en"}

ENGLISH_WORDS: list[str] = [
    "the",
    "and",
    "please",
    "click",
    "tap",
    "back",
    "cancel",
    "send",
    "yes",
    "done",
    "team",
    "challenge",
    "meal",
    "meals",
    "reminder",
    "reminders",
    "profile",
    "help",
    "settings",
    "welcome",
    "sorry",
    "waiting",
    "staff",
    "dashboard",
    "topic",
    "topics",
]

# (where, word): an English word that is right in a French screen (a proper name, a file format).
ALLOWED: set[tuple[str, str]] = set()

# Code samples, placeholders, links, and identifiers (`staff_chat_id`, a key of the event file).
_CODE = re.compile(r"<code>.*?</code>|\{[a-z_]+\}|https?://\S+|\b\w+_\w+\b", re.DOTALL)
_COMMAND = re.compile(r"(?<![\w/])/([a-z_]+)")
_WORD = re.compile(r"[A-Za-zÀ-ÿ'’-]+")


def _visible(text: str) -> str:
    """What the person reads: no code samples, no placeholders, no links."""
    return _CODE.sub(" ", text)


def _words(text: str) -> list[str]:
    """The words of a text, commands left out (they have their own test)."""
    return _WORD.findall(_COMMAND.sub(" ", _visible(text)))


def _screens() -> list[tuple[str, str]]:
    return [
        (f"{screens.name}: {path.relative_to(ROOT)}: {where}", text)
        for screens in FRENCH_SCREENS
        for path in screens.paths()
        for where, text in screens.texts(path)
    ]


def test_there_are_french_screens_to_scan() -> None:
    """The scan reads something (a moved folder would make it pass silently)."""
    assert len(_screens()) > 200


def test_no_english_command_names_in_french_screens() -> None:
    """/profile, /mydata, /forget... never appear in a French text: /profil, /mesdonnees, /oublier do."""
    assert {"profile", "mydata", "forget", "help"} <= ENGLISH_COMMANDS
    found = [
        f"{where}: /{name}"
        for where, text in _screens()
        for name in _COMMAND.findall(_visible(text))
        if name in ENGLISH_COMMANDS
    ]
    assert not found, "\n".join(found)


def test_no_english_words_in_french_screens() -> None:
    """Everyday English words stay out of French screens."""
    english = {word.lower() for word in ENGLISH_WORDS}
    found = [
        f"{where}: {word}"
        for where, text in _screens()
        for word in _words(text)
        if word.lower() in english and (where, word.lower()) not in ALLOWED
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Envoyez /profile pour changer", ["profile"]),
        ("Envoyez /profil pour changer", []),
        ("<code>/mydata</code> dans un exemple", []),
        ("https://example.org/forget", []),
    ],
)
def test_the_scan_finds_commands(text: str, found: list[str]) -> None:
    """The command scan: what it flags, and what it leaves (code samples, links)."""
    assert [n for n in _COMMAND.findall(_visible(text)) if n in ENGLISH_COMMANDS] == found
