"""The PNG plots of a run and of a comparison, drawn on matplotlib's Agg canvas directly (no pyplot, no global
backend switch); matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.scores import RATES, Value


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
