"""The HTTP service's wire shapes: the pydantic request and response bodies, and server-sent event framing."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa.records import Answer, AnswerJSON, DocInfo, HitJSON, IngestReportJSON, Turn
from qa.server.wire import wire_model
from qa.settings import Backend

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# --- the wire shapes (the OpenAPI schema is generated from these) -----------------------------------------


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
    strict: bool | None = Field(
        default=None,
        description=(
            "refuse if any sentence is unsupported; extractive: answer only at odds of 0.3 or more (default: QA_STRICT)"
        ),
    )
    stream: bool = Field(default=False, description="server-sent events: `delta`s, then one `answer` (or `error`)")
    docs: DocNames | None = Field(default=None, description=DOCS)
    exclude_docs: DocNames | None = Field(default=None, description=EXCLUDE_DOCS)


class AnswerOut(wire_model(AnswerJSON)):  # type: ignore[misc]
    """Exactly what `qa ask --json` prints (the fields of `qa.records.AnswerJSON`), and the answer's log id."""

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


class HitOut(wire_model(HitJSON)):  # type: ignore[misc]
    """A ranked passage (the fields of `qa.records.HitJSON`)."""


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class DocumentsOut(BaseModel):
    documents: list[DocInfo]


class ReportOut(wire_model(IngestReportJSON)):  # type: ignore[misc]
    """What an ingest or removal did, as `qa ingest --json` prints it (the fields of `qa.records.IngestReportJSON`)."""


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
