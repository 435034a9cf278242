"""What participants see of the challenges: the list, a card, the team page, the answers to a tap.

Pure rendering: values in (what a domain function returned), text and buttons out. Nothing here
reads the database or talks to Telegram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.display import day_and_time, role_label
from bot.i18n import Catalog, Markup, escape
from handlers.common import callback_data
from models import challenges as ch
from models.outbox import TEXT_LIMIT, telegram_length
from schedule.config import EventConfig

FEATURE = "ch"
TOAST_LIMIT = 200
"""Telegram shows at most 200 characters of a callback answer."""

View = tuple[str, InlineKeyboardMarkup]


@dataclass(frozen=True)
class Voice:
    """How one person is spoken to: the catalog, the event in force and their language."""

    catalog: Catalog
    event: EventConfig
    lang: str

    def text(self, key: str, /, **params: object) -> Markup:
        """HTML text of `challenges.<key>`, parameters escaped."""
        return self.catalog.text(self.lang, f"challenges.{key}", **params)

    def label(self, key: str, /, **params: object) -> str:
        """Plain text of `challenges.<key>` (buttons, callback answers)."""
        return self.catalog.label(self.lang, f"challenges.{key}", **params)

    def title(self, challenge_id: str) -> str:
        """The challenge's title in the person's language."""
        return self.event.challenge_title(self.lang, challenge_id)

    def button(self, key: str, action: str, *args: str, **params: object) -> list[InlineKeyboardButton]:
        """A row with one button labelled `challenges.<key>` that presses `ch:<action>[:args]`."""
        return [
            InlineKeyboardButton(
                self.label(key, **params), callback_data=callback_data(FEATURE, action, *args)
            )
        ]


@dataclass(frozen=True)
class Phrase:
    """A catalog key and its parameters, as HTML in a message or as plain text in a callback answer."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def html(self, voice: Voice) -> Markup:
        """The phrase in a message."""
        return voice.text(self.key, **self.params)

    def toast(self, voice: Voice) -> str:
        """Plain text (callback answers are never parsed as HTML), within Telegram's 200 characters."""
        plain = voice.label(self.key, **self.params)
        return plain if len(plain) <= TOAST_LIMIT else plain[: TOAST_LIMIT - 1] + "…"


def facilitator_names(voice: Voice, challenge_id: str) -> str:
    """The challenge's facilitators, or "to come"."""
    names = [f.name for f in voice.event.facilitators_for(challenge_id)]
    return ", ".join(names) if names else voice.text("no_facilitator")


def places(voice: Voice, counts: ch.ChallengeCounts) -> Markup:
    """`3 / 12 places`, and "full" when it is."""
    shown = voice.text("places", members=counts.members, count=counts.capacity)
    if counts.is_full:
        shown = Markup(shown + " · " + voice.text("full"))
    return shown


def picking_refusal(voice: Voice, picking: ch.PickingStatus) -> Phrase:
    """Why joining is not possible now (picking closed), in one short sentence."""
    if picking.reason is ch.PickingReason.NOT_YET:
        return Phrase("picking_not_yet", dict(day_and_time(voice.event, picking.opens_at)))
    if picking.reason is ch.PickingReason.OVER:
        return Phrase("picking_over")
    return Phrase("picking_closed")


def list_view(voice: Voice, all_counts: dict[str, ch.ChallengeCounts], person: ch.PersonStatus) -> View:
    """The list of challenges: title, pitch, facilitators, places; one button per challenge."""
    event, lang = voice.event, voice.lang
    header = [voice.text("list_title")]
    if person.challenge_id is not None:
        header.append(voice.text("list_your_team", title=voice.title(person.challenge_id)))
    if person.waiting_for is not None:
        header.append(
            voice.text("list_your_wait", title=voice.title(person.waiting_for), position=person.position)
        )
    full_items, short_items, buttons = [], [], []
    if person.challenge_id is not None:
        buttons.append(voice.button("button_my_team", "team"))
    for challenge in event.challenges:
        counts = all_counts.get(challenge.id) or ch.ChallengeCounts(
            challenge.id, 0, challenge.capacity, challenge.capacity, 0, False
        )
        title = challenge.title.get(lang, event.default_language)
        shown = places(voice, counts)
        full_items.append(
            voice.text(
                "list_item",
                title=title,
                pitch=challenge.pitch.get(lang, event.default_language),
                facilitators=facilitator_names(voice, challenge.id),
                places=shown,
            )
        )
        short_items.append(voice.text("list_item_short", title=title, places=shown))
        key = "button_challenge_mine" if challenge.id == person.challenge_id else "button_challenge"
        buttons.append(
            voice.button(
                key, "card", challenge.id, title=title, members=counts.members, capacity=counts.capacity
            )
        )
    body = "\n\n".join([*header, *full_items])
    if telegram_length(body, "HTML") > TEXT_LIMIT:
        # Many challenges with long pitches: the pitches move to the cards.
        body = "\n\n".join([*header, "\n".join(short_items)])
    return body, InlineKeyboardMarkup(buttons)


def _details(voice: Voice, challenge_id: str, counts: ch.ChallengeCounts) -> list[str]:
    """Facilitators, meeting place and fill level: the lines a card and a team page share."""
    event = voice.event
    challenge = event.challenge(challenge_id)
    lines: list[str] = [voice.text("card_facilitators", names=facilitator_names(voice, challenge_id))]
    if challenge is not None and challenge.place is not None:
        lines.append(voice.text("card_place", place=challenge.place.get(voice.lang, event.default_language)))
    lines.append(voice.text("card_places", places=places(voice, counts)))
    return lines


