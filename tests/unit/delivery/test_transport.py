"""The aiohttp transport against a local HTTP server: what reaches the server, the errors PTB expects.

The whole bot runs on this transport in every end-to-end test (through the simulator); these tests
pin the edges that the simulator does not provoke: a slow answer, a refused connection, a full pool.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.delivery.transport import AiohttpRequest


class Recorder:
    """A Bot API stand-in: records each request's fields and answers `{"ok": true}` (after `delay`)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                fields[name] = (value.filename, value.file.read(), value.content_type)
            else:
                fields[name] = value
        self.requests.append(
            {
                "path": request.path,
                "type": request.content_type,
                "agent": request.headers.get("User-Agent"),
                **fields,
            }
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/botTOKEN", recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(read_timeout=0.3, pool_timeout=0.2)
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


def parameters(**values: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value) for name, value in values.items()])


async def test_parameters_go_form_encoded_and_the_answer_is_parsed(
    server: tuple[str, Recorder], transport: AiohttpRequest
) -> None:
    url, recorder = server
    data = parameters(chat_id=42, text="Café & « thé » = 100 %", reply_markup={"inline_keyboard": [[]]})
    answer = await transport.post(f"{url}/sendMessage", data)
    assert answer is True
    [seen] = recorder.requests
    assert seen["path"] == "/botTOKEN/sendMessage"
    assert seen["type"] == "application/x-www-form-urlencoded"
    assert seen["chat_id"] == "42" and seen["text"] == "Café & « thé » = 100 %"
    assert json.loads(seen["reply_markup"]) == {"inline_keyboard": [[]]}
    assert seen["agent"].startswith("python-telegram-bot")


async def test_a_file_goes_as_multipart_with_the_other_parameters(
    server: tuple[str, Recorder], transport: AiohttpRequest
) -> None:
    url, recorder = server
    pdf = b"%PDF-1.7 badges \x00\xff"
    data = parameters(chat_id=7, caption="Vos badges", document=InputFile(pdf, filename="badges.pdf"))
    await transport.post(f"{url}/sendDocument", data)
    [seen] = recorder.requests
    assert seen["type"] == "multipart/form-data"
    assert seen["chat_id"] == "7" and seen["caption"] == "Vos badges"
    assert seen["document"] == ("badges.pdf", pdf, "application/pdf")


async def test_a_slow_answer_times_out(server: tuple[str, Recorder], transport: AiohttpRequest) -> None:
    url, recorder = server
    recorder.delay = 1.0
    with pytest.raises(TimedOut):
        await transport.post(f"{url}/sendMessage", parameters(chat_id=1, text="x"))


async def test_a_longer_read_timeout_waits_for_the_answer(
    server: tuple[str, Recorder], transport: AiohttpRequest
) -> None:
    """`getUpdates` passes its long-polling time as a longer read timeout."""
    url, recorder = server
    recorder.delay = 0.5
    assert await transport.post(f"{url}/getUpdates", parameters(timeout=1), read_timeout=2.0) is True


async def test_a_full_pool_times_out_without_sending(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    recorder.delay = 1.0
    transport = AiohttpRequest(
        connection_pool_size=1, read_timeout=5.0, pool_timeout=0.1, connect_timeout=0.1
    )
    await transport.initialize()
    try:
        first = asyncio.create_task(transport.post(f"{url}/sendMessage", parameters(chat_id=1, text="a")))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await transport.post(f"{url}/sendMessage", parameters(chat_id=2, text="b"))
        assert await first is True
        assert [seen["chat_id"] for seen in recorder.requests] == ["1"]
    finally:
        await transport.shutdown()


async def test_a_refused_connection_is_a_network_error(transport: AiohttpRequest) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError) as raised:
        await transport.post(f"http://127.0.0.1:{port}/botTOKEN/getMe")
    assert not isinstance(raised.value, TimedOut)


async def test_it_can_be_used_again_after_a_shut_down(server: tuple[str, Recorder]) -> None:
    url, _ = server
    transport = AiohttpRequest()
    await transport.initialize()
    await transport.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):
        await transport.post(f"{url}/getMe")
    await transport.initialize()
    try:
        assert await transport.post(f"{url}/getMe") is True
    finally:
        await transport.shutdown()
