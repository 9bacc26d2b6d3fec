"""The evaluation runner: a question set against a folder of documents, each question asked once and scored,
the run's figures and its folder.

```python
from qa.evaluation.comparison import compare
from qa.evaluation.runner import evaluate

run = evaluate("eval/seed.jsonl", "seeds/", backend="extractive", out="runs/seed-extractive")
run.metrics["gold_contained"], run.metrics["quote_validity"]
print(compare("runs/seed-extractive", "runs/seed-llama").table())
```

The corpus goes into an index of its own under `<QA home>/eval/` (a collection named from the corpus path,
the embedder and the chunk settings), reused while the files are unchanged; the user's index is never touched.
Each question is asked once: the passages it was answered from (`Answer.passages`) are what it retrieved.
With `without_gold=True` every answerable question is asked a second time with its gold documents left out of
the search (`QA.ask(..., exclude_docs=...)`): a realistic unanswerable question, whose right answer is a refusal.
Checking and scoring an answer is qa/evaluation/scoring.py's job, the run folder qa/evaluation/report.py's.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from qa.api import QA
from qa.errors import ConfigError, QAError
from qa.evaluation import scoring
from qa.evaluation.questions import Question, doc_names, load_questions, sample
from qa.evaluation.report import counts, write_outputs
from qa.evaluation.results import QuestionResult, RunSummary, WithoutGold
from qa.evaluation.scores import aggregate
from qa.index.embedders import Embedder
from qa.records import Answer, IngestReport, Progress
from qa.settings import BACKENDS, Settings

__all__ = ["QuestionResult", "RunSummary", "WithoutGold", "evaluate"]


def eval_settings(settings: Settings, docs: Path, home: Path | None = None) -> Settings:
    """Settings for the corpus's own index: home `<home>/eval`, a collection named from a hash of the
    resolved corpus path, the embedder and the chunk settings."""
    model = settings.embed_model if settings.embedder == "openai" else ""
    key = "\0".join(
        [str(docs.resolve()), settings.embedder, model, settings.tokenizer, str(settings.chunk_tokens),
         str(settings.chunk_overlap)]
    )  # fmt: skip
    name = "eval-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return replace(settings, home=(home or settings.home) / "eval", collection=name)


class _Runner:
    """Asks each question of one QA and checks what comes back; with `without_gold`, asks each answerable
    question again with its gold documents left out."""

    def __init__(self, qa: QA, names: dict[str, str], backend: str, k: int, without_gold: bool = False) -> None:
        self._qa, self._names, self._backend, self._k = qa, names, backend, k
        self._without_gold = without_gold
        self._ids: dict[str, list[str]] = {}  # the question set's document name -> qa's document ids
        for doc_id, name in names.items():
            self._ids.setdefault(name, []).append(doc_id)
        self._texts: dict[str, str | None] = {}

    def _text(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            try:
                self._texts[doc_id] = self._qa.document(doc_id).text
            except QAError:
                self._texts[doc_id] = None
        return self._texts[doc_id]

    def _ask(self, question: str, exclude: Sequence[str] = ()) -> tuple[Answer | None, str | None, float]:
        """The answer (it carries the passages it retrieved), leaving out the documents `exclude`, timed:
        (answer, error, latency ms)."""
        answer: Answer | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            answer = self._qa.ask(question, backend=self._backend, k=self._k, exclude_docs=exclude)
        except Exception as exc:  # one question's failure is recorded, never the end of the run
            error = f"{type(exc).__name__}: {exc}"
        return answer, error, (time.perf_counter() - started) * 1000

    def _checked(self, q: Question, answer: Answer | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The answer's checked citations and its retrieved passages, as results.jsonl lists them."""
        if answer is None:
            return [], []
        cites = scoring.check_citations(q, answer.citations, self._text, self._names)
        return cites, scoring.retrieved(answer.passages, self._names)

    def _again_without_gold(self, q: Question) -> WithoutGold:
        """The question asked again with its gold documents left out of the search."""
        left_out = sorted(doc_id for name in q.doc_ids for doc_id in self._ids.get(name, ()))
        if not left_out:
            return WithoutGold(q.doc_ids, skipped="none of its gold documents is in the index")
        answer, error, latency = self._ask(q.question, left_out)
        cites, ranked = self._checked(q, answer)
        passages = answer.passages if answer else ()
        leaked = any(p.doc_id in left_out for p in passages) or any(c["doc_id"] in left_out for c in cites)
        refused = bool(answer and answer.refused)
        text = answer.text if answer else ""
        return WithoutGold(q.doc_ids, text, refused, tuple(cites), tuple(ranked), latency, error, leaked)

    def run(self, q: Question) -> QuestionResult:
        answer, error, latency = self._ask(q.question)
        again = self._again_without_gold(q) if self._without_gold and q.answerable else None
        cites, ranked = self._checked(q, answer)
        scores = scoring.score(q, answer, cites, ranked, latency, again)
        return QuestionResult(
            q,
            answer.text if answer else "",
            answer.backend if answer else None,
            answer.model if answer else None,
            tuple(cites),
            tuple(ranked),
            error,
            scores,
            answer.unsupported if answer else (),
            answer.dropped_citations if answer else 0,
            again,
        )


