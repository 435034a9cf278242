"""The test-facing API of the simulator: waits, button presses and what users see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove

from simulator import Simulator

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A running simulator without rate limits (these tests send in bursts)."""
    simulator = Simulator(rate_limits=False)
    simulator.add_bot(token=TOKEN)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()
    simulator.assert_no_violations()


@pytest.fixture
async def bot(sim: Simulator) -> AsyncIterator[Bot]:
    """A bare PTB Bot pointed at the simulator."""
    async with Bot(TOKEN, base_url=sim.api_url, base_file_url=sim.file_url) as ptb_bot:
        yield ptb_bot


async def test_waits_return_each_message_once(sim: Simulator, bot: Bot) -> None:
    """Two waits find two messages even when both arrived before the first wait; timeouts list what came."""
    user = sim.add_user("Amina")
    await user.send_text("/start")
    await bot.send_message(user.id, "un")
    await bot.send_message(user.id, "deux")
    assert (await user.wait_for_message()).text == "un"
    assert (await user.wait_for_message()).text == "deux"
    with pytest.raises(TimeoutError, match="deux"):
        await user.wait_for_message("trois", timeout=0.05)

    later = asyncio.create_task(user.wait_for_message("trois", since="now"))
    await asyncio.sleep(0.01)
    await bot.send_message(user.id, "trois")
    assert (await later).text == "trois"
    assert [m.text for m in user.messages] == ["un", "deux", "trois"]


async def test_buttons_press_and_forged_data(sim: Simulator, bot: Bot) -> None:
    """Buttons read as (text, data) with .text; presses reach the bot; forged data is possible."""
    user = sim.add_user("Bob")
    await user.send_text("/start")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Oui", callback_data="yes"),
                InlineKeyboardButton("Site", url="https://example.org"),
            ]
        ]
    )
    sent = await bot.send_message(user.id, "Choix ?", reply_markup=markup)
    message = await user.wait_for_message("Choix")
    ((yes, site),) = message.buttons
    assert yes.text == "Oui" and yes.callback_data == "yes" and tuple(yes) == ("Oui", "yes")
    assert site.url == "https://example.org" and site.callback_data is None

    query = await user.press("Oui", wait_answer=False)  # nobody polls yet: do not wait for the answer
    forged = await user.press(message=message, callback_data="tampered", wait_answer=False)
    updates = await bot.get_updates(timeout=0)
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [q.data for q in queries] == ["yes", "tampered"] and queries[
        0
    ].message.message_id == sent.message_id
    assert await queries[0].answer()
    assert query.answer is not None and forged.answer is None
    assert query.text is None and [r.id for r in sim.unanswered_callbacks()] == [forged.id]
    with pytest.raises(TimeoutError, match="not answered"):
        await user.press("Oui", timeout=0.05)  # by default a press waits for the answer, like a phone
    with pytest.raises(LookupError):
        await user.press("Site")
    with pytest.raises(LookupError):
        await user.press("Absent")


async def test_reply_keyboard_and_removal(sim: Simulator, bot: Bot) -> None:
    """The reply keyboard is what the last markup set; ReplyKeyboardRemove hides it."""
    user = sim.add_user("Chloé")
    await user.send_text("/start")
    await bot.send_message(
        user.id, "Menu", reply_markup={"keyboard": [[{"text": "Aide"}]], "one_time_keyboard": True}
    )
    assert user.keyboard == [["Aide"]]
    tapped = await user.tap("Aide")
    assert tapped.text == "Aide" and user.keyboard is None  # one-time keyboards hide after use
    await bot.send_message(user.id, "Menu", reply_markup={"keyboard": [[{"text": "Aide"}]]})
    await bot.send_message(user.id, "Fini", reply_markup=ReplyKeyboardRemove())
    assert user.keyboard is None


async def test_user_media_and_replies_reach_the_bot(sim: Simulator, bot: Bot) -> None:
    """Voice, documents, stickers, locations and replies arrive as real Message objects."""
    user = sim.add_user("Dan", username="dan_42")
    await user.send_text("/start")
    question = await bot.send_message(user.id, "Une question ?")
    await user.send_voice(duration=4)
    await user.send_document("notes.txt", b"hello")
    await user.send_sticker()
    await user.send_location(48.85, 2.35)
    await user.reply(to=user.messages[-1], text="oui")
    messages = [u.message for u in await bot.get_updates(timeout=0)][1:]
    assert messages[0].voice.file_id and messages[0].voice.mime_type == "audio/ogg"
    assert messages[1].document.file_name == "notes.txt"
    assert bytes(await (await messages[1].document.get_file()).download_as_bytearray()) == b"hello"
    assert messages[2].sticker is not None and messages[3].location.latitude == 48.85
    assert messages[4].reply_to_message.message_id == question.message_id
    assert messages[4].from_user.username == "dan_42"
