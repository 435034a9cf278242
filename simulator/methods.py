"""The Bot API methods of the simulator, run against ``World`` after the call was validated.

Each method receives the bot and the converted parameters (see ``spec.ApiSpec.validate_call``) and returns
the ``result`` of the answer, or raises ``ApiError`` with Telegram's code and text.  Errors that mean the bot
broke a documented rule are raised with ``kind="violation"`` so that tests fail on them; refusals Telegram
gives for legitimate runtime reasons (blocked, chat not found, not modified, ...) are ``kind="runtime"``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.html import EntityParseError, ParsedText, parse_text, utf16_len
from simulator.limits import RateLimiter
from simulator.records import AnsweredCallback, ApiError, RateLimitRecord, bad_request, forbidden
from simulator.spec import ApiSpec, Upload
from simulator.world import (
    ADMIN_RIGHTS,
    DEFAULT_ALLOWED_UPDATES,
    TOPIC_ICON_COLORS,
    BotAccount,
    Chat,
    PendingUpdate,
    StoredFile,
    StoredMessage,
    Topic,
    Webhook,
    World,
)

__all__ = ["BotApi", "CallbackRecord"]

logger = logging.getLogger(__name__)

Handler = Callable[[BotAccount, dict[str, Any]], Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
CALLBACK_ANSWER_WINDOW = 15 * 60  # seconds before Telegram calls a callback query "too old"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Methods that put something in a chat and are subject to the flood limits.
RATE_LIMITED_PREFIXES = ("send", "copymessage", "forwardmessage", "editmessage")
_MEDIA_KINDS = ("photo", "document", "voice", "sticker", "video", "audio", "animation", "video_note")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


@dataclass
class CallbackRecord:
    """A callback query a user sent, and its answer once the bot gave one."""

    id: str
    bot_id: int
    user_id: int
    message: StoredMessage | None
    data: str | None
    created: float = field(default_factory=time.monotonic)
    answer: AnsweredCallback | None = None
    update: PendingUpdate | None = None  # the callback_query update that carried it


def is_rate_limited(method: str) -> bool:
    """Whether a method counts against the flood limits (sendChatAction does not)."""
    lowered = method.lower()
    return lowered.startswith(RATE_LIMITED_PREFIXES) and lowered != "sendchataction"


class BotApi:
    """Implements Bot API methods on a ``World``."""

    def __init__(
        self,
        world: World,
        spec: ApiSpec,
        limiter: RateLimiter | None,
        *,
        strict_ampersand: bool = True,
    ) -> None:
        self.world = world
        self.spec = spec
        self.limiter = limiter
        self.strict_ampersand = strict_ampersand
        self.closing = False  # set on shutdown: long polls return at once instead of holding the server
        self.rate_limited: list[RateLimitRecord] = []
        self.answered_callbacks: list[AnsweredCallback] = []
        self.callbacks: dict[str, CallbackRecord] = {}
        # Hooks set by the Simulator: a webhook was set or removed; a valid method was only stubbed.
        self.webhook_changed: Callable[[BotAccount], None] = lambda bot: None
        self.stubbed: Callable[[BotAccount, str, dict[str, Any]], None] = lambda bot, method, params: None
        self._handlers: dict[str, Handler] = {
            "getMe": lambda bot, p: bot.to_me(),
            "logOut": lambda bot, p: True,
            "close": lambda bot, p: True,
            "getWebhookInfo": self.get_webhook_info,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "sendMessage": self.send_message,
            "sendPhoto": lambda bot, p: self.send_media(bot, p, "photo"),
            "sendDocument": lambda bot, p: self.send_media(bot, p, "document"),
            "sendVoice": lambda bot, p: self.send_media(bot, p, "voice"),
            "sendSticker": lambda bot, p: self.send_media(bot, p, "sticker"),
            "sendVideo": lambda bot, p: self.send_media(bot, p, "video"),
            "sendAudio": lambda bot, p: self.send_media(bot, p, "audio"),
            "sendAnimation": lambda bot, p: self.send_media(bot, p, "animation"),
            "sendVideoNote": lambda bot, p: self.send_media(bot, p, "video_note"),
            "sendLocation": self.send_location,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "copyMessage": self.copy_message,
            "copyMessages": self.copy_messages,
            "forwardMessage": self.forward_message,
            "forwardMessages": self.forward_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "createForumTopic": self.create_forum_topic,
            "editForumTopic": self.edit_forum_topic,
            "closeForumTopic": lambda bot, p: self._set_topic_closed(bot, p, closed=True),
            "reopenForumTopic": lambda bot, p: self._set_topic_closed(bot, p, closed=False),
            "deleteForumTopic": self.delete_forum_topic,
            "getFile": self.get_file,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": lambda bot, p: self._set_text(bot, p, "description"),
            "getMyDescription": lambda bot, p: {"description": self._get_text(bot, p, "description")},
            "setMyShortDescription": lambda bot, p: self._set_text(bot, p, "short_description"),
            "getMyShortDescription": lambda bot, p: {
                "short_description": self._get_text(bot, p, "short_description")
            },
            "setMyName": lambda bot, p: self._set_text(bot, p, "name"),
            "getMyName": lambda bot, p: {"name": self._get_text(bot, p, "name") or bot.first_name},
        }
        self._async_handlers: dict[str, Callable[[BotAccount, dict[str, Any]], Awaitable[Any]]] = {
            "getUpdates": self.get_updates,
        }

    def supports(self, method: str) -> bool:
        """Whether the simulator implements ``method`` (its spec spelling)."""
        return method in self._handlers or method in self._async_handlers

    async def call(self, bot: BotAccount, method: str, params: dict[str, Any]) -> Any:
        """Run one validated call."""
        if method in self._async_handlers:
            return await self._async_handlers[method](bot, params)
        handler = self._handlers.get(method)
        if handler is None:
            returns = self.spec.methods[method].returns
            if returns in (("Boolean",), ("True",)):
                # Valid but not simulated: answer like a success, and let tests see that it happened.
                logger.info("bot %s: %s is stubbed by the simulator (returns True)", bot.id, method)
                self.stubbed(bot, method, params)
                return True
            raise bad_request(f"method {method} is not supported by the simulator", kind="unsupported")
        return handler(bot, params)

    # --- chats and access ---------------------------------------------------------------------------

    def resolve_chat(self, bot: BotAccount, chat_id: int | str) -> Chat:
        """The chat a bot means by ``chat_id``; 400 "chat not found" like Telegram when it cannot see it."""
        if isinstance(chat_id, str):
            # Only public supergroups and channels have @usernames, and the simulator has none.
            raise bad_request("chat not found")
        if chat_id > 0:
            if chat_id in self.world.bots:
                raise forbidden("bot can't send messages to bots")
            user = self.world.users.get(chat_id)
            # A bot can only see a private chat once the user started it.
            if user is None or bot.id not in user.started_bots:
                raise bad_request("chat not found")
            return self.world.private_chat(bot, user)
        chat = self.world.groups.get(chat_id)
        if chat is None or chat.members.get(bot.id) in (None, "left"):
            if chat is not None and chat.members.get(bot.id) == "left":
                raise forbidden(f"bot is not a member of the {_group_word(chat)} chat")
            raise bad_request("chat not found")
        return chat

    def check_can_send(self, bot: BotAccount, chat: Chat) -> None:
        """403s for blocked bots and bots outside the group."""
        if chat.is_private:
            assert chat.user_id is not None
            if bot.id in self.world.users[chat.user_id].blocked_bots:
                raise forbidden("bot was blocked by the user")
            return
        status = chat.members.get(bot.id)
        if status == "kicked":
            raise forbidden(f"bot was kicked from the {_group_word(chat)} chat")
        if status not in ("creator", "administrator", "member", "restricted"):
            raise forbidden(f"bot is not a member of the {_group_word(chat)} chat")

    def _send_target(self, bot: BotAccount, params: dict[str, Any], method: str) -> Chat:
        chat = self.resolve_chat(bot, params["chat_id"])
        self.check_can_send(bot, chat)
        self._check_rate(bot, chat, method)
        return chat

    def _check_rate(self, bot: BotAccount, chat: Chat, method: str, *, edit: bool = False) -> None:
        if self.limiter is None or (edit and not self.limiter.config.count_edits):
            return
        retry_after = self.limiter.check(bot.id, chat.id, chat.is_private)
        if retry_after:
            self.rate_limited.append(RateLimitRecord(time.monotonic(), bot.id, method, chat.id, retry_after))
            logger.info(
                "bot %s: %s to chat %s refused, retry after %ss", bot.id, method, chat.id, retry_after
            )
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
            )

    def _consume_rate(self, bot: BotAccount, chat: Chat, *, edit: bool = False) -> None:
        if self.limiter is not None and not (edit and not self.limiter.config.count_edits):
            self.limiter.consume(bot.id, chat.id, chat.is_private)

    def _thread(self, chat: Chat, params: dict[str, Any]) -> int | None:
        thread_id = params.get("message_thread_id")
        if thread_id is None or not chat.is_forum:
            # Outside forums Telegram ignores the parameter.
            return None
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise bad_request("message thread not found")
        if topic.closed:
            raise bad_request("TOPIC_CLOSED")
        return thread_id

    def _reply_target(self, bot: BotAccount, chat: Chat, params: dict[str, Any]) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = chat
        if "chat_id" in reply and reply["chat_id"] != chat.id:
            target_chat = self.resolve_chat(bot, reply["chat_id"])
        message = target_chat.messages.get(reply["message_id"])
        if message is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message

    # --- text, markup, files ------------------------------------------------------------------------

    def parse(self, text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> ParsedText:
        """Parse text like Telegram; entities, when given, take precedence over parse_mode."""
        try:
            return parse_text(
                text,
                None if entities else parse_mode,
                entities=entities,
                strict_ampersand=self.strict_ampersand,
                resolve_user=self.world.actor,
            )
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}", kind="violation") from None
        except LookupError:
            if parse_mode and parse_mode.lower() == "markdown":
                raise bad_request(
                    "legacy Markdown parse mode is not supported by the simulator", "unsupported"
                ) from None
            raise bad_request(f"unsupported parse_mode {parse_mode!r}", kind="violation") from None

    def _message_text(self, params: dict[str, Any]) -> ParsedText:
        parsed = self.parse(params["text"], params.get("parse_mode"), params.get("entities"))
        if not parsed.text:
            raise bad_request("message text is empty", kind="violation")
        if utf16_len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long", kind="violation")
        return parsed

    def _caption(self, params: dict[str, Any]) -> ParsedText | None:
        if params.get("caption") is None:
            return None
        parsed = self.parse(params["caption"], params.get("parse_mode"), params.get("caption_entities"))
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise bad_request("message caption is too long", kind="violation")
        return parsed

    def _apply_markup(self, chat: Chat, params: dict[str, Any], content: dict[str, Any]) -> None:
        """Inline keyboards become part of the message; reply keyboards change what the chat shows."""
        markup = params.get("reply_markup")
        if not markup:
            return
        if "inline_keyboard" in markup:
            content["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        elif "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def resolve_file(self, value: Any, kind: str, params: dict[str, Any]) -> StoredFile:
        """An uploaded file, attach:// part, URL or file_id, as a stored file."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get("_uploads", {}).get(value[len("attach://") :])
        if isinstance(value, Upload):
            return self.world.store_file(
                value.data, kind, filename=value.filename, mime_type=value.content_type
            )
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified", kind="violation")
        if value.startswith(("http://", "https://")):
            # Telegram would download it; the simulator keeps the URL and no bytes.
            return self.world.store_file(b"", kind, filename=value.rsplit("/", 1)[-1] or None, url=value)
        stored = self.world.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and kind != "document":
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def media_content(self, stored: StoredFile, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """The Message field describing a media file."""
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if kind == "photo":
            thumb_id = stored.file_id + "_s"
            thumb = {
                **base,
                "file_id": thumb_id,
                "file_size": min(len(stored.data), 1024),
                "width": 90,
                "height": 90,
            }
            self.world.files.setdefault(thumb_id, stored)
            return {"photo": [thumb, {**base, "width": 1280, "height": 960}]}
        if kind == "document":
            return {
                "document": {
                    **base,
                    "file_name": stored.filename or "document",
                    "mime_type": stored.mime_type or "application/octet-stream",
                }
            }
        if kind == "voice":
            return {"voice": {**base, "duration": params.get("duration", 1), "mime_type": "audio/ogg"}}
        if kind == "sticker":
            return {
                "sticker": {
                    **base,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": params.get("emoji", "🙂"),
                }
            }
        if kind in ("video", "animation"):
            return {kind: {**base, "width": 640, "height": 360, "duration": params.get("duration", 1)}}
        if kind == "audio":
            return {"audio": {**base, "duration": params.get("duration", 1)}}
        return {"video_note": {**base, "length": 240, "duration": params.get("duration", 1)}}

    # --- sending ------------------------------------------------------------------------------------

    def _deliver(
        self,
        bot: BotAccount,
        chat: Chat,
        params: dict[str, Any],
        content: dict[str, Any],
        *,
        raw_text: str | None,
        file: StoredFile | None = None,
    ) -> StoredMessage:
        thread_id = self._thread(chat, params)
        reply_to = self._reply_target(bot, chat, params)
        self._apply_markup(chat, params, content)
        message = self.world.store_message(
            chat,
            bot.id,
            content,
            thread_id=thread_id,
            reply_to=reply_to,
            raw_text=raw_text,
            parse_mode=params.get("parse_mode"),
            file=file,
        )
        self._consume_rate(bot, chat)
        return message

    def send_message(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``sendMessage``."""
        parsed = self._message_text(params)
        chat = self._send_target(bot, params, "sendMessage")
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        link_preview = params.get("link_preview_options")
        if link_preview:
            content["link_preview_options"] = link_preview
        return self._deliver(bot, chat, params, content, raw_text=params["text"]).data

    def send_media(self, bot: BotAccount, params: dict[str, Any], kind: str) -> dict[str, Any]:
        """Bot API method ``sendPhoto``, sendDocument, sendVoice, sendSticker, sendVideo, ..."""
        caption = self._caption(params)
        chat = self._send_target(bot, params, f"send{kind}")
        stored = self.resolve_file(params[kind], kind, params)
        content = self.media_content(stored, kind, params)
        if caption is not None and caption.text:
            content["caption"] = caption.text
            if caption.entities:
                content["caption_entities"] = caption.entities
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._deliver(bot, chat, params, content, raw_text=params.get("caption"), file=stored).data

    def send_location(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``sendLocation``."""
        if not (-90 <= params["latitude"] <= 90 and -180 <= params["longitude"] <= 180):
            raise bad_request("wrong location coordinates", kind="violation")
        chat = self._send_target(bot, params, "sendLocation")
        content = {"location": {"latitude": params["latitude"], "longitude": params["longitude"]}}
        return self._deliver(bot, chat, params, content, raw_text=None).data

    def send_chat_action(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``sendChatAction``: recorded on the chat for tests."""
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request", kind="violation")
        chat = self.resolve_chat(bot, params["chat_id"])
        self.check_can_send(bot, chat)
        chat.actions.append((time.monotonic(), params["action"]))
        return True

    # --- editing and deleting -----------------------------------------------------------------------

    def _own_message(self, bot: BotAccount, params: dict[str, Any], what: str = "edit") -> StoredMessage:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the simulator", kind="unsupported")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("chat_id and message_id are required", kind="violation")
        chat = self.resolve_chat(bot, params["chat_id"])
        message = chat.messages.get(params["message_id"])
        if message is None:
            raise bad_request(f"message to {what} not found")
        if what == "edit":
            self.check_can_send(bot, chat)
            if message.sender_id != bot.id:
                raise bad_request("message can't be edited")
        return message

    def edit_message_text(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``editMessageText``; like Telegram, no reply_markup removes the inline keyboard."""
        if "text" not in params:
            raise bad_request("text is required", kind="violation")
        parsed = self._message_text(params)
        message = self._own_message(bot, params)
        if "text" not in message.data:
            raise bad_request("there is no text in the message to edit")
        markup = _inline_markup(params)
        same = (
            message.data.get("text") == parsed.text
            and message.data.get("entities", []) == parsed.entities
            and message.data.get("reply_markup") == markup
        )
        if same:
            raise bad_request(_NOT_MODIFIED)
        self._check_rate(bot, message.chat, "editMessageText", edit=True)
        changes: dict[str, Any] = {"text": parsed.text}
        drop = ["entities", "reply_markup"]
        if parsed.entities:
            changes["entities"] = parsed.entities
        if markup:
            changes["reply_markup"] = markup
        message.raw_text = params["text"]
        message.parse_mode = params.get("parse_mode")
        self.world.edit_message(message, changes, drop=tuple(k for k in drop if k not in changes))
        self._consume_rate(bot, message.chat, edit=True)
        return message.data

    def edit_message_caption(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``editMessageCaption``."""
        caption = self._caption({**params, "caption": params.get("caption", "")})
        message = self._own_message(bot, params)
        if not any(kind in message.data for kind in _MEDIA_KINDS):
            raise bad_request("there is no caption in the message to edit")
        new_caption = caption.text if caption else ""
        new_entities = caption.entities if caption else []
        markup = _inline_markup(params)
        if (
            message.data.get("caption", "") == new_caption
            and message.data.get("caption_entities", []) == new_entities
            and message.data.get("reply_markup") == markup
        ):
            raise bad_request(_NOT_MODIFIED)
        self._check_rate(bot, message.chat, "editMessageCaption", edit=True)
        changes: dict[str, Any] = {}
        if new_caption:
            changes["caption"] = new_caption
        if new_entities:
            changes["caption_entities"] = new_entities
        if markup:
            changes["reply_markup"] = markup
        message.raw_text = params.get("caption")
        self.world.edit_message(
            message,
            changes,
            drop=tuple(k for k in ("caption", "caption_entities", "reply_markup") if k not in changes),
        )
        self._consume_rate(bot, message.chat, edit=True)
        return message.data

    def edit_message_reply_markup(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``editMessageReplyMarkup`` (no markup: removes the keyboard)."""
        message = self._own_message(bot, params)
        markup = _inline_markup(params)
        if message.data.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        self._check_rate(bot, message.chat, "editMessageReplyMarkup", edit=True)
        if markup:
            self.world.edit_message(message, {"reply_markup": markup})
        else:
            self.world.edit_message(message, {}, drop=("reply_markup",))
        self._consume_rate(bot, message.chat, edit=True)
        return message.data

    def _can_delete(self, bot: BotAccount, message: StoredMessage) -> bool:
        chat = message.chat
        if chat.is_private or message.sender_id == bot.id:
            return True
        if chat.members.get(bot.id) != "administrator":
            return False
        return bool(chat.bot_rights.get(bot.id, {}).get("can_delete_messages", True))

    def delete_message(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``deleteMessage``."""
        message = self._own_message(bot, params, what="delete")
        if not self._can_delete(bot, message):
            raise bad_request("message can't be deleted")
        self.world.delete_message(message)
        return True

    def delete_messages(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``deleteMessages``: missing messages are skipped, like Telegram does."""
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers", kind="violation")
        chat = self.resolve_chat(bot, params["chat_id"])
        for message_id in ids:
            message = chat.messages.get(message_id)
            if message is not None and self._can_delete(bot, message):
                self.world.delete_message(message)
        return True

    # --- copying and forwarding ---------------------------------------------------------------------

    def _source(self, bot: BotAccount, params: dict[str, Any], message_id: int, what: str) -> StoredMessage:
        source_chat = self.resolve_chat(bot, params["from_chat_id"])
        message = source_chat.messages.get(message_id)
        if message is None:
            raise bad_request(f"message to {what} not found")
        return message

    def _copied_content(self, message: StoredMessage, params: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "text",
            "entities",
            "caption",
            "caption_entities",
            "location",
            "has_media_spoiler",
            *_MEDIA_KINDS,
        )
        content = {key: message.data[key] for key in keys if key in message.data}
        if not content:
            raise bad_request("message can't be copied")
        if "caption" in params and any(kind in content for kind in _MEDIA_KINDS):
            caption = self._caption(params)
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if caption is not None and caption.text:
                content["caption"] = caption.text
                if caption.entities:
                    content["caption_entities"] = caption.entities
        return content

    def copy_message(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``copyMessage``: a new message with the same content and no link to the original."""
        source = self._source(bot, params, params["message_id"], "copy")
        content = self._copied_content(source, params)
        chat = self._send_target(bot, params, "copyMessage")
        copy = self._deliver(bot, chat, params, content, raw_text=source.raw_text, file=source.file)
        return {"message_id": copy.message_id}

    def copy_messages(self, bot: BotAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Bot API method ``copyMessages``: skips missing messages."""
        result = []
        for message_id in _ordered_ids(params["message_ids"]):
            try:
                source = self._source(bot, params, message_id, "copy")
            except ApiError:
                continue
            content = self._copied_content(source, {})
            chat = self._send_target(bot, params, "copyMessages")
            copy = self._deliver(bot, chat, params, content, raw_text=source.raw_text, file=source.file)
            result.append({"message_id": copy.message_id})
        return result

    def _forward_one(
        self, bot: BotAccount, params: dict[str, Any], source: StoredMessage, method: str
    ) -> StoredMessage:
        content = self._copied_content(source, {})
        origin_sender = self.world.actor(source.sender_id)
        if source.chat.is_private or origin_sender is not None:
            content["forward_origin"] = {
                "type": "user",
                "date": source.data["date"],
                "sender_user": origin_sender,
            }
        chat = self._send_target(bot, params, method)
        return self._deliver(bot, chat, params, content, raw_text=source.raw_text, file=source.file)

    def forward_message(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``forwardMessage``."""
        source = self._source(bot, params, params["message_id"], "forward")
        return self._forward_one(bot, params, source, "forwardMessage").data

    def forward_messages(self, bot: BotAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Bot API method ``forwardMessages``: skips missing messages."""
        result = []
        for message_id in _ordered_ids(params["message_ids"]):
            try:
                source = self._source(bot, params, message_id, "forward")
            except ApiError:
                continue
            result.append(
                {"message_id": self._forward_one(bot, params, source, "forwardMessages").message_id}
            )
        return result

    # --- callbacks ----------------------------------------------------------------------------------

    def answer_callback_query(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``answerCallbackQuery``: once per query, within Telegram's window."""
        record = self.callbacks.get(params["callback_query_id"])
        if (
            record is None
            or record.bot_id != bot.id
            or record.answer is not None
            or time.monotonic() - record.created > CALLBACK_ANSWER_WINDOW
        ):
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        record.answer = AnsweredCallback(
            callback_query_id=record.id,
            user_id=record.user_id,
            data=record.data,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            time=time.monotonic(),
        )
        self.answered_callbacks.append(record.answer)
        self.world.changed.fire()
        return True

    # --- commands, menu, descriptions ---------------------------------------------------------------

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        parts = [scope["type"], str(scope.get("chat_id", "")), str(scope.get("user_id", ""))]
        return ":".join(parts).rstrip(":"), params.get("language_code") or ""

    def set_my_commands(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``setMyCommands``."""
        _check_language(params)
        bot.commands[self._scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in params["commands"]
        ]
        return True

    def get_my_commands(self, bot: BotAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Bot API method ``getMyCommands``: the commands of exactly that scope and language."""
        return list(bot.commands.get(self._scope_key(params), []))

    def delete_my_commands(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``deleteMyCommands``."""
        bot.commands.pop(self._scope_key(params), None)
        return True

    def set_chat_menu_button(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``setChatMenuButton`` (default for all private chats when chat_id is omitted)."""
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self.resolve_chat(bot, chat_id)
        bot.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    def get_chat_menu_button(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``getChatMenuButton``."""
        chat_id = params.get("chat_id")
        return bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(None) or {"type": "commands"}

    def _set_text(self, bot: BotAccount, params: dict[str, Any], key: str) -> bool:
        _check_language(params)
        bot.descriptions[(key, params.get("language_code") or "")] = params.get(key) or ""
        return True

    def _get_text(self, bot: BotAccount, params: dict[str, Any], key: str) -> str:
        return bot.descriptions.get((key, params.get("language_code") or ""), "")

    # --- chats and members --------------------------------------------------------------------------

    def get_chat(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``getChat``."""
        return self.world.chat_full_info(self.resolve_chat(bot, params["chat_id"]))

    def get_chat_member(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``getChatMember``."""
        chat = self.resolve_chat(bot, params["chat_id"])
        user_id = params["user_id"]
        if self.world.actor(user_id) is None:
            raise bad_request("user not found")
        if chat.is_private and user_id not in chat.members:
            raise bad_request("user not found")
        return self.world.chat_member(chat, user_id)

    def get_chat_administrators(self, bot: BotAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Bot API method ``getChatAdministrators``."""
        chat = self.resolve_chat(bot, params["chat_id"])
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        return [
            self.world.chat_member(chat, member_id)
            for member_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    def get_chat_member_count(self, bot: BotAccount, params: dict[str, Any]) -> int:
        """Bot API method ``getChatMemberCount``."""
        chat = self.resolve_chat(bot, params["chat_id"])
        return sum(
            1
            for status in chat.members.values()
            if status in ("creator", "administrator", "member", "restricted")
        )

    # --- forum topics -------------------------------------------------------------------------------

    def _forum(self, bot: BotAccount, params: dict[str, Any]) -> Chat:
        chat = self.resolve_chat(bot, params["chat_id"])
        self.check_can_send(bot, chat)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        rights = chat.bot_rights.get(bot.id, {})
        if chat.members.get(bot.id) != "administrator" or not rights.get("can_manage_topics", True):
            raise bad_request("not enough rights to manage topics")
        return chat

    def create_forum_topic(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``createForumTopic``: the topic's id is the id of its service message."""
        color = params.get("icon_color", TOPIC_ICON_COLORS[0])
        if color not in TOPIC_ICON_COLORS:
            raise bad_request(
                "TOPIC_ICON_COLOR_INVALID: icon_color must be one of the listed colors", "violation"
            )
        chat = self._forum(bot, params)
        message_id = chat.allocate_message_id()
        topic = Topic(
            message_id, params["name"], color, params.get("icon_custom_emoji_id"), creator_id=bot.id
        )
        chat.topics[message_id] = topic
        created: dict[str, Any] = {"name": topic.name, "icon_color": topic.icon_color}
        if topic.icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        self.world.store_message(
            chat,
            bot.id,
            {"forum_topic_created": created, "message_thread_id": message_id, "is_topic_message": True},
            message_id=message_id,
        )
        return topic.to_forum_topic()

    def _topic(self, bot: BotAccount, params: dict[str, Any]) -> tuple[Chat, Topic]:
        chat = self._forum(bot, params)
        topic = chat.topics.get(params["message_thread_id"])
        if topic is None:
            raise bad_request("message thread not found")
        return chat, topic

    def edit_forum_topic(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``editForumTopic``."""
        _, topic = self._topic(bot, params)
        if "name" in params:
            if not 1 <= len(params["name"]) <= 128:
                raise bad_request("topic name must be 1-128 characters long", kind="violation")
            topic.name = params["name"]
        if "icon_custom_emoji_id" in params:
            topic.icon_custom_emoji_id = params["icon_custom_emoji_id"] or None
        return True

    def _set_topic_closed(self, bot: BotAccount, params: dict[str, Any], *, closed: bool) -> bool:
        _, topic = self._topic(bot, params)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        return True

    def delete_forum_topic(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``deleteForumTopic``: the topic and all its messages go."""
        chat, topic = self._topic(bot, params)
        for message in list(chat.messages.values()):
            if message.thread_id == topic.message_thread_id:
                self.world.delete_message(message)
        del chat.topics[topic.message_thread_id]
        return True

    # --- files --------------------------------------------------------------------------------------

    def get_file(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``getFile``: the download path under /file/bot<token>/."""
        stored = self.world.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": params["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # --- updates and webhooks -----------------------------------------------------------------------

    @staticmethod
    def _allowed(params: dict[str, Any], bot: BotAccount) -> None:
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            # An empty list means "all the default ones", not "none".
            bot.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES

    async def get_updates(self, bot: BotAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Bot API method ``getUpdates``: offset confirms, long polling wakes as soon as an update arrives."""
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        self._allowed(params, bot)
        bot.poll_generation += 1
        generation = bot.poll_generation
        bot.updates_signal.fire()  # wakes an older long poll, which then ends with a conflict
        limit = params.get("limit", 100)
        deadline = time.monotonic() + max(0, min(params.get("timeout", 0), 50))
        self.confirm(bot, params.get("offset"))
        while True:
            if bot.poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                    "is running",
                )
            batch = self.pending_batch(bot, limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self.closing:
                return [update.payload for update in batch]
            await bot.updates_signal.wait(remaining)

    @staticmethod
    def confirm(bot: BotAccount, offset: int | None) -> None:
        """Forget confirmed updates (those before ``offset``) and redeliveries already handed out."""
        updates = [u for u in bot.updates if not (u.forced and u.delivered)]
        if offset is not None and offset < 0:
            updates = updates[offset:]
        elif offset is not None:
            updates = [u for u in updates if u.forced or u.update_id >= offset]
        bot.updates = updates

    @staticmethod
    def pending_batch(bot: BotAccount, limit: int) -> list[PendingUpdate]:
        """Up to ``limit`` updates: redeliveries first, so the bot's next offset does not go backwards."""
        if bot.updates_held:
            return []
        forced = [u for u in bot.updates if u.forced and not u.delivered]
        normal = sorted((u for u in bot.updates if not u.forced), key=lambda u: u.update_id)
        batch = (forced + normal)[:limit]
        handed = time.monotonic()
        for update in batch:
            update.delivered = True
            if update.handed_at is None:
                update.handed_at = handed
        return batch

    def get_webhook_info(self, bot: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API method ``getWebhookInfo``."""
        info: dict[str, Any] = {
            "url": bot.webhook.url if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if bot.webhook is not None:
            info["max_connections"] = bot.webhook.max_connections
            if bot.allowed_updates != DEFAULT_ALLOWED_UPDATES:
                info["allowed_updates"] = sorted(bot.allowed_updates)
            if bot.webhook.last_error_date:
                info["last_error_date"] = bot.webhook.last_error_date
                info["last_error_message"] = bot.webhook.last_error_message
        return info

    def set_webhook(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``setWebhook``: an empty URL removes it; HTTP URLs are allowed for local tests."""
        url = params["url"]
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters", kind="violation")
        max_connections = params.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise bad_request("max_connections must be between 1 and 100", kind="violation")
        if url and not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook", kind="violation")
        self._allowed(params, bot)
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        bot.webhook = Webhook(url, secret, max_connections, params.get("ip_address")) if url else None
        bot.poll_generation += 1  # a running getUpdates ends with a conflict
        bot.updates_signal.fire()
        self.webhook_changed(bot)
        return True

    def delete_webhook(self, bot: BotAccount, params: dict[str, Any]) -> bool:
        """Bot API method ``deleteWebhook`` (drop_pending_updates honoured)."""
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        bot.webhook = None
        self.webhook_changed(bot)
        return True


def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _ordered_ids(ids: list[int]) -> list[int]:
    if not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must contain 1-100 identifiers", kind="violation")
    if ids != sorted(ids):
        raise bad_request("message identifiers must be in strictly increasing order", kind="violation")
    return ids


def _check_language(params: dict[str, Any]) -> None:
    code = params.get("language_code")
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise bad_request("language_code must be a two-letter ISO 639-1 code", kind="violation")


def _group_word(chat: Chat) -> str:
    return "supergroup" if chat.type == "supergroup" else "group"


def admin_rights(**overrides: bool) -> dict[str, bool]:
    """All administrator rights, with overrides (used when adding admins to groups)."""
    return {**dict.fromkeys(ADMIN_RIGHTS, True), **overrides}
