"""Helpers shared by the benchmark scripts: data paths, questions, timing figures, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2_500"  # ../shared/benchmarks/squad2_500


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def progress(label: str) -> Callable[[int, int], None]:
    """An ingest progress callback that prints to stderr every ~10%."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth != shown[0]:
            shown[0] = tenth
            log(f"  {label}: {done}/{total} chunks embedded")

    return report


def questions(data: Path, answerable_only: bool = True) -> list[dict[str, Any]]:
    """The set's questions (`questions.jsonl`), by default only the answerable ones."""
    with (data / "questions.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row for row in rows if row["answerable"] or not answerable_only]


@contextmanager
def qa_home(given: Path | None) -> Iterator[Path]:
    """The `--home` folder if given, else a temporary one removed afterwards."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as folder:
        yield Path(folder)


def latency(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of `seconds`, in milliseconds."""
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "n": len(ms),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats shown with 3 decimals."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def commit() -> str:
    """The repository's commit, with "+changes" when the working tree differs from it."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "qa"], capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") or "unknown"


def machine() -> dict[str, Any]:
    return {
        "date": date.today().isoformat(),
        "commit": commit(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def stamp() -> str:
    """One line saying when, where and on which code the figures were measured."""
    info = machine()
    return f"measured {info['date']} on {info['cores']} cores, Python {info['python']}, commit {info['commit']}"


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {path}")
