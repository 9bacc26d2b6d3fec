"""The store's change log (`qa/index/changes.py`): a process follows another's writes by what they changed, without
listing every chunk id, and lists ids whenever the log cannot tell for sure (two writers from one revision, a
write killed before it closed, a change too large to record, a trimmed log)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa import QA, Settings
from qa.backends import make_client
from qa.index.changes import ChangeLog, InChroma, InProcess, Records
from qa.index.lexical import LexicalIndex
from qa.index.retrieval import Retriever
from qa.index.store import ChromaStore
from tests.conftest import SEED, MakeQA, MemoEmbedder, write


class Listing:
    """A real store that counts how often every chunk id is listed."""

    def __init__(self, inner: ChromaStore) -> None:
        self.inner = inner
        self.listings = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def all_ids(self) -> list[str]:
        self.listings += 1
        return self.inner.all_ids()


def sentences() -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", SEED.read_text(encoding="utf-8")) if len(s) > 20]


def fill(folder: Path, files: int = 4) -> None:
    pool = sentences()
    for i in range(files):
        write(folder / f"f{i}.txt", " ".join(pool[i * 3 : i * 3 + 3]) + "\n")


def in_step(reader: Retriever, store: ChromaStore) -> None:
    """The reader's lexical index and in-memory copy hold exactly what the store holds, and rank as new ones."""
    stored = sorted(store.all_ids())
    lexical, copy = reader.lexical(), reader.exact()
    assert copy is not None
    assert sorted(lexical.ids) == stored and sorted(c.chunk_id for c in copy.chunks) == stored
    full = LexicalIndex.build(store.all_rows(), "full")
    for query in ("quokka island ferries", "North Korean soldiers", "satellite images"):
        assert lexical.search(query, 10) == full.search(query, 10)


def watched(make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path) -> tuple[QA, ChromaStore, Listing, Retriever]:
    """A writer that has ingested four small documents, its store, and a reader of that store that counts its
    listings (none counted yet: the reader's first load had nothing to follow from)."""
    folder = tmp_path / "docs"
    fill(folder)
    writer = make_qa(chunk_tokens=32, chunk_overlap=0)
    writer.ingest([folder])
    store = writer.store
    assert isinstance(store, ChromaStore)
    listing = Listing(store)
    reader = Retriever(listing, embedder, tmp_path / "bm25")  # type: ignore[arg-type]
    reader.warm()
    assert listing.listings >= 1
    listing.listings = 0
    return writer, store, listing, reader


def test_a_reader_follows_writes_by_the_log_without_listing_ids(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    writer, store, watching, reader = watched(make_qa, embedder, tmp_path)
    folder = tmp_path / "docs"
    write(folder / "new.txt", "Quokka colonies thrive on the island, where the ferries call twice a week.\n")
    writer.ingest([folder])
    (folder / "f1.txt").unlink()
    write(folder / "f2.txt", "An edited file about the quokka ferries.\n")
    writer.ingest([folder], prune=True)  # two more writes: an update and a removal
    in_step(reader, store)
    assert watching.listings == 0
    [top] = reader.search("quokka colonies on the island", 1, "dense")
    assert Path(top.source).name == "new.txt"


def test_interleaved_writers_make_the_reader_list_ids(make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path) -> None:
    first, store, watching, reader = watched(make_qa, embedder, tmp_path)
    other = make_qa(chunk_tokens=32, chunk_overlap=0).store  # a second writer on the same collection
    assert isinstance(other, ChromaStore)
    docs = {Path(info.source).name: info.doc_id for info in first.documents()}

    store.touch(pending=True)
    other.touch(pending=True)  # begins while the first write is open
    store.delete(sorted(store.chunk_ids(docs["f0.txt"])))
    other.delete(sorted(other.chunk_ids(docs["f1.txt"])))
    store.touch()
    other.touch()
    in_step(reader, store)  # both removals seen
    assert watching.listings >= 1  # the records do not chain from the reader's revision to the current one


def test_a_write_killed_before_it_closed_makes_the_reader_list_ids(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    writer, store, watching, reader = watched(make_qa, embedder, tmp_path)
    doc = next(info.doc_id for info in writer.documents() if info.source.endswith("f0.txt"))
    store.touch(pending=True)
    store.delete(sorted(store.chunk_ids(doc)))  # and the process dies here: no closing touch, no record
    in_step(reader, store)
    assert watching.listings >= 1


@pytest.fixture(params=["in Chroma", "in process"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Records:
    if request.param == "in process":
        return InProcess(f"test-{tmp_path.name}")
    return InChroma(make_client(Settings(home=tmp_path / "home")), "notes")


def test_the_log_nets_changes_out_and_knows_what_it_cannot_tell(records: Records) -> None:
    log = ChangeLog(records, keep=3, most_ids=5)
    assert log.since("r0", "r0") is not None and log.since("r0", "r1") is None  # no log yet: cannot tell

    log.begin("r0", "p1")
    log.note(added=["a", "b"])
    log.note(removed=["old"])
    log.close("r1")
    log.begin("r1", "p2")
    log.note(removed=["a"], added=["old"])
    log.close("r2")
    change = log.since("r0", "r2")
    assert change is not None and (change.added, change.removed) == (["b", "old"], ["a"])
    change = log.since("p2", "r2")  # from a revision read while the second write was pending
    assert change is not None and (change.added, change.removed) == (["old"], ["a"])
    assert log.since("r0", "r9") is None  # the chain never reaches r9

    log.begin("r2", "p3")
    log.note(added=[f"x{i}" for i in range(6)])  # more than most_ids: not recorded
    log.close("r3")
    assert log.since("r2", "r3") is None

    log.close("r4")  # a close with no write begun records nothing
    assert log.since("r3", "r4") is None
    log.begin("r4", "q1")
    log.close("s1")
    log.begin("r4", "q2")  # a second writer from the same revision: a branch
    log.close("s2")
    assert log.since("r4", "s2") is None
    for n in range(5, 12):
        log.begin(f"r{n}", f"p{n + 1}")
        log.close(f"r{n + 1}")
    assert log.since("r9", "r12") is not None  # the newest `keep` records are always there
    assert log.since("r0", "r2") is None  # trimmed: the oldest records are gone
