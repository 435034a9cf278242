"""Personas of the web chat: simulated people with a role, shown side by side on the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.client import SimGroup, SimUser

__all__ = ["DEFAULT_ROLES", "Persona", "PersonaRole"]


@dataclass(frozen=True)
class PersonaRole:
    """What a persona is: its id (labels live in the page), and its place in the staff group."""

    id: str
    staff: bool = False  # member of the staff group
    admin: bool = False  # administrator of the staff group (implies staff)


DEFAULT_ROLES: tuple[PersonaRole, ...] = (
    PersonaRole("resident"),
    PersonaRole("student"),
    PersonaRole("facilitator", staff=True),
    PersonaRole("organiser", staff=True, admin=True),
    PersonaRole("desk"),  # a welcome-desk volunteer: scans badges (opens their links)
)


@dataclass
class Persona:
    """A simulated person and their role; their chats are the private one and their groups."""

    user: SimUser
    role: PersonaRole

    @property
    def id(self) -> int:
        """The persona's id is its Telegram user id (also the id of its private chat)."""
        return self.user.id

    @property
    def name(self) -> str:
        """The first name (shown on the page and to the bot)."""
        return self.user.first_name

    @property
    def language(self) -> str | None:
        """The Telegram app language sent with every update."""
        return self.user.language_code

    def groups(self, candidates: list[SimGroup]) -> list[SimGroup]:
        """The groups among ``candidates`` the persona is an active member of."""
        return [
            group
            for group in candidates
            if group.status_of(self.user) in ("creator", "administrator", "member", "restricted")
        ]

    def to_json(self, bot_name: str, groups: list[SimGroup]) -> dict[str, Any]:
        """How the page sees the persona: identity, role and chats (private first)."""
        chats = [{"id": self.id, "type": "private", "title": bot_name}]
        chats += [{"id": group.id, "type": "group", "title": group.title} for group in self.groups(groups)]
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.id,
            "language": self.language,
            "staff": self.role.staff or self.role.admin,
            "chats": chats,
        }
