"""Metrics as people read them: each value formatted by its kind (rate, count, ms, tokens), the difference of
two values, and plain-text or Markdown tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.evaluation.scores import COUNTS, DEFINITIONS, RATES, Value


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
