"""The standalone entry point: ``python -m simulator`` serves the Bot API for a configured bot."""

from __future__ import annotations

import asyncio

import aiohttp

from simulator import Simulator
from simulator.__main__ import _parser, serve


async def test_serve_answers_get_me_until_stopped() -> None:
    """The server starts with the given token and username, answers getMe, and stops when asked."""
    args = _parser().parse_args(["--port", "0", "--token", "42:STANDALONE", "--username", "solo_bot"])
    stop = asyncio.Event()
    ready: asyncio.Future[Simulator] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(args, stop, on_ready=ready.set_result))
    sim = await asyncio.wait_for(ready, 5)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.api_url}42:STANDALONE/getMe") as response,
    ):
        me = (await response.json())["result"]
    assert me["username"] == "solo_bot" and me["id"] == 42
    stop.set()
    assert await task is sim


async def test_long_poll_does_not_delay_shutdown() -> None:
    """A getUpdates waiting 30 s is answered at once when the simulator stops."""
    simulator = Simulator()
    simulator.add_bot(token="1:T")
    await simulator.start()
    async with aiohttp.ClientSession() as session:
        poll = asyncio.create_task(
            session.get(f"{simulator.api_url}1:T/getUpdates", params={"timeout": "30"})
        )
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await simulator.stop()
        response = await poll
        assert response.status == 200 and (await response.json())["result"] == []
        assert loop.time() - started < 2
