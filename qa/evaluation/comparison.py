"""Comparing two run folders: per-metric values and deltas, the questions whose outcome changed, and the
comparison files (comparison.md, comparison.json, comparison.png). Works on the plain files a run writes, so
runs of any earlier version can be compared without rerunning them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import ConfigError
from qa.evaluation.plots import plot_metrics
from qa.evaluation.scores import DEFINITIONS, Value
from qa.evaluation.tables import format_delta, format_value, text_table


def load_run(folder: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run folder's summary and per-question results."""
    folder = Path(folder)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{folder} is not a finished run folder (need summary.json and results.jsonl): {exc}"
        ) from exc
    return summary, [json.loads(line) for line in lines if line.strip()]


def state(result: Mapping[str, Any]) -> str:
    """One question's outcome: failed, or refused/answered and correct/wrong."""
    if result.get("error"):
        return "failed"
    return f"{'refused' if result['refused'] else 'answered'}, {'correct' if result['scores']['correct'] else 'wrong'}"


@dataclass(frozen=True)
class Flip:
    id: str
    question: str
    a: str
    b: str


@dataclass(frozen=True)
class Comparison:
    """Run B against run A: per-metric values and deltas, and the questions whose outcome changed."""

    a: str
    b: str
    rows: tuple[tuple[str, Value, Value], ...]
    flips: tuple[Flip, ...]
    notes: tuple[str, ...]

    def table(self, markdown: bool = False) -> str:
        header = ["metric", "A", "B", "B - A"]
        rows = [[n, format_value(n, a), format_value(n, b), format_delta(n, a, b)] for n, a, b in self.rows]
        flips = [[f.id, f.a, f.b, f.question[:70]] for f in self.flips]
        parts = [f"A: {self.a}", f"B: {self.b}", *self.notes, "", text_table(header, rows, markdown), ""]
        parts.append(f"{len(self.flips)} questions changed outcome" + (":" if flips else "."))
        if flips:
            parts += ["", text_table(["id", "A", "B", "question"], flips, markdown)]
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "metrics": [{"metric": n, "a": a, "b": b} for n, a, b in self.rows],
            "flips": [vars(f) for f in self.flips],
            "notes": list(self.notes),
        }


def _notes(a: Mapping[str, Any], b: Mapping[str, Any], only_a: int, only_b: int) -> list[str]:
    notes = []
    for key in ("questions_sha256", "docs", "k", "limit"):
        if a["config"].get(key) != b["config"].get(key):
            notes.append(f"note: the runs differ in {key}: {a['config'].get(key)} vs {b['config'].get(key)}")
    if only_a or only_b:
        notes.append(f"note: {only_a} questions only in A and {only_b} only in B are left out of the flips")
    return notes


def compare(run_a: str | Path, run_b: str | Path) -> Comparison:
    """Compare two run folders written by `evaluate(..., out=...)`."""
    (sa, ra), (sb, rb) = load_run(run_a), load_run(run_b)
    names = [n for n in DEFINITIONS if n in sa["metrics"] or n in sb["metrics"]]
    rows = tuple((n, sa["metrics"].get(n), sb["metrics"].get(n)) for n in names)
    by_id = {r["id"]: r for r in rb}
    flips = tuple(
        Flip(r["id"], r["question"], state(r), state(by_id[r["id"]]))
        for r in ra
        if r["id"] in by_id and state(r) != state(by_id[r["id"]])
    )
    ids_a = {r["id"] for r in ra}
    notes = _notes(sa, sb, len(ids_a - by_id.keys()), len(by_id.keys() - ids_a))
    return Comparison(str(run_a), str(run_b), rows, flips, tuple(notes))


def write_comparison(comparison: Comparison, out: Path) -> None:
    """comparison.md, comparison.json and comparison.png (the rate metrics of both runs side by side)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(f"# Comparison\n\n{comparison.table(markdown=True)}\n", encoding="utf-8")
    data = json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False)
    (out / "comparison.json").write_text(data + "\n", encoding="utf-8")
    runs = {"A": {n: a for n, a, _ in comparison.rows}, "B": {n: b for n, _, b in comparison.rows}}
    plot_metrics(runs, out / "comparison.png", f"A: {comparison.a}  |  B: {comparison.b}")
