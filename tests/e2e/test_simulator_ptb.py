"""The simulator against the real python-telegram-bot: a bare ``telegram.Bot`` and a minimal polling
``Application`` talk to it over HTTP, exactly as the production bot talks to Telegram."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from simulator import Simulator

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A running simulator with one bot (this module's own, without the project's strict fixture)."""
    simulator = Simulator()
    simulator.add_bot(token=TOKEN, username="hackbot_test_bot", first_name="Hackbot")
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def bot(sim: Simulator) -> AsyncIterator[Bot]:
    """A bare PTB Bot pointed at the simulator."""
    async with Bot(TOKEN, base_url=sim.api_url, base_file_url=sim.file_url) as ptb_bot:
        yield ptb_bot


@asynccontextmanager
async def polling_app(sim: Simulator, *handlers: Any) -> AsyncIterator[Application]:
    """A real PTB Application with long polling against the simulator."""
    app = Application.builder().token(TOKEN).base_url(sim.api_url).base_file_url(sim.file_url).build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=10)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_get_me_and_unknown_token_or_method(sim: Simulator, bot: Bot) -> None:
    """getMe answers; a wrong token is 401, an unknown method 404 (HTTP status == error_code)."""
    me = await bot.get_me()
    assert me.username == "hackbot_test_bot" and me.is_bot
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=sim.api_url):
            pass
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sim.api_url}{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with session.get(f"{sim.api_url}{TOKEN}/GETME") as response:  # case-insensitive like Telegram
            assert response.status == 200 and (await response.json())["result"]["id"] == me.id
        async with session.post(
            f"{sim.api_url}{TOKEN}/sendMessage",
            json={"chat_id": 1, "text": "x", "disable_notification": "maybe"},
        ) as response:
            assert response.status == 400
    assert [v.method for v in sim.violations] == ["sendMessage"]


async def test_send_edit_delete_round_trip(sim: Simulator, bot: Bot) -> None:
    """Messages get per-chat ids, HTML becomes text + entities, edits and deletes show up for the user."""
    user = sim.add_user("Amina", language_code="fr")
    await user.send_text("/start")
    first = await bot.send_message(user.id, "<b>Salut</b> 👋 <i>toi</i> &amp; co", parse_mode="HTML")
    assert first.message_id == 2  # the user's /start was 1
    assert first.text == "Salut 👋 toi & co"
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 5), ("italic", 9, 3)]
    seen = await user.wait_for_message("Salut")
    assert seen.html == "<b>Salut</b> 👋 <i>toi</i> &amp; co"

    edited = await bot.edit_message_text(
        "<b>Bonjour</b>", chat_id=user.id, message_id=first.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, object) and seen.text == "Bonjour" and seen.edited
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Bonjour</b>", chat_id=user.id, message_id=first.message_id, parse_mode="HTML"
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)

    assert await bot.delete_message(user.id, first.message_id)
    assert seen.deleted and user.messages == []
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(sim.add_user("Stranger").id, "hello")  # never started the bot
    assert sim.violations == []


async def test_bad_html_is_a_recorded_violation(sim: Simulator, bot: Bot) -> None:
    """Unescaped markup fails like Telegram (BadRequest) and lands in sim.violations."""
    user = sim.add_user("Bob")
    await user.send_text("/start")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "Rendez-vous <salle 3>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Unmatched end tag"):
        await bot.send_message(user.id, "<b>gras</i>", parse_mode="HTML")
    assert len(sim.violations) == 2 and sim.violations[0].method == "sendMessage"
    assert user.messages == []


