"""The bot's commands: their name in each language, who they are for, and Telegram's "/" menu.

One written table: the handlers accept every name of a command (French speakers type `/profil`,
English speakers `/profile`, and both keep working for everyone), the consent gate lets the privacy
commands through under all their names, the help text lists the names of the reader's language, and
`bot.app` announces the menu per language and per scope: participants (Telegram's default scope),
each organiser's private chat (their commands on top of the participants'), and the staff group.
Descriptions are in the catalogs, under `commands.<key>`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Audience(enum.StrEnum):
    """Whose "/" menu shows a command."""

    PARTICIPANT = "participant"
    ORGANISER = "organiser"
    DESK = "desk"  # the welcome desk's volunteers (organisers too)
    JURY = "jury"  # the jurors listed in the event file
    STAFF = "staff"  # the staff group


@dataclass(frozen=True)
class Command:
    """One command: its key (the English name, used in code and for the description), its names."""

    key: str
    audience: Audience = Audience.PARTICIPANT
    # The name in a language when it differs from the key ("profil" in French for "profile").
    translated: Mapping[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """The name shown to speakers of `lang`."""
        return self.translated.get(lang, self.key)

    @property
    def names(self) -> list[str]:
        """Every name the bot accepts for this command."""
        return list(dict.fromkeys([self.key, *self.translated.values()]))


_P, _O, _D, _J, _S = Audience.PARTICIPANT, Audience.ORGANISER, Audience.DESK, Audience.JURY, Audience.STAFF

COMMANDS: tuple[Command, ...] = (
    Command("start"),
    Command("help", _P, {"fr": "aide"}),
    Command("profile", _P, {"fr": "profil"}),
    Command("programme"),
    Command("rappels", _P, {"en": "reminders"}),
    Command("repas", _P, {"en": "meals"}),
    Command("defis", _P, {"en": "challenges"}),
    Command("monequipe", _P, {"en": "myteam"}),
    Command("question"),
    Command("faq"),
    Command("badge"),
    Command("jepars", _P, {"en": "leaving"}),
    Command("projet", _P, {"en": "project"}),
    Command("vote"),
    Command("mydata", _P, {"fr": "mesdonnees"}),
    Command("forget", _P, {"fr": "oublier"}),
    Command("annonce", _O, {"en": "announce"}),
    Command("annonces", _O, {"en": "announcements"}),
    Command("equipes", _O, {"en": "teams"}),
    Command("ouvrir_equipes", _O, {"en": "open_teams"}),
    Command("fermer_equipes", _O, {"en": "close_teams"}),
    Command("deplacer", _O, {"en": "move"}),
    Command("capacite", _O, {"en": "capacity"}),
    Command("presents", _O, {"en": "present"}),
    Command("affiche", _O, {"en": "poster"}),
    Command("ordre", _O, {"en": "order"}),
    Command("classement", _O, {"en": "ranking"}),
    Command("commentaires", _O, {"en": "comments"}),
    Command("prolonger_projets", _O, {"en": "extend_projects"}),
    Command("dashboard", _O, {"fr": "tableau_de_bord"}),
    Command("reload", _O, {"fr": "relire"}),
    Command("staffgroup", _O, {"fr": "groupe_equipe"}),
    Command("inscrire_sur_place", _D, {"en": "walk_in"}),
    Command("jury", _J),
    Command("questions", _S),
    Command("mute", _S),
    Command("unmute", _S),
)

_BY_KEY = {command.key: command for command in COMMANDS}


def command(key: str) -> Command:
    """The command `key` of the table (KeyError for a typo: a test reads every key)."""
    return _BY_KEY[key]


def names(key: str) -> list[str]:
    """Every accepted name of the command `key`, for a `CommandHandler`."""
    return command(key).names


def name(key: str, lang: str) -> str:
    """The name of the command `key` for speakers of `lang` (for texts that mention it)."""
    return command(key).name(lang)


def for_audience(audience: Audience) -> list[Command]:
    """The commands of one audience, in the order of the table."""
    return [c for c in COMMANDS if c.audience is audience]


def is_command(message_text: str | None, key: str) -> bool:
    """Whether a message is the command `key` under any of its names (`/oublier@hackbot` too)."""
    if not message_text or not message_text.startswith("/"):
        return False
    word = message_text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()
    return word in names(key)
