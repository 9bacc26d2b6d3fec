"""The HTTP service's guard: auth, origin and size, checked before any route reads the body; the access log
kept free of query values (a key sent as `?api_key=...`)."""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.errors import TooLarge, describe, error_response

OPEN_PATHS = frozenset({"/healthz"})  # answered without the API key


class Guard:
    """Pure ASGI middleware. With an API key, every path but /healthz needs `Authorization: Bearer <key>`.
    Without one, browsers on other sites are refused (a web page could otherwise post uploads to a local
    server). Bodies over `max_body` bytes get 413, checked on the declared length and while streaming."""

    def __init__(self, app: ASGIApp, api_key: str | None, max_body: int) -> None:
        self.app = app
        self._key = api_key.encode() if api_key else None
        self._max = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Headers(scope=scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _refusal(self, headers: Headers) -> JSONResponse | None:
        if self._key is not None:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self._key):
                what = "a wrong API key" if token else "no API key"
                return error_response(
                    401, "unauthorized", f"{what}: send the header Authorization: Bearer <QA_API_KEY>"
                )
        elif (origin := headers.get("origin")) and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
            return error_response(403, "forbidden", f"cross-site browser requests (from {origin}) need QA_API_KEY set")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max:
            return error_response(*describe(TooLarge(self._max)))
        return None

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self._max:
                raise TooLarge(self._max)
            return message

        return counted


_QUERY_VALUE = re.compile(r"([?&][^=&#]*=)[^&#\s]*")


class QueryValues(logging.Filter):
    """Blanks the values of query parameters in uvicorn's access log lines: none of the routes takes one, and
    a client that sends its key as `?api_key=...` must not find it in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY_VALUE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def hide_query_values(logger: logging.Logger | None = None) -> None:
    """Install `QueryValues` on the access log (once)."""
    logger = logger or logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryValues) for f in logger.filters):
        logger.addFilter(QueryValues())
