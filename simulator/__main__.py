"""Run the simulator as a standalone Bot API server: ``python -m simulator --port 8081 --token 123456:TEST``.

Point the bot at it with ``TELEGRAM_API_URL=http://HOST:PORT`` (PTB's base_url is that plus ``/bot``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from simulator.core import Simulator

__all__ = ["main"]

logger = logging.getLogger("simulator")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Local Telegram Bot API simulator"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081, 0 for any free port)")
    parser.add_argument("--token", default="123456:TEST-TOKEN", help="token of the simulated bot")
    parser.add_argument("--username", default="hackbot_test_bot", help="username of the simulated bot")
    parser.add_argument("--first-name", default="Hackbot", help="display name of the simulated bot")
    parser.add_argument("--latency", type=float, default=0.0, help="artificial delay per request, seconds")
    parser.add_argument("--no-rate-limits", action="store_true", help="do not enforce flood limits")
    parser.add_argument("--spec", default=None, help="path to api.json (default: ../shared/telegram-bot-api)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


async def serve(
    args: argparse.Namespace,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Simulator], None] | None = None,
) -> Simulator:
    """Start a simulator from parsed arguments and run until ``stop`` is set (forever without one).

    ``on_ready`` is called once it listens: the place to add simulated users or web routes.
    """
    sim = Simulator(latency=args.latency, rate_limits=not args.no_rate_limits, spec_path=args.spec)
    sim.add_bot(token=args.token, username=args.username, first_name=args.first_name)
    await sim.start(host=args.host, port=args.port)
    if on_ready is not None:
        on_ready(sim)
    # The bot's settings take the API root and add /bot and /file/bot themselves.
    logger.info("simulator ready: set TELEGRAM_API_URL=%s", sim.base_url)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await sim.stop()
    return sim


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
