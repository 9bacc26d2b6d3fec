"""What an evaluation run leaves behind: summary.json, report.md, PNG plots; and the comparison of two runs.

Everything here works on the plain dicts a run writes (`summary.json`, `results.jsonl`), so a run folder
from any earlier version can be reported on or compared without rerunning it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import ConfigError
from qa.evaluation.metrics import COUNTS, DEFINITIONS, RATES, Value


def format_value(name: str, value: Value) -> str:
    """A metric as people read it: rates in percent, latencies in ms, token counts, failure count."""
    if value is None:
        return "n/a"
    if name in COUNTS:
        return str(int(value))
    if name == "mrr":
        return f"{value:.3f}"
    if name.endswith("_ms"):
        return f"{value:.0f} ms"
    if name.endswith("_tokens"):
        return f"{value:.1f}"
    return f"{100 * value:.1f}%"


def format_delta(name: str, a: Value, b: Value) -> str:
    if a is None or b is None:
        return "n/a"
    delta = b - a
    if name == "mrr":
        return f"{delta:+.3f}"
    if name in RATES:
        return f"{100 * delta:+.1f} pts"
    if name.endswith("_ms"):
        return f"{delta:+.0f} ms"
    return f"{delta:+.1f}" if name.endswith("_tokens") else f"{int(delta):+d}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """Rows aligned in columns; with `markdown`, a pipe table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])  # fmt: skip


def format_table(metrics: Mapping[str, Value], markdown: bool = False) -> str:
    """The run's metrics, one per line, in the order of `DEFINITIONS`; markdown adds each definition."""
    names = [n for n in DEFINITIONS if n in metrics]
    if markdown:
        rows = [[f"`{n}`", format_value(n, metrics[n]), DEFINITIONS[n]] for n in names]
        return text_table(["metric", "value", "definition"], rows, markdown=True)
    return text_table(["metric", "value"], [[n, format_value(n, metrics[n])] for n in names])


# --- plots (matplotlib's Agg canvas directly: no pyplot, no global backend switch) ------------------------


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_metrics(runs: Mapping[str, Mapping[str, Value]], path: Path, title: str) -> None:
    """Horizontal bars of every rate metric (0-100%), one bar per run and metric; n/a metrics are left out."""
    names = [n for n in RATES if any(m.get(n) is not None for m in runs.values())]
    figure = _figure(8, 0.45 * len(names) * max(1, len(runs)) + 1.2)
    axes = figure.subplots()
    height = 0.8 / max(1, len(runs))
    for i, (label, values) in enumerate(runs.items()):
        ys = [row + i * height for row in range(len(names))]
        xs = [100 * float(values.get(n) or 0.0) for n in names]
        bars = axes.barh(ys, xs, height=height, label=label)
        axes.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    axes.set_yticks([row + height * (len(runs) - 1) / 2 for row in range(len(names))], names)
    axes.invert_yaxis()
    axes.set_xlim(0, 108)
    axes.set_xlabel("% (MRR x 100)")
    axes.set_title(title, fontsize=10)
    if len(runs) > 1:
        axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path, dpi=100)


def plot_latency(latencies_ms: Sequence[float], p50: Value, p95: Value, path: Path, title: str) -> None:
    """A histogram of per-question latency with the p50 and p95 marked."""
    figure = _figure(7, 3.5)
    axes = figure.subplots()
    axes.hist(list(latencies_ms) or [0.0], bins=30, color="#4c72b0")
    for value, name, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if value is not None:
            axes.axvline(float(value), color="black", linestyle=style, label=f"{name} {float(value):.0f} ms")
    axes.set_xlabel("latency per question (ms)")
    axes.set_ylabel("questions")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    figure.savefig(path, dpi=100)


