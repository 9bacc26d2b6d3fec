"""qa beside LlamaIndex on one corpus, in one process: ingest time, warm query latency and recall@5.

Everyone embeds with the same object, qa's MiniLM int8 (`qa.backends.shared_minilm`, wrapped for LlamaIndex
as in `llamaindex_engine.py`), and splits into 200/40-token chunks. Engines, each ingesting into a fresh index:

- `qa hybrid`, `qa dense`, `qa lexical`: `QA.search(question, k, mode)` on one qa index (its ingest time is
  `QA.ingest` plus `QA.warm()`, which builds the BM25 index and the in-memory copy dense search uses, so every
  engine's ingest ends ready to answer);
- `llamaindex memory`: `VectorStoreIndex` in memory, its retriever at `similarity_top_k=k`;
- `llamaindex chroma`: the same over `ChromaVectorStore` on a fresh `PersistentClient` collection.

Latency: every engine is built first, then each question is asked of every engine back to back (the order
rotated per question, one untimed query each first), so a burst of load on a shared machine hits all of them
alike; p50/p95 over the answerable questions at k, the query embedding included. `embed only` times the
embedder alone in the same loop, the floor every engine shares; the per-question ratio qa hybrid / LlamaIndex on
Chroma is reported too. Recall@5: a gold document among the first 5 distinct documents of a 30-chunk ranking
(as `retrieval.py` counts), and among the documents of the k hits themselves. `--repeats N` builds and runs
everything N times (the building order rotated) and reports medians. Run it with the network cut and the benchmark venv:

    unshare -n sh -c 'ip link set lo up && .venv-bench/bin/python benchmarks/side_by_side.py --repeats 3'
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from common import SQUAD, latency, log, questions, stamp, table, write_json
from llamaindex_engine import _documents, _embedding

from qa import QA, Settings
from qa.backends import shared_minilm
from qa.text.tokens import encoding

DEPTH = 30  # chunks ranked for recall@5 over documents
Search = Callable[[str, int], list[str]]  # question, k -> the hits' documents (file stems), best first
ENGINES = ("qa hybrid", "qa dense", "qa lexical", "llamaindex memory", "llamaindex chroma")


def first_documents(docs: list[str], n: int = 5) -> list[str]:
    return list(dict.fromkeys(docs))[:n]


def build_qa(data: Path, home: Path) -> tuple[float, dict[str, Search]]:
    qa = QA(Settings(home=home, collection="squad"), embedder=shared_minilm())
    start = time.perf_counter()
    report = qa.ingest([data / "docs"])
    qa.warm()
    ingest_s = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"qa could not ingest: {report.failed[:3]}")

    def mode(name: str) -> Search:
        return lambda text, n: [Path(hit.source).stem for hit in qa.search(text, k=n, mode=name)]

    return ingest_s, {f"qa {name}": mode(name) for name in ("hybrid", "dense", "lexical")}


def build_llamaindex(data: Path, folder: Path | None) -> tuple[float, Search]:
    """LlamaIndex's `VectorStoreIndex`, in memory or (given a folder) on Chroma."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    tokens = encoding("o200k_base")
    LlamaSettings.tokenizer = tokens.encode  # qa's offline encoding: nothing is downloaded
    LlamaSettings.embed_model = _embedding()
    start = time.perf_counter()
    storage = StorageContext.from_defaults(vector_store=_chroma(folder)) if folder else None
    splitter = SentenceSplitter(chunk_size=200, chunk_overlap=40, tokenizer=tokens.encode)
    index = VectorStoreIndex.from_documents(
        _documents(data / "docs"), storage_context=storage, transformations=[splitter]
    )
    ingest_s = time.perf_counter() - start
    retrievers: dict[int, Any] = {}

    def search(text: str, n: int) -> list[str]:
        retriever = retrievers.setdefault(n, index.as_retriever(similarity_top_k=n))
        return [Path(node.node.metadata["source"]).stem for node in retriever.retrieve(text)]

    return ingest_s, search


def _chroma(folder: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection("squad"))


def embed_only(text: str, n: int) -> list[str]:
    shared_minilm().embed([text])
    return []


def build(data: Path, scratch: Path, turn: int) -> tuple[dict[str, float], dict[str, Search]]:
    """Every engine's index, built in an order that starts from a different engine each turn."""
    steps: list[Callable[[], dict[str, tuple[float, Search]]]] = [
        lambda: {name: (ingest, s) for ingest, found in [build_qa(data, scratch / "qa")] for name, s in found.items()},
        lambda: {"llamaindex memory": build_llamaindex(data, None)},
        lambda: {"llamaindex chroma": build_llamaindex(data, scratch / "li-chroma")},
    ]
    built: dict[str, tuple[float, Search]] = {}
    for step in steps[turn % 3 :] + steps[: turn % 3]:
        built.update(step())
    return {name: built[name][0] for name in ENGINES}, {name: built[name][1] for name in ENGINES}


