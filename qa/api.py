"""`QA`: the one entry point. Ingest documents, search them, list and remove them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from qa.answering import Answerer, Options, Turn
from qa.embedders import Embedder
from qa.errors import ConfigError, EmptyIndexError, NotFoundError
from qa.factory import make_embedder, make_generator, make_reader, make_store
from qa.generators import Generator
from qa.ingest import Ingestor, Progress, doc_id_for
from qa.records import Answer, DocFilter, DocInfo, Document, Hit, IngestReport
from qa.retrieval import Retriever
from qa.settings import Settings
from qa.store import ChunkStore


class AskOptions(TypedDict, total=False):
    """The per-question choices of `QA.ask` and `QA.ask_stream`; each one left out (or None) is the settings'."""

    backend: str | None  # auto, openai, llama or extractive
    k: int | None  # passages to answer from
    strict: bool | None  # refuse rather than show a sentence no passage supports
    docs: Iterable[str] | None  # answer only from these documents (ids)
    exclude_docs: Iterable[str] | None  # never from these documents (ids)


class QA:
    """Question answering over your documents.

    Settings come from keyword arguments, then `QA_*` environment variables, then defaults
    (see `Settings`). Pass `settings=` to skip the environment entirely; `embedder=`/`store=` to supply
    your own backends (`generator=` an LLM for the configured backend).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: ChunkStore | None = None,
        generator: Generator | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or Settings.from_env(os.environ, **overrides)
        self.embedder = embedder or make_embedder(self.settings)
        self.store = store or make_store(self.settings, self.embedder)
        cache = self.settings.home / "bm25" / self.settings.collection
        self._retriever = Retriever(self.store, self.embedder, cache)
        self._ingestor = Ingestor(self.store, self.embedder, self.settings)
        self._reader = make_reader(self.embedder)
        self._generators: dict[str, Generator | None] = {}
        self._lock = threading.Lock()
        if generator is not None:
            self._generators[self.settings.resolved_backend()] = generator

    def ingest(
        self, paths: Sequence[str | Path], *, prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        """Add or update the given files and folders (recursively); `prune` drops vanished files."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        return self._ingestor.ingest(paths, prune=prune, progress=progress)

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: str = "hybrid",
        *,
        docs: Iterable[str] | None = None,
        exclude_docs: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The `k` passages that best match `query`; `mode` is hybrid, dense or lexical. `docs` keeps the
        search within those documents (ids), `exclude_docs` leaves those out; lexical scores still count the
        left-out documents in their term statistics. An index without documents is an `EmptyIndexError`."""
        self.require_documents()
        return self._retriever.search(query, k or self.settings.k, mode, DocFilter.of(docs, exclude_docs))

    def where(self) -> str:
        """The index this object uses, as a person reads it: the home (or Chroma server) and the collection."""
        return f"{self.settings.chroma_url or f'home {self.settings.home}'}, collection {self.settings.collection!r}"

    def require_documents(self) -> None:
        """Raise `EmptyIndexError`, naming the index, if it holds no documents."""
        if not self.store.count():
            raise EmptyIndexError(self.where())

    def documents(self) -> list[DocInfo]:
        return self.store.documents()

    def document(self, doc_id: str) -> Document:
        return self.store.document(doc_id)

    def find(self, id_or_path: str) -> DocInfo:
        """The document with this id, or stored from this path."""
        docs = self.documents()
        wanted = doc_id_for(Path(id_or_path)) if not any(d.doc_id == id_or_path for d in docs) else id_or_path
        for info in docs:
            if info.doc_id == wanted or info.source == id_or_path:
                return info
        raise NotFoundError(f"no document {id_or_path!r} in the index; `qa docs` lists them")

    def remove(self, id_or_path: str) -> IngestReport:
        """Remove one document (by id or path) and all its chunks."""
        report = IngestReport()
        self._ingestor.remove(self.find(id_or_path), report)
        self.store.touch()
        return report

    def ask(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), **options: Unpack[AskOptions]
    ) -> Answer:
        """A short answer whose every citation quotes its source verbatim, or a refusal."""
        for event in self.ask_stream(question, history, **options):
            if isinstance(event, Answer):
                return event
        raise AssertionError("the answer stream ended without an Answer")  # pragma: no cover

    def ask_stream(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), **options: Unpack[AskOptions]
    ) -> Iterator[str | Answer]:
        """Text deltas as the backend produces them, then the final `Answer`."""
        if not question.strip():
            raise ConfigError("the question is empty")
        self.require_documents()
        yield from self._answerer(**options).stream(question.strip(), history)

    def _answerer(
        self,
        *,
        backend: str | None = None,
        k: int | None = None,
        strict: bool | None = None,
        docs: Iterable[str] | None = None,
        exclude_docs: Iterable[str] | None = None,
    ) -> Answerer:
        settings = replace(self.settings, backend=backend or self.settings.backend)
        name = settings.resolved_backend()
        with self._lock:  # two first questions at once must not load a model twice
            if name not in self._generators:
                self._generators[name] = make_generator(settings)
        options = Options(
            k=k or settings.k,
            strict=settings.strict if strict is None else strict,
            context_tokens=settings.context_tokens,
            answer_tokens=settings.answer_tokens,
        )
        only = DocFilter.of(docs, exclude_docs)
        return Answerer(
            lambda q, n: self._retriever.search(q, n, "hybrid", only), self._reader, self._generators[name], options
        )

    def warm(self) -> None:
        """Load the lexical index now rather than on the first search."""
        self._retriever.lexical()
