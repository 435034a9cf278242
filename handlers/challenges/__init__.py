"""Challenges and teams: the list, the cards, joining and switching, the team page, organisers' tools.

Thin handlers: parse the update, call one function of `models.challenges`, render with `views`.
`participants` (list, card, join, switch, leave), `facilitators` (`/monequipe`), `organisers`
(`/equipes`, `/ouvrir_equipes`, `/fermer_equipes`, `/deplacer`, `/capacite`), `views` (rendering).
Keeping the teams in line with the event file is a running part (`schedule.challenges`).

Callback data (ASCII, at most 47 bytes with 20-character challenge ids), one handler per action:
`ch:list`, `ch:team`, `ch:card:<id>`, `ch:join:<id>` (join, or the waiting list when full),
`ch:sw:<from>:<to>` (confirmed "leave X and join Y"), `ch:leave:<id>` (asks), `ch:leaveok:<id>`,
`ch:unwait:<id>`. Data of any other shape reaches the stale-button fallback, and so does a
challenge id that the event file does not (or no longer) have.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.challenges import facilitators, organisers, participants
from handlers.challenges.views import FEATURE
from handlers.common import on_button
from handlers.menu import menu_button
from schedule.challenges import ensure_synced

__all__ = ["CHALLENGE_ID", "ensure_synced", "handlers"]

CHALLENGE_ID = r"[a-z0-9][a-z0-9-]{0,19}"
"""A challenge id in callback data (the event file's ids: lowercase, digits, dashes)."""


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """Challenge handlers: the menu button, the commands, one per `ch:` button action."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(menu_button(catalog, "challenge"), participants.show_challenges),
        CommandHandler(commands.names("defis"), participants.show_challenges, filters=private),
        CommandHandler(commands.names("monequipe"), facilitators.show_my_team, filters=private),
        CommandHandler(commands.names("equipes"), organisers.show_teams),
        CommandHandler(commands.names("ouvrir_equipes"), organisers.open_picking),
        CommandHandler(commands.names("fermer_equipes"), organisers.close_picking),
        CommandHandler(commands.names("deplacer"), organisers.move_participant),
        CommandHandler(commands.names("capacite"), organisers.change_capacity),
        on_button(FEATURE, "list", participants.show_list),
        on_button(FEATURE, "team", participants.show_team),
        on_button(FEATURE, "card", participants.show_card, CHALLENGE_ID),
        on_button(FEATURE, "join", participants.join, CHALLENGE_ID),
        on_button(FEATURE, "sw", participants.switch, CHALLENGE_ID, CHALLENGE_ID),
        on_button(FEATURE, "leave", participants.ask_leave, CHALLENGE_ID),
        on_button(FEATURE, "leaveok", participants.leave, CHALLENGE_ID),
        on_button(FEATURE, "unwait", participants.unwait, CHALLENGE_ID),
    ]
