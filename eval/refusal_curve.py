"""What the extractive backend's odds threshold (`QA_MIN_ODDS`) trades on a question set: per threshold, the share
of answerable questions answered with a gold answer, how many of them are refused, the share of unanswerable
questions refused, and the share refused when each answerable question is asked again with its gold documents
left out (as `qa eval --without-gold` asks it).

Usage (with the project's virtualenv):
    python eval/refusal_curve.py QUESTIONS --docs DIR [--odds 0,0.1,0.2,0.3,0.4,0.5,0.6] [--home DIR]

Every question is asked as `qa ask --backend extractive` asks it, once per threshold from the lowest up: the
threshold only decides whether the best sentence is given or refused, never which sentence, so a question
refused at one threshold is refused at every higher one and is not asked again. Choose a threshold on tuning
sets; on a set you report, this shows what the default costs and gives, not a value to pick.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import QA, Settings  # noqa: E402
from qa.answer.answerability import MIN_ODDS  # noqa: E402
from qa.evaluation.metrics import gold_contained  # noqa: E402
from qa.evaluation.questions import Question, doc_names, load_questions  # noqa: E402
from qa.evaluation.runner import eval_settings  # noqa: E402
from qa.records import Answer  # noqa: E402


@dataclass
class Tally:
    """Outcomes at one threshold."""

    right: int = 0  # answerable, answered with a gold answer
    answerable_refused: int = 0
    unanswerable_refused: int = 0
    without_gold_refused: int = 0
    without_gold_asked: int = 0


def right(answer: Answer, q: Question) -> bool:
    return not answer.refused and gold_contained(answer.text, [c.quote for c in answer.citations], q.answers)


def curve(questions: Sequence[Question], docs: Path, home: Path, odds: Sequence[float]) -> dict[float, Tally]:
    settings = replace(eval_settings(Settings.from_env({}), docs, home), backend="extractive")
    first = QA(settings)
    first.ingest([docs], prune=True)
    ids: dict[str, list[str]] = {}
    for doc_id, name in doc_names(first.documents(), docs).items():
        ids.setdefault(name, []).append(doc_id)
    runs = {t: QA(replace(settings, min_odds=t), embedder=first.embedder, store=first.store) for t in odds}
    tallies = {t: Tally() for t in odds}
    for n, q in enumerate(questions, 1):
        asks: list[tuple[str, list[str]]] = [("asked", [])]
        left_out = [d for name in q.doc_ids for d in ids.get(name, ())]
        if q.answerable and left_out:
            asks.append(("without", left_out))
        for kind, exclude in asks:
            refused_below = False
            for t in sorted(odds):
                refused = refused_below or (answer := runs[t].ask(q.question, exclude_docs=exclude)).refused
                refused_below = refused
                tally = tallies[t]
                if kind == "without":
                    tally.without_gold_asked += 1
                    tally.without_gold_refused += refused
                elif not q.answerable:
                    tally.unanswerable_refused += refused
                elif refused:
                    tally.answerable_refused += 1
                else:
                    tally.right += right(answer, q)
        print(f"\r{n}/{len(questions)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--odds", default="0,0.05,0.1,0.2,0.3,0.4,0.5,0.6", help="thresholds, comma-separated")
    parser.add_argument("--home", type=Path, help="QA home for the index (default: a temporary folder)")
    args = parser.parse_args()
    questions = load_questions(args.questions)
    odds = sorted({float(x) for x in args.odds.split(",")})
    with tempfile.TemporaryDirectory() as scratch:
        tallies = curve(questions, args.docs, args.home or Path(scratch), odds)
    answerable = sum(q.answerable for q in questions)
    unanswerable = len(questions) - answerable
    print(f"{args.questions.name}: {answerable} answerable, {unanswerable} unanswerable (default {MIN_ODDS})")
    print(
        "| QA_MIN_ODDS | gold contained | answerable refused | unanswerable refused "
        "| refused without the gold documents |"
    )
    print("|---|---|---|---|---|")
    for t, tally in tallies.items():
        print(
            f"| {t:g} | {share(tally.right, answerable)} | {tally.answerable_refused} | "
            f"{share(tally.unanswerable_refused, unanswerable)} | "
            f"{share(tally.without_gold_refused, tally.without_gold_asked)} |"
        )


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


if __name__ == "__main__":
    main()
