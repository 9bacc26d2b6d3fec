"""OpenAI-compatible chat over the same pipeline: `POST /v1/chat/completions` and `GET /v1/models`.

Point any OpenAI client's `base_url` at `http://HOST:PORT/v1`. The last message is the question (it must be
the user's); earlier user and assistant messages are the history; system messages and sampling options are
accepted and ignored. The reply's content is the checked answer with its [n] markers, then a "Sources:" list
(each quote with its document and offsets), so a client that ignores extras still shows the sources; the
extra top-level field `qa` carries the whole answer as `POST /v1/ask` returns it.

A streamed reply carries exactly the same content: the answer's text, then the sources as a final content
chunk, then a chunk with `finish_reason` and `qa`, then `data: [DONE]`. It starts once the answer is checked
(a model's raw text can cite passages that grounding renumbers or drops, and what a chat client has shown it
cannot take back); `POST /v1/ask` with `stream: true` gives a model's text as it writes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qa.answer_log import log_answer
from qa.records import Answer, Turn
from qa.server.errors import error_docs
from qa.server.models import DOCS, EXCLUDE_DOCS, SSE_HEADERS, AnswerOut, DocNames, answer_out, sse
from qa.server.service import Svc
from qa.settings import Backend

__all__ = ["MODEL_ID", "router"]

MODEL_ID = "qa"
SOURCES = "\n\nSources:\n"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's request body; `model`, `temperature`, `max_tokens` and the rest are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    k: int | None = Field(default=None, ge=1, le=100, description="qa extension: passages to answer from")
    backend: Backend | None = Field(default=None, description="qa extension: who writes the answer")
    strict: bool | None = Field(
        default=None,
        description="qa extension: refuse unsupported sentences; extractive: answer only at odds of 0.3 or more",
    )
    docs: DocNames | None = Field(default=None, description=f"qa extension: {DOCS}")
    exclude_docs: DocNames | None = Field(default=None, description=f"qa extension: {EXCLUDE_DOCS}")


class MessageOut(BaseModel):
    role: Literal["assistant"]
    content: str


class ChoiceOut(BaseModel):
    index: int
    message: MessageOut
    finish_reason: Literal["stop"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: Usage
    qa: AnswerOut = Field(description="the whole answer, citations included, as POST /v1/ask returns it")


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]


def _text(message: ChatMessage) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        text = "\n".join(part.text for part in content if part.type == "text" and part.text)
    return text.split(SOURCES)[0] if message.role == "assistant" else text  # our own sources list is not a turn


def split(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message) and the conversation before it (user and assistant turns)."""
    if messages[-1].role != "user":
        raise HTTPException(400, f"the last message must be the user's question, not a {messages[-1].role!r} one")
    history = [Turn(m.role, _text(m)) for m in messages[:-1] if m.role == "user" or m.role == "assistant"]
    return _text(messages[-1]), history


def sources(answer: Answer) -> str:
    """The citations as a reader sees them: number, document, page, offsets and the quote."""
    lines = [c.line() for c in answer.citations]
    return SOURCES + "\n".join(lines) if lines else ""


def _usage(answer: Answer) -> dict[str, int]:
    tokens = answer.prompt_tokens, answer.completion_tokens
    return {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)}


def completion(answer: Answer, ident: str, created: int, answer_id: str | None = None) -> dict[str, Any]:
    """A `chat.completion` object for the answer."""
    message = {"role": "assistant", "content": answer.text + sources(answer)}
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(answer),
        "qa": answer_out(answer, answer_id),
    }


def chunks(answer: Answer, ident: str, created: int, usage: bool = False, answer_id: str | None = None) -> list[bytes]:
    """The answer as `chat.completion.chunk` events: role, text, sources, finish (with `qa`), [usage,] [DONE]."""

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        head = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID}
        return sse({**head, "choices": [choice], **extra})

    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": answer.text})]
    if answer.citations:
        events.append(chunk({"content": sources(answer)}))
    events.append(chunk({}, "stop", qa=answer_out(answer, answer_id)))
    if usage:
        head = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID}
        events.append(sse({**head, "choices": [], "usage": _usage(answer)}))
    return [*events, b"data: [DONE]\n\n"]


async def _send(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event


router = APIRouter()
_SSE_DOC = {"text/event-stream": {"schema": {"type": "string"}, "example": "data: {...chunk...}\n\ndata: [DONE]\n\n"}}


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": _SSE_DOC}, **error_docs(400, 404, 409, 422, 502, 504)},
)
async def chat_completions(body: ChatRequest, service: Svc, request: Request) -> Any:
    """OpenAI's chat completion: the answer with [n] markers and its sources listed, plus the field `qa`."""
    question, history = split(body.messages)
    only = {"docs": body.docs, "exclude_docs": body.exclude_docs}
    answer = await service.ask(question, history, backend=body.backend, k=body.k, strict=body.strict, **only)
    answer_id = await run_in_threadpool(log_answer, request.app.state.answer_log, answer)
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if not body.stream:
        return completion(answer, ident, created, answer_id)
    usage = body.stream_options is not None and body.stream_options.include_usage
    return StreamingResponse(
        _send(chunks(answer, ident, created, usage, answer_id)), media_type="text/event-stream", headers=SSE_HEADERS
    )


@router.get("/v1/models", response_model=ModelList, responses=error_docs())
async def models() -> dict[str, Any]:
    """The one model: `qa` (the server's configured backend answers; `qa.backend` in a reply says which)."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}]}
