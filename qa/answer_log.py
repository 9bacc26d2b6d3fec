"""The answer log: every answer given, and what its reader thought of it, as JSON lines in `<home>/log.jsonl`.

One line per answer (`"type": "answer"`: the question, the answer's text, whether it was a refusal, its
citations, backend, model, latency, a time and an id), and one per verdict (`"type": "verdict"`: the answer's
id, thumbs up or down, an optional correction, and whether the right response was a refusal). Only fields of the
`Answer` record are written, and it holds no API key. `export` turns the rated answers into a question set in the
layout `qa eval` runs (qa/evaluation/questions.py), so real questions measure a change.

Appends are whole lines written with one `write` on a file opened for appending, one at a time per file in this
process; a line left torn by a crash is skipped when reading and never glued to the next one.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import InputError, NotFoundError, abbreviated
from qa.records import Answer

__all__ = ["FILE_NAME", "AnswerLog", "Rated", "log_answer"]

FILE_NAME = "log.jsonl"
_LOCKS: dict[Path, threading.Lock] = {}  # one per log file, shared by every AnswerLog of this process
_LOCKS_LOCK = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path.resolve(), threading.Lock())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Rated:
    """A logged answer (its line as written) and the latest verdict on it."""

    answer: dict[str, Any]
    good: bool
    correction: str | None
    should_refuse: bool

    def question(self, docs: Path | None = None) -> dict[str, Any] | None:
        """This answer as a line of a question set; None when the verdict gives no gold (a thumbs-down with
        neither a correction nor "should have refused")."""
        row: dict[str, Any] = {"id": f"log-{self.answer['id']}", "question": self.answer["question"]}
        if (self.good and self.answer["refused"]) or (not self.good and self.should_refuse):
            return {**row, "answers": [], "doc_ids": [], "evidence": [], "answerable": False}
        if not self.good and not self.correction:
            return None
        quotes = [c["quote"] for c in self.answer["citations"]] if self.good else []
        names = [_doc_name(c["source"], docs) for c in self.answer["citations"]] if self.good else []
        answers = [self.correction] if self.correction else quotes
        return {**row, "answers": answers, "doc_ids": list(dict.fromkeys(names)), "evidence": quotes,
                "answerable": True}  # fmt: skip


def _doc_name(source: str, docs: Path | None) -> str:
    """A document as question sets name it: its path relative to `docs` without extension, else its file stem."""
    path = Path(source)
    if docs is not None and path.resolve().is_relative_to(docs.resolve()):
        return path.resolve().relative_to(docs.resolve()).with_suffix("").as_posix()
    return path.stem


class AnswerLog:
    """The log file at `path` (`AnswerLog.at(settings.home)` for the usual place)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _lock_for(path)

    @classmethod
    def at(cls, home: Path) -> AnswerLog:
        return cls(home / FILE_NAME)

    def record(self, answer: Answer) -> str:
        """Append the answer; its id, for a verdict later."""
        answer_id = uuid.uuid4().hex
        self._append({
            "type": "answer", "id": answer_id, "time": _now(), "question": answer.question, "answer": answer.text,
            "refused": answer.refused, "citations": [c.to_dict() for c in answer.citations],
            "backend": answer.backend, "model": answer.model, "latency_ms": round(answer.latency_ms, 1),
        })  # fmt: skip
        return answer_id

    def verdict(self, answer_id: str, good: bool, correction: str | None = None, should_refuse: bool = False) -> None:
        """Record what the reader thought of a logged answer; the latest verdict on an answer is the one kept."""
        if good and should_refuse:
            raise InputError("a good answer cannot also be one that should have been a refusal; choose one")
        if not any(line.get("type") == "answer" and line.get("id") == answer_id for line in self.lines()):
            raise NotFoundError(f"no answer {abbreviated(answer_id)} in the answer log; use the id an answer came with")
        correction = (correction or "").strip() or None
        line = {"type": "verdict", "answer_id": answer_id, "time": _now(), "good": good}
        self._append({**line, "correction": correction, "should_refuse": should_refuse})

    def lines(self) -> Iterator[dict[str, Any]]:
        """Every whole line of the log, oldest first (a torn or foreign line is skipped)."""
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as log:
            for raw in log:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(line, dict):
                    yield line

    def rated(self) -> list[Rated]:
        """The answers that have a verdict, in the order they were given, each with its latest verdict."""
        answers: dict[str, dict[str, Any]] = {}
        verdicts: dict[str, dict[str, Any]] = {}
        for line in self.lines():
            if line.get("type") == "answer":
                answers[str(line["id"])] = line
            elif line.get("type") == "verdict":
                verdicts[str(line["answer_id"])] = line
        return [
            Rated(answer, bool(v["good"]), v.get("correction"), bool(v.get("should_refuse")))
            for answer_id, answer in answers.items()
            if (v := verdicts.get(answer_id)) is not None
        ]

    def export(self, out: Path, docs: Path | None = None) -> int:
        """Write the rated answers that give a gold answer (or a refusal) as a question set; how many."""
        rows = [row for rated in self.rated() if (row := rated.question(docs)) is not None]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        return len(rows)

    def clear(self) -> int:
        """Delete the log; how many answers it held."""
        with self._lock:
            count = sum(1 for line in self.lines() if line.get("type") == "answer")
            self.path.unlink(missing_ok=True)
        return count

    def _append(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if _torn(fd):
                    data = b"\n" + data  # end the torn line so that this one stays whole
                os.write(fd, data)
            finally:
                os.close(fd)


def _torn(fd: int) -> bool:
    """Whether the file's last line lacks its newline (a write cut short by a crash)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def log_answer(log: AnswerLog | None, answer: Answer) -> str | None:
    """Record `answer` in `log` when there is one; the answer's id, or None."""
    return log.record(answer) if log is not None else None
