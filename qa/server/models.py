"""The HTTP service's wire shapes: the pydantic request and response bodies, and server-sent event framing."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa.records import Answer, DocInfo
from qa.settings import Backend

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# --- the wire shapes (the OpenAPI schema is generated from these) -----------------------------------------


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


DocNames = Annotated[list[Annotated[str, Field(max_length=4096)]], Field(min_length=1, max_length=1000)]
DOCS = (
    "only from these documents, each named by its id, its path or a glob on the path such as 'handbook/*.md' "
    "(a name that matches no document is a 404; GET /v1/documents lists them). Default: every document"
)
EXCLUDE_DOCS = "never from these documents, named as in `docs`"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="the question; an empty one is a 400")
    history: list[Turn] = Field(default_factory=list, description="earlier turns of the conversation, oldest first")
    k: int | None = Field(default=None, ge=1, le=100, description="passages to answer from (default: QA_K)")
    backend: Backend | None = Field(default=None, description="who writes the answer (default: QA_BACKEND)")
    strict: bool | None = Field(default=None, description="refuse if any sentence is unsupported (default: QA_STRICT)")
    stream: bool = Field(default=False, description="server-sent events: `delta`s, then one `answer` (or `error`)")
    docs: DocNames | None = Field(default=None, description=DOCS)
    exclude_docs: DocNames | None = Field(default=None, description=EXCLUDE_DOCS)


class CitationOut(BaseModel):
    n: int
    doc_id: str
    source: str
    start: int = Field(description="where the quote starts in the document's text")
    end: int
    page: int | None
    quote: str = Field(description="the document's text[start:end], verbatim")
    contains_instructions: bool = Field(
        default=False, description="the passage quoted from holds text addressed to the answering model"
    )


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
    recited_citations: int = Field(description="sentences cited to the wrong passage, credited to one that states them")
    passages_left_out: int
    standalone_question: str | None
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    refusal_odds: float | None = Field(
        default=None, description="the LLM's probability of replying with the refusal, when it reports one"
    )
    answer_id: str | None = Field(
        default=None, description="the answer's id in the answer log, for POST /v1/feedback; null when not logged"
    )


def answer_out(answer: Answer, answer_id: str | None) -> dict[str, Any]:
    """The answer as `AnswerOut`, with its id in the answer log."""
    return {**answer.to_dict(), "answer_id": answer_id}


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(max_length=64, description="the `answer_id` an answer came with")
    good: bool = Field(description="thumbs up (true) or down (false)")
    correction: str | None = Field(default=None, max_length=4000, description="the right answer, in the user's words")
    should_refuse: bool = Field(default=False, description="with good: false, the documents do not answer this")


class FeedbackOut(BaseModel):
    answer_id: str
    recorded: Literal[True]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    k: int | None = Field(default=None, ge=1, le=100, description="passages to return (default: QA_K)")
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    docs: DocNames | None = Field(default=None, description=DOCS)
    exclude_docs: DocNames | None = Field(default=None, description=EXCLUDE_DOCS)


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
    contains_instructions: bool = Field(
        default=False, description="the passage holds text addressed to the answering model; never evidence"
    )
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


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
