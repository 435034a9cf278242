"""What people see of the results evening: the draft, the order, a feedback, the vote (jury: `jury_views`).

Pure rendering: values in (what a `models.results` function returned), text and buttons out.
Nothing here reads the database or talks to Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.display import when_label
from bot.i18n import Catalog, Markup
from handlers.common import callback_data
from models import results as rs
from schedule.config import EventConfig

FEATURE = "rs"
View = tuple[str, InlineKeyboardMarkup | None]


@dataclass(frozen=True)
class Voice:
    """How one person is spoken to: the catalog, the event in force, their language, now."""

    catalog: Catalog
    event: EventConfig
    lang: str
    now: datetime

    def text(self, key: str, /, **params: object) -> Markup:
        """HTML text of `results.<key>`, parameters escaped."""
        return self.catalog.text(self.lang, f"results.{key}", **params)

    def label(self, key: str, /, **params: object) -> str:
        """Plain text of `results.<key>` (buttons, toasts)."""
        return self.catalog.label(self.lang, f"results.{key}", **params)

    def title(self, challenge_id: str) -> str:
        """A team's (challenge's) title in the person's language."""
        return self.event.challenge_title(self.lang, challenge_id)

    def when(self, at: datetime) -> str:
        """A date and hour as people read them."""
        return when_label(self.catalog, self.event, self.lang, at, self.now)

    def button(self, key: str, action: str, *args: str | int, **params: object) -> InlineKeyboardButton:
        """A button labelled `results.<key>` that presses `rs:<action>[:args]`."""
        return InlineKeyboardButton(
            self.label(key, **params), callback_data=callback_data(FEATURE, action, *args)
        )

    def refused(self, refused: rs.Refused) -> str:
        """The plain-text sentence for a refusal (a toast or a message)."""
        return self.label(f"refused_{refused.reason.value}", limit=refused.limit, length=refused.length)


