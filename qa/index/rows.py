"""Chroma's rows and qa's records: a stored chunk's metadata, the chunk read back from it, a document's text
rebuilt from its chunks, the chunks around one joined into one span, and the `where` filter of a document
filter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from qa.records import Chunk, DocFilter, Span

Metadata = dict[str, Any]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store returns it, with the per-version facts of its document."""

    chunk: Chunk
    path: str
    version: str
    doc_chunks: int
    doc_chars: int
    gap: str
    lead: str
    page_starts: tuple[int, ...]


def metadata_of(item: StoredChunk) -> Metadata:
    chunk = item.chunk
    meta: Metadata = {
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "path": item.path,
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "version": item.version,
        "doc_chunks": item.doc_chunks,
        "doc_chars": item.doc_chars,
        "gap": item.gap,
    }
    if item.lead:
        meta["lead"] = item.lead
    if chunk.page is not None:
        meta["page"] = chunk.page
    if chunk.page_breaks:
        meta["page_breaks"] = json.dumps(chunk.page_breaks)
    if item.page_starts:
        meta["page_starts"] = json.dumps(item.page_starts)
    return meta


def chunk_from(chunk_id: str, text: str, meta: Metadata) -> Chunk:
    page = meta.get("page")
    span = Span(
        doc_id=str(meta["doc_id"]),
        source=str(meta["source"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        page=int(page) if page is not None else None,
        page_breaks=tuple(json.loads(meta.get("page_breaks", "[]"))),
    )
    return Chunk(chunk_id, int(meta["index"]), span)


def doc_where(only: DocFilter | None) -> dict[str, Any] | None:
    """Chroma's `where` filter on the chunks' `doc_id` metadata for a document filter that admits something
    (None: every document)."""
    if only is not None and only.include is not None:
        return {"doc_id": {"$in": sorted(only.include - only.exclude)}}
    if only is not None and only.exclude:
        return {"doc_id": {"$nin": sorted(only.exclude)}}
    return None


def rebuild(rows: list[tuple[str, Metadata]]) -> tuple[str, tuple[int, ...]]:
    """A document's text (and page starts) from its chunks: each adds what the one before did not cover."""
    rows.sort(key=lambda row: int(row[1]["index"]))
    parts = [str(rows[0][1].get("lead", ""))]
    cursor = int(rows[0][1]["start"])
    page_starts: set[int] = set()
    for text, meta in rows:
        gap = str(meta["gap"])
        parts += [text[max(0, cursor - int(meta["start"])) :], gap]
        cursor = int(meta["end"]) + len(gap)
        page_starts.update(json.loads(meta.get("page_starts", "[]")))
    return "".join(parts), tuple(sorted(page_starts))


def neighbours_where(meta: Metadata, chars: int) -> dict[str, Any]:
    """Chroma's `where` filter on the chunks of the same document version as the chunk of `meta` that hold some
    of the `chars` characters before or after it."""
    return {
        "$and": [
            {"doc_id": meta["doc_id"]},
            {"version": meta["version"]},
            {"end": {"$gte": int(meta["start"]) - chars}},
            {"start": {"$lte": int(meta["end"]) + chars}},
        ]
    }


def joined(rows: list[tuple[str, Metadata]]) -> Span | None:
    """The span that consecutive chunks of one document version cover, from the first one's start to the last
    one's end, as `rebuild` joins them (each adds what the one before did not cover, then its `gap`); None when
    they are not consecutive (a chunk missing between them) or there are none."""
    rows = sorted(rows, key=lambda row: int(row[1]["index"]))
    indexes = [int(meta["index"]) for _, meta in rows]
    if not indexes or indexes != list(range(indexes[0], indexes[0] + len(indexes))):
        return None
    first, last = rows[0][1], rows[-1][1]
    parts: list[str] = []
    cursor = start = int(first["start"])
    breaks: set[int] = set()
    for text, meta in rows:
        parts.append(text[max(0, cursor - int(meta["start"])) :])
        cursor = int(meta["end"])
        if meta is not last:
            parts.append(str(meta["gap"]))
            cursor += len(str(meta["gap"]))
        # where pages begin: inside the chunks, and in the whitespace between them (an empty page too)
        breaks.update(json.loads(meta.get("page_breaks", "[]")), json.loads(meta.get("page_starts", "[]")))
    text = "".join(parts)
    if start + len(text) != int(last["end"]):
        return None
    page, end = first.get("page"), int(last["end"])
    inside = tuple(sorted(b for b in breaks if start < b < end))
    return Span(
        str(first["doc_id"]), str(first["source"]), start, end, text, int(page) if page is not None else None, inside
    )
