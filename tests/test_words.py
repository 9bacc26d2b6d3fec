"""Words as match keys (qa/text/words.py), on plain strings and on the seed article's text."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from qa.index.lexical import LexicalIndex
from qa.text.words import (
    DIGIT_RUN,
    digit_numbers,
    fold,
    has_names,
    is_name,
    lower_case_words,
    name_keys,
    numbers,
    plain,
    stemmer,
    words,
)
from tests.conftest import SEED

ARTICLE = SEED.read_text(encoding="utf-8")


# --- fold -------------------------------------------------------------------------------------------------


def test_fold_maps_every_character_back_to_its_offset() -> None:
    text = "A  “Quote”\n\t– Dash"
    folded, where = fold(text)
    assert folded == 'a "quote" - dash'
    assert len(where) == len(folded)
    for ch, i in zip(folded, where, strict=True):
        assert fold(text[i])[0] == ch or text[i].isspace()
    assert where == sorted(where)


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("some 12 000 soldiers", {"12000"}),
        ("some 12,000 soldiers", {"12000"}),
        ("3.3 miles (5.3 km)", {"3.3", "5.3"}),
        ("three generals and 500 officers", {"3", "500"}),
        ("twelve million", {"12", "million"}),
        ("on the 24th of October, 2024", {"24", "2024"}),
        ("one of them, on October 1, 1968", {"1", "1968"}),  # "one" is mostly a pronoun
        ("no numbers here", set()),
    ],
)
def test_numbers_are_read_alike_however_they_are_written(text: str, expected: set[str]) -> None:
    assert numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fined a record $4 million", {"4"}),  # "million" is written in words
        ("fined four million dollars", set()),
        ("the 12,000 or 12 000 soldiers", {"12000"}),
        ("an F16 in 1349", {"16", "1349"}),
    ],
)
def test_digit_numbers_leave_out_numbers_written_in_words(text: str, expected: set[str]) -> None:
    assert digit_numbers(text) == expected


def test_a_digit_run_spans_what_is_read_as_several_numbers() -> None:
    """Why two patterns: a digit run goes on over any separators, up to a word (question kinds compare its
    span with a date's), while a number is read as one only where its groups of three go on."""
    text = "between 1990, 2000 and 12\n000"
    assert [m.group() for m in re.finditer(DIGIT_RUN, text)] == ["1990, 2000 ", "12\n000"]
    assert numbers(text) == {"1990", "2000", "12000"}
    assert numbers("1990, 2000") == {"1990", "2000"}


# --- words ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("some 12 000 soldiers", {"12000", "soldi"}),
        ("some 12,000 soldiers", {"12000", "soldi"}),
        ("some 12000\u00a0soldiers", {"12000", "soldi"}),
        ("some 12\u202f000 soldiers", {"12000", "soldi"}),
        ("three generals on the 24th", {"3", "gener", "24"}),
        ("Russia’s Kursk region", {"russi", "kursk", "regio"}),
    ],
)
def test_words_key_numbers_however_they_are_written(text: str, keys: set[str]) -> None:
    assert words(text) == keys


def test_the_stemmer_is_made_once_per_thread() -> None:
    here = stemmer()
    assert stemmer() is here
    there: list[Any] = []
    worker = threading.Thread(target=lambda: there.append(stemmer()))
    worker.start()
    worker.join()
    assert there[0] is not here
    assert there[0].stemWords(["training", "trains"]) == here.stemWords(["training", "trains"]) == ["train", "train"]


def test_the_lexical_index_stems_as_the_match_keys_do() -> None:
    index = LexicalIndex.build([("c1", "seed", "North Korean soldiers are training"), ("c2", "x", "a quiet day")], "r")
    assert [chunk for chunk, _ in index.search("trained soldier", 5)] == ["c1"]
    assert words("trained soldier") <= words("North Korean soldiers are training")


# --- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "common", "expected"),
    [
        ("Kursk", (), True),
        ("US", (), True),  # a stopword in capitals
        ("Us", (), False),
        ("The", (), False),
        ("Military", ("military",), False),  # written in lower case elsewhere: a common word
        ("kursk", (), False),
    ],
)
def test_a_name_is_a_capitalised_word_that_is_not_common(written: str, common: tuple[str, ...], expected: bool) -> None:
    assert is_name(written, common) is expected


def test_plain_folds_quote_marks_and_drops_a_possessive() -> None:
    assert [plain(w) for w in ("Russia’s", "'Kursk'", "-Yunus-bek-")] == ["russia", "kursk", "yunus-bek"]


def test_name_keys_are_capitalised_words_the_passages_never_write_in_lower_case() -> None:
    common = lower_case_words([ARTICLE])
    claim = "Troops of the DPRK are trained by Russia's Yunus-bek Yevkurov, the Kremlin says."
    assert name_keys(claim, common) == {"dprk", "russia", "yunus-bek", "yevkurov", "kremlin"}
    assert name_keys("Military units left the US.", common) == {"us"}  # "military": a word, "US": a name
    assert name_keys("Krasnov oversees the training.", common) == {"krasnov"}
    assert name_keys("Krasnov oversees the training.", common, lead=False) == set()


@pytest.mark.parametrize(
    ("claim", "text", "held"),
    [
        ("North Korea sent them", "North Korean troops", True),
        ("Ukraine's army", "the Ukrainian armed forces", True),
        ("Yunus bek Yevkurov", "Yunus-bek Yevkurov", True),
        ("Russia's army", "Russian troops", True),
        ("the US", "the US said", True),
        ("Australia", "Austria", False),
        ("the US", "the USA", False),
        ("Kursk and Krasnodar", "Kursk", False),
    ],
)
def test_a_name_is_held_in_its_other_forms_only(claim: str, text: str, held: bool) -> None:
    assert has_names(name_keys(claim), text) is held
