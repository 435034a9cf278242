"""``Simulator``: one simulated Telegram (state, Bot API, HTTP server) and the entry point for tests.

It owns the ``World`` (state), the ``BotApi`` (methods), the ``SimServer`` (HTTP) and the records tests
assert on (``violations``, ``rate_limited``, ``requests``, ...).  What people do (send, press, block) goes
through ``user_sends`` and friends here, which store the message and queue the updates each bot would get,
applying Telegram's privacy mode in groups.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from aiohttp import web

from simulator.client import SimBot, SimGroup, SimMessage, SimUser
from simulator.limits import RateLimitConfig, RateLimiter
from simulator.methods import BotApi, CallbackRecord, admin_rights
from simulator.records import AnsweredCallback, RateLimitRecord, RequestRecord, Violation
from simulator.server import SimServer
from simulator.spec import ApiSpec
from simulator.world import BotAccount, Chat, MessageEvent, StoredMessage, UserAccount, World, now_unix

__all__ = ["Simulator"]

logger = logging.getLogger(__name__)

_ACTIVE = ("creator", "administrator", "member", "restricted")


class Simulator:
    """A local Telegram Bot API server plus simulated users, groups and bots."""

    def __init__(
        self,
        latency: float = 0.0,
        rate_limits: bool = True,
        spec_path: str | os.PathLike[str] | None = None,
        *,
        strict_ampersand: bool = True,
        rate_limit_config: RateLimitConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.latency = latency
        self.spec = ApiSpec.load(spec_path)
        self.world = World()
        limiter_args: dict[str, Any] = {"config": rate_limit_config or RateLimitConfig()}
        if clock is not None:
            limiter_args["clock"] = clock
        self._limiter = RateLimiter(**limiter_args)
        self.api = BotApi(
            self.world, self.spec, self._limiter if rate_limits else None, strict_ampersand=strict_ampersand
        )
        self.server = SimServer(self)
        self.api.webhook_changed = self.server.webhook_changed
        self.api.stubbed = self._record_stub
        self.violations: list[Violation] = []
        self.unsupported: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.internal_errors: list[str] = []
        self._bots: list[SimBot] = []
        self._groups: dict[int, SimGroup] = {}
        self._deleted: dict[tuple[int, int | None], list[StoredMessage]] = {}
        self.world.message_listeners.append(self._remember_deleted)
        self._host = "127.0.0.1"

    # --- records ------------------------------------------------------------------------------------

    @property
    def rate_limited(self) -> list[RateLimitRecord]:
        """Sends refused with 429."""
        return self.api.rate_limited

    @property
    def answered_callbacks(self) -> list[AnsweredCallback]:
        """Bot API method ``answerCallbackQuery`` calls, in order."""
        return self.api.answered_callbacks

    @property
    def rate_limits(self) -> bool:
        """Whether flood limits are enforced (can be switched at any time)."""
        return self.api.limiter is not None

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self.api.limiter = self._limiter if enabled else None

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        """Callback queries the bot never answered (the button keeps spinning on a phone)."""
        return [record for record in self.api.callbacks.values() if record.answer is None]

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every request that broke the specification."""
        if self.violations or self.internal_errors:
            lines = [f"{v.method}: {v.description}" for v in self.violations]
            lines += [f"simulator failure in {method}" for method in self.internal_errors]
            raise AssertionError("Bot API violations:\n" + "\n".join(lines))

    def _record_stub(self, bot: BotAccount, method: str, params: dict[str, Any]) -> None:
        self.unsupported.append(Violation(method, "stubbed: returned True without effect", params))

    # --- setup --------------------------------------------------------------------------------------

    def add_bot(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - a fake token for the local simulator
        username: str = "hackbot_test_bot",
        first_name: str = "Hackbot",
        *,
        privacy_mode: bool = True,
    ) -> SimBot:
        """Register a bot; the first one is the default for users' actions (``sim.bot``)."""
        bot = SimBot(self, self.world.add_bot(token, username, first_name, privacy_mode=privacy_mode))
        self._bots.append(bot)
        return bot

    @property
    def bot(self) -> SimBot:
        """The first bot added."""
        if not self._bots:
            raise RuntimeError("no bot: call sim.add_bot() first")
        return self._bots[0]

    @property
    def bots(self) -> list[SimBot]:
        """All bots."""
        return list(self._bots)

    def add_user(
        self,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SimUser:
        """A new person with a unique positive id."""
        return SimUser(self, self.world.add_user(first_name, last_name, username, language_code))

    def add_group(
        self,
        title: str,
        members: Iterable[SimUser] = (),
        admins: Iterable[SimUser] = (),
        *,
        owner: SimUser | None = None,
        is_forum: bool = False,
        bot_member: bool = True,
        bot_admin: bool | None = None,
        supergroup: bool = True,
        bot: SimBot | None = None,
        bot_rights: dict[str, bool] | None = None,
    ) -> SimGroup:
        """A group with members; the owner (default: first admin) has status "creator".

        ``bot_admin`` defaults to True for forums (creating topics needs it) and False otherwise; an admin
        bot sees every message, a member bot in privacy mode only commands and replies to it.
        """
        chat = self.world.add_group(title, supergroup=supergroup, is_forum=is_forum)
        admins = list(admins)
        for user in members:
            chat.members[user.id] = "member"
        for user in admins:
            chat.members[user.id] = "administrator"
        creator = owner or (admins[0] if admins else None)
        if creator is not None:
            chat.members[creator.id] = "creator"
        if bot_member:
            account = (bot or self.bot).account
            is_admin = is_forum if bot_admin is None else bot_admin
            chat.members[account.id] = "administrator" if is_admin else "member"
            if is_admin:
                chat.bot_rights[account.id] = admin_rights(**(bot_rights or {}))
        group = SimGroup(self, chat)
        self._groups[chat.id] = group
        return group

    def group_view(self, chat_id: int) -> SimGroup | None:
        """The SimGroup of a group id (None for private chats)."""
        return self._groups.get(chat_id)

    def on_message(self, listener: Callable[[SimMessage, MessageEvent], None]) -> None:
        """Call ``listener(message, "new" | "edited" | "deleted")`` on every stored message change.

        The hook for a live view (e.g. the rehearsal web chat); exceptions in it are logged and ignored.
        """
        self.world.message_listeners.append(lambda stored, event: listener(SimMessage(stored), event))

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Extra HTTP routes served beside the Bot API (call before ``start``)."""
        self.server.add_routes(routes)

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the Bot API; ``port=0`` picks a free port."""
        self._host = host
        self.api.closing = False
        await self.server.start(host, port)
        logger.info("Telegram simulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving (pending long polls are answered first, so shutdown does not wait for them)."""
        self.api.closing = True
        for bot in self.world.bots.values():
            bot.updates_signal.fire()
        await self.server.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        if self.server.port is None:
            raise RuntimeError("the simulator is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.server.port}"

    @property
    def api_url(self) -> str:
        """PTB's ``base_url`` (the token is appended to it)."""
        return self.base_url + "/bot"

    @property
    def file_url(self) -> str:
        """PTB's ``base_file_url``."""
        return self.base_url + "/file/bot"

    # --- what people do -----------------------------------------------------------------------------

    def _remember_deleted(self, stored: StoredMessage, event: MessageEvent) -> None:
        if event == "deleted":
            self._deleted.setdefault((stored.chat.id, stored.chat.bot_id), []).append(stored)

    def deleted_messages(self, chat: Chat) -> list[StoredMessage]:
        """Messages deleted from a chat, in order of deletion."""
        return list(self._deleted.get((chat.id, chat.bot_id), []))

    def _receivers(self, chat: Chat, stored: StoredMessage) -> list[BotAccount]:
        """Bots that get an update for a message in ``chat`` (privacy mode applied in groups)."""
        if chat.is_private:
            assert chat.bot_id is not None
            return [self.world.bots[chat.bot_id]]
        return [
            bot
            for bot_id, status in chat.members.items()
            if (bot := self.world.bots.get(bot_id)) is not None
            and status in _ACTIVE
            and bot_id != stored.sender_id
            and self._sees(bot, chat, stored, status)
        ]

    def _sees(self, bot: BotAccount, chat: Chat, stored: StoredMessage, status: str) -> bool:
        if not bot.privacy_mode or status in ("creator", "administrator"):
            return True
        data = stored.data
        reply = data.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == bot.id:
            return True
        text = data.get("text", "")
        for entity in data.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                if "@" in command:
                    return command.split("@", 1)[1].lower() == bot.username.lower()
                # A bare /command goes to bots in privacy mode only when it cannot mean another bot.
                others = [
                    b
                    for b in chat.members
                    if b in self.world.bots and b != bot.id and chat.members[b] in _ACTIVE
                ]
                return not others or self._last_bot_sender(chat) == bot.id
        return False

    def _last_bot_sender(self, chat: Chat) -> int | None:
        for stored in sorted(chat.messages.values(), key=lambda m: m.seq, reverse=True):
            if stored.from_bot:
                return stored.sender_id
        return None

    def user_sends(
        self,
        user: UserAccount,
        chat: Chat,
        content: dict[str, Any],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        file_data: tuple[bytes, str, str | None, str | None] | None = None,
    ) -> StoredMessage:
        """Store a message from a person and queue the updates bots get for it."""
        if chat.is_private:
            assert chat.bot_id is not None
            if chat.bot_id in user.blocked_bots:
                raise RuntimeError("the user blocked this bot; call unblock_bot() first")
            user.started_bots.add(chat.bot_id)
        if thread_id is not None:
            topic = chat.topics.get(thread_id)
            if topic is None:
                raise ValueError(f"no forum topic {thread_id} in chat {chat.id}")
        reply_message = None
        if reply_to is not None:
            reply_message = chat.messages.get(reply_to)
            if reply_message is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
        content = dict(content)
        stored_file = None
        kind = content.pop("_media", None)
        extra = content.pop("_extra", {})
        if kind is not None and file_data is not None:
            data, file_kind, filename, mime_type = file_data
            stored_file = self.world.store_file(data, file_kind, filename=filename, mime_type=mime_type)
            content.update(self.api.media_content(stored_file, kind, extra))
        stored = self.world.store_message(
            chat, user.id, content, thread_id=thread_id, reply_to=reply_message, file=stored_file
        )
        for bot in self._receivers(chat, stored):
            update = self.world.enqueue_update(bot, "message", stored.data, chat_key=chat.id)
            if update is not None:
                stored.update_ids[bot.id] = update.update_id
        return stored

    def user_edits(
        self, user: UserAccount, stored: StoredMessage, text: str, entities: list[dict[str, Any]]
    ) -> None:
        """A person edits their text message; bots that saw it get ``edited_message``."""
        changes: dict[str, Any] = {"text": text}
        if entities:
            changes["entities"] = entities
        self.world.edit_message(stored, changes, drop=() if entities else ("entities",))
        for bot in self._receivers(stored.chat, stored):
            self.world.enqueue_update(bot, "edited_message", stored.data, chat_key=stored.chat.id)

    def user_presses(
        self, user: UserAccount, stored: StoredMessage, data: str, *, bot: BotAccount
    ) -> CallbackRecord:
        """A person presses an inline button; the bot that sent the message gets ``callback_query``."""
        if stored.from_bot:
            bot = self.world.bots[stored.sender_id]
        if stored.chat.is_private and bot.id in user.blocked_bots:
            raise RuntimeError("the user blocked this bot; call unblock_bot() first")
        record = CallbackRecord(self.world.next_callback_id(), bot.id, user.id, stored, data)
        self.api.callbacks[record.id] = record
        payload = {
            "id": record.id,
            "from": user.to_user(),
            "message": stored.data,
            "chat_instance": str(abs(hash((stored.chat.id, bot.id))) % 10**18),
            "data": data,
        }
        record.update = self.world.enqueue_update(bot, "callback_query", payload, chat_key=stored.chat.id)
        return record

    def set_blocked(self, user: UserAccount, bot: BotAccount, *, blocked: bool) -> None:
        """Block or unblock a bot; the bot gets ``my_chat_member`` like on Telegram."""
        chat = self.world.private_chat(bot, user)
        old = self.world.chat_member(chat, bot.id)
        if blocked:
            user.blocked_bots.add(bot.id)
        else:
            user.blocked_bots.discard(bot.id)
        chat.members[bot.id] = "kicked" if blocked else "member"
        if bot.id in user.started_bots:
            self.emit_my_chat_member(bot, chat, old, actor_id=user.id)

    def emit_my_chat_member(
        self, bot: BotAccount, chat: Chat, old: dict[str, Any], actor_id: int | None
    ) -> None:
        """Queue ``my_chat_member`` after the bot's status in ``chat`` changed."""
        if actor_id is None:
            ranked = sorted(
                (m for m, s in chat.members.items() if m in self.world.users),
                key=lambda m: (
                    ("creator", "administrator", "member").index(chat.members[m])
                    if chat.members[m] in ("creator", "administrator", "member")
                    else 3
                ),
            )
            actor_id = ranked[0] if ranked else bot.id
        payload = {
            "chat": self.world.chat_json(chat),
            "from": self.world.actor(actor_id),
            "date": now_unix(),
            "old_chat_member": old,
            "new_chat_member": self.world.chat_member(chat, bot.id),
        }
        self.world.enqueue_update(bot, "my_chat_member", payload, chat_key=chat.id)

    @contextmanager
    def one_poll(self, bot: SimBot | None = None) -> Iterator[None]:
        """Hold the bot's updates while the block runs, then hand them out together.

        What people do inside the block (presses with ``wait_answer=False``, messages) reaches the
        bot in ONE ``getUpdates`` answer (up to its ``limit``, 100 by default, like Telegram), or in
        one go to its webhook: a room of people tapping within the same instant.
        """
        account = (bot or self.bot).account
        account.updates_held = True
        try:
            yield
        finally:
            account.updates_held = False
            account.updates_signal.fire()

    def redeliver(self, update_id: int, bot: SimBot | None = None) -> None:
        """Deliver an update again, with the same update_id (Telegram does so when unsure it was received)."""
        account = (bot or self.bot).account
        original = account.history.get(update_id)
        if original is None:
            raise KeyError(f"bot {account.id} never had update {update_id}")
        again = copy.copy(original)
        again.payload = copy.deepcopy(original.payload)
        again.forced, again.delivered, again.attempts, again.retry_at = True, False, 0, 0.0
        account.updates.append(again)
        account.updates_signal.fire()

    def updates_for(self, bot: SimBot | None = None) -> Sequence[dict[str, Any]]:
        """Every update ever queued for a bot, in order."""
        account = (bot or self.bot).account
        return [account.history[key].payload for key in sorted(account.history)]
