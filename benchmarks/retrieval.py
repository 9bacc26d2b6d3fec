"""Retrieval quality on squad2_500: recall@1, recall@5 and MRR per search mode, fusion weights, latency.

A question counts as found at rank r when a gold document (`doc_ids`) is the r-th distinct document among
the hits (hits deduplicated by document, keeping each document's first appearance).

    .venv/bin/python benchmarks/retrieval.py [DATA] [--chunk-tokens N --chunk-overlap M | --sweep]
        [--home DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import SQUAD, latency, log, progress, qa_home, questions, stamp, table, write_json

from qa import QA, Settings
from qa.index.embedders import Embedder, MiniLMEmbedder
from qa.index.retrieval import fuse

MODES = ("dense", "lexical", "hybrid")
WEIGHTS = ((1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (1.0, 1.5))  # (dense, lexical)
SWEEP = ((128, 32), (200, 40), (256, 48), (384, 64))
DEPTH = 30  # chunks asked of each mode: the retriever's own candidate depth
MRR_DEPTH = 10  # documents
TARGET_R5 = 0.95


def documents(chunk_ids: Sequence[str], doc_of: dict[str, str]) -> list[str]:
    """The chunks' documents, each once, in order of first appearance."""
    return list(dict.fromkeys(doc_of[cid] for cid in chunk_ids))


def first_gold(ranking: Sequence[str], gold: set[str]) -> int | None:
    return next((rank for rank, doc in enumerate(ranking[:MRR_DEPTH], start=1) if doc in gold), None)


