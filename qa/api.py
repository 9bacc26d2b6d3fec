"""`QA`: the one entry point. Ingest documents, search them, list and remove them."""

from __future__ import annotations

import fnmatch
import itertools
import operator
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, TypedDict, Unpack

from qa.answer.pipeline import Answerer, Options, as_turns
from qa.backends import make_embedder, make_generator, make_reader, make_store
from qa.errors import ConfigError, EmptyIndexError, InputError, NotFoundError, abbreviated
from qa.index.embedders import Embedder
from qa.index.retrieval import Retriever
from qa.index.store import ChunkStore
from qa.ingest.pipeline import Ingestor, doc_id_for
from qa.llm.base import LLM
from qa.llm.openai import OpenAIGenerator
from qa.records import Answer, DocFilter, DocInfo, Document, Hit, IngestReport, Progress, Turn
from qa.settings import Settings


class AskOptions(TypedDict, total=False):
    """The per-question choices of `QA.ask` and `QA.ask_stream`; each one left out (or None) is the settings'."""

    backend: str | None  # auto, openai, llama or extractive
    k: int | None  # passages to answer from
    strict: bool | None  # refuse rather than show a sentence no passage supports; extractive: odds of 0.3 or more
    docs: Iterable[str] | None  # answer only from these documents (ids, paths or globs on the path)
    exclude_docs: Iterable[str] | None  # never from these documents (ids, paths or globs on the path)


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
        generator: LLM | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or Settings.from_env(os.environ, **overrides)
        self.embedder = embedder or make_embedder(self.settings)
        self.store = store or make_store(self.settings, self.embedder)
        cache = self.settings.home / "bm25" / self.settings.collection
        self._retriever = Retriever(self.store, self.embedder, cache)
        self._ingestor = Ingestor(self.store, self.embedder, self.settings)
        self._reader = make_reader(self.embedder)
        self._generators: dict[str, LLM | None] = {}
        self._lock = threading.Lock()
        self._listed: tuple[str, list[DocInfo]] | None = None  # (store revision, its documents)
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
        search within those documents, `exclude_docs` leaves those out (each named as `select` reads it);
        lexical scores still count the left-out documents in their term statistics. An index without
        documents is an `EmptyIndexError`."""
        self._check(query, "query")
        self.require_documents()
        return self._retriever.search(query, k or self.settings.k, mode, self.select(docs, exclude_docs))

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

    def matching(self, name: str) -> list[DocInfo]:
        """The documents `name` selects: the one with that id, else the file it names from the working folder,
        else every one whose path matches it as a path or glob (`path_glob`: `handbook/*.md`)."""
        return self._matching(name, self._listing())

    @staticmethod
    def _matching(name: str, stored: list[DocInfo]) -> list[DocInfo]:
        here = _file_id(name)
        exact = [d for d in stored if d.doc_id in (name, here)]
        if exact:
            return exact
        test = path_glob(name)
        return [d for d in stored if test(d.path)]

    def select(self, docs: Iterable[str] | None = None, exclude_docs: Iterable[str] | None = None) -> DocFilter | None:
        """The filter for a choice of documents: only those `docs` names (when given), never those
        `exclude_docs` names; each name is an id, a path or a glob on the path (`matching`). A name that
        selects no document is a `NotFoundError` that says which. None when the choice leaves every document in."""
        if docs is None and not exclude_docs:
            return None
        include = None if docs is None else self._ids(docs)
        return DocFilter.of(include, self._ids(exclude_docs or ()))

    def _ids(self, names: Iterable[str]) -> list[str]:
        ids: list[str] = []
        stored = self._listing()
        for name in [names] if isinstance(names, str) else names:
            found = self._matching(name, stored)
            if not found:
                raise NotFoundError(
                    f"no document in the index matches {abbreviated(name)}: name a document by its id, its path "
                    "or a glob on the path such as 'handbook/*.md'; `qa docs` (GET /v1/documents) lists them"
                )
            ids += [d.doc_id for d in found]
        return ids

    def _listing(self) -> list[DocInfo]:
        """`documents()`, read again only when the store changed since the last read."""
        revision = self.store.revision()
        listed = self._listed
        if listed is None or listed[0] != revision:
            listed = self._listed = (revision, self.documents())
        return listed[1]

    def find(self, id_or_path: str) -> DocInfo:
        """The document with this id, or stored from this path."""
        docs = self.documents()
        wanted = doc_id_for(Path(id_or_path)) if not any(d.doc_id == id_or_path for d in docs) else id_or_path
        for info in docs:
            if info.doc_id == wanted or info.source == id_or_path:
                return info
        raise NotFoundError(f"no document {abbreviated(id_or_path)} in the index; `qa docs` lists them")

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
        self._check(question, "question")
        for turn in as_turns(history):
            self._check(turn.content, f"{turn.role} turn of the history", limited=turn.role == "user")
        self.require_documents()
        yield from self._answerer(**options).stream(question.strip(), history)

    def _check(self, text: str, what: str, *, limited: bool = True) -> None:
        """Refuse, before any work, a text over the length limit or one that is not valid Unicode (a lone
        surrogate, as a JSON string "\\ud800" or an undecodable command-line byte gives)."""
        limit = self.settings.max_question_chars
        if limited and len(text) > limit:
            raise InputError(
                f"the {what} is {len(text):,} characters long; the limit is {limit:,} (QA_MAX_QUESTION_CHARS)"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(text[exc.start])
            raise InputError(
                f"the {what} is not valid Unicode text: character {exc.start + 1} is a lone surrogate "
                f"(U+{code:04X}); send it as UTF-8"
            ) from None

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
            refuse_at=settings.refuse_at,
            min_odds=settings.min_odds,
            only=self.select(docs, exclude_docs),
        )
        generator = self._generators[name]
        if isinstance(generator, OpenAIGenerator):  # QA_TIMEOUT bounds the whole answer, not each request
            generator = generator.for_one_answer()
        return Answerer(self._retriever, self._reader, generator, options)

    def warm(self) -> None:
        """Get ready to answer many questions: load the embedding model and the lexical index now rather than
        on the first search, and keep a small collection in memory for exact dense search."""
        self.embedder.embed(["warm up"])
        self._retriever.warm()


_WILDCARDS = frozenset("*?[")
PathTest = Callable[[str], bool]


def _file_id(name: str) -> str | None:
    """The id of the file `name` names from the working folder (None for a glob, or a name no path can have)."""
    if not name or _WILDCARDS.intersection(name):
        return None
    try:
        return doc_id_for(Path(name))
    except (OSError, ValueError):  # a NUL byte, a lone surrogate, a name too long for the system
        return None


def path_glob(pattern: str) -> PathTest:
    """A test of a document's path (absolute) against `pattern`: a path or glob matched against the end of the
    path, folder by folder (`handbook/*.md` matches `/docs/handbook/intro.md`), or against the whole path when
    it starts with `/`. `*`, `?` and `[...]` stay within one folder name; `**` spans any number of folders
    (`handbook/**` is everything under a handbook folder)."""
    wanted = PurePosixPath(pattern)
    globs = [part for part in wanted.parts if part != "/"]
    if not globs:
        return lambda path: False
    folders = [None if glob == "**" else re.compile(fnmatch.translate(glob)).match for glob in globs]
    tests = folders if wanted.is_absolute() else [None, *folders]
    last = tests[-1]

    def test(path: str) -> bool:
        parts = [part for part in path.split("/") if part]
        if last is not None and not (parts and last(parts[-1])):  # most paths fail on their file name
            return False
        return _parts_match(tests, parts)

    return test


def path_matches(pattern: str, path: str) -> bool:
    """Whether a document stored from `path` matches `pattern` (see `path_glob`)."""
    return path_glob(pattern)(path)


def _parts_match(tests: Sequence[Callable[[str], object] | None], parts: list[str]) -> bool:
    """Folder-by-folder matching (None for `**`), in time proportional to len(tests) * len(parts)."""
    reach = [True] + [False] * len(parts)  # reach[n]: the tests so far match the first n parts
    for test in tests:
        if test is None:
            reach = list(itertools.accumulate(reach, operator.or_))
        else:
            reach = [False, *(reach[n] and test(part) is not None for n, part in enumerate(parts))]
    return reach[-1]