# PTB 22 warns that RetryAfter.retry_after will become a timedelta.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_surfaces_as_retry_after(sim: Simulator, bot: Bot) -> None:
    """A private chat takes a burst of 3, then 429 with retry_after; the refused message is not delivered."""
    user = sim.add_user("Chloé")
    await user.send_text("/start")
    for number in range(3):
        await bot.send_message(user.id, f"burst {number}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "one too many")
    retry_after = caught.value.retry_after
    seconds = retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after
    assert seconds == 1
    assert len(sim.rate_limited) == 1 and sim.rate_limited[0].retry_after == 1
    assert [m.text for m in user.messages] == ["burst 0", "burst 1", "burst 2"]
    sim.rate_limits = False
    await bot.send_message(user.id, "unlimited now")
    assert sim.violations == []


async def test_blocked_user_is_forbidden(sim: Simulator, bot: Bot) -> None:
    """A user who blocked the bot makes sends fail with 403, until they unblock it."""
    user = sim.add_user("Dan")
    await user.send_text("/start")
    user.block_bot()
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(user.id, "hello?")
    user.unblock_bot()
    await bot.send_message(user.id, "welcome back")
    kinds = [next(k for k in update if k != "update_id") for update in sim.updates_for()]
    assert kinds == ["message", "my_chat_member", "my_chat_member"]


async def test_documents_photos_and_copies(sim: Simulator, bot: Bot) -> None:
    """Uploaded documents keep their bytes; user photos get reusable file_ids; copies are new messages."""
    user = sim.add_user("Eve")
    staff = sim.add_group("Staff", members=[user], admins=[user])
    await user.send_text("/start")
    sent = await bot.send_document(
        user.id, document=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", filename="event.ics"
    )
    document = (await user.wait_for_message(lambda m: m.document is not None)).document
    assert (
        document is not None
        and document.filename == "event.ics"
        and document.data.startswith(b"BEGIN:VCALENDAR")
    )
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == document.data

    photo = await user.send_photo(caption="ma photo")
    updates = await bot.get_updates(timeout=0)
    incoming = updates[-1].message
    assert incoming is not None and incoming.photo and incoming.caption == "ma photo"
    again = await bot.send_photo(
        user.id, photo=incoming.photo[-1].file_id, caption="<b>reçu</b>", parse_mode="HTML"
    )
    assert again.photo and again.caption == "reçu"

    copy = await bot.copy_message(chat_id=staff.id, from_chat_id=user.id, message_id=photo.message_id)
    copied = staff.messages[-1]
    assert copied.message_id == copy.message_id and copied.caption == "ma photo" and copied.photo
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(user.id, photo="no-such-file-id")
    assert sim.violations == []


async def test_application_polling_commands_buttons_and_keyboards(sim: Simulator) -> None:
    """A real Application: /start deep link, inline buttons answered and edited, reply keyboard taps."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Programme", callback_data="prog")]])
        await update.effective_message.reply_html(f"Bienvenue <b>{context.args}</b>", reply_markup=markup)
        await update.effective_message.reply_text(
            "Menu", reply_markup=ReplyKeyboardMarkup([["Aide", "Lieu"]])
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text(f"Programme choisi ({query.data})")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_text(f"écho: {update.effective_message.text}")

    user = sim.add_user("Fatou", language_code="fr")
    sim.rate_limits = False  # four sends within a second would exceed the private-chat burst of 3
    async with polling_app(
        sim,
        CommandHandler("start", start),
        CallbackQueryHandler(on_button),
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
    ):
        await user.send_text("/start atelier")
        welcome = await user.wait_for_message("Bienvenue")
        assert "atelier" in welcome.text and welcome.buttons[0][0].text == "Programme"
        await user.wait_for_message("Menu")
        assert user.keyboard == [["Aide", "Lieu"]]

        query = await user.press("Programme")
        answer = await query.wait_answered()
        assert answer.text == "ok" and sim.answered_callbacks == [answer]
        edited = await user.wait_for_edit(welcome)
        assert edited.text == "Programme choisi (prog)" and edited.buttons == []

        await user.tap("Lieu")
        assert (await user.wait_for_message("écho")).text == "écho: Lieu"
        with pytest.raises(LookupError):
            await user.tap("Inexistant")
    assert sim.violations == [] and sim.unanswered_callbacks() == []


async def test_long_poll_wakes_at_once_and_conflicts(sim: Simulator, bot: Bot) -> None:
    """getUpdates returns as soon as an update arrives; a second poller ends the first with 409."""
    user = sim.add_user("Gus")
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await user.send_text("hi")
    updates = await poll
    assert time.monotonic() - started < 1.0 and updates[0].message.text == "hi"

    # PTB keeps one connection for getUpdates per Bot, so the second poller is a second Bot (instance).
    first = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=10))
    await asyncio.sleep(0.05)
    async with Bot(TOKEN, base_url=sim.api_url) as second:
        assert await second.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
        await first


async def test_offset_confirmation_and_redelivery(sim: Simulator, bot: Bot) -> None:
    """Unconfirmed updates come again; confirmed ones do not; redeliver() repeats one with the same id."""
    user = sim.add_user("Hana")
    await user.send_text("one")
    await user.send_text("two")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first] == ["one", "two"]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [u.update_id for u in first]
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()

    sim.redeliver(first[0].update_id)
    again = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.update_id for u in again] == [first[0].update_id]
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()


async def test_groups_forums_and_privacy_mode(sim: Simulator, bot: Bot) -> None:
    """Forum topics carry thread ids; a non-admin bot in privacy mode sees only commands and replies to it."""
    lead, helper = sim.add_user("Ines"), sim.add_user("Jo")
    staff = sim.add_group("Staff", members=[helper], admins=[lead], is_forum=True)
    topic = await bot.create_forum_topic(staff.id, "Question de Kim")
    posted = await bot.send_message(staff.id, "Une question", message_thread_id=topic.message_thread_id)
    assert posted.message_thread_id == topic.message_thread_id and posted.is_topic_message
    await helper.send_text_in(staff, "Réponse", thread_id=topic.message_thread_id)
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.message.message_thread_id == topic.message_thread_id
    assert (await bot.get_chat_member(staff.id, lead.id)).status == "creator"
    assert (await bot.get_chat_member(staff.id, helper.id)).status == "member"
    assert {m.user.id for m in await bot.get_chat_administrators(staff.id)} == {lead.id, bot.id}

    plain = sim.add_group("Participants", members=[helper])  # the bot is a plain member here
    mark = len(sim.updates_for())
    sent = await bot.send_message(plain.id, "Bonjour le groupe")
    await helper.send_text_in(plain, "bavardage")
    await helper.send_text_in(plain, "/aide")
    await helper.send_text_in(plain, "merci", reply_to=plain.messages[-1])
    texts = [u["message"]["text"] for u in sim.updates_for()[mark:]]
    assert texts == ["/aide", "merci"] and sent.chat.type == "supergroup"

    plain.set_bot_membership("left")
    with pytest.raises(Forbidden, match=r"(?i)not a member"):
        await bot.send_message(plain.id, "encore là ?")
    assert sim.violations == []


async def test_spec_validation_of_markup_and_commands(sim: Simulator, bot: Bot) -> None:
    """Over-long callback data and invalid command names are refused and recorded as violations."""
    user = sim.add_user("Kim")
    await user.send_text("/start")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            user.id,
            "x",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="é" * 33)]]),
        )
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "Démarrer")])
    assert await bot.set_my_commands([("start", "Démarrer")], language_code="fr")
    assert [c.command for c in await bot.get_my_commands(language_code="fr")] == ["start"]
    assert len(sim.violations) == 2


async def _receiver(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook"


async def test_webhook_delivery_with_secret_and_retries(sim: Simulator, bot: Bot) -> None:
    """Updates are POSTed to the webhook with the secret header, retried after errors; getUpdates is 409."""
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures = {"left": 1}
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(await request.text()))
        )
        arrived.set()
        return web.Response(text="ok")

    runner, url = await _receiver(hook)
    try:
        assert await bot.set_webhook(url, secret_token="s3cret-token")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        user = sim.add_user("Lou")
        await user.send_text("via webhook")
        await asyncio.wait_for(arrived.wait(), 5)
        secret, payload = received[0]
        assert secret == "s3cret-token" and payload["message"]["text"] == "via webhook"
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message
        assert await bot.delete_webhook()
        await user.send_text("back to polling")
        assert (await bot.get_updates(timeout=0))[-1].message.text == "back to polling"
    finally:
        await runner.cleanup()
    assert sim.violations == []
