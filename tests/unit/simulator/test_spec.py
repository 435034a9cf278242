"""Validation of Bot API calls against api.json, and of the objects the simulator builds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.methods import BotApi
from simulator.spec import ApiSpec, SpecError, Upload, default_spec_path
from simulator.world import World


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec.load()


def inline(*rows: list[dict[str, Any]]) -> str:
    return json.dumps({"inline_keyboard": list(rows)})


def test_spec_path_is_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default: <project>/../shared/... (else the bundled copy); TELEGRAM_API_SPEC overrides it."""
    monkeypatch.delenv("TELEGRAM_API_SPEC", raising=False)
    project = Path(__file__).resolve().parents[3]
    shared = project.parent / "shared" / "telegram-bot-api" / "api.json"
    expected = shared if shared.is_file() else project / "simulator" / "bundled" / "api.json"
    assert default_spec_path() == expected
    monkeypatch.setenv("TELEGRAM_API_SPEC", "/elsewhere/api.json")
    assert default_spec_path() == Path("/elsewhere/api.json")


def test_method_names_are_case_insensitive(spec: ApiSpec) -> None:
    """Telegram matches method names case-insensitively."""
    assert spec.canonical_method("SENDMESSAGE") == "sendMessage"
    assert spec.canonical_method("nope") is None


def test_strings_are_converted(spec: ApiSpec) -> None:
    """Form values arrive as text: integers, booleans, floats and JSON objects are decoded."""
    params = spec.validate_call(
        "sendMessage",
        {
            "chat_id": "-100123",
            "text": "hi",
            "disable_notification": "true",
            "reply_parameters": json.dumps({"message_id": 3, "allow_sending_without_reply": True}),
            "unknown_parameter": "ignored like Telegram",
        },
    )
    assert params == {
        "chat_id": -100123,
        "text": "hi",
        "disable_notification": True,
        "reply_parameters": {"message_id": 3, "allow_sending_without_reply": True},
    }
    assert spec.validate_call("sendMessage", {"chat_id": "@channel", "text": "x"})["chat_id"] == "@channel"
    assert (
        spec.validate_call("sendLocation", {"chat_id": "1", "latitude": "48.85", "longitude": "2"})[
            "longitude"
        ]
        == 2.0
    )


BAD_CALLS = [
    ("missing required", "sendMessage", {"text": "x"}, "chat_id is required"),
    (
        "integer",
        "deleteMessage",
        {"chat_id": "1", "message_id": "abc"},
        '"message_id" must be of type Integer',
    ),
    ("boolean", "sendMessage", {"chat_id": "1", "text": "x", "protect_content": "yes"}, "Boolean"),
    ("float", "sendLocation", {"chat_id": "1", "latitude": "north", "longitude": "2"}, "Float"),
    ("bad json", "sendMessage", {"chat_id": "1", "text": "x", "reply_markup": "{oops"}, "can't parse"),
    (
        "nested type",
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_markup": inline([{"text": 5, "callback_data": "a"}])},
        "inline_keyboard[0][0].text",
    ),
    ("nested required", "sendMessage", {"chat_id": "1", "text": "x", "reply_parameters": "{}"}, "message_id"),
    ("array", "deleteMessages", {"chat_id": "1", "message_ids": '"1,2"'}, "Array of Integer"),
    (
        "not a markup",
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_markup": '{"buttons": []}'},
        "reply_markup",
    ),
    ("file where text expected", "sendMessage", {"chat_id": "1", "text": Upload(b"x")}, "uploaded file"),
    ("missing attachment", "sendPhoto", {"chat_id": "1", "photo": "attach://pic"}, "attach://pic"),
    ("discriminated union", "setMyCommands", {"commands": "[]", "scope": '{"type": "chat"}'}, "chat_id"),
    (
        "reply keyboard rows",
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_markup": '{"keyboard": "Aide"}'},
        "reply_markup.keyboard",
    ),
]