def scores(rankings: Sequence[Sequence[str]], golds: Sequence[set[str]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR over the top 10 documents."""
    firsts = [first_gold(ranking, gold) for ranking, gold in zip(rankings, golds, strict=True)]
    n = len(firsts)
    return {
        "recall@1": sum(f == 1 for f in firsts) / n,
        "recall@5": sum(f is not None and f <= 5 for f in firsts) / n,
        "mrr@10": sum(1 / f for f in firsts if f) / n,
    }


def rankings(qa: QA, items: list[dict[str, Any]]) -> tuple[dict[str, list[list[str]]], dict[str, str]]:
    """Per mode, each question's ranked chunk ids; and every seen chunk's document (file stem)."""
    runs: dict[str, list[list[str]]] = {mode: [] for mode in MODES}
    doc_of: dict[str, str] = {}
    for item in items:
        for mode in MODES:
            hits = qa.search(item["question"], k=DEPTH, mode=mode)
            doc_of.update((hit.chunk_id, Path(hit.source).stem) for hit in hits)
            runs[mode].append([hit.chunk_id for hit in hits])
    return runs, doc_of


def weighted(runs: dict[str, list[list[str]]], weights: tuple[float, float]) -> list[list[str]]:
    """Each question's chunk ids fused from its dense and lexical rankings with `weights`."""
    pairs = zip(runs["dense"], runs["lexical"], strict=True)
    return [[cid for cid, _ in fuse([dense, lexical], weights)] for dense, lexical in pairs]


def timings(qa: QA, texts: list[str], mode: str) -> dict[str, float]:
    """Warm query latency of `qa.search` at the default k (one untimed query first)."""
    qa.search(texts[0], mode=mode)
    seconds = []
    for text in texts:
        start = time.perf_counter()
        qa.search(text, mode=mode)
        seconds.append(time.perf_counter() - start)
    return latency(seconds)


def run_config(
    data: Path, home: Path, embedder: Embedder, chunking: tuple[int, int], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Ingest the docs with one chunk size into their own collection and measure everything on it."""
    tokens, overlap = chunking
    settings = Settings(
        home=home, collection=f"bench-squad-{tokens}-{overlap}", chunk_tokens=tokens, chunk_overlap=overlap
    )
    qa = QA(settings, embedder=embedder)
    log(f"chunks {tokens}/{overlap}: ingesting {data / 'docs'}")
    start = time.perf_counter()
    report = qa.ingest([data / "docs"], progress=progress(f"{tokens}/{overlap}"))
    ingest_s = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failed[:3]}")
    qa.warm()
    log(f"chunks {tokens}/{overlap}: {report.summary()}; asking {len(items)} questions")
    runs, doc_of = rankings(qa, items)
    golds = [set(item["doc_ids"]) for item in items]
    texts = [item["question"] for item in items]
    return {
        "chunk_tokens": tokens,
        "chunk_overlap": overlap,
        "documents": len(qa.documents()),
        "chunks": sum(info.chunks for info in qa.documents()),
        "ingest_s": ingest_s,
        "chunks_added": report.chunks_added,
        "modes": {mode: scores([documents(r, doc_of) for r in runs[mode]], golds) for mode in MODES},
        "weights": {
            f"{d:g}:{lx:g}": scores([documents(r, doc_of) for r in weighted(runs, (d, lx))], golds) for d, lx in WEIGHTS
        },
        "hybrid_equals_fuse_1_1": runs["hybrid"] == [r[:DEPTH] for r in weighted(runs, (1.0, 1.0))],
        "latency": {mode: timings(qa, texts, mode) for mode in MODES},
    }


KEYS = ("recall@1", "recall@5", "mrr@10")


def mode_rows(res: dict[str, Any]) -> list[list[Any]]:
    label = f"{res['chunk_tokens']}/{res['chunk_overlap']}"
    rows = []
    for mode in MODES:
        lat = res["latency"][mode]
        quality = [res["modes"][mode][key] for key in KEYS]
        timing = [f"{lat['p50_ms']:.1f}", f"{lat['p95_ms']:.1f}"]
        ingest = f"{res['ingest_s']:.1f}" if res["chunks_added"] else "reused"  # an existing --home
        rows.append([label, res["chunks"], ingest, mode, *quality, *timing])
    return rows


def weight_rows(res: dict[str, Any]) -> list[list[Any]]:
    label = f"{res['chunk_tokens']}/{res['chunk_overlap']}"
    return [[label, name, *(s[key] for key in KEYS)] for name, s in res["weights"].items()]


def note(res: dict[str, Any]) -> str:
    r5 = res["modes"]["hybrid"]["recall@5"]
    verdict = "meets" if r5 >= TARGET_R5 else "misses"
    return (
        f"{res['chunk_tokens']}/{res['chunk_overlap']}: hybrid recall@5 {r5:.3f} {verdict} the target "
        f"{TARGET_R5}; hybrid mode identical to fuse 1:1: {res['hybrid_equals_fuse_1_1']}"
    )


def report(results: list[dict[str, Any]], questions_n: int) -> str:
    """The printed tables: quality and latency per mode, then the fusion weights."""
    head = ["chunks tok/overlap", "chunks", "ingest s", "mode", "R@1", "R@5", "MRR@10", "p50 ms", "p95 ms"]
    lines = [
        f"squad2_500: {results[0]['documents']} documents, {questions_n} answerable questions "
        "(latency: warm, k=5 (default), query embedding included)",
        "",
        table(head, [row for res in results for row in mode_rows(res)]),
        "",
        "Weighted RRF (k=60) of each question's dense and lexical top-30 chunk rankings:",
        "",
        table(
            ["chunks tok/overlap", "dense:lexical", "R@1", "R@5", "MRR@10"],
            [row for res in results for row in weight_rows(res)],
        ),
        "",
    ]
    return "\n".join(lines + [note(res) for res in results])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=SQUAD, help="benchmark folder (squad2_500)")
    parser.add_argument("--chunk-tokens", type=int, default=Settings.chunk_tokens)
    parser.add_argument("--chunk-overlap", type=int, default=Settings.chunk_overlap)
    sizes = ", ".join(f"{t}/{o}" for t, o in SWEEP)
    parser.add_argument("--sweep", action="store_true", help=f"run chunk sizes {sizes}, one ingest each")
    parser.add_argument("--home", type=Path, help="QA home to use and keep (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    items = questions(args.data)
    configs = SWEEP if args.sweep else ((args.chunk_tokens, args.chunk_overlap),)
    embedder = MiniLMEmbedder()
    with qa_home(args.home) as home:
        results = [run_config(args.data, home, embedder, config, items) for config in configs]
    print(stamp())
    print(report(results, len(items)))
    write_json(args.json, {"benchmark": "retrieval", "data": str(args.data), "results": results})


if __name__ == "__main__":
    main()
