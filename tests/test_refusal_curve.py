"""eval/refusal_curve.py: what the extractive backend's odds threshold trades, counted per threshold."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

from qa.evaluation.questions import load_questions
from tests.conftest import ROOT, SEED, write


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refusal_curve", ROOT / "eval" / "refusal_curve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_each_threshold_is_counted_and_a_higher_one_refuses_at_least_as_much(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copyfile(SEED, docs / SEED.name)
    write(docs / "otters.txt", "Sea otters hold hands while they sleep so that they do not drift apart.\n")
    rows = [
        {"id": "a", "question": "Who oversees the training of the North Korean troops?",
         "answers": ["Yunus-bek Yevkurov"], "doc_ids": [SEED.stem], "evidence": [], "answerable": True},
        {"id": "u", "question": "Why do sea otters sleep on land?", "answers": [], "doc_ids": [], "evidence": [],
         "answerable": False},
    ]  # fmt: skip
    questions = write(tmp_path / "q.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    tallies = script().curve(load_questions(questions), docs, tmp_path / "home", [0.0, 1.0])
    loose, sure = tallies[0.0], tallies[1.0]
    assert (loose.right, loose.answerable_refused, loose.without_gold_asked) == (1, 0, 1)
    assert loose.without_gold_refused == 1  # only the otters are left: nothing about the troops
    # nothing is that sure of answering: everything refused
    assert (sure.right, sure.answerable_refused, sure.unanswerable_refused, sure.without_gold_refused) == (0, 1, 1, 1)
    assert loose.unanswerable_refused <= sure.unanswerable_refused