def one_run(data: Path, items: list[dict[str, Any]], k: int, turn: int) -> dict[str, dict[str, Any]]:
    """Build every engine, then time each question on every engine back to back (the order rotated per
    question), so a burst of load on the machine hits all of them alike; then the untimed recall passes."""
    texts = [item["question"] for item in items]
    with tempfile.TemporaryDirectory(prefix="sbs-") as scratch:
        ingest, engines = build(data, Path(scratch), turn)
        engines["embed only"] = embed_only
        names = list(engines)
        for name in names:
            engines[name](texts[0], k)  # warm
        seconds: dict[str, list[float]] = {name: [] for name in names}
        shallow: dict[str, list[list[str]]] = {name: [] for name in names}
        for i, text in enumerate(texts):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                start = time.perf_counter()
                found = engines[name](text, k)
                seconds[name].append(time.perf_counter() - start)
                shallow[name].append(found)
        deep = {name: [engines[name](text, DEPTH) for text in texts] for name in ENGINES}
    golds = [set(item["doc_ids"]) for item in items]
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        results[name] = {"ingest_s": ingest.get(name, float("nan")), **latency(seconds[name])}
        if name in deep:
            top = [set(first_documents(d)) for d in deep[name]]
            results[name]["recall@5"] = mean(bool(t & g) for t, g in zip(top, golds, strict=True))
            results[name]["recall@k_hits"] = mean(bool(set(s) & g) for s, g in zip(shallow[name], golds, strict=True))
    paired = [q / li for q, li in zip(seconds["qa hybrid"], seconds["llamaindex chroma"], strict=True)]
    results["qa hybrid"]["paired_ratio_p50"] = statistics.median(paired)
    log(f"run {turn + 1}: " + ", ".join(f"{name} {r['p50_ms']:.1f} ms" for name, r in results.items()))
    return results


def mean(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values)


def medians(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, first in runs[0].items():
        out[name] = {key: statistics.median([run[name][key] for run in runs]) for key in first if key != "n"}
    return out


def ratios(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    qa, li = figures["qa hybrid"], figures["llamaindex chroma"]
    return {
        "query_p50_qa_hybrid_over_llamaindex_chroma": qa["p50_ms"] / li["p50_ms"],
        "query_p95_qa_hybrid_over_llamaindex_chroma": qa["p95_ms"] / li["p95_ms"],
        "ingest_llamaindex_chroma_over_qa": li["ingest_s"] / qa["ingest_s"],
        "query_qa_hybrid_over_llamaindex_chroma_paired_median": qa["paired_ratio_p50"],
    }


def report(figures: dict[str, dict[str, float]], found: dict[str, float], repeats: int, n: int, k: int) -> str:
    floor = figures["embed only"]["p50_ms"]
    rows = []
    for name in ENGINES:
        f = figures[name]
        over = f"{f['p50_ms'] - floor:.1f}"
        rows.append([name, f"{f['ingest_s']:.1f}", f"{f['p50_ms']:.1f}", f"{f['p95_ms']:.1f}", over, f["recall@5"]])
        rows[-1].append(f["recall@k_hits"])
    rows.append(["embed only", "-", f"{floor:.1f}", f"{figures['embed only']['p95_ms']:.1f}", "0.0", "-", "-"])
    head = ["engine", "ingest s", "p50 ms", "p95 ms", "p50 - embed ms", "R@5 docs", f"R@{k} hits"]
    return "\n".join(
        [
            f"{n} answerable questions, k={k}, medians of {repeats} run(s); latency warm, query embedding included",
            "",
            table(head, rows),
            "",
            f"query p50, qa hybrid / llamaindex chroma: {found['query_p50_qa_hybrid_over_llamaindex_chroma']:.2f}"
            f" (p95 {found['query_p95_qa_hybrid_over_llamaindex_chroma']:.2f}; median of the per-question ratios"
            f" {found['query_qa_hybrid_over_llamaindex_chroma_paired_median']:.2f})",
            f"ingest, llamaindex chroma / qa: {found['ingest_llamaindex_chroma_over_qa']:.2f}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=SQUAD, help="benchmark folder (squad2_500)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every engine, interleaved (medians)")
    parser.add_argument("-k", type=int, default=5, help="hits per timed query")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    items = questions(args.data)
    runs = [one_run(args.data, items, args.k, turn) for turn in range(args.repeats)]
    figures = medians(runs)
    found = ratios(figures)
    print(stamp())
    print(report(figures, found, args.repeats, len(items), args.k))
    payload = {"benchmark": "side_by_side", "data": str(args.data), "k": args.k, "repeats": args.repeats}
    write_json(args.json, {**payload, "medians": figures, "ratios": found, "runs": runs})


if __name__ == "__main__":
    main()
