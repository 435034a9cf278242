"""Web chat benchmark: how fast a message sent from one page shows on every open page.

A simulator with the rehearsal web chat (no bot: this measures the web chat itself), a staff group
of `--pages` personas, each with an open Server-Sent Events stream like a browser tab. One persona
sends `--messages` texts to the group through the JSON API, one after the other. Measured: the time
of each POST (what the person who sends waits for) and, for every page, the time from the start of
the POST to the arrival of that message's event (what the others wait for).

Run: .venv/bin/python bench/bench_webchat.py [--pages 20] [--messages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import aiohttp

from simulator import Simulator
from simulator.webchat import CSRF_HEADER, WebChat


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def reader(response: aiohttp.ClientResponse, sent_at: dict[str, float], lags: list[float]) -> None:
    data = ""
    kind = ""
    async for raw in response.content:
        line = raw.decode("utf-8").rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and data:
            if kind == "message":
                body = json.loads(data)
                text = body.get("message", {}).get("text", "")
                if text in sent_at:
                    lags.append(time.perf_counter() - sent_at[text])
            data = ""


async def run(pages: int, messages: int) -> None:
    sim = Simulator(rate_limits=False)
    sim.add_bot()
    group = sim.add_group("Équipe")
    chat = WebChat(sim, staff_group=group)
    personas = [chat.add_persona(f"P{i}", "facilitator") for i in range(pages)]
    await sim.start()
    sent_at: dict[str, float] = {}
    lags: list[float] = []
    posts: list[float] = []
    async with aiohttp.ClientSession() as session:
        streams = [await session.get(sim.base_url + "/webchat/api/events") for _ in range(pages)]
        tasks = [asyncio.create_task(reader(stream, sent_at, lags)) for stream in streams]
        await asyncio.sleep(0.2)
        url = f"{sim.base_url}/webchat/api/personas/{personas[0].id}/chats/{group.id}/messages"
        started = time.perf_counter()
        for number in range(messages):
            text = f"message {number}"
            sent_at[text] = time.perf_counter()
            async with session.post(url, json={"text": text}, headers={CSRF_HEADER: "1"}) as response:
                assert response.status == 201
            posts.append(time.perf_counter() - sent_at[text])
        total = time.perf_counter() - started
        deadline = time.monotonic() + 10
        while len(lags) < pages * messages and time.monotonic() < deadline:  # noqa: ASYNC110 - a bench
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        for stream in streams:
            stream.close()
    await chat.close()
    await sim.stop()
    ms = 1000
    print(f"{pages} pages, {messages} messages in {total:.2f} s ({messages / total:.0f} messages/s)")
    print(
        f"POST: p50 {statistics.median(posts) * ms:.1f} ms, p95 {pct(posts, 0.95) * ms:.1f} ms, "
        f"max {max(posts) * ms:.1f} ms"
    )
    print(
        f"event on every page ({len(lags)} of {pages * messages}): "
        f"p50 {statistics.median(lags) * ms:.1f} ms, p95 {pct(lags, 0.95) * ms:.1f} ms, "
        f"max {max(lags) * ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.pages, args.messages))


if __name__ == "__main__":
    main()
