"""The web chat: aiohttp routes that let a browser act as several simulated people at once.

Served by the simulator's own HTTP server (``Simulator.add_routes``), so one local process holds the
fake Telegram, the page and, in ``hackbot demo``, the bot. The JSON API is a thin layer over the
simulator's client API (``SimUser.send_text``, ``press``, ``tap``, ``send_photo``...):

* ``GET  /webchat/api/state``: the bot, the roles and the personas with their chats;
* ``POST /webchat/api/personas``: add a persona ``{name, role, language}``;
* ``GET  /webchat/api/personas/<id>/chats/<chat>``: a chat's messages, reply keyboard and commands;
* ``POST .../messages`` ``{text, reply_to?}``, ``.../press`` ``{message_id, row, col, text}``,
  ``.../tap`` ``{text}``, ``.../upload`` (multipart: ``file``, ``kind`` photo|document, ``caption``,
  ``reply_to``);
* ``GET  /webchat/api/files/<file_id>``: a file's bytes (inline only for plain image types);
* ``GET  /webchat/api/events``: Server-Sent Events fed by ``Simulator.on_message``.

Requests that change something must carry the ``X-Webchat: 1`` header: browsers only send a custom
header cross-origin after a CORS preflight we never approve, so another web page cannot drive the
personas. While the server listens on a loopback address, requests naming another host (DNS
rebinding) are refused too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from simulator.client import SimBot, SimGroup, SimMessage
from simulator.webchat.personas import DEFAULT_ROLES, Persona, PersonaRole
from simulator.webchat.render import INLINE_MIME_TYPES, command_scopes, keyboard_json, message_json
from simulator.world import MessageEvent

if TYPE_CHECKING:
    from simulator.core import Simulator

__all__ = ["CSRF_HEADER", "WebChat"]

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-Webchat"
PAGE_PATH = "/webchat/"
MAX_NAME = 64
MAX_TEXT = 4096
MAX_CAPTION = 1024
PRESS_ANSWER_TIMEOUT = 5.0
HEARTBEAT_SECONDS = 15.0
QUEUE_SIZE = 2000
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_BOT_LINK = re.compile(r"https://t\.me/[A-Za-z0-9_]{3,32}\?start=[A-Za-z0-9_-]{1,64}")
_STATIC = {
    "webchat.js": "application/javascript",
    "webchat.css": "text/css",
}
# The page loads nothing from elsewhere: scripts, styles, images and the event stream are ours.
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PersonaListener = Callable[[Persona], None]


class RequestRefusedError(Exception):
    """A request the API refuses: HTTP status and a short English reason (shown by the page)."""

    def __init__(self, status: int, reason: str) -> None:
        """Keep the status and the reason."""
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _static_text(name: str) -> str:
    return resources.files("simulator.webchat").joinpath("static", name).read_text(encoding="utf-8")


class WebChat:
    """Personas, the page and its API, served beside the Bot API of one ``Simulator``.

    Create it before ``sim.start()`` (its routes join the simulator's): ``WebChat(sim, staff_group=g)``.
    """

    def __init__(
        self,
        sim: Simulator,
        *,
        bot: SimBot | None = None,
        staff_group: SimGroup | None = None,
        roles: Sequence[PersonaRole] = DEFAULT_ROLES,
    ) -> None:
        """Hook into the simulator: message listener, routes, and closing the streams at shutdown."""
        self.sim = sim
        self.bot = bot or sim.bot
        self.staff_group = staff_group
        self.roles = {role.id: role for role in roles}
        self._personas: dict[int, Persona] = {}
        self._persona_listeners: list[PersonaListener] = []
        self._streams: set[asyncio.Queue[str | None]] = set()
        self._closed = False
        sim.on_message(self._on_message)
        sim.add_routes(self.routes())
        sim.server.app.on_shutdown.append(self._on_shutdown)

    # --- personas -----------------------------------------------------------------------------------

    @property
    def personas(self) -> list[Persona]:
        """Every persona, in the order they were added."""
        return list(self._personas.values())

    def persona(self, persona_id: int) -> Persona | None:
        """A persona by id (its Telegram user id)."""
        return self._personas.get(persona_id)

    def add_persona(self, name: str, role: str = "resident", *, language: str | None = "fr") -> Persona:
        """A new simulated person; staff roles join the staff group (organisers as administrators)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise ValueError(f"a name has 1 to {MAX_NAME} characters")
        kind = self.roles.get(role)
        if kind is None:
            raise ValueError(f"unknown role {role!r}; roles: {sorted(self.roles)}")
        if language is not None and not _LANGUAGE.match(language):
            raise ValueError(f"not a language code: {language!r}")
        user = self.sim.add_user(first_name=name, language_code=language)
        if (kind.staff or kind.admin) and self.staff_group is not None:
            self.staff_group.add_member(user, admin=kind.admin)
        persona = Persona(user, kind)
        self._personas[persona.id] = persona
        for listener in list(self._persona_listeners):
            try:
                listener(persona)
            except Exception:
                logger.exception("persona listener failed for persona %s", persona.id)
        self._publish("persona", self._persona_json(persona))
        return persona

    def on_persona_added(self, listener: PersonaListener) -> None:
        """Call ``listener(persona)`` for every persona added from now on (e.g. to make organisers)."""
        self._persona_listeners.append(listener)

    def _groups(self) -> list[SimGroup]:
        groups = [self.sim.group_view(chat_id) for chat_id in self.sim.world.groups]
        return [group for group in groups if group is not None]

    def _persona_json(self, persona: Persona) -> dict[str, Any]:
        return persona.to_json(self.bot.account.first_name, self._groups())

    # --- live updates -------------------------------------------------------------------------------

    def _on_message(self, message: SimMessage, event: MessageEvent) -> None:
        stored = message.stored
        chat = stored.chat
        if chat.is_private and chat.bot_id != self.bot.id:
            return  # another bot's conversation: the page only shows the default bot
        body: dict[str, Any] = {"event": event, "chat_id": chat.id, "keyboard": keyboard_json(chat)}
        if event == "deleted":
            body["message_id"] = stored.message_id
        else:
            body["message"] = message_json(self.sim.world, stored)
        self._publish("message", body)

    def _publish(self, kind: str, body: dict[str, Any]) -> None:
        frame = f"event: {kind}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
        for queue in list(self._streams):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                # A page that stopped reading: end its stream (make room for the end mark); the
                # browser's EventSource reconnects and the page reloads what it shows.
                self._streams.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    async def close(self) -> None:
        """End every event stream (the pages reconnect if the server keeps running)."""
        self._closed = True
        for queue in list(self._streams):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._streams.clear()

    async def _on_shutdown(self, app: web.Application) -> None:
        # Without this, open streams would hold the server's shutdown for its whole timeout.
        await self.close()

    # --- routes -------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The page, its files and the JSON API."""
        api = "/webchat/api"
        chat = api + "/personas/{persona}/chats/{chat}"
        return [
            web.get("/", self._redirect_to_page),
            web.get("/webchat", self._redirect_to_page),
            web.get(PAGE_PATH, self._guard(self.handle_page)),
            web.get("/webchat/static/{name}", self._guard(self.handle_static)),
            web.get(api + "/state", self._guard(self.handle_state)),
            web.post(api + "/personas", self._guard(self.handle_add_persona)),
            web.get(chat, self._guard(self.handle_chat)),
            web.post(chat + "/messages", self._guard(self.handle_send)),
            web.post(chat + "/press", self._guard(self.handle_press)),
            web.post(chat + "/tap", self._guard(self.handle_tap)),
            web.post(chat + "/upload", self._guard(self.handle_upload)),
            web.get(api + "/files/{file_id}", self._guard(self.handle_file)),
            web.get(api + "/events", self._guard(self.handle_events)),
        ]

    async def _redirect_to_page(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PAGE_PATH)

    def _guard(self, handler: Handler) -> Handler:
        """Host and CSRF checks; turn ``RequestRefusedError`` and bad input into JSON errors."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                self._check_host(request)
                if request.method == "POST" and request.headers.get(CSRF_HEADER) != "1":
                    raise RequestRefusedError(403, f"missing {CSRF_HEADER} header")
                return await handler(request)
            except RequestRefusedError as problem:
                return _json({"error": problem.reason}, problem.status)

        return guarded

    def _check_host(self, request: web.Request) -> None:
        bound = urlsplit(self.sim.base_url).hostname or ""
        if bound not in _LOOPBACK:
            return  # listening on a network address on purpose (e.g. to try the page on a phone)
        asked = urlsplit(f"http://{request.host}").hostname or ""
        if asked not in _LOOPBACK:
            raise RequestRefusedError(403, "unexpected Host header")

    # --- page ---------------------------------------------------------------------------------------

    async def handle_page(self, request: web.Request) -> web.StreamResponse:
        """The single page."""
        response = web.Response(text=_static_text("index.html"), content_type="text/html", charset="utf-8")
        response.headers["Content-Security-Policy"] = _PAGE_CSP
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def handle_static(self, request: web.Request) -> web.StreamResponse:
        """The page's script and style sheet (a fixed list, nothing else from disk)."""
        name = request.match_info["name"]
        content_type = _STATIC.get(name)
        if content_type is None:
            raise RequestRefusedError(404, "no such file")
        response = web.Response(text=_static_text(name), content_type=content_type, charset="utf-8")
        response.headers["Cache-Control"] = "no-cache"
        return response

    # --- API: reading -------------------------------------------------------------------------------

    async def handle_state(self, request: web.Request) -> web.StreamResponse:
        """The bot, the roles and the personas."""
        account = self.bot.account
        return _json(
            {
                "bot": {"id": account.id, "name": account.first_name, "username": account.username},
                "roles": [
                    {"id": role.id, "staff": role.staff or role.admin, "admin": role.admin}
                    for role in self.roles.values()
                ],
                "staff_group": (
                    {"id": self.staff_group.id, "title": self.staff_group.title} if self.staff_group else None
                ),
                "personas": [self._persona_json(persona) for persona in self.personas],
            }
        )

    def _persona_of(self, request: web.Request) -> Persona:
        try:
            persona = self._personas.get(int(request.match_info["persona"]))
        except ValueError:
            persona = None
        if persona is None:
            raise RequestRefusedError(404, "no such persona")
        return persona

    def _chat_of(self, request: web.Request, persona: Persona) -> SimGroup | None:
        """The group of the URL, or None for the persona's private chat with the bot."""
        try:
            chat_id = int(request.match_info["chat"])
        except ValueError:
            raise RequestRefusedError(404, "no such chat") from None
        if chat_id == persona.id:
            return None
        group = self.sim.group_view(chat_id)
        if group is None or group not in persona.groups(self._groups()):
            raise RequestRefusedError(404, "no such chat for this persona")
        return group

    def _commands(self, persona: Persona, group: SimGroup | None) -> list[dict[str, str]]:
        """The commands Telegram's "/" menu shows this persona in this chat (see `command_scopes`)."""
        commands = self.bot.account.commands
        language = (persona.language or "").split("-")[0]
        for scope in command_scopes(persona.id, None if group is None else group.id):
            for code in (language, ""):
                found = commands.get((scope, code))
                if found:
                    return list(found)
        return []

    async def handle_chat(self, request: web.Request) -> web.StreamResponse:
        """A chat as the persona sees it now."""
        persona = self._persona_of(request)
        group = self._chat_of(request, persona)
        chat = group.chat if group is not None else persona.user.view(self.bot).chat
        world = self.sim.world
        return _json(
            {
                "chat": {
                    "id": chat.id,
                    "type": "group" if group is not None else "private",
                    "title": group.title if group is not None else self.bot.account.first_name,
                },
                "messages": [message_json(world, stored) for stored in world.iter_messages(chat)],
                "keyboard": keyboard_json(chat),
                "commands": self._commands(persona, group),
            }
        )

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        """A stored file; shown inline only when it is a plain image, else downloaded."""
        stored = self.sim.world.files.get(request.match_info["file_id"])
        if stored is None or (stored.url and not stored.data):
            raise RequestRefusedError(404, "no such file")
        mime = stored.mime_type or ("image/jpeg" if stored.kind == "photo" else "application/octet-stream")
        inline = mime in INLINE_MIME_TYPES and "download" not in request.query
        name = stored.filename or stored.file_path.rsplit("/", 1)[-1]
        disposition = "inline" if inline else "attachment"
        response = web.Response(body=stored.data, content_type=mime if inline else "application/octet-stream")
        response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(name)}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    # --- API: acting --------------------------------------------------------------------------------

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise RequestRefusedError(415, "send JSON")
        try:
            body = await request.json()
        except ValueError:
            raise RequestRefusedError(400, "invalid JSON") from None
        if not isinstance(body, dict):
            raise RequestRefusedError(400, "send a JSON object")
        return body

    @staticmethod
    def _int(value: Any, what: str, *, optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestRefusedError(400, f"{what} must be an integer")
        return value

    @staticmethod
    def _text(value: Any, what: str, limit: int, *, optional: bool = False) -> str | None:
        if (value is None or value == "") and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise RequestRefusedError(400, f"{what} must be a non-empty text")
        if len(value) > limit:
            raise RequestRefusedError(400, f"{what} is longer than {limit} characters")
        return value

    async def handle_add_persona(self, request: web.Request) -> web.StreamResponse:
        """Add a persona from the page."""
        body = await self._body(request)
        name = self._text(body.get("name"), "name", MAX_NAME)
        role = body.get("role", "resident")
        language = body.get("language", "fr")
        if not isinstance(role, str) or not isinstance(language, str):
            raise RequestRefusedError(400, "role and language are texts")
        assert name is not None
        try:
            persona = self.add_persona(name, role, language=language)
        except ValueError as exc:
            raise RequestRefusedError(400, str(exc)) from None
        return _json(self._persona_json(persona), 201)

    async def handle_send(self, request: web.Request) -> web.StreamResponse:
        """The persona types and sends a text, optionally as a reply."""
        persona = self._persona_of(request)
        group = self._chat_of(request, persona)
        body = await self._body(request)
        text = self._text(body.get("text"), "text", MAX_TEXT)
        reply_to = self._int(body.get("reply_to"), "reply_to", optional=True)
        assert text is not None
        try:
            if group is None and reply_to is None and _BOT_LINK.fullmatch(text.strip()):
                # A t.me link pasted in the chat stands for a QR code scanned with the phone's
                # camera: Telegram opens the bot and sends `/start <payload>` on the person's behalf.
                sent = await persona.user.open_link(text.strip(), bot=self.bot)
            else:
                sent = await persona.user.send_text(text, chat=group, reply_to=reply_to, bot=self.bot)
        except LookupError as exc:  # a link to another bot
            raise RequestRefusedError(404, str(exc)) from None
        except ValueError:
            raise RequestRefusedError(404, "the message to reply to is gone") from None
        except RuntimeError as exc:
            raise RequestRefusedError(409, str(exc)) from None
        return _json(message_json(self.sim.world, sent.stored), 201)

    async def handle_press(self, request: web.Request) -> web.StreamResponse:
        """The persona presses an inline button; answers with the bot's notification, if any."""
        persona = self._persona_of(request)
        group = self._chat_of(request, persona)
        chat = group.chat if group is not None else persona.user.view(self.bot).chat
        body = await self._body(request)
        message_id = self._int(body.get("message_id"), "message_id")
        row = self._int(body.get("row"), "row")
        col = self._int(body.get("col"), "col")
        stored = chat.messages.get(message_id or 0)
        markup = (stored.data.get("reply_markup") or {}) if stored is not None else {}
        rows = markup.get("inline_keyboard", [])
        assert row is not None and col is not None
        if stored is None or not 0 <= row < len(rows) or not 0 <= col < len(rows[row]):
            raise RequestRefusedError(409, "this button is not shown any more")
        button = rows[row][col]
        if button.get("text") != body.get("text") or "callback_data" not in button:
            raise RequestRefusedError(409, "this button changed; look again")
        try:
            query = await persona.user.press(
                button["text"],
                message=SimMessage(stored),
                callback_data=button["callback_data"],
                chat=group,
                bot=self.bot,
                wait_answer=False,
            )
        except (LookupError, RuntimeError) as exc:
            raise RequestRefusedError(409, str(exc)) from None
        try:
            answer = await query.wait_answered(PRESS_ANSWER_TIMEOUT)
        except TimeoutError:
            return _json({"answered": False})
        return _json(
            {"answered": True, "text": answer.text, "show_alert": answer.show_alert, "url": answer.url}
        )

    async def handle_tap(self, request: web.Request) -> web.StreamResponse:
        """The persona taps a reply-keyboard button (its text is sent)."""
        persona = self._persona_of(request)
        group = self._chat_of(request, persona)
        body = await self._body(request)
        text = self._text(body.get("text"), "text", MAX_TEXT)
        assert text is not None
        try:
            sent = await persona.user.tap(text, chat=group, bot=self.bot)
        except (LookupError, RuntimeError) as exc:
            raise RequestRefusedError(409, str(exc)) from None
        return _json(message_json(self.sim.world, sent.stored), 201)

    async def handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The persona sends a photo or a document (multipart form)."""
        persona = self._persona_of(request)
        group = self._chat_of(request, persona)
        if request.content_type != "multipart/form-data":
            raise RequestRefusedError(415, "send a multipart form")
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise RequestRefusedError(400, "no file")
        kind = form.get("kind", "document")
        caption = self._text(form.get("caption"), "caption", MAX_CAPTION, optional=True)
        raw_reply = form.get("reply_to")
        reply_to = int(raw_reply) if isinstance(raw_reply, str) and raw_reply.isdigit() else None
        data = upload.file.read()
        if not data:
            raise RequestRefusedError(400, "the file is empty")
        try:
            if kind == "photo":
                sent = await persona.user.send_photo(
                    caption, data=data, chat=group, reply_to=reply_to, bot=self.bot
                )
            elif kind == "document":
                sent = await persona.user.send_document(
                    upload.filename or "file",
                    data,
                    mime_type=upload.content_type or None,
                    caption=caption,
                    chat=group,
                    reply_to=reply_to,
                    bot=self.bot,
                )
            else:
                raise RequestRefusedError(400, "kind is photo or document")
        except ValueError:
            raise RequestRefusedError(404, "the message to reply to is gone") from None
        except RuntimeError as exc:
            raise RequestRefusedError(409, str(exc)) from None
        return _json(message_json(self.sim.world, sent.stored), 201)

    # --- API: live updates --------------------------------------------------------------------------

    async def handle_events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: every message change, and new personas."""
        if self._closed:
            raise RequestRefusedError(503, "shutting down")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._streams.add(queue)
        try:
            # A first frame at once: the page knows it is live, and proxies flush their headers.
            await response.write(b"retry: 1000\nevent: ready\ndata: {}\n\n")
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    frame = ": keep-alive\n\n"  # also how a closed page is noticed
                if frame is None:
                    break
                await response.write(frame.encode("utf-8"))
        except ConnectionResetError:
            pass  # the page was closed
        finally:
            self._streams.discard(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response
