"""Where the time of one ingest goes: loading, chunking, store lookups, embedding, Chroma writes, revision bumps.

One `QA.ingest` of a folder (default: squad2_500's 411 documents) into an empty temporary home, with every stage
timed where it happens: the embedder and the store are wrapped (each call timed, then passed on unchanged), and
the pipeline's `load` and `make_chunks` are timed the same way. Stages that run at the same time (embedding in
one thread while the next files are read and chunked in another) add up to more than the wall time: the table
says how much of the work overlapped. `--cprofile N` also prints the N costliest functions of the calling
thread (cProfile sees one thread only).

    .venv/bin/python benchmarks/ingest_profile.py [DOCS] [--repeats N] [--cprofile N] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from common import SQUAD, log, stamp, table, write_json

import qa.ingest.pipeline as pipeline
from qa import QA, Settings
from qa.backends import make_store, shared_minilm
from qa.index.embedders import Embedder
from qa.index.store import ChromaStore, StoredChunk

STAGES = {
    "load": "read files (pipeline.load)",
    "chunk": "chunk (make_chunks)",
    "lookup": "store lookups (chunk_ids, pending)",
    "embed": "embed (Embedder.embed)",
    "write": "Chroma writes (add, delete)",
    "revision": "revision bumps (touch)",
}


class Clock:
    """Seconds and calls per stage, from any thread."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.calls = dict.fromkeys(STAGES, 0)
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return call


class TimedEmbedder:
    def __init__(self, inner: Embedder, clock: Clock) -> None:
        self.name = inner.name
        self._inner, self._clock = inner, clock

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._clock.stage("embed"):
            return self._inner.embed(texts)


class TimedStore:
    def __init__(self, inner: ChromaStore, clock: Clock) -> None:
        self._inner, self._clock = inner, clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        with self._clock.stage("write"):
            self._inner.add(chunks, vectors)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        with self._clock.stage("write"):
            self._inner.delete(chunk_ids)

    def chunk_ids(self, doc_id: str) -> set[str]:
        with self._clock.stage("lookup"):
            return self._inner.chunk_ids(doc_id)

    def pending(self) -> bool:
        with self._clock.stage("lookup"):
            return self._inner.pending()

    def touch(self, pending: bool = False) -> None:
        with self._clock.stage("revision"):
            self._inner.touch(pending)


def one_ingest(docs: Path, profile: cProfile.Profile | None) -> dict[str, Any]:
    clock = Clock()
    originals = pipeline.load, pipeline.make_chunks
    pipeline.load, pipeline.make_chunks = clock.timed("load", pipeline.load), clock.timed("chunk", pipeline.make_chunks)
    try:
        with tempfile.TemporaryDirectory(prefix="qa-profile-") as home:
            settings = Settings(home=Path(home), collection="profile")
            embedder = shared_minilm()
            store = make_store(settings, embedder)
            index = QA(settings, embedder=TimedEmbedder(embedder, clock), store=TimedStore(store, clock))  # type: ignore[arg-type]
            wall, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            report = index.ingest([docs])
            if profile:
                profile.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        pipeline.load, pipeline.make_chunks = originals
    if not report.ok:
        raise SystemExit(f"the ingest failed: {report.failed[:3]}")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "documents": len(report.added),
        "chunks": report.chunks_added,
        "stages": {name: {"s": clock.seconds[name], "calls": clock.calls[name]} for name in STAGES},
    }


def show(run: dict[str, Any]) -> str:
    wall = run["wall_s"]
    rows = [
        [label, run["stages"][name]["calls"], run["stages"][name]["s"], f"{100 * run['stages'][name]['s'] / wall:.1f}%"]
        for name, label in STAGES.items()
    ]
    busy = sum(stage["s"] for stage in run["stages"].values())
    rows.append(["sum of the stages", "", busy, f"{100 * busy / wall:.1f}%"])
    rest = max(wall - busy, 0.0)
    rows.append(["rest (planning, bookkeeping)", "", rest, f"{100 * rest / wall:.1f}%"])
    rows.append(["whole ingest (wall)", "", wall, "100.0%"])
    lines = [
        table(["stage", "calls", "s", "of wall"], rows),
        f"{run['documents']} documents, {run['chunks']} chunks; wall {wall:.2f} s, process CPU {run['cpu_s']:.2f} s; "
        f"load average {run['load_before']:.2f} before, {run['load_after']:.2f} after",
    ]
    if busy > wall:
        lines.append(f"stages overlapped: {busy - wall:.2f} s of their work ran alongside other stages")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("docs", nargs="?", type=Path, default=SQUAD / "docs")
    parser.add_argument("--repeats", type=int, default=1, help="ingests, each into a new empty home")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N costliest functions")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    shared_minilm().embed(["load the model before timing"])
    runs = []
    profile = cProfile.Profile() if args.cprofile else None
    for number in range(args.repeats):
        log(f"ingest {number + 1}/{args.repeats} of {args.docs}")
        before = os.getloadavg()[0]
        run = one_ingest(args.docs, profile)
        runs.append({**run, "load_before": before, "load_after": os.getloadavg()[0]})
    print(stamp())
    for number, run in enumerate(runs, 1):
        print(f"\n### ingest {number} of {len(runs)}\n\n{show(run)}")
    if len(runs) > 1:
        print(f"\nmedian wall {float(np.median([r['wall_s'] for r in runs])):.2f} s over {len(runs)} ingests")
    if profile:
        print(f"\n### cProfile, calling thread only, top {args.cprofile} by cumulative time\n")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.cprofile)
    write_json(args.json, {"docs": str(args.docs), "runs": runs})


if __name__ == "__main__":
    main()