def card_view(voice: Voice, challenge_id: str, card: ch.ChallengeCard, note: str | None = None) -> View:
    """One challenge: pitch, facilitators, place, fill level, the person's status, the right buttons."""
    event = voice.event
    challenge = event.challenge(challenge_id)
    assert challenge is not None  # callers refuse buttons about challenges the file does not have
    counts, person, picking = card.counts, card.person, card.picking
    details = _details(voice, challenge_id, counts)
    if counts.waiting:
        details.append(voice.text("card_waiting", count=counts.waiting))
    parts = [
        voice.text("card_title", title=challenge.title.get(voice.lang, event.default_language)),
        escape(challenge.pitch.get(voice.lang, event.default_language)),
        "\n".join(details),
    ]
    status: list[str] = []
    buttons: list[list[InlineKeyboardButton]] = []
    if person.challenge_id == challenge_id:
        status.append(voice.text("card_member"))
        buttons.append(voice.button("button_my_team", "team"))
        if picking.is_open and event.team_picking.allow_changes:
            buttons.append(voice.button("button_leave", "leave", challenge_id))
    elif person.waiting_for == challenge_id:
        status.append(voice.text("card_waiting_you", position=person.position))
        buttons.append(voice.button("button_unwait", "unwait", challenge_id))
    else:
        if person.challenge_id is not None:
            status.append(voice.text("card_other_team", title=voice.title(person.challenge_id)))
        if not picking.is_open:
            status.append(picking_refusal(voice, picking).html(voice))
        elif counts.is_full:
            status.append(voice.text("card_full"))
        if picking.is_open:
            if person.challenge_id is not None:
                key = "button_switch"
            elif counts.is_full:
                key = "button_wait"
            else:
                key = "button_join"
            buttons.append(voice.button(key, "join", challenge_id))
    if status:
        parts.append("\n".join(status))
    if note:
        parts.append(note)
    buttons.append(voice.button("button_all", "list"))
    return "\n\n".join(parts), InlineKeyboardMarkup(buttons)


def member_lines(voice: Voice, members: Sequence[ch.TeamMember]) -> list[str]:
    """First names (as the people chose them) and roles; never usernames."""
    if not members:
        return [voice.text("team_empty")]
    return [
        voice.text(
            "team_member",
            name=m.display_name,
            role=role_label(voice.catalog, voice.event, voice.lang, m.role),
        )
        for m in members
    ]


def team_view(voice: Voice, team: ch.TeamPage) -> View:
    """The person's team page: challenge, facilitators, meeting place, members."""
    head = [
        voice.text("team_title", title=voice.title(team.challenge_id)),
        *_details(voice, team.challenge_id, team.counts),
    ]
    body = [voice.text("team_members", count=len(team.members)), *member_lines(voice, team.members)]
    keyboard = InlineKeyboardMarkup([voice.button("button_all", "list")])
    return "\n".join(head) + "\n\n" + "\n".join(body), keyboard


def no_team_view(voice: Voice) -> View:
    """For someone without a team: a button to the list."""
    return voice.text("no_team"), InlineKeyboardMarkup([voice.button("button_see_challenges", "list")])


def confirm_switch_view(voice: Voice, previous: str, challenge_id: str) -> View:
    """The question "leave X and join Y?", with yes and no."""
    question = voice.text("confirm_switch", title=voice.title(challenge_id), previous=voice.title(previous))
    keyboard = InlineKeyboardMarkup(
        [
            voice.button("button_confirm_switch", "sw", previous, challenge_id),
            voice.button("button_stay", "card", challenge_id),
        ]
    )
    return question, keyboard


def confirm_leave_view(voice: Voice, challenge_id: str) -> View:
    """The question "leave X? (your place goes to the first person waiting)", with yes and no."""
    keyboard = InlineKeyboardMarkup(
        [
            voice.button("button_confirm_leave", "leaveok", challenge_id),
            voice.button("button_stay", "card", challenge_id),
        ]
    )
    return voice.text("confirm_leave", title=voice.title(challenge_id)), keyboard


_REFUSED = frozenset(
    {ch.TeamOutcome.PICKING_NOT_YET, ch.TeamOutcome.PICKING_OVER, ch.TeamOutcome.PICKING_CLOSED}
)


def refusal(voice: Voice, change: ch.TeamChange) -> Phrase | None:
    """Why a tap changed nothing (picking closed, changes not allowed); None when it was not refused."""
    if change.outcome in _REFUSED and change.picking is not None:
        return picking_refusal(voice, change.picking)
    if change.outcome is ch.TeamOutcome.CHANGES_NOT_ALLOWED:
        return Phrase("changes_not_allowed")
    return None


def outcome_phrase(voice: Voice, change: ch.TeamChange) -> Phrase:
    """What a tap that went through did, for the toast and the note on the card."""
    title = voice.title(change.challenge_id)
    previous = voice.title(change.previous) if change.previous else ""
    outcome = change.outcome
    if outcome is ch.TeamOutcome.JOINED:
        return Phrase("joined", {"title": title})
    if outcome is ch.TeamOutcome.SWITCHED:
        return Phrase("switched", {"title": title, "previous": previous})
    if outcome is ch.TeamOutcome.WAITLISTED:
        key = "waitlisted_keep" if change.previous else "waitlisted"
        return Phrase(key, {"title": title, "previous": previous, "position": change.position})
    if outcome is ch.TeamOutcome.ALREADY_WAITING:
        return Phrase("already_waiting", {"position": change.position})
    if outcome is ch.TeamOutcome.LEFT:
        return Phrase("left", {"title": title})
    if outcome is ch.TeamOutcome.LEFT_WAITLIST:
        return Phrase("left_waitlist", {"title": title})
    return Phrase("already_member")