def keyboard_of(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    """An inline keyboard of the non-empty rows (None when every row is empty)."""
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


# ---- submission --------------------------------------------------------------------------------------


def draft_view(voice: Voice, draft: rs.Draft) -> View:
    """The team's submission with the buttons to edit it (while it may be edited)."""
    empty = voice.text("draft_empty")
    lines: list[str] = [
        voice.text("draft_title", title=voice.title(draft.challenge_id)),
        voice.text("draft_name", name=draft.name or empty),
        voice.text("draft_description", description=draft.description or empty),
        voice.text("draft_link", link=draft.link or empty),
        voice.text("draft_photos", count=draft.photos),
        "",
    ]
    deadline = voice.when(draft.deadline) if draft.deadline is not None else ""
    if not draft.editable:
        lines.append(voice.text("draft_closed", deadline=deadline))
        return "\n".join(lines), None
    if draft.submitted_at is not None:
        lines.append(voice.text("draft_submitted", when=voice.when(draft.submitted_at), deadline=deadline))
    elif draft.deadline is not None:
        lines.append(voice.text("draft_not_submitted", deadline=deadline))
    else:
        lines.append(voice.text("draft_no_deadline"))
    keyboard = keyboard_of(
        [
            voice.button("button_name", "edit", "name"),
            voice.button("button_description", "edit", "description"),
        ],
        [voice.button("button_link", "edit", "link"), voice.button("button_photos", "edit", "photo")],
        [voice.button("button_clear_photos", "clearph")] if draft.photos else [],
        [voice.button("button_submit", "submit")] if draft.submitted_at is None else [],
        [voice.button("button_refresh", "draft")],
    )
    return "\n".join(lines), keyboard


def ask_view(voice: Voice, what: str) -> View:
    """The question for one field, with its limit said before anything is saved."""
    limits = {
        "name": rs.NAME_MAX,
        "description": rs.DESCRIPTION_MAX,
        "link": rs.LINK_MAX,
        "photo": rs.PHOTOS_MAX,
    }
    keyboard = keyboard_of([voice.button("button_done", "draft")]) if what == "photo" else None
    return voice.text(f"ask_{what}", limit=limits[what]), keyboard


# ---- running order -----------------------------------------------------------------------------------


def order_view(voice: Voice, order: rs.Order, teams: list[str]) -> View:
    """The running order for organisers, with the button that fits the moment."""
    lines: list[str] = [voice.text("order_title")]
    if not order.teams:
        lines.append(voice.text("order_none"))
        lines.append(voice.text("order_usage", ids=" ".join(teams)))
        return "\n".join(lines), keyboard_of([voice.button("button_draw", "draw")]) if teams else None
    lines.append(
        voice.text("order_seed", seed=order.seed) if order.seed is not None else voice.text("order_set")
    )
    current = order.current
    for index, challenge_id in enumerate(order.teams):
        key = "order_line"
        if current is not None and index < current:
            key = "order_line_done"
        elif current == index:
            key = "order_line_now"
        lines.append(voice.text(key, position=index + 1, title=voice.title(challenge_id)))
    if order.feedback_closed:
        lines.append(voice.text("order_closed"))
        return "\n".join(lines), None
    expected = -1 if current is None else current
    buttons: list[list[InlineKeyboardButton]] = []
    if current is None:
        lines.append(voice.text("order_usage", ids=" ".join(order.teams)))
        buttons.append([voice.button("button_draw", "draw"), voice.button("button_start", "next", expected)])
    elif current < len(order.teams) - 1:
        buttons.append([voice.button("button_next", "next", expected)])
    elif current == len(order.teams) - 1:
        buttons.append([voice.button("button_end", "next", expected)])
    else:
        lines.append(voice.text("order_over"))
    buttons.append([voice.button("button_close_session", "close")])
    return "\n".join(lines), keyboard_of(*buttons)


# ---- feedback ----------------------------------------------------------------------------------------


def feedback_view(voice: Voice, step: rs.FeedbackStep, index: int | None = None) -> View:
    """The feedback on one team: the criterion to rate (1-5 buttons), or the comment choices."""
    criteria = voice.event.results.feedback_criteria
    default = voice.event.default_language
    lines: list[str] = [voice.text("feedback_title", title=voice.title(step.challenge_id))]
    for criterion in criteria:
        if criterion.id in step.ratings:
            lines.append(
                voice.text(
                    "feedback_rated",
                    criterion=criterion.label.get(voice.lang, default),
                    value=step.ratings[criterion.id],
                )
            )
    position = step.next_index if index is None else index
    cid = step.challenge_id
    if position is not None:
        criterion = criteria[position]
        lines.append("")
        lines.append(
            voice.text(
                "feedback_criterion",
                position=position + 1,
                count=len(criteria),
                criterion=criterion.label.get(voice.lang, default),
            )
        )
        row = [
            InlineKeyboardButton(
                str(value), callback_data=callback_data(FEATURE, "rate", cid, position, value)
            )
            for value in range(rs.RATING_MIN, rs.RATING_MAX + 1)
        ]
        return "\n".join(lines), InlineKeyboardMarkup([row])
    lines.append("")
    lines.append(voice.text("feedback_done"))
    return "\n".join(lines), keyboard_of(
        [
            voice.button("button_liked", "cm", cid, "liked"),
            voice.button("button_better", "cm", cid, "better"),
        ],
        [voice.button("button_change", "rerate", cid), voice.button("button_finish", "fbok", cid)],
    )


def comments_view(voice: Voice, comments: list[rs.Comment]) -> View:
    """The latest comments (no names) with a hide/show button each, for organisers."""
    if not comments:
        return voice.text("comments_none"), None
    lines: list[str] = [voice.text("comments_title")]
    rows: list[list[InlineKeyboardButton]] = []
    empty = voice.text("draft_empty")
    for comment in comments:
        lines.append("")
        lines.append(f"n°{comment.feedback_id} · " if voice.lang == "fr" else f"no. {comment.feedback_id} · ")
        lines[-1] += voice.text(
            "comment_line",
            title=voice.title(comment.challenge_id),
            hidden=voice.label("comment_hidden_mark") if comment.hidden else "",
            liked=comment.liked or empty,
            better=comment.better or empty,
        )
        key, action = ("button_show", "show") if comment.hidden else ("button_hide", "hide")
        rows.append([voice.button(key, action, comment.feedback_id, number=comment.feedback_id)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# ---- vote --------------------------------------------------------------------------------------------


def vote_view(voice: Voice, teams: list[str], own: str | None, current: str | None) -> View:
    """The public's prize: one button per team except the person's own."""
    lines: list[str] = [voice.text("vote_title")]
    if current is not None:
        lines.append(voice.text("vote_current", title=voice.title(current)))
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if cid == current else "") + voice.title(cid),
                callback_data=callback_data(FEATURE, "vote", cid),
            )
        ]
        for cid in teams
        if cid != own
    ]
    return "\n".join(lines), keyboard_of(*rows)


def confirm_view(voice: Voice, key: str, yes_key: str, yes_action: str, **params: object) -> View:
    """A question with "yes" and "cancel" buttons."""
    return voice.text(key, **params), keyboard_of(
        [voice.button(yes_key, yes_action), voice.button("button_cancel", "ov")]
    )
