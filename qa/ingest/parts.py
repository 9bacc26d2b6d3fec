"""What every format reader shares: line endings normalised, a library's exception as a one-line reason, and
parts (PDF pages, slides, chapters) joined by a blank line with the offset where each starts."""

from __future__ import annotations

from itertools import accumulate

EMPTY = "empty file, nothing to index"  # the reason every reader gives for a file with no text at all


def newlines(text: str) -> str:
    """Every "\\r\\n" and lone "\\r" as "\\n"; nothing else changes."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def short_reason(exc: Exception) -> str:
    """The first line of an exception's message (at most 120 characters), else its type's name."""
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    return (first[:117] + "...") if len(first) > 120 else first or type(exc).__name__


def join_parts(parts: list[str]) -> tuple[str, tuple[int, ...]]:
    """The parts joined by a blank line, and the offset where each begins (part n at `starts[n - 1]`)."""
    starts = accumulate((len(p) + 2 for p in parts[:-1]), initial=0)
    return "\n\n".join(parts), tuple(starts)
