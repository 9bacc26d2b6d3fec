"""`qa.ingest.chunking.chunk_spans` and `qa.text.sentences.sentence_spans`: pure functions, no I/O.

The property test draws texts from a seeded `random.Random` (hypothesis is not installed in the project's
virtualenv nor listed in its `test` extras), so every failure names a reproducible seed.
"""

from __future__ import annotations

import base64
import itertools
import random
import re

import pytest

from qa.ingest.chunking import chunk_spans, longest_fit
from qa.ingest.pipeline import make_chunks
from qa.records import Loaded
from qa.settings import Settings
from qa.text.sentences import paragraph_starts, sentence_spans
from qa.text.tokens import count_tokens
from tests.conftest import SEED

Spans = list[tuple[int, int]]


def chunks(text: str, limit: int, overlap: int) -> Spans:
    return chunk_spans(text, limit, overlap, count_tokens)


def check_chunks(text: str, spans: Spans, limit: int, overlap: int, overlap_bound: bool = True) -> None:
    """Every invariant a chunking must keep, whatever the text (`overlap_bound`: also the overlap's size)."""
    assert spans, "non-blank text gives at least one chunk"
    for start, end in spans:
        piece = text[start:end]
        assert 0 <= start < end <= len(text)
        assert piece == piece.strip(), f"chunk {start}-{end} has untrimmed whitespace"
        assert count_tokens(piece) <= limit, f"chunk {start}-{end} has {count_tokens(piece)} > {limit} tokens"
    for (s1, e1), (s2, e2) in itertools.pairwise(spans):
        assert s2 > s1 and e2 > e1, f"chunks {s1}-{e1} and {s2}-{e2} are not in strictly increasing order"
        if s2 >= e1:
            assert text[e1:s2].isspace() or s2 == e1, f"non-whitespace lost between {e1} and {s2}"
        else:
            assert overlap > 0, "chunks overlap although the overlap setting is 0"
            if not overlap_bound:
                continue
            shared = count_tokens(text[s2:e1])
            assert shared <= overlap, f"chunks {s1}-{e1} and {s2}-{e2} share {shared} > {overlap} tokens"
    covered = [False] * len(text)
    for start, end in spans:
        covered[start:end] = [True] * (end - start)
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missed, f"characters at {missed[:5]} are in no chunk"
    # boundaries: sentence boundaries, or word boundaries inside a sentence too long for one chunk, or any
    # character boundary inside a word too long for one chunk
    sentences = sentence_spans(text)
    starts = {s for s, _ in sentences}
    ends = {e for _, e in sentences}
    for s, e in sentences:
        if count_tokens(text[s:e]) > limit:
            words = [(s + m.start(), s + m.end()) for m in re.finditer(r"\S+", text[s:e])]
            starts |= {a for a, _ in words}
            ends |= {b for _, b in words}
            for a, b in words:  # a word over the limit on its own is cut between characters
                if count_tokens(text[a:b]) > limit:
                    starts |= set(range(a, b))
                    ends |= set(range(a + 1, b + 1))
    for start, end in spans:
        assert start in starts, f"chunk starts at {start}, inside a sentence: {text[start : start + 30]!r}"
        assert end in ends, f"chunk ends at {end}, inside a sentence: {text[max(0, end - 30) : end]!r}"


# --- sentences -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. He was late.", ["Dr. Smith arrived.", "He was late."]),
        ("He said “Stop.” Then he left.", ["He said “Stop.”", "Then he left."]),
        ("Wait... What? Yes!", ["Wait...", "What?", "Yes!"]),
        ("The U.S. Army left. It was 5.5 km away.", ["The U.S. Army left.", "It was 5.5 km away."]),
        ("A heading\nLine two. Three.", ["A heading", "Line two.", "Three."]),
        ("  Padded.   Next one.  \n\n", ["Padded.", "Next one."]),
        ("J. R. R. Tolkien wrote it. Then he slept.", ["J. R. R. Tolkien wrote it.", "Then he slept."]),
        ("", []),
        (" \n\t \n", []),
    ],
)
def test_sentence_spans(text: str, expected: list[str]) -> None:
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == expected
    assert all(text[s:e] == text[s:e].strip() for s, e in spans)  # trimmed, and offsets point into text


