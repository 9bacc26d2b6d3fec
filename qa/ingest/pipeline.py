"""Ingestion: files -> chunks -> vectors in the store, idempotently.

A document's chunk ids derive from its path, content, the chunking settings and where its chunks fall, so a
second run over unchanged files embeds nothing, and a release of qa that cuts a document otherwise stores it again
whole (one version never mixes two chunkings). A changed file's new chunks are written before its old ones are deleted,
so a run killed at any point loses nothing, and the next run finishes the job without duplicates. Every
write is framed by two revision bumps (the first marks the change pending), so a run killed mid-write never
leaves a cache of the old contents (BM25) looking current; the next run closes a change left pending.

What is stored already is looked up per file, or for an ingest of many files against a store holding few
chunks per file, learnt from one listing of every chunk id (a chunk id begins with its document's id).

Embedding runs in a worker thread, batch by batch: it starts while the remaining files are still read and
chunked, and goes on while the batches embedded before are written. Every write still comes after all files
are planned, in order.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IngestError
from qa.index.embedders import Embedder
from qa.index.store import ChunkStore, StoredChunk
from qa.ingest.chunking import chunk_id, chunk_spans, doc_of
from qa.ingest.loaders import discover, load
from qa.records import Chunk, DocInfo, IngestReport, Loaded, Progress, Span
from qa.settings import Settings
from qa.text.tokens import encoding

# Chunks per embedder call (whole documents, until they hold at least this many): the first call starts once
# 64 are planned, so embedding begins at once; later calls take 512. A call sorts its texts by length before
# batching them for the model, so larger calls pad less, and they wait less often for their slowest batch: on
# squad2_500 this took about 0.4 s of CPU and 0.5 s of wall time off an 8 s ingest, against calls of 64
# (benchmarks/README.md, `ingest_profile.py`). Each call's chunks are one store write, made as soon as their
# vectors come back.
_FIRST_BATCH = 64
_EMBED_BATCH = 512
# Listing every chunk id once costs about this many single-document lookups per stored chunk (a few
# microseconds per id against a few milliseconds per lookup): an ingest of more files than the stored chunks
# times this learns what is stored from one listing.
_LIST_PER_LOOKUP = 1 / 1000


def doc_id_for(path: Path) -> str:
    """A document's id: stable for one file path on one machine."""
    return _doc_id(path.resolve())


def display_source(path: Path) -> str:
    """The path as users will read it: relative to the working folder when inside it."""
    return _display(path.resolve())


def _doc_id(resolved: Path) -> str:
    return hashlib.sha256(str(resolved).encode()).hexdigest()[:16]


def _display(resolved: Path) -> str:
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)


@dataclass
class _Plan:
    source: str
    doc_id: str
    chunks: list[StoredChunk]
    stale: set[str]
    is_new: bool


_Batch = tuple[list[_Plan], Future[np.ndarray] | None]  # planned documents, and their vectors to come


