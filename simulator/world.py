"""The simulated Telegram world: bots, users, chats, messages, files and the update queues.

Everything here is plain state plus builders for the Bot API JSON objects (``User``, ``Chat``, ``Message``,
``ChatMember`` ...).  Methods of the Bot API live in ``methods.py``, the HTTP side in ``server.py`` and the
test-facing wrappers in ``client.py``.

Private chats are kept per (bot, user) pair, because each bot has its own conversation with a user while
Telegram gives the chat the user's id.  Group chats are shared by all bots that are members.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_ALLOWED_UPDATES",
    "BotAccount",
    "Chat",
    "ChatKind",
    "PendingUpdate",
    "StoredFile",
    "StoredMessage",
    "Topic",
    "UserAccount",
    "World",
]

logger = logging.getLogger(__name__)

ChatKind = Literal["private", "group", "supergroup"]
MessageEvent = Literal["new", "edited", "deleted"]

# Telegram's default when allowed_updates is empty or was never given.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
TOPIC_ICON_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)


def now_unix() -> int:
    """Telegram dates are whole Unix seconds."""
    return int(time.time())


class Signal:
    """A change notification that synchronous code can fire and coroutines can await without polling."""

    def __init__(self) -> None:
        self.version = 0
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        """Wake every current waiter."""
        self.version += 1
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Wait for the next ``fire``; False on timeout."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class StoredFile:
    """A file known to the simulated Telegram: uploaded by a bot or sent by a user."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str
    file_path: str
    filename: str | None = None
    mime_type: str | None = None
    url: str | None = None  # set when a bot sent it by URL (the simulator never downloads)


@dataclass
class PendingUpdate:
    """An update waiting to be confirmed by the bot."""

    update_id: int
    payload: dict[str, Any]
    chat_key: int | None = None  # updates of one chat are pushed to a webhook in order
    forced: bool = False  # a redelivery that ignores the offset once
    delivered: bool = False
    attempts: int = 0
    retry_at: float = 0.0
    handed_at: float | None = None  # monotonic time a getUpdates answer (or the webhook) first carried it


