"""How an announcement's follow-up reads: its progress, its report, the progress of a correction.

Both the broadcast runner (`schedule.broadcasts`, which edits the organiser's message while the
deliveries go on, with no update at hand) and the handlers (which show the same message right after
"Send", and again on "show" from `/annonces`) render these. They live here, beside the runner,
because `schedule/` must never import `handlers/` while handlers may import `schedule/`; and they
are the announcements' own wording, not a display helper every feature shares, so not in `bot/`.

Pure functions of the services (catalog, event) and of what the domain returned: no database, no
Telegram request. The buttons they carry are the `bc:` actions routed in `handlers.broadcasts`.
"""

from __future__ import annotations

from datetime import date, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import Services
from bot.display import day_and_time, number
from bot.i18n import Markup
from models import broadcasts as bc

FEATURE = "bc"
"""The prefix of every button of the feature (`bc:<action>:<args>`)."""

Keyboard = InlineKeyboardMarkup


def text(services: Services, lang: str, key: str, /, **params: object) -> Markup:
    """A text of the feature's catalog (`broadcasts.<key>`), HTML with parameters escaped."""
    return services.catalog.text(lang, f"broadcasts.{key}", **params)


def label(services: Services, lang: str, key: str, /, **params: object) -> str:
    """A button label or toast of the feature's catalog (plain text, not escaped)."""
    return services.catalog.label(lang, f"broadcasts.{key}", **params)


def button_data(action: str, broadcast_id: int) -> str:
    """`bc:<action>:<id>`, the data of a button acting on one broadcast (ids are digits)."""
    return f"{FEATURE}:{action}:{broadcast_id}"


def audience_name(services: Services, lang: str, audience: bc.Audience, *, plain: bool = False) -> str:
    """The audience in words: everyone, the team “Réservation”... (`plain`: for a button, unescaped)."""
    event = services.event
    default = event.default_language
    name = ""
    if audience.kind is bc.AudienceKind.CHALLENGE:
        challenge = event.challenge(audience.arg or "")
        name = challenge.title.get(lang, default) if challenge else audience.arg or ""
    elif audience.kind is bc.AudienceKind.ROLE:
        role = event.role(audience.arg or "")
        name = role.label.get(lang, default) if role else audience.arg or ""
    elif audience.kind is bc.AudienceKind.MEAL:
        meal = event.meal(audience.arg or "")
        name = meal.name.get(lang, default) if meal else audience.arg or ""
    elif audience.kind is bc.AudienceKind.NOT_ARRIVED:
        day = date.fromisoformat(audience.arg or "")
        name = day.strftime("%d/%m")
    key = f"audience.{audience.kind.value}"
    return label(services, lang, key, name=name) if plain else text(services, lang, key, name=name)


def stored_audience_name(services: Services, lang: str, stored: str) -> str:
    """The audience of a broadcast (its stored form) in words; the stored form if unreadable."""
    try:
        return audience_name(services, lang, bc.Audience.decode(stored))
    except ValueError:
        return stored


def _header(services: Services, lang: str, broadcast: bc.Broadcast) -> list[str]:
    lines: list[str] = [
        text(
            services,
            lang,
            "title",
            id=broadcast.id,
            audience=Markup(stored_audience_name(services, lang, broadcast.audience)),
        )
    ]
    if broadcast.summary:
        lines.append(text(services, lang, "summary_line", summary=broadcast.summary))
    return lines


