"""The test-facing side: simulated people (``SimUser``), groups (``SimGroup``), bot messages (``SimMessage``).

Tests act as phone users::

    user = sim.add_user("Amina", language_code="fr")
    await user.send_text("/start")
    welcome = await user.wait_for_message("Bienvenue")
    await user.press("Programme")

Waiting never sleeps in a loop: every change of the world fires a signal, and waits re-check on it.
``wait_for_message`` looks at bot messages that arrived after the user's last action in that chat
(``since="action"``, the default), skipping the ones an earlier wait already returned, so two waits in a
row find two different messages even when both had arrived before the first wait started.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from simulator.html import utf16_len
from simulator.methods import CallbackRecord
from simulator.records import AnsweredCallback
from simulator.world import BotAccount, Chat, StoredMessage, UserAccount

if TYPE_CHECKING:
    from simulator.core import Simulator

__all__ = [
    "InlineButton",
    "MessagePredicate",
    "SimBot",
    "SimCallbackQuery",
    "SimDocument",
    "SimGroup",
    "SimMessage",
    "SimUser",
]

Since = Literal["action", "now", "all"]
MessagePredicate = Callable[["SimMessage"], bool] | str | None
_Found = TypeVar("_Found")

_PHOTO_BYTES = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # a minimal JPEG
_VOICE_BYTES = b"OggS\x00\x02" + b"\x00" * 20
_STICKER_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8 "
_DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENTITY_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w+")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
)


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram clients attach to what a person types (commands, mentions, hashtags, links)."""
    entities: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            entities.append(
                {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(match.group())}
            )
    entities.sort(key=lambda e: e["offset"])
    return entities


class InlineButton(NamedTuple):
    """One inline button: unpacks as ``(text, data)`` where data is the callback data or the URL."""

    text: str
    data: str | None
    is_url: bool = False

    @property
    def callback_data(self) -> str | None:
        """The callback data (None for URL and other buttons)."""
        return None if self.is_url else self.data

    @property
    def url(self) -> str | None:
        """The URL of a URL button."""
        return self.data if self.is_url else None

    def __iter__(self) -> Iterator[Any]:
        # Unpacks as (text, data), so `for text, data in row` reads naturally.
        return iter((self.text, self.data))


@dataclass(frozen=True)
class SimDocument:
    """A document a bot sent, with its bytes (e.g. an .ics file)."""

    filename: str | None
    mime_type: str | None
    data: bytes
    file_id: str

    @property
    def text(self) -> str:
        """The bytes decoded as UTF-8."""
        return self.data.decode("utf-8")


