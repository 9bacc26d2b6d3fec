"""The extractive backend's answer odds (qa/answer/answerability.py): a same-topic sentence that meets every rule is
still refused when the signals together say it does not answer, while the answer itself is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import QA
from qa.answer.answerability import MIN_ODDS, Signals, answer_odds, meets_rules, odds, signals
from qa.answer.evidence import judge
from qa.answer.extractive import score
from qa.backends import make_reader
from qa.records import Passage
from tests.conftest import MakeQA, write

pytestmark = pytest.mark.embedded_only  # the store is not what is tested here

RECV = "What does recv return?"


@pytest.fixture
def pages(make_qa: MakeQA, tmp_path: Path) -> QA:
    folder = tmp_path / "pages"
    write(
        folder / "sockets.md",
        "# Sockets\n\nA socket object is created with the `socket()` function, which takes an address family and a "
        "socket type.\n\nData is sent with `send()` and received with `recv()`, which returns at most the number of "
        "bytes asked for.\nClosing a socket releases its file descriptor.\n",
    )
    write(
        folder / "files.md",
        "# Files\n\nA file is opened with `open()`, which returns a file object. Text files decode their bytes with "
        "an encoding,\nwhich defaults to the locale's preferred encoding.\n\nA file object should be closed when "
        "it is no longer needed, best with a `with` statement.\n",
    )
    write(
        folder / "timeouts.md",
        "# Timeouts\n\nEvery new socket starts with no timeout: its operations block until they complete. Call "
        "`settimeout()` with a number of seconds to make them raise `TimeoutError` when they take longer.\n",
    )
    qa = make_qa(backend="extractive")
    assert len(qa.ingest([folder]).added) == 3
    return qa


def doc(qa: QA, name: str) -> str:
    return next(d.doc_id for d in qa.documents() if d.source.endswith(name))


def test_the_answer_is_given_while_its_page_is_searched(pages: QA) -> None:
    answer = pages.ask(RECV)
    assert not answer.refused, answer.text
    assert "returns at most the number of bytes" in answer.citations[0].quote
    assert answer.answer_odds is not None and answer.answer_odds >= MIN_ODDS


def test_a_sentence_that_meets_the_rules_is_refused_when_its_odds_are_low(pages: QA) -> None:
    left_out = [doc(pages, "sockets.md")]
    passages = [Passage(i, h) for i, h in enumerate(pages.search(RECV, 5, exclude_docs=left_out), 1)]
    ranked = score(RECV, passages, make_reader(pages.embedder))
    evidence = judge(RECV, ranked[0].passage.doc_id, passages)
    # "A file is opened with `open()`, which returns a file object.": it shares "returns", holds code, states
    # no name or number the question lacks; the rules alone take it for the answer
    assert meets_rules(ranked[0], evidence, 0.33)
    chance = answer_odds(RECV, ranked, passages, 0.33)
    assert chance == odds(signals(ranked, passages, evidence)) < MIN_ODDS
    answer = pages.ask(RECV, exclude_docs=left_out)
    assert answer.refused and not answer.citations, answer.text
    assert answer.answer_odds == pytest.approx(chance), "the refusal says how sure it was"
    assert answer.to_dict()["answer_odds"] == round(chance, 4)


def test_the_odds_rise_with_each_signal_of_an_answer() -> None:
    base = Signals(0.5, 0.5, 0.5, 0.5, 0.3, 0.5, 0.03, 0.03)
    better = [
        Signals(0.5, 0.5, 0.8, 0.5, 0.3, 0.5, 0.03, 0.03),  # more of the question's wording
        Signals(0.5, 0.5, 0.5, 0.5, 0.0, 0.5, 0.03, 0.03),  # nothing of it missing from the page
        Signals(0.5, 0.5, 0.5, 0.5, 0.3, 0.8, 0.03, 0.03),  # a sentence read closer in meaning
        Signals(0.5, 0.5, 0.5, 0.5, 0.3, 0.5, 0.03, 0.033),  # its passage ranked higher by both searches
    ]
    assert 0 < odds(base) < 1
    assert all(odds(s) > odds(base) for s in better)