def test_sentence_spans_of_a_slice_point_into_the_whole_text() -> None:
    text = "Skip this. Take this one. And this one. Skip again."
    start, end = text.index("Take"), text.index(" Skip again")
    spans = sentence_spans(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Take this one.", "And this one."]


def test_paragraph_starts() -> None:
    text = "\n\nFirst para.\nSame para.\n\n  Second para.\n \n\nThird."
    assert sorted(paragraph_starts(text)) == [text.index("First"), text.index("Second"), text.index("Third")]


# --- chunks: examples -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \n"])
def test_blank_text_has_no_chunks(text: str) -> None:
    assert chunks(text, 24, 6) == []


@pytest.mark.parametrize(("limit", "overlap"), [(0, 0), (-5, 0), (24, -1), (24, 24), (24, 30)])
def test_invalid_settings_raise_value_error(limit: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunks("Some text. More text.", limit, overlap)


def test_short_text_is_one_chunk_without_surrounding_whitespace() -> None:
    text = "\n  One short sentence. And another.  \n"
    assert chunks(text, 200, 40) == [(text.index("One"), text.index("another.") + len("another."))]


@pytest.mark.parametrize(("limit", "overlap"), [(16, 0), (24, 6), (64, 20), (200, 40)])
def test_seed_article(limit: int, overlap: int) -> None:
    text = SEED.read_text(encoding="utf-8")
    spans = chunks(text, limit, overlap)
    check_chunks(text, spans, limit, overlap)
    if limit < 200:
        assert len(spans) > 5


def test_long_sentence_without_punctuation_is_split_between_words() -> None:
    words = [f"word{i}" for i in range(300)]
    text = " ".join(words)
    spans = chunks(text, 16, 4)
    assert len(spans) > 10
    check_chunks(text, spans, 16, 4)
    for start, end in spans:
        assert start == 0 or text[start - 1] == " "
        assert end == len(text) or text[end] == " "
    # the pieces hold every word once, in order (no overlap inside one over-long sentence here)
    assert " ".join(text[s:e] for s, e in spans).split() == words


def test_a_long_sentence_between_short_ones_is_split_only_where_needed() -> None:
    long_sentence = " ".join(["alpha", "beta", "gamma", "delta"] * 20) + "."
    text = f"Short start. {long_sentence} Short end."
    spans = chunks(text, 24, 0)
    check_chunks(text, spans, 24, 0)
    pieces = [text[s:e] for s, e in spans]
    assert pieces[0].startswith("Short start.")
    assert pieces[-1].endswith("Short end.")


def test_chunks_prefer_to_end_where_a_paragraph_ends() -> None:
    para1 = " ".join(f"Sentence {n} of the first paragraph." for n in range(5))  # ~ 40 tokens
    para2 = " ".join(f"Sentence {n} of the second paragraph." for n in range(12))
    text = f"{para1}\n\n{para2}"
    limit = 56
    assert 0.6 * limit <= count_tokens(para1) <= limit
    spans = chunks(text, limit, 0)
    check_chunks(text, spans, limit, 0)
    assert spans[0] == (0, len(para1))  # not filled up with the second paragraph's first sentences


def test_overlap_repeats_whole_sentences() -> None:
    text = " ".join(f"This is sentence number {n} here." for n in range(30))
    spans = chunks(text, 40, 12)
    check_chunks(text, spans, 40, 12)
    overlaps = [(s2, e1) for (_, e1), (s2, _) in itertools.pairwise(spans) if s2 < e1]
    assert overlaps, "with room for it, neighbouring chunks share sentences"
    sentence_starts = {s for s, _ in sentence_spans(text)}
    assert all(start in sentence_starts for start, _ in overlaps)


# --- chunks: properties over random texts -------------------------------------------------------------

WORDS = (
    "the troops north korean training military soldiers winter region border report village river general "
    "minister summit images satellite bedding clothing footwear hygiene ammunition confirmed Kursk Pyongyang "
    "Moscow Kyiv 12 000 2024 24th U.S. e.g. well-known state-of-the-art naïve café Zürich"
).split()


def random_text(rng: random.Random) -> str:
    """Paragraphs of sentences, headings, and now and then a long run of words without punctuation."""

    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 25))]
        return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?", "…", ".”"])

    paragraphs = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.15:
            paragraphs.append("# " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))))
        elif kind < 0.25:
            paragraphs.append(" ".join(rng.choice(WORDS).lower() for _ in range(rng.randint(40, 150))))
        else:
            paragraphs.append(" ".join(sentence() for _ in range(rng.randint(1, 8))))
    text = paragraphs[0]
    for paragraph in paragraphs[1:]:
        text += rng.choice(["\n\n", "\n", "\n\n\n"]) + paragraph
    return rng.choice(["", "  ", "\n"]) + text + rng.choice(["", "\n", " \n"])


SETTINGS = [(16, 0), (16, 7), (24, 6), (40, 12), (64, 20), (200, 40)]


def random_case(seed: int) -> tuple[str, int, int]:
    rng = random.Random(seed)
    text = random_text(rng)
    return (text, *rng.choice(SETTINGS))


@pytest.mark.parametrize("seed", range(50))
def test_chunk_invariants_on_random_texts(seed: int) -> None:
    text, limit, overlap = random_case(seed)
    # the overlap bound is checked by test_overlap_never_exceeds_the_setting_on_random_texts
    check_chunks(text, chunks(text, limit, overlap), limit, overlap, overlap_bound=False)


# --- known bugs ----------------------------------------------------------------------------------------

LIST_THEN_PARAGRAPH = (
    "Shopping list:\n" + "\n".join(f"- item {i}" for i in range(40)) + "\n" + " ".join(["word"] * 150) + "."
)