class SimMessage:
    """A live view of a message: reading it gives its current state (edits applied)."""

    def __init__(self, stored: StoredMessage) -> None:
        self._stored = stored

    @property
    def stored(self) -> StoredMessage:
        """The underlying world record."""
        return self._stored

    @property
    def raw(self) -> dict[str, Any]:
        """The Bot API ``Message`` JSON as it stands now."""
        return self._stored.data

    @property
    def message_id(self) -> int:
        """Id within its chat."""
        return self._stored.message_id

    @property
    def chat_id(self) -> int:
        """Id of its chat."""
        return self._stored.chat.id

    @property
    def update_id(self) -> int | None:
        """For a message a simulated person sent: the update that brought it to the (first) bot."""
        ids = self._stored.update_ids
        return next(iter(ids.values())) if ids else None

    @property
    def from_bot(self) -> bool:
        """Whether a bot sent it."""
        return self._stored.from_bot

    @property
    def sender_id(self) -> int:
        """Id of the user or bot who sent it."""
        return self._stored.sender_id

    @property
    def text(self) -> str:
        """Plain text after entity parsing; the caption for media; "" when there is neither."""
        data = self._stored.data
        return str(data.get("text", data.get("caption", "")))

    @property
    def html(self) -> str | None:
        """The text or caption exactly as the bot sent it (before HTML parsing)."""
        return self._stored.raw_text

    @property
    def entities(self) -> list[dict[str, Any]]:
        """Entities of the text or caption."""
        data = self._stored.data
        return list(data.get("entities", data.get("caption_entities", [])))

    @property
    def caption(self) -> str | None:
        """Caption of a media message."""
        value = self._stored.data.get("caption")
        return str(value) if value is not None else None

    @property
    def buttons(self) -> list[list[InlineButton]]:
        """Inline keyboard rows; each button has ``.text`` and ``.data`` and unpacks as (text, data)."""
        return [
            [
                InlineButton(button["text"], button.get("callback_data", button.get("url")), "url" in button)
                for button in row
            ]
            for row in _inline_keyboard(self._stored.data)
        ]

    @property
    def button_texts(self) -> list[str]:
        """Texts of all inline buttons, row by row."""
        return [button.text for row in self.buttons for button in row]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button with exactly this text (KeyError if absent)."""
        for row in _inline_keyboard(self._stored.data):
            for button in row:
                if button["text"] == text:
                    return dict(button)
        raise KeyError(
            f"no inline button {text!r} on message {self.message_id}; buttons: {self.button_texts}"
        )

    @property
    def reply_to(self) -> int | None:
        """Id of the message this one replies to."""
        reply = self._stored.data.get("reply_to_message")
        return int(reply["message_id"]) if reply else None

    @property
    def document(self) -> SimDocument | None:
        """The document and its bytes."""
        document = self._stored.data.get("document")
        if document is None:
            return None
        data = self.file_bytes or b""
        return SimDocument(document.get("file_name"), document.get("mime_type"), data, document["file_id"])

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        """Photo sizes."""
        return self._stored.data.get("photo")

    @property
    def file_bytes(self) -> bytes | None:
        """The bytes of any media of the message."""
        return self._stored.file.data if self._stored.file is not None else None

    @property
    def voice(self) -> dict[str, Any] | None:
        """Voice note."""
        return self._stored.data.get("voice")

    @property
    def sticker(self) -> dict[str, Any] | None:
        """Sticker."""
        return self._stored.data.get("sticker")

    @property
    def location(self) -> dict[str, Any] | None:
        """Location."""
        return self._stored.data.get("location")

    @property
    def thread_id(self) -> int | None:
        """Forum topic."""
        return self._stored.thread_id

    @property
    def date(self) -> int:
        """Unix time it was sent."""
        return int(self._stored.data["date"])

    @property
    def edited(self) -> bool:
        """Whether it was edited."""
        return self._stored.edit_count > 0

    @property
    def edit_count(self) -> int:
        """How many times it was edited."""
        return self._stored.edit_count

    @property
    def deleted(self) -> bool:
        """Whether it was deleted."""
        return self._stored.deleted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimMessage) and other._stored is self._stored

    def __hash__(self) -> int:
        return hash((self.chat_id, self.message_id))

    def __repr__(self) -> str:
        flags = "".join(f" {flag}" for flag in ("edited", "deleted") if getattr(self, flag))
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return f"<SimMessage {self.chat_id}/{self.message_id}{flags} {text!r}{buttons}>"


def _describe(messages: Sequence[SimMessage]) -> str:
    if not messages:
        return "  (none)"
    return "\n".join(f"  {message!r}" for message in messages)


def _as_predicate(pred: MessagePredicate) -> Callable[[SimMessage], bool]:
    if pred is None:
        return lambda message: True
    if isinstance(pred, str):
        needle = pred
        return lambda message: needle in message.text
    return pred


def _wrap(stored: Iterable[StoredMessage]) -> list[SimMessage]:
    return [SimMessage(message) for message in stored]


def _inline_keyboard(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The rows of buttons of a message's inline keyboard (none when it has no keyboard)."""
    return list((data.get("reply_markup") or {}).get("inline_keyboard", []))


async def _wait_until(
    sim: Simulator,
    find: Callable[[], _Found | None],
    timeout: float,  # noqa: ASYNC109
    failure: Callable[[], str],
) -> _Found:
    """What ``find`` returns once it returns something, checked again on every change of the world.

    ``find`` is checked first, so what is already there is returned at once, even with no time left;
    after ``timeout`` seconds without it: TimeoutError with the text ``failure`` gives (called then,
    so it can describe what ``find`` saw last).
    """
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found is not None:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(failure())
        await sim.world.changed.wait(remaining)


