"""The vector store: chunks, their vectors and everything needed to rebuild each document, in Chroma.

Chroma holds all state (local `PersistentClient` or a server through `HttpClient`); a document's text is
rebuilt from its chunks, which tile it: each chunk records the whitespace (`gap`) that follows it, and
the first one the whitespace (`lead`) before it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from qa.errors import EmbedderMismatchError, NotFoundError, StoreError
from qa.records import Chunk, DocFilter, DocInfo, Document, Span

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateCollectionConfiguration
    from chromadb.api.models.Collection import Collection

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


class ChunkStore(Protocol):
    """What ingestion and retrieval need from a vector store."""

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None: ...
    def delete(self, chunk_ids: Sequence[str]) -> None: ...
    def chunk_ids(self, doc_id: str) -> set[str]: ...
    def query(self, vector: np.ndarray, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]: ...
    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...
    def count(self) -> int: ...
    def documents(self) -> list[DocInfo]: ...
    def document(self, doc_id: str) -> Document: ...
    def all_texts(self) -> Iterator[tuple[str, str]]: ...
    def all_rows(self) -> Iterator[tuple[str, str, str]]: ...
    def revision(self) -> str: ...
    def pending(self) -> bool: ...
    def touch(self, pending: bool = False) -> None: ...


def _metadata(item: StoredChunk) -> Metadata:
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


def _chunk(chunk_id: str, text: str, meta: Metadata) -> Chunk:
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


def _rebuild(rows: list[tuple[str, Metadata]]) -> tuple[str, tuple[int, ...]]:
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


# The approximate (HNSW) index of a new collection. Chroma's defaults (ef_construction 100, max_neighbors 16,
# ef_search 100) missed 0.04-0.1% of the exact top 5 and top 20 on a 3,636-chunk index of squad2_500; these
# found all of them (benchmarks/dense_recall.py). Only ef_search can change once a collection exists.
HNSW: dict[str, Any] = {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 200}


class ChromaStore:
    """A `ChunkStore` over one Chroma collection; the collection records which embedder filled it.

    `hnsw` configures the approximate index of a collection this creates (default `HNSW`); an existing
    collection whose `ef_search` is lower is raised to it."""

    def __init__(self, client: ClientAPI, name: str, embedder: str, hnsw: Mapping[str, Any] | None = None) -> None:
        self._client = client
        self._embedder = embedder
        hnsw = {**HNSW, **(hnsw or {})}
        try:
            self._collection: Collection = client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration=cast("CreateCollectionConfiguration", {"hnsw": hnsw}),
                metadata={"qa:embedder": embedder, "qa:revision": uuid.uuid4().hex},
            )
            self._search_wider(int(hnsw["ef_search"]))
        except Exception as exc:  # chromadb raises bare ValueError/HTTP errors; say what to do
            raise StoreError(f"cannot open the Chroma collection {name!r}: {exc}") from exc
        built_with = (self._collection.metadata or {}).get("qa:embedder")
        if built_with != embedder:
            if self._collection.count():
                raise EmbedderMismatchError(
                    f"the index {name!r} was built with the embedder {built_with!r}, not {embedder!r}: "
                    f"its vectors mean nothing to {embedder!r}. Use the same embedder (QA_EMBEDDER), "
                    "another collection (QA_COLLECTION) or another home (QA_HOME)."
                )
            self.touch()

    def _search_wider(self, ef_search: int) -> None:
        """Raise the collection's `ef_search` to at least this (a collection made before qa chose it has
        Chroma's 100). Searching wider changes no stored data: the upgrade is safe and idempotent."""
        current = ((self._collection.configuration or {}).get("hnsw") or {}).get("ef_search")
        if current is not None and int(current) < ef_search:
            self._collection.modify(configuration={"hnsw": {"ef_search": ef_search}})

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        limit = self._client.get_max_batch_size()
        for first in range(0, len(chunks), limit):
            batch = chunks[first : first + limit]
            self._collection.upsert(
                ids=[item.chunk.chunk_id for item in batch],
                embeddings=vectors[first : first + limit],
                documents=[item.chunk.text for item in batch],
                metadatas=[_metadata(item) for item in batch],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        limit = self._client.get_max_batch_size()
        for first in range(0, len(chunk_ids), limit):
            self._collection.delete(ids=list(chunk_ids[first : first + limit]))

    def chunk_ids(self, doc_id: str) -> set[str]:
        return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def query(self, vector: np.ndarray, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]:
        """The `k` chunks nearest to `vector` as (chunk_id, similarity), only from documents `only` allows."""
        count = self._collection.count()
        if not count or (only is not None and only.admits_nothing):
            return []
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=min(k, count),
            where=doc_where(only),
            include=["distances"],
        )
        distances = (result["distances"] or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], distances, strict=True)]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        result = self._collection.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        found = {
            cid: _chunk(cid, text, dict(meta))
            for cid, text, meta in zip(result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True)
        }
        return [found[cid] for cid in chunk_ids if cid in found]

    def _metadatas(
        self, where: dict[str, Any] | None = None, include_text: bool = False
    ) -> Iterator[tuple[str, str | None, Metadata]]:
        include: Any = ["metadatas", "documents"] if where or include_text else ["metadatas"]
        page = 5000
        for offset in range(0, self._collection.count() + 1, page):
            result = self._collection.get(where=where, include=include, limit=page, offset=offset)
            texts: list[str | None] = [None] * len(result["ids"])
            texts = list(result["documents"] or texts)
            for cid, text, meta in zip(result["ids"], texts, result["metadatas"] or [], strict=True):
                yield cid, text, dict(meta)
            if len(result["ids"]) < page:
                return

    def documents(self) -> list[DocInfo]:
        versions: dict[tuple[str, str], list[Metadata]] = {}
        for _, _, meta in self._metadatas():
            versions.setdefault((str(meta["doc_id"]), str(meta["version"])), []).append(meta)
        docs: dict[str, DocInfo] = {}
        for (doc_id, _), metas in versions.items():
            if len(metas) == int(metas[0]["doc_chunks"]) or doc_id not in docs:
                first = metas[0]
                docs[doc_id] = DocInfo(
                    doc_id, str(first["source"]), str(first["path"]), len(metas), int(first["doc_chars"])
                )
        return sorted(docs.values(), key=lambda info: info.source)

    def document(self, doc_id: str) -> Document:
        versions: dict[str, list[tuple[str, Metadata]]] = {}
        for _, text, meta in self._metadatas(where={"doc_id": doc_id}):
            versions.setdefault(str(meta["version"]), []).append((text or "", meta))
        complete = [rows for rows in versions.values() if len(rows) == int(rows[0][1]["doc_chunks"])]
        if not complete:
            if versions:
                raise StoreError(f"document {doc_id} is only partly stored; run `qa ingest` on it again")
            raise NotFoundError(f"no document {doc_id!r} in the index; `qa docs` lists them")
        rows = complete[-1]
        text, page_starts = _rebuild(rows)
        meta = rows[0][1]
        if len(text) != int(meta["doc_chars"]):
            raise StoreError(f"document {doc_id} could not be rebuilt from its chunks; run `qa ingest` again")
        return Document(doc_id, str(meta["source"]), text, len(rows), page_starts)

    def count(self) -> int:
        """How many chunks the collection holds (0: no documents)."""
        return int(self._collection.count())

    def all_texts(self) -> Iterator[tuple[str, str]]:
        """(chunk_id, text) of every chunk."""
        for chunk_id, _, text in self.all_rows():
            yield chunk_id, text

    def all_rows(self) -> Iterator[tuple[str, str, str]]:
        """(chunk_id, doc_id, text) of every chunk: what the lexical index is built from."""
        for chunk_id, text, meta in self._metadatas(include_text=True):
            yield chunk_id, str(meta["doc_id"]), text or ""

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every chunk id with its stored vector (rows in the order of the ids): what exact search runs over."""
        ids: list[str] = []
        rows: list[Any] = []
        page = 5000
        for offset in range(0, self.count() + 1, page):
            result = self._collection.get(include=["embeddings"], limit=page, offset=offset)
            ids += result["ids"]
            rows += list(result["embeddings"] if result["embeddings"] is not None else [])
            if len(result["ids"]) < page:
                break
        return ids, np.asarray(rows, dtype=np.float32).reshape(len(ids), -1)

    def revision(self) -> str:
        """What caches derived from the contents (BM25) are keyed by: the revision recorded by the last
        `touch` and the number of chunks, so a change whose closing `touch` never ran (a killed process) is
        still seen whenever it added or removed chunks."""
        fresh = self._client.get_collection(self._collection.name, embedding_function=None)
        return f"{(fresh.metadata or {}).get('qa:revision', '')}:{fresh.count()}"

    def pending(self) -> bool:
        """Whether a change was begun (`touch(pending=True)`) and never closed by a plain `touch`."""
        fresh = self._client.get_collection(self._collection.name, embedding_function=None)
        return bool((fresh.metadata or {}).get("qa:pending"))

    def touch(self, pending: bool = False) -> None:
        """Record that the contents change (`pending`: are about to, so the change counts as begun until the
        next plain `touch`), so caches derived from them (BM25) know to rebuild. Writers call it before and
        after every change: a process killed in between leaves a new revision and the pending mark behind."""
        metadata: Metadata = {"qa:embedder": self._embedder, "qa:revision": uuid.uuid4().hex}
        if pending:
            metadata["qa:pending"] = True
        self._collection.modify(metadata=metadata)
