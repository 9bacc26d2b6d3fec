"""The HTTP service: REST routes over one `QA`, JSON errors, bearer-key auth, and `serve` to run it.

`create_app(qa)` builds the FastAPI app (the OpenAI-compatible routes live in `qa.server.openai_chat`); `serve`
builds the pipeline from settings and runs uvicorn; `running` serves an app from a background thread (tests,
benchmarks, notebooks). The pipeline is synchronous, so every call into it runs in a worker thread.
The wire shapes are in `qa.server.models`, the error mapping in `qa.server.errors`, auth, size limits and the
access log's hidden query values in `qa.server.guard`, and the pipeline with its locks and readiness checks in
`qa.server.service`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qa.answer_log import AnswerLog, log_answer
from qa.api import QA
from qa.errors import ConfigError, QAError, redact
from qa.records import Answer, Event, IngestReportJSON

# `name as name`: re-exported for the modules, tests and benchmarks that import them from here
from qa.server.errors import MB, bad_http_request, on_error, on_invalid, shown
from qa.server.errors import error_docs as error_docs
from qa.server.guard import Guard, hide_query_values
from qa.server.models import SSE_HEADERS as SSE_HEADERS
from qa.server.models import AnswerOut as AnswerOut
from qa.server.models import (
    AskRequest,
    DocumentsOut,
    FeedbackOut,
    FeedbackRequest,
    HealthOut,
    ReadyOut,
    SearchOut,
    SearchRequest,
    answer_out,
)
from qa.server.models import ReportOut as ReportOut
from qa.server.models import sse as sse
from qa.server.openai_chat import router as openai_router
from qa.server.service import Service
from qa.server.service import Svc as Svc
from qa.settings import Settings

__all__ = ["create_app", "running", "serve"]

log = logging.getLogger(__name__)


# --- routes -----------------------------------------------------------------------------------------

router = APIRouter()
health = APIRouter()


def _answer_log(request: Request) -> AnswerLog | None:
    answers: AnswerLog | None = request.app.state.answer_log
    return answers


async def _as_event(event: Event, answers: AnswerLog | None) -> bytes:
    if not isinstance(event, Answer):
        return sse({"text": event}, "delta")
    return sse(answer_out(event, await run_in_threadpool(log_answer, answers, event)), "answer")


async def _ask_events(
    first: Event, rest: AsyncGenerator[Event, None], keys: tuple[str | None, ...], answers: AnswerLog | None
) -> AsyncIterator[bytes]:
    try:
        yield await _as_event(first, answers)
        async for event in rest:
            yield await _as_event(event, answers)
    except Exception as exc:  # the backend failed after the stream began: the status is sent, so say it here
        status, kind, message = shown(exc, keys)
        if status == 500:
            log.exception("unexpected error while streaming an answer")
        yield sse({"error": {"type": kind, "message": message}}, "error")
    finally:
        await rest.aclose()


_SSE_DOC = {"text/event-stream": {"schema": {"type": "string"}, "example": 'event: delta\ndata: {"text": "..."}\n\n'}}


@router.post(
    "/v1/ask",
    response_model=AnswerOut,
    responses={200: {"content": _SSE_DOC}, **error_docs(400, 404, 409, 422, 502, 504)},
)
async def ask(body: AskRequest, service: Svc, request: Request) -> Any:
    """A grounded answer. With `stream: true`: server-sent events `delta` ({"text"}) as the backend writes,
    then one `answer` (this same object, authoritative: markers renumbered, refusals normalised), or `error`."""
    history = body.history
    options: dict[str, Any] = {"backend": body.backend, "k": body.k, "strict": body.strict}
    options |= {"docs": body.docs, "exclude_docs": body.exclude_docs}
    answers = _answer_log(request)
    if not body.stream:
        answer = await service.ask(body.question, history, **options)
        return answer_out(answer, await run_in_threadpool(log_answer, answers, answer))
    events = service.stream(body.question, history, **options)
    first = await anext(events)  # a failure before the first event is still an HTTP error status
    keys = tuple(request.app.state.secrets)
    stream = _ask_events(first, events, keys, answers)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/v1/feedback", response_model=FeedbackOut, responses=error_docs(400, 404, 422))
async def feedback(body: FeedbackRequest, request: Request) -> dict[str, Any]:
    """A reader's verdict on a logged answer: thumbs up or down, the right answer in their words, or that the
    documents do not answer it. `qa log export` turns rated answers into a question set for `qa eval`."""
    answers = _answer_log(request)
    if answers is None:
        raise ConfigError("this server keeps no answer log (QA_LOG is off), so there is nothing to rate")
    await run_in_threadpool(answers.verdict, body.answer_id, body.good, body.correction, body.should_refuse)
    return {"answer_id": body.answer_id, "recorded": True}


@router.post("/v1/search", response_model=SearchOut, responses=error_docs(400, 404, 409, 422))
async def search(body: SearchRequest, service: Svc) -> dict[str, Any]:
    """The passages that best match the query, best first, with their offsets."""
    if not body.query.strip():
        raise HTTPException(400, "the query is empty")
    only = {"docs": body.docs, "exclude_docs": body.exclude_docs}
    hits = await run_in_threadpool(service.qa.search, body.query, body.k, body.mode, **only)
    return {"query": body.query, "hits": [hit.to_dict() for hit in hits]}


@router.get("/v1/documents", response_model=DocumentsOut, responses=error_docs())
async def documents(service: Svc) -> dict[str, Any]:
    return {"documents": [d.to_dict() for d in await run_in_threadpool(service.qa.documents)]}


@router.post("/v1/documents", response_model=ReportOut, responses=error_docs(413, 422))
async def upload(
    service: Svc, files: Annotated[list[UploadFile], File(description="one or more .txt .md .html .pdf files")]
) -> IngestReportJSON:
    """Save the files in the server's uploads folder and ingest them (idempotent); bad files are `failed`."""
    return (await run_in_threadpool(service.add, files)).to_dict()


