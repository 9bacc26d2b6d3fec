"""The embedder keeps what it made of a text: a text encoded again, or encoded on another thread, reads exactly as
it did the first time, and the memory holds no more wordpieces than it is given."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.embedders import Encoded, MiniLMEmbedder

TEXTS = [
    "Moscow has appointed Yevkurov to oversee the training of DPRK troops.",
    "Otters hold hands while they sleep.",
    "",
    "The bridge opened in 1932 after six years of work on its steel arch. " * 40,  # past 256 wordpieces
]


def same(a: Encoded, b: Encoded) -> bool:
    return a.words == b.words and np.array_equal(a.vector, b.vector) and np.array_equal(a.tokens, b.tokens)


def test_a_text_encoded_again_or_in_parallel_reads_as_it_did_alone() -> None:
    alone = [MiniLMEmbedder(threads=1).encode([text])[0] for text in TEXTS]
    parallel = MiniLMEmbedder(threads=2)
    first = parallel.encode(TEXTS)  # four texts missing: encoded two at a time
    again = parallel.encode([TEXTS[2], "Why do cats purr?", TEXTS[0]])  # two from memory, one new
    assert all(same(a, b) for a, b in zip(alone, first, strict=True))
    assert same(again[0], alone[2]) and same(again[2], alone[0])
    assert again[0] is first[2] and again[2] is first[0]  # from memory, not run again
    assert again[1].words[:3] == ("Why", "do", "cats") and again[1].words[-1] == "?"
    with pytest.raises(ValueError):
        first[0].tokens[0, 0] = 1.0  # handed out again: nobody may change it


def test_the_memory_drops_the_least_recently_used_beyond_its_size() -> None:
    small = MiniLMEmbedder(threads=1, memory=30)  # wordpieces (and one per text for its vector)
    first, second = small.encode(TEXTS[:2])  # 17 + 1 and 8 + 1: both kept
    assert small.encode([TEXTS[0]])[0] is first  # now the latest used
    tides = "Tides turn twice a day."
    third = small.encode([tides])[0]  # 6 + 1 more: 34 > 30, the least recently used goes
    assert small.encode([TEXTS[0]])[0] is first and small.encode([tides])[0] is third
    again = small.encode([TEXTS[1]])[0]
    assert again is not second and same(again, second)  # encoded anew, to the same vectors
    long = small.encode([TEXTS[3]])[0]  # longer than the whole memory: given, not kept
    assert small.encode([TEXTS[3]])[0] is not long
    small.forget()
    assert small.encode([TEXTS[0]])[0] is not first
