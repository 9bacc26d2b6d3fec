"""Exact dense search over an in-memory copy of a small collection (`qa/index/exact.py`): it ranks as a brute-force
cosine search over the stored vectors and as Chroma's own query, honours document filters, follows writes by
difference, and gives way to Chroma's index when the collection outgrows it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa import QA
from qa.index.exact import ExactIndex
from qa.index.retrieval import Retriever
from qa.index.store import ChromaStore
from qa.records import Chunk, DocFilter, Span
from tests.conftest import SEED, MakeQA, MemoEmbedder, write

QUESTIONS = [
    "Who oversees the training of the soldiers?",
    "What did the satellite images show?",
    "Where were the troops sent?",
    "How many soldiers were registered?",
    "quokka colonies on the island",
]


def corpus(folder: Path, files: int = 6) -> None:
    """`files` (at most 6) documents of two seed sentences each, no sentence twice (chunked small by `make`:
    several chunks each)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", SEED.read_text(encoding="utf-8")) if len(s) > 20]
    for i in range(files):
        write(folder / f"f{i}.txt", " ".join(sentences[i * 2 : i * 2 + 2]) + "\n")


def make(make_qa: MakeQA) -> QA:
    return make_qa(chunk_tokens=32, chunk_overlap=0)


def brute_force(store: ChromaStore, vector: np.ndarray, n: int) -> list[str]:
    ids, matrix = store.vectors()
    rows = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = rows @ (vector / np.linalg.norm(vector))
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:n]]


def test_the_copy_ranks_as_brute_force_and_as_chroma(make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path) -> None:
    corpus(tmp_path / "docs")
    qa = make(make_qa)
    qa.ingest([tmp_path / "docs"])
    store = qa.store
    assert isinstance(store, ChromaStore)
    plain = Retriever(store, embedder, tmp_path / "plain-bm25")
    warmed = Retriever(store, embedder, tmp_path / "warm-bm25")
    warmed.warm()
    copy = warmed.exact()
    assert copy is not None and len(copy) == store.count() > 10
    for question in QUESTIONS:
        vector = embedder.embed([question])[0]
        exact = [cid for cid, _ in copy.search(vector, 8)]
        assert exact == brute_force(store, vector, 8)
        assert exact == [cid for cid, _ in store.query(vector, 8)]
        for mode in Retriever.MODES:
            assert warmed.search(question, 5, mode) == plain.search(question, 5, mode)


def test_document_filters_keep_to_the_allowed_documents(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    corpus(tmp_path / "docs")
    qa = make(make_qa)
    qa.ingest([tmp_path / "docs"])
    docs = [info.doc_id for info in qa.documents()]
    retriever = Retriever(qa.store, embedder, tmp_path / "bm25")
    retriever.warm()
    copy = retriever.exact()
    assert copy is not None
    vector = embedder.embed([QUESTIONS[0]])[0]
    for only in (
        DocFilter.of(docs[:2]),
        DocFilter.of(None, docs[:3]),
        DocFilter.of(docs[:3], docs[:1]),
        DocFilter.of(["not-a-document"]),
        DocFilter.of(docs[:1], docs[:1]),
    ):
        assert only is not None
        found = copy.search(vector, 50, only)
        assert all(only.allows(chunk.doc_id) for chunk in copy.get([cid for cid, _ in found]))
        assert [cid for cid, _ in found] == [cid for cid, _ in qa.store.query(vector, 50, only)]
        assert len(found) == sum(only.allows(chunk.doc_id) for chunk in copy.chunks)


def test_the_copy_follows_writes_by_difference(make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    corpus(folder)
    writer = make(make_qa)
    writer.ingest([folder])
    reader = Retriever(writer.store, embedder, tmp_path / "bm25")
    reader.warm()
    before = reader.exact()
    assert before is not None
    gone = next(info.doc_id for info in writer.documents() if info.source.endswith("f0.txt"))

    write(folder / "new.txt", "Quokka colonies thrive on the island, where the ferries call twice a week.\n")
    (folder / "f0.txt").unlink()
    writer.ingest([folder], prune=True)
    after = reader.exact()
    assert after is not None and after is not before
    assert after.revision == writer.store.revision()
    assert sorted(c.chunk_id for c in after.chunks) == sorted(writer.store.all_ids())
    assert not [c for c in after.chunks if c.doc_id == gone]
    [top] = reader.search("quokka colonies on the island", 1, "dense")
    assert Path(top.source).name == "new.txt"
    assert after.get([top.chunk_id]) == writer.store.get([top.chunk_id])
    kept = [c for c in before.chunks if c.doc_id != gone]
    assert [after.row[c.chunk_id] for c in kept] == list(range(len(kept)))  # kept rows were not fetched again


def test_a_collection_too_large_for_a_copy_is_searched_through_chroma(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    corpus(folder, files=2)
    qa = make(make_qa)
    qa.ingest([folder])
    small = qa.store.count()
    too_small = Retriever(qa.store, embedder, tmp_path / "a", exact_at_most=small - 1)
    too_small.warm()
    assert too_small.exact() is None

    growing = Retriever(qa.store, embedder, tmp_path / "b", exact_at_most=small)
    growing.warm()
    assert growing.exact() is not None
    corpus(folder, files=4)
    qa.ingest([folder])
    assert qa.store.count() > small
    assert growing.exact() is None  # dropped once the collection outgrew it
    plain = Retriever(qa.store, embedder, tmp_path / "c")
    assert growing.search(QUESTIONS[1], 5) == plain.search(QUESTIONS[1], 5)


class Vectors:
    """A `VectorSource` over chunks and vectors given by hand."""

    def __init__(self, rows: dict[str, tuple[str, list[float]]]) -> None:
        self.rows = rows

    def all_ids(self) -> list[str]:
        return list(self.rows)

    def with_vectors(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], np.ndarray]:
        chunks = [Chunk(cid, 0, Span(self.rows[cid][0], "s.txt", 0, 1, "x")) for cid in chunk_ids]
        return chunks, np.asarray([self.rows[cid][1] for cid in chunk_ids], np.float32)


def test_scores_are_cosine_and_ties_keep_row_order() -> None:
    source = Vectors({"a": ("d1", [3, 0]), "b": ("d2", [0, 0]), "c": ("d1", [1, 1]), "d": ("d2", [2, 2])})
    index = ExactIndex.load(source, "r1")
    found = index.search(np.asarray([5.0, 5.0]), 10)  # k beyond the rows: every row once
    assert [cid for cid, _ in found] == ["c", "d", "a", "b"]  # c and d tie (same direction): row order
    assert [round(score, 6) for _, score in found] == [1.0, 1.0, round(1 / np.sqrt(2), 6), 0.0]
    assert [cid for cid, _ in index.search(np.asarray([1.0, 0.0]), 2, DocFilter.of(["d2"]))] == ["d", "b"]
    del source.rows["a"]
    source.rows["e"] = ("d3", [0, 1])
    later = index.updated(source, "r2")
    assert (later.revision, [c.chunk_id for c in later.chunks]) == ("r2", ["b", "c", "d", "e"])
    assert [cid for cid, _ in index.search(np.asarray([1.0, 0.0]), 1)] == ["a"]  # the old copy is unchanged
    assert ExactIndex.empty(2).search(np.ones(2), 5) == []