@pytest.mark.parametrize(("name", "method", "raw", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_calls(spec: ApiSpec, name: str, method: str, raw: dict[str, Any], message: str) -> None:
    """Each malformed call is refused with a Bad Request naming the problem."""
    with pytest.raises(SpecError) as caught:
        spec.validate_call(method, raw)
    assert caught.value.description.startswith("Bad Request: ")
    assert message in caught.value.description


def test_uploads_and_attachments(spec: ApiSpec) -> None:
    """An uploaded part is accepted for InputFile, directly or through attach://."""
    photo = Upload(b"jpeg", "p.jpg", "image/jpeg")
    assert spec.validate_call("sendPhoto", {"chat_id": "1", "photo": photo})["photo"] is photo
    params = spec.validate_call("sendPhoto", {"chat_id": "1", "photo": "attach://pic", "pic": photo})
    assert params["_uploads"] == {"pic": photo}
    assert spec.validate_call("sendPhoto", {"chat_id": "1", "photo": "AgACAgQ"})["photo"] == "AgACAgQ"


LIMITS = [
    (
        "callback data bytes",
        {"reply_markup": inline([{"text": "b", "callback_data": "é" * 33}])},
        "BUTTON_DATA_INVALID",
    ),
    (
        "empty callback data",
        {"reply_markup": inline([{"text": "b", "callback_data": ""}])},
        "BUTTON_DATA_INVALID",
    ),
    (
        "101 buttons",
        {"reply_markup": inline(*[[{"text": "b", "callback_data": "x"}]] * 101)},
        "REPLY_MARKUP_TOO_LONG",
    ),
    ("no action", {"reply_markup": inline([{"text": "b"}])}, "exactly one"),
    (
        "two actions",
        {"reply_markup": inline([{"text": "b", "callback_data": "x", "url": "https://a.b"}])},
        "exactly one",
    ),
]


@pytest.mark.parametrize(("name", "extra", "message"), LIMITS, ids=[c[0] for c in LIMITS])
def test_markup_limits(spec: ApiSpec, name: str, extra: dict[str, str], message: str) -> None:
    """Limits stated only in the descriptions are enforced."""
    with pytest.raises(SpecError, match=message):
        spec.validate_call("sendMessage", {"chat_id": "1", "text": "x", **extra})


def test_limits_at_the_edge_pass(spec: ApiSpec) -> None:
    """64 bytes of callback data and 100 buttons are fine; style and emoji do not count as actions."""
    button = {"text": "b", "callback_data": "x" * 64, "style": "danger"}
    spec.validate_call(
        "sendMessage", {"chat_id": "1", "text": "x", "reply_markup": inline(*[[button]] * 100)}
    )


@pytest.mark.parametrize(
    ("commands", "message"),
    [
        ([{"command": "Start", "description": "d"}], "BOT_COMMAND_INVALID"),
        ([{"command": "x" * 33, "description": "d"}], "BOT_COMMAND_INVALID"),
        ([{"command": "start", "description": ""}], "BOT_COMMAND_DESCRIPTION_INVALID"),
        ([{"command": "start", "description": "d" * 257}], "BOT_COMMAND_DESCRIPTION_INVALID"),
    ],
)
def test_command_limits(spec: ApiSpec, commands: list[dict[str, str]], message: str) -> None:
    """Command names are 1-32 of [a-z0-9_], descriptions 1-256 characters."""
    with pytest.raises(SpecError, match=message):
        spec.validate_call("setMyCommands", {"commands": json.dumps(commands)})


def test_callback_answer_text_limit(spec: ApiSpec) -> None:
    """answerCallbackQuery text is at most 200 characters."""
    spec.validate_call("answerCallbackQuery", {"callback_query_id": "1", "text": "x" * 200})
    with pytest.raises(SpecError, match="200"):
        spec.validate_call("answerCallbackQuery", {"callback_query_id": "1", "text": "x" * 201})


def test_built_objects_follow_the_spec(spec: ApiSpec) -> None:
    """Messages, members, chats and users the simulator answers with use only spec fields and types."""
    world = World()
    api = BotApi(world, spec, None)
    bot = world.add_bot("42:T", "b_bot", "B")
    user = world.add_user("Ann", "Lee", "ann", "fr")
    user.started_bots.add(bot.id)
    chat = world.private_chat(bot, user)
    group = world.add_group("G", is_forum=True)
    group.members = {user.id: "creator", bot.id: "administrator"}
    first = world.store_message(
        chat, user.id, {"text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
    )
    sent = api.send_message(
        bot,
        {
            "chat_id": user.id,
            "text": "<b>x</b>",
            "parse_mode": "HTML",
            "reply_parameters": {"message_id": first.message_id},
        },
    )
    photo = api.send_media(bot, {"chat_id": user.id, "photo": Upload(b"jpg"), "caption": "c"}, "photo")
    document = api.send_media(
        bot, {"chat_id": user.id, "document": Upload(b"d", "a.ics", "text/calendar")}, "document"
    )
    voice = api.send_media(bot, {"chat_id": user.id, "voice": Upload(b"v")}, "voice")
    sticker = api.send_media(bot, {"chat_id": user.id, "sticker": Upload(b"s")}, "sticker")
    topic = api.create_forum_topic(bot, {"chat_id": group.id, "name": "T"})
    in_topic = api.send_message(
        bot, {"chat_id": group.id, "text": "t", "message_thread_id": topic["message_thread_id"]}
    )
    forwarded = api.forward_message(
        bot, {"chat_id": group.id, "from_chat_id": user.id, "message_id": first.message_id}
    )
    for message in (
        sent,
        photo,
        document,
        voice,
        sticker,
        in_topic,
        forwarded,
        world.groups[group.id].messages[1].data,
    ):
        spec.check("Message", message, "message", strict=True)
    spec.check(
        "ChatMember", api.get_chat_member(bot, {"chat_id": group.id, "user_id": bot.id}), "m", strict=True
    )
    spec.check(
        "ChatMember", api.get_chat_member(bot, {"chat_id": group.id, "user_id": user.id}), "m", strict=True
    )
    spec.check("ChatFullInfo", api.get_chat(bot, {"chat_id": group.id}), "chat", strict=True)
    spec.check("User", bot.to_me(), "me", strict=True)
    spec.check("ForumTopic", topic, "topic", strict=True)
    spec.check("WebhookInfo", api.get_webhook_info(bot, {}), "info", strict=True)
    spec.check("File", api.get_file(bot, {"file_id": document["document"]["file_id"]}), "file", strict=True)
