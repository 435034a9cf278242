"""Rehearsal web chat: several simulated people talking to the bot from one browser page.

``WebChat(sim, staff_group=group)`` adds the page (``/webchat/``), its JSON API and a Server-Sent
Events stream to a ``Simulator`` before it starts; ``add_persona("Amina", "resident")`` creates the
people shown on the page. ``hackbot demo`` (``bot/demo.py``) puts it together with the real bot.

Modules: ``personas`` (roles and personas), ``render`` (messages and keyboards as JSON), ``server``
(routes and live updates), ``static/`` (the page: HTML, CSS and JavaScript, no external resources).
"""

from simulator.webchat.personas import DEFAULT_ROLES, Persona, PersonaRole
from simulator.webchat.server import CSRF_HEADER, WebChat

__all__ = ["CSRF_HEADER", "DEFAULT_ROLES", "Persona", "PersonaRole", "WebChat"]
