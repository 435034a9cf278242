"""Questions to facilitators: the handlers of the relay between participants and the staff group.

Participants ask ("Ask a question" or /question, `asking`), add to their question by replying to the
bot's message about it (`followups`, a claim of the free-message router), and say whether the
answer helped. Facilitators take and resolve tickets with the buttons on the ticket's message and
answer by replying to it (`staff_group`); /questions lists the waiting tickets and organisers pause
an abusive asker with /mute (`moderation`). Each handler parses the update, calls one function of
`models.question_flows` in one transaction (which queues the messages to send) and renders.

What runs beside the handlers (the staff group check, escalations, the sender's hooks) is in
`schedule.questions`.

Callback data (kept as they are: older buttons stay in people's chats): `q:anon`, `q:named`,
`q:cancel`, `q:fb:<ticket>:y|n`, `q:claim:<ticket>`, `q:done:<ticket>`. Anything else starting with
`q:` is refused as stale.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.context import HackbotContext
from bot.i18n import Catalog
from handlers.common import on_button
from handlers.menu import menu_button
from handlers.questions.asking import ask, cancel_prompt, choose_anonymous, choose_named, on_feedback
from handlers.questions.followups import take_reply_to_ticket
from handlers.questions.moderation import list_questions, mute_command, unmute_command
from handlers.questions.staff_group import on_claim, on_resolve, on_staff_reply
from handlers.questions.views import FEATURE

__all__ = ["handlers", "take_reply_to_ticket"]

_TICKET = r"\d+"


def handlers(catalog: Catalog) -> list[BaseHandler[Update, HackbotContext, None]]:
    """The staff group's commands, buttons and replies, then the participants' side.

    A private reply to a ticket's message is not here: it is `take_reply_to_ticket`, a claim of
    the free-message router.
    """
    groups = filters.ChatType.GROUPS
    return [
        CommandHandler(commands.names("questions"), list_questions),
        CommandHandler(commands.names("mute"), mute_command),
        CommandHandler(commands.names("unmute"), unmute_command),
        on_button(FEATURE, "claim", on_claim, _TICKET),
        on_button(FEATURE, "done", on_resolve, _TICKET),
        MessageHandler(groups & filters.REPLY & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_staff_reply),
        MessageHandler(menu_button(catalog, "question"), ask),
        CommandHandler(commands.names("question"), ask, filters=filters.ChatType.PRIVATE),
        on_button(FEATURE, "anon", choose_anonymous),
        on_button(FEATURE, "named", choose_named),
        on_button(FEATURE, "cancel", cancel_prompt),
        on_button(FEATURE, "fb", on_feedback, _TICKET, "y|n"),
    ]
