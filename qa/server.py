"""The HTTP service: REST routes over one `QA`, JSON errors, bearer-key auth, and `serve` to run it.

`create_app(qa)` builds the FastAPI app (the OpenAI-compatible routes live in `qa.server_openai`); `serve`
builds the pipeline from settings and runs uvicorn; `running` serves an app from a background thread (tests,
benchmarks, notebooks). The pipeline is synchronous, so every call into it runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Depends, FastAPI, File, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api import QA
from qa.errors import BackendError, ConfigError, IngestError, NotFoundError, QAError, StoreError
from qa.ingest import display_source
from qa.loaders import load
from qa.records import Answer, DocInfo, IngestReport
from qa.settings import Settings

__all__ = ["create_app", "running", "serve"]

log = logging.getLogger(__name__)
MB = 1024 * 1024
OPEN_PATHS = frozenset({"/healthz"})  # answered without the API key
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
Backend = Literal["auto", "openai", "llama", "extractive"]
Event = str | Answer


# --- the wire shapes (the OpenAPI schema is generated from these) -----------------------------------------


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="the question; an empty one is a 400")
    history: list[Turn] = Field(default_factory=list, description="earlier turns of the conversation, oldest first")
    k: int | None = Field(default=None, ge=1, le=100, description="passages to answer from (default: QA_K)")
    backend: Backend | None = Field(default=None, description="who writes the answer (default: QA_BACKEND)")
    strict: bool | None = Field(default=None, description="refuse if any sentence is unsupported (default: QA_STRICT)")
    stream: bool = Field(default=False, description="server-sent events: `delta`s, then one `answer` (or `error`)")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    source: str
    start: int = Field(description="where the quote starts in the document's text")
    end: int
    page: int | None
    quote: str = Field(description="the document's text[start:end], verbatim")


class AnswerOut(BaseModel):
    """Exactly what `qa ask --json` prints."""

    question: str
    answer: str = Field(description="the answer with [n] citation markers, or the refusal")
    refused: bool
    backend: str
    model: str | None
    citations: list[CitationOut]
    unsupported: list[str] = Field(description="sentences of the answer that no passage supports")
    dropped_citations: int
    passages_left_out: int
    standalone_question: str | None
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    k: int | None = Field(default=None, ge=1, le=100, description="passages to return (default: QA_K)")
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"


class HitOut(BaseModel):
    chunk_id: str
    doc_id: str
    source: str
    start: int
    end: int
    page: int | None
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    text: str = Field(description="the document's text[start:end]")


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class DocumentsOut(BaseModel):
    documents: list[DocInfo]


class FileProblem(BaseModel):
    source: str
    reason: str


class ReportOut(BaseModel):
    """What an ingest or removal did, as `qa ingest --json` prints it."""

    added: list[str]
    unchanged: list[str]
    updated: list[str]
    removed: list[str]
    failed: list[FileProblem]
    skipped: list[FileProblem]
    chunks_added: int
    chunks_removed: int


class Check(BaseModel):
    ok: bool
    detail: str


class ReadyOut(BaseModel):
    ready: bool
    checks: dict[str, Check]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give (any route can give 401, 403 and 500)."""
    return {status: {"model": ErrorOut} for status in sorted({*statuses, 401, 403, 500})}


# --- errors: one JSON shape, the right status ----------------------------------------------------------

