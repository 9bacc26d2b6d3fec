"""The evidence check (qa/answer/evidence.py): the rules on small sentences, then the extractive backend end to end on a
corpus where a document on the same topic, but without the answer, is all that is left to search."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import QA
from qa.answer.evidence import (
    MAX_MISSING,
    YES_NO_MAX_MISSING,
    Evidence,
    absent_asked,
    absent_names,
    absent_numbers,
    judge,
    missing_share,
    question_names,
    weigh,
)
from qa.answer.grounding import REFUSAL_TEXT
from qa.records import Passage
from tests.conftest import MakeQA, write
from tests.fake_openai import assert_grounded
from tests.records import make_passage

pytestmark = pytest.mark.embedded_only  # the store is not what is tested here

FINED = "Which airline was fined a record $4 million?"
RECORD_FINE = (
    "In 2016 the Transportation Department fined Northwind Airlines a record $4 million for keeping passengers "
    "on the tarmac for hours."
)
OTHER_FINE = "The federal government fined American Airlines $50 million for safety violations in 2019."


def passage(n: int, text: str, doc_id: str | None = None) -> Passage:
    return make_passage(n, doc_id or f"doc{n}", f"doc{n}.txt", 0, len(text), text)


# --- numbers and names the question states ----------------------------------------------------------------


def test_a_number_the_question_states_must_be_in_the_passage() -> None:
    assert absent_numbers(FINED, OTHER_FINE) == {"4"}
    assert absent_numbers(FINED, RECORD_FINE) == frozenset()
    assert absent_numbers("Which airline was fined four million dollars?", OTHER_FINE) == frozenset()  # words only
    assert absent_numbers("How many troops are there?", OTHER_FINE) == frozenset()  # asks for one, states none


def test_a_number_is_found_however_it_is_written() -> None:
    assert absent_numbers("What happened to the 12,000 soldiers?", "Some 12 000 soldiers were sent.") == frozenset()
    assert absent_numbers("What happened between 2004 and 2014?", "Deforestation fell after 2004.") == {"2014"}


def test_names_are_capitalised_words_after_the_first_that_the_passages_never_write_in_lower_case() -> None:
    common = {"flood"}
    assert question_names("Who led the Huguenots to Florida after the Flood?", common) == ["Huguenots", "Florida"]
    assert question_names("What did the President of the IPCC say?", set()) == ["President", "IPCC"]


def test_what_the_question_writes_as_an_example_is_not_stated() -> None:
    text = "If tabsize is given, tabs are expanded; a shortened text has its whitespace collapsed first."
    assert absent_numbers("I passed tabsize=4 to textwrap.shorten() and nothing changed. Why?", text) == frozenset()
    assert absent_numbers("Why is sys.argv[0] empty?", text) == frozenset()
    assert absent_numbers("What does section.get('level', '3') return?", text) == frozenset()
    assert absent_numbers("Why was it changed in 2014 (and again in 2016)?", text) == {"2014", "2016"}  # prose
    question = "On Windows, fnmatch('README.TXT', '*.txt') is True. Which function is case-sensitive?"
    assert question_names(question, set()) == ["Windows", "True"]  # not README: part of an example


def test_i_and_its_contractions_are_no_names() -> None:
    assert question_names("What happens if the JSON text I'm loading starts with a BOM?", set()) == ["JSON", "BOM"]
    assert question_names("Why does it fail when I've set It's value?", set()) == []


def test_a_name_the_question_gives_must_be_in_the_passage() -> None:
    question = "Who was the leader of the Huguenots in Florida?"
    text = "Jean Ribault led the Huguenots who settled in South Carolina."
    assert absent_names(question, text, [text]) == {"Florida"}
    assert absent_names(question, text + " They later moved to Florida.", [text]) == frozenset()


def test_a_dotted_name_of_code_is_a_name_one_part_of_which_must_be_in_the_passage() -> None:
    question = "pprint.pprint() sorts my keys. Which parameter keeps them in insertion order?"
    assert absent_names(question, "Use `insort()` to keep a list in sorted order.", []) == {"pprint.pprint"}
    assert absent_names(question, "Pass sort_dicts=False to `pprint()`.", []) == frozenset()
    assert absent_names("Why does args.square fail?", "The parsed args hold strings.", []) == frozenset()
    assert absent_names("Is it sold in the U.S. or e.g. Canada?", "It is sold in Canada.", []) == frozenset()


def test_a_name_joined_by_underscores_is_a_name_of_code_that_must_stand_as_written() -> None:
    question = 'In argparse, what does action="store_false" do?'  # quoted, and still what is asked about
    assert absent_names(question, "Use `action='store_true'` to store True.", []) == {"store_false"}
    assert absent_names(question, "`store_true` and `store_false` store True and False.", []) == frozenset()
    question = "How do I leave out folders such as node_modules from a recursive glob?"
    assert absent_names(question, "If recursive is true, `**` matches any files.", []) == {"node_modules"}
    assert absent_names("What is the default of sort_keys?", "If sort_keys is true, keys are sorted.", []) == set()
    assert absent_names("Why does __init__ run twice?", "Classes have methods.", []) == frozenset()  # not joined


def test_a_name_is_found_stemmed_misspelled_by_one_letter_or_as_initials() -> None:
    assert absent_names("What is the rate of deforestation in Brazil?", "The Brazilian forest shrank.", []) == set()
    assert absent_names("What did Galor and Zeria show?", "Galor and Zeira showed that inequality lasts.", []) == set()
    text = "None of the treaties establishing the European Union mention fundamental rights."
    assert absent_names("Which treaties of the EU protect rights?", text, [text]) == frozenset()
    assert absent_names("Which treaties of the UN protect rights?", text, [text]) == {"UN"}


# --- the question's distinctive wording --------------------------------------------------------------------


def test_a_word_every_sentence_shares_weighs_less_than_one_no_sentence_holds() -> None:
    texts = ["The Rhine flows north. The Rhine is long.", "The Rhine carries sediment to the sea."]
    weights = weigh("What will cause the Rhine delta to silt up?", texts)
    assert weights["rhine"] < weights["silt"]
    assert "what" not in weights and "will" not in weights


def test_the_missing_share_is_the_weight_of_the_words_the_passage_lacks() -> None:
    weights = {"rhine": 1.0, "silt": 3.0}
    assert missing_share(weights, "The Rhine silts up near its mouth.") == 0.0
    assert missing_share(weights, "The Rhine flows north.") == pytest.approx(0.75)
    assert missing_share({}, "anything") == 0.0


def test_evidence_answers_only_with_every_number_and_name_and_enough_of_the_wording() -> None:
    assert Evidence(0.2, frozenset(), frozenset()).answers()
    assert not Evidence(0.2, frozenset({"4"}), frozenset()).answers()
    assert not Evidence(0.2, frozenset(), frozenset({"Florida"})).answers()
    assert Evidence(0.9, frozenset(), frozenset()).answers()  # the missing share applies only when asked
    assert not Evidence(0.9, frozenset(), frozenset()).answers(max_missing=MAX_MISSING)
    assert Evidence(0.9, frozenset(), frozenset()).answers(max_missing=0.95)


def test_a_yes_no_question_needs_a_document_holding_most_of_its_words() -> None:
    heap = passage(1, "The heapq module keeps a list as a heap. heappushpop() is faster than heappush(), heappop().")
    other = passage(2, "A heap is a binary tree. Threads share the lock of the queue module.", doc_id="queue")
    asked = judge("Is it safe to call heappush() on one list from several threads at once?", "doc1", [heap, other])
    assert asked.max_missing == YES_NO_MAX_MISSING and asked.missing > YES_NO_MAX_MISSING
    assert not asked.answers()
    wh = judge("Which function pushes onto a list from several threads at once?", "doc1", [heap, other])
    assert wh.max_missing is None and wh.missing > YES_NO_MAX_MISSING
    assert wh.answers()  # a wh-question may be answered in other words: no limit by default
    answered = judge("Is heappushpop() faster than heappush(), heappop()?", "doc1", [heap, other])
    assert answered.missing <= YES_NO_MAX_MISSING and answered.answers()


def test_judge_reads_every_retrieved_passage_of_the_sentences_document() -> None:
    head = passage(1, "Northwind Airlines is a regional carrier based in Duluth.", doc_id="northwind")
    body = passage(2, "In 2016 the airline was fined a record $4 million for tarmac delays.", doc_id="northwind")
    other = passage(3, OTHER_FINE)
    question = "Why was Northwind Airlines fined $4 million?"
    assert judge(question, "northwind", [head, body, other]).answers()  # the name stands in the other passage
    lacking = judge(question, "doc3", [head, body, other])
    assert lacking.absent_numbers == {"4"}
    assert lacking.absent_names == {"Northwind"}  # "Airlines" stands in the other fine too
    assert not lacking.answers()


# --- the thing asked for, in documentation ------------------------------------------------------------------

TOOL_PAGE = "Run `python -m json.tool` to validate and pretty-print JSON. Use `--indent` to set the indentation."


def test_documentation_that_never_names_what_is_asked_for_does_not_answer() -> None:
    asked = "What exit status does python -m json.tool return when the input is not valid JSON?"
    assert absent_asked(asked, TOOL_PAGE) == {"status"}
    assert absent_asked(asked, TOOL_PAGE + " On invalid input the exit status is 1.") == frozenset()
    assert absent_asked("Which colours does the page use?", TOOL_PAGE + " Colors are shown.") == frozenset()  # colour
    assert not Evidence(0.2, frozenset(), frozenset(), frozenset({"status"})).answers()


@pytest.mark.parametrize(
    "question",
    [
        "Which exception does heapq.heappop() raise when the heap is empty?",  # a class named otherwise: IndexError
        "Which option sets the indentation?",
        "What is json.tool?",  # "what is X?": open
        "What makes json.tool fail?",  # a cause
        "How does json.tool report an error?",  # not what/which
    ],
)
def test_a_category_a_cause_or_an_open_question_asks_for_no_word(question: str) -> None:
    assert absent_asked(question, TOOL_PAGE) == frozenset()


def test_prose_is_not_asked_for_the_word() -> None:
    text = "The UN predicted that the forest could survive three years of drought."  # no code marked: prose
    assert absent_asked("What organization predicted the forest could survive three years?", text) == frozenset()


# --- end to end: the extractive backend over a small corpus ------------------------------------------------


@pytest.fixture
def fines(make_qa: MakeQA, tmp_path: Path) -> QA:
    folder = tmp_path / "fines"
    write(
        folder / "tarmac-delays.txt",
        "Tarmac delays became a public scandal in the United States.\n\n"
        f"{RECORD_FINE} The carrier said it had changed its procedures. Passengers had been stuck without food or "
        "water on three flights out of Chicago.\n",
    )
    write(
        folder / "safety-fines.txt",
        "Regulators have punished airlines for safety lapses for decades.\n\n"
        f"{OTHER_FINE} The airline had failed to inspect its fleet on time. Inspectors found cracks in the wings of "
        "two aircraft.\n",
    )
    qa = make_qa(backend="extractive")
    assert len(qa.ingest([folder]).added) == 2
    return qa


def test_the_answer_is_quoted_while_its_document_is_searched(fines: QA) -> None:
    answer = fines.ask(FINED)
    assert_grounded(fines, answer)
    assert not answer.refused
    assert RECORD_FINE in [c.quote for c in answer.citations]


def test_a_same_topic_document_without_the_answer_is_refused(fines: QA) -> None:
    record = next(d.doc_id for d in fines.documents() if d.source.endswith("tarmac-delays.txt"))
    answer = fines.ask(FINED, exclude_docs=[record])
    assert_grounded(fines, answer)
    assert answer.refused
    assert (answer.text, answer.citations) == (REFUSAL_TEXT, ())
    assert fines.search(FINED, exclude_docs=[record])  # there were passages on the topic: they do not answer


def test_a_word_misspelled_by_one_letter_is_found_but_not_a_different_word() -> None:
    text = "Newton's laws describe how forces affect idealized point particles."
    typo = weigh("What did Newton's mechanics affext?", [text])
    assert typo.keys() >= {"affex", "newto"} and missing_share(typo, text) < 0.5
    assert missing_share({"affex": 1.0}, text) == 0.0  # one letter changed
    assert missing_share({"parit": 1.0}, text) == 0.0  # two neighbours swapped ("parti", from "particles")
    assert missing_share({"forms": 1.0}, text) == 1.0  # not "force": two letters apart
    assert missing_share({"lawn": 1.0}, text) == 1.0  # a short word must match as it is
