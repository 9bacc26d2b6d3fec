"""The one `QA` a Streamlit process shares between its browser sessions, and the settings it is built from.

Streamlit runs every session's script in its own thread. `QA` keeps state that is not safe to share
between threads without care (its lazily built BM25 index and generator table; llama.cpp models are not
thread-safe at all), so every call into it holds one lock per index. Answers stream under that lock: a
second session's question waits until the first answer has finished.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa import QA, DocInfo, Document, IngestReport, QAError, Settings
from qa.records import Answer, Turn
from ui.render import Excerpt, excerpt_around

_DEFAULTS = Settings()


def build_settings(
    env: Mapping[str, str],
    *,
    backend: str | None = None,
    llm_model: str | None = None,
    openai_base_url: str | None = None,
    openai_api_key: str | None = None,
    k: int | None = None,
    strict: bool | None = None,
) -> Settings:
    """Settings from the sidebar's choices over the environment (`QA_HOME` and friends). Empty text fields
    mean "not set here", so the environment's value (or the default) applies."""
    return Settings.from_env(
        env,
        backend=backend or None,
        llm_model=(llm_model or "").strip() or None,
        openai_base_url=(openai_base_url or "").strip() or None,
        openai_api_key=(openai_api_key or "").strip() or None,
        k=k,
        strict=strict,
    )


def history(messages: Sequence[Mapping[str, object]]) -> list[Turn]:
    """The turns a follow-up builds on: each question that got an answer (or a refusal), and that answer;
    questions that ended in an error are left out."""
    turns: list[Turn] = []
    for before, message in itertools.pairwise(messages):
        if before["role"] == "user" and "answer" in message:
            turns.append(Turn("user", str(before["content"])))
            turns.append(Turn("assistant", str(message["content"])))
    return turns


def pipeline_key(settings: Settings) -> Settings:
    """The settings that decide which `QA` object answers: all but those passed with each question."""
    return replace(settings, backend=_DEFAULTS.backend, k=_DEFAULTS.k, strict=_DEFAULTS.strict)


def store_key(settings: Settings) -> Settings:
    """The settings that decide which index (embedder and store) is opened; one lock guards each."""
    key = replace(
        pipeline_key(settings),
        llm_model=_DEFAULTS.llm_model,
        llm_model_path=None,
        llm_threads=_DEFAULTS.llm_threads,
        context_tokens=_DEFAULTS.context_tokens,
        answer_tokens=_DEFAULTS.answer_tokens,
        timeout=_DEFAULTS.timeout,
    )
    if settings.embedder != "openai":  # the endpoint matters to the index only when it embeds
        key = replace(key, openai_base_url=None, openai_api_key=None)
    return key


@dataclass
class Pipeline:
    """A `QA` whose every call holds `lock` (shared by all pipelines over the same index)."""

    qa: QA
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def settings(self) -> Settings:
        return self.qa.settings

    def over_same_index(self, settings: Settings) -> Pipeline:
        """Another pipeline with other answering settings, sharing this one's embedder, store and lock."""
        return Pipeline(QA(settings, embedder=self.qa.embedder, store=self.qa.store), self.lock)

    def where(self) -> str:
        """The index, as a person reads it (the home or Chroma server, and the collection)."""
        return self.qa.where()

    def documents(self) -> list[DocInfo]:
        with self.lock:
            return self.qa.documents()

    def document(self, doc_id: str) -> Document:
        with self.lock:
            return self.qa.document(doc_id)

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        with self.lock:
            return self.qa.ingest(list(paths))

    def remove(self, doc_id: str) -> IngestReport:
        with self.lock:
            return self.qa.remove(doc_id)

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn],
        *,
        backend: str,
        k: int,
        strict: bool = False,
        docs: Sequence[str] | None = None,
    ) -> Generator[str | Answer, None, None]:
        """`QA.ask_stream` under the lock, only from the documents `docs` (ids; None: all); close the iterator
        (or exhaust it) to release the lock."""
        with self.lock:
            yield from self.qa.ask_stream(question, history, backend=backend, k=k, strict=strict, docs=docs)

    def excerpts(self, answer: Answer) -> dict[int, Excerpt]:
        """Each citation's quote with the text around it in its document (just the quote if the document
        is gone or has changed since)."""
        texts: dict[str, str | None] = {}
        out: dict[int, Excerpt] = {}
        for c in answer.citations:
            if c.doc_id not in texts:
                try:
                    texts[c.doc_id] = self.document(c.doc_id).text
                except QAError:
                    texts[c.doc_id] = None
            text = texts[c.doc_id]
            fresh = text is not None and text[c.start : c.end] == c.quote
            out[c.n] = excerpt_around(text, c.start, c.end) if text and fresh else Excerpt("", c.quote, "")
        return out
