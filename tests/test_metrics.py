"""The evaluation metrics on plain strings and hand-made scores, each expectation computed by hand."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from qa.evaluation import metrics, scoring
from qa.evaluation.questions import Question
from qa.evaluation.quote_ends import ends_mid_sentence
from qa.evaluation.scores import COUNTS, DEFINITIONS, RATES, Scores, aggregate
from qa.records import Answer, Citation, Hit, Passage, Span


def test_normalize_is_squad_normalisation_with_unicode_punctuation() -> None:
    assert metrics.normalize("The  Cat, an (old) one!") == "cat old one"
    assert metrics.normalize("Putin’s “troops”") == "putins troops"  # typographic marks are punctuation too
    assert metrics.normalize("12 000 soldiers.") == "12 000 soldiers"
    assert metrics.normalize("Theatre") == "theatre"  # articles only as whole words
    assert metrics.normalize("") == ""


def test_exact_match_against_any_gold() -> None:
    assert metrics.exact_match("the Kursk region.", ["Kursk region", "Kursk"]) == 1.0
    assert metrics.exact_match("Kursk oblast", ["Kursk region", "Kursk"]) == 0.0
    assert metrics.exact_match("anything", []) == 0.0


def test_token_f1_by_hand() -> None:
    # deleting the hyphen joins "yunusbek": [yunusbek, yevkurov, oversees] vs [yunus, bek, yevkurov], 1 common
    assert metrics.token_f1("Yunus-bek Yevkurov oversees", "Yunus bek Yevkurov") == pytest.approx(1 / 3)
    # prediction: [yunus, bek, yevkurov, oversees] (4), gold: [yunus, bek, yevkurov] (3), common 3
    # precision 3/4, recall 1, F1 = 2 * 0.75 / 1.75 = 6/7
    assert metrics.token_f1("Yunus bek Yevkurov oversees", "Yunus bek Yevkurov") == pytest.approx(6 / 7)
    # repeated tokens count once per occurrence: pred [one x x] vs gold [x y] -> common 1, P 1/3, R 1/2, F1 0.4
    assert metrics.token_f1("one x x", "x y") == pytest.approx(0.4)
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("the", "Kursk") == 0.0  # prediction normalises to nothing


def test_f1_takes_the_best_gold() -> None:
    assert metrics.f1("Russian training grounds", ["HUR", "Russian training grounds"]) == 1.0
    assert metrics.f1("anything", []) == 0.0


def test_gold_contained_in_text_or_quotes_as_whole_words() -> None:
    assert metrics.gold_contained("It was HUR [1].", [], ["HUR"])
    assert metrics.gold_contained("See the quote.", ["the service (HUR) said"], ["hur"])
    assert not metrics.gold_contained("HURRY up", ["churches"], ["HUR"])  # not a whole word
    assert not metrics.gold_contained("anything", ["anything"], [])
    assert not metrics.gold_contained("a", [], ["the"])  # a gold answer of words that normalises to nothing


def test_a_gold_answer_written_in_symbols_is_found_as_written() -> None:
    # SQuAD normalisation drops punctuation, so a gold answer in code would otherwise never be found
    answer = "To get the most compact JSON, you should specify `(',', ':')` to eliminate whitespace [1]."
    assert metrics.gold_contained(answer, [], ["(',', ':')"])
    assert metrics.gold_contained("Use the `//` operator [1].", [], ["//"])
    assert metrics.gold_contained("It ends at `$`.", [], ["$"])
    assert not metrics.gold_contained("Use `//=` to divide in place [1].", [], ["//"])  # part of another operator
    assert not metrics.gold_contained("Compare with `<=` [1].", [], ["<"])
    assert not metrics.gold_contained("Use the `/` operator [1].", [], ["//"])
    assert not metrics.gold_contained("anything at all", [], [" ", "``"])  # nothing to find
    assert not metrics.gold_contained("It was reversed in 1776 [1].", [], ["."])  # punctuation, not code
    assert metrics.gold_contained("The secondary prompt is `...` [1].", [], ["..."])
    assert metrics.symbols_in("a -> b", "->") and not metrics.symbols_in("a --> b", "->")


def test_evidence_retrieved_by_containment_or_coverage() -> None:
    evidence = ["Moscow has appointed Yevkurov to oversee the training."]
    assert metrics.evidence_retrieved(evidence, ["Intro. Moscow has appointed Yevkurov to oversee the training. More."])
    # normalised, the sentence is 7 tokens; a chunk that cut its last word holds 6 of them (86% >= 80%)
    cut = "Moscow has appointed Yevkurov to oversee the"
    assert metrics.coverage(evidence[0], cut) == pytest.approx(6 / 7)
    assert metrics.evidence_retrieved(evidence, [cut])
    # 4 of 7 normalised tokens (moscow has appointed yevkurov to oversee training): 57%
    assert not metrics.evidence_retrieved(evidence, ["Moscow has appointed Yevkurov."])
    assert not metrics.evidence_retrieved([], ["anything"])


def test_reciprocal_rank_and_doc_recall() -> None:
    retrieved = ["b", "a", "a", "c"]
    assert metrics.reciprocal_rank(retrieved, ["a"]) == 0.5
    assert metrics.reciprocal_rank(retrieved, ["c", "a"]) == 0.5  # the first gold passage counts
    assert metrics.reciprocal_rank(retrieved, ["z"]) == 0.0
    assert metrics.doc_recall(retrieved, ["c"]) == 1.0
    assert metrics.doc_recall([], ["c"]) == 0.0


def test_quote_valid_checks_the_offsets() -> None:
    document = "Alpha beta. Gamma delta."
    assert metrics.quote_valid("Gamma delta.", document, 12, 24)
    assert not metrics.quote_valid("Gamma delta.", document, 11, 23)
    assert not metrics.quote_valid("Gamma", document, 12, 99)
    assert not metrics.quote_valid("", document, 5, 2)


def test_supports_overlap_or_gold_answer() -> None:
    evidence = ["HUR said that some 12 000 North Korean soldiers are already in Russia."]
    golds = ["12 000"]
    assert metrics.supports("HUR said that some 12 000 North Korean soldiers are already in Russia.", evidence, [])
    assert metrics.supports("12 000 North Korean soldiers", evidence, [])  # part of the evidence sentence
    assert metrics.supports("Some 12 000 troops arrived.", [], golds)  # contains a gold answer
    # token F1 with the evidence: 6 common, of 6 and 13 tokens -> P 1, R 6/13, F1 12/19 = 0.63 >= 0.5
    assert metrics.supports("soldiers north korean are in russia", evidence, [])
    assert not metrics.supports("The weather in Seoul was mild.", evidence, golds)


def test_percentile_is_nearest_rank() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert metrics.percentile(values, 50) == 35.0  # rank ceil(2.5) = 3
    assert metrics.percentile(values, 95) == 50.0  # rank ceil(4.75) = 5
    assert metrics.percentile(values, 0) == 15.0
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None


def test_prf_and_empty_denominators() -> None:
    assert metrics.prf(3, 4, 6) == pytest.approx((0.75, 0.5, 0.6))
    assert metrics.prf(0, 0, 5) == (None, 0.0, None)
    assert metrics.prf(0, 3, 5) == (0.0, 0.0, 0.0)


BASE = Scores(
    answerable=True,
    refused=False,
    failed=False,
    em=0.0,
    f1=0.0,
    contained=False,
    doc_recall=1.0,
    rr=1.0,
    evidence_recall=1.0,
    citations=1,
    valid_citations=1,
    supporting_citations=0,
    latency_ms=100.0,
    prompt_tokens=0,
    completion_tokens=0,
)


def scores(**changes: Any) -> Scores:
    return dataclasses.replace(BASE, **changes)


def test_aggregate_by_hand() -> None:
    rows = [
        # answerable, answered right: EM 1, F1 1, two citations, one supports
        scores(em=1.0, f1=1.0, contained=True, citations=2, valid_citations=2, supporting_citations=1,
               latency_ms=10.0, prompt_tokens=100, completion_tokens=10),
        # answerable, answered wrong; the gold document is retrieved at rank 2 only, evidence missed
        scores(f1=0.5, rr=0.5, evidence_recall=0.0, latency_ms=20.0, prompt_tokens=200, completion_tokens=30),
        # answerable, refused (its retrieval missed the gold document)
        scores(refused=True, doc_recall=0.0, rr=0.0, evidence_recall=0.0, citations=0, valid_citations=0,
               latency_ms=30.0),
        # unanswerable, refused: right
        scores(answerable=False, refused=True, doc_recall=None, rr=None, evidence_recall=None, citations=0,
               valid_citations=0, latency_ms=40.0),
        # unanswerable, answered with an invalid quote: wrong
        scores(answerable=False, doc_recall=None, rr=None, evidence_recall=None, valid_citations=0,
               latency_ms=50.0),
        # unanswerable, failed: counts as not refused, so wrong
        scores(answerable=False, failed=True, doc_recall=None, rr=None, evidence_recall=None, citations=0,
               valid_citations=0, latency_ms=60.0),
    ]  # fmt: skip
    m = aggregate(rows)
    assert m["doc_recall_at_k"] == pytest.approx(2 / 3)
    assert m["evidence_recall_at_k"] == pytest.approx(1 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["accuracy"] == pytest.approx(2 / 6)  # rows 1 and 4
    assert m["gold_contained"] == pytest.approx(1 / 3)
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(1.5 / 3)
    assert m["squad2_exact_match"] == pytest.approx((1 + 0 + 0 + 1 + 0 + 0) / 6)
    assert m["squad2_f1"] == pytest.approx((1 + 0.5 + 0 + 1 + 0 + 0) / 6)
    assert m["quote_validity"] == pytest.approx(3 / 4)  # 2 + 1 + 0 valid of 2 + 1 + 1
    assert m["citation_precision"] == pytest.approx(1 / 3)  # answerable rows: 1 supporting of 3 citations
    assert m["citation_recall"] == pytest.approx(1 / 3)
    # refusals: 2 refused, 1 of them unanswerable; 3 unanswerable questions
    assert m["refusal_precision"] == pytest.approx(1 / 2)
    assert m["refusal_recall"] == pytest.approx(1 / 3)
    assert m["refusal_f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert m["latency_p50_ms"] == 30.0  # nearest rank ceil(3) of 6
    assert m["latency_p95_ms"] == 60.0
    assert m["prompt_tokens"] == pytest.approx(300 / 5)  # the failed question is left out
    assert m["completion_tokens"] == pytest.approx(40 / 5)
    assert m["failures"] == 1
    assert set(m) == set(DEFINITIONS)


def test_aggregate_without_unanswerable_questions_or_citations_says_n_a() -> None:
    m = aggregate([scores(citations=0, valid_citations=0)])
    assert m["quote_validity"] is None
    assert m["citation_precision"] is None
    assert m["refusal_precision"] is None and m["refusal_recall"] is None and m["refusal_f1"] is None
    assert aggregate([])["accuracy"] is None


def test_correct() -> None:
    assert scores(contained=True).correct
    assert not scores(contained=True, refused=True).correct
    assert scores(answerable=False, refused=True).correct
    assert not scores(answerable=False).correct


# --- scoring one answer ---------------------------------------------------------------------------------------

EVIDENCE = "Moscow has appointed Yunus-bek Yevkurov to oversee the training."
QUESTION = Question("q1", "Who oversees the training?", ("Yunus-bek Yevkurov",), ("gold",), (EVIDENCE,), True)
NAMES = {"d-gold": "gold", "d-other": "other"}  # qa's document ids -> the question set's names


def answer(text: str, passages: tuple[Passage, ...] = (), citations: tuple[Citation, ...] = ()) -> Answer:
    return Answer(QUESTION.question, text, False, "openai", "m", citations=citations, passages=passages)


def span(doc_id: str, start: int, text: str) -> Span:
    return Span(doc_id, f"{doc_id}.txt", start, start + len(text), text)


def test_an_answer_with_grouped_markers_scores_as_without_them() -> None:
    plain = scoring.score(QUESTION, answer("Yunus-bek Yevkurov."), [], [], 0.0)
    assert (plain.em, plain.f1, plain.contained) == (1.0, 1.0, True)
    for marked in ("Yunus-bek Yevkurov [1, 2].", "Yunus-bek Yevkurov [1;2].", "Yunus-bek Yevkurov [1][2]."):
        got = scoring.score(QUESTION, answer(marked), [], [], 0.0)
        assert (got.em, got.f1, got.contained) == (plain.em, plain.f1, plain.contained), marked
    # left in, the marker's numbers would be words of the answer and "contain" a gold answer "2"
    two = dataclasses.replace(QUESTION, answers=("2",))
    assert not scoring.score(two, answer("Twelve thousand soldiers [1, 2]."), [], [], 0.0).contained


def test_retrieval_is_scored_from_the_passages_the_answer_was_given() -> None:
    hits = (Hit("c7", span("d-other", 0, "Unrelated text."), 0.5), Hit("c2", span("d-gold", 40, EVIDENCE), 1 / 3))
    given = answer("Yunus-bek Yevkurov [2].", passages=tuple(Passage(n, h) for n, h in enumerate(hits, 1)))
    ranked = scoring.retrieved(given.passages, NAMES)
    assert ranked == [
        {"doc": "other", "chunk_id": "c7", "start": 0, "end": 15, "score": 0.5},
        {"doc": "gold", "chunk_id": "c2", "start": 40, "end": 40 + len(EVIDENCE), "score": 0.333333},
    ]
    got = scoring.score(QUESTION, given, [], ranked, 12.0)
    assert (got.doc_recall, got.rr, got.evidence_recall, got.failed) == (1.0, 0.5, 1.0, False)
    failed = scoring.score(QUESTION, None, [], [], 12.0)  # the ask raised: nothing retrieved, nothing answered
    assert (failed.failed, failed.doc_recall, failed.rr, failed.evidence_recall, failed.em) == (
        True,
        0.0,
        0.0,
        0.0,
        0.0,
    )


def test_citations_are_checked_against_their_documents_and_the_gold_evidence() -> None:
    document = f"Intro. {EVIDENCE} More of it"
    texts = {"d-gold": document}
    quotes = (
        Citation(1, span("d-gold", 7, EVIDENCE)),  # verbatim, backs the answer, ends at a full stop
        Citation(2, span("d-gold", 0, "Intro")),  # verbatim, supports nothing, stops short of its full stop
        Citation(3, span("d-gold", 1, "Intro")),  # not the text at its offsets
        Citation(4, span("d-gone", 0, "Yunus-bek Yevkurov")),  # its document is not stored
    )
    checked = scoring.check_citations(QUESTION, quotes, texts.get, NAMES)
    flags = [(c["n"], c["doc"], c["valid"], c["supports"], c["ends_mid_sentence"]) for c in checked]
    assert flags == [
        (1, "gold", True, True, False),
        (2, "gold", True, False, True),
        (3, "gold", False, False, None),
        (4, "d-gone", False, True, None),
    ]
    assert checked[0]["quote"] == EVIDENCE and checked[0]["start"] == 7


# --- quotes that end mid-sentence ---------------------------------------------------------------------------


def cut(document: str, quote: str) -> bool:
    """`ends_mid_sentence` for the first occurrence of `quote` in `document`."""
    start = document.index(quote)
    return ends_mid_sentence(document, start, start + len(quote))


HARD_WRAPPED = """# Sourdough at home

