"""The lexical index kept up to date by the change: its scores are bm25s's to the bit, and after any sequence of
additions and removals (in memory, through the disk cache, through a real Chroma store) it ranks exactly as an
index built from scratch over the same chunks."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import bm25s
import numpy as np

from qa.index.bm25 import terms
from qa.index.lexical import LexicalIndex
from qa.index.lexical_sync import refresh
from qa.index.retrieval import Retriever
from qa.records import DocFilter
from qa.text.words import stemmer
from tests.conftest import SEED, MakeQA, MemoEmbedder, write

Row = tuple[str, str, str]


def sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]


def corpus(n: int, seed: int = 7) -> list[Row]:
    """`n` chunks of three seed sentences each, drawn at random; three chunks to a document."""
    rng, pool = random.Random(seed), sentences()
    return [(f"c{i:04d}", f"d{i // 3:03d}", " ".join(rng.sample(pool, 3))) for i in range(n)]


def queries(rows: list[Row], n: int = 300, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    words = sorted({w for _, _, text in rows for w in re.findall(r"[A-Za-z]{3,}", text)})
    return [" ".join(rng.sample(words, rng.randint(1, 5))) for _ in range(n)]


def rankings(index: LexicalIndex, asked: list[str], only: DocFilter | None = None) -> list[list[tuple[str, float]]]:
    return [index.search(q, 30, only) for q in asked]


def test_scores_are_bm25s_scores_bit_for_bit() -> None:
    rows = corpus(300)
    index = LexicalIndex.build(rows, "r")
    reference = bm25s.BM25()
    tokens = bm25s.tokenize([text for *_, text in rows], stopwords="en", stemmer=stemmer(), show_progress=False)
    reference.index(tokens, show_progress=False)
    compared = 0
    for query in queries(rows):
        known = [w for w in terms([query])[0] if w in reference.vocab_dict]
        if known:
            assert np.array_equal(index.scores(known), np.asarray(reference.get_scores(known)))
            compared += 1
    assert compared > 250


def test_after_any_changes_the_index_ranks_as_a_full_rebuild() -> None:
    rows = corpus(600)
    asked = queries(rows, 200)
    rng = random.Random(11)
    live = {row[0]: row for row in rows[:400]}
    waiting = rows[400:]
    index = LexicalIndex.build(live.values(), "r0")
    removed: list[Row] = []
    for step in range(1, 13):
        back = [removed.pop() for _ in range(min(len(removed), rng.randint(0, 2)))]  # an id can come back
        added = [waiting.pop() for _ in range(rng.randint(0, 12))] + back
        gone = rng.sample(sorted(live), rng.randint(0, 9))
        index = index.updated(added, gone, f"r{step}")
        live.update((row[0], row) for row in added)
        removed += [live.pop(cid) for cid in gone if cid in live]
        if step == 8:
            index = index.folded()
            assert not index.delta_terms and not index.dead
        full = LexicalIndex.build([live[cid] for cid in sorted(live)], "full")
        assert sorted(index.ids) == sorted(live)
        assert rankings(index, asked) == rankings(full, asked), step
        only = DocFilter(exclude=frozenset({"d005", "d120", "d133"}))
        assert rankings(index, asked[:40], only) == rankings(full, asked[:40], only), step
    assert index.delta_terms and index.dead  # the last steps ran over a base with a delta and tombstones


def test_a_change_is_saved_as_a_delta_beside_the_base(tmp_path: Path) -> None:
    rows = corpus(300)
    asked = queries(rows, 100)
    cache = tmp_path / "bm25"
    index = LexicalIndex.build(rows[:250], "r1")
    index.save(cache)
    base_written = (cache / "postings.npz").stat().st_ino
    index = index.updated(rows[250:], [cid for cid, *_ in rows[:30]], "r2")
    index.save(cache)
    assert (cache / "postings.npz").stat().st_ino == base_written  # the base was not written again
    assert LexicalIndex.load(cache, "r1") is None
    loaded = LexicalIndex.load(cache, "r2")
    assert loaded is not None and loaded.revision == "r2"
    assert rankings(loaded, asked) == rankings(index, asked)
    assert rankings(loaded, asked) == rankings(LexicalIndex.build(rows[30:], "x"), asked)


def test_a_delta_written_over_another_base_is_not_applied(tmp_path: Path) -> None:
    rows = corpus(120)
    cache = tmp_path / "bm25"
    LexicalIndex.build(rows[:100], "r1").save(cache)
    ours = LexicalIndex.build(rows[:60], "r0").updated(rows[60:], [], "r2")
    meta = json.loads((cache / "qa.json").read_text())
    meta["base"] = ours.base.label  # as if another process wrote its delta after this base replaced its own
    (cache / "qa.json").write_text(json.dumps(meta))
    loaded = LexicalIndex.load(cache)
    assert loaded is not None and loaded.revision == "" and sorted(loaded.ids) == sorted(r[0] for r in rows[:100])


def test_a_cache_in_the_old_layout_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "bm25"
    cache.mkdir()
    (cache / "qa.json").write_text(json.dumps({"revision": "r1", "ids": ["c1"], "docs": ["d1"]}))
    assert LexicalIndex.load(cache) is None


def test_a_process_follows_writes_by_difference_and_a_new_one_from_the_cache(
    make_qa: MakeQA, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    pool = sentences()
    for i in range(6):
        write(folder / f"f{i}.txt", " ".join(pool[i * 4 : i * 4 + 4]) + "\n")
    writer = make_qa()
    writer.ingest([folder])
    cache = tmp_path / "reader-bm25"
    reader = Retriever(writer.store, embedder, cache)
    before = reader.lexical()
    asked = [*queries([("", "", s) for s in pool], 60), "zebrafinch quokka"]

    write(folder / "new.txt", "Zebrafinch and quokka colonies thrive on the island.\n")
    (folder / "f0.txt").unlink()
    doc_id = next(info.doc_id for info in writer.store.documents() if info.source.endswith("f0.txt"))
    writer.ingest([folder], prune=True)
    after = reader.lexical()
    assert after.base is before.base  # brought up to date by the change, not rebuilt
    full = LexicalIndex.build(writer.store.all_rows(), "full")
    assert rankings(after, asked) == rankings(full, asked)
    [(top, _)] = after.search("quokka", 5)
    assert [Path(chunk.source).name for chunk in writer.store.get([top])] == ["new.txt"]
    assert not {cid for cid in before.ids if cid.startswith(doc_id)} & set(after.ids)

    fresh = Retriever(writer.store, embedder, cache).lexical()  # another process: the cache, at this revision
    assert fresh.revision == writer.store.revision()
    assert rankings(fresh, asked) == rankings(full, asked)


def test_refresh_builds_from_rows_for_a_store_that_cannot_list_ids(tmp_path: Path) -> None:
    rows = corpus(30)

    class RowsOnly:
        def all_rows(self) -> Iterator[Row]:
            return iter(rows)

    index = refresh(None, RowsOnly(), tmp_path / "bm25", "r1")
    assert sorted(index.ids) == sorted(r[0] for r in rows)
    assert LexicalIndex.load(tmp_path / "bm25", "r1") is not None
