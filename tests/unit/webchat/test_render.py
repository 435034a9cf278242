"""What the web chat's API says about messages and keyboards (pure rendering, no HTTP)."""

from __future__ import annotations

from simulator.webchat.render import command_scopes, file_url, keyboard_json, message_json
from simulator.world import World


def make_world():
    world = World()
    bot = world.add_bot("123:TOKEN", "hackbot_test_bot", "Hackbot")
    user = world.add_user("Zoé", "<b>Martin</b>", language_code="fr")
    chat = world.private_chat(bot, user)
    return world, bot, user, chat


def test_text_entities_buttons_and_reply() -> None:
    """Text stays plain with its entities; buttons say what they are; a reply quotes a snippet."""
    world, bot, user, chat = make_world()
    question = world.store_message(chat, user.id, {"text": "Où est la salle ? " + "x" * 200})
    markup = {
        "inline_keyboard": [
            [{"text": "✅ Oui", "callback_data": "q:yes"}, {"text": "Site", "url": "https://example.org"}],
            [{"text": "Jeu", "callback_game": {}}],
        ]
    }
    answer = world.store_message(
        chat,
        bot.id,
        {
            "text": "<b> au fond",
            "entities": [{"type": "bold", "offset": 0, "length": 3}],
            "reply_markup": markup,
        },
        reply_to=question,
    )
    body = message_json(world, answer)
    assert body["text"] == "<b> au fond" and body["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert body["from"] == {"id": bot.id, "name": "Hackbot", "is_bot": True}
    assert body["buttons"] == [
        [
            {"text": "✅ Oui", "kind": "callback"},
            {"text": "Site", "kind": "url", "url": "https://example.org"},
        ],
        [{"text": "Jeu", "kind": "other"}],
    ]
    assert "callback_data" not in str(body)  # the page presses by position, never sends data itself
    reply = body["reply_to"]
    assert reply["id"] == question.message_id and reply["from_name"] == "Zoé <b>Martin</b>"
    assert len(reply["text"]) == 120 and reply["text"].endswith("…")
    assert body["media"] is None and body["edited"] is False


def test_media_inline_only_for_plain_images() -> None:
    """Photos are shown; an HTML or SVG document is only a download; a photo sent by URL is a link."""
    world, bot, user, chat = make_world()
    html = world.store_file(b"<script>", "document", filename="plan.html", mime_type="text/html")
    document = world.store_message(
        chat,
        bot.id,
        {
            "document": {
                "file_id": html.file_id,
                "file_unique_id": "u",
                "file_name": "plan.html",
                "mime_type": "text/html",
            }
        },
        file=html,
    )
    media = message_json(world, document)["media"]
    assert media["kind"] == "document" and media["inline"] is False and media["url"] == file_url(html.file_id)
    assert media["file_name"] == "plan.html"

    jpeg = world.store_file(b"\xff\xd8", "photo", mime_type="image/jpeg")
    sizes = [
        {"file_id": jpeg.file_id + "_s", "file_unique_id": "s"},
        {"file_id": jpeg.file_id, "file_unique_id": "b"},
    ]
    photo = world.store_message(chat, user.id, {"photo": sizes, "caption": "Le tableau"}, file=jpeg)
    body = message_json(world, photo)
    assert body["text"] == "Le tableau" and body["media"]["inline"] is True
    assert body["media"]["file_id"] == jpeg.file_id  # the largest size

    remote = world.store_file(b"", "photo", filename="p.jpg", url="https://example.org/p.jpg")
    by_url = world.store_message(
        chat, bot.id, {"photo": [{"file_id": remote.file_id, "file_unique_id": "r"}]}, file=remote
    )
    media = message_json(world, by_url)["media"]
    assert media["url"] is None and media["external_url"] == "https://example.org/p.jpg"

    located = world.store_message(chat, user.id, {"location": {"latitude": 50.69, "longitude": 3.18}})
    assert message_json(world, located)["media"] == {"kind": "location", "latitude": 50.69, "longitude": 3.18}


def test_reply_keyboard() -> None:
    """The keyboard a chat shows: rows of texts, placeholder, one-time and persistent flags."""
    *_, chat = make_world()
    assert keyboard_json(chat) is None
    chat.reply_keyboard = {
        "keyboard": [["📅 Programme", {"text": "🧩 Mon défi"}]],
        "is_persistent": True,
        "input_field_placeholder": "Choisissez",
    }
    assert keyboard_json(chat) == {
        "rows": [["📅 Programme", "🧩 Mon défi"]],
        "placeholder": "Choisissez",
        "one_time": False,
        "persistent": True,
    }


def test_links_and_commands_in_the_bots_text_are_found_like_telegram_does() -> None:
    """A sign-in link sent as plain text becomes a link; the bot's own entities are kept and nested."""
    world, bot, user, chat = make_world()
    text = "🔐 Lien : http://127.0.0.1:8089/signin/abc.DEF-1\nEnvoyez /dashboard pour un autre."
    stored = world.store_message(
        chat, bot.id, {"text": text, "entities": [{"type": "bold", "offset": 0, "length": 7}]}
    )
    entities = message_json(world, stored)["entities"]
    kinds = [
        (
            e["type"],
            text.encode("utf-16-le")[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"),
        )
        for e in entities
    ]
    assert kinds == [
        ("bold", "🔐 Lien"),
        ("url", "http://127.0.0.1:8089/signin/abc.DEF-1"),
        ("bot_command", "/dashboard"),
    ]
    # A link already given by the bot is not doubled; a person's message is shown as sent.
    linked = world.store_message(
        chat,
        bot.id,
        {
            "text": "http://x.example",
            "entities": [{"type": "text_link", "offset": 0, "length": 16, "url": "http://y.example"}],
        },
    )
    assert [e["type"] for e in message_json(world, linked)["entities"]] == ["text_link"]
    typed = world.store_message(chat, user.id, {"text": "voir http://x.example"})
    assert message_json(world, typed)["entities"] == []


def test_command_scopes_narrowest_first() -> None:
    """Telegram's order: the chat (or chat member), then all private or group chats, then the default."""
    assert command_scopes(7, None) == ["chat:7", "all_private_chats", "default"]
    assert command_scopes(7, -100) == ["chat_member:-100:7", "chat:-100", "all_group_chats", "default"]