def counts(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many questions of each kind a run had, and what became of them (from results.jsonl rows)."""
    again = [r["without_gold"] for r in results if r.get("without_gold") and "skipped" not in r["without_gold"]]
    return {
        "questions": len(results),
        "answerable": sum(r["answerable"] for r in results),
        "unanswerable": sum(not r["answerable"] for r in results),
        "refused": sum(r["refused"] for r in results),
        "failed": sum(r["error"] is not None for r in results),
        "citations": sum(len(r["citations"]) for r in results),
        "invalid_citations": sum(not c["valid"] for r in results for c in r["citations"]),
        "quotes_mid_sentence": sum(bool(c.get("ends_mid_sentence")) for r in results for c in r["citations"]),
        "without_gold_asked": len(again),
        "without_gold_refused": sum(w["refused"] for w in again),
        "without_gold_failed": sum(w["error"] is not None for w in again),
        "without_gold_leaks": sum(w["leaked"] for w in again),
        "without_gold_skipped": sum(bool(r.get("without_gold")) and "skipped" in r["without_gold"] for r in results),
    }


# --- the run folder ----------------------------------------------------------------------------------------


def _title(config: Mapping[str, Any]) -> str:
    return f"{config['questions']} on {config['docs']} ({config.get('backend_used') or config['backend']})"


def loud_lines(summary: Mapping[str, Any], listed: str = "below") -> list[str]:
    """What must not go unnoticed: quotes that are not verbatim, quotes that end mid-sentence, and passages
    of left-out documents in a without-gold answer (each a bug in qa). `listed` says where the cases are."""
    metrics, counts = summary["metrics"], summary["counts"]
    lines = []
    validity = metrics.get("quote_validity")
    if validity is not None and validity < 1.0:
        lines.append(
            f"QUOTE VALIDITY IS {100 * validity:.1f}%, NOT 100%: {counts['invalid_citations']} of "
            f"{counts['citations']} citations do not equal the document text at their offsets. This is a bug in qa; "
            f"the invalid citations are listed {listed}."
        )
    if metrics.get("quotes_mid_sentence"):
        lines.append(
            f"{metrics['quotes_mid_sentence']} OF {counts['citations']} QUOTES END IN THE MIDDLE OF A SENTENCE "
            f"({100 * (metrics.get('quotes_mid_sentence_share') or 0):.1f}%): the reader sees a cut-off sentence. "
            f"They are listed {listed}."
        )
    if counts.get("without_gold_leaks"):
        lines.append(
            f"{counts['without_gold_leaks']} QUESTIONS ASKED WITHOUT THEIR GOLD DOCUMENTS GOT PASSAGES OR QUOTES FROM "
            "THEM ANYWAY: the document filter leaks, so `without_gold_refused` means nothing. This is a bug in qa."
        )
    return lines


def _loud(summary: Mapping[str, Any]) -> list[str]:
    return [line for text in loud_lines(summary) for line in (f"> **{text}**", "")]


def _setup(summary: Mapping[str, Any]) -> list[str]:
    c, n, ingest = summary["config"], summary["counts"], summary["ingest"]
    sample = f" of {c['questions_in_set']}, evenly spaced (--limit {c['limit']})" if c.get("limit") else ""
    return [
        f"- questions: `{c['questions']}`: {n['questions']}{sample} ({n['answerable']} answerable, "
        f"{n['unanswerable']} unanswerable); documents: `{c['docs']}`",
        f"- backend: {c.get('backend_used') or c['backend']} (asked: {c['backend']}), model: {c.get('model') or '-'}, "
        f"k = {c['k']}",
        f"- index: embedder {c['embedder']}, chunks of {c['chunk_tokens']} tokens with {c['chunk_overlap']} overlap "
        f"({c['tokenizer']}); documents: {ingest['added']} added, {ingest['updated']} updated, "
        f"{ingest['unchanged']} unchanged, {ingest['removed']} removed; {ingest['chunks_added']} chunks added"
        f" ({c.get('ingest_s', '?')} s)",
        f"- qa {c['qa_version']} (sources {c.get('qa_source_sha256', '-')}), Python {c['python']}, {c['cores']} cores",
        f"- {c['date']}, {c['duration_s']} s, load avg {c.get('load_average_start')} to {c.get('load_average_end')}",
    ]


def _citation_list(title: str, found: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    if not found:
        return []
    lines = ["", f"## {title} ({len(found)})", ""]
    return lines + [f"- `{qid}`: {c['doc']} chars {c['start']}-{c['end']}: {c['quote']!r}" for qid, c in found]


def _problems(summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> list[str]:
    failed = [r for r in results if r.get("error")]
    lines = ["", f"## Failures ({len(failed)})", ""]
    lines += [f"- `{r['id']}`: {r['error']}" for r in failed] or ["None."]
    lines += _citation_list("Invalid citations", [(r["id"], c) for r in results for c in r["citations"]
                                                  if not c["valid"]])  # fmt: skip
    lines += _citation_list("Quotes ending mid-sentence", [(r["id"], c) for r in results for c in r["citations"]
                                                           if c.get("ends_mid_sentence")])  # fmt: skip
    return lines


WITHOUT_GOLD_LISTED = 50  # answered-anyway questions listed in report.md; results.jsonl has them all


def _without_gold(summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> list[str]:
    """The negative-rejection run: how many answerable questions were refused once their gold documents
    were left out, and the ones answered anyway."""
    n = summary["counts"]
    if not summary["config"].get("without_gold"):
        return []
    asked, refused = n["without_gold_asked"], n["without_gold_refused"]
    lines = ["", "## Without the gold documents", ""]
    lines.append(
        f"Each answerable question asked again with its gold documents left out of the search (dense and lexical; "
        f"BM25's term statistics still count them): {refused} of {asked} refused "
        f"({format_value('without_gold_refused', summary['metrics'].get('without_gold_refused'))}), "
        f"{n['without_gold_failed']} failed, {n['without_gold_skipped']} skipped (no gold document in the index). "
        "The right response is a refusal."
    )
    answered = [r for r in results if r.get("without_gold") and r["without_gold"].get("refused") is False]
    if answered:
        lines += ["", f"Answered anyway ({len(answered)}):", ""]
        lines += [f"- `{r['id']}`: {r['question']!r} -> {r['without_gold']['answer'][:120]!r}"
                  for r in answered[:WITHOUT_GOLD_LISTED]]  # fmt: skip
        if len(answered) > WITHOUT_GOLD_LISTED:
            lines.append(f"- and {len(answered) - WITHOUT_GOLD_LISTED} more in results.jsonl")
    return lines


def render_report(summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str:
    """report.md: a loud line if any quote is invalid, the setup, the metrics with definitions, the plots,
    and every failure."""
    lines = [f"# Evaluation: {_title(summary['config'])}", "", *_loud(summary), *_setup(summary), ""]
    lines += ["## Metrics", "", format_table(summary["metrics"], markdown=True), ""]
    lines += ["![metrics](metrics.png)", "", "![latency](latency.png)"]
    return "\n".join(lines + _without_gold(summary, results) + _problems(summary, results)) + "\n"


def write_outputs(out: Path, summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> None:
    """summary.json, report.md, metrics.png and latency.png in `out` (results.jsonl is the runner's)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_report(summary, results), encoding="utf-8")
    title, m = _title(summary["config"]), summary["metrics"]
    plot_metrics({"run": m}, out / "metrics.png", title)
    plot_latency([float(r["latency_ms"]) for r in results], m["latency_p50_ms"], m["latency_p95_ms"],
                 out / "latency.png", title)  # fmt: skip


# --- comparing two runs ------------------------------------------------------------------------------------


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