def _config(
    questions: Path, in_set: int, docs: Path, settings: Settings, k: int, limit: int | None, without_gold: bool
) -> dict[str, Any]:
    return {
        "questions": str(questions),
        "questions_in_set": in_set,
        "questions_sha256": hashlib.sha256(questions.read_bytes()).hexdigest(),
        "docs": str(docs),
        "backend": settings.backend,
        "k": k,
        "limit": limit,
        "without_gold": without_gold,
        "strict": settings.strict,
        "min_odds": settings.min_odds,
        "refuse_at": settings.refuse_at,
        "embedder": settings.embedder,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "tokenizer": settings.tokenizer,
        "index": {"home": str(settings.home), "collection": settings.collection},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "qa_version": metadata.version("qa"),
        "qa_source_sha256": source_fingerprint(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "load_average_start": _load(),
    }


def source_fingerprint() -> str:
    """A hash of the qa package's Python sources (every subpackage): which code produced a run, committed or not."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _load() -> float | None:
    """The 1-minute load average: latency on a shared machine means little without it."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def _ingest_counts(report: IngestReport) -> dict[str, Any]:
    """The ingest report with counts instead of every file name (the failures and skips stay listed)."""
    return report.to_dict() | {n: len(getattr(report, n)) for n in ("added", "unchanged", "updated", "removed")}


def _ask_all(
    runner: _Runner, chosen: Sequence[Question], out: Path | None, progress: Progress | None
) -> list[QuestionResult]:
    """Every question in turn; with `out`, each result is appended to results.jsonl as soon as it is known."""
    results: list[QuestionResult] = []
    with ExitStack() as stack:
        sink = None
        if out:
            out.mkdir(parents=True, exist_ok=True)
            sink = stack.enter_context((out / "results.jsonl").open("w", encoding="utf-8"))
        for question in chosen:
            results.append(runner.run(question))
            if sink:
                sink.write(json.dumps(results[-1].to_dict(), ensure_ascii=False) + "\n")
                sink.flush()
            if progress:
                progress(len(results), len(chosen))
    return results


def _check(docs: Path, backend: str, k: int) -> None:
    if not docs.is_dir():
        raise ConfigError(f"--docs {docs} is not a folder; give the corpus folder the question set refers to")
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if k < 1:
        raise ConfigError("k must be at least 1")


def evaluate(
    questions_path: str | Path,
    docs: str | Path,
    *,
    backend: str = "extractive",
    k: int = 5,
    out: str | Path | None = None,
    home: str | Path | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    ingest_progress: Progress | None = None,
    without_gold: bool = False,
) -> RunSummary:
    """Run a question set against the documents in `docs` and score it; write the run to `out` if given.

    `home` is the QA home whose `eval/` folder holds the corpus index (default: the settings' home);
    `limit` takes that many questions evenly spaced through the set; `progress(done, total)` is called
    after each question, `ingest_progress(done, total)` while the corpus is embedded. `without_gold` asks
    every answerable question again with its gold documents left out of the search (`without_gold_refused`).
    """
    questions_path, docs = Path(questions_path), Path(docs)
    _check(docs, backend, k)
    everything = load_questions(questions_path)
    chosen = sample(everything, limit)
    base = settings or Settings.from_env(os.environ)
    run_settings = replace(eval_settings(base, docs, Path(home) if home else None), backend=backend)
    config = _config(questions_path, len(everything), docs, run_settings, k, limit, without_gold)
    started = time.perf_counter()
    qa = QA(run_settings, embedder=embedder)
    report = qa.ingest([docs], prune=True, progress=ingest_progress)
    config["ingest_s"] = round(time.perf_counter() - started, 1)
    stored = qa.documents()
    if not stored:
        raise ConfigError(f"--docs {docs} holds no document qa can read (.txt .md .html .pdf); {report.summary()}")
    qa.warm()
    runner = _Runner(qa, doc_names(stored, docs), backend, k, without_gold)
    results = _ask_all(runner, chosen, Path(out) if out else None, progress)
    models = sorted({r.model for r in results if r.model})
    backends = sorted({r.backend for r in results if r.backend})
    config |= {"backend_used": ", ".join(backends) or None, "model": ", ".join(models) or None}
    config |= {"duration_s": round(time.perf_counter() - started, 1), "load_average_end": _load()}
    rows = [r.to_dict() for r in results]
    summary = RunSummary(
        config,
        aggregate([r.scores for r in results]),
        counts(rows),
        _ingest_counts(report),
        tuple(results),
        Path(out) if out else None,
    )
    if summary.out:
        write_outputs(summary.out, summary.to_dict(), rows)
    return summary
