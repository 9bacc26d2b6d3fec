"""Documents and what is done to them: a file as loaded, a stored document, the listing line, which documents a
search may use, and what an ingest run did; each with its wire shape."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, TypedDict


@dataclass(frozen=True)
class Loaded:
    """A file's text as the loader read it.

    `page_starts` holds the character offset where each page begins (PDF only; page n
    starts at `page_starts[n - 1]`), empty for formats without pages.
    """

    path: str
    kind: str
    text: str
    page_starts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Document:
    """A whole document as stored: `text` is what every offset points into."""

    doc_id: str
    source: str
    text: str
    chunks: int
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character `offset`, or None for documents without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class DocFilter:
    """Which documents a search may draw passages from: only those in `include` (when it is given), and never
    those in `exclude`. Ids are qa's document ids (`DocInfo.doc_id`)."""

    include: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    @classmethod
    def of(cls, docs: Iterable[str] | None = None, exclude_docs: Iterable[str] | None = None) -> DocFilter | None:
        """The filter for these choices; None when they leave every document in."""
        if docs is None and not exclude_docs:
            return None
        include = None if docs is None else frozenset([docs] if isinstance(docs, str) else docs)
        exclude = frozenset([exclude_docs] if isinstance(exclude_docs, str) else exclude_docs or ())
        return cls(include, exclude)

    def allows(self, doc_id: str) -> bool:
        return (self.include is None or doc_id in self.include) and doc_id not in self.exclude

    @property
    def admits_nothing(self) -> bool:
        """True when `include` names no document that `exclude` does not take out again."""
        return self.include is not None and not self.include - self.exclude


class DocInfoJSON(TypedDict):
    """A document on the wire (`qa docs --json`, `GET /v1/documents`)."""

    doc_id: str
    source: Annotated[str, "the document's path as ingested, relative to where it was ingested from"]
    path: Annotated[str, "the file's absolute path"]
    chunks: int
    chars: Annotated[int, "the length of the document's text: every offset points into it"]


@dataclass(frozen=True)
class DocInfo:
    """One line of the document listing (no text)."""

    doc_id: str
    source: str
    path: str
    chunks: int
    chars: int

    def to_dict(self) -> DocInfoJSON:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "path": self.path,
            "chunks": self.chunks,
            "chars": self.chars,
        }


class FileProblemJSON(TypedDict):
    source: str
    reason: Annotated[str, "what went wrong, and what to do about it"]


class IngestReportJSON(TypedDict):
    """What an ingest or removal did, on the wire (`qa ingest --json`, `POST /v1/documents`)."""

    added: list[str]
    unchanged: list[str]
    updated: list[str]
    removed: list[str]
    failed: list[FileProblemJSON]
    skipped: list[FileProblemJSON]
    chunks_added: int
    chunks_removed: int


@dataclass
class IngestReport:
    """What one ingest run did, per outcome, as sources."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.unchanged)} unchanged, {len(self.updated)} updated, "
            f"{len(self.removed)} removed, {len(self.failed)} failed, {len(self.skipped)} skipped; "
            f"{self.chunks_added} chunks added, {self.chunks_removed} chunks removed"
        )

    def to_dict(self) -> IngestReportJSON:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "removed": self.removed,
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
        }
