"""A sentence longer than a chunk is cut between words by the chunker; quoted from one passage it would stop
mid-sentence. The extractive answer, and an LLM answer's citation, quote it whole from the document
(qa/answer/edges.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa import QA
from qa.answer.edges import around, cut_at, whole
from qa.errors import NotFoundError, StoreError
from qa.evaluation.quote_ends import ends_mid_sentence
from qa.records import Document, Span
from tests.conftest import MakeQA, write
from tests.fake_openai import assert_grounded, serve
from tests.records import make_passage
from tests.test_answering import passage_with

pytestmark = pytest.mark.embedded_only  # the store is not what is tested here

PEOPLE = [
    ("Harbour Commissioner", "Ada Quillfeather"),
    ("River Warden", "Bram Oakhollow"),
    ("Lighthouse Keeper", "Cora Wyndmere"),
    ("Ferry Master", "Dov Ashcombe"),
    ("Salt Inspector", "Elna Brightwater"),
    ("Canal Engineer", "Fitz Marrowby"),
    ("Dock Surgeon", "Greta Hollins"),
    ("Tide Recorder", "Hugo Pennywhistle"),
    ("Rope Maker", "Ines Cardew"),
    ("Sail Mender", "Jory Tamsin"),
    ("Net Weaver", "Kit Lowenna"),
    ("Customs Clerk", "Lars Penhallow"),
    ("Pilot Captain", "Mira Trevose"),
    ("Buoy Painter", "Nils Carbis"),
    ("Quay Foreman", "Opal Rosewarne"),
    ("Fish Auctioneer", "Piet Chenoweth"),
    ("Bell Ringer", "Rosa Angove"),
    ("Chart Engraver", "Sven Polglase"),
    ("Anchor Smith", "Tova Jewell"),
    ("Weather Reader", "Ulf Nancarrow"),
]
LIST = "Officers of the port over the years: " + "; ".join(f"{t} {n}" for t, n in PEOPLE) + "."


def port_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "port"
    write(folder / "port.txt", f"The port of Tressick.\n\nThe port opened in 1820.\n\n{LIST}\n\nIt closed in 1990.\n")
    return folder


@pytest.fixture
def port(make_qa: MakeQA, tmp_path: Path) -> QA:
    qa = make_qa(backend="extractive", chunk_tokens=80, chunk_overlap=10)
    assert len(qa.ingest([port_folder(tmp_path)]).added) == 1
    return qa


def test_a_sentence_longer_than_a_chunk_is_quoted_whole(port: QA) -> None:
    doc = port.documents()[0]
    hits = port.search("Who was the Canal Engineer of the port?", 5)
    assert not any(LIST in h.span.text for h in hits)  # no passage holds the whole sentence
    answer = port.ask("Who was the Canal Engineer of the port?")
    assert_grounded(port, answer)
    assert not answer.refused, answer.text
    quote = answer.citations[0]
    assert quote.quote == LIST
    text = port.document(doc.doc_id).text
    assert text[quote.start : quote.end] == LIST
    assert not ends_mid_sentence(text, quote.start, quote.end)


def test_only_an_edge_that_may_cut_a_sentence_is_widened() -> None:
    text = "Alpha comes first. Beta runs on and on through the list, Gamma, Delta and Epsilon. Omega."
    cut = make_passage(1, "d", "d.txt", 0, 45, text[:45])  # "... Beta runs on and on through the list, Gamm"
    assert cut_at(cut, 19, 45)
    assert not cut_at(cut, 0, 18)  # a sentence inside the passage
    closed = make_passage(2, "d", "d.txt", 0, 18, text[:18])  # ends "first."
    assert not cut_at(closed, 0, 18)
    started = make_passage(3, "d", "d.txt", 30, 60, text[30:60])  # starts "on and on ..."
    assert cut_at(started, 30, 50)
    span = whole(Document("d", "d.txt", text, 1), 19, 45, text[19:45])
    assert span.text == "Beta runs on and on through the list, Gamma, Delta and Epsilon."
    assert (span.start, span.end) == (19, 19 + len(span.text))
    with pytest.raises(NotFoundError):  # the document no longer reads the quote there: not widened from it
        whole(Document("d", "d.txt", "Changed. " + text, 1), 19, 45, text[19:45])


def test_an_llm_answers_citation_of_a_cut_sentence_is_widened_too(make_qa: MakeQA, tmp_path: Path) -> None:
    with serve() as server:
        qa = make_qa(
            backend="openai", openai_base_url=server.url, llm_model="fake-model", timeout=5.0, chunk_tokens=80,
            chunk_overlap=10,
        )  # fmt: skip
        assert len(qa.ingest([port_folder(tmp_path)]).added) == 1
        server.reply(lambda body: f"The Canal Engineer was Fitz Marrowby [{passage_with(body, 'Fitz Marrowby')}].")
        answer = qa.ask("Who was the Canal Engineer of the port?")
    assert_grounded(qa, answer)
    assert not answer.refused, answer.text
    assert [c.quote for c in answer.citations] == [LIST]


MATCHES = (
    "get_close_matches(word, possibilities, n=3, cutoff=0.6)\n\n"
    "Return a list of the best good enough matches of word among the possibilities, a list of sequences.\n\n"
    "Optional argument n (default 3) is the maximum number of close matches to return; n must be greater than 0.\n\n"
    "Optional argument cutoff (default 0.6) is a float in the range [0, 1].\n\n"
    "class SequenceMatcher compares pairs of sequences of any type, so long as the sequence elements are "
    "hashable. Its algorithm predates, and is a little fancier than, one published in the late 1980s by Ratcliff "
    "and Obershelp.\n"
)


def test_the_best_passage_is_read_with_the_whole_paragraphs_beside_it() -> None:
    text = "A long introduction. " * 20 + "\n\n" + MATCHES + "\nNext topic.\n\n" + "Last words. " * 30
    at = text.index("Optional argument n")
    end = text.index("\n\nOptional argument cutoff")
    passage = make_passage(1, "d", "d.txt", at, end, text[at:end])  # a chunk ending before the cutoff paragraph

    def window(lo: int, hi: int) -> Callable[[str, int], Span | None]:
        return lambda chunk_id, chars: Span("d", "d.txt", lo, hi, text[lo:hi])  # the chunks around it, as stored

    wide = around(passage, window(at - 300, end + 300), 200)
    assert wide.n == 1 and wide.hit.chunk_id == passage.hit.chunk_id
    assert text[wide.start : wide.end] == wide.text  # still the document's own words at its own offsets
    assert wide.start <= at and end <= wide.end
    assert "Optional argument cutoff (default 0.6)" in wide.text
    assert wide.text.startswith("get_close_matches(")  # whole paragraphs only
    assert wide.text.endswith("in the range [0, 1].")
    assert around(passage, window(at - 300, end + 300), 0) == passage
    assert around(passage, window(at, end), 200) == passage  # nothing beside it was read
    whole_start = around(passage, window(0, end), 10_000)
    assert whole_start.start == 0  # the document's start is a paragraph's start
    assert around(passage, lambda *_: None, 200) == passage  # the chunk is gone
    changed = "Changed. " + text  # the document changed since the search
    assert around(passage, lambda *_: Span("d", "d.txt", 0, len(changed), changed), 200) == passage

    def unreadable(chunk_id: str, chars: int) -> Span | None:
        raise StoreError("the store cannot be read")

    assert around(passage, unreadable, 200) == passage


def test_an_answer_past_the_edge_of_the_best_passage_is_found(make_qa: MakeQA, tmp_path: Path) -> None:
    write(tmp_path / "docs" / "difflib.txt", MATCHES)
    qa = make_qa(backend="extractive", chunk_tokens=30, chunk_overlap=0, k=1)  # one passage: the best
    assert qa.ingest([tmp_path / "docs"]).chunks_added > 2
    question = "What is the default cutoff of get_close_matches()?"
    (hit,) = qa.search(question, 1)
    assert hit.text == "get_close_matches(word, possibilities, n=3, cutoff=0.6)"  # the answer is chunks away
    answer = qa.ask(question)
    assert_grounded(qa, answer)
    assert not answer.refused, answer.text
    assert answer.citations[0].quote == "Optional argument cutoff (default 0.6) is a float in the range [0, 1]."
    first = answer.passages[0]  # the passage shown is the one the quote was read from
    assert first.start <= answer.citations[0].start and answer.citations[0].end <= first.end
