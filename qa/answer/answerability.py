"""Whether the extractive backend answers at all: the rules its best sentence must meet, then the odds that it
answers the question, from what the scorer and the evidence check measured. Pure functions, no I/O.

The rules (a floor on the combined score, a shared word, the kind of thing asked for, the question's names and
numbers in the sentence's document: qa/answer/evidence.py) each look at one thing. A question asked of documents
that do not hold its answer often meets all of them with a same-topic sentence. What gives it away is how the
signals sit together: the best cosine among the sentences read is low, dense and lexical search disagree about the
top passage (its fused rank score is low), the sentence carries less of the question's wording. `odds` weighs them
in one logistic model; below `MIN_ODDS` the question is refused.

The weights were fitted by `eval/fit_answerability.py` (see eval/README.md) on tuning questions only: the first 250
of squad2_500, `eval/pydocs_tune.jsonl` and `eval/tune_paraphrase.jsonl` (questions in a reader's own words), each
answerable question also asked with its gold documents left out,
counting as answers the sentences that hold the gold answer and as non-answers every sentence given to an
unanswerable question or without the gold documents, among the sentences that meet the rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from qa.answer.evidence import Evidence, judge
from qa.answer.extractive import Candidate
from qa.records import Passage


@dataclass(frozen=True)
class Signals:
    """What the odds are read from, for the best sentence of one question."""

    score: float  # the scorer's combined score
    cosine: float  # its embedding cosine with the question
    coverage: float  # the weighted share of the question's words it holds
    alignment: float  # how its words meet the question's one by one
    missing: float  # the weighted share of the question's distinctive words its document's passages lack
    best_cosine: float  # the highest cosine of any sentence read closely
    top_hit: float  # the fused retrieval score of the first passage
    own_hit: float  # the fused retrieval score of the sentence's passage


# Per unit of each signal, as fitted (logistic regression on standardised signals, L2 0.01, scaled back)
WEIGHTS = Signals(
    score=-0.5400,
    cosine=-0.0051,
    coverage=1.0705,
    alignment=1.1663,
    missing=-0.8981,
    best_cosine=5.2827,
    top_hit=-183.1544,
    own_hit=262.5459,
)
BIAS = -7.0349
# Below these odds the best sentence is not taken for an answer. Chosen on the tuning questions (5-fold cross
# validation) as the highest at which the held-out folds keep 99% of the right answers that the rules let through.
MIN_ODDS = 0.1
# Under `--strict` (QA_STRICT) at least these odds, for users who would rather have a refusal than a wrong answer.
# Chosen on the tuning sets with eval/refusal_curve.py as the lowest of 0.1, 0.2, ... at which squad2_500's first
# half is refused 75% of the time without its gold documents (0.2: 70.6%, 0.3: 84.9%) and pydocs_tune2's
# unanswerable questions 70% (0.2: 60.0%, 0.3: 80.0%); what it costs in right answers is in eval/README.md.
STRICT_MIN_ODDS = 0.3


def signals(ranked: Sequence[Candidate], passages: Sequence[Passage], evidence: Evidence) -> Signals:
    """The signals of `ranked[0]`, the best of the sentences `ranked` (read closely, best first)."""
    best = ranked[0]
    return Signals(
        best.score,
        best.cosine,
        best.coverage,
        best.alignment,
        evidence.missing,
        max(c.cosine for c in ranked),
        passages[0].hit.score,
        best.passage.hit.score,
    )


def odds(s: Signals) -> float:
    """The probability that the best sentence answers the question."""
    z = BIAS + sum(w * x for w, x in zip(astuple(WEIGHTS), astuple(s), strict=True))
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


def meets_rules(best: Candidate, evidence: Evidence, min_evidence: float) -> bool:
    """The rules: similar in meaning and sharing the question's distinctive words (the combined score at least
    `min_evidence`), holding the kind of thing asked for, in a document that holds the numbers and names the
    question states."""
    return _plausible(best, min_evidence) and evidence.answers()


def answer_odds(
    question: str, ranked: Sequence[Candidate], passages: Sequence[Passage], min_evidence: float
) -> float | None:
    """The odds that the best of the `ranked` sentences answers the question, when it meets the rules; None when
    it does not (no odds make it an answer then). The caller answers at odds of its threshold or more."""
    if not ranked or not _plausible(ranked[0], min_evidence):
        return None  # decided before the evidence check reads the passages
    evidence = judge(question, ranked[0].passage.doc_id, passages)
    if not evidence.answers():
        return None
    return odds(signals(ranked, passages, evidence))


def _plausible(best: Candidate, min_evidence: float) -> bool:
    return best.score >= min_evidence and best.coverage > 0 and best.typed
