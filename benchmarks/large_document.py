"""Extractive answer latency on one large document: what reading around the best passage costs when the
document has thousands of chunks (the passage's neighbours are read, never the whole document).

    .venv/bin/python benchmarks/large_document.py [--paragraphs 6000] [--home DIR]

Writes a text file of generated paragraphs (6,000 make 2.1 MB and about 3,800 chunks), ingests it into a
temporary QA home (or `--home`, kept and reused when given), then asks 8 questions in a warm process and prints
the p50 and each latency.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from qa import QA, Settings


def paragraphs(count: int) -> str:
    return "\n\n".join(
        f"Paragraph {i} tells of widget number {i} and how the widget of kind {i % 17} is tuned with care and "
        "patience by the staff. " * 3
        for i in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=6000)
    parser.add_argument("--home", type=Path, default=None, help="a QA home to build or reuse (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        docs = home.parent / f"{home.name}-docs"
        docs.mkdir(parents=True, exist_ok=True)
        (docs / "large.txt").write_text(paragraphs(args.paragraphs), encoding="utf-8")
        qa = QA(Settings(home=home, backend="extractive"))
        qa.ingest([docs])
        info = qa.documents()[0]
        print(f"{info.source}: {info.chars:,} characters, {info.chunks:,} chunks")
        qa.warm()
        step = max(1, args.paragraphs // 8)
        questions = [f"Who tunes widget number {n}?" for n in range(5, args.paragraphs, step)][:8]
        qa.ask(questions[0])  # the first answer loads what the rest reuse
        latencies = [qa.ask(q).latency_ms for q in questions]
        print(f"warm process: p50 {statistics.median(latencies):.0f} ms;", " ".join(f"{x:.0f}" for x in latencies))


if __name__ == "__main__":
    main()
