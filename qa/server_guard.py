"""The HTTP service's guard: auth, origin and size, checked before any route reads the body."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server_errors import TooLarge, describe, error_response

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
