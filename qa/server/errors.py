"""The HTTP service's errors: each exception mapped to one JSON shape with the right status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.errors import (
    BackendError,
    BackendTimeoutError,
    ConfigError,
    EmptyIndexError,
    IngestError,
    InputError,
    NotFoundError,
    QAError,
    StoreError,
    redact,
)
from qa.server.models import ErrorOut

MB = 1024 * 1024


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give (any route can give 401, 403 and 500)."""
    return {status: {"model": ErrorOut} for status in sorted({*statuses, 401, 403, 500})}


_QA_ERRORS: tuple[tuple[type[QAError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (ConfigError, 400, "bad_request"),
    (IngestError, 400, "bad_request"),
    (InputError, 400, "bad_request"),
    (StoreError, 503, "store_unavailable"),
    (BackendError, 502, "backend_error"),
)
_HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "invalid_request",
}


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the server's limit of {limit / MB:g} MB")


def timed_out(exc: BaseException) -> bool:
    """Whether a failure was, somewhere down its chain of causes, a timeout."""
    import openai

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, TimeoutError | openai.APITimeoutError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def describe(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, error type, message) for an exception."""
    if isinstance(exc, EmptyIndexError):
        advice = "add some: POST /v1/documents with the files, or `qa ingest <folder>` on the server"
        return 409, "index_empty", f"the index holds no documents ({exc.where}); {advice}"
    if isinstance(exc, BackendTimeoutError) or (isinstance(exc, BackendError) and timed_out(exc)):
        return 504, "backend_timeout", str(exc)
    if isinstance(exc, HTTPException):
        return exc.status_code, _HTTP_TYPES.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)
    if isinstance(exc, QAError):
        return next(((s, t, str(exc)) for cls, s, t in _QA_ERRORS if isinstance(exc, cls)), (500, "qa_error", str(exc)))
    return 500, "internal_error", f"unexpected {type(exc).__name__} in the server; its log has the details"


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def secrets(request: Request) -> tuple[str | None, ...]:
    """The keys the server holds (the endpoint's, its own), never to be repeated in a response."""
    return tuple(getattr(request.app.state, "secrets", ()))


def shown(exc: BaseException, keys: Sequence[str | None]) -> tuple[int, str, str]:
    """`describe(exc)` with every key in `keys` taken out of the message."""
    status, kind, message = describe(exc)
    return status, kind, redact(message, *keys)


async def on_error(request: Request, exc: Exception) -> JSONResponse:
    status, kind, message = shown(exc, secrets(request))
    if status in (404, 405) and not isinstance(exc, QAError):  # the router's own "Not Found"
        path = request.url.path if len(request.url.path) <= 200 else f"{request.url.path[:200]}..."
        message = f"{message}: {request.method} {path} (GET /openapi.json lists the routes)"
    return error_response(status, kind, message)


async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
    problems = cast(Sequence[dict[str, Any]], exc.errors()) if isinstance(exc, RequestValidationError) else []
    message = "invalid request: " + "; ".join(f"{_where(p['loc'])}: {p['msg']}" for p in problems)
    content_type = request.headers.get("content-type", "")
    if any(tuple(p["loc"]) == ("body",) for p in problems) and "json" not in content_type:
        message += " (send the body as JSON with Content-Type: application/json, e.g. curl --json '{...}')"
    return error_response(422, "invalid_request", message)


def bad_http_request() -> bytes:
    """The whole HTTP response for a request the server cannot parse (malformed, or a request line or header
    too long for its parser), in the same JSON shape as every other error."""
    body = (
        b'{"error":{"type":"bad_request","message":"invalid HTTP request: malformed, or its URL or a header is '
        b'too long for the server"}}'
    )
    head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n"
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"
