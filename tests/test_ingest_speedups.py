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
from tests.conftest import MakeQA, write
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
        if name == "all_ids":  # a store that cannot list ids: every file is looked up, and the gate is met
            raise AttributeError(name)
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


def test_embedding_starts_before_the_last_file_is_read_and_writes_one_batch_at_a_time(
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
    # the first embedder call takes the first whole documents holding >= 64 chunks, the second all the rest
    # (up to 512); each call's chunks are one store write, made as soon as its vectors come back
    first, total = 65, report.chunks_added
    assert signalling.calls == 2
    writes = [("touch", 1), ("add", first), ("touch", 0), ("touch", 1), ("add", total - first), ("touch", 0)]
    assert gated.writes == writes
    assert progress == [(first, total), (total, total)]
    assert len(all_ids(make_qa(**settings))) == report.chunks_added
    assert make_qa(**settings).ingest([folder]).chunks_added == 0


class CountingStore:
    """A real store that counts how the ingest learns what is stored (per-file lookups, whole listings) and
    can claim to hold more chunks than it does, or to be unable to list them."""

    def __init__(self, inner: ChromaStore, claimed: int | None = None, lists: bool = True) -> None:
        self._inner, self._claimed, self._lists = inner, claimed, lists
        self.lookups = self.listings = 0

    def __getattr__(self, name: str) -> object:
        if name == "all_ids":
            if not self._lists:
                raise AttributeError(name)
            self.listings += 1
        return getattr(self._inner, name)

    def count(self) -> int:
        return self._inner.count() if self._claimed is None else self._claimed

    def chunk_ids(self, doc_id: str) -> set[str]:
        self.lookups += 1
        return self._inner.chunk_ids(doc_id)


def test_a_large_ingest_learns_what_is_stored_from_one_listing(make_qa: MakeQA, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    paths = many_files(folder)
    settings = {"chunk_tokens": 24, "chunk_overlap": 6}
    listed = CountingStore(make_qa(**settings).store)  # type: ignore[arg-type]
    first = make_qa(store=listed, **settings).ingest([folder])  # type: ignore[arg-type]
    assert (listed.listings, listed.lookups) == (1, 0)
    assert first.ok and len(first.added) == len(paths)

    lookup_home = CountingStore(make_qa(collection="by-lookup", **settings).store, lists=False)  # type: ignore[arg-type]
    by_lookup = make_qa(store=lookup_home, collection="by-lookup", **settings)  # type: ignore[arg-type]
    by_lookup.ingest([folder])
    assert (lookup_home.listings, lookup_home.lookups) == (0, len(paths))

    write(paths[3], "An edited file: its chunks change.\n")
    write(folder / "zz-new.txt", "A file added later.\n")
    again = make_qa(store=listed, **settings).ingest([folder])  # type: ignore[arg-type]
    assert (listed.listings, listed.lookups) == (2, 0)
    names = [Path(source).name for source in again.updated + again.added]
    assert (names, len(again.unchanged)) == (["part-03.txt", "zz-new.txt"], len(paths) - 1)
    reference = by_lookup.ingest([folder])
    assert (reference.updated, reference.added, reference.unchanged) == (again.updated, again.added, again.unchanged)
    assert (reference.chunks_added, reference.chunks_removed) == (again.chunks_added, again.chunks_removed)
    assert sorted(listed._inner.all_ids()) == sorted(lookup_home._inner.all_ids())  # the same chunks either way

    big = CountingStore(make_qa(**settings).store, claimed=10**6)  # type: ignore[arg-type]
    make_qa(store=big, **settings).ingest([folder])  # type: ignore[arg-type]
    assert (big.listings, big.lookups) == (0, len(paths) + 1)  # a few files against a large store: lookups
