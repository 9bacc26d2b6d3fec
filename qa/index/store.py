"""The vector store: chunks, their vectors and everything needed to rebuild each document, in Chroma.

Chroma holds all state (local `PersistentClient` or a server through `HttpClient`); a document's text is
rebuilt from its chunks, which tile it: each chunk records the whitespace (`gap`) that follows it, and
the first one the whitespace (`lead`) before it.

What only a write changes is not read again on every search: the revision and chunk count are reused until
this process writes to the collection or `RECHECK_S` (0.5 s) passes (`qa/index/freshness.py`), and chunks
already read are kept, per revision (a chunk id names its content: `qa/ingest/`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from qa.errors import EmbedderMismatchError, NotFoundError, StoreError
from qa.index.changes import Change, ChangeLog, InChroma, InProcess
from qa.index.freshness import RECHECK_S, Freshness, wrote
from qa.index.rows import Metadata, chunk_from, doc_where, joined, metadata_of, neighbours_where, rebuild
from qa.index.rows import StoredChunk as StoredChunk  # where ingestion and the tests take it from
from qa.records import Chunk, DocFilter, DocInfo, Document, Span

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateCollectionConfiguration
    from chromadb.api.models.Collection import Collection


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
    def window(self, chunk_id: str, chars: int) -> Span | None: ...
    def all_texts(self) -> Iterator[tuple[str, str]]: ...
    def all_rows(self) -> Iterator[tuple[str, str, str]]: ...
    def revision(self) -> str: ...
    def pending(self) -> bool: ...
    def touch(self, pending: bool = False) -> None: ...


# The approximate (HNSW) index of a new collection. Chroma's defaults (ef_construction 100, max_neighbors 16,
# ef_search 100) missed 0.04-0.1% of the exact top 5 and top 20 on a 3,636-chunk index of squad2_500; these
# found all of them (benchmarks/dense_recall.py). Only ef_search can change once a collection exists.
HNSW: dict[str, Any] = {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 200}


class ChromaStore:
    """A `ChunkStore` over one Chroma collection; the collection records which embedder filled it.

    `hnsw` configures the approximate index of a collection this creates (default `HNSW`); an existing
    collection whose `ef_search` is lower is raised to it. `recheck`: the seconds for which the revision and
    chunk count are reused when this process has not written (another process's write is seen after that).
    `shared`: other processes use the collection too (a Chroma server): the change log is kept in Chroma."""

    CACHED_CHUNKS = 4096  # chunks kept for `get`; all are dropped when the revision changes
    CACHED_AT_MOST = 64  # a `get` of more ids than this (a bulk read) is not kept

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embedder: str,
        hnsw: Mapping[str, Any] | None = None,
        recheck: float = RECHECK_S,
        shared: bool = False,
    ) -> None:
        self._client = client
        self._embedder = embedder
        self._chunks: tuple[str, dict[str, Chunk]] = ("", {})  # (revision, chunk by id)
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
        self._key = str(self._collection.id)
        self._log = ChangeLog(InChroma(client, name) if shared else InProcess(self._key))
        self._fresh = Freshness(self._key, self._read, recheck)
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
        """Raise `ef_search` to at least this (an older collection has Chroma's 100): safe, changes no data."""
        current = ((self._collection.configuration or {}).get("hnsw") or {}).get("ef_search")
        if current is not None and int(current) < ef_search:
            self._collection.modify(configuration={"hnsw": {"ef_search": ef_search}})

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        limit = self._client.get_max_batch_size()
        try:
            for first in range(0, len(chunks), limit):
                batch = chunks[first : first + limit]
                self._collection.upsert(
                    ids=[item.chunk.chunk_id for item in batch],
                    embeddings=vectors[first : first + limit],
                    documents=[item.chunk.text for item in batch],
                    metadatas=[metadata_of(item) for item in batch],
                )
                self._log.note(added=[item.chunk.chunk_id for item in batch])
        finally:
            wrote(self._key)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        limit = self._client.get_max_batch_size()
        try:
            for first in range(0, len(chunk_ids), limit):
                self._collection.delete(ids=list(chunk_ids[first : first + limit]))
                self._log.note(removed=chunk_ids[first : first + limit])
        finally:
            wrote(self._key)

    def chunk_ids(self, doc_id: str) -> set[str]:
        return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def query(self, vector: np.ndarray, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]:
        """The `k` chunks nearest to `vector` as (chunk_id, similarity), only from documents `only` allows.
        (Chroma returns what there is when `k` is more than the collection holds.)"""
        if only is not None and only.admits_nothing:
            return []
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=doc_where(only),
            include=["distances"],
        )
        distances = (result["distances"] or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], distances, strict=True)]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that the collection holds, in the order asked. A search's few hits are
        kept: those read before at the current revision come from memory (a bulk read is not kept)."""
        if len(chunk_ids) > self.CACHED_AT_MOST:
            return self._fetch(chunk_ids, {})
        revision = self.revision()
        if self._chunks[0] != revision or len(self._chunks[1]) > self.CACHED_CHUNKS:
            self._chunks = (revision, {})
        return self._fetch(chunk_ids, self._chunks[1])

    def _fetch(self, chunk_ids: Sequence[str], known: dict[str, Chunk]) -> list[Chunk]:
        """The chunks, those not in `known` read from Chroma and added to it."""
        missing = [cid for cid in chunk_ids if cid not in known]
        if missing:
            result = self._collection.get(ids=missing, include=["documents", "metadatas"])
            rows = zip(result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True)
            known.update((cid, chunk_from(cid, text, dict(meta))) for cid, text, meta in rows)
        return [known[cid] for cid in chunk_ids if cid in known]

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
        text, page_starts = rebuild(rows)
        meta = rows[0][1]
        if len(text) != int(meta["doc_chars"]):
            raise StoreError(f"document {doc_id} could not be rebuilt from its chunks; run `qa ingest` again")
        return Document(doc_id, str(meta["source"]), text, len(rows), page_starts)

    def window(self, chunk_id: str, chars: int) -> Span | None:
        """The chunk's span widened by the chunks holding the `chars` characters each way (None: it is gone)."""
        found = self._collection.get(ids=[chunk_id], include=["metadatas"])["metadatas"]
        rows = self._metadatas(where=neighbours_where(dict(found[0]), chars), include_text=True) if found else ()
        return joined([(text or "", meta) for _, text, meta in rows]) if found else None

    def count(self) -> int:
        """How many chunks the collection holds (0: no documents), as of the latest reading (see `revision`)."""
        return self._fresh.reading().count

    def all_texts(self) -> Iterator[tuple[str, str]]:
        """(chunk_id, text) of every chunk."""
        for chunk_id, _, text in self.all_rows():
            yield chunk_id, text

    def all_rows(self) -> Iterator[tuple[str, str, str]]:
        """(chunk_id, doc_id, text) of every chunk: what the lexical index is built from."""
        for chunk_id, text, meta in self._metadatas(include_text=True):
            yield chunk_id, str(meta["doc_id"]), text or ""

    def all_ids(self) -> list[str]:
        """Every chunk's id, without text or metadata: how a lexical index learns what changed."""
        return list(self._collection.get(include=[])["ids"])

    def with_vectors(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], np.ndarray]:
        """The chunks with these ids that the collection holds (in the order Chroma returns them), each with its
        stored vector as the matching row: what an in-memory copy for exact search is filled from."""
        if not chunk_ids:
            return [], np.zeros((0, 0), np.float32)
        result = self._collection.get(ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"])
        texts, metas = result["documents"] or [], result["metadatas"] or []
        rows = zip(result["ids"], texts, metas, strict=True)
        chunks = [chunk_from(cid, text, dict(meta)) for cid, text, meta in rows]
        vectors = result["embeddings"] if result["embeddings"] is not None else []
        return chunks, np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every chunk id with its stored vector (rows in the order of the ids): what exact search runs over."""
        ids: list[str] = []
        rows: list[Any] = []
        page = 5000
        for offset in range(0, self._collection.count() + 1, page):
            result = self._collection.get(include=["embeddings"], limit=page, offset=offset)
            ids += result["ids"]
            rows += list(result["embeddings"] if result["embeddings"] is not None else [])
            if len(result["ids"]) < page:
                break
        return ids, np.asarray(rows, dtype=np.float32).reshape(len(ids), -1)

    def revision(self) -> str:
        """What caches derived from the contents (BM25) are keyed by: the revision recorded by the last
        `touch` and the number of chunks, so a change whose closing `touch` never ran (a killed process) is
        still seen whenever it added or removed chunks. Read again after any write by this process, else at
        most every `recheck` seconds: a write by another process is seen within that time."""
        return self._fresh.reading().revision

    def _read(self) -> tuple[str, int]:
        fresh = self._client.get_collection(self._collection.name, embedding_function=None)
        count = int(fresh.count())
        return f"{(fresh.metadata or {}).get('qa:revision', '')}:{count}", count

    def pending(self) -> bool:
        """Whether a change was begun (`touch(pending=True)`) and never closed by a plain `touch`."""
        fresh = self._client.get_collection(self._collection.name, embedding_function=None)
        return bool((fresh.metadata or {}).get("qa:pending"))

    def touch(self, pending: bool = False) -> None:
        """Record that the contents change (`pending`: are about to, so the change counts as begun until the
        next plain `touch`), so caches derived from them (BM25) know to rebuild. Writers call it before and
        after every change: a process killed in between leaves a new revision and the pending mark behind."""
        revision = uuid.uuid4().hex
        metadata: Metadata = {"qa:embedder": self._embedder, "qa:revision": revision}
        if pending:
            metadata["qa:pending"] = True
            self._log.begin(self._read()[0].partition(":")[0], revision)
        else:
            self._log.close(revision)  # recorded before the revision names it: a reader finds it at once
        try:
            self._collection.modify(metadata=metadata)
        finally:
            wrote(self._key)

    def changes_between(self, start: str, end: str) -> Change | None:
        """What the writes between two revisions (as `revision` gave them) added and removed, from the change
        log (`qa/index/changes.py`); None when the log cannot tell for sure: then list `all_ids`."""
        change = self._log.since(start.partition(":")[0], end.partition(":")[0])
        return change and Change(change.added, change.removed, int(end.rpartition(":")[2]))