def test_overlap_and_order_hold_after_a_list_of_short_lines() -> None:
    spans = chunks(LIST_THEN_PARAGRAPH, 200, 40)
    ends = [end for _, end in spans]
    assert ends == sorted(set(ends)), f"chunk ends repeat: {spans}"
    check_chunks(LIST_THEN_PARAGRAPH, spans, 200, 40)


def test_overlap_never_exceeds_the_setting_on_random_texts() -> None:
    too_much = []
    for seed in range(50):
        text, limit, overlap = random_case(seed)
        spans = chunks(text, limit, overlap)
        for (_, e1), (s2, _) in itertools.pairwise(spans):
            if s2 < e1 and count_tokens(text[s2:e1]) > overlap:
                too_much.append((seed, count_tokens(text[s2:e1]), overlap))
    assert not too_much, f"(seed, shared tokens, chunk_overlap): {too_much}"


def test_chunks_of_indented_lines_stay_within_the_limit() -> None:
    text = "\n".join(f"    step {i} done" for i in range(60))  # a code block, a nested Markdown list
    spans = chunks(text, 200, 40)
    assert max(count_tokens(text[s:e]) for s, e in spans) <= 200


def test_a_word_longer_than_the_limit_is_still_cut_to_fit() -> None:
    blob = "iVBORw0KGgo" + "QUJDRGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo0NTY3" * 40
    text = f"An inline image follows. ![logo](data:image/png;base64,{blob}) The end."
    spans = chunks(text, 200, 40)
    assert max(count_tokens(text[s:e]) for s, e in spans) <= 200


# --- text without spaces: chunked within the limit, in linear time ------------------------------------


def _space_less_inputs() -> dict[str, str]:
    rng = random.Random(5)
    image = base64.b64encode(rng.randbytes(45_000)).decode()
    return {
        "one letter": "a" * 60_000,
        "cjk": "".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(20_000)),
        "markdown image": f"# Harbour\n\nThe harbour at dawn:\n\n![harbour](data:image/png;base64,{image})\n\nThe end.",
        "long url": "See https://example.com/" + "/".join(f"part{i}" for i in range(8_000)) + " for more.",
        "words then a run": " ".join(["word"] * 500) + " " + "x" * 20_000 + " " + " ".join(["tail"] * 500),
    }


SPACE_LESS = _space_less_inputs()


class CountingCounter:
    """`count_tokens` that also adds up how many characters it was asked to count."""

    def __init__(self) -> None:
        self.characters = 0

    def __call__(self, text: str) -> int:
        self.characters += len(text)
        return count_tokens(text)


@pytest.mark.parametrize("name", sorted(SPACE_LESS))
def test_text_without_spaces_is_chunked_within_the_limit(name: str) -> None:
    text = SPACE_LESS[name]
    spans = chunks(text, 200, 40)
    check_chunks(text, spans, 200, 40)
    assert len(spans) > 10


@pytest.mark.parametrize("name", sorted(SPACE_LESS))
def test_chunking_counts_each_character_a_bounded_number_of_times(name: str) -> None:
    """The work is linear: tokens are counted over a few times the text's length, not over its square (a
    run without spaces used to be counted again from its start for every piece cut from it)."""
    text = SPACE_LESS[name]
    counter = CountingCounter()
    chunk_spans(text, 200, 40, counter)
    assert counter.characters <= 30 * len(text), f"{counter.characters / len(text):.0f} counts per character"


@pytest.mark.parametrize("name", sorted(SPACE_LESS))
def test_chunks_of_text_without_spaces_round_trip_into_the_document(name: str) -> None:
    text = SPACE_LESS[name]
    loaded = Loaded(path="/docs/page.md", kind="markdown", text=text)
    stored = make_chunks(loaded, "doc", "page.md", Settings())
    rebuilt = stored[0].lead
    for item in stored:
        assert item.chunk.text == text[item.chunk.start : item.chunk.end]
        assert count_tokens(item.chunk.text) <= 200
        rebuilt += text[max(item.chunk.start, len(rebuilt)) : item.chunk.end] + item.gap
    assert rebuilt == text


def test_a_run_without_spaces_is_cut_into_the_longest_pieces_that_fit() -> None:
    text = "a" * 20_000
    spans = chunks(text, 50, 0)
    assert [s for s, _ in spans[1:]] == [e for _, e in spans[:-1]]  # no overlap inside one word, no gap
    for start, end in spans[:-1]:  # one more character would not fit
        assert count_tokens(text[start:end]) <= 50 < count_tokens(text[start : end + 1])


def test_longest_fit_finds_the_boundary_from_any_guess() -> None:
    for size in (1, 2, 7, 100):
        for answer in range(-1, size):
            for guess in (0, answer, size - 1, size + 5, -3):
                probes: list[int] = []

                def fits(index: int, answer: int = answer, probes: list[int] = probes) -> bool:
                    probes.append(index)
                    return index <= answer

                assert longest_fit(fits, size, guess) == answer
                assert all(0 <= p < size for p in probes)
    assert longest_fit(lambda index: True, 0, 0) == -1