@router.delete("/v1/documents/{doc_id}", response_model=ReportOut, responses=error_docs(404, 422))
async def remove(doc_id: str, service: Svc) -> IngestReportJSON:
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


def create_app(
    qa: QA, *, api_key: str | None = None, max_upload_mb: float = 50, answer_log: AnswerLog | None = None
) -> FastAPI:
    """The HTTP API over one pipeline. `api_key` (from QA_API_KEY at the edge) turns on bearer auth;
    request bodies over `max_upload_mb` get 413; with `answer_log`, every answer is recorded there and
    `POST /v1/feedback` rates it."""
    app = FastAPI(
        title="qa",
        summary="Ask questions of your documents; every answer quotes its sources.",
        version="1",
        docs_url=None,  # the docs pages load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.service = Service(qa)
    app.state.answer_log = answer_log
    app.state.secrets = (qa.settings.openai_api_key, api_key)  # never repeated in a response
    secured = [Security(HTTPBearer(auto_error=False, description="QA_API_KEY"))] if api_key else []
    app.include_router(health)
    app.include_router(router, dependencies=secured)
    app.include_router(openai_router, dependencies=secured)
    app.add_exception_handler(RequestValidationError, on_invalid)
    for kind in (HTTPException, QAError, Exception):
        app.add_exception_handler(kind, on_error)
    app.add_middleware(Guard, api_key=api_key or None, max_body=int(max_upload_mb * MB))
    return app


def _protocol() -> type[Any]:
    """uvicorn's HTTP protocol, answering a request it cannot parse (a 100 KB URL, say) with the JSON error
    shape of every other error instead of its plain-text 400."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class JSONErrors(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        def send_400_response(self, msg: str) -> None:
            self.transport.write(bad_http_request())
            self.transport.close()

    return JSONErrors


def _config(app: FastAPI, **options: Any) -> Any:
    """uvicorn's configuration for `app`: JSON errors for unparsable requests, no query values in the log."""
    import uvicorn

    config = uvicorn.Config(app, http=_protocol(), **options)
    hide_query_values()
    return config


def listen(host: str, port: int, advice: str = "choose another --port or --host") -> socket.socket:
    """A listening socket, or a ConfigError saying what to do (`advice`: the options the caller has)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}; {advice}") from exc


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
    server = uvicorn.Server(_config(app, **{**settings, **options}))
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
        qa.warm()  # load the embedding model and the indexes before the first request
    except QAError as exc:
        print(f"warning: {redact(str(exc), settings.openai_api_key, api_key)}", file=sys.stderr)
    count, auth = len(qa.documents()), "on" if api_key else "off (set QA_API_KEY to require a key)"
    print(f"qa: {count} document(s) in {settings.home} ({settings.collection}); backend "
          f"{settings.resolved_backend()}; auth {auth}; stop with Ctrl-C", file=sys.stderr)  # fmt: skip
    if not api_key and not _loopback(host):
        print(f"warning: serving {host} without QA_API_KEY: anyone who can reach it can read and change the index",
              file=sys.stderr)  # fmt: skip
    answer_log = AnswerLog.at(settings.home) if settings.log else None
    app = create_app(qa, api_key=api_key, max_upload_mb=settings.max_file_mb, answer_log=answer_log)
    server = uvicorn.Server(_config(app, log_level="info", lifespan="off", timeout_graceful_shutdown=10))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server is stopped, not an error
        server.run(sockets=[sock])
