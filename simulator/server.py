"""The HTTP side of the simulator: Telegram's URL scheme, request decoding, answers and webhook pushes.

Routes (``SimServer.app``):

* ``/bot<TOKEN>/<method>``: any HTTP method, parameters from the query string plus a JSON,
  form-urlencoded or multipart body (files become ``spec.Upload``);
* ``/file/bot<TOKEN>/<file_path>``: downloads of files returned by getFile.

More routes (the rehearsal-mode web chat, for example) can be added with ``SimServer.add_routes`` before
``start``.  A webhook pusher task per bot POSTs pending updates to the bot's webhook, at most
``max_connections`` at a time and in order within each chat, retrying with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from simulator.records import ApiError, RequestRecord, Violation
from simulator.spec import SpecError, Upload
from simulator.world import BotAccount, PendingUpdate, now_unix

if TYPE_CHECKING:
    from simulator.core import Simulator

__all__ = ["SimServer"]

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for bots
_WEBHOOK_TIMEOUT = 10.0
_WEBHOOK_MAX_BACKOFF = 2.0


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _loggable(raw: dict[str, str | Upload]) -> dict[str, Any]:
    """Request parameters for ``Simulator.requests``: files replaced by a short description."""
    return {
        key: (
            f"<file {value.filename or ''} {len(value.data)} bytes>" if isinstance(value, Upload) else value
        )
        for key, value in raw.items()
    }


class SimServer:
    """aiohttp application and webhook pushers for one ``Simulator``."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self.handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pushers: dict[int, asyncio.Task[None]] = {}
        self.port: int | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Extra routes (e.g. a web chat UI); call before ``start``."""
        self.app.router.add_routes(routes)

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0: any free port, see ``self.port``)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        self._session = aiohttp.ClientSession()
        for bot in self.sim.world.bots.values():
            if bot.webhook is not None:
                self.webhook_changed(bot)

    async def stop(self) -> None:
        """Stop pushers and the HTTP server."""
        for task in self._pushers.values():
            task.cancel()
        for task in self._pushers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pushers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- Bot API ------------------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> dict[str, str | Upload]:
        raw: dict[str, str | Upload] = dict(request.query)
        content_type = request.content_type
        if request.method in ("GET", "HEAD") or not request.body_exists:
            return raw
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON body", kind="violation") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object", kind="violation")
            for key, value in body.items():
                if value is None:
                    continue
                # The real server sees every top-level value as text; objects stay JSON-serialised.
                raw[key] = value if isinstance(value, str) else json.dumps(value)
            return raw
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = Upload(value.file.read(), value.filename, value.content_type)
            else:
                raw[key] = str(value)
        return raw

    async def handle_api(self, request: web.Request) -> web.Response:
        """``/bot<TOKEN>/<method>``."""
        sim = self.sim
        if sim.latency > 0:
            await asyncio.sleep(sim.latency)
        token = request.match_info["token"]
        name = request.match_info["method"]
        raw: dict[str, str | Upload] = {}
        method = sim.spec.canonical_method(name) or name
        try:
            bot = sim.world.bots_by_token.get(token)
            if bot is None:
                raise ApiError(401, "Unauthorized")
            if sim.spec.canonical_method(name) is None:
                raise ApiError(404, "Not Found")
            raw = await self._read_params(request)
            try:
                params = sim.spec.validate_call(method, raw)
            except SpecError as violation:
                raise ApiError(400, violation.description, kind="violation") from None
            result = await sim.api.call(bot, method, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.code, error.to_json()
            if error.kind == "violation":
                sim.violations.append(Violation(method, error.description, _loggable(raw)))
                # The description may quote message content; tests read it from Simulator.violations.
                logger.warning("spec violation in %s (details in Simulator.violations)", method)
            elif error.kind == "unsupported":
                sim.unsupported.append(Violation(method, error.description, _loggable(raw)))
        except Exception:
            logger.exception("simulator failure in %s", method)
            sim.internal_errors.append(method)
            status, body = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        sim.requests.append(RequestRecord(time.time(), token, method, _loggable(raw), status))
        logger.debug("%s -> %s", method, status)
        return _json_response(body, status)

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        """``/file/bot<TOKEN>/<path>``: the bytes of a stored file."""
        if request.match_info["token"] not in self.sim.world.bots_by_token:
            return _json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        stored = self.sim.world.files_by_path.get(request.match_info["path"])
        if stored is None:
            return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    # --- webhooks -----------------------------------------------------------------------------------

    def webhook_changed(self, bot: BotAccount) -> None:
        """Start (or restart) the pusher of a bot when its webhook is set; stop it when removed."""
        task = self._pushers.pop(bot.id, None)
        if task is not None:
            task.cancel()
        if bot.webhook is not None and self._session is not None:
            self._pushers[bot.id] = asyncio.get_running_loop().create_task(
                self._push_loop(bot), name=f"webhook-pusher-{bot.id}"
            )

    async def _push_loop(self, bot: BotAccount) -> None:
        in_flight: dict[int, asyncio.Task[None]] = {}
        try:
            while bot.webhook is not None:
                now = time.monotonic()
                blocked: set[int] = set()
                next_retry: float | None = None
                for update in sorted(bot.updates, key=lambda u: (not u.forced, u.update_id)):
                    if bot.updates_held:
                        break
                    waiting = update.update_id in in_flight or update.retry_at > now
                    if update.retry_at > now:
                        next_retry = min(next_retry or update.retry_at, update.retry_at)
                    if waiting or (update.chat_key is not None and update.chat_key in blocked):
                        if update.chat_key is not None:
                            blocked.add(update.chat_key)
                        continue
                    if len(in_flight) >= bot.webhook.max_connections:
                        break
                    if update.chat_key is not None:
                        blocked.add(update.chat_key)
                    if update.handed_at is None:
                        update.handed_at = time.monotonic()
                    in_flight[update.update_id] = asyncio.get_running_loop().create_task(
                        self._push_one(bot, update, in_flight)
                    )
                timeout = None if next_retry is None else max(0.0, next_retry - time.monotonic())
                await bot.updates_signal.wait(timeout)
        finally:
            for task in in_flight.values():
                task.cancel()

    async def _push_one(self, bot: BotAccount, update: PendingUpdate, in_flight: dict[int, Any]) -> None:
        webhook = bot.webhook
        assert webhook is not None and self._session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook.secret_token} if webhook.secret_token else {}
        error: str | None = None
        try:
            async with self._session.post(
                webhook.url,
                json=update.payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=_WEBHOOK_TIMEOUT),
            ) as response:
                if not 200 <= response.status < 300:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        finally:
            in_flight.pop(update.update_id, None)
        if error is None:
            if update in bot.updates:
                bot.updates.remove(update)
        else:
            update.attempts += 1
            update.retry_at = time.monotonic() + min(_WEBHOOK_MAX_BACKOFF, 0.05 * 2 ** (update.attempts - 1))
            webhook.last_error_date = now_unix()
            webhook.last_error_message = error
            logger.info("bot %s: webhook delivery of update %s failed (%s)", bot.id, update.update_id, error)
        bot.updates_signal.fire()
