"""What the arrival feature shows: the desk card, refusals, the badge, the headcount.

Pure rendering: values in (what `models.arrival` returned), text and buttons out. Nothing here
reads the database or talks to Telegram.
"""

from __future__ import annotations

from datetime import date, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import display
from bot.context import Services
from handlers.common import callback_data
from models import arrival
from schedule.programme_texts import diet_labels

FEATURE = "arr"


def _text(services: Services, lang: str, key: str, /, **params: object) -> str:
    return services.catalog.text(lang, f"arrival.{key}", **params)


def _label(services: Services, lang: str, key: str, /, **params: object) -> str:
    return services.catalog.label(lang, f"arrival.{key}", **params)


def hhmm(services: Services, at: datetime) -> str:
    """A time in the event's timezone."""
    return display.hhmm(services.event, at)


def today(services: Services) -> date:
    """Today in the event's timezone: the day check-ins count for."""
    return services.event.local(services.now()).date()


def badge_link(bot_username: str, payload: str) -> str:
    """The link the QR code carries."""
    return arrival.deep_link(bot_username, payload)


def badge_caption(services: Services, lang: str, name: str, link: str) -> str:
    """The caption under the QR code sent in the chat (with the link, for a camera that fails)."""
    return _text(services, lang, "badge", name=name, link=link)


def leave_keyboard(services: Services, lang: str) -> InlineKeyboardMarkup:
    """The "I'm leaving" button, under the badge and the self check-in answer."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _label(services, lang, "button.leave"), callback_data=callback_data(FEATURE, "leave")
                )
            ]
        ]
    )


def badge_button_data() -> str:
    """The data of the "my badge" button (in the day-before message)."""
    return callback_data(FEATURE, "badge")


def desk_card(services: Services, lang: str, card: arrival.DeskCard) -> tuple[str, InlineKeyboardMarkup]:
    """The one message a desk volunteer reads after a scan, with a button to check the person out."""
    event = services.event
    key = "desk.first_time" if card.first_time else "desk.came_back" if card.came_back else "desk.already"
    lines = [_text(services, lang, key, name=card.name, time=hhmm(services, card.arrived_at))]
    lines.append(
        _text(services, lang, "desk.role", role=display.role_label(services.catalog, event, lang, card.role))
    )
    if card.challenge_id:
        lines.append(
            _text(services, lang, "desk.challenge", challenge=event.challenge_title(lang, card.challenge_id))
        )
    else:
        lines.append(_text(services, lang, "desk.no_challenge"))
    if card.needs.diets:
        lines.append(
            _text(services, lang, "desk.diets", diets=", ".join(diet_labels(event, lang, card.needs.diets)))
        )
    if card.needs.allergy:
        lines.append(_text(services, lang, "desk.allergy", allergy=card.needs.allergy))
    if not card.needs.stated:
        lines.append(_text(services, lang, "desk.no_needs"))
    return "\n".join(lines), desk_leave_keyboard(services, lang, card.check_in_id, card.name)


def desk_leave_keyboard(services: Services, lang: str, check_in_id: int, name: str) -> InlineKeyboardMarkup:
    """The desk's button that checks one person out."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _label(services, lang, "button.desk_leave", name=name[:40]),
                    callback_data=callback_data(FEATURE, "out", check_in_id),
                )
            ]
        ]
    )


def refusal(services: Services, lang: str, refused: arrival.Refused) -> str:
    """Why a scan changed nothing, in a kind sentence."""
    return _text(services, lang, f"refused.{refused.reason.value}")


def self_checked_in(services: Services, lang: str, result: arrival.SelfCheckedIn) -> str:
    """The answer to a participant who scanned the poster."""
    key = "self.checked_in" if result.first_time else "self.already"
    return _text(services, lang, key, time=hhmm(services, result.arrived_at))


def left(services: Services, lang: str, result: arrival.Left, *, desk: bool) -> str:
    """The answer to "I'm leaving" (the person) or to the desk's button."""
    name = result.name or "?"
    if result.outcome is arrival.LeaveOutcome.LEFT and result.left_at is not None:
        if desk:
            return _text(services, lang, "leave.desk_left", name=name, time=hhmm(services, result.left_at))
        return _text(services, lang, "leave.left", time=hhmm(services, result.left_at))
    return (
        _text(services, lang, "leave.desk_not_here", name=name)
        if desk
        else _text(services, lang, "leave.not_here")
    )


def walk_in_roles(services: Services, lang: str, walk_in_id: int) -> InlineKeyboardMarkup:
    """One button per role offered by the event, for a walk-in just registered."""
    event = services.event
    buttons = [
        InlineKeyboardButton(
            role.label.get(lang, event.default_language),
            callback_data=callback_data(FEATURE, "wrole", walk_in_id, role.id),
        )
        for role in event.roles
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def walk_in_registered(services: Services, lang: str, walk_in: arrival.WalkInRegistered, at: datetime) -> str:
    """The answer to `/inscrire_sur_place <name>`."""
    return _text(services, lang, "walk_in.registered", name=walk_in.name, time=hhmm(services, at))


def walk_in_role_saved(services: Services, lang: str, walk_in: arrival.WalkInRegistered) -> str:
    """The walk-in's role was chosen."""
    role = display.role_label(services.catalog, services.event, lang, walk_in.role)
    return _text(services, lang, "walk_in.role_saved", name=walk_in.name, role=role)


def poster_keyboard(services: Services, lang: str) -> InlineKeyboardMarkup:
    """The organiser's button under the poster: a new code if it leaked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _label(services, lang, "button.renew"), callback_data=callback_data(FEATURE, "renew")
                )
            ]
        ]
    )


def headcount(services: Services, lang: str, count: arrival.Headcount) -> list[str]:
    """`/presents`: the figures, by role and by team, then who has not arrived (split under 4,096)."""
    event = services.event
    catalog = services.catalog
    figures = [
        _text(services, lang, "headcount.title", date=display.date_label(catalog, lang, count.day)),
        _text(services, lang, "headcount.present", count=display.number(lang, count.present)),
        _text(
            services,
            lang,
            "headcount.arrived",
            count=display.number(lang, count.arrived),
            walk_ins=display.number(lang, count.walk_ins),
        ),
        _text(services, lang, "headcount.not_arrived", count=display.number(lang, len(count.not_arrived))),
    ]
    blocks = [figures]
    if count.present:
        roles = [_text(services, lang, "headcount.by_role")]
        for role_id, number in sorted(count.present_by_role.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            name = display.role_label(catalog, event, lang, role_id)
            roles.append(
                _text(services, lang, "headcount.line", name=name, count=display.number(lang, number))
            )
        teams = [_text(services, lang, "headcount.by_team")]
        for team_id, number in sorted(count.present_by_team.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            name = (
                event.challenge_title(lang, team_id)
                if team_id
                else _label(services, lang, "headcount.no_team")
            )
            teams.append(
                _text(services, lang, "headcount.line", name=name, count=display.number(lang, number))
            )
        blocks += [roles, teams]
    else:
        blocks.append([_text(services, lang, "headcount.nobody")])
    if count.not_arrived:
        waiting = [_text(services, lang, "headcount.waiting_title")]
        waiting += [
            _text(services, lang, "headcount.waiting_line", name=person.name) for person in count.not_arrived
        ]
        blocks.append(waiting)
    return display.pack_messages(blocks)


def short_date(services: Services, lang: str, day: date) -> str:
    """A day as people say it ("samedi 4 novembre")."""
    return display.date_label(services.catalog, lang, day)
