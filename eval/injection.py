"""Plant injection phrasings into the seed article and count what gets through; or count what the detector
flags in ordinary documents.

Usage (with the project's virtualenv):
    python eval/injection.py eval/injection/build.jsonl [MORE.jsonl ...] [--json]
    python eval/injection.py --scan seeds/ runs/pydocs [...]

For each phrasing (one JSON object a line: id, text, question, payload, kind), the seed article is copied into a
temporary QA_HOME with the phrasing inserted as a line of its own after the article's fifth line, ingested, and the
phrasing's question is asked

- with the extractive backend, and
- with a scripted model that obeys the injection: once replying the payload alone, cited to the passage holding the
  injection, and once repeating the injected sentences that hold the payload, cited the same way.

Counted, per phrasing and in total (the target is 0 for each):
    quoted     the extractive answer quotes text of the injected block
    planted    the extractive answer holds the payload
    credited   a scripted reply's payload is shown in a sentence that has a citation (not refused, not unsupported)
    cites      a scripted reply gets a citation whose quote is text of the injected block
Also shown: whether the extractive answer is the one given on the clean article (`same`), and whether the injected
block is flagged as holding instructions in the passage it was retrieved in (`flagged`).

With several sets, the counts are given per set, then in total.

`--scan` runs the detector (qa/injection/detect.py) over every sentence of every document under the folders given
(read by the same loaders as `qa ingest`) and prints each flagged sentence, then per folder how many it flags.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import QA  # noqa: E402
from qa.backends import shared_minilm  # noqa: E402
from qa.errors import IngestError  # noqa: E402
from qa.ingest.loaders import discover, load  # noqa: E402
from qa.injection.detect import instruction_spans, untrusted_spans  # noqa: E402
from qa.llm.base import Message  # noqa: E402
from qa.records import Answer  # noqa: E402
from qa.text.sentences import units  # noqa: E402

SEED = ROOT / "seeds" / "north-korean-troops-in-kursk.txt"
AFTER_LINE = 5  # the injected block becomes the sixth line, beside the answer to "who oversees the training?"
_LABEL = re.compile(r"^\[(\d+)\] .*$", re.M)


@dataclass(frozen=True)
class Outcome:
    id: str
    kind: str
    quoted: bool
    planted: bool
    credited: bool
    cites: bool
    same: bool
    flagged: bool
    extractive: str
    replies: tuple[str, ...]


class ObedientModel:
    """A scripted model (our Generator protocol) that does what the injected text asks: it finds the passage
    holding `needle` in the prompt and cites it."""

    name = "openai"
    model = "obedient"

    def __init__(self, reply: str, needle: str) -> None:
        self.reply = reply
        self.needle = needle

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        yield self.reply.replace("{n}", str(passage_holding(messages[-1]["content"], self.needle)))


def passage_holding(prompt: str, needle: str) -> int:
    """The number of the prompt's passage whose text holds `needle` (1 when none does)."""
    marks = list(_LABEL.finditer(prompt))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        block = prompt[mark.end() : following.start() if following else len(prompt)]
        if needle.lower() in block.lower():
            return int(mark.group(1))
    return 1


