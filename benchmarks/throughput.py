"""Ingestion throughput and query latency at ~10,000 chunks, built from copies of squad2_500's documents.

One run measures, on the same chunks and with the same embedder instance: the embedder alone, the pieces
of an ingest timed separately (load + chunk, store lookups, Chroma upserts), the full `QA.ingest`, the
BM25 build, then query latency in a fresh process opened on the finished index.

    .venv/bin/python benchmarks/throughput.py [DATA] [--copies N] [--queries N] [--home DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from common import SQUAD, latency, log, progress, qa_home, questions, stamp, table, write_json

from qa import QA, Settings
from qa.backends import make_store
from qa.index.embedders import Embedder, MiniLMEmbedder
from qa.index.store import StoredChunk
from qa.ingest.loaders import discover, load
from qa.ingest.pipeline import _EMBED_BATCH, _FIRST_BATCH, display_source, doc_id_for, make_chunks
from qa.records import Loaded

COPIES = 20  # 20 x 411 documents give ~10,200 chunks at the default chunk size (200/40 tokens)
MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Took:
    """Wall-clock seconds, and CPU seconds of this process (all its threads): the CPU figure is less
    disturbed by other work on a shared machine."""

    wall: float = 0.0
    cpu: float = 0.0

    def __add__(self, other: Took) -> Took:
        return Took(self.wall + other.wall, self.cpu + other.cpu)


def timed(work: Callable[[], Any]) -> tuple[Any, Took]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, Took(time.perf_counter() - wall, time.process_time() - cpu)


def build_corpus(docs: Path, folder: Path, copies: int) -> int:
    """Copy n of each document is `cNN-<name>.txt` with the line "(copy n)" appended (no two files alike)."""
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(docs.glob("*.txt"))}
    for n in range(1, copies + 1):
        for name, text in texts.items():
            (folder / f"c{n:02d}-{name}").write_text(f"{text}\n(copy {n})\n", encoding="utf-8")
    return copies * len(texts)


def planned_chunks(corpus: Path, settings: Settings) -> list[list[StoredChunk]]:
    """Each document's chunks exactly as the ingest makes them: discover, load, make_chunks."""
    files, _, _ = discover([corpus])
    per_doc = []
    for path in files:
        loaded = load(path, settings.max_file_bytes)
        loaded = Loaded(str(path.resolve()), loaded.kind, loaded.text, loaded.page_starts)
        per_doc.append(make_chunks(loaded, doc_id_for(path), display_source(path), settings))
    return per_doc


def ingest_batches(per_doc: list[list[StoredChunk]]) -> list[list[StoredChunk]]:
    """Chunks grouped as `Ingestor.ingest` groups them: whole documents until a batch holds >= 64 (the first)
    or >= 512 (each later one)."""
    batches: list[list[StoredChunk]] = [[]]
    for chunks in per_doc:
        if len(batches[-1]) >= (_EMBED_BATCH if len(batches) > 1 else _FIRST_BATCH):
            batches.append([])
        batches[-1].extend(chunks)
    return [batch for batch in batches if batch]


