"""The satisfaction survey after the event: one question per message, answered with buttons.

`flow` (the taps and the typed comment), `views` (rendering). Sending the invitation and the
reminder on time is `schedule.survey`'s job; the rules (who may answer what, once) are in
`models.survey`.

Callback data, one handler per action: `sv:go` (start or resume), `sv:a:<question>:<value>` (a
scale digit or a choice id), `sv:skip:<question>` (an optional question), `sv:quote:yes|no` (may
the comment be quoted). Anything else reaches the stale-button fallback.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import HackbotContext
from handlers.common import on_button
from handlers.survey import flow
from handlers.survey.views import FEATURE

__all__ = ["handlers"]

_ID = r"[a-z0-9][a-z0-9-]{0,31}"


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Survey handlers: one per `sv:` button action (the typed comment goes through the input router)."""
    return [
        on_button(FEATURE, "go", flow.begin),
        on_button(FEATURE, "a", flow.answer, _ID, _ID),
        on_button(FEATURE, "skip", flow.skip, _ID),
        on_button(FEATURE, "quote", flow.quote, "yes|no"),
    ]
