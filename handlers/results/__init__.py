"""The results evening: team submissions, running order, peer feedback, jury, public vote, publishing.

Thin handlers: parse the update, call one function of `models.results`, render with `views`.
`submission` (`/projet`, `/prolonger_projets`), `running_order` (`/ordre`), `feedback` (the
ratings and comments, `/commentaires`), `jury` (`/jury`, `/classement`), `vote` (`/vote`),
`publish`. What runs on time (the deadline reminder, the end-of-session digest) is
`schedule.results`.

Callback data, one handler per action (team ids are the event file's challenge ids):
`rs:draft`, `rs:edit:<field>`, `rs:clearph`, `rs:submit`, `rs:draw`, `rs:next:<from>`, `rs:close`,
`rs:fb:<team>`, `rs:rate:<team>:<criterion>:<1-5>`, `rs:rerate:<team>`, `rs:cm:<team>:<liked|better>`,
`rs:fbok:<team>`, `rs:hide:<id>`, `rs:show:<id>`, `rs:vote:<team>`, `rs:jury`, `rs:jt:<team>`,
`rs:js:<team>:<criterion>:<1-10>`, `rs:jc:<team>:<criterion>`, `rs:ov`, `rs:jclose`, `rs:jcloseok`,
`rs:pub`, `rs:pubok`. Data of any other shape (a rating of 7, a forged field) reaches the
stale-button fallback; values of the right shape are checked again by the domain.

Free messages: `take_input` is a claim for the router (`handlers.input`): while the person's
`awaiting` is `rs_<field>:<version>`, `rs_photo:<version>` or `rs_<liked|better>:<team>`, their
message is the field, the photo or the comment.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import commands
from bot.context import HackbotContext
from handlers.common import on_button
from handlers.results import feedback, jury, publish, running_order, submission, vote
from handlers.results.views import FEATURE
from models import results as rs
from models.participant import Participant

__all__ = ["handlers", "take_input"]

TEAM = r"[a-z0-9][a-z0-9-]{0,19}"
NUMBER = r"\d{1,9}"
CRITERION = r"\d"


def handlers() -> list[BaseHandler[Update, HackbotContext, None]]:
    """Results handlers: the commands, one per `rs:` button action."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(commands.names("projet"), submission.show_draft, filters=private),
        CommandHandler(commands.names("prolonger_projets"), submission.extend),
        CommandHandler(commands.names("ordre"), running_order.show_order),
        CommandHandler(commands.names("commentaires"), feedback.show_comments),
        CommandHandler(commands.names("jury"), jury.show_jury, filters=private),
        CommandHandler(commands.names("classement"), jury.show_overview),
        CommandHandler(commands.names("vote"), vote.show_vote, filters=private),
        on_button(FEATURE, "draft", submission.refresh),
        on_button(FEATURE, "edit", submission.start_edit, r"name|description|link|photo"),
        on_button(FEATURE, "clearph", submission.clear_photos),
        on_button(FEATURE, "submit", submission.submit),
        on_button(FEATURE, "draw", running_order.draw),
        on_button(FEATURE, "next", running_order.next_team, r"-1|\d{1,3}"),
        on_button(FEATURE, "close", running_order.close_session),
        on_button(FEATURE, "fb", feedback.open_feedback, TEAM),
        on_button(FEATURE, "rate", feedback.rate, TEAM, CRITERION, r"[1-5]"),
        on_button(FEATURE, "rerate", feedback.rerate, TEAM),
        on_button(FEATURE, "cm", feedback.ask_comment, TEAM, r"liked|better"),
        on_button(FEATURE, "fbok", feedback.finish, TEAM),
        on_button(FEATURE, "hide", feedback.hide, NUMBER),
        on_button(FEATURE, "show", feedback.show, NUMBER),
        on_button(FEATURE, "vote", vote.vote, TEAM),
        on_button(FEATURE, "jury", jury.sheet),
        on_button(FEATURE, "jt", jury.team, TEAM),
        on_button(FEATURE, "jc", jury.team, TEAM, CRITERION),
        on_button(FEATURE, "js", jury.score, TEAM, CRITERION, r"[1-9]|10"),
        on_button(FEATURE, "ov", jury.overview),
        on_button(FEATURE, "jclose", jury.ask_close),
        on_button(FEATURE, "jcloseok", jury.close),
        on_button(FEATURE, "pub", publish.ask),
        on_button(FEATURE, "pubok", publish.publish),
    ]


async def take_input(update: Update, context: HackbotContext, participant: Participant | None) -> bool:
    """Claim a free message the results feature waits for (see the module docstring)."""
    awaiting = participant.awaiting if participant is not None else None
    if participant is None or awaiting is None or not awaiting.startswith("rs_"):
        return False
    what, _, arg = awaiting[3:].partition(":")
    if what in rs.FIELDS and arg.isdigit():
        await submission.take_field(update, context, participant, what, int(arg))
    elif what == "photo":
        await submission.take_photo(update, context, participant)
    elif what in rs.COMMENTS and arg:
        await feedback.take_comment(update, context, participant, arg, what)
    else:
        return False
    return True
