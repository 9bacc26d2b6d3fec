"""Ingestion through `QA` on an embedded Chroma: idempotency, updates, pruning, crashes, bad inputs, BM25.

Crashes are simulated with `Embedder`/`ChunkStore` implementations that wrap the real ones and raise at a
chosen call: the code under test runs unchanged.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.index.store import ChromaStore, StoredChunk
from qa.ingest.pipeline import doc_id_for
from tests.conftest import SEED, CrashingEmbedder, MakeQA, MemoEmbedder, make_pdf, write

pytestmark = pytest.mark.embedded_only  # ingestion logic does not depend on the store kind


def chunk_map(index: qa.QA) -> dict[str, set[str]]:
    return {info.doc_id: index.store.chunk_ids(info.doc_id) for info in index.documents()}


def all_ids(index: qa.QA) -> list[str]:
    return [chunk_id for chunk_id, _ in index.store.all_texts()]


def lexical_sources(index: qa.QA, word: str) -> set[str]:
    return {Path(hit.source).name for hit in index.search(word, k=20, mode="lexical")}


# --- idempotency, updates, pruning -----------------------------------------------------------------------


def test_ingesting_twice_changes_nothing(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    first = index.ingest([corpus])
    assert len(first.added) == 3 and first.chunks_added == sum(len(ids) for ids in chunk_map(index).values())
    before, revision = chunk_map(index), index.store.revision()

    second = index.ingest([corpus])
    assert sorted(second.unchanged) == sorted(first.added)
    assert (second.added, second.updated, second.removed, second.failed) == ([], [], [], [])
    assert second.chunks_added == second.chunks_removed == 0
    assert chunk_map(index) == before
    assert index.store.revision() == revision  # nothing changed, so the BM25 cache stays valid
    # a new QA object (a new process, say) agrees: same ids for the same files and settings
    assert make_qa().ingest([corpus]).chunks_added == 0


def test_a_changed_file_is_updated_and_its_old_chunks_go(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus])
    path = corpus / "sourdough.md"
    doc_id = doc_id_for(path)
    old_ids = index.store.chunk_ids(doc_id)
    assert lexical_sources(index, "sourdough") == {"sourdough.md"}

    new_text = "# Kombucha\n\nKombucha is sweet tea fermented by a symbiotic culture of bacteria and yeast.\n"
    write(path, new_text)
    report = index.ingest([corpus])
    assert [Path(s).name for s in report.updated] == ["sourdough.md"]
    assert len(report.unchanged) == 2 and not report.added
    assert report.chunks_removed == len(old_ids)
    new_ids = index.store.chunk_ids(doc_id)
    assert new_ids and not new_ids & old_ids
    assert index.store.get(sorted(old_ids)) == []
    assert index.document(doc_id).text == new_text
    [info] = [d for d in index.documents() if d.doc_id == doc_id]
    assert (info.chunks, info.chars) == (len(new_ids), len(new_text))
    assert lexical_sources(index, "kombucha") == {"sourdough.md"}
    assert lexical_sources(index, "sourdough") == set()
    hits = index.search("fermented sweet tea", k=10)
    assert hits[0].doc_id == doc_id and "Kombucha" in hits[0].text
    assert not {h.chunk_id for h in hits} & old_ids


def test_prune_removes_only_vanished_files_under_the_given_folders(
    make_qa: MakeQA, corpus: Path, tmp_path: Path
) -> None:
    index = make_qa()
    outside = write(tmp_path / "elsewhere" / "note.txt", "A note kept outside the corpus folder.")
    index.ingest([corpus, outside])
    html = corpus / "tidepools.html"
    html_id = doc_id_for(html)
    html.unlink()
    outside.unlink()

    kept = index.ingest([corpus])
    assert kept.removed == [] and len(kept.unchanged) == 2
    assert html_id in {d.doc_id for d in index.documents()}

    pruned = index.ingest([corpus], prune=True)
    assert [Path(s).name for s in pruned.removed] == ["tidepools.html"]
    assert pruned.chunks_removed > 0 and len(pruned.unchanged) == 2
    names = {Path(d.source).name for d in index.documents()}
    assert names == {SEED.name, "sourdough.md", "note.txt"}  # outside the pruned folder: kept
    assert index.store.chunk_ids(html_id) == set()
    assert lexical_sources(index, "anemones") == set()


# --- crashes ---------------------------------------------------------------------------------------------

SHARED = [
    "Every file in this folder repeats a few sentences so that ingesting it stays cheap in tests.",
    "The second shared sentence talks about rivers, bridges and the long roads between old towns.",
    "A third shared sentence mentions lanterns, harbours and the quiet work of night watchmen.",
    "The last shared sentence closes the file with a remark about weather, tides and patience.",
]


def many_files(folder: Path, count: int = 30) -> list[Path]:
    """`count` files of five one-sentence chunks each (at chunk_tokens=24): several embed batches."""
    paths = []
    for number in range(count):
        unique = f"File number {number} is the only one that mentions the codeword zq{number}x at all."
        sentences = [*SHARED[:2], unique, *SHARED[2:]]
        paths.append(write(folder / f"part-{number:02d}.txt", "\n".join(sentences) + "\n"))
    return paths


def test_an_interrupted_ingest_resumes_without_duplicates(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    paths = many_files(folder)
    settings = {"chunk_tokens": 24, "chunk_overlap": 6}

    crashing = CrashingEmbedder(embedder, fail_on=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_qa(using=crashing, **settings).ingest([folder])
    assert crashing.calls == 2
    index = make_qa(**settings)
    stored_after_crash = len(all_ids(index))
    assert 0 < stored_after_crash < 5 * len(paths)  # the first batch made it, the rest did not

    progress: list[tuple[int, int]] = []
    resumed = index.ingest([folder], progress=lambda done, total: progress.append((done, total)))
    assert resumed.ok and len(resumed.unchanged) + len(resumed.added) == len(paths)
    assert resumed.unchanged and resumed.added and not resumed.updated
    assert progress[-1] == (resumed.chunks_added, resumed.chunks_added)

    clean = make_qa(collection="clean-" + index.settings.collection, **settings)
    clean_report = clean.ingest([folder])
    assert len(clean_report.added) == len(paths)
    assert clean_report.chunks_added == stored_after_crash + resumed.chunks_added
    resumed_ids, clean_ids = all_ids(index), all_ids(clean)
    assert len(resumed_ids) == len(set(resumed_ids)) == len(clean_ids) == clean_report.chunks_added
    assert set(resumed_ids) == set(clean_ids)
    assert chunk_map(index) == chunk_map(clean)
    for path in paths:
        document = index.document(doc_id_for(path))
        assert document.text == path.read_text(encoding="utf-8")
        assert document.chunks == 5
    assert lexical_sources(index, "zq29x") == {"part-29.txt"}


def test_an_interrupted_update_keeps_the_old_version(make_qa: MakeQA, embedder: MemoEmbedder, corpus: Path) -> None:
    index = make_qa()
    path = corpus / "sourdough.md"
    index.ingest([path])
    doc_id = doc_id_for(path)
    old_text, old_ids = path.read_text(encoding="utf-8"), index.store.chunk_ids(doc_id)
    new_text = "# Pickles\n\nCucumbers become pickles in brine with dill, garlic and mustard seed.\n"
    write(path, new_text)

    with pytest.raises(RuntimeError, match="simulated crash"):
        make_qa(using=CrashingEmbedder(embedder, fail_on=1)).ingest([path])
    assert index.document(doc_id).text == old_text
    assert index.store.chunk_ids(doc_id) == old_ids
    assert any(hit.doc_id == doc_id for hit in index.search("feed the sourdough starter", k=2))

    report = index.ingest([path])
    assert [Path(s).name for s in report.updated] == ["sourdough.md"]
    assert index.document(doc_id).text == new_text
    assert not index.store.chunk_ids(doc_id) & old_ids
    assert lexical_sources(index, "cucumbers") == {"sourdough.md"}


class DeleteCrashStore:
    """A `ChunkStore` that is the real Chroma store, except that `delete` raises: a run killed right after
    the new chunks were written and before the old ones were deleted."""

    def __init__(self, inner: ChromaStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        self._inner.add(chunks, vectors)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            raise RuntimeError("simulated crash before deleting the old chunks")


def test_a_crash_between_writing_and_deleting_loses_nothing(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    path = corpus / "sourdough.md"
    index.ingest([path])
    doc_id = doc_id_for(path)
    old_text, old_ids = path.read_text(encoding="utf-8"), index.store.chunk_ids(doc_id)
    new_text = old_text.replace("twenty minutes", "forty minutes") + "\nRest the bread before cutting it.\n"
    write(path, new_text)

    crashing = make_qa(store=DeleteCrashStore(index.store))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.ingest([path])
    assert old_ids < index.store.chunk_ids(doc_id)  # both versions stored
    assert index.document(doc_id).text in (old_text, new_text)  # a whole version, either one

    report = index.ingest([path])
    assert [Path(s).name for s in report.updated] == ["sourdough.md"]
    assert report.chunks_added == 0 and report.chunks_removed == len(old_ids)  # only the clean-up was left
    assert index.document(doc_id).text == new_text
    assert not index.store.chunk_ids(doc_id) & old_ids
    assert [d.chunks for d in index.documents()] == [len(index.store.chunk_ids(doc_id))]


# --- bad inputs ------------------------------------------------------------------------------------------


def test_bad_inputs_fail_one_by_one_and_the_rest_is_ingested(make_qa: MakeQA, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    good = write(folder / "good.txt", "Alpacas are domesticated camelids from the Andes.\n")
    also_good = write(folder / "also-good.md", "# Kites\n\nA kite flies because wind pushes on its sail.\n")
    index = make_qa(max_file_mb=0.001)  # 1048 bytes
    assert index.ingest([folder]).added  # a first run: good.txt is in the index

    write(folder / "empty.txt", b"")
    write(folder / "blank.md", " \n\t\n")
    write(folder / "binary.txt", b"\x00\x01\x02\x03binary\x00data")
    write(folder / "latin1.txt", "Caf\u00e9 cr\u00e8me".encode("latin-1"))
    write(folder / "broken.pdf", make_pdf(["A page that will be cut short."])[:200])
    write(folder / "big.txt", "Too big for the limit. " * 100)
    write(folder / "scripts-only.html", "<html><script>var x = 1;</script></html>")
    write(folder / "picture.png", b"\x89PNG\r\n\x1a\n")
    write(good, b"Alpacas \xff\xfe no longer UTF-8.\n")  # a good file spoiled after it was ingested
    explicit = write(tmp_path / "report.docx", b"PK\x03\x04 not really a docx")
    missing = tmp_path / "no-such-file.txt"
    new_good = write(folder / "new-good.txt", "Narwhals have a long spiral tusk.\n")

    report = index.ingest([folder, explicit, missing])
    failed = {Path(source).name: reason for source, reason in report.failed}
    assert len(failed) == len(report.failed)  # each bad file once
    expected = {
        "empty.txt": "empty file",
        "blank.md": "empty file",
        "binary.txt": "binary file",
        "latin1.txt": "not valid UTF-8 (byte 0xe9 at offset 3)",
        "broken.pdf": "not a readable PDF",
        "big.txt": "too large",
        "scripts-only.html": "empty file",
        "good.txt": "not valid UTF-8 (byte 0xff at offset 8)",
        "report.docx": "not a readable Word document (not a zip archive",
        "no-such-file.txt": "no such file or directory",
    }
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert reason in failed[name], (name, failed[name])
        assert "\n" not in failed[name] and "Traceback" not in failed[name]
    assert [(Path(s).name, r) for s, r in report.skipped] == [
        (
            "picture.png",
            "unsupported file type .png (supported: .docx, .epub, .html, .htm, .md, .markdown, .pdf, .pptx, .txt)",
        )
    ]
    assert not report.ok
    assert sorted(Path(s).name for s in report.added) == ["new-good.txt"]
    assert sorted(Path(s).name for s in report.unchanged) == ["also-good.md"]

    names = {Path(d.source).name for d in index.documents()}
    assert names == {"good.txt", "also-good.md", "new-good.txt"}
    # the spoiled file keeps its last good version
    assert index.document(doc_id_for(good)).text == "Alpacas are domesticated camelids from the Andes.\n"
    assert lexical_sources(index, "alpacas") == {"good.txt"}
    assert lexical_sources(index, "narwhals") == {"new-good.txt"}
    assert index.document(doc_id_for(also_good)).text == also_good.read_text(encoding="utf-8")
    assert index.document(doc_id_for(new_good)).chunks == 1


def test_the_too_large_reason_shows_different_sizes(make_qa: MakeQA, tmp_path: Path) -> None:
    big = write(tmp_path / "big.txt", "x" * (1024 * 1024 + 20 * 1024))  # 1.02 MB
    [(_, reason)] = make_qa(max_file_mb=1).ingest([big]).failed
    assert "too large" in reason
    size, limit = reason.split("(", 1)[1].split(";")[:2]
    assert size.split()[0] != limit.split()[-2], reason


# --- the lexical index follows the store -------------------------------------------------------------------


def test_lexical_search_sees_exactly_what_the_store_holds(make_qa: MakeQA, tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    a = write(folder / "a.txt", "Axolotls regenerate lost limbs in Mexican lakes.\n")
    b = write(folder / "b.txt", "Bonsai trees are pruned for decades to stay small.\n")
    index = make_qa()
    other = make_qa()  # a second, long-lived object on the same index (another process, say)
    other.warm()

    def agree(expected: dict[str, set[str]]) -> None:
        # `other` searches first after each change: its in-memory index and the one on disk are both stale;
        # then `index` finds a fresh cache on disk; then a brand-new object loads it
        for probe in (other, index, make_qa()):
            for word, names in expected.items():
                assert lexical_sources(probe, word) == names, (word, probe is index)
            for hit in probe.search("axolotls bonsai capybaras", k=20, mode="lexical"):
                assert probe.store.get([hit.chunk_id]), "a lexical hit for a chunk the store no longer has"

    index.ingest([folder])
    agree({"axolotls": {"a.txt"}, "bonsai": {"b.txt"}, "capybaras": set()})

    index.remove(str(a))
    a.unlink()
    agree({"axolotls": set(), "bonsai": {"b.txt"}})

    write(b, "Capybaras are the largest rodents and enjoy warm baths.\n")
    assert index.ingest([folder]).updated
    agree({"axolotls": set(), "bonsai": set(), "capybaras": {"b.txt"}})

    write(folder / "c.txt", "Dromedaries store fat in a single hump.\n")
    write(a, "Axolotls are back in the folder.\n")
    index.ingest([folder])
    agree({"axolotls": {"a.txt"}, "dromedaries": {"c.txt"}, "capybaras": {"b.txt"}})

    cache = index.settings.home / "bm25" / index.settings.collection
    assert json.loads((cache / "qa.json").read_text())["revision"] == index.store.revision()
    shutil.rmtree(cache)  # a lost cache is rebuilt
    assert lexical_sources(make_qa(), "dromedaries") == {"c.txt"}


def test_lexical_search_sees_documents_stored_before_a_crash(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    many_files(folder)
    index = make_qa(chunk_tokens=24, chunk_overlap=6)
    index.warm()  # the BM25 index of the (empty) store is built and cached
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_qa(using=CrashingEmbedder(embedder, fail_on=2), chunk_tokens=24, chunk_overlap=6).ingest([folder])
    assert index.store.chunk_ids(doc_id_for(folder / "part-00.txt"))  # stored by the first batch
    assert any(hit.source.endswith("part-00.txt") for hit in index.search("codeword zq0x", k=3, mode="dense"))
    assert lexical_sources(index, "zq0x") == {"part-00.txt"}


def test_concurrent_searches_after_a_change_do_not_collide(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus / SEED.name])
    readers = [make_qa() for _ in range(6)]  # e.g. the workers of a web UI, or a CLI next to it
    errors: list[str] = []
    found: list[bool] = []
    for round_number in range(8):
        write(corpus / "notes" / "note.txt", f"Note number {round_number} about nothing.\n")
        index.ingest([corpus / "notes"])  # a change: every reader's BM25 index is now stale
        barrier = threading.Barrier(len(readers))

        def search(reader: qa.QA, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                found.append(any(SEED.name in h.source for h in reader.search("Yevkurov", mode="lexical")))
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=search, args=(reader,)) for reader in readers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert found and all(found)
