"""The store contract, end to end through `QA`: every test runs on embedded Chroma and on a real server.

What it pins down: hits point into their documents (`document.text[start:end] == hit.text`), documents are
rebuilt exactly from their chunks, the listing is right, PDF pages and HTML extraction carry through,
removal is clean, and an index built by one embedder refuses another.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.backends import make_client
from qa.errors import EmptyIndexError
from qa.index.lexical import LexicalIndex
from qa.index.store import HNSW, ChromaStore
from qa.ingest.pipeline import doc_id_for
from qa.records import DocFilter
from tests import fake_openai
from tests.conftest import HTML_DOC, SEED, SEED_QUESTION, MakeQA, MakeSettings, MemoEmbedder, write

QUERIES = [
    SEED_QUESTION,
    "How many North Korean soldiers are in Russia?",
    "What did Putin say about the satellite images?",
    "How do I feed a sourdough starter?",
    "Which animals live in tide pools?",
    "winter clothing and footwear",
]


def assert_hits_point_into_documents(index: qa.QA, hits: list[qa.Hit]) -> None:
    for hit in hits:
        document = index.document(hit.doc_id)
        assert document.text[hit.start : hit.end] == hit.text, f"{hit.source} {hit.start}-{hit.end}"
        assert hit.source == document.source
        assert hit.text.strip() == hit.text and hit.text


def test_hits_point_into_their_documents(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    report = index.ingest([corpus])
    assert sorted(Path(s).name for s in report.added) == [SEED.name, "sourdough.md", "tidepools.html"]
    assert report.ok and not report.skipped and report.chunks_added >= 3
    for query in QUERIES:
        for mode in ("hybrid", "dense", "lexical"):
            hits = index.search(query, k=4, mode=mode)
            assert hits, f"no {mode} hits for {query!r}"
            if mode != "lexical":  # BM25 ranks only the chunks sharing a word with the query; the others rank all
                assert len(hits) == 4, f"{len(hits)} {mode} hits for {query!r}"
            assert_hits_point_into_documents(index, hits)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_documents_are_stored_verbatim_and_listed(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus])
    seed = index.document(doc_id_for(corpus / SEED.name))
    assert seed.text == SEED.read_text(encoding="utf-8")
    markdown = index.document(doc_id_for(corpus / "sourdough.md"))
    assert markdown.text == (corpus / "sourdough.md").read_text(encoding="utf-8")
    assert seed.page_at(0) is None  # no pages outside PDFs

    listing = index.documents()
    assert [Path(d.source).name for d in listing] == sorted(Path(d.source).name for d in listing)  # sorted by source
    by_name = {Path(info.source).name: info for info in listing}
    assert set(by_name) == {SEED.name, "sourdough.md", "tidepools.html"}
    for name, info in by_name.items():
        path = corpus / name
        document = index.document(info.doc_id)
        assert info.doc_id == doc_id_for(path)
        assert info.path == str(path.resolve())
        assert Path(info.source).resolve() == path.resolve()
        assert info.chars == len(document.text)
        assert info.chunks == document.chunks == len(index.store.chunk_ids(info.doc_id)) >= 1
        assert index.find(str(path)) == info == index.find(info.doc_id)


def test_the_seed_question_finds_yevkurov_in_every_mode(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus])
    for mode in ("hybrid", "dense", "lexical"):
        hits = index.search(SEED_QUESTION, k=2, mode=mode)
        assert len(hits) == 2
        assert any("Yunus-bek Yevkurov" in hit.text for hit in hits), (mode, [h.text[:80] for h in hits])
        if mode == "dense":
            assert all(h.dense_rank and h.lexical_rank is None for h in hits)
        if mode == "lexical":
            assert all(h.lexical_rank and h.dense_rank is None for h in hits)
    with pytest.raises(ValueError, match="mode"):
        index.search(SEED_QUESTION, mode="fuzzy")


def test_k_is_respected(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa(chunk_tokens=48, chunk_overlap=8)
    index.ingest([corpus])
    total = sum(info.chunks for info in index.documents())
    assert total > 6
    assert len(index.search(SEED_QUESTION, k=1)) == 1
    assert len(index.search(SEED_QUESTION, k=3, mode="dense")) == 3
    assert len(index.search(SEED_QUESTION)) == index.settings.k == 5  # the default
    everything = index.search(SEED_QUESTION, k=total + 20, mode="dense")
    assert len(everything) == total  # never more than there is, and no duplicates
    assert len({h.chunk_id for h in everything}) == total


def assert_says_the_index_is_empty(index: qa.QA, error: EmptyIndexError) -> None:
    message = str(error)
    assert message.startswith("the index holds no documents (") and "add some with `qa ingest <folder>`" in message
    assert repr(index.settings.collection) in message
    assert (index.settings.chroma_url or str(index.settings.home)) in message
    assert error.where == index.where()


def test_an_empty_index_says_so_when_searched_or_asked(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    assert index.documents() == []
    for mode in ("hybrid", "dense", "lexical"):
        with pytest.raises(EmptyIndexError) as info:
            index.search(SEED_QUESTION, mode=mode)
        assert_says_the_index_is_empty(index, info.value)
    with pytest.raises(EmptyIndexError) as info:
        index.ask(SEED_QUESTION, backend="extractive")
    assert_says_the_index_is_empty(index, info.value)
    with pytest.raises(EmptyIndexError):
        next(iter(index.ask_stream(SEED_QUESTION, backend="extractive")))
    # an index whose last document was removed is empty again
    index.ingest([corpus / SEED.name])
    assert index.search(SEED_QUESTION, k=1)
    index.remove(str(corpus / SEED.name))
    with pytest.raises(EmptyIndexError):
        index.ask(SEED_QUESTION, backend="extractive")


# --- document filters: search and answer within chosen documents, or without some ------------------------

EVERY_TOPIC = "Who trains the North Korean troops, how is a sourdough starter fed, what lives in tide pools?"


def test_a_document_filter_holds_in_every_mode(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa(chunk_tokens=48, chunk_overlap=8)
    index.ingest([corpus])
    seed, md, page = (doc_id_for(corpus / name) for name in (SEED.name, "sourdough.md", "tidepools.html"))
    chunks = {info.doc_id: info.chunks for info in index.documents()}
    for mode in ("hybrid", "dense", "lexical"):
        everything = index.search(EVERY_TOPIC, k=40, mode=mode)
        assert {h.doc_id for h in everything} == {seed, md, page}, mode  # each document matches unfiltered
        without = index.search(EVERY_TOPIC, k=40, mode=mode, exclude_docs=[seed])
        assert {h.doc_id for h in without} == {md, page}, mode
        if mode == "dense":  # nearest neighbours among the rest: every chunk that is left, none of the seed's
            assert len(without) == chunks[md] + chunks[page]
        within = index.search(EVERY_TOPIC, k=40, mode=mode, docs=[md])
        assert within and {h.doc_id for h in within} == {md}, mode
        both = index.search(EVERY_TOPIC, k=40, mode=mode, docs=[md, page], exclude_docs=[md])
        assert both and {h.doc_id for h in both} == {page}, mode
        assert index.search(EVERY_TOPIC, mode=mode, docs=[]) == []
        assert index.search(EVERY_TOPIC, mode=mode, docs=[seed], exclude_docs=[seed]) == []
        assert_hits_point_into_documents(index, without + within + both)
    first = index.search(SEED_QUESTION, k=1)[0]
    assert first.doc_id == seed  # the seed's best passage would lead, if it were not left out
    assert index.search(SEED_QUESTION, k=1, exclude_docs=[seed])[0].doc_id != seed
    assert index.search(SEED_QUESTION, k=1, exclude_docs=seed)[0].doc_id != seed  # one id as a plain string


def test_left_out_documents_never_reach_the_answer(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus])
    seed, md = doc_id_for(corpus / SEED.name), doc_id_for(corpus / "sourdough.md")
    answer = index.ask(SEED_QUESTION, backend="extractive")
    assert not answer.refused and {c.doc_id for c in answer.citations} == {seed}
    without = index.ask(SEED_QUESTION, backend="extractive", exclude_docs=[seed])
    assert without.refused and not without.citations  # nothing else in the corpus says who trains them
    within = index.ask("At what temperature is the loaf baked?", backend="extractive", docs=[md])
    assert not within.refused and {c.doc_id for c in within.citations} == {md}
    assert index.ask(SEED_QUESTION, backend="extractive", docs=[md]).refused
    assert index.ask("At what temperature is the loaf baked?", backend="extractive", exclude_docs=[md]).refused


@pytest.mark.parametrize("store_kind", ["embedded"])  # what reaches the model; the store is tested above
def test_an_llm_sees_no_passage_of_a_left_out_document(make_qa: MakeQA, corpus: Path) -> None:
    with fake_openai.serve() as fake:
        index = make_qa(backend="openai", openai_base_url=fake.url, timeout=5.0)
        index.ingest([corpus])
        seed = doc_id_for(corpus / SEED.name)
        index.ask(SEED_QUESTION)
        everything = fake.user_prompt()
        index.ask(SEED_QUESTION, exclude_docs=[seed])
        without = fake.user_prompt()
    passages = without.split("Question:")[0]
    sentences = [s for s in re.split(r"(?<=[.!?”])\s+", SEED.read_text(encoding="utf-8")) if len(s) >= 25]
    assert sum(s in everything for s in sentences) >= 5  # unfiltered, the seed's passages reach the model
    assert [s for s in sentences if s in passages] == []  # left out, not one of its sentences does
    assert "sourdough" in passages.lower() and "tide pools" in passages.lower()  # the other documents do


def test_a_lexical_cache_from_before_document_filters_is_rebuilt(tmp_path: Path) -> None:
    index = LexicalIndex.build([("c1", "d1", "gannets dive for fish"), ("c2", "d2", "puffins dig burrows")], "r1")
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", "r1")
    assert loaded is not None and loaded.docs == ["d1", "d2"]
    assert loaded.search("gannets puffins", 5, DocFilter(exclude=frozenset({"d1"}))) == [
        ("c2", pytest.approx(loaded.search("puffins", 5)[0][1]))
    ]
    meta = json.loads((tmp_path / "bm25" / "qa.json").read_text())
    del meta["docs"]  # the layout written before chunks carried their document
    (tmp_path / "bm25" / "qa.json").write_text(json.dumps(meta))
    assert LexicalIndex.load(tmp_path / "bm25", "r1") is None


def test_pdf_hits_carry_their_page(make_qa: MakeQA, pdf_file: Path) -> None:
    index = make_qa(chunk_tokens=24, chunk_overlap=6)
    report = index.ingest([pdf_file])
    assert report.added and report.ok
    document = index.document(doc_id_for(pdf_file))
    assert len(document.page_starts) == 3 and document.page_starts[0] == 0
    expected = {"glaciers carve valleys": 1, "magma rises through cracks": 2, "Fresnel lens lighthouse": 3}
    for query, page in expected.items():
        hits = index.search(query, k=3)
        assert hits[0].page == page, (query, [(h.page, h.text) for h in hits])
        for hit in hits:
            assert document.text[hit.start : hit.end] == hit.text
            assert hit.page is not None and hit.page >= 1
            assert document.page_at(hit.start) == hit.page
    # every page's text is on that page
    for number, start in enumerate(document.page_starts, start=1):
        assert document.page_at(start) == number
        assert document.text[start:].startswith(f"Page {['one', 'two', 'three'][number - 1]}")


def test_html_is_searched_as_extracted_text_without_scripts(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa(chunk_tokens=24, chunk_overlap=6)
    page = corpus / "tidepools.html"
    index.ingest([page])
    document = index.document(doc_id_for(page))
    assert "<" not in document.text and "Sea anemones and starfish" in document.text
    assert document.text.startswith("Tide pools of the Atlantic coast")  # the <title> leads
    for hidden in ("quetzalscript", "zanzibarstyle", "hiddenoscriptword", "console.log"):
        assert hidden in HTML_DOC and hidden not in document.text
        assert index.search(hidden, mode="lexical") == []
        assert all(hidden not in hit.text for hit in index.search(hidden, k=10))
    hits = index.search("hermit crabs and barnacles", k=3)
    assert any("Hermit crabs" in hit.text for hit in hits)
    assert_hits_point_into_documents(index, hits)


class OtherEmbedder:
    """A different vector space: same dimension, other name."""

    name = "some-other-embedder-v2"

    def embed(self, texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        vectors = rng.normal(size=(len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_an_index_refuses_another_embedder(make_qa: MakeQA, corpus: Path, embedder: MemoEmbedder) -> None:
    make_qa().ingest([corpus / SEED.name])
    with pytest.raises(qa.EmbedderMismatchError) as info:
        make_qa(using=OtherEmbedder())
    message = str(info.value)
    assert embedder.name in message and OtherEmbedder.name in message
    assert make_qa().search(SEED_QUESTION, k=1)  # the index is still fine with its own embedder


def test_remove_by_id_and_by_path(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus])
    seed_id, md_path = doc_id_for(corpus / SEED.name), corpus / "sourdough.md"
    md_id, html_id = doc_id_for(md_path), doc_id_for(corpus / "tidepools.html")
    html_before = (index.document(html_id), index.store.chunk_ids(html_id))
    seed_chunks = len(index.store.chunk_ids(seed_id))

    report = index.remove(seed_id)
    assert [Path(s).name for s in report.removed] == [SEED.name]
    assert report.chunks_removed == seed_chunks
    assert index.store.chunk_ids(seed_id) == set()
    with pytest.raises(qa.NotFoundError):
        index.document(seed_id)
    for mode in ("hybrid", "dense", "lexical"):
        assert all(hit.doc_id != seed_id for hit in index.search("Yevkurov North Korean troops", k=10, mode=mode))

    report = index.remove(str(md_path))
    assert [Path(s).name for s in report.removed] == ["sourdough.md"]
    assert index.store.chunk_ids(md_id) == set()
    assert all(hit.doc_id != md_id for hit in index.search("sourdough starter", k=10))
    assert index.search("sourdough starter", mode="lexical") == []

    assert [info.doc_id for info in index.documents()] == [html_id]
    assert (index.document(html_id), index.store.chunk_ids(html_id)) == html_before  # untouched
    for unknown in ("0123456789abcdef", seed_id, str(corpus / "no-such-file.txt")):
        with pytest.raises(qa.NotFoundError):
            index.remove(unknown)


@pytest.mark.parametrize("name", [SEED.name, "spacey.md"])
def test_small_chunks_tile_the_document_exactly(make_qa: MakeQA, corpus: Path, name: str) -> None:
    write(
        corpus / "spacey.md",
        "\n\n  \tLeading whitespace stays.  \n\n\n   Second paragraph, indented.\nA line.   \n"
        + " ".join(f"Sentence {n} goes on and on about nothing at all." for n in range(12))
        + "\n\n\n \t\n",
    )
    index = make_qa(chunk_tokens=24, chunk_overlap=6)
    path = corpus / name
    index.ingest([path])
    document = index.document(doc_id_for(path))
    assert document.chunks >= 8
    assert document.text == path.read_text(encoding="utf-8")
    [info] = index.documents()
    assert info.chunks == document.chunks and info.chars == len(document.text)
    hits = index.search("Sentence 7 goes on", k=10)
    assert len(hits) == min(10, document.chunks)
    assert_hits_point_into_documents(index, hits)


def test_a_chunk_is_read_with_its_neighbours_without_reading_the_whole_document(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa(chunk_tokens=24, chunk_overlap=6)
    index.ingest([corpus / SEED.name])
    document = index.document(doc_id_for(corpus / SEED.name))
    assert document.chunks >= 8
    end = len(document.text.rstrip())  # where the last chunk ends
    for hit in index.search("What did Putin say about the satellite images?", k=10):
        for chars in (0, 300):
            window = index.store.window(hit.chunk_id, chars)
            assert window is not None and window.doc_id == hit.doc_id
            assert document.text[window.start : window.end] == window.text  # the document's own text
            assert window.start <= max(0, hit.start - chars) and min(hit.end + chars, end) <= window.end
    assert index.store.window("no-such-chunk", 300) is None


def hnsw_of(settings: qa.Settings) -> dict[str, object]:
    return dict(make_client(settings).get_collection(settings.collection).configuration["hnsw"])


def test_a_new_collection_gets_qa_s_approximate_index_settings(make_qa: MakeQA, corpus: Path) -> None:
    index = make_qa()
    index.ingest([corpus / SEED.name])
    assert {key: hnsw_of(index.settings)[key] for key in HNSW} == HNSW


def test_an_older_collection_is_opened_and_searches_wider(
    make_qa: MakeQA, make_settings: MakeSettings, corpus: Path, embedder: MemoEmbedder
) -> None:
    """A collection made with Chroma's defaults (as qa made them before) keeps its data and its graph; only
    ef_search, the one setting Chroma lets an existing collection change, is raised to qa's."""
    settings = make_settings()
    chroma_defaults = {"ef_construction": 100, "max_neighbors": 16, "ef_search": 100}
    older = ChromaStore(make_client(settings), settings.collection, embedder.name, hnsw=chroma_defaults)
    chunks = make_qa(store=older).ingest([corpus / SEED.name]).chunks_added
    assert hnsw_of(settings)["ef_search"] == 100
    reopened = make_qa()
    assert hnsw_of(settings)["ef_search"] == HNSW["ef_search"]
    assert hnsw_of(settings)["max_neighbors"] == 16  # fixed when the collection was made
    assert reopened.store.count() == chunks
    assert "Yevkurov" in reopened.ask(SEED_QUESTION).text
    make_qa()  # opening it again changes nothing more
    assert hnsw_of(settings)["ef_search"] == HNSW["ef_search"]