_QA_ERRORS: tuple[tuple[type[QAError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (ConfigError, 400, "bad_request"),
    (IngestError, 400, "bad_request"),
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
    if isinstance(exc, BackendError) and timed_out(exc):
        return 504, "backend_timeout", str(exc)
    if isinstance(exc, HTTPException):
        return exc.status_code, _HTTP_TYPES.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)
    if isinstance(exc, QAError):
        return next(((s, t, str(exc)) for cls, s, t in _QA_ERRORS if isinstance(exc, cls)), (500, "qa_error", str(exc)))
    return 500, "internal_error", f"unexpected {type(exc).__name__} in the server; its log has the details"


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    status, kind, message = describe(exc)
    if status in (404, 405) and not isinstance(exc, QAError):  # the router's own "Not Found"
        message = f"{message}: {request.method} {request.url.path} (GET /openapi.json lists the routes)"
    return error_response(status, kind, message)


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    problems = cast(Sequence[dict[str, Any]], exc.errors()) if isinstance(exc, RequestValidationError) else []
    message = "invalid request: " + "; ".join(f"{_where(p['loc'])}: {p['msg']}" for p in problems)
    content_type = request.headers.get("content-type", "")
    if any(tuple(p["loc"]) == ("body",) for p in problems) and "json" not in content_type:
        message += " (send the body as JSON with Content-Type: application/json, e.g. curl --json '{...}')"
    return error_response(422, "invalid_request", message)


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


# --- the guard: auth, origin and size, before any route reads the body --------------------------------


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


# --- the service: one pipeline, the uploads folder, and the locks around them ---------------------------


def _next(events: Iterator[Event]) -> Event | None:
    return next(events, None)


def _file_name(raw: str | None) -> str | None:
    """The upload's own name without any folder part; None if nothing usable is left."""
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name if name and len(name.encode()) <= 200 else None


class Service:
    """One `QA` per process and what the routes need around it.

    Answering and searching run concurrently in worker threads; ingestion and removal take turns (one lock);
    answers by the in-process llama.cpp backend take turns too, because a llama.cpp model is not thread-safe.
    """

    def __init__(self, qa: QA) -> None:
        self.qa = qa
        self.uploads = qa.settings.home / "uploads" / qa.settings.collection
        self._writing = threading.Lock()
        self._llama = anyio.Lock()

    def _turn(self, backend: str | None) -> AbstractAsyncContextManager[Any]:
        settings = replace(self.qa.settings, backend=backend or self.qa.settings.backend)
        return self._llama if settings.resolved_backend() == "llama" else contextlib.nullcontext()

    async def ask(self, question: str, history: Sequence[dict[str, str]], **options: Any) -> Answer:
        async with self._turn(options.get("backend")):
            return await run_in_threadpool(self.qa.ask, question, history, **options)

    async def stream(
        self, question: str, history: Sequence[dict[str, str]], **options: Any
    ) -> AsyncGenerator[Event, None]:
        """`ask_stream`'s events; each step runs in a worker thread."""
        async with self._turn(options.get("backend")):
            events = self.qa.ask_stream(question, history, **options)
            try:
                while (event := await run_in_threadpool(_next, events)) is not None:
                    yield event
            finally:  # a client that left: unwind the pipeline's generator (and its model stream) now
                getattr(events, "close", lambda: None)()

    def add(self, files: Sequence[UploadFile]) -> IngestReport:
        """Save the uploads that load into the uploads folder and ingest them; the rest are `failed`."""
        with self._writing:
            self.uploads.mkdir(parents=True, exist_ok=True)
            saved: list[Path] = []
            failed: list[tuple[str, str]] = []
            for upload in files:
                outcome = self._save(upload)
                if isinstance(outcome, Path):
                    saved.append(outcome)
                else:
                    failed.append(outcome)
            report = self.qa.ingest(saved) if saved else IngestReport()
            report.failed[:0] = failed
            return report

    def _save(self, upload: UploadFile) -> Path | tuple[str, str]:
        """The file at its place in the uploads folder if it loads; else (source, reason), nothing replaced."""
        name = _file_name(upload.filename)
        if name is None:
            return upload.filename or "(no name)", "the upload has no usable file name"
        target = self.uploads / name
        staging = self.uploads / f".upload-{uuid.uuid4().hex}{target.suffix}"
        try:
            with staging.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            load(staging, self.qa.settings.max_file_bytes)  # the ingest's own checks, with its messages
            os.replace(staging, target)
        except IngestError as exc:
            return display_source(target), exc.reason
        finally:
            staging.unlink(missing_ok=True)
        return target

    def remove(self, doc_id: str) -> IngestReport:
        """Remove a document and its chunks; an uploaded document's file goes too."""
        with self._writing:
            info = next((d for d in self.qa.documents() if d.doc_id == doc_id), None)
            if info is None:
                raise NotFoundError(f"no document {doc_id!r} in the index; GET /v1/documents lists them")
            report = self.qa.remove(doc_id)
            if Path(info.path).parent == self.uploads.resolve():
                Path(info.path).unlink(missing_ok=True)
            return report

    def readiness(self) -> dict[str, dict[str, Any]]:
        return {"store": self._store_check(), "backend": backend_check(self.qa.settings)}

    def _store_check(self) -> dict[str, Any]:
        where = self.qa.settings.chroma_url or f"embedded in {self.qa.settings.home}"
        try:
            self.qa.store.revision()
        except Exception as exc:  # whatever the store raises, the probe reports it
            return {"ok": False, "detail": f"the Chroma collection ({where}) does not answer: {exc}"}
        return {"ok": True, "detail": f"the Chroma collection {self.qa.settings.collection!r} ({where}) answers"}


def backend_check(settings: Settings) -> dict[str, Any]:
    """Whether the default backend can answer, checked without generating anything."""
    backend = settings.resolved_backend()
    if backend == "extractive":
        return {"ok": True, "detail": "extractive: no model to reach"}
    if backend == "llama":
        import importlib.util

        from qa.generators import smollm2_path

        path = settings.llm_model_path or smollm2_path()
        ok = importlib.util.find_spec("llama_cpp") is not None and path is not None and path.is_file()
        return {"ok": ok, "detail": f"llama: llama-cpp-python installed and model file {path} present: {ok}"}
    return _endpoint_check(settings)


def _endpoint_check(settings: Settings) -> dict[str, Any]:
    import openai

    url = settings.openai_base_url or "https://api.openai.com/v1"
    client = openai.OpenAI(
        base_url=url, api_key=settings.openai_api_key or "not-needed", timeout=min(settings.timeout, 5), max_retries=0
    )
    try:
        client.models.list()
    except openai.APIStatusError as exc:  # it answered; only a refused key means it cannot serve us
        if exc.status_code in (401, 403):
            return {"ok": False, "detail": f"openai: {url} rejected the API key (HTTP {exc.status_code})"}
    except openai.APIError as exc:
        return {"ok": False, "detail": f"openai: GET {url}/models failed: {exc}"}
    finally:
        client.close()
    return {"ok": True, "detail": f"openai: GET {url}/models answered"}


def _service(request: Request) -> Service:
    return cast(Service, request.app.state.service)


Svc = Annotated[Service, Depends(_service)]


# --- routes -----------------------------------------------------------------------------------------

router = APIRouter()
health = APIRouter()


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _as_event(event: Event) -> bytes:
    return sse(event.to_dict(), "answer") if isinstance(event, Answer) else sse({"text": event}, "delta")


async def _ask_events(first: Event, rest: AsyncGenerator[Event, None]) -> AsyncIterator[bytes]:
    try:
        yield _as_event(first)
        async for event in rest:
            yield _as_event(event)
    except Exception as exc:  # the backend failed after the stream began: the status is sent, so say it here
        status, kind, message = describe(exc)
        if status == 500:
            log.exception("unexpected error while streaming an answer")
        yield sse({"error": {"type": kind, "message": message}}, "error")
    finally:
        await rest.aclose()


_SSE_DOC = {"text/event-stream": {"schema": {"type": "string"}, "example": 'event: delta\ndata: {"text": "..."}\n\n'}}


@router.post(
    "/v1/ask", response_model=AnswerOut, responses={200: {"content": _SSE_DOC}, **error_docs(400, 422, 502, 504)}
)
async def ask(body: AskRequest, service: Svc) -> Any:
    """A grounded answer. With `stream: true`: server-sent events `delta` ({"text"}) as the backend writes,
    then one `answer` (this same object, authoritative: markers renumbered, refusals normalised), or `error`."""
    history = [turn.model_dump() for turn in body.history]
    options = {"backend": body.backend, "k": body.k, "strict": body.strict}
    if not body.stream:
        return (await service.ask(body.question, history, **options)).to_dict()
    events = service.stream(body.question, history, **options)
    first = await anext(events)  # a failure before the first event is still an HTTP error status
    return StreamingResponse(_ask_events(first, events), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/v1/search", response_model=SearchOut, responses=error_docs(400, 422))
async def search(body: SearchRequest, service: Svc) -> dict[str, Any]:
    """The passages that best match the query, best first, with their offsets."""
    if not body.query.strip():
        raise HTTPException(400, "the query is empty")
    hits = await run_in_threadpool(service.qa.search, body.query, body.k, body.mode)
    return {"query": body.query, "hits": [hit.to_dict() for hit in hits]}


@router.get("/v1/documents", response_model=DocumentsOut, responses=error_docs())
async def documents(service: Svc) -> dict[str, Any]:
    return {"documents": [d.to_dict() for d in await run_in_threadpool(service.qa.documents)]}


@router.post("/v1/documents", response_model=ReportOut, responses=error_docs(413, 422))
async def upload(
    service: Svc, files: Annotated[list[UploadFile], File(description="one or more .txt .md .html .pdf files")]
) -> dict[str, object]:
    """Save the files in the server's uploads folder and ingest them (idempotent); bad files are `failed`."""
    return (await run_in_threadpool(service.add, files)).to_dict()


@router.delete("/v1/documents/{doc_id}", response_model=ReportOut, responses=error_docs(404, 422))
async def remove(doc_id: str, service: Svc) -> dict[str, object]:
    return (await run_in_threadpool(service.remove, doc_id)).to_dict()


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}, **error_docs()})
async def readyz(service: Svc) -> JSONResponse:
    """Whether the store answers and the default backend can: the LLM endpoint's GET /models (openai), the
    model file (llama), nothing (extractive)."""
    checks = await run_in_threadpool(service.readiness)
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@health.get("/healthz", response_model=HealthOut)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (no auth, touches nothing)."""
    return {"status": "ok"}


# --- the app, and running it ----------------------------------------------------------------------------


def create_app(qa: QA, *, api_key: str | None = None, max_upload_mb: float = 50) -> FastAPI:
    """The HTTP API over one pipeline. `api_key` (from QA_API_KEY at the edge) turns on bearer auth;
    request bodies over `max_upload_mb` get 413."""
    from qa.server_openai import router as openai_router  # imported here: it builds on this module

    app = FastAPI(
        title="qa",
        summary="Ask questions of your documents; every answer quotes its sources.",
        version="1",
        docs_url=None,  # the docs pages load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.service = Service(qa)
    secured = [Security(HTTPBearer(auto_error=False, description="QA_API_KEY"))] if api_key else []
    app.include_router(health)
    app.include_router(router, dependencies=secured)
    app.include_router(openai_router, dependencies=secured)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    for kind in (HTTPException, QAError, Exception):
        app.add_exception_handler(kind, _on_error)
    app.add_middleware(Guard, api_key=api_key or None, max_body=int(max_upload_mb * MB))
    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or a ConfigError saying what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}; choose another --port or --host") from exc


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Iterator[str]:
    """Serve `app` with uvicorn from a background thread until the block ends; yields the base URL.
    `port=0` picks a free port; `options` go to `uvicorn.Config`."""
    import uvicorn

    sock = listen(host, port)
    settings: dict[str, Any] = {"log_config": None, "log_level": "warning", "lifespan": "off"}
    settings["timeout_graceful_shutdown"] = 5
    server = uvicorn.Server(uvicorn.Config(app, **{**settings, **options}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="qa-server", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting; see its log")
            time.sleep(0.01)
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None) -> None:
    """Build the pipeline from `settings` and serve it on host:port until interrupted (Ctrl-C)."""
    import uvicorn

    sock = listen(host, port)  # before loading anything: a taken port fails at once
    qa = QA(settings)
    try:
        qa.search("warm up", k=1)  # load the embedding model and the BM25 index before the first request
    except QAError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    count, auth = len(qa.documents()), "on" if api_key else "off (set QA_API_KEY to require a key)"
    print(f"qa: {count} document(s) in {settings.home} ({settings.collection}); backend "
          f"{settings.resolved_backend()}; auth {auth}; stop with Ctrl-C", file=sys.stderr)  # fmt: skip
    if not api_key and not _loopback(host):
        print(f"warning: serving {host} without QA_API_KEY: anyone who can reach it can read and change the index",
              file=sys.stderr)  # fmt: skip
    app = create_app(qa, api_key=api_key, max_upload_mb=settings.max_file_mb)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="off", timeout_graceful_shutdown=10))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server is stopped, not an error
        server.run(sockets=[sock])
