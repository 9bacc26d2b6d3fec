"""Count the sentences qa reads in a corpus that stop where their document goes on with the same sentence.

Usage (with the project's virtualenv):
    python eval/sentence_ends.py FOLDER [FOLDER ...] [--examples N]

Every Markdown and text file under the folders is read by the loaders `qa ingest` uses, cut into units by
`qa.text.sentences.units`, and each prose sentence and list item is checked with the eval's own test of where a
quote may end (`qa/evaluation/quote_ends.py`, which does not use qa's splitter). A unit that fails it is counted by
what it is: a Markdown link definition, YAML in an HTML comment (Node.js's API pages keep their history so), a
setext heading (a line over its `=====` underline, counted before the check knew underlines), raw HTML, or the
rest (prose, and code or pseudo-code the splitter read as prose). With --examples, that many of the rest (or of
--kind) are printed.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.errors import IngestError  # noqa: E402
from qa.evaluation.quote_ends import ends_mid_sentence  # noqa: E402
from qa.ingest.loaders import load  # noqa: E402
from qa.text.sentences import units  # noqa: E402

_SETEXT = re.compile(r"[=\-~^]{3,}[ \t]*(?:\n|$)")
_LINK_DEFINITION = re.compile(r"\[[^\]]+\]:\s")
_YAML = re.compile(r"(?:added|changes|deprecated|removed|napiVersion|version|pr-url|description|type=\w+)\b")


def kind_of(unit: str, following: str) -> str:
    """What a unit that ends mid-sentence is, by its text and what follows it."""
    if _SETEXT.match(following):
        return "setext heading"
    if _LINK_DEFINITION.match(unit.split("\n")[-1]):
        return "link definition"
    if unit.lstrip().startswith("<") or unit.rstrip().endswith(">"):
        return "html"
    if _YAML.match(unit.strip().lstrip("- ")):
        return "yaml"
    return "rest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--examples", type=int, default=0)
    parser.add_argument("--kind", default="rest", help="which kind the examples are of (default: rest)")
    args = parser.parse_args()
    files = sorted(p for f in args.folders for p in f.rglob("*") if p.suffix in (".md", ".txt") and p.is_file())
    read, total, counts, rest = 0, 0, Counter[str](), []
    for path in files:
        try:
            text = load(path, 50 * 2**20).text
        except IngestError:
            continue
        read += 1
        for unit in units(text):
            if unit.kind not in ("prose", "item"):
                continue
            total += 1
            if ends_mid_sentence(text, unit.start, unit.end):
                sentence, following = text[unit.start : unit.end], text[unit.end : unit.end + 80].lstrip()
                kind = kind_of(sentence, following)
                counts[kind] += 1
                if kind == args.kind:
                    rest.append(f"{path.name}: {sentence[-100:]!r} / {following[:60]!r}")
    print(f"{read} files, {total} sentences and list items, {sum(counts.values())} ending mid-sentence")
    for kind, n in counts.most_common():
        print(f"  {kind}: {n}")
    for line in random.Random(0).sample(rest, min(args.examples, len(rest))):
        print(line)


if __name__ == "__main__":
    main()
