"""Scale: the lexical index (BM25) and the dense store (Chroma) at 10k, 100k and 1M chunks.

The chunk texts are real sentences recombined: every chunk is 6-9 sentences drawn at random (seeded) from the
squad2_500 paragraphs, three chunks to a document, ids made like qa's (document, then a hash of the content).
The dense store gets synthetic vectors (random, 384-d, unit length), so its figures are speed only; the
questions are squad2_500's. Per size it prints, for the lexical index: build time, memory (RSS growth),
query p50/p95, saving the cache, opening it in a fresh index (load), and the cost of one small write (one
document of 3 chunks added; one removed), against the full rebuild the old design paid for every write; for
the store (sizes up to --dense-max): adding the vectors, query p50/p95, listing every id, the whole catch-up of
a second process's lexical index after a one-document write (one added, one removed) as it happens, through the
store's change log (kept in Chroma, as for processes sharing a Chroma server), and once more by listing every
id (how a process without the log learns what changed), and hybrid search through the real Retriever of a
warmed process (MiniLM embeds the question).

    .venv/bin/python benchmarks/scale.py --sizes 10000 100000          # minutes; 1M: --sizes 1000000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import SQUAD, latency, log, questions, stamp, table, write_json

from qa.index.lexical import LexicalIndex
from qa.index.lexical_sync import catch_up

Row = tuple[str, str, str]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def make_rows(n: int, data: Path, seed: int = 0) -> list[Row]:
    """`n` chunks of recombined squad2_500 sentences, three to a document."""
    pool = [s for p in sorted((data / "docs").iterdir()) for s in re.split(r"(?<=[.!?])\s+", p.read_text()) if s]
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(rng.choices(pool, k=rng.randint(6, 9)))
        doc = f"s{seed}d{i // 3:07d}"
        rows.append((f"{doc}-{hashlib.sha256(text.encode()).hexdigest()[:16]}", doc, text))
    return rows


def median_time(work: Callable[[], Any], repeats: int) -> float:
    return statistics.median(timed(work)[1] for _ in range(repeats))


def lexical_figures(rows: list[Row], asked: list[str], folder: Path) -> dict[str, Any]:
    gc.collect()
    before = rss_mb()
    index, build_s = timed(lambda: LexicalIndex.build(rows, "r0"))
    grown = rss_mb() - before
    query = latency([timed(lambda q=q: index.search(q, 30))[1] for q in asked])
    _, save_s = timed(lambda: index.save(folder))
    opened, open_s = timed(lambda: LexicalIndex.load(folder))
    assert opened is not None and opened.live == index.live
    extra = make_rows(3, SQUAD, seed=1)
    added, add_s = timed(lambda: index.updated(extra, [], "r1"))
    _, remove_s = timed(lambda: index.updated([], [r[0] for r in rows[:3]], "r2"))
    _, delta_save_s = timed(lambda: added.save(folder))
    after = latency([timed(lambda q=q: added.search(q, 30))[1] for q in asked])
    return {
        "build_s": build_s,
        "rss_growth_mb": grown,
        "query": query,
        "query_after_write": after,
        "save_s": save_s,
        "open_s": open_s,
        "write_add_doc_s": add_s,
        "write_remove_doc_s": remove_s,
        "write_save_delta_s": delta_save_s,
        "postings": len(index.base.positions),
        "vocab": len(index.base.vocab),
    }


def dense_figures(rows: list[Row], asked: list[str], folder: Path) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from qa.index.embedders import MiniLMEmbedder
    from qa.index.retrieval import Retriever
    from qa.index.store import ChromaStore, StoredChunk
    from qa.records import Chunk, Span

    def stored(row: Row) -> StoredChunk:
        cid, doc, text = row
        span = Span(doc, f"{doc}.txt", 0, len(text), text)
        return StoredChunk(Chunk(cid, 0, span), f"/{doc}.txt", "v", 1, len(text), "", "", ())

    client = chromadb.PersistentClient(str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    store = ChromaStore(client, "scale", "minilm", shared=True)  # the change log in Chroma, as on a server
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(rows), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    step = 5000
    _, add_s = timed(
        lambda: [
            store.add([stored(r) for r in rows[i : i + step]], vectors[i : i + step]) for i in range(0, len(rows), step)
        ]
    )
    probes = vectors[rng.integers(0, len(rows), 100)]
    dense = latency([timed(lambda v=v: store.query(v, 30))[1] for v in probes])
    list_s = median_time(store.all_ids, 3)
    reader = LexicalIndex.build(store.all_rows(), store.revision())

    def write(extra: list[Row], removed: list[str] = []) -> None:  # noqa: B006 - read only
        """One framed write, as the ingest makes it: the change log records it."""
        store.touch(pending=True)
        if extra:
            store.add([stored(r) for r in extra], rng.standard_normal((len(extra), 384)).astype(np.float32))
        if removed:
            store.delete(removed)
        store.touch()

    def follow(source: Any) -> float:
        nonlocal reader
        reader, seconds = timed(lambda: catch_up(reader, source, store.revision()))
        return seconds

    write(make_rows(3, SQUAD, seed=2))
    by_log_add = follow(store)
    write([], [cid for cid in reader.ids if cid.startswith(rows[0][1])])
    by_log_remove = follow(store)
    write(make_rows(3, SQUAD, seed=3))
    by_listing = follow(IdsOnly(store))
    retriever = Retriever(store, MiniLMEmbedder(), folder / "bm25")
    retriever.warm()  # as a serving process does: loads the model and the lexical index
    hybrid = latency([timed(lambda q=q: retriever.search(q, 5))[1] for q in asked[:100]])
    catch = {"catch_up_s": by_log_add, "catch_up_remove_s": by_log_remove, "catch_up_listing_s": by_listing}
    return {"add_s": add_s, "query": dense, "list_ids_s": list_s, **catch, "hybrid": hybrid}


class IdsOnly:
    """The store as a reader without its change log sees it: every id listed, the new chunks fetched."""

    def __init__(self, store: Any) -> None:
        self.all_ids, self.get = store.all_ids, store.get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dense-max", type=int, default=10_000, help="largest size the Chroma part runs at")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", type=Path, default=SQUAD)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asked = [q["question"] for q in questions(args.data)][: args.queries]
    results: dict[str, Any] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="qa-scale-") as scratch:
            log(f"{size} chunks: making texts")
            rows = make_rows(size, args.data)
            log(f"{size} chunks: lexical index")
            result: dict[str, Any] = {"lexical": lexical_figures(rows, asked, Path(scratch) / "bm25")}
            if size <= args.dense_max:
                log(f"{size} chunks: Chroma with synthetic vectors")
                result["dense"] = dense_figures(rows, asked, Path(scratch))
            results[str(size)] = result
            del rows
    print(stamp())
    print(report(results))
    write_json(args.json, {"sizes": results})


def report(results: dict[str, Any]) -> str:
    heads = ["chunks", "build s", "RSS +MB", "query p50 ms", "p95 ms", "save s", "open s"]
    heads += ["write: +1 doc s", "-1 doc s", "save delta s", "full rebuild / +1 doc"]
    rows = []
    for size, res in results.items():
        lex, query = res["lexical"], res["lexical"]["query"]
        ratio = f"{lex['build_s'] / lex['write_add_doc_s']:.0f}x"
        times = [
            lex[key] for key in ("save_s", "open_s", "write_add_doc_s", "write_remove_doc_s", "write_save_delta_s")
        ]
        rows.append(
            [size, lex["build_s"], round(lex["rss_growth_mb"]), query["p50_ms"], query["p95_ms"], *times, ratio]
        )
    dense = []
    for size, res in results.items():
        if "dense" in res:
            d = res["dense"]
            figures = [
                d["query"]["p50_ms"],
                d["query"]["p95_ms"],
                d["list_ids_s"],
                d["catch_up_s"],
                d["catch_up_remove_s"],
                d["catch_up_listing_s"],
                d["hybrid"]["p50_ms"],
            ]
            dense.append([size, d["add_s"], *figures])
    out = "Lexical index (BM25)\n" + table(heads, rows)
    if dense:
        heads = ["chunks", "Chroma add s", "dense p50 ms", "p95 ms", "list ids s", "catch-up +1 doc s", "-1 doc s"]
        heads += ["+1 doc by listing s", "hybrid p50 ms"]
        out += "\n\nChroma (synthetic 384-d vectors) and hybrid through Retriever\n" + table(heads, dense)
    return out


if __name__ == "__main__":
    main()