def embed_all(embedder: Embedder, batches: list[list[StoredChunk]]) -> list[np.ndarray]:
    """One `embed` call per ingest batch; progress to stderr."""
    vectors = []
    for number, batch in enumerate(batches, start=1):
        vectors.append(embedder.embed([item.chunk.text for item in batch]))
        if number % max(1, len(batches) // 10) == 0:
            log(f"  embedder alone: {number}/{len(batches)} batches")
    return vectors


def store_only(
    settings: Settings, embedder: Embedder, batches: list[list[StoredChunk]], vectors: list[np.ndarray]
) -> dict[str, Took]:
    """The store's share of an ingest, in a scratch home: one lookup per document, then per batch an
    upsert and a revision bump (`touch`), as `Ingestor.ingest` does."""
    store = make_store(replace(settings, home=settings.home.parent / "store-only"), embedder)
    doc_ids = list(dict.fromkeys(item.chunk.doc_id for batch in batches for item in batch))
    _, lookups = timed(lambda: [store.chunk_ids(doc_id) for doc_id in doc_ids])
    upserts = touches = Took()
    for batch, batch_vectors in zip(batches, vectors, strict=True):
        upserts += timed(partial(store.add, batch, batch_vectors))[1]
        touches += timed(store.touch)[1]
    return {"store_lookups": lookups, "chroma_upsert": upserts, "touch": touches}


def query_latency(settings: Settings, texts: list[str]) -> dict[str, Any]:
    """Run in a fresh process: open `QA` on the built home, time the first query, then warm latencies."""
    qa, opening = timed(lambda: QA(settings))
    _, first = timed(lambda: qa.search(texts[0]))
    result: dict[str, Any] = {"open_s": opening.wall, "first_query_s": first.wall}
    for mode in MODES:
        qa.search(texts[-1], mode=mode)  # warm this mode's path
        took = [timed(partial(qa.search, text, mode=mode))[1] for text in texts]
        result[mode] = latency([t.wall for t in took])
        log(f"  queries: {mode} done")
    return result


def measure_ingest(data: Path, settings: Settings, corpus: Path, copies: int) -> dict[str, Any]:
    """Build the corpus, time the ingest's pieces one by one, then the whole ingest and the BM25 build."""
    files = build_corpus(data / "docs", corpus, copies)
    log(f"corpus: {files} files in {corpus}")
    per_doc, chunking = timed(lambda: planned_chunks(corpus, settings))
    batches = ingest_batches(per_doc)
    chunks = sum(len(batch) for batch in batches)
    log(f"{chunks} chunks in {len(batches)} embed calls; timing the embedder alone")
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up the ONNX session"])
    vectors, embedding = timed(lambda: embed_all(embedder, batches))
    log("timing the store alone")
    parts = {"load_chunk": chunking, "embed": embedding, **store_only(settings, embedder, batches, vectors)}
    log("timing the full ingest")
    qa = QA(settings, embedder=embedder)
    report, ingest = timed(lambda: qa.ingest([corpus], progress=progress("ingest")))
    if not report.ok or report.chunks_added != chunks:
        raise SystemExit(f"unexpected ingest: {report.summary()} (planned {chunks} chunks)")
    _, bm25 = timed(qa.warm)
    return {
        "copies": copies,
        "documents": files,
        "chunks": chunks,
        "embed_calls": len(batches),
        "seconds": {name: asdict(took) for name, took in {**parts, "ingest": ingest, "bm25_build": bm25}.items()},
    }


STAGES = {
    "load_chunk": "load + chunk (discover, load, make_chunks)",
    "embed": "embedder alone (MiniLMEmbedder.embed, ingest's batches)",
    "store_lookups": "store lookups (chunk_ids, one per document)",
    "chroma_upsert": "Chroma upsert (store.add, vectors given)",
    "touch": "revision bumps (store.touch, one per batch)",
}


def stage_row(name: str, took: dict[str, float], chunks: int | None, ingest_wall: float) -> list[str]:
    rate = f"{chunks / took['wall']:.1f}" if chunks else ""
    share = f"{took['wall'] / ingest_wall:.0%}" if chunks else ""
    return [name, f"{took['wall']:.1f}", f"{took['cpu']:.1f}", rate, share]


def ingest_table(fig: dict[str, Any]) -> str:
    seconds, chunks = fig["seconds"], fig["chunks"]
    parts = [(STAGES[key], seconds[key]) for key in STAGES]
    total = {kind: sum(took[kind] for _, took in parts) for kind in ("wall", "cpu")}
    timings = [*parts, ("sum of the pieces", total), ("full QA.ingest(folder)", seconds["ingest"])]
    rows = [stage_row(name, took, chunks, seconds["ingest"]["wall"]) for name, took in timings]
    rows.append(stage_row("BM25 build on first search (QA.warm; not in ingest)", seconds["bm25_build"], None, 0))
    return table(["stage", "wall s", "CPU s", "chunks/s (wall)", "of ingest (wall)"], rows)


def query_table(queries: dict[str, Any]) -> str:
    rows = [[mode, *(f"{queries[mode][key]:.1f}" for key in ("p50_ms", "p95_ms", "mean_ms"))] for mode in MODES]
    return table(["mode", "p50 ms", "p95 ms", "mean ms"], rows)


def report(fig: dict[str, Any]) -> str:
    queries, ingest, embed = fig["queries"], fig["seconds"]["ingest"], fig["seconds"]["embed"]
    ratio = ingest["wall"] / embed["wall"]
    per_copy = fig["documents"] // fig["copies"]
    chunking = f"{Settings.chunk_tokens}/{Settings.chunk_overlap}"
    lines = [
        f"corpus: {fig['copies']} copies x {per_copy} squad2_500 documents = {fig['documents']} files "
        f"(copy n: name prefixed cNN-, text + a line '(copy n)'); {fig['chunks']} chunks at {chunking} "
        f"tokens, embedded in {fig['embed_calls']} calls",
        "",
        "Ingestion (pieces timed separately with the ingest's own functions, then the whole ingest):",
        "",
        ingest_table(fig),
        "",
        f"ingest: {fig['chunks'] / ingest['wall']:.1f} chunks/s, {fig['documents'] / ingest['wall']:.1f} "
        f"documents/s; ingest / embedder = {ratio:.2f} wall (target <= 1.2: "
        f"{'met' if ratio <= 1.2 else 'missed'}), {ingest['cpu'] / embed['cpu']:.2f} CPU",
        "",
        f"Query latency in a fresh process on the {fig['chunks']}-chunk index ({queries['hybrid']['n']} "
        "queries per mode after one untimed query, k=5 (default), query embedding included):",
        "",
        query_table(queries),
        "",
        f"opening QA on the existing home: {queries['open_s']:.2f} s; first (cold) hybrid query after "
        f"opening: {queries['first_query_s'] * 1000:.0f} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=SQUAD, help="benchmark folder (squad2_500)")
    parser.add_argument("--copies", type=int, default=COPIES, help=f"copies of the corpus (default {COPIES})")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per mode (default 200)")
    parser.add_argument("--home", type=Path, help="new or empty folder to build the index in, kept afterwards")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.home is not None and args.home.exists() and any(args.home.iterdir()):
        raise SystemExit(f"--home {args.home} is not empty: the ingest must start from nothing")
    pool = questions(args.data, answerable_only=False)
    texts = [pool[i % len(pool)]["question"] for i in range(args.queries)]
    with qa_home(args.home) as home, tempfile.TemporaryDirectory(prefix="qa-corpus-") as corpus:
        settings = Settings(home=home / "index", collection="bench-10k")
        figures = measure_ingest(args.data, settings, Path(corpus), args.copies)
        log("timing queries in a fresh process")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            figures["queries"] = child.submit(query_latency, settings, texts).result()
    print(stamp())
    print(report(figures))
    write_json(args.json, {"benchmark": "throughput", "data": str(args.data), **figures})


if __name__ == "__main__":
    main()
