"""What the web chat's JSON API says about messages, keyboards and files (pure functions, no HTTP).

Messages are sent to the page as plain text plus Telegram's entities (UTF-16 offsets, which is how
JavaScript counts string positions too): the page builds DOM nodes from them and never parses HTML,
so a name like ``<b>`` in a message can only ever show as text.
"""

from __future__ import annotations

from typing import Any

from simulator.client import detect_entities
from simulator.world import Chat, StoredFile, StoredMessage, World

__all__ = [
    "FILES_PATH",
    "INLINE_MIME_TYPES",
    "command_scopes",
    "file_url",
    "keyboard_json",
    "message_json",
    "sender_name",
]

FILES_PATH = "/webchat/api/files/"

# Files the page may show inline (an <img>); everything else is only offered as a download, so a
# document sent as text/html or image/svg+xml can never run in the page's origin.
INLINE_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# What Telegram finds by itself in a bot's message (links, commands, addresses) and clients draw
# as clickable, unless the bot's own entities already cover that text.
_DETECTED = frozenset({"url", "bot_command", "email"})
_LINK_LIKE = frozenset({"url", "text_link", "email", "bot_command", "code", "pre", "mention", "text_mention"})

_MEDIA_KINDS = ("photo", "document", "voice", "audio", "video", "animation", "video_note", "sticker")
_SNIPPET = 120


def file_url(file_id: str) -> str:
    """Where the page downloads a stored file."""
    return FILES_PATH + file_id


def sender_name(world: World, sender_id: int) -> str:
    """A user's first and last name, or a bot's name."""
    user = world.users.get(sender_id)
    if user is not None:
        return " ".join(part for part in (user.first_name, user.last_name) if part)
    bot = world.bots.get(sender_id)
    return bot.first_name if bot is not None else str(sender_id)


def _snippet(data: dict[str, Any]) -> str:
    text = str(data.get("text") or data.get("caption") or "")
    if not text:
        for kind in (*_MEDIA_KINDS, "location"):
            if kind in data:
                return f"[{kind}]"
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _media(stored: StoredMessage) -> dict[str, Any] | None:
    data = stored.data
    kind = next((k for k in _MEDIA_KINDS if k in data), None)
    if kind is None:
        if "location" in data:
            location = data["location"]
            return {"kind": "location", "latitude": location["latitude"], "longitude": location["longitude"]}
        return None
    described = data[kind][-1] if kind == "photo" else data[kind]
    stored_file: StoredFile | None = stored.file
    media: dict[str, Any] = {
        "kind": kind,
        "file_id": described["file_id"],
        "size": described.get("file_size", 0),
        "file_name": described.get("file_name"),
        "mime_type": described.get("mime_type") or (stored_file.mime_type if stored_file else None),
        "url": None,
        "external_url": None,
    }
    if kind == "sticker":
        media["emoji"] = described.get("emoji")
    if stored_file is not None and stored_file.url and not stored_file.data:
        # Sent by URL: the simulator never downloads it, the page shows a link instead of the file.
        media["external_url"] = stored_file.url
    elif stored_file is not None:
        media["url"] = file_url(described["file_id"])
        media["inline"] = kind in ("photo", "sticker") or (stored_file.mime_type or "") in INLINE_MIME_TYPES
    return media


def _buttons(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = data.get("reply_markup") or {}
    rows = []
    for row in markup.get("inline_keyboard", []):
        buttons = []
        for button in row:
            if "callback_data" in button:
                buttons.append({"text": button["text"], "kind": "callback"})
            elif "url" in button:
                buttons.append({"text": button["text"], "kind": "url", "url": button["url"]})
            else:
                buttons.append({"text": button["text"], "kind": "other"})
        rows.append(buttons)
    return rows


def message_json(world: World, stored: StoredMessage) -> dict[str, Any]:
    """A message as the page shows it: sender, text and entities, media, inline buttons, reply."""
    data = stored.data
    reply = data.get("reply_to_message")
    reply_json = None
    if reply is not None:
        reply_json = {
            "id": reply["message_id"],
            "from_name": sender_name(world, reply["from"]["id"]) if reply.get("from") else "",
            "text": _snippet(reply),
        }
    text = str(data.get("text", data.get("caption", "")))
    entities = list(data.get("entities", data.get("caption_entities", [])))
    return {
        "id": stored.message_id,
        "chat_id": stored.chat.id,
        "date": data["date"],
        "from": {
            "id": stored.sender_id,
            "name": sender_name(world, stored.sender_id),
            "is_bot": stored.from_bot,
        },
        "text": text,
        "entities": _with_detected(text, entities) if stored.from_bot else entities,
        "media": _media(stored),
        "buttons": _buttons(data),
        "reply_to": reply_json,
        "thread_id": stored.thread_id,
        "edited": stored.edit_count > 0,
    }


def keyboard_json(chat: Chat) -> dict[str, Any] | None:
    """The reply keyboard the chat shows (rows of button texts), or None."""
    markup = chat.reply_keyboard
    if not markup or "keyboard" not in markup:
        return None
    return {
        "rows": [[b if isinstance(b, str) else b["text"] for b in row] for row in markup["keyboard"]],
        "placeholder": markup.get("input_field_placeholder"),
        "one_time": bool(markup.get("one_time_keyboard")),
        "persistent": bool(markup.get("is_persistent")),
    }


def _with_detected(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bot's entities plus the links and commands Telegram detects in its text by itself.

    A detected one is kept when it overlaps no link-like entity and lies wholly inside (or outside)
    each formatting entity, so the page can nest it.
    """
    found = list(entities)
    for candidate in detect_entities(text):
        if candidate["type"] not in _DETECTED:
            continue
        start, end = candidate["offset"], candidate["offset"] + candidate["length"]
        clash = False
        for entity in entities:
            e_start, e_end = entity["offset"], entity["offset"] + entity["length"]
            if e_end <= start or end <= e_start:
                continue
            inside = e_start <= start and end <= e_end
            if entity["type"] in _LINK_LIKE or not inside:
                clash = True
                break
        if not clash:
            found.append(candidate)
    return sorted(found, key=lambda entity: entity["offset"])


def command_scopes(user_id: int, group_id: int | None) -> list[str]:
    """The `setMyCommands` scopes Telegram tries, narrowest first, for a user in a chat.

    Keys as the simulator stores them (`type:chat_id:user_id`). In each scope the user's language
    comes before the commands set without a language; the first scope with commands wins.
    Group administrators' scope is not tried: personas are not group administrators.
    """
    if group_id is None:
        return [f"chat:{user_id}", "all_private_chats", "default"]
    return [f"chat_member:{group_id}:{user_id}", f"chat:{group_id}", "all_group_chats", "default"]
