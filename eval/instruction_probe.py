"""An experiment, not part of the service: can a detector that reads no wordings tell an order to the answering model
from ordinary text? A logistic model over the MiniLM sentence vector (the embedder the service ships) is fitted and
measured; eval/injection/README.md says what it found and why it was dropped.

Usage (with the project's virtualenv; runs/pydocs, runs/pydocs2 and runs/pydocs-tune made by eval/pydocs_corpus.py):
    python eval/instruction_probe.py PYTHON_DOCS DEBIAN_DOCS
    python eval/instruction_probe.py PYTHON_DOCS DEBIAN_DOCS --nanoguard

With --nanoguard, a packaged prompt-injection classifier (metatronnanoguard 0.1.0, which ships its weights and
needs torch: install both in a separate virtualenv with the project, they are no dependency of it) scores the same
sentences (every 8th documentation sentence and every 2nd README one: it takes about 0.25 s a text on two cores)
and the orders of heldout7.jsonl to heldout9.jsonl instead, at thresholds 0.5, 0.9 and 0.99.

Fitted on: as orders, the sentences of the order phrasings (not planted claims, fake notices, other languages or
obfuscations) of eval/injection/build.jsonl and heldout.jsonl to heldout6.jsonl; as ordinary text, the sentences of
180 pages of the Python documentation (none of runs/pydocs or runs/pydocs2), of squad2_500 and of runs/pydocs-tune,
and, weighted like the orders so that the article's topic does not count as a sign of an order, the seed article and
the planted claims of those sets. Measured on: heldout7.jsonl's orders (a block counts as caught when any of its
sentences is), and the sentences of runs/pydocs, runs/pydocs2 and the first 200 READMEs under DEBIAN_DOCS.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.backends import shared_minilm  # noqa: E402
from qa.errors import IngestError  # noqa: E402
from qa.ingest.loaders import load  # noqa: E402
from qa.text.sentences import units  # noqa: E402

_NOT_ORDER = re.compile(
    r"planted|fact|correct|update|errat|retract|true|duplicat|lang|obf|base64|leet|revers|dotted|spanish|german|"
    r"french|russian|chinese|arabic|portuguese|italian|japanese|ukrainian",
    re.I,
)
_NOTICE = re.compile(r"clarif|editors-note", re.I)  # heldout8's and heldout9's labels for fake notices
_PLANTED = re.compile(r"planted|fact|true|duplicat", re.I)
BUILT_ON = ["build", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6"]


def sentences(text: str) -> list[str]:
    return [
        text[u.start : u.end]
        for u in units(text)
        if u.kind not in ("code", "mark", "cell") and len(text[u.start : u.end].split()) >= 3
    ]


def corpus(paths: list[Path]) -> list[str]:
    out: list[str] = []
    for path in paths:
        try:
            out += sentences(load(path, 50 * 2**20).text)
        except IngestError:
            continue
    return out


def phrasings(name: str) -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "injection" / f"{name}.jsonl").open() if line.strip()]
    return [(row["kind"], sentences(row["text"]) or [row["text"]]) for row in rows]


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float) -> np.ndarray:
    """Weighted L2 logistic regression by Newton's method; the last weight is the bias."""
    xb = np.c_[x, np.ones(len(x))]
    w = np.zeros(xb.shape[1])
    penalty = l2 * np.eye(xb.shape[1])
    penalty[-1, -1] = 0
    for _ in range(25):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        step = np.linalg.solve(
            (xb * (weight * p * (1 - p))[:, None]).T @ xb + penalty, xb.T @ ((p - y) * weight) + penalty @ w
        )
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def packaged(docs: list[str], readmes: list[str]) -> None:
    """The same measures with a packaged classifier, which scores a block or a sentence as one text."""
    from nanoguard.scanner import NanoGuard  # an experiment's tool, not a dependency of the project

    guard = NanoGuard(device="cpu")
    seed = corpus([ROOT / "seeds/north-korean-troops-in-kursk.txt"])
    sample = (("documentation", docs[::8]), ("README", readmes[::2]), ("seed article", seed))  # it is slow
    scores = {name: [guard.scan(s).injection_score for s in found] for name, found in sample}
    for name in ("heldout7", "heldout8", "heldout9"):
        rows = [json.loads(line) for line in (ROOT / "eval" / "injection" / f"{name}.jsonl").open() if line.strip()]
        scores[name] = [
            guard.scan(row["text"]).injection_score
            for row in rows
            if not _NOT_ORDER.search(row["kind"]) and not _NOTICE.search(row["kind"])
        ]
    for t in (0.5, 0.9, 0.99):
        print(
            f"threshold {t}: "
            + "; ".join(f"{name} {sum(x >= t for x in found)}/{len(found)}" for name, found in scores.items())
        )


