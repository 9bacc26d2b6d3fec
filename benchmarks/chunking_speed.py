"""Chunking time on hostile and normal inputs: it must grow linearly with the text, whatever the text.

    .venv/bin/python benchmarks/chunking_speed.py [--repeats 3] [--skip-10mb] [--json FILE]

Each input is chunked with the default settings (200/40 tokens, o200k_base), exactly as `qa ingest` chunks a
document (`qa.ingest.pipeline.make_chunks`), and the median of `--repeats` runs is printed. Targets: 1 MB of text
without spaces in under 5 s, 10 MB in under 50 s. The inputs are built here, deterministically:

- `letter`: one letter repeated (a single run with no space, no punctuation);
- `cjk`: Chinese characters with no spaces and no punctuation;
- `markdown+base64`: a Markdown page with a short paragraph before and after an embedded base64 PNG-like image;
- `prose`: the paragraphs of `squad2_500/docs` (or the seed article when the data is not there), repeated.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import time
from pathlib import Path

from common import REPO, SQUAD, log, stamp, table, write_json

from qa.ingest.pipeline import make_chunks
from qa.records import Loaded
from qa.settings import Settings
from qa.text.tokens import encoding

MB = 1_000_000


def letters(size: int) -> str:
    return "a" * size


def cjk(size: int) -> str:
    rng = random.Random(7)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(size // 3))  # 3 bytes each in UTF-8


def markdown_image(size: int) -> str:
    rng = random.Random(11)
    head = "# A page with a picture\n\nThe figure below shows the harbour at dawn.\n\n![harbour](data:image/png;base64,"
    tail = ")\n\nThe harbour was rebuilt after the storm of 1953.\n"
    data = base64.b64encode(rng.randbytes((size - len(head) - len(tail)) * 3 // 4)).decode()
    return head + data + tail


def prose(size: int) -> str:
    folder = SQUAD / "docs"
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else [REPO / "seeds" / "north-korean-troops-in-kursk.txt"]
    text = "\n\n".join(path.read_text(encoding="utf-8").strip() for path in files)
    return (text + "\n\n") * (size // (len(text) + 2) + 1)


def seconds_to_chunk(text: str, settings: Settings, repeats: int) -> tuple[float, int]:
    """The median wall time of `make_chunks` on `text`, and how many chunks it made."""
    loaded = Loaded(path="bench.md", kind="markdown", text=text)
    timings, chunks = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        chunks = len(make_chunks(loaded, "bench", "bench.md", settings))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per input; the median is shown")
    parser.add_argument("--skip-10mb", action="store_true", help="leave out the 10 MB input")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    settings = Settings()
    encoding(settings.tokenizer)  # load the tokenizer before timing anything
    cases = [("letter", letters, MB, 5.0), ("letter", letters, 10 * MB, 50.0), ("cjk", cjk, MB, 5.0)]
    cases += [("markdown+base64", markdown_image, MB, None), ("prose", prose, MB, None)]
    rows, figures = [], []
    for name, make, size, target in cases:
        if args.skip_10mb and size > MB:
            continue
        text = make(size)[:size]
        log(f"chunking {name}, {len(text.encode()) / MB:.1f} MB ...")
        median, chunks = seconds_to_chunk(text, settings, args.repeats)
        verdict = "-" if target is None else ("met" if median < target else "MISSED")
        rows.append(
            [
                name,
                f"{len(text.encode()) / MB:.1f}",
                chunks,
                f"{median:.2f}",
                f"{target:.0f}" if target else "-",
                verdict,
            ]
        )
        figures.append({"input": name, "bytes": len(text.encode()), "chunks": chunks, "median_s": median})
    print(stamp())
    print(table(["input", "MB", "chunks", f"median s of {args.repeats}", "target s", "target"], rows))
    write_json(args.json, {"repeats": args.repeats, "results": figures})


if __name__ == "__main__":
    main()
