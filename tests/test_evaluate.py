"""The evaluation runner end to end: the seed question set against `seeds/` with the extractive backend, in
tmp folders, with the real embedder; the run folder, reuse of the index, `compare`, and `qa eval`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa import QA, Settings
from qa.answer.answerability import MIN_ODDS
from qa.answer.pipeline import REFUSE_AT
from qa.evaluation.cli import add_eval_commands, run_eval
from qa.evaluation.comparison import compare
from qa.evaluation.questions import load_questions, sample
from qa.evaluation.report import render_report
from qa.evaluation.runner import RunSummary, eval_settings, evaluate
from qa.evaluation.scores import DEFINITIONS
from qa.index.embedders import Embedder
from tests.conftest import HTML_DOC, MARKDOWN_DOC, ROOT, SEED, SEED_QUESTION, write

QUESTIONS = ROOT / "eval" / "seed.jsonl"
DOCS = ROOT / "seeds"
LIMIT = 8  # evenly spaced through the set: 6 answerable and 2 unanswerable questions
FILES = ("results.jsonl", "summary.json", "report.md", "metrics.png", "latency.png")


class ExplodingEmbedder:
    """The real embedder, except that it raises on any text containing EXPLODE: a question that fails."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if any("EXPLODE" in t for t in texts):
            raise RuntimeError("simulated embedder crash")
        return self._inner.embed(texts)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="module")
