"""Extractive answer latency: p50/p95 per question in a warm process (as it runs, and with the embedder's memory
of encoded sentences emptied before each question), and `qa ask` as a fresh process.

    .venv/bin/python benchmarks/answer_latency.py [--questions eval/seed.jsonl] [--docs seeds] [--fresh 3]

Works in a temporary QA home (the seed article is ingested there first), so your own index is untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa import QA, Settings


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def warmed(home: Path, questions: list[str], docs: Path) -> QA:
    """A QA on `docs`, ingested, that has answered every question once (untimed): the model, the BM25 cache and
    the index's files are loaded, so the first timed pass is not charged for them."""
    qa = QA(Settings(home=home, backend="extractive"))
    qa.ingest([docs])
    for question in questions:
        qa.ask(question)
    return qa


def warm_latencies(qa: QA, questions: list[str], forget: bool = False) -> list[float]:
    """Per question, ms, starting with nothing in the embedder's memory of encoded sentences. `forget`: that
    memory is emptied before each question, so every sentence is run through the model (a question over passages
    no earlier question read); else sentences an earlier question read are taken from it."""
    timings = []
    empty = getattr(qa.embedder, "forget", lambda: None)  # an embedder without a memory has nothing to empty
    empty()
    for question in questions:
        if forget:
            empty()
        started = time.perf_counter()
        qa.ask(question)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def fresh_process_seconds(home: Path, question: str, runs: int) -> list[float]:
    env = dict(os.environ, QA_HOME=str(home), QA_BACKEND="extractive")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "ask", question], env=env, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default="eval/seed.jsonl")
    parser.add_argument("--docs", default="seeds")
    parser.add_argument("--fresh", type=int, default=3, help="fresh `qa ask` processes to time")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in Path(args.questions).read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as home:
        qa = warmed(Path(home), questions, Path(args.docs))
        warm = warm_latencies(qa, questions)
        unread = warm_latencies(qa, questions, forget=True)
        fresh = fresh_process_seconds(Path(home), questions[0], args.fresh)
    print(f"{len(questions)} questions, extractive, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"warm process: p50 {statistics.median(warm):.0f} ms, p95 {percentile(warm, 0.95):.0f} ms")
    print(
        f"warm process, no sentence in memory: p50 {statistics.median(unread):.0f} ms, "
        f"p95 {percentile(unread, 0.95):.0f} ms"
    )
    print(f"fresh `qa ask` process: median {statistics.median(fresh):.2f} s, max {max(fresh):.2f} s")


if __name__ == "__main__":
    main()
