"""Typed records passed between modules, in one namespace: import them from `qa.records`. Third-party shapes
never leave their adapters; each record that goes on the wire declares its shape beside it (a TypedDict that its
`to_dict()` returns, and from which qa/server/wire.py derives the published schemas)."""

from qa.records.answers import Answer, AnswerJSON, Event, Progress, Turn
from qa.records.documents import (
    DocFilter,
    DocInfo,
    DocInfoJSON,
    Document,
    FileProblemJSON,
    IngestReport,
    IngestReportJSON,
    Loaded,
)
from qa.records.spans import (
    Chunk,
    Citation,
    CitationJSON,
    Hit,
    HitJSON,
    Passage,
    Span,
    page_name,
    page_within,
)

__all__ = [
    "Answer", "AnswerJSON", "Chunk", "Citation", "CitationJSON", "DocFilter", "DocInfo", "DocInfoJSON", "Document",
    "Event", "FileProblemJSON", "Hit", "HitJSON", "IngestReport", "IngestReportJSON", "Loaded", "Passage",
    "Progress", "Span", "Turn", "page_name", "page_within",
]  # fmt: skip