def _seconds(value: float) -> int:
    """Whole seconds, rounded up: "wait 0 s" would read as no wait at all."""
    return max(1, int(-(-value // 1)))


def progress_view(
    services: Services,
    broadcast: bc.Broadcast,
    figures: bc.Progress,
    now: datetime,
    *,
    paused_for: float = 0.0,
) -> tuple[str, Keyboard]:
    """The organiser's message while a broadcast is scheduled or sending.

    `paused_for`: seconds Telegram still makes the bot wait (a 429), said so the organiser knows
    why the figures stand still.
    """
    lang = broadcast.language
    lines = _header(services, lang, broadcast)
    if (
        broadcast.status is bc.BroadcastStatus.SCHEDULED
        and broadcast.scheduled_at
        and broadcast.scheduled_at > now
    ):
        lines.append(
            text(
                services,
                lang,
                "scheduled",
                total=number(lang, figures.total),
                **day_and_time(services.event, broadcast.scheduled_at),
            )
        )
    else:
        lines.append(
            text(
                services, lang, "progress", done=number(lang, figures.done), total=number(lang, figures.total)
            )
        )
        if paused_for > 0:
            lines.append(text(services, lang, "progress_paused", seconds=_seconds(paused_for)))
    stop = InlineKeyboardButton(
        label(services, lang, "button.stop"), callback_data=button_data("stop", broadcast.id)
    )
    return "\n".join(lines), Keyboard([[stop]])


def report_view(
    services: Services, broadcast: bc.Broadcast, figures: bc.Progress, *, waited: float = 0.0
) -> tuple[str, Keyboard | None]:
    """The report once every delivery ended: figures, and what the organiser can do next.

    `waited`: the longest wait Telegram imposed while it was sent (a 429), which made it slower.
    """
    lang = broadcast.language
    lines = _header(services, lang, broadcast)
    lines.append(text(services, lang, "report_stopped" if figures.cancelled else "report_done"))
    lines.append(text(services, lang, "report_delivered", count=number(lang, figures.sent)))
    lines.append(text(services, lang, "report_blocked", count=number(lang, figures.blocked)))
    lines.append(text(services, lang, "report_failed", count=number(lang, figures.failed)))
    if figures.cancelled:
        lines.append(text(services, lang, "report_cancelled", count=number(lang, figures.cancelled)))
    if figures.in_doubt:
        lines.append(text(services, lang, "report_in_doubt", count=number(lang, figures.in_doubt)))
    if waited > 0:
        lines.append(text(services, lang, "report_slowed", seconds=_seconds(waited)))
    if broadcast.revision:
        lines.append(text(services, lang, "report_edited", count=broadcast.revision))
    if broadcast.deleted_at is not None:
        lines.append(text(services, lang, "report_deleted"))
    rows: list[list[InlineKeyboardButton]] = []
    if figures.missed:
        missed = label(services, lang, "button.missed", count=figures.missed)
        rows.append([InlineKeyboardButton(missed, callback_data=button_data("miss", broadcast.id))])
    if broadcast.deleted_at is None and figures.sent:
        edit_key = (
            "button.edit_text" if broadcast.content_kind is bc.ContentKind.TEXT else "button.edit_caption"
        )
        rows.append(
            [
                InlineKeyboardButton(
                    label(services, lang, edit_key), callback_data=button_data("edit", broadcast.id)
                ),
                InlineKeyboardButton(
                    label(services, lang, "button.delete"), callback_data=button_data("del", broadcast.id)
                ),
            ]
        )
    return "\n".join(lines), Keyboard(rows) if rows else None


def standing_view(services: Services, standing: bc.Standing, now: datetime) -> tuple[str, Keyboard | None]:
    """The report of a finished broadcast, else its progress."""
    if standing.broadcast.finished:
        return report_view(services, standing.broadcast, standing.figures)
    return progress_view(services, standing.broadcast, standing.figures, now)


def operation_view(services: Services, operation: bc.BroadcastOperation, figures: bc.Progress) -> str:
    """Progress, then result, of an edit or a deletion."""
    lang = operation.language
    prefix = "edit" if operation.kind is bc.OperationKind.EDIT else "delete"
    if figures.finished:
        return text(
            services,
            lang,
            f"{prefix}_report",
            id=operation.broadcast_id,
            done=number(lang, figures.sent),
            failed=number(lang, figures.missed),
        )
    return text(
        services,
        lang,
        f"{prefix}_progress",
        id=operation.broadcast_id,
        done=number(lang, figures.done),
        total=number(lang, operation.total),
    )
