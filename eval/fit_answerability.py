"""Fit the extractive backend's answer odds (qa/answer/answerability.py) on the tuning questions, and print the
weights to put there.

Usage (with the project's virtualenv, after `python eval/pydocs_corpus.py --set tune`):
    python eval/fit_answerability.py [--squad ../shared/benchmarks/squad2_500] [--pydocs-tune runs/pydocs-tune]

The tuning questions are the first 250 of squad2_500 (over its 411 paragraphs), `eval/pydocs_tune.jsonl` (over
the 14 pages `eval/pydocs_corpus.py --set tune` copies) and `eval/tune_paraphrase.jsonl` (60 questions in a
reader's own words, over squad2_500's paragraphs). Each question is asked as `qa ask --backend extractive`
asks it (hybrid search, k = 5), and each answerable one again with its gold documents left out. Only the best
sentences that meet the rules are kept (the odds decide among those): an answerable question's sentence that holds
a gold answer is an answer (1); the sentence given to an unanswerable question, or without the gold documents, is
not (0); a sentence of an answerable question that misses its gold answer is left out.

The model is a logistic regression on standardised signals with an L2 penalty of 0.01, fitted by gradient descent
(deterministic), and printed per unit of each signal. The threshold is chosen by 5-fold cross validation: the
highest of 0.05, 0.10, ... whose held-out folds answer as many of the answerable questions' right sentences as the
rules alone do, less one in a hundred.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import astuple, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import QA  # noqa: E402
from qa.answer.answerability import Signals, meets_rules, signals  # noqa: E402
from qa.answer.evidence import judge  # noqa: E402
from qa.answer.extractive import score  # noqa: E402
from qa.answer.grounding import looks_like_instruction  # noqa: E402
from qa.answer.pipeline import Options  # noqa: E402
from qa.backends import make_reader  # noqa: E402
from qa.evaluation.metrics import gold_contained  # noqa: E402
from qa.evaluation.questions import Question, doc_names, load_questions  # noqa: E402
from qa.evaluation.runner import eval_settings  # noqa: E402
from qa.records import Passage  # noqa: E402
from qa.settings import Settings  # noqa: E402

L2 = 0.01
FOLDS = 5


def examples(questions: list[Question], docs: Path, home: Path) -> Iterator[tuple[Signals, int]]:
    """(signals, label) for each best sentence that meets the rules, as the module docstring says."""
    settings = eval_settings(Settings.from_env({}), docs, home)
    qa = QA(settings)
    qa.ingest([docs], prune=True)
    ids: dict[str, list[str]] = {}
    for doc_id, name in doc_names(qa.documents(), docs).items():
        ids.setdefault(name, []).append(doc_id)
    reader = make_reader(qa.embedder)
    for q in questions:
        left_out = [d for name in q.doc_ids for d in ids.get(name, ())] if q.answerable else []
        for exclude, answerable in ((None, q.answerable), (left_out, False)):
            if exclude == []:
                continue
            hits = qa.search(q.question, 5, "hybrid", exclude_docs=exclude)
            passages = [Passage(i, h) for i, h in enumerate(hits, 1)]
            ranked = [c for c in score(q.question, passages, reader) if not looks_like_instruction(c.text)]
            if not ranked:
                continue
            evidence = judge(q.question, ranked[0].passage.doc_id, passages)
            if not meets_rules(ranked[0], evidence, Options().min_evidence):
                continue
            right = answerable and gold_contained(ranked[0].text, [], q.answers)
            if answerable and not right:
                continue
            yield signals(ranked, passages, evidence), int(right)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression: weights per unit of each column and the bias."""
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[(x - mean) / spread, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(3000):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + L2 * np.r_[w[:-1], 0.0])
    per_unit = w[:-1] / spread
    return per_unit, float(w[-1] - per_unit @ mean)


def predict(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    odds: np.ndarray = 1 / (1 + np.exp(-(x @ weights + bias)))
    return odds


def threshold(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The highest threshold whose held-out folds keep all but 1% of the answers, and the held-out odds."""
    fold = np.random.default_rng(0).integers(0, FOLDS, len(y))
    held = np.zeros(len(y))
    for f in range(FOLDS):
        weights, bias = fit(x[fold != f], y[fold != f])
        held[fold == f] = predict(x[fold == f], weights, bias)
    chosen = 0.0
    for t in np.arange(0.05, 0.51, 0.05):
        if (held[y == 1] >= t).mean() >= 0.99:
            chosen = round(float(t), 2)
    return chosen, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "benchmarks" / "squad2_500")
    parser.add_argument("--pydocs-tune", type=Path, default=ROOT / "runs" / "pydocs-tune")
    args = parser.parse_args()
    sets = [
        ("squad2_500 first 250", load_questions(args.squad / "questions.jsonl")[:250], args.squad / "docs"),
        ("pydocs_tune", load_questions(ROOT / "eval" / "pydocs_tune.jsonl"), args.pydocs_tune),
        ("tune_paraphrase", load_questions(ROOT / "eval" / "tune_paraphrase.jsonl"), args.squad / "docs"),
    ]
    rows: list[tuple[Signals, int]] = []
    source: list[int] = []
    with tempfile.TemporaryDirectory() as home:
        for i, (name, questions, docs) in enumerate(sets):
            found = list(examples(questions, docs, Path(home)))
            print(f"{name}: {sum(y for _, y in found)} answers, {sum(1 - y for _, y in found)} non-answers")
            rows += found
            source += [i] * len(found)
    x = np.array([astuple(s) for s, _ in rows], dtype=float)
    y = np.array([label for _, label in rows], dtype=float)
    chosen, held = threshold(x, y)
    weights, bias = fit(x, y)
    for i, (name, _, _) in enumerate(sets):
        mine = np.array(source) == i
        kept = (held[mine & (y == 1)] >= chosen).mean()
        refused = (held[mine & (y == 0)] < chosen).mean()
        print(f"{name}, held-out folds at {chosen}: answers kept {kept:.1%}, non-answers refused {refused:.1%}")
    print("\nWEIGHTS = Signals(")
    for field, w in zip(fields(Signals), weights, strict=True):
        print(f"    {field.name}={w:.4f},")
    print(f")\nBIAS = {bias:.4f}\nMIN_ODDS = {chosen}")


if __name__ == "__main__":
    main()
