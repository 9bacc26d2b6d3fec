"""Recall of dense search against exact search over the same stored vectors, per HNSW configuration.

    .venv/bin/python benchmarks/dense_recall.py [DATA] [--sizes 200:40,24:6] [--home DIR] [--json FILE]

For each chunk size the corpus (`DATA/docs`, default squad2_500) is ingested by `QA` as users ingest it, and
every question of `questions.jsonl` is asked of the stored vectors twice: exactly (numpy, cosine over every
stored vector) and through Chroma's approximate HNSW index. recall@k is the share of the k chunks the index
returns that belong in the exact top k (a chunk tied with the exact k-th, within 1e-5, counts), averaged over the
questions; k is 5, 20 and the whole collection ("all", where the index must return every chunk: "never" counts
chunks no question got back). Configurations, each a collection holding the same vectors added in the same order:

- `qa`: the collection `QA` built (`qa.index.store.HNSW`), searched through `ChromaStore.query`, as dense search does;
- `chroma defaults`: what collections got before qa chose its own (ef_construction 100, max_neighbors 16,
  ef_search 100);
- `upgraded`: such an older collection once qa opened it (only ef_search raised, to qa's).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import SQUAD, log, progress, qa_home, questions, stamp, table, write_json

from qa import QA, Settings
from qa.index.store import HNSW, ChromaStore

TIE = 1e-5
BATCH = 64  # chunks per add, as an ingest adds them


def exact_kth(similarities: np.ndarray, k: int) -> np.ndarray:
    """Per question (row), the k-th highest similarity."""
    return -np.partition(-similarities, k - 1, axis=1)[:, k - 1]


def recall(returned: list[list[str]], similarities: np.ndarray, position: dict[str, int], k: int) -> float:
    kth = exact_kth(similarities, k)
    right = [
        sum(similarities[row, position[cid]] >= kth[row] - TIE for cid in ids) / k for row, ids in enumerate(returned)
    ]
    return float(np.mean(right))


def measure(search: Any, queries: np.ndarray, similarities: np.ndarray, ids: list[str]) -> dict[str, Any]:
    """recall@5, @20 and @all of `search(vector, k) -> ids`, the chunks never returned at k=all, ms per query."""
    position = {cid: row for row, cid in enumerate(ids)}
    figures: dict[str, Any] = {}
    for label, k in (("5", 5), ("20", 20), ("all", len(ids))):
        started = time.perf_counter()
        returned = [search(vector, k) for vector in queries]
        if label == "5":
            figures["ms_per_query"] = (time.perf_counter() - started) * 1000 / len(queries)
        figures[f"recall@{label}"] = recall(returned, similarities, position, k)
        if label == "all":
            figures["never_returned"] = len(ids) - len(set().union(*map(set, returned)))
    return figures


def scratch_search(client: Any, name: str, hnsw: dict[str, Any], ids: list[str], vectors: np.ndarray) -> Any:
    """A new collection of the same vectors (same order, same batches) with this HNSW configuration."""
    collection = client.create_collection(name, embedding_function=None, configuration={"hnsw": hnsw})
    for first in range(0, len(ids), BATCH):
        collection.add(ids=ids[first : first + BATCH], embeddings=vectors[first : first + BATCH])

    def search(vector: np.ndarray, k: int) -> list[str]:
        return list(collection.query(query_embeddings=[vector], n_results=k, include=[])["ids"][0])

    return search


def run_size(data: Path, home: Path, tokens: int, overlap: int, texts: list[str]) -> list[dict[str, Any]]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = Settings(home=home, collection=f"recall-{tokens}-{overlap}", chunk_tokens=tokens, chunk_overlap=overlap)
    qa = QA(settings)
    log(f"{tokens}/{overlap} tokens: ingesting {data / 'docs'}")
    qa.ingest([data / "docs"], progress=progress(f"{tokens}/{overlap}"))
    assert isinstance(qa.store, ChromaStore)
    ids, vectors = qa.store.vectors()
    queries = qa.embedder.embed(texts)
    similarities = queries @ vectors.T
    log(f"{tokens}/{overlap} tokens: {len(ids)} chunks, {len(texts)} questions")

    def through_qa(vector: np.ndarray, k: int) -> list[str]:
        return [cid for cid, _ in qa.store.query(vector, k)]

    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    configs: list[tuple[str, Any]] = [("qa", through_qa)]
    older = {"space": "cosine"}
    for label, hnsw in (("chroma defaults", older), ("upgraded", {**older, "ef_search": HNSW["ef_search"]})):
        name = f"scratch-{tokens}-{overlap}-{len(configs)}"
        configs.append((label, scratch_search(client, name, hnsw, ids, vectors)))
    rows = []
    for label, search in configs:
        log(f"{tokens}/{overlap} tokens: measuring {label}")
        rows.append(
            {"chunks": len(ids), "size": f"{tokens}/{overlap}", "config": label}
            | measure(search, queries, similarities, ids)
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=SQUAD)
    parser.add_argument("--sizes", default="200:40,24:6", help="chunk tokens:overlap pairs, comma-separated")
    parser.add_argument("--home", type=Path, help="reuse this QA home (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    texts = [item["question"] for item in questions(args.data, answerable_only=False)]
    rows: list[dict[str, Any]] = []
    with qa_home(args.home) as home:
        for pair in args.sizes.split(","):
            tokens, overlap = (int(n) for n in pair.split(":"))
            rows += run_size(args.data, home, tokens, overlap, texts)
    print(stamp())
    print(f"qa.index.store.HNSW = {HNSW}; {len(texts)} questions")
    head = ["chunk tok/overlap", "chunks", "HNSW", "recall@5", "recall@20", "recall@all", "never returned", "ms/query"]
    keys = ["size", "chunks", "config", "recall@5", "recall@20", "recall@all", "never_returned", "ms_per_query"]
    print(table(head, [[f"{r[key]:.4f}" if isinstance(r[key], float) else r[key] for key in keys] for r in rows]))
    write_json(args.json, {"hnsw": HNSW, "questions": len(texts), "results": rows})


if __name__ == "__main__":
    main()