class _ChatView:
    """What one observer sees of one chat: bot messages, and the cursor used by waits."""

    def __init__(self, sim: Simulator, chat: Chat, bot_ids: Callable[[], set[int]]) -> None:
        self.sim = sim
        self.chat = chat
        self._bot_ids = bot_ids
        self.action_seq = 0
        self.consumed: set[int] = set()

    def bot_messages(self, *, include_deleted: bool = False) -> list[StoredMessage]:
        bots = self._bot_ids()
        stored = [m for m in self.chat.messages.values() if m.sender_id in bots]
        if include_deleted:
            stored += [m for m in self.sim.deleted_messages(self.chat) if m.sender_id in bots]
        return sorted(stored, key=lambda m: m.seq)

    def _threshold(self, since: Since) -> int:
        if since == "action":
            return self.action_seq
        if since == "now":
            return self.sim.world.next_seq()  # anything stored later has a higher sequence number
        return 0

    async def wait_for_message(self, pred: MessagePredicate, timeout: float, since: Since) -> SimMessage:  # noqa: ASYNC109
        check = _as_predicate(pred)
        threshold = self._threshold(since)
        fresh: list[SimMessage] = []  # what the last look found, for the error message

        def find() -> SimMessage | None:
            fresh[:] = _wrap(
                m for m in self.bot_messages() if m.seq > threshold and m.message_id not in self.consumed
            )
            found = next((message for message in fresh if check(message)), None)
            if found is not None:
                self.consumed.add(found.message_id)
            return found

        def failure() -> str:
            return (
                f"no matching bot message in chat {self.chat.id} within {timeout}s; "
                f"new bot messages since the last action:\n{_describe(fresh)}\n"
                f"all bot messages in the chat:\n"
                f"{_describe(_wrap(self.bot_messages()))}"
            )

        return await _wait_until(self.sim, find, timeout, failure)

    async def wait_for_edit(
        self,
        message: SimMessage | MessagePredicate,
        pred: MessagePredicate,
        timeout: float,  # noqa: ASYNC109
        since: Since,
    ) -> SimMessage:
        if not isinstance(message, SimMessage):
            # wait_for_edit(pred) reads naturally too: the first argument is then the predicate.
            message, pred = None, message if pred is None else pred
        check = _as_predicate(pred)
        threshold = self._threshold(since)
        candidates: list[SimMessage] = []  # what the last look found, for the error message

        def find() -> SimMessage | None:
            candidates[:] = _wrap(
                m
                for m in self.bot_messages(include_deleted=False)
                if m.edit_count
                and m.edit_seq > threshold
                and (message is None or m.message_id == message.message_id)
            )
            return next((candidate for candidate in candidates if check(candidate)), None)

        def failure() -> str:
            return (
                f"no matching edit in chat {self.chat.id} within {timeout}s; "
                "edited since the last action:\n"
                f"{_describe(candidates)}"
            )

        return await _wait_until(self.sim, find, timeout, failure)