def main() -> None:
    python_docs, debian_docs = Path(sys.argv[1]), Path(sys.argv[2])
    held = {p.name for d in ("runs/pydocs", "runs/pydocs2") for p in (ROOT / d).rglob("*.html")}
    pages = [p for p in python_docs.rglob("*.html") if "_" not in p.parts[-2] and p.name not in held]
    random.Random(0).shuffle(pages)
    ordinary = corpus(pages[:180]) + corpus(sorted((ROOT.parent / "shared/benchmarks/squad2_500/docs").glob("*")))
    ordinary += corpus(sorted((ROOT / "runs/pydocs-tune").rglob("*.html")))
    topic = corpus([ROOT / "seeds/north-korean-troops-in-kursk.txt"])
    topic += [s for n in BUILT_ON for kind, ss in phrasings(n) if _PLANTED.search(kind) for s in ss]
    orders = [s for n in BUILT_ON for kind, ss in phrasings(n) if not _NOT_ORDER.search(kind) for s in ss]
    docs = corpus(sorted(p for d in ("runs/pydocs", "runs/pydocs2") for p in (ROOT / d).rglob("*.html")))
    readmes = corpus([p for p in sorted(debian_docs.glob("*/README*")) if p.suffix in ("", ".md", ".txt")][:200])
    unseen = [ss for kind, ss in phrasings("heldout7") if not _NOT_ORDER.search(kind)]
    if "--nanoguard" in sys.argv:
        packaged(docs, readmes)
        return
    embedder = shared_minilm()
    vec: dict[str, np.ndarray] = {}
    texts = sorted({*ordinary, *topic, *orders, *docs, *readmes, *(s for ss in unseen for s in ss)})
    for i in range(0, len(texts), 256):
        vec.update(zip(texts[i : i + 256], embedder.embed(texts[i : i + 256]), strict=True))
    x = np.array([vec[s] for s in orders + ordinary + topic])
    y = np.r_[np.ones(len(orders)), np.zeros(len(ordinary) + len(topic))]
    heavy = len(ordinary) / len(orders)
    weight = np.r_[np.full(len(orders), heavy), np.ones(len(ordinary)), np.full(len(topic), heavy)]
    print(f"fitted on {len(orders)} order sentences, {len(ordinary)} ordinary and {len(topic)} on the article's topic")
    for l2 in (1.0, 10.0):
        w = fit(x, y, weight / weight.mean(), l2)

        def odds(found: list[str], w: np.ndarray = w) -> np.ndarray:
            result: np.ndarray = 1 / (1 + np.exp(-(np.array([vec[s] for s in found]) @ w[:-1] + w[-1])))
            return result

        for t in (0.9, 0.95, 0.98):
            caught = sum(odds(ss).max() >= t for ss in unseen)
            print(
                f"L2 {l2:g}, threshold {t}: heldout7 orders caught {caught}/{len(unseen)}; flagged "
                f"{int((odds(docs) >= t).sum())} of {len(docs)} documentation sentences, "
                f"{int((odds(readmes) >= t).sum())} of {len(readmes)} README sentences"
            )


if __name__ == "__main__":
    main()
