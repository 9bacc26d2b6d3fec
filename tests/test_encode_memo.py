"""The embedder keeps what it made of a text (qa/index/memo.py): a text encoded again, or encoded on another
thread, reads exactly as it did the first time, and the memory holds no more than its capacity."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.embedders import Encoded, MiniLMEmbedder
from qa.index.memo import Memo

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


def test_the_memory_drops_the_least_recently_used_beyond_its_capacity() -> None:
    memo: Memo[str] = Memo(10)
    memo.put("a", "A", 4)
    memo.put("b", "B", 4)
    assert memo.get("a") == "A"  # "a" is now the latest used
    memo.put("c", "C", 4)  # 12 > 10: the oldest use ("b") goes
    assert memo.get("b") is None and memo.get("a") == "A" and memo.get("c") == "C"
    assert (len(memo), memo.size) == (2, 8)
    memo.put("a", "A2", 6)  # replaced, not counted twice
    assert memo.get("a") == "A2" and memo.size == 10
    memo.put("huge", "H", 11)  # bigger than the whole memory: not kept, nothing dropped for it
    assert memo.get("huge") is None and (len(memo), memo.size) == (2, 10)