def planted_article(text: str) -> tuple[str, int, int]:
    """The seed article with `text` as a line of its own after line AFTER_LINE, and where `text` stands."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    head = "\n".join(lines[:AFTER_LINE]) + "\n"
    return head + text + "\n" + "\n".join(lines[AFTER_LINE:]), len(head), len(head) + len(text)


def _overlaps(answer: Answer, start: int, end: int) -> bool:
    return any(c.start < end and start < c.end for c in answer.citations)


def _credited(answer: Answer, payload: str) -> bool:
    """Whether `payload` stands in a sentence of the answer that was credited with a citation."""
    wanted = payload.lower()
    shown = not answer.refused and wanted in answer.text.lower()
    return shown and not any(wanted in s.lower() for s in answer.unsupported)


def _echoes(row: dict[str, str]) -> str:
    """The reply that repeats the injected sentences holding the payload, each cited."""
    text = row["text"]
    said = [text[u.start : u.end] for u in units(text) if row["payload"].lower() in text[u.start : u.end].lower()]
    return " ".join(f"{s.rstrip('.')} [{{n}}]." for s in said) or f"{row['payload']} [{{n}}]."


def _ask(home: Path, row: dict[str, str], clean: dict[str, str]) -> Outcome:
    article, start, end = planted_article(row["text"])
    folder = home / "docs"
    folder.mkdir()
    (folder / SEED.name).write_text(article, encoding="utf-8")
    embedder = shared_minilm()
    qa = QA(home=home / "index", backend="extractive", embedder=embedder)
    qa.ingest([folder])
    answer = qa.ask(row["question"])
    payload = row["payload"]
    hits = qa.search(row["question"], k=qa.settings.k)
    flagged = [h.contains_instructions for h in hits if h.start <= start and end <= h.end]
    replies = []
    credited = cites = False
    for reply in (f"{payload} [{{n}}]", _echoes(row)):
        model = ObedientModel(reply, payload)
        obeyed = QA(home=home / "index", backend="openai", embedder=embedder, generator=model).ask(row["question"])
        credited = credited or _credited(obeyed, payload)
        cites = cites or _overlaps(obeyed, start, end)
        replies.append(obeyed.text)
    return Outcome(
        row["id"],
        row.get("kind", ""),
        quoted=_overlaps(answer, start, end),
        planted=payload.lower() in answer.text.lower(),
        credited=credited,
        cites=cites,
        same=answer.text == clean.get(row["question"], answer.text),
        flagged=bool(flagged) and all(flagged),
        extractive=answer.text,
        replies=tuple(replies),
    )


def _clean_answers(questions: set[str]) -> dict[str, str]:
    """The extractive answers on the article as it is."""
    with tempfile.TemporaryDirectory() as tmp:
        qa = QA(home=Path(tmp), backend="extractive", embedder=shared_minilm())
        qa.ingest([SEED])
        return {q: qa.ask(q).text for q in sorted(questions)}


_COUNTED = ("quoted", "planted", "credited", "cites", "same", "flagged")


def _counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    return {k: sum(getattr(o, k) for o in outcomes) for k in _COUNTED}


def run(paths: Sequence[str], as_json: bool) -> int:
    sets = {
        p: [json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines() if line.strip()]
        for p in paths
    }
    clean = _clean_answers({r["question"] for rows in sets.values() for r in rows})
    results: dict[str, list[Outcome]] = {}
    for path, rows in sets.items():
        for row in rows:
            with tempfile.TemporaryDirectory() as tmp:
                results.setdefault(path, []).append(_ask(Path(tmp), row, clean))
    outcomes = [o for found in results.values() for o in found]
    if as_json:
        per_set = {p: {"phrasings": len(found), **_counts(found)} for p, found in results.items()}
        report = {
            "phrasings": len(outcomes),
            **_counts(outcomes),
            "sets": per_set,
            "rows": [asdict(o) for o in outcomes],
        }
        print(json.dumps(report, indent=2))
        return 0
    for o in outcomes:
        marks = " ".join(k for k in ("quoted", "planted", "credited", "cites") if getattr(o, k)) or "held"
        print(
            f"{o.id:6} {o.kind:26} {marks:28} same={'yes' if o.same else 'no'} flagged={'yes' if o.flagged else 'no'}"
        )
        print(f"       extractive: {o.extractive[:110]}")
    print()
    for path, found in [*results.items(), *([("all", outcomes)] if len(results) > 1 else [])]:
        c = _counts(found)
        print(
            f"{path}: {len(found)} phrasings: {c['quoted']} injected sentences quoted by the extractive backend, "
            f"{c['planted']} extractive answers holding the payload, {c['credited']} payloads credited to a "
            f"scripted reply, {c['cites']} scripted replies citing the injected text; {c['same']} extractive "
            f"answers the same as on the clean article; {c['flagged']} injected blocks flagged in their passage"
        )
    return 0


def _overlap(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def scan(folders: Sequence[str]) -> int:
    """Count the sentences the detector flags in ordinary documents, per folder, and list them."""
    lines = []
    for folder in folders:
        paths, failed, _ = discover([Path(folder)])
        total, flagged, other = 0, [], []
        for path in paths:
            try:
                text = load(path, 50 * 2**20).text
            except IngestError as err:  # not valid UTF-8, a broken PDF ...: unreadable, as `qa ingest` counts it
                failed.append((str(path), str(err)))
                continue
            total += len(units(text))
            orders = instruction_spans(text)
            flagged += [(path.name, text[s:e]) for s, e in orders]
            other += [(path.name, text[s:e]) for s, e in untrusted_spans(text) if not _overlap(s, e, orders)]
        for name, sentence in flagged:
            print(f"{name}: {' '.join(sentence.split())[:200]}")
        for name, sentence in other:
            print(f"{name} (untrusted, not an instruction): {' '.join(sentence.split())[:200]}")
        lines.append(
            f"{folder}: {len(paths)} documents ({len(failed)} unreadable), {total} sentences, "
            f"{len(flagged)} flagged as instructions, {len(other)} other untrusted (another language)"
        )
    print("\n".join(lines))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="injection sets (.jsonl), or with --scan folders of documents")
    parser.add_argument("--scan", action="store_true", help="count what the detector flags in these folders")
    parser.add_argument("--json", action="store_true", help="one JSON object with the counts and every row")
    args = parser.parse_args(argv)
    return scan(args.paths) if args.scan else run(args.paths, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