A sourdough starter is a culture of wild yeast and
lactic acid bacteria kept alive with flour and water. Feed it
twice a day.

## Baking
Bake the loaf in a preheated pot
- Visit at low tide
- Do not lift the rocks
Keep the lid on
| step | minutes |
| bake | 20 |

```
oven = 250
loaf = bake(oven)
```
The end of the page
"""


def test_hard_wrapped_markdown_counts_a_quote_stopping_at_a_line_break_inside_a_sentence() -> None:
    assert cut(HARD_WRAPPED, "A sourdough starter is a culture of wild yeast and")  # "lactic ..." goes on
    assert cut(HARD_WRAPPED, "Feed it")  # stops at a wrap, the sentence ends on the next line
    assert cut(HARD_WRAPPED, "A sourdough starter is a culture")  # stops mid-line
    assert not cut(HARD_WRAPPED, "lactic acid bacteria kept alive with flour and water.")
    assert not cut(HARD_WRAPPED, "Feed it\ntwice a day.")  # a quote across the wrap that reaches the full stop
    assert not cut(HARD_WRAPPED, "Feed it\ntwice a day.\n")  # trailing whitespace does not matter


def test_a_quotation_split_at_its_inner_full_stop() -> None:
    document = (
        "Putin did not deny it.\n“The images are a serious thing. If there are images, they reflect something.”\nOn"
    )
    assert cut(document, "“The images are a serious thing")  # the full stop is left behind: cut
    assert not cut(document, "“The images are a serious thing.")
    assert not cut(document, "If there are images, they reflect something.”")  # full stop, then a closing quote
    assert cut(document, "If there are images, they reflect something")


def test_sentence_final_punctuation_and_closing_brackets() -> None:
    document = "Is it so? Yes! It was (as said.) Note: this; that… Done, then more words here"
    for quote in ("Is it so?", "Yes!", "It was (as said.)", "Note:", "Note: this;", "Note: this; that…"):
        assert not cut(document, quote), quote
    assert cut(document, "Done,")
    assert cut(document, "It was (as said")


def test_list_items_headings_table_rows_and_code_lines_end_cleanly() -> None:
    assert not cut(HARD_WRAPPED, "Sourdough at home")  # a heading's text; a blank line follows
    assert not cut(HARD_WRAPPED, "## Baking")  # a heading followed directly by a paragraph: a whole block line
    assert not cut(HARD_WRAPPED, "Baking")
    assert not cut(HARD_WRAPPED, "Bake the loaf in a preheated pot")  # a list item starts on the next line
    assert not cut(HARD_WRAPPED, "Visit at low tide")  # a list item followed by another
    assert not cut(HARD_WRAPPED, "- Do not lift the rocks")  # the last item, a paragraph line follows
    assert not cut(HARD_WRAPPED, "Do not lift the rocks")
    assert not cut(HARD_WRAPPED, "| step | minutes |")  # a table row
    assert not cut(HARD_WRAPPED, "bake | 20")  # a row's cells, short of the closing pipe
    assert not cut(HARD_WRAPPED, "oven = 250")  # a code line inside a fence
    assert cut(HARD_WRAPPED, "Do not lift")  # part of an item is still cut
    assert cut(HARD_WRAPPED, "oven")


def test_a_setext_heading_ends_cleanly() -> None:
    document = (
        "Git v2.1.4 Release Notes\n========================\n\nFixes since v2.1.3\n------------------\n\n * Fixed.\n"
    )
    assert not cut(document, "Git v2.1.4 Release Notes")  # its underline follows: a block of its own
    assert not cut(document, "Fixes since v2.1.3")
    assert cut(document, "Fixes since")


def test_an_html_table_cell_ends_cleanly() -> None:
    document = "Option\tDefault\nemitter.defaultMaxListeners\t10\n"  # cells as the HTML loader writes them
    assert not cut(document, "Option")
    assert not cut(document, "emitter.defaultMaxListeners")
    assert not cut(document, "10")
    assert cut(document, "emitter.default")


def test_a_whole_html_table_row_ends_cleanly() -> None:
    document = "Codec\tLanguages\ncp1257\tBaltic languages\ncp1258\tVietnamese\nThe table ends here.\n"
    assert not cut(document, "cp1257\tBaltic languages")  # a row, then another row
    assert not cut(document, "cp1258\tVietnamese")  # the last row, then a paragraph line
    assert cut(document, "cp1257\tBaltic")


def test_the_end_of_the_document_ends_cleanly() -> None:
    assert not cut(HARD_WRAPPED, "The end of the page")  # only the final newline follows
    assert not cut("no punctuation at all", "no punctuation at all")
    assert cut(HARD_WRAPPED, "The end of the")
    assert not ends_mid_sentence("Some text here.", 5, 5)  # an empty quote is not counted


def test_aggregate_counts_quotes_mid_sentence_and_refusals_without_gold() -> None:
    rows = [
        scores(citations=3, valid_citations=3, mid_sentence_citations=2, without_gold_refused=True),
        scores(citations=1, valid_citations=1, without_gold_refused=False),
        scores(citations=0, valid_citations=0, without_gold_refused=True),
        scores(answerable=False, citations=0, valid_citations=0),  # not asked again: None
    ]
    m = aggregate(rows)
    assert m["quotes_mid_sentence"] == 2
    assert m["quotes_mid_sentence_share"] == pytest.approx(2 / 4)
    assert m["without_gold_refused"] == pytest.approx(2 / 3)
    plain = aggregate([scores()])
    assert plain["without_gold_refused"] is None  # not run: n/a, never 0
    assert plain["quotes_mid_sentence"] == 0 and plain["quotes_mid_sentence_share"] == 0.0
    assert aggregate([scores(citations=0, valid_citations=0)])["quotes_mid_sentence_share"] is None
    assert "quotes_mid_sentence" in COUNTS and "quotes_mid_sentence" not in RATES
