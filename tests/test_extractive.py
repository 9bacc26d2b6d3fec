"""The extractive backend's judgement: what a question asks for, whether a sentence holds it, how well a
sentence's words meet the question's, and the refusals that follow on the seed article."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import QA
from qa.answer_types import answer_type, has_type, people, places
from qa.embedders import MiniLMEmbedder
from qa.extractive import alignment
from tests.conftest import SEED, MakeQA
from tests.fake_openai import assert_grounded


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much is Russia paying North Korea for its soldiers?", "money"),
        ("How many generals has North Korea sent?", "count"),
        ("At how many separate sites are the troops drilled?", "count"),
        ("How long are the troops trained?", "measure"),
        ("When did HUR say so?", "date"),
        ("On what date did the parliament ratify the agreement?", "date"),
        ("What are the names of the three generals?", "person"),
        ("Which Russian general commands the troops?", "person"),
        ("What is the name of the river?", "name"),
        ("In which city was the summit held?", "place"),
        ("Which NATO countries sent instructors?", "place"),
        ("Who did Moscow appoint?", "who"),
        ("Where are the bases?", "where"),
        ("What did Putin say about the images?", None),
        ("What helps scientists to date fossils?", None),
    ],
)
def test_answer_type_reads_what_the_question_asks_for(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_a_date_is_not_a_count_and_a_count_is_not_money() -> None:
    registered = "Ukrainian spies registered soldiers in Russia’s Kursk region on Wednesday, the 23rd of October."
    assert not has_type("count", registered, "How many soldiers did the spies register?")
    assert has_type("date", registered, "On what date did the spies register them?")
    assert has_type("count", "Some 12 000 soldiers are in Russia.", "How many soldiers are in Russia?")
    assert not has_type("money", "Some 12 000 soldiers are in Russia.", "How much is Russia paying?")
    assert has_type("money", "Russia pays $2,000 a month per soldier.", "How much is Russia paying?")


def test_people_and_places_are_told_from_other_names() -> None:
    appointed = "Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov to oversee the training."
    assert "Yunus-bek Yevkurov" in " ".join(people(appointed, "Which official oversees the training?"))
    three = "HUR said that some 12 000 North Korean soldiers, including three generals, are already in Russia."
    assert people(three, "What are the names of the North Korean generals?") == []
    assert places("The US had seen reports of North Korean troops in Kursk.", "In which region?") == ["Kursk"]
    assert places("Putin spoke of DPRK troops at the BRICS summit.", "In which city was the BRICS summit?") == []
    assert has_type(None, "Anything at all.", "What did he say?")


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_encode_gives_the_embed_vector_and_one_row_per_wordpiece(minilm: MiniLMEmbedder) -> None:
    texts = ["Who oversees the training?", "", "word " * 600]
    encoded = minilm.encode(texts)
    for one, vector in zip(encoded, minilm.embed(texts), strict=True):
        assert np.allclose(one.vector, vector, atol=1e-5)
        assert len(one.words) == one.tokens.shape[0]
    assert encoded[0].words == ("Who", "oversees", "the", "training", "?")
    assert encoded[1].tokens.shape == (0, MiniLMEmbedder.dim)
    assert encoded[2].tokens.shape[0] == 600  # past 256 wordpieces: read in windows, every word kept


def test_alignment_meets_paraphrase_better_than_a_sentence_on_something_else(minilm: MiniLMEmbedder) -> None:
    question, on_topic, off_topic = minilm.encode(
        [
            "Who was put in charge of preparing the North Korean forces?",
            "Moscow has appointed Yevkurov to oversee the training and adaptation of DPRK troops.",
            "The images are a serious thing.",
        ]
    )
    assert alignment(question, on_topic) > alignment(question, off_topic) + 0.1
    nothing_asked = minilm.encode(["What is it?"])[0]
    assert alignment(nothing_asked, off_topic) == 1.0


@pytest.fixture
def store_kind() -> str:
    return "embedded"


@pytest.fixture
def seed_qa(make_qa: MakeQA, tmp_path: Path) -> QA:
    folder = tmp_path / "seed"
    folder.mkdir()
    shutil.copyfile(SEED, folder / SEED.name)
    qa = make_qa(backend="extractive")
    qa.ingest([folder])
    return qa


@pytest.mark.parametrize(
    "question",
    [
        "On what date did the Russian Parliament ratify the partnership agreement with North Korea?",
        "How much is Russia paying North Korea for sending its soldiers?",
        "What are the names of the three North Korean generals in Russia?",
        "How many North Korean soldiers did Ukrainian intelligence register in the Kursk region?",
    ],
)
def test_a_question_the_article_almost_answers_is_refused(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question)
    assert_grounded(seed_qa, answer)
    assert answer.refused, answer.text


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("On what date did Ukrainian spies register the soldiers in the Kursk region?", "23rd of October"),
        ("How many generals has North Korea sent to Russia?", "three generals"),
        ("Which official oversees the training of the DPRK troops?", "Yevkurov"),
    ],
)
def test_the_same_kinds_of_question_are_answered_when_the_article_says(seed_qa: QA, question: str, gold: str) -> None:
    answer = seed_qa.ask(question)
    assert_grounded(seed_qa, answer)
    assert not answer.refused
    assert any(gold in c.quote for c in answer.citations), answer.text
