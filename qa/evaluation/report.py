"""What a finished run leaves in its folder besides results.jsonl: summary.json, report.md (with the loud lines
that flag a bug in qa) and the plots; and the counts of what became of the questions.

Everything here works on the plain dicts a run writes (`summary.json`, `results.jsonl` rows), so a run folder
from any earlier version can be reported on without rerunning it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.plots import plot_latency, plot_metrics
from qa.evaluation.tables import format_table, format_value


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


def _refusal_settings(c: Mapping[str, Any]) -> str:
    """What decides a refusal, as the run was set (runs written before these were recorded say nothing)."""
    if "strict" not in c:
        return ""
    return f", strict: {'on' if c['strict'] else 'off'}, QA_MIN_ODDS {c['min_odds']:g}, QA_REFUSE_AT {c['refuse_at']:g}"


def _setup(summary: Mapping[str, Any]) -> list[str]:
    c, n, ingest = summary["config"], summary["counts"], summary["ingest"]
    sample = f" of {c['questions_in_set']}, evenly spaced (--limit {c['limit']})" if c.get("limit") else ""
    return [
        f"- questions: `{c['questions']}`: {n['questions']}{sample} ({n['answerable']} answerable, "
        f"{n['unanswerable']} unanswerable); documents: `{c['docs']}`",
        f"- backend: {c.get('backend_used') or c['backend']} (asked: {c['backend']}), model: {c.get('model') or '-'}, "
        f"k = {c['k']}{_refusal_settings(c)}",
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