class SimBot:
    """A bot registered in the simulator (the account behind a token)."""

    def __init__(self, sim: Simulator, account: BotAccount) -> None:
        self.sim = sim
        self.account = account

    @property
    def id(self) -> int:
        """The bot's user id."""
        return self.account.id

    @property
    def token(self) -> str:
        """Its token."""
        return self.account.token

    @property
    def username(self) -> str:
        """Its username (without @)."""
        return self.account.username

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Commands set with setMyCommands, by (scope, language_code)."""
        return self.account.commands

    @property
    def webhook_url(self) -> str | None:
        """The current webhook, if any."""
        return self.account.webhook.url if self.account.webhook else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        return [update.payload for update in self.account.updates]

    def __repr__(self) -> str:
        return f"<SimBot {self.id} @{self.username}>"


class SimCallbackQuery:
    """A press on an inline button: the query the bot received, and its answer once given."""

    def __init__(self, sim: Simulator, record: CallbackRecord) -> None:
        self.sim = sim
        self.record = record

    @property
    def id(self) -> str:
        """The callback query id."""
        return self.record.id

    @property
    def data(self) -> str | None:
        """The callback data sent."""
        return self.record.data

    @property
    def answer(self) -> AnsweredCallback | None:
        """The answerCallbackQuery call, once made."""
        return self.record.answer

    @property
    def update_id(self) -> int | None:
        """The id of the update that carried the press (None if the bot's filter dropped it)."""
        return self.record.update.update_id if self.record.update else None

    @property
    def handed_at(self) -> float | None:
        """When the bot was handed the press (``time.monotonic()``), None while not yet handed out."""
        return self.record.update.handed_at if self.record.update else None

    @property
    def answered(self) -> bool:
        """Whether the bot answered."""
        return self.record.answer is not None

    @property
    def text(self) -> str | None:
        """The notification or alert text of the answer (None if unanswered or empty)."""
        return self.record.answer.text if self.record.answer else None

    @property
    def show_alert(self) -> bool:
        """Whether the answer was an alert rather than a notification."""
        return bool(self.record.answer and self.record.answer.show_alert)

    @property
    def url(self) -> str | None:
        """The URL of the answer (games, deep links)."""
        return self.record.answer.url if self.record.answer else None

    def __repr__(self) -> str:
        return f"<SimCallbackQuery {self.id} data={self.data!r} answered={self.answered}>"

    async def wait_answered(self, timeout: float = 5.0) -> AnsweredCallback:  # noqa: ASYNC109
        """Wait until the bot answers the query."""
        return await _wait_until(
            self.sim,
            lambda: self.record.answer,
            timeout,
            lambda: f"callback query {self.id} ({self.data!r}) not answered within {timeout}s",
        )


class SimGroup:
    """A group or supergroup with members, optionally a forum."""

    def __init__(self, sim: Simulator, chat: Chat) -> None:
        self.sim = sim
        self.chat = chat
        self.view = _ChatView(sim, chat, lambda: set(sim.world.bots))

    @property
    def id(self) -> int:
        """The chat id (negative)."""
        return self.chat.id

    @property
    def title(self) -> str:
        """The title."""
        return self.chat.title or ""

    @property
    def messages(self) -> list[SimMessage]:
        """Bot messages in the group, current state, deleted ones left out."""
        return _wrap(self.view.bot_messages())

    def messages_from_bot(self, bot: SimBot | None = None) -> list[SimMessage]:
        """Messages of one bot (default: any bot) in the group, as they are now."""
        return [m for m in self.messages if bot is None or m.sender_id == bot.id]

    @property
    def all_messages(self) -> list[SimMessage]:
        """Every message in the group (users' too), in order."""
        return _wrap(self.sim.world.iter_messages(self.chat))

    @property
    def topics(self) -> dict[int, str]:
        """Forum topics: message_thread_id -> name."""
        return {thread_id: topic.name for thread_id, topic in self.chat.topics.items()}

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard shown in the group."""
        return _keyboard_texts(self.chat.reply_keyboard)

    def topic_messages(self, thread_id: int) -> list[SimMessage]:
        """Bot messages in one forum topic."""
        return [message for message in self.messages if message.thread_id == thread_id]

    async def wait_for_message(
        self,
        pred: MessagePredicate = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: Since = "action",
    ) -> SimMessage:
        """Wait for a new bot message in the group (after the last action of any simulated user in it)."""
        return await self.view.wait_for_message(pred, timeout, since)

    async def wait_for_edit(
        self,
        message: SimMessage | MessagePredicate = None,
        pred: MessagePredicate = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: Since = "action",
    ) -> SimMessage:
        """Wait for a bot message in the group (or ``message``) to be edited; ``wait_for_edit(pred)`` too."""
        return await self.view.wait_for_edit(message, pred, timeout, since)

    def status_of(self, member: SimUser | SimBot) -> str:
        """ChatMember status of a user or bot."""
        return self.chat.members.get(member.id, "left")

    def add_member(self, user: SimUser, *, admin: bool = False) -> None:
        """Add a user as member (or administrator)."""
        self.chat.members[user.id] = "administrator" if admin else "member"

    def remove_member(self, user: SimUser) -> None:
        """The user leaves the group."""
        self.chat.members[user.id] = "left"

    def set_bot_membership(self, status: str, bot: SimBot | None = None) -> None:
        """Set a bot's status: "member", "administrator", "left" or "kicked" (the bot gets my_chat_member)."""
        account = _bot_account(self.sim, bot)
        old = self.sim.world.chat_member(self.chat, account.id)
        self.chat.members[account.id] = status
        self.sim.emit_my_chat_member(account, self.chat, old, actor_id=None)

    def __repr__(self) -> str:
        return f"<SimGroup {self.id} {self.chat.type}{' forum' if self.chat.is_forum else ''}>"


def _bot_account(sim: Simulator, bot: SimBot | None) -> BotAccount:
    """The account of ``bot``, or of the simulator's first bot."""
    return (bot or sim.bot).account


def _keyboard_texts(markup: dict[str, Any] | None) -> list[list[str]] | None:
    if not markup:
        return None
    return [[b if isinstance(b, str) else b["text"] for b in row] for row in markup.get("keyboard", [])]


class _Where(NamedTuple):
    """Where a person sends: a group (None: the private chat with ``bot``), a reply, a forum topic."""

    chat: SimGroup | None
    reply_to: SimMessage | int | None
    thread_id: int | None
    bot: SimBot | None


class SimUser:
    """A person with a Telegram account, talking to the bot(s)."""

    def __init__(self, sim: Simulator, account: UserAccount) -> None:
        self.sim = sim
        self.account = account
        self._views: dict[int, _ChatView] = {}

    # --- identity -----------------------------------------------------------------------------------

    @property
    def id(self) -> int:
        """User id (also the id of the private chat with any bot)."""
        return self.account.id

    @property
    def first_name(self) -> str:
        """First name."""
        return self.account.first_name

    @property
    def username(self) -> str | None:
        """Username without @."""
        return self.account.username

    @property
    def language_code(self) -> str | None:
        """IETF language tag sent with updates."""
        return self.account.language_code

    def __repr__(self) -> str:
        return f"<SimUser {self.id}>"

    # --- the private chat ---------------------------------------------------------------------------

    def view(self, bot: SimBot | None = None) -> _ChatView:
        """The private chat with ``bot`` (default: the simulator's first bot)."""
        account = _bot_account(self.sim, bot)
        view = self._views.get(account.id)
        if view is None:
            chat = self.sim.world.private_chat(account, self.account)
            view = _ChatView(self.sim, chat, lambda: {account.id})
            self._views[account.id] = view
        return view

    @property
    def chat(self) -> Chat:
        """The private chat with the default bot."""
        return self.view().chat

    @property
    def messages(self) -> list[SimMessage]:
        """Bot messages of the private chat with the default bot, in order, as they are now, minus deleted."""
        return self.messages_from_bot()

    def messages_from_bot(self, bot: SimBot | None = None) -> list[SimMessage]:
        """Messages of ``bot`` (default: the first bot) in the private chat, as they are now."""
        return _wrap(self.view(bot).bot_messages())

    @property
    def deleted_messages(self) -> list[SimMessage]:
        """Bot messages of the private chat that were deleted."""
        return _wrap(m for m in self.sim.deleted_messages(self.chat) if m.from_bot)

    @property
    def history(self) -> list[SimMessage]:
        """Every message of the private chat with the default bot, both directions."""
        return _wrap(self.sim.world.iter_messages(self.chat))

    @property
    def last_message(self) -> SimMessage | None:
        """The newest bot message of the private chat."""
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the default bot shows (rows of texts), or None."""
        return _keyboard_texts(self.chat.reply_keyboard)

    @property
    def chat_actions(self) -> list[str]:
        """Bot API method ``sendChatAction`` actions the default bot sent here."""
        return [action for _, action in self.chat.actions]

    def block_bot(self, bot: SimBot | None = None) -> None:
        """Block the bot: its sends now fail with 403 (the bot gets a my_chat_member update)."""
        self.sim.set_blocked(self.account, _bot_account(self.sim, bot), blocked=True)

    def unblock_bot(self, bot: SimBot | None = None) -> None:
        """Unblock the bot."""
        self.sim.set_blocked(self.account, _bot_account(self.sim, bot), blocked=False)

    # --- sending ------------------------------------------------------------------------------------

    def _target(self, chat: SimGroup | None, bot: SimBot | None) -> tuple[Chat, _ChatView]:
        if chat is None:
            view = self.view(bot)
            return view.chat, view
        if chat.chat.members.get(self.id) not in ("creator", "administrator", "member", "restricted"):
            raise RuntimeError(f"{self!r} is not a member of {chat!r}")
        return chat.chat, chat.view

    async def _send(
        self,
        content: dict[str, Any],
        where: _Where,
        file_data: tuple[bytes, str, str | None, str | None] | None = None,
    ) -> SimMessage:
        target, view = self._target(where.chat, where.bot)
        reply_to = where.reply_to
        stored = self.sim.user_sends(
            self.account,
            target,
            content,
            reply_to=reply_to.message_id if isinstance(reply_to, SimMessage) else reply_to,
            thread_id=where.thread_id,
            file_data=file_data,
        )
        view.action_seq = stored.seq
        return SimMessage(stored)

    async def _media(
        self,
        where: _Where,
        kind: str,
        data: bytes,
        mime_type: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        **extra: Any,
    ) -> SimMessage:
        content: dict[str, Any] = {"_media": kind, "_extra": extra}
        if caption:
            content["caption"] = caption
            found = detect_entities(caption)
            if found:
                content["caption_entities"] = found
        return await self._send(content, where, (data, kind, filename, mime_type))

    async def send_text(
        self,
        text: str,
        *,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> SimMessage:
        """Type and send a text (commands, mentions and links get their entities like in real clients)."""
        content: dict[str, Any] = {"text": text}
        found = detect_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        return await self._send(content, _Where(chat, reply_to, thread_id, bot))

    async def send_text_in(
        self,
        group: SimGroup,
        text: str,
        *,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
    ) -> SimMessage:
        """Send a text in a group (optionally in a forum topic or as a reply)."""
        return await self.send_text(text, chat=group, reply_to=reply_to, thread_id=thread_id)

    async def reply(self, to: SimMessage, text: str, *, bot: SimBot | None = None) -> SimMessage:
        """Reply to a message of the chat it belongs to."""
        group = self.sim.group_view(to.chat_id)
        return await self.send_text(text, chat=group, reply_to=to, thread_id=to.thread_id, bot=bot)

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        data: bytes = _PHOTO_BYTES,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Send a photo (a tiny JPEG unless ``data`` is given)."""
        where = _Where(chat, reply_to, thread_id, bot)
        return await self._media(where, "photo", data, "image/jpeg", caption=caption)

    async def send_document(
        self,
        filename: str = "file.txt",
        data: bytes = b"",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Send a file."""
        mime = mime_type or "application/octet-stream"
        where = _Where(chat, reply_to, thread_id, bot)
        return await self._media(where, "document", data, mime, caption=caption, filename=filename)

    async def send_voice(
        self,
        duration: int = 3,
        *,
        caption: str | None = None,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Send a voice note."""
        where = _Where(chat, reply_to, thread_id, bot)
        return await self._media(
            where, "voice", _VOICE_BYTES, "audio/ogg", caption=caption, duration=duration
        )

    async def send_sticker(
        self,
        emoji: str = "👍",
        *,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Send a sticker."""
        where = _Where(chat, reply_to, thread_id, bot)
        return await self._media(where, "sticker", _STICKER_BYTES, "image/webp", emoji=emoji)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        *,
        chat: SimGroup | None = None,
        reply_to: SimMessage | int | None = None,
        thread_id: int | None = None,
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Share a location."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self._send(content, _Where(chat, reply_to, thread_id, bot))

    async def edit(self, message: SimMessage, text: str) -> SimMessage:
        """Edit one of the user's own text messages (the bot gets an edited_message update)."""
        if message.sender_id != self.id:
            raise RuntimeError("users can only edit their own messages")
        self.sim.user_edits(self.account, message.stored, text, detect_entities(text))
        return message

    # --- keyboards ----------------------------------------------------------------------------------

    def _find_button(
        self, text: str | None, message: SimMessage | None, callback_data: str | None, view: _ChatView
    ) -> tuple[StoredMessage, dict[str, Any]]:
        candidates = [message.stored] if message is not None else list(reversed(view.bot_messages()))
        for stored in candidates:
            for row in _inline_keyboard(stored.data):
                for button in row:
                    if (text is None or button["text"] == text) and (
                        callback_data is None or button.get("callback_data") == callback_data
                    ):
                        return stored, button
        if message is not None and callback_data is not None and text is None:
            return message.stored, {"text": "", "callback_data": callback_data}  # forged press
        shown = [SimMessage(m).button_texts for m in view.bot_messages() if m.data.get("reply_markup")]
        raise LookupError(
            f"no inline button {text!r} (callback_data={callback_data!r}); buttons shown: {shown}"
        )

    async def press(
        self,
        text: str | None = None,
        *,
        message: SimMessage | None = None,
        callback_data: str | None = None,
        chat: SimGroup | None = None,
        bot: SimBot | None = None,
        wait_answer: bool = True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SimCallbackQuery:
        """Press an inline button: by text on the newest bot message showing it, or on ``message``.

        With ``message`` and ``callback_data`` but no text, forges a press with that data (stale or
        tampered buttons).  URL buttons cannot be pressed this way (LookupError).  Like a phone showing
        its spinner, it waits until the bot answers the query (``wait_answer=False`` returns at once;
        a bot that never answers makes it raise TimeoutError).
        """
        _, view = self._target(chat, bot)
        stored, button = self._find_button(text, message, callback_data, view)
        if "callback_data" not in button:
            raise LookupError(f"button {button['text']!r} is not a callback button: {button}")
        record = self.sim.user_presses(
            self.account, stored, button["callback_data"], bot=_bot_account(self.sim, bot)
        )
        view.action_seq = self.sim.world.next_seq()
        query = SimCallbackQuery(self.sim, record)
        if wait_answer:
            await query.wait_answered(timeout)
        return query

    async def tap(self, text: str, *, chat: SimGroup | None = None, bot: SimBot | None = None) -> SimMessage:
        """Tap a reply-keyboard button currently shown (sends its text)."""
        target, _ = self._target(chat, bot)
        markup = target.reply_keyboard
        shown = _keyboard_texts(markup) or []
        if not any(text in row for row in shown):
            raise LookupError(f"no reply keyboard button {text!r}; keyboard shown: {shown or None}")
        if markup and markup.get("one_time_keyboard"):
            target.reply_keyboard = None
        return await self.send_text(text, chat=chat, bot=bot, entities=[])

    async def open_link(self, url: str, *, bot: SimBot | None = None) -> SimMessage:
        """Open a ``https://t.me/<bot>?start=<payload>`` link (typed, tapped, or scanned from a QR code).

        Telegram opens the private chat with that bot and sends ``/start <payload>`` on the person's
        behalf, with a ``bot_command`` entity on ``/start`` only. A payload Telegram would refuse
        (over 64 characters, or other than ``A-Z a-z 0-9 _ -``) is dropped: the chat opens with a
        bare ``/start``. A link to an unknown bot raises LookupError.
        """
        parsed = urllib.parse.urlsplit(url)
        username = parsed.path.strip("/")
        if parsed.scheme not in ("https", "http") or parsed.netloc.lower() not in ("t.me", "telegram.me"):
            raise LookupError(f"not a Telegram link: {url!r}")
        found = next((b for b in self.sim.bots if b.username.lower() == username.lower()), None)
        if found is None or (bot is not None and found.id != bot.id):
            raise LookupError(f"no bot @{username} here")
        bot = found
        payload = urllib.parse.parse_qs(parsed.query).get("start", [""])[0]
        text = "/start"
        if _DEEP_LINK_PAYLOAD.fullmatch(payload):
            text = f"/start {payload}"
        entities = [{"type": "bot_command", "offset": 0, "length": len("/start")}]
        return await self.send_text(text, bot=bot, entities=entities)

    # --- waiting ------------------------------------------------------------------------------------

    async def wait_for_message(
        self,
        pred: MessagePredicate = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: Since = "action",
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Wait for a bot message in the private chat matching ``pred`` (callable or substring).

        ``since``: "action" (default) looks at messages after this user's last action, "now" only at
        messages arriving from now on, "all" at every message; each message is returned once.
        """
        return await self.view(bot).wait_for_message(pred, timeout, since)

    async def wait_for_edit(
        self,
        message: SimMessage | MessagePredicate = None,
        pred: MessagePredicate = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: Since = "action",
        bot: SimBot | None = None,
    ) -> SimMessage:
        """Wait for a bot message of the private chat (or ``message``) to be edited after the last action.

        ``wait_for_edit(pred)`` works too: a callable or string first argument is the predicate.
        """
        return await self.view(bot).wait_for_edit(message, pred, timeout, since)
