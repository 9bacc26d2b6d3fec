"""The ingest's speed-ups change no result: batching by length gives every text the vector it has alone,
embedding overlaps the reading of the next files, and the store gets few, large writes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.index.embedders import MINILM_MAX_TOKENS, Embedder, MiniLMEmbedder, length_batches
from qa.index.store import ChromaStore, StoredChunk
from tests.conftest import MakeQA
from tests.test_ingest import all_ids, many_files

TEXTS = [
    "Otters hold hands while they sleep.",
    "Tides",
    "The bridge opened in 1932 after six years of work on its steel arch and granite towers. " * 3,
    "A long text past the model's window: " + "lighthouse keepers logged every passing ship by hand. " * 60,
    "",
    "Why do cats purr?",
]


@pytest.fixture(scope="module")
def one_at_a_time() -> MiniLMEmbedder:
    """Every window in a model call of its own, on one thread: no padding, nothing in parallel."""
    return MiniLMEmbedder(threads=1, batch_tokens=1)


def test_a_text_has_the_same_vector_alone_and_in_any_batch(
    one_at_a_time: MiniLMEmbedder, real_embedder: MiniLMEmbedder
) -> None:
    alone = np.stack([one_at_a_time.embed([text])[0] for text in TEXTS])
    for embedder in (one_at_a_time, real_embedder, MiniLMEmbedder(threads=2, batch_tokens=4 * MINILM_MAX_TOKENS)):
        together = embedder.embed(TEXTS)
        assert together.shape == alone.shape
        np.testing.assert_allclose(together, alone, atol=1e-5, rtol=0)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_length_batches_sort_by_width_and_keep_to_the_budget() -> None:
    widths = [50, 3, 300, 12, 12, 50, 7, 128, 64, 3]
    batches = length_batches(widths, budget=128)
    assert sorted(i for batch in batches for i in batch) == list(range(len(widths)))
    flat = [widths[i] for batch in batches for i in batch]
    assert flat == sorted(widths)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(widths[i] for i in batch) <= 128
    assert [widths[i] for i in batches[-1]] == [300]  # wider than the budget: alone
    assert [[widths[i] for i in b] for b in batches[:2]] == [[3, 3, 7, 12, 12], [50, 50]]
    assert length_batches([], budget=128) == []


class GatedStore:
    """The real store; its `gate_at`-th `chunk_ids` lookup waits until the embedder has been called, and
    it counts the writes."""

    def __init__(self, inner: ChromaStore, embedded: threading.Event, gate_at: int) -> None:
        self._inner, self._embedded, self._gate_at = inner, embedded, gate_at
        self.lookups, self.writes = 0, []
        self.embedded_in_time = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def chunk_ids(self, doc_id: str) -> set[str]:
        self.lookups += 1
        if self.lookups == self._gate_at:
            self.embedded_in_time = self._embedded.wait(timeout=120)
        return self._inner.chunk_ids(doc_id)

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        self.writes.append(("add", len(chunks)))
        self._inner.add(chunks, vectors)

    def touch(self, pending: bool = False) -> None:
        self.writes.append(("touch", int(pending)))
        self._inner.touch(pending)


class SignallingEmbedder:
    """The real embedder; each call sets an event first and is counted."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self.called = threading.Event()
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.called.set()
        return self._inner.embed(texts)


def test_embedding_starts_before_the_last_file_is_read_and_writes_are_few(
    make_qa: MakeQA, embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    paths = many_files(folder)  # 30 files of 5 chunks each at 24 tokens: several embedder calls
    settings = {"chunk_tokens": 24, "chunk_overlap": 6}
    signalling = SignallingEmbedder(embedder)
    gated = GatedStore(make_qa(**settings).store, signalling.called, gate_at=len(paths))  # type: ignore[arg-type]
    progress: list[tuple[int, int]] = []
    report = make_qa(using=signalling, store=gated, **settings).ingest(  # type: ignore[arg-type]
        [folder], progress=lambda done, total: progress.append((done, total))
    )
    assert gated.embedded_in_time, "the embedder was not called before the last file was looked up"
    assert report.ok and len(report.added) == len(paths) and report.chunks_added == 5 * len(paths)
    assert signalling.calls >= 2  # batches of >= 64 chunks each
    assert gated.writes == [("touch", 1), ("add", report.chunks_added), ("touch", 0)]  # one write for all
    assert progress == [(report.chunks_added, report.chunks_added)]
    assert len(all_ids(make_qa(**settings))) == report.chunks_added
    assert make_qa(**settings).ingest([folder]).chunks_added == 0
