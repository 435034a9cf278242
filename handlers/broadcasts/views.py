"""What the announcement handlers show: texts and keyboards, from what the domain returned.

Pure functions (no database, no Telegram request). The progress and report of a broadcast, which
the runner shows too, are in `schedule.broadcast_views`.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton

from bot.context import Services
from bot.display import day_and_time, number, pack_messages
from bot.i18n import Markup
from handlers.common import callback_data
from models import broadcasts as bc
from models.outbox import PayloadTooLong
from schedule.broadcast_views import FEATURE, Keyboard, audience_name, label, stored_audience_name, text

SCHEDULE_CHOICES = (15, 30, 60, 120)  # minutes, offered as buttons
MENUS = ("top", "challenge", "role", "meal")


def _button(
    services: Services, lang: str, key: str, action: str, *args: str | int, **params: object
) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label(services, lang, key, **params), callback_data=callback_data(FEATURE, action, *args)
    )


def nonce_keyboard(services: Services, lang: str, nonce: str) -> Keyboard:
    """Only "Cancel", while the draft waits for a message."""
    return Keyboard([[_button(services, lang, "button.cancel", "x", nonce)]])


def too_long(services: Services, lang: str, exc: PayloadTooLong) -> str:
    """The announcement (or its correction) is longer than Telegram accepts: by how much."""
    key = "too_long_caption" if exc.kind == "caption" else "too_long_text"
    return text(services, lang, key, length=number(lang, exc.length), limit=number(lang, exc.limit))


def audience_keyboard(
    services: Services, lang: str, nonce: str, menu: str, counts: bc.AudienceCounts
) -> Keyboard:
    """The audience menu `menu` ("top", or the challenges, roles or meals), with how many each holds."""
    event = services.event
    default = event.default_language

    def pick(name: str, count: int, kind: str, arg: str) -> InlineKeyboardButton:
        return _button(services, lang, "button.item", "aud", nonce, kind, arg, name=name, count=count)

    back = [_button(services, lang, "button.back", "menu", nonce, "top")]
    if menu == "challenge":
        rows = [
            [pick(c.title.get(lang, default), counts.by_challenge.get(c.id, 0), "challenge", c.id)]
            for c in event.challenges
        ]
        return Keyboard([*rows, back])
    if menu == "role":
        buttons = [
            pick(r.label.get(lang, default), counts.by_role.get(r.id, 0), "role", r.id) for r in event.roles
        ]
        return Keyboard([*[buttons[i : i + 2] for i in range(0, len(buttons), 2)], back])
    if menu == "meal":
        rows = [
            [pick(m.name.get(lang, default), counts.by_meal.get(m.id, 0), "meal", m.id)] for m in event.meals
        ]
        return Keyboard([*rows, back])
    rows = [
        [_button(services, lang, "button.everyone", "aud", nonce, "all", count=counts.everyone)],
        [
            _button(services, lang, "button.challenge_menu", "menu", nonce, "challenge"),
            _button(services, lang, "button.role_menu", "menu", nonce, "role"),
        ],
    ]
    if event.meals:
        rows.append([_button(services, lang, "button.meal_menu", "menu", nonce, "meal")])
    today = event.local(services.now()).date().isoformat()
    rows.append(
        [
            _button(services, lang, "button.present", "aud", nonce, "present", count=counts.present),
            _button(services, lang, "button.not_arrived", "aud", nonce, "not_arrived", today),
        ]
    )
    return Keyboard([*rows, [_button(services, lang, "button.cancel", "x", nonce)]])


def confirmation_text(services: Services, confirmation: bc.Confirmation) -> str:
    """The confirmation: the audience, the number of recipients, and when."""
    lang = confirmation.language
    lines = [
        text(
            services,
            lang,
            "confirm",
            audience=Markup(audience_name(services, lang, confirmation.audience)),
            count=number(lang, confirmation.recipients),
        )
    ]
    if confirmation.scheduled_at is not None:
        lines.append(
            text(services, lang, "confirm_at", **day_and_time(services.event, confirmation.scheduled_at))
        )
    else:
        lines.append(text(services, lang, "confirm_now"))
    return "\n".join(lines)


def confirmation_view(services: Services, confirmation: bc.Confirmation) -> tuple[str, Keyboard]:
    """The confirmation and its buttons: send (or schedule), change the time, cancel."""
    lang, nonce = confirmation.language, confirmation.nonce
    if confirmation.scheduled_at is not None:
        go = _button(services, lang, "button.send_later", "go", nonce)
        when = _button(services, lang, "button.change_time", "when", nonce)
    else:
        go = _button(services, lang, "button.send_now", "go", nonce, count=confirmation.recipients)
        when = _button(services, lang, "button.schedule", "when", nonce)
    keyboard = Keyboard([[go], [when, _button(services, lang, "button.cancel", "x", nonce)]])
    return confirmation_text(services, confirmation), keyboard


def schedule_keyboard(services: Services, lang: str, nonce: str) -> Keyboard:
    """When to send: in a few minutes or hours, at a typed time, or right now."""

    def choice(minutes: int) -> InlineKeyboardButton:
        if minutes >= 60:
            return _button(services, lang, "button.in_hours", "at", nonce, minutes, hours=minutes // 60)
        return _button(services, lang, "button.in_minutes", "at", nonce, minutes, minutes=minutes)

    buttons = [choice(minutes) for minutes in SCHEDULE_CHOICES]
    return Keyboard(
        [
            *[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
            [_button(services, lang, "button.type_time", "at", nonce, "type")],
            [_button(services, lang, "button.now", "at", nonce, 0)],
        ]
    )


def ask_time_view(services: Services, lang: str, nonce: str) -> tuple[str, Keyboard]:
    """Asks for a typed time, with a way back (send at once)."""
    return text(services, lang, "ask_time"), Keyboard(
        [[_button(services, lang, "button.back", "at", nonce, 0)]]
    )


def correction_prompt(
    services: Services, lang: str, broadcast: bc.Broadcast, nonce: str
) -> tuple[str, Keyboard]:
    """Ask for the corrected text (or caption) of a sent broadcast."""
    key = "ask_edit_text" if broadcast.content_kind is bc.ContentKind.TEXT else "ask_edit_caption"
    return text(services, lang, key, id=broadcast.id), nonce_keyboard(services, lang, nonce)


def correction_confirm(
    services: Services, lang: str, broadcast: bc.Broadcast, nonce: str
) -> tuple[str, Keyboard]:
    """After the preview of the corrected text: correct it everywhere, or cancel."""
    keyboard = Keyboard(
        [
            [_button(services, lang, "button.apply_edit", "eok", nonce)],
            [_button(services, lang, "button.cancel", "x", nonce)],
        ]
    )
    count = number(lang, broadcast.delivered)
    return text(services, lang, "edit_confirm", id=broadcast.id, count=count), keyboard


def delete_confirm(services: Services, lang: str, broadcast: bc.Broadcast) -> tuple[str, Keyboard]:
    """Ask before deleting a broadcast everywhere."""
    keyboard = Keyboard(
        [
            [_button(services, lang, "button.delete_yes", "delok", broadcast.id)],
            [_button(services, lang, "button.delete_no", "keep", broadcast.id)],
        ]
    )
    count = number(lang, broadcast.delivered)
    return text(services, lang, "delete_confirm", id=broadcast.id, count=count), keyboard


def missed_messages(services: Services, lang: str, report: bc.MissedReport) -> list[str]:
    """Who did not receive a broadcast and why, in as few messages as fit."""
    if not report.people:
        return [text(services, lang, "missed_none")]
    lines = [
        text(
            services,
            lang,
            "missed_line",
            name=person.name
            if person.name is not None
            else label(services, lang, "missed_unknown", id=person.chat_id),
            reason=Markup(text(services, lang, f"reason.{person.state.value}")),
        )
        for person in report.people
    ]
    title = text(services, lang, "missed_title", id=report.broadcast.id, count=len(report.people))
    return pack_messages([[title, *lines]])


def history_view(
    services: Services, lang: str, standings: Sequence[bc.Standing]
) -> tuple[list[str], Keyboard]:
    """`/annonces`: the latest broadcasts with their figures (messages), and a button for each report."""
    lines: list[str] = [text(services, lang, "history_title")]
    for standing in standings:
        broadcast, figures = standing.broadcast, standing.figures
        status = "deleted" if broadcast.deleted_at is not None else broadcast.status.value
        lines.append(
            text(
                services,
                lang,
                "history_line",
                id=broadcast.id,
                audience=Markup(stored_audience_name(services, lang, broadcast.audience)),
                status=Markup(text(services, lang, f"status.{status}")),
                **day_and_time(services.event, broadcast.confirmed_at),
            )
        )
        if broadcast.summary:
            lines.append("    " + text(services, lang, "summary_line", summary=broadcast.summary))
        lines.append(
            text(
                services,
                lang,
                "history_figures_doubt" if figures.in_doubt else "history_figures",
                delivered=number(lang, figures.sent),
                blocked=number(lang, figures.blocked),
                failed=number(lang, figures.failed),
                in_doubt=number(lang, figures.in_doubt),
            )
        )
    lines.append(text(services, lang, "history_more"))
    buttons = [
        _button(services, lang, "button.show", "show", s.broadcast.id, id=s.broadcast.id) for s in standings
    ]
    keyboard = Keyboard([buttons[i : i + 5] for i in range(0, len(buttons), 5)])
    return pack_messages([lines]), keyboard
