"""The aiohttp server: Telegram webhook endpoint, `/healthz`, and the dashboard routes.

One server per bot process. `attach(application, webhook=...)` builds it and keeps it in the
services; the lifecycle steps `start_attached` / `stop_attached` (registered by
`handlers.dashboard`) start it once the bot is connected and stop it before the database closes.
In webhook mode the start also registers the webhook with `setWebhook` (with a secret token).

The webhook endpoint checks `X-Telegram-Bot-Api-Secret-Token` (403 otherwise, nothing processed),
parses the body (400 when it is not an update), puts the update on PTB's update queue and answers
at once: handlers run afterwards, so Telegram never waits for a database write.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError

from models import dashboard as store

if TYPE_CHECKING:
    from bot.context import HackbotApplication, Services

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
DEFAULT_WEBHOOK_PATH = "/telegram"
# The update kinds the handlers use, for long polling (bot/cli.py) and the webhook alike.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's default
MAX_UPDATE_BYTES = 1024 * 1024

APPLICATION: web.AppKey[HackbotApplication] = web.AppKey("application")
SERVER: web.AppKey[WebServer] = web.AppKey("server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What every answer carries: no framing, no sniffing, no referrer (sign-in tokens are in URLs),
# and only our own scripts and styles.
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _secure(headers: Any, path: str) -> None:
    for name, value in _SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if not path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # aiohttp's own 404, 405, 413...
        _secure(exc.headers, request.path)
        raise
    _secure(response.headers, request.path)
    return response


class WebServer:
    """The web server of one application (webhook and/or dashboard)."""

    def __init__(
        self,
        application: HackbotApplication,
        *,
        webhook: bool,
        dashboard: bool = True,
        host: str | None = None,
        port: int | None = None,
        refresh_seconds: float = 5.0,
    ) -> None:
        """Build the aiohttp application; nothing listens before `start`."""
        settings = application.bot_data.services.settings
        self.application = application
        self.webhook = webhook
        self.host = host or settings.web_host
        self.port = settings.web_port if port is None else port
        self.refresh_seconds = refresh_seconds
        self.webhook_path = (
            urlsplit(settings.webhook_url).path if settings.webhook_url else ""
        ) or DEFAULT_WEBHOOK_PATH
        given = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        # Telegram allows 1-256 of A-Z a-z 0-9 _ -; token_urlsafe stays within that alphabet.
        self.secret = given or secrets.token_urlsafe(32)
        self.sign_in_key = store.signing_key(settings.bot_token())
        self.started_at: datetime | None = None
        self.webhook_updates = 0
        self.app = web.Application(client_max_size=MAX_UPDATE_BYTES, middlewares=[_security_headers])
        self.app[APPLICATION] = application
        self.app[SERVER] = self
        self.app.router.add_get("/healthz", self.healthz)
        if webhook:
            self.app.router.add_post(self.webhook_path, self.receive_update)
        if dashboard:
            from web.dashboard import Dashboard

            Dashboard(self).add_routes(self.app)
        self._runner: web.AppRunner | None = None

    @property
    def services(self) -> Services:
        """The application's services."""
        return self.application.bot_data.services

    # ---- addresses ---------------------------------------------------------------------------------

    @property
    def local_url(self) -> str:
        """Where this server listens (the real port once started, even when asked for port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Public base URL of the dashboard (`DASHBOARD_URL`, else where we listen)."""
        return (self.services.settings.dashboard_url or self.local_url).rstrip("/")

    def sign_in_url(self, token: str) -> str:
        """The link an organiser opens to sign in."""
        return f"{self.base_url}/signin/{token}"

    @property
    def webhook_url(self) -> str:
        """What we register with setWebhook: `WEBHOOK_URL`, else our own address (local Bot API servers)."""
        return self.services.settings.webhook_url or f"{self.local_url}{self.webhook_path}"

    # ---- life ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, then (webhook mode) tell Telegram where to post updates."""
        # No access log: sign-in URLs carry tokens, and logs carry no personal data.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        self.started_at = self.services.now()
        log.info("web server listening on %s (webhook: %s)", self.local_url, self.webhook)
        if self.webhook:
            await self.application.bot.set_webhook(
                url=self.webhook_url,
                secret_token=self.secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=WEBHOOK_MAX_CONNECTIONS,
            )
            log.info("webhook registered")

    async def stop(self) -> None:
        """Stop listening. The webhook stays registered: Telegram keeps updates until we are back."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- webhook -------------------------------------------------------------------------------------

    async def receive_update(self, request: web.Request) -> web.Response:
        """`POST <webhook path>`: check the secret, parse, queue, answer at once."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook request without the right secret token refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="body is not JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # any malformed field must give 400, never crash the server
            log.info("webhook update %s could not be parsed", update_id)
            return web.Response(status=400, text="malformed update")
        await self.application.update_queue.put(update)
        self.webhook_updates += 1
        return web.Response(text="ok")

    # ---- health --------------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        """`GET /healthz`: database reachable, scheduler running, last update time (no personal data)."""
        database_ok = True
        last_update: datetime | None = None
        try:
            async with self.services.db.read() as session:
                last_update = await store.last_update_at(session)
        except Exception:  # any database failure means "unhealthy", reported, not raised
            log.warning("health check: database unreachable")
            database_ok = False
        job_queue = self.application.job_queue
        scheduler_ok = bool(job_queue is not None and job_queue.scheduler.running)
        healthy = database_ok and scheduler_ok and self.application.running
        body: dict[str, Any] = {
            "status": "ok" if healthy else "unhealthy",
            "database": database_ok,
            "scheduler": scheduler_ok,
            "application": self.application.running,
            "mode": "webhook" if self.webhook else "polling",
            "last_update_at": last_update.isoformat() if last_update else None,
            "webhook_updates": self.webhook_updates,
        }
        return web.json_response(body, status=200 if healthy else 503)


def attach(
    application: HackbotApplication,
    *,
    webhook: bool = False,
    dashboard: bool = True,
    host: str | None = None,
    port: int | None = None,
    refresh_seconds: float = 5.0,
) -> WebServer:
    """Give the application a web server, started with the bot (see `start_attached`)."""
    server = WebServer(
        application,
        webhook=webhook,
        dashboard=dashboard,
        host=host,
        port=port,
        refresh_seconds=refresh_seconds,
    )
    application.bot_data.services.web_server = server
    return server


def attached(services: Services) -> WebServer | None:
    """The application's web server, if one was attached."""
    return services.web_server


async def start_attached(application: HackbotApplication) -> None:
    """Lifecycle step: start the attached server, if any.

    In polling mode a dashboard that cannot listen (port taken) is logged, and the bot runs on;
    in webhook mode the bot cannot work without it, so the error stops the start.
    """
    server = attached(application.bot_data.services)
    if server is None:
        return
    try:
        await server.start()
    except (OSError, TelegramError):
        if server.webhook:
            raise
        log.exception(
            "the dashboard could not start on %s:%s; the bot runs without it", server.host, server.port
        )
        await server.stop()


async def stop_attached(application: HackbotApplication) -> None:
    """Lifecycle step: stop the attached server, if any."""
    server = attached(application.bot_data.services)
    if server is not None:
        await server.stop()
