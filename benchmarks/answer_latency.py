"""Extractive answer latency: p50/p95 per question in a warm process, and `qa ask` as a fresh process.

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


def warm_latencies(home: Path, questions: list[str], docs: Path) -> list[float]:
    qa = QA(Settings(home=home, backend="extractive"))
    qa.ingest([docs])
    qa.ask(questions[0])  # load the model and the BM25 cache once
    timings = []
    for question in questions:
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
        warm = warm_latencies(Path(home), questions, Path(args.docs))
        fresh = fresh_process_seconds(Path(home), questions[0], args.fresh)
    print(f"{len(questions)} questions, extractive, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"warm process: p50 {statistics.median(warm):.0f} ms, p95 {percentile(warm, 0.95):.0f} ms")
    print(f"fresh `qa ask` process: median {statistics.median(fresh):.2f} s, max {max(fresh):.2f} s")


if __name__ == "__main__":
    main()