def document_version(config: str, text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The version of a document's stored chunks: its text, the chunk settings and where the chunks fall. A
    change of any of them (a new release of qa that cuts sentences otherwise) makes every chunk id new, so the
    document is stored again whole rather than as a mix of two chunkings."""
    cuts = ",".join(f"{start}-{end}" for start, end in spans)
    return hashlib.sha256(f"{config}\0{text}\0{cuts}".encode()).hexdigest()[:16]


def make_chunks(loaded: Loaded, doc_id: str, source: str, settings: Settings) -> list[StoredChunk]:
    """The document's chunks with everything the store needs to rebuild its text."""
    text = loaded.text
    enc = encoding(settings.tokenizer)
    spans = chunk_spans(text, settings.chunk_tokens, settings.chunk_overlap, lambda s: len(enc.encode_ordinary(s)))
    config = f"{settings.tokenizer}:{settings.chunk_tokens}:{settings.chunk_overlap}"
    version = document_version(config, text, spans)
    pages = loaded.page_starts
    out: list[StoredChunk] = []
    for index, (start, end) in enumerate(spans):
        next_start = spans[index + 1][0] if index + 1 < len(spans) else len(text)
        piece = text[start:end]
        page = bisect.bisect_right(pages, start) if pages else None
        breaks = tuple(pages[bisect.bisect_right(pages, start) : bisect.bisect_left(pages, end)])
        span = Span(doc_id, source, start, end, piece, page, breaks)
        chunk = Chunk(chunk_id(doc_id, version, start, end, piece), index, span)
        # each page start is recorded by exactly one chunk: the last one starting at or before it
        low, high = (0 if index == 0 else start), (next_start if index + 1 < len(spans) else len(text) + 1)
        out.append(
            StoredChunk(
                chunk,
                loaded.path,
                version,
                len(spans),
                len(text),
                gap=text[end:next_start] if next_start > end else "",
                lead=text[:start] if index == 0 else "",
                page_starts=tuple(pages[bisect.bisect_left(pages, low) : bisect.bisect_left(pages, high)]),
            )
        )
    return out


class Ingestor:
    """Loads, chunks, embeds and stores files; reports what it did per file."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: Settings) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings

    def _list_stored(self, files: int) -> dict[str, set[str]] | None:
        """Every stored chunk id by document, from one listing, when that costs less than a lookup per file
        (a store that cannot list ids: None, and each file is looked up)."""
        if files < self._store.count() * _LIST_PER_LOOKUP:
            return None
        all_ids = getattr(self._store, "all_ids", None)
        if all_ids is None:
            return None
        stored: dict[str, set[str]] = {}
        for cid in all_ids():
            stored.setdefault(doc_of(cid), set()).add(cid)
        return stored

    def _existing(self, doc_id: str, stored: dict[str, set[str]] | None) -> set[str]:
        return stored.get(doc_id, set()) if stored is not None else self._store.chunk_ids(doc_id)

    def _plan(self, path: Path, report: IngestReport, stored: dict[str, set[str]] | None) -> _Plan | None:
        path = path.resolve()  # once: the id, the source and the stored path all start from it
        source = _display(path)
        try:
            loaded = load(path, self._settings.max_file_bytes)
        except IngestError as exc:
            report.failed.append((source, exc.reason))
            return None
        doc_id = _doc_id(path)
        chunks = make_chunks(
            Loaded(str(path), loaded.kind, loaded.text, loaded.page_starts),
            doc_id,
            source,
            self._settings,
        )
        existing = self._existing(doc_id, stored)
        wanted = {item.chunk.chunk_id for item in chunks}
        if existing == wanted:
            report.unchanged.append(source)
            return None
        missing = [item for item in chunks if item.chunk.chunk_id not in existing]
        return _Plan(source, doc_id, missing, existing - wanted, is_new=not existing)

    def _plan_and_embed(self, files: Sequence[Path], report: IngestReport, worker: ThreadPoolExecutor) -> list[_Batch]:
        """Plan every file, handing each batch of new chunks to `worker` to embed as soon as it is planned, so
        reading and chunking the next files overlaps the embedding (the model runs outside the GIL)."""
        batches: list[_Batch] = []
        pending: list[_Plan] = []
        stored = self._list_stored(len(files))
        last: Future[np.ndarray] | None = None
        for index, path in enumerate(files):
            plan = self._plan(path, report, stored)
            if plan:
                pending.append(plan)
            limit = _EMBED_BATCH if batches else _FIRST_BATCH
            if pending and (sum(len(p.chunks) for p in pending) >= limit or index == len(files) - 1):
                texts = [item.chunk.text for plan in pending for item in plan.chunks]
                last = worker.submit(self._embed_after, last, texts) if texts else last
                batches.append((pending, last if texts else None))
                pending = []
        return batches

    def _embed_after(self, before: Future[np.ndarray] | None, texts: list[str]) -> np.ndarray:
        """The texts' vectors, unless the batch before failed: then its error, and no more embedding."""
        if before is not None:
            before.result()  # done already: the one worker runs the batches in order
        return self._embedder.embed(texts)

    def _write_all(self, batches: list[_Batch], report: IngestReport, progress: Progress | None) -> None:
        """Write the embedded batches in order, each as its vectors arrive. When the embedder fails, what it
        embedded before is written already, so a rerun embeds it no more."""
        total, done = sum(len(plan.chunks) for plans, _ in batches for plan in plans), 0
        for plans, future in batches:
            self._write(plans, future.result() if future else None, report)
            done += sum(len(plan.chunks) for plan in plans)
            if progress:
                progress(done, total)

    def _write(self, plans: list[_Plan], vectors: np.ndarray | None, report: IngestReport) -> None:
        """Store the plans' new chunks, then delete their stale ones, between two revision bumps: the first
        marks the change begun, so a process killed anywhere in between leaves every cache stale."""
        items = [item for plan in plans for item in plan.chunks]
        self._store.touch(pending=True)
        if items and vectors is not None:
            self._store.add(items, vectors)
        for plan in plans:
            if plan.stale:
                self._store.delete(sorted(plan.stale))
            (report.added if plan.is_new else report.updated).append(plan.source)
            report.chunks_added += len(plan.chunks)
            report.chunks_removed += len(plan.stale)
        self._store.touch()

    def ingest(
        self, paths: Sequence[str | Path], prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        report = IngestReport()
        interrupted = self._store.pending()  # an earlier change never finished: close it at the end
        files, report.failed, report.skipped = discover(paths)
        worker = ThreadPoolExecutor(1, thread_name_prefix="qa-ingest")
        try:
            self._write_all(self._plan_and_embed(files, report, worker), report, progress)
        finally:
            worker.shutdown(cancel_futures=True)  # after a failure: embed nothing more
        if prune:
            self._prune(paths, report)
        if report.removed or interrupted:
            self._store.touch()
        return report

    def _prune(self, paths: Sequence[str | Path], report: IngestReport) -> None:
        folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        for info in self._store.documents():
            path = Path(info.path)
            if any(path.is_relative_to(folder) for folder in folders) and not path.exists():
                self.remove(info, report)

    def remove(self, info: DocInfo, report: IngestReport) -> None:
        """Delete one document's chunks; the caller bumps the revision once it is done with its removals."""
        ids = sorted(self._store.chunk_ids(info.doc_id))
        self._store.touch(pending=True)
        self._store.delete(ids)
        report.removed.append(info.source)
        report.chunks_removed += len(ids)
