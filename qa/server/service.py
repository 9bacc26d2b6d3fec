"""The HTTP service's pipeline: one `QA`, its uploads (`qa.uploads`) and locks, and readiness checks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Annotated, Any, cast

import anyio
from fastapi import Depends, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from qa.api import QA
from qa.errors import ConfigError, redact
from qa.records import Answer, Event, IngestReport, Turn
from qa.settings import OPENAI_URL, Settings
from qa.uploads import Upload, Uploads


def _next(events: Iterator[Event]) -> Event | None:
    return next(events, None)


class Service:
    """One `QA` per process and what the routes need around it.

    Answering and searching run concurrently in worker threads; ingestion and removal take turns (one lock);
    answers by the in-process llama.cpp backend take turns too, because a llama.cpp model is not thread-safe.
    """

    def __init__(self, qa: QA) -> None:
        self.qa = qa
        self.uploads = Uploads(qa)
        self._llama = anyio.Lock()

    def _turn(self, backend: str | None) -> AbstractAsyncContextManager[Any]:
        settings = replace(self.qa.settings, backend=backend or self.qa.settings.backend)
        return self._llama if settings.resolved_backend() == "llama" else contextlib.nullcontext()

    async def ask(self, question: str, history: Sequence[Turn], **options: Any) -> Answer:
        async with self._turn(options.get("backend")):
            return await run_in_threadpool(self.qa.ask, question, history, **options)

    async def stream(self, question: str, history: Sequence[Turn], **options: Any) -> AsyncGenerator[Event, None]:
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
        return self.uploads.add([Upload(upload.filename, upload.file) for upload in files])

    def remove(self, doc_id: str) -> IngestReport:
        """Remove a document and its chunks; an uploaded document's file goes too."""
        return self.uploads.remove(doc_id, listed_by="GET /v1/documents")

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

        from qa.llm.llama import smollm2_path

        path = settings.llm_model_path or smollm2_path()
        ok = importlib.util.find_spec("llama_cpp") is not None and path is not None and path.is_file()
        return {"ok": ok, "detail": f"llama: llama-cpp-python installed and model file {path} present: {ok}"}
    return _endpoint_check(settings)


def _endpoint_check(settings: Settings) -> dict[str, Any]:
    import openai

    from qa.backends import require_endpoint

    try:
        require_endpoint(settings, "openai: the backend")
    except ConfigError as exc:  # nothing to ask, and no request to the public API on a guess
        return {"ok": False, "detail": str(exc)}
    url = settings.openai_base_url or OPENAI_URL
    client = openai.OpenAI(
        base_url=url, api_key=settings.openai_api_key or "not-needed", timeout=min(settings.timeout, 5), max_retries=0
    )
    try:
        client.models.list()
    except openai.APIStatusError as exc:  # it answered; only a refused key means it cannot serve us
        if exc.status_code in (401, 403):
            return {"ok": False, "detail": f"openai: {url} rejected the API key (HTTP {exc.status_code})"}
    except openai.APIError as exc:
        return {"ok": False, "detail": redact(f"openai: GET {url}/models failed: {exc}", settings.openai_api_key)}
    finally:
        client.close()
    return {"ok": True, "detail": f"openai: GET {url}/models answered"}


def _service(request: Request) -> Service:
    return cast(Service, request.app.state.service)


Svc = Annotated[Service, Depends(_service)]
