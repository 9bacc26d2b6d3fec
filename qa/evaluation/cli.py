"""`qa eval QUESTIONS --docs DIR` and `qa eval compare RUN_A RUN_B`, registered on the `qa` parser.

Importing this module is cheap (argparse only); the runner, Chroma and matplotlib load when a command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from qa.settings import BACKENDS

EXIT_FAILED = 1  # the run finished, but some questions failed or some quote is not verbatim
COMPARE = "compare"
EXAMPLES = """examples:
  qa eval eval/seed.jsonl --docs seeds/ --backend extractive --out runs/seed-extractive
  qa eval ../shared/benchmarks/squad2_500/questions.jsonl --docs ../shared/benchmarks/squad2_500/docs --limit 100
  qa eval eval/seed.jsonl --docs seeds/ --without-gold    # also ask each answerable question without its gold docs
  qa eval compare runs/seed-extractive runs/seed-llama     # per-metric deltas and the questions that flipped

The corpus is ingested into its own index under HOME/eval/ (never the index `qa ingest` fills), and reused
while its files are unchanged. A question set named `compare` needs a path: qa eval ./compare --docs ...
"""


def add_eval_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register `eval` on the `qa` subparsers; the handler is `run_eval`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        parents=[common_parent],
        help="score a question set (answers, citations, refusals, latency); `qa eval compare A B` compares runs",
        description="Run a question set against a folder of documents and score it, or compare two runs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("questions", metavar="QUESTIONS", help="question set (.jsonl), or the word `compare`")
    parser.add_argument("runs", nargs="*", default=[], metavar="RUN", help="with compare: the run folders A and B")
    parser.add_argument("--docs", help="the corpus folder; document ids are file names without extension")
    backends = list(BACKENDS)
    parser.add_argument("--backend", choices=backends, default="extractive", help="(default extractive)")
    parser.add_argument("-k", type=int, default=5, help="passages retrieved and answered from (default 5)")
    parser.add_argument("--out", help="run folder (default runs/<set>-<backend>-<time>); with compare: optional")
    parser.add_argument("--limit", type=int, help="only this many questions, evenly spaced through the set")
    parser.add_argument("--chunk-tokens", type=int, help="tokens per chunk (QA_CHUNK_TOKENS; default 200)")
    parser.add_argument("--chunk-overlap", type=int, help="overlap in tokens (QA_CHUNK_OVERLAP; default 40)")
    parser.add_argument(
        "--without-gold",
        action="store_true",
        help="ask every answerable question a second time with its gold documents left out of the search; "
        "the right answer is a refusal (metric without_gold_refused)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="refuse unsupported sentences; extractive: answer only at odds of 0.3 or more (QA_STRICT)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary (or comparison) as JSON")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    """The `qa eval` handler: a comparison when the first argument is `compare`, else a run."""
    from qa.errors import ConfigError

    if args.questions == COMPARE:
        if len(args.runs) != 2:
            raise ConfigError("say which two runs: qa eval compare RUN_A RUN_B")
        return _compare(args)
    if args.runs:
        raise ConfigError(f"unexpected argument(s) {' '.join(args.runs)}; usage: qa eval QUESTIONS --docs DIR")
    if not args.docs:
        raise ConfigError("say which documents the questions are about: qa eval QUESTIONS --docs DIR")
    return _evaluate(args)


def _settings(args: argparse.Namespace) -> Any:
    from qa.settings import Settings

    names = ("home", "chroma_url", "embedder", "chunk_tokens", "chunk_overlap", "strict")
    if getattr(args, "collection", None):
        print("note: qa eval keeps its own collection under HOME/eval; --collection is ignored", file=sys.stderr)
    return Settings.from_env(os.environ, **{name: getattr(args, name, None) for name in names})


def _default_out(args: argparse.Namespace) -> Path:
    stem = Path(args.questions).stem if Path(args.questions).stem != "questions" else Path(args.questions).parent.name
    return Path("runs") / f"{stem}-{args.backend}-{time.strftime('%Y%m%d-%H%M%S')}"


def _evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from qa.evaluation.runner import evaluate

    out = Path(args.out) if args.out else _default_out(args)
    with (
        tqdm(total=0, unit="chunk", desc="indexing", file=sys.stderr, disable=None, leave=False) as ingest_bar,
        tqdm(total=0, unit="question", desc="asking", file=sys.stderr, disable=None) as bar,
    ):
        summary = evaluate(
            args.questions,
            args.docs,
            backend=args.backend,
            k=args.k,
            out=out,
            limit=args.limit,
            settings=_settings(args),
            progress=_updater(bar),
            ingest_progress=_updater(ingest_bar),
            without_gold=args.without_gold,
        )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(_terminal_summary(summary))
    return EXIT_FAILED if summary.counts["failed"] or summary.counts["invalid_citations"] else 0


def _updater(bar: Any) -> Any:
    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update


def _terminal_summary(summary: Any) -> str:
    from qa.evaluation.report import loud_lines
    from qa.evaluation.tables import format_value

    c, n = summary.config, summary.counts
    lines = [
        f"{c['questions']} on {c['docs']}: {n['questions']} questions ({n['answerable']} answerable, "
        f"{n['unanswerable']} unanswerable), backend {c['backend_used'] or c['backend']}, "
        f"model {c['model'] or '-'}, k={c['k']}, {c['duration_s']} s",
        "",
        summary.table(),
        "",
    ]
    if c.get("without_gold"):
        share = format_value("without_gold_refused", summary.metrics["without_gold_refused"])
        lines.append(
            f"without gold documents: {n['without_gold_refused']} of {n['without_gold_asked']} answerable questions "
            f"refused ({share}), {n['without_gold_failed']} failed, {n['without_gold_skipped']} skipped"
        )
    lines += loud_lines(summary.to_dict(), listed=f"in {summary.out / 'report.md'}")
    if n["failed"]:
        lines.append(f"{n['failed']} questions failed; see the report")
    lines.append(f"wrote {summary.out}/ (results.jsonl, summary.json, report.md, metrics.png, latency.png)")
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> int:
    from qa.evaluation.comparison import compare, write_comparison

    comparison = compare(args.runs[0], args.runs[1])
    if args.out:
        write_comparison(comparison, Path(args.out))
    print(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) if args.json else comparison.table())
    return 0
