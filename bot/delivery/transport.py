"""How requests reach the Bot API: PTB's `BaseRequest` over aiohttp's HTTP client.

PTB's default transport (`HTTPXRequest`) costs about 1.3-2.3 ms of CPU per request on a 2-core
machine, most of it in httpx and httpcore's pure-Python connection pool and HTTP/1.1 parser;
aiohttp's client, with its C parser, costs about 0.2 ms (measured against a local server, 300
requests at once, the client process only). When a room taps together, every tap is a toast and a
card edit, so the transport is most of a tap's CPU: it decides how long the 300th person waits.
aiohttp is already the stack's HTTP library (the dashboard and the webhook are served with it).

It behaves as `HTTPXRequest` does for PTB:

- parameters are sent form-encoded, or as multipart with the files when there are any;
- the same default timeouts (read 5 s, write 5 s, connect 5 s, pool 1 s, 20 s to write a file);
  aiohttp has no pool or write timeout of its own, so waiting for a free connection and connecting
  share one budget (pool + connect), and a whole request is bounded by the sum of its timeouts;
- a timeout raises `telegram.error.TimedOut`, any other client error `telegram.error.NetworkError`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """A pool of keep-alive connections to the Bot API, created when the bot is initialised."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # aiohttp wants its session created inside the running event loop: see `initialize`.
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds the long-polling time to it for `getUpdates`)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool (again, after a shut-down)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
            headers = {"User-Agent": self.USER_AGENT}
            self._session = aiohttp.ClientSession(connector=connector, headers=headers)

    async def shutdown(self) -> None:
        """Close every connection."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; its HTTP status and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None else None
        parameters = request_data.json_parameters if request_data is not None else {}
        timeout = self._timeout(
            read=self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout,
            write=(self._media_write_timeout if files else self._write_timeout)
            if isinstance(write_timeout, DefaultValue)
            else write_timeout,
            connect=self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout,
            pool=self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body: Any
        headers: dict[str, str] | None = None
        if files:
            body = aiohttp.FormData(quote_fields=False)
            for name, value in parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                body.add_field(name, content, filename=filename, content_type=mimetype)
        elif parameters:
            body, headers = urlencode(parameters), _FORM
        else:
            body = None
        try:
            request = self._session.request(method, url, data=body, headers=headers, timeout=timeout)
            async with request as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(
                "Pool timeout: no free connection, or no connection made, in time. "
                "Request was *not* sent to Telegram."
            ) from error
        except TimeoutError as error:  # aiohttp's read and total timeouts
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error

    @staticmethod
    def _timeout(
        *, read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        parts = (read, write, connect, pool)
        return aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
