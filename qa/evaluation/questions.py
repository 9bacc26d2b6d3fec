"""Question sets: the records of one question and its gold answers, reading a JSONL set, and sampling it.

The layout is that of `../shared/benchmarks/README.md`: one JSON object per line with `id`, `question`,
`answers` (gold strings, `[]` when unanswerable), `doc_ids`, `evidence` (verbatim gold sentences) and
`answerable`. A set names documents by file name without extension, relative to the corpus folder
(`doc_names` maps qa's own document ids to those). Running a set is `qa/evaluation/runner.py`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import ConfigError
from qa.records import DocInfo

__all__ = ["Question", "doc_names", "load_questions", "sample"]


@dataclass(frozen=True)
class Question:
    """One line of a question set (the layout of `../shared/benchmarks/README.md`)."""

    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool


def _question(row: dict[str, Any]) -> Question:
    return Question(
        str(row["id"]),
        str(row["question"]),
        tuple(row.get("answers") or ()),
        tuple(row.get("doc_ids") or ()),
        tuple(row.get("evidence") or ()),
        bool(row["answerable"]),
    )


def sample(items: Sequence[Question], limit: int | None) -> list[Question]:
    """All items, or `limit` of them evenly spaced through the set (positions floor(i * n / limit))."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 1:
        raise ConfigError("--limit must be at least 1")
    return [items[i * len(items) // limit] for i in range(limit)]


def load_questions(path: str | Path) -> list[Question]:
    """The question set at `path` (JSONL); a malformed line is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no question set at {path}; give a .jsonl file like eval/seed.jsonl")
    found: list[Question] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(_question(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}, line {number}: not a question ({exc}); see the layout in eval/SEED.md") from exc
    if not found:
        raise ConfigError(f"{path} holds no questions")
    return found


def doc_names(documents: Iterable[DocInfo], docs: Path) -> dict[str, str]:
    """Stored doc id -> the question sets' id: the file name without extension, relative to `docs`."""
    root, names = docs.resolve(), {}
    for info in documents:
        path = Path(info.path)
        relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
        names[info.doc_id] = relative.with_suffix("").as_posix()
    return names