def runs(work: Path, embedder: Embedder) -> tuple[RunSummary, RunSummary]:
    """The same run twice over one QA home: the second must reuse the first one's index."""
    settings = Settings(home=work / "home")
    seen: list[tuple[int, int]] = []
    first = evaluate(QUESTIONS, DOCS, out=work / "run1", limit=LIMIT, settings=settings, embedder=embedder,
                     progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(n, LIMIT) for n in range(1, LIMIT + 1)]
    second = evaluate(QUESTIONS, DOCS, out=work / "run2", limit=LIMIT, settings=settings, embedder=embedder)
    return first, second


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_run_folder_holds_results_summary_report_and_plots(runs: tuple[RunSummary, RunSummary], work: Path) -> None:
    out = work / "run1"
    assert all((out / name).is_file() for name in FILES)
    assert all((out / name).read_bytes().startswith(b"\x89PNG") for name in ("metrics.png", "latency.png"))
    results = lines(out / "results.jsonl")
    assert len(results) == LIMIT
    assert {r["answerable"] for r in results} == {True, False}
    for r in results:
        assert {"id", "question", "answers", "answer", "refused", "backend", "model", "citations", "retrieved",
                "latency_ms", "prompt_tokens", "completion_tokens", "error", "scores"} <= set(r)  # fmt: skip
        assert r["error"] is None and r["backend"] == "extractive"
        assert len(r["retrieved"]) >= 1 and all(hit["doc"] == "north-korean-troops-in-kursk" for hit in r["retrieved"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"config", "counts", "metrics", "ingest"}
    assert set(summary["metrics"]) == set(DEFINITIONS)
    assert {"questions", "docs", "backend", "model", "k", "chunk_tokens", "chunk_overlap", "date", "qa_version",
            "cores"} <= set(summary["config"])  # fmt: skip
    assert summary["counts"]["questions"] == LIMIT
    assert summary["metrics"]["without_gold_refused"] is None and not summary["config"]["without_gold"]
    assert all(r["without_gold"] is None for r in results)  # not asked for
    c = summary["config"]
    assert (c["strict"], c["min_odds"], c["refuse_at"]) == (False, MIN_ODDS, REFUSE_AT)
    assert f"strict: off, QA_MIN_ODDS {MIN_ODDS:g}, QA_REFUSE_AT {REFUSE_AT:g}" in (out / "report.md").read_text()
    cited = [c for r in results for c in r["citations"]]
    assert cited and all(isinstance(c["ends_mid_sentence"], bool) for c in cited)
    mid = sum(c["ends_mid_sentence"] for c in cited)
    assert summary["metrics"]["quotes_mid_sentence"] == summary["counts"]["quotes_mid_sentence"] == mid
    assert summary["metrics"]["quotes_mid_sentence_share"] == pytest.approx(mid / len(cited))
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Metrics" in report and "## Failures (0)" in report and "QUOTE VALIDITY" not in report
    assert all(DEFINITIONS[name] in report for name in DEFINITIONS)
    assert "## Without the gold documents" not in report
    assert ("IN THE MIDDLE OF A SENTENCE" in report) == bool(mid)


def test_every_quote_is_verbatim_and_retrieval_finds_the_article(runs: tuple[RunSummary, RunSummary]) -> None:
    first, _ = runs
    assert first.metrics["quote_validity"] == 1.0
    assert first.counts["citations"] > 0 and first.counts["invalid_citations"] == 0
    assert first.metrics["doc_recall_at_k"] == 1.0 and first.metrics["mrr"] == 1.0
    assert first.metrics["failures"] == 0
    assert first.metrics["latency_p50_ms"] is not None and first.metrics["latency_p50_ms"] > 0


def test_retrieved_is_what_the_answer_was_given_the_same_as_a_search(
    runs: tuple[RunSummary, RunSummary], work: Path, embedder: Embedder
) -> None:
    first, _ = runs
    qa = QA(eval_settings(Settings(home=work / "home"), DOCS), embedder=embedder)
    for result in first.results:
        hits = qa.search(result.q.question, k=5)
        assert [(r["chunk_id"], r["score"]) for r in result.retrieved] == [
            (h.chunk_id, round(h.score, 6)) for h in hits
        ]
        # the extractive backend reads its first passage with the paragraphs beside it: that is what it was given
        assert all(r["start"] <= h.start and h.end <= r["end"] for r, h in zip(result.retrieved, hits, strict=True))
        assert [(r["start"], r["end"]) for r in result.retrieved[1:]] == [(h.start, h.end) for h in hits[1:]]
        assert all(set(r) == {"doc", "chunk_id", "start", "end", "score"} for r in result.retrieved)


def test_the_second_run_reuses_the_index_and_never_touches_the_users(
    runs: tuple[RunSummary, RunSummary], work: Path
) -> None:
    first, second = runs
    assert first.ingest["chunks_added"] > 0
    assert second.ingest["chunks_added"] == 0 and second.ingest["unchanged"] == 1
    assert first.config["index"] == second.config["index"]
    assert first.config["index"]["home"] == str(work / "home" / "eval")
    assert not (work / "home" / "chroma").exists()  # the user's own index under the home is not created


def test_compare_two_runs(runs: tuple[RunSummary, RunSummary], work: Path) -> None:
    same = compare(work / "run1", work / "run2")
    assert same.flips == ()
    assert {name for name, _, _ in same.rows} == set(DEFINITIONS)
    # run B: the first answered question refused instead
    changed = work / "run-changed"
    shutil.copytree(work / "run1", changed)
    results = lines(changed / "results.jsonl")
    target = next(r for r in results if r["answerable"] and r["scores"]["correct"])
    target["refused"], target["scores"]["correct"] = True, False
    (changed / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    summary = json.loads((changed / "summary.json").read_text(encoding="utf-8"))
    summary["metrics"]["accuracy"] -= 1 / LIMIT
    (changed / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    diff = compare(work / "run1", changed)
    assert [(f.id, f.a, f.b) for f in diff.flips] == [(target["id"], "answered, correct", "refused, wrong")]
    table = diff.table()
    assert "-12.5 pts" in table and target["id"] in table and "1 questions changed outcome" in table


def test_a_failing_question_is_recorded_and_the_run_goes_on(tmp_path: Path, embedder: Embedder) -> None:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()[:2]]
    rows[0]["question"] = "EXPLODE " + rows[0]["question"]
    questions = tmp_path / "two.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run = evaluate(questions, DOCS, out=tmp_path / "run", settings=Settings(home=tmp_path / "home"),
                   embedder=ExplodingEmbedder(embedder))  # fmt: skip
    failed, ok = run.results
    assert failed.error == "RuntimeError: simulated embedder crash" and failed.scores.failed
    assert failed.retrieved == () and failed.to_dict()["retrieved"] == []  # the ask raised: nothing retrieved
    assert ok.error is None and ok.answer
    assert run.metrics["failures"] == 1 and run.counts["failed"] == 1
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## Failures (1)" in report and "simulated embedder crash" in report


def test_the_report_says_loudly_when_a_quote_is_not_verbatim() -> None:
    metrics: dict[str, Any] = dict.fromkeys(DEFINITIONS, 0.5) | {"quotes_mid_sentence": 0}
    config = {"questions": "q.jsonl", "questions_in_set": 2, "docs": "d", "backend": "llama", "backend_used": "llama",
              "model": "m", "k": 5, "limit": None, "embedder": "minilm", "chunk_tokens": 200, "chunk_overlap": 40,
              "tokenizer": "o200k_base", "qa_version": "0", "python": "3", "cores": 2, "date": "today",
              "duration_s": 1.0}  # fmt: skip
    counts = {"questions": 2, "answerable": 1, "unanswerable": 1, "citations": 2, "invalid_citations": 1}
    ingest = {"added": 1, "updated": 0, "unchanged": 0, "removed": 0, "chunks_added": 4}
    bad = {"id": "q1", "error": None, "citations": [{"valid": False, "doc": "d1", "start": 3, "end": 9, "quote": "x"}]}
    summary = {"config": config, "counts": counts, "metrics": metrics, "ingest": ingest}
    report = render_report(summary, [bad])
    assert report.splitlines()[2].startswith("> **QUOTE VALIDITY IS 50.0%, NOT 100%: 1 of 2 citations")
    assert "## Invalid citations (1)" in report and "d1 chars 3-9" in report
    assert "MIDDLE OF A SENTENCE" not in report and "## Quotes ending mid-sentence" not in report

    cut = {"valid": True, "ends_mid_sentence": True, "doc": "d2", "start": 0, "end": 4, "quote": "Gann"}
    summary["metrics"] |= {"quote_validity": 1.0, "quotes_mid_sentence": 1, "quotes_mid_sentence_share": 0.5}
    report = render_report(summary, [{"id": "q2", "error": None, "citations": [cut]}])
    assert report.splitlines()[2] == ("> **1 OF 2 QUOTES END IN THE MIDDLE OF A SENTENCE (50.0%): the reader sees a "
                                      "cut-off sentence. They are listed below.**")  # fmt: skip
    assert "## Quotes ending mid-sentence (1)" in report and "- `q2`: d2 chars 0-4: 'Gann'" in report
    assert "QUOTE VALIDITY" not in report


def test_question_sets_load_and_sample_evenly(tmp_path: Path) -> None:
    questions = load_questions(QUESTIONS)
    assert len(questions) == 49
    picked = sample(questions, LIMIT)
    assert [q.id for q in picked] == [questions[i * 49 // LIMIT].id for i in range(LIMIT)]
    assert sample(questions, None) == questions
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "question": "q", "answerable": true}\n{"id": "y"}\n', encoding="utf-8")
    with pytest.raises(Exception, match="line 2"):
        load_questions(broken)


def test_the_report_lists_answers_given_without_the_gold_documents_and_any_leak() -> None:
    metrics: dict[str, Any] = dict.fromkeys(DEFINITIONS, 0.5) | {"quote_validity": 1.0, "quotes_mid_sentence": 0}
    config = {"questions": "q.jsonl", "questions_in_set": 2, "docs": "d", "backend": "extractive", "model": None,
              "k": 5, "limit": None, "embedder": "minilm", "chunk_tokens": 200, "chunk_overlap": 40,
              "tokenizer": "o200k_base", "qa_version": "0", "python": "3", "cores": 2, "date": "today",
              "duration_s": 1.0, "without_gold": True}  # fmt: skip
    counts = {"questions": 2, "answerable": 2, "unanswerable": 0, "citations": 2, "invalid_citations": 0,
              "without_gold_asked": 2, "without_gold_refused": 1, "without_gold_failed": 0, "without_gold_leaks": 1,
              "without_gold_skipped": 0}  # fmt: skip
    ingest = {"added": 1, "updated": 0, "unchanged": 0, "removed": 0, "chunks_added": 4}
    answered = {"left_out": ["d1"], "answer": "Gannets dive [1].", "refused": False, "citations": [], "leaked": True}
    results = [
        {"id": "q1", "question": "Who dives?", "error": None, "citations": [], "without_gold": answered},
        {"id": "q2", "question": "Who digs?", "error": None, "citations": [],
         "without_gold": answered | {"refused": True, "leaked": False}},
    ]  # fmt: skip
    summary = {"config": config, "counts": counts, "metrics": metrics, "ingest": ingest}
    report = render_report(summary, results)
    assert report.splitlines()[2].startswith("> **1 QUESTIONS ASKED WITHOUT THEIR GOLD DOCUMENTS GOT PASSAGES")
    assert "1 of 2 refused (50.0%), 0 failed, 0 skipped" in report
    assert "Answered anyway (1):\n\n- `q1`: 'Who dives?' -> 'Gannets dive [1].'" in report
    assert "`q2`" not in report


# --- asked again without the gold documents -----------------------------------------------------------------

MIXED = [  # one answerable question per document of the corpus, one whose document is not there, one unanswerable
    {"id": "troops", "question": SEED_QUESTION, "answers": ["Yunus-bek Yevkurov"],
     "doc_ids": ["north-korean-troops-in-kursk"], "evidence": [], "answerable": True},
    {"id": "bake", "question": "At what temperature is the loaf baked?", "answers": ["250 degrees"],
     "doc_ids": ["sourdough"], "evidence": [], "answerable": True},
    {"id": "pools", "question": "Which animals live in the tide pools?", "answers": ["Sea anemones and starfish"],
     "doc_ids": ["tidepools"], "evidence": [], "answerable": True},
    {"id": "elsewhere", "question": "Who keeps the lighthouse?", "answers": ["Marta"], "doc_ids": ["lighthouse"],
     "evidence": [], "answerable": True},
    {"id": "peru", "question": "What is the capital of Peru?", "answers": [], "doc_ids": [], "evidence": [],
     "answerable": False},
]  # fmt: skip


@pytest.fixture(scope="module")
def mixed(work: Path) -> tuple[Path, Path]:
    """A corpus of three documents on unrelated topics and the question set `MIXED` about it."""
    docs = work / "mixed-docs"
    write(docs / SEED.name, SEED.read_text(encoding="utf-8"))
    write(docs / "sourdough.md", MARKDOWN_DOC)
    write(docs / "tidepools.html", HTML_DOC)
    questions = write(work / "mixed.jsonl", "".join(json.dumps(row) + "\n" for row in MIXED))
    return questions, docs


def test_without_gold_asks_each_answerable_question_again_with_its_documents_left_out(
    mixed: tuple[Path, Path], work: Path, embedder: Embedder
) -> None:
    questions, docs = mixed
    run = evaluate(questions, docs, out=work / "wg", settings=Settings(home=work / "home"), embedder=embedder,
                   without_gold=True)  # fmt: skip
    rows = {r["id"]: r for r in lines(work / "wg" / "results.jsonl")}
    assert rows["peru"]["without_gold"] is None  # unanswerable: asked once
    assert rows["elsewhere"]["without_gold"] == {"left_out": ["lighthouse"],
                                                 "skipped": "none of its gold documents is in the index"}  # fmt: skip
    asked = {qid: rows[qid]["without_gold"] for qid in ("troops", "bake", "pools")}
    for qid, again in asked.items():
        gold = rows[qid]["doc_ids"][0]
        assert gold in {hit["doc"] for hit in rows[qid]["retrieved"]}  # found when it is there ...
        assert again["left_out"] == [gold] and again["error"] is None and not again["leaked"]
        assert again["retrieved"] and gold not in {hit["doc"] for hit in again["retrieved"]}  # ... never when not
        assert all(c["doc"] != gold and c["valid"] for c in again["citations"])
        assert again["refused"] == (not again["citations"])
        assert rows[qid]["scores"]["without_gold_refused"] == again["refused"]
    refused = sum(a["refused"] for a in asked.values())
    assert refused >= 2  # the other documents do not say who trains troops or what the oven's temperature is
    expected = {"asked": 3, "refused": refused, "failed": 0, "leaks": 0, "skipped": 1}
    assert {name: run.counts[f"without_gold_{name}"] for name in expected} == expected
    assert run.metrics["without_gold_refused"] == pytest.approx(refused / 3)
    summary = json.loads((work / "wg" / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["without_gold_refused"] == run.metrics["without_gold_refused"]
    assert summary["config"]["without_gold"] is True
    report = (work / "wg" / "report.md").read_text(encoding="utf-8")
    assert "## Without the gold documents" in report and f"{refused} of 3 refused" in report
    assert "| `without_gold_refused` |" in report and "GOT PASSAGES OR QUOTES" not in report
    assert run.metrics["refusal_recall"] == 1.0 and rows["peru"]["refused"]  # the normal run is unchanged


def test_the_eval_command_runs_without_gold(
    mixed: tuple[Path, Path], work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    questions, docs = mixed
    argv = ["eval", str(questions), "--docs", str(docs), "--without-gold", "--out", str(work / "wg-cli"),
            "--home", str(work / "home")]  # fmt: skip
    assert run_eval(parser().parse_args(argv)) == 0
    shown = capsys.readouterr().out
    [row] = [line for line in shown.splitlines() if line.startswith("without_gold_refused")]
    summary = json.loads((work / "wg-cli" / "summary.json").read_text(encoding="utf-8"))
    n = summary["counts"]
    assert row.split()[1] == f"{100 * summary['metrics']['without_gold_refused']:.1f}%"
    assert f"without gold documents: {n['without_gold_refused']} of 3 answerable questions refused" in shown
    assert "quotes_mid_sentence" in shown


# --- the command line ------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """A parser shaped like `qa`'s: the shared options in a parent, the commands as subparsers."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--home")
    common.add_argument("--collection")
    top = argparse.ArgumentParser(prog="qa", parents=[common])
    add_eval_commands(top.add_subparsers(dest="command", required=True), common)
    return top


def test_a_strict_run_asks_the_extractive_backend_for_higher_odds_and_says_so(
    runs: tuple[RunSummary, RunSummary], work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    row = {"id": "pledge", "question": "What do Moscow and Pyongyang pledge to each other if one of them is attacked?",
           "answers": ["mutual assistance in case of aggression"], "doc_ids": ["north-korean-troops-in-kursk"],
           "evidence": [], "answerable": True}  # fmt: skip
    questions = work / "pledge.jsonl"
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    refused = {}
    for flags in ([], ["--strict"]):
        out = work / f"pledge{len(flags)}"
        argv = ["eval", str(questions), "--docs", str(DOCS), "--out", str(out), "--home", str(work / "home"), *flags]
        assert run_eval(parser().parse_args(argv)) == 0
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["config"]["strict"] is bool(flags)
        assert ("strict: on" in (out / "report.md").read_text()) is bool(flags)
        refused[bool(flags)] = summary["counts"]["refused"]
    assert refused == {False: 0, True: 1}  # answered (with the Kremlin's right to cooperate) only when not strict


def test_both_eval_forms_parse() -> None:
    args = parser().parse_args(["eval", "eval/seed.jsonl", "--docs", "seeds/", "-k", "3", "--limit", "4"])
    assert (args.command, args.questions, args.runs, args.docs, args.k, args.limit) == (
        "eval", "eval/seed.jsonl", [], "seeds/", 3, 4
    )  # fmt: skip
    assert args.backend == "extractive"
    args = parser().parse_args(["--home", "h", "eval", "compare", "runs/a", "runs/b"])
    assert (args.questions, args.runs, args.home) == ("compare", ["runs/a", "runs/b"], "h")


def test_the_eval_handler_runs_and_compares(
    runs: tuple[RunSummary, RunSummary], work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    argv = ["eval", str(QUESTIONS), "--docs", str(DOCS), "--limit", "2", "--out", str(work / "cli"),
            "--home", str(work / "home")]  # fmt: skip
    assert run_eval(parser().parse_args(argv)) == 0
    shown = capsys.readouterr().out
    assert "quote_validity" in shown and "100.0%" in shown and f"wrote {work / 'cli'}" in shown
    assert len(lines(work / "cli" / "results.jsonl")) == 2
    assert run_eval(parser().parse_args(["eval", "compare", str(work / "run1"), str(work / "run2"),
                                         "--out", str(work / "cmp")])) == 0  # fmt: skip
    assert "0 questions changed outcome" in capsys.readouterr().out
    assert (work / "cmp" / "comparison.png").is_file() and (work / "cmp" / "comparison.md").is_file()
    with pytest.raises(Exception, match="two runs"):
        run_eval(parser().parse_args(["eval", "compare", str(work / "run1")]))
    with pytest.raises(Exception, match="--docs"):
        run_eval(parser().parse_args(["eval", str(QUESTIONS)]))


@pytest.mark.slow
def test_qa_eval_as_a_subprocess(runs: tuple[RunSummary, RunSummary], work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    argv = [sys.executable, "-m", "qa", "--home", str(work / "home"), "eval", str(QUESTIONS), "--docs", str(DOCS),
            "--limit", "3", "--out", str(work / "sub")]  # fmt: skip
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "quote_validity" in done.stdout and len(lines(work / "sub" / "results.jsonl")) == 3
    compared = subprocess.run([sys.executable, "-m", "qa", "eval", "compare", str(work / "run1"), str(work / "sub")],
                              cwd=work, env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    assert "B - A" in compared.stdout