@dataclass
class Webhook:
    """An active webhook of one bot."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotAccount:
    """A bot: its identity, settings and its update queue."""

    id: int
    token: str
    username: str
    first_name: str
    privacy_mode: bool = True
    can_join_groups: bool = True
    updates: list[PendingUpdate] = field(default_factory=list)
    history: dict[int, PendingUpdate] = field(
        default_factory=dict
    )  # every update ever queued, for redelivery
    next_update_id: int = 1
    updates_signal: Signal = field(default_factory=Signal)
    allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
    webhook: Webhook | None = None
    poll_generation: int = 0
    # While set, no update is handed out (getUpdates waits, the webhook pusher too): the updates
    # queued meanwhile then go out together, as Telegram does after a burst (`Simulator.one_poll`).
    updates_held: bool = False
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    default_admin_rights: dict[bool, dict[str, Any]] = field(default_factory=dict)

    def to_user(self) -> dict[str, Any]:
        """The bot as a ``User`` object."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def to_me(self) -> dict[str, Any]:
        """The bot as getMe returns it."""
        return {
            **self.to_user(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


@dataclass
class UserAccount:
    """A human Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    started_bots: set[int] = field(default_factory=set)
    blocked_bots: set[int] = field(default_factory=set)

    def to_user(self) -> dict[str, Any]:
        """The user as a ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Topic:
    """A forum topic of a supergroup."""

    message_thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    creator_id: int | None = None
    closed: bool = False

    def to_forum_topic(self) -> dict[str, Any]:
        """As a ``ForumTopic`` object."""
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass
class StoredMessage:
    """A message in a chat, with its current Bot API JSON and what tests need besides."""

    chat: Chat
    message_id: int
    sender_id: int
    from_bot: bool
    data: dict[str, Any]
    seq: int
    raw_text: str | None = None  # the text or caption as the bot sent it (HTML before parsing)
    parse_mode: str | None = None
    file: StoredFile | None = None
    edit_count: int = 0
    edit_seq: int = 0
    deleted: bool = False
    update_ids: dict[int, int] = field(default_factory=dict)  # bot id -> update that carried it

    @property
    def thread_id(self) -> int | None:
        """The forum topic of the message."""
        value = self.data.get("message_thread_id")
        return value if isinstance(value, int) else None


@dataclass
class Chat:
    """A private chat of one bot with one user, or a group shared by members."""

    id: int
    type: ChatKind
    title: str | None = None
    is_forum: bool = False
    bot_id: int | None = None  # private chats: the bot of this conversation
    user_id: int | None = None  # private chats: the user
    members: dict[int, str] = field(default_factory=dict)  # user or bot id -> ChatMember status
    bot_rights: dict[int, dict[str, bool]] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    topics: dict[int, Topic] = field(default_factory=dict)
    reply_keyboard: dict[str, Any] | None = None
    actions: list[tuple[float, str]] = field(default_factory=list)

    @property
    def is_private(self) -> bool:
        """Whether this is a one-to-one chat with a bot."""
        return self.type == "private"

    def allocate_message_id(self) -> int:
        """Message ids increase per chat."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)


class World:
    """All state of the simulated Telegram."""

    def __init__(self) -> None:
        self.bots: dict[int, BotAccount] = {}
        self.bots_by_token: dict[str, BotAccount] = {}
        self.users: dict[int, UserAccount] = {}
        self.private_chats: dict[tuple[int, int], Chat] = {}
        self.groups: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.changed = Signal()
        self.message_listeners: list[Callable[[StoredMessage, MessageEvent], None]] = []
        self._seq = itertools.count(1)
        self._user_ids = itertools.count(1_000_001)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._callback_ids = itertools.count(1)

    # --- identities ---------------------------------------------------------------------------------

    def next_seq(self) -> int:
        """A global, increasing change counter (orders messages and edits for waits)."""
        return next(self._seq)

    def add_bot(self, token: str, username: str, first_name: str, *, privacy_mode: bool = True) -> BotAccount:
        """Register a bot; its id is the number before the colon of the token when there is one."""
        if token in self.bots_by_token:
            raise ValueError("a bot with this token already exists")
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() and ":" in token else next(self._bot_ids)
        bot = BotAccount(bot_id, token, username, first_name, privacy_mode=privacy_mode)
        self.bots[bot_id] = bot
        self.bots_by_token[token] = bot
        return bot

    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> UserAccount:
        """Register a user with a fresh positive id."""
        user = UserAccount(next(self._user_ids), first_name, last_name, username, language_code)
        self.users[user.id] = user
        return user

    def add_group(self, title: str, *, supergroup: bool = True, is_forum: bool = False) -> Chat:
        """A group (small negative id) or supergroup (-100… id)."""
        number = next(self._group_ids)
        if supergroup or is_forum:
            chat = Chat(id=-1_001_000_000_000 - number, type="supergroup", title=title, is_forum=is_forum)
        else:
            chat = Chat(id=-4_000_000_000 - number, type="group", title=title)
        self.groups[chat.id] = chat
        return chat

    def private_chat(self, bot: BotAccount, user: UserAccount) -> Chat:
        """The conversation of ``bot`` with ``user`` (created on first use)."""
        key = (bot.id, user.id)
        chat = self.private_chats.get(key)
        if chat is None:
            chat = Chat(id=user.id, type="private", bot_id=bot.id, user_id=user.id)
            chat.members = {user.id: "member", bot.id: "member"}
            self.private_chats[key] = chat
        return chat

    def find_user(self, user_id: int) -> UserAccount | None:
        """A user by id."""
        return self.users.get(user_id)

    def actor(self, actor_id: int) -> dict[str, Any] | None:
        """A ``User`` object for a user or bot id."""
        if actor_id in self.users:
            return self.users[actor_id].to_user()
        if actor_id in self.bots:
            return self.bots[actor_id].to_user()
        return None

    # --- JSON builders ------------------------------------------------------------------------------

    def chat_json(self, chat: Chat) -> dict[str, Any]:
        """The ``Chat`` object as messages carry it."""
        if chat.is_private:
            assert chat.user_id is not None
            user = self.users[chat.user_id]
            data: dict[str, Any] = {"id": chat.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
            return data
        data = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.is_forum:
            data["is_forum"] = True
        return data

    def chat_full_info(self, chat: Chat) -> dict[str, Any]:
        """The ``ChatFullInfo`` object getChat returns."""
        return {
            **self.chat_json(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def chat_member(self, chat: Chat, member_id: int) -> dict[str, Any]:
        """The ``ChatMember`` object for a user or bot in ``chat``."""
        user = self.actor(member_id) or {"id": member_id, "is_bot": False, "first_name": "Deleted Account"}
        status = chat.members.get(member_id, "left")
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = chat.bot_rights.get(member_id) or dict.fromkeys(ADMIN_RIGHTS, True)
            data: dict[str, Any] = {"status": "administrator", "user": user, "can_be_edited": False}
            data["is_anonymous"] = False
            data.update({right: bool(rights.get(right, False)) for right in ADMIN_RIGHTS})
            if chat.type == "group":
                data.pop("can_manage_topics", None)
            return data
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": status, "user": user}

    # --- messages -----------------------------------------------------------------------------------

    def store_message(
        self,
        chat: Chat,
        sender_id: int,
        content: dict[str, Any],
        *,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        file: StoredFile | None = None,
        message_id: int | None = None,
    ) -> StoredMessage:
        """Create a message in ``chat`` from a content dict (text/entities, photo, ...)."""
        message_id = message_id if message_id is not None else chat.allocate_message_id()
        from_bot = sender_id in self.bots
        data: dict[str, Any] = {
            "message_id": message_id,
            "from": self.actor(sender_id),
            "chat": self.chat_json(chat),
            "date": now_unix(),
        }
        if thread_id is not None:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
            topic_root = chat.messages.get(thread_id)
            if reply_to is None and topic_root is not None:
                # In a topic, a message that is not an explicit reply replies to the topic's first message.
                reply_to = topic_root
        if reply_to is not None:
            data["reply_to_message"] = _without_reply(reply_to.data)
        data.update(content)
        message = StoredMessage(
            chat=chat,
            message_id=message_id,
            sender_id=sender_id,
            from_bot=from_bot,
            data=data,
            seq=self.next_seq(),
            raw_text=raw_text,
            parse_mode=parse_mode,
            file=file,
        )
        chat.messages[message_id] = message
        self._announce(message, "new")
        return message

    def edit_message(
        self, message: StoredMessage, changes: dict[str, Any], *, drop: tuple[str, ...] = ()
    ) -> None:
        """Apply an edit (new fields, removed fields) and stamp ``edit_date``."""
        for key in drop:
            message.data.pop(key, None)
        message.data.update(changes)
        message.data["edit_date"] = now_unix()
        message.edit_count += 1
        message.edit_seq = self.next_seq()
        self._announce(message, "edited")

    def delete_message(self, message: StoredMessage) -> None:
        """Mark a message deleted and remove it from its chat."""
        message.deleted = True
        message.edit_seq = self.next_seq()
        message.chat.messages.pop(message.message_id, None)
        self._announce(message, "deleted")

    def _announce(self, message: StoredMessage, event: MessageEvent) -> None:
        for listener in list(self.message_listeners):
            try:
                listener(message, event)
            except Exception:
                # A broken listener (e.g. the web UI) must never break the API the bot talks to.
                logger.exception("message listener failed for message %s", message.message_id)
        self.changed.fire()

    def iter_messages(self, chat: Chat) -> Iterator[StoredMessage]:
        """Messages of a chat in order."""
        return iter(sorted(chat.messages.values(), key=lambda m: m.message_id))

    # --- files --------------------------------------------------------------------------------------

    def store_file(
        self,
        data: bytes,
        kind: str,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        """Keep a file and give it a file_id, a file_unique_id and a download path."""
        number = next(self._file_counter)
        digest = hashlib.sha256(data + str(number).encode()).hexdigest()
        file_id = f"SIM{kind[:3].upper()}{number:06d}{digest[:24]}"
        extension = _extension(kind, filename)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"U{digest[:15]}",
            data=data,
            kind=kind,
            file_path=f"{kind}s/file_{number}{extension}",
            filename=filename,
            mime_type=mime_type,
            url=url,
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def next_callback_id(self) -> str:
        """A fresh callback query id (Telegram's are long decimal strings)."""
        return f"{next(self._callback_ids) + 4_000_000_000_000_000_000}"

    # --- updates ------------------------------------------------------------------------------------

    def enqueue_update(
        self, bot: BotAccount, kind: str, payload: dict[str, Any], chat_key: int | None = None
    ) -> PendingUpdate | None:
        """Queue an update for ``bot`` unless its ``allowed_updates`` filter it out."""
        if kind not in bot.allowed_updates:
            logger.debug("bot %s: %s update filtered by allowed_updates", bot.id, kind)
            return None
        # A snapshot: later edits of the stored message must not change an update already queued.
        snapshot = copy.deepcopy(payload)
        update = PendingUpdate(
            bot.next_update_id, {"update_id": bot.next_update_id, kind: snapshot}, chat_key
        )
        bot.next_update_id += 1
        bot.updates.append(update)
        bot.history[update.update_id] = update
        bot.updates_signal.fire()
        return update


def _without_reply(data: dict[str, Any]) -> dict[str, Any]:
    """Telegram does not nest reply_to_message further than one level."""
    return {key: value for key, value in data.items() if key != "reply_to_message"}


def _extension(kind: str, filename: str | None) -> str:
    if filename and "." in filename:
        return "." + filename.rsplit(".", 1)[1]
    return {"photo": ".jpg", "voice": ".oga", "sticker": ".webp", "video": ".mp4", "audio": ".mp3"}.get(
        kind, ""
    )
