"""The trade-off view: per model, every artifact's size, agreement with Keras and speed, in one table and one plot.

Users pick the smallest or fastest artifact that is still correct; this puts the three next to each
other. Per artifact (target + quantization): its size and the ratio to the model's float32 artifact
of the same target, the worst top-1 agreement and SQNR over the runtimes that ran it (from the parity
check), and the fastest batch-1 p50 with the runtime and setting that reached it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.bench.results import BenchRow
from toolkit.labels import human_size

TRADEOFF_PLOT = "tradeoffs.png"
SQNR_CEILING = 120.0  # exact outputs (SQNR inf) are drawn here
Rows = Sequence[BenchRow]
HEADERS = ["artifact", "size", "x float32", "top-1 agreement", "SQNR dB", "fastest p50 ms (batch)", "where", "parity"]


@dataclass
class Tradeoff:
    model: str
    target: str
    quantization: str
    artifact: str
    size_bytes: int | None
    size_ratio: float | None  # size / size of the same target's float32 artifact
    top1_agreement: float | None
    sqnr_db: float | None
    p50_ms: float | None
    batch: int | None
    where: str
    passed: bool | None


def tradeoffs(rows: Rows) -> list[Tradeoff]:
    artifacts: dict[tuple[str, str, str], list[BenchRow]] = {}
    for row in rows:
        if not row.is_baseline and row.size_bytes:
            artifacts.setdefault((row.model, row.target, row.quantization), []).append(row)
    float32 = {(model, target): group[0].size_bytes for (model, target, quantization), group in artifacts.items()
               if quantization == "none"}
    return [_tradeoff(key, group, float32.get(key[:2])) for key, group in artifacts.items()]


def _tradeoff(key: tuple[str, str, str], group: list[BenchRow], float32_size: int | None) -> Tradeoff:
    model, target, quantization = key
    timed = [r for r in group if r.p50_ms]
    smallest_batch = min((r.batch for r in timed), default=None)
    fastest = min((r for r in timed if r.batch == smallest_batch), key=lambda r: r.p50_ms, default=None)
    size = group[0].size_bytes
    verdicts = [r.parity_passed for r in group if r.parity_passed is not None]
    return Tradeoff(
        model, target, quantization, group[0].artifact, size, size / float32_size if float32_size else None,
        _worst(r.top1_agreement for r in group), _worst(r.sqnr_db for r in group),
        fastest.p50_ms if fastest else None, smallest_batch,
        f"{fastest.runtime} [{fastest.setting}]" if fastest else "-", all(verdicts) if verdicts else None,
    )


def _worst(values) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def table_rows(items: Sequence[Tradeoff]) -> list[list[str]]:
    """Smallest first: the first PASS row is the smallest artifact that is still correct."""
    def cell(value: float | None, text: str) -> str:
        return "-" if value is None else text

    return [[t.artifact, cell(t.size_bytes, human_size(t.size_bytes or 0)), cell(t.size_ratio, f"{t.size_ratio or 0:.2f}x"),
             cell(t.top1_agreement, f"{t.top1_agreement or 0:.3f}"), _sqnr_text(t.sqnr_db),
             cell(t.p50_ms, f"{t.p50_ms or 0:.3g} ({t.batch})"), t.where, {True: "PASS", False: "FAIL", None: "-"}[t.passed]]
            for t in sorted(items, key=lambda t: (t.size_bytes or 0, t.artifact))]


def _sqnr_text(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if value == float("inf") else f"{value:.1f}"


def plot_tradeoffs(rows: Rows, path: Path) -> None:
    """One panel per model: size (x, log) against top-1 agreement, or SQNR where no output is a classifier;
    the marker's area grows with the fastest batch-1 latency, a hollow marker is a parity failure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = tradeoffs(rows)
    models = list(dict.fromkeys(t.model for t in items)) or ["(no artifacts)"]
    columns = min(3, len(models))
    lines = (len(models) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(5 * columns, 4 * lines), squeeze=False)
    quantizations = sorted({t.quantization for t in items})
    markers = dict(zip(["saved_model", "tflite", "onnx", "tfjs"], "osD^"))
    slowest = max((t.p50_ms for t in items if t.p50_ms), default=1.0)
    for axis, model in zip(axes.ravel(), models):
        _panel(axis, [t for t in items if t.model == model], model, quantizations, markers, slowest)
    for axis in axes.ravel()[len(models):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _panel(axis, items: list[Tradeoff], model: str, quantizations: list[str], markers: dict, slowest: float) -> None:
    by_top1 = any(t.top1_agreement is not None for t in items)
    for t in items:
        value = t.top1_agreement if by_top1 else min(t.sqnr_db if t.sqnr_db is not None else 0.0, SQNR_CEILING)
        if value is None or not t.size_bytes:
            continue
        colour = f"C{quantizations.index(t.quantization)}"
        area = 30 + 400 * (t.p50_ms or 0) / slowest
        axis.scatter([t.size_bytes], [value], s=area, marker=markers.get(t.target, "x"), alpha=0.7,
                     facecolors=colour if t.passed is not False else "none", edgecolors=colour,
                     label=f"{t.target} {t.quantization}")
    axis.set_xscale("log")
    axis.set_xlabel("artifact size, bytes (log)")
    axis.set_ylabel("worst top-1 agreement with Keras" if by_top1 else f"worst SQNR, dB (exact at {SQNR_CEILING:g})")
    axis.set_title(f"{model} (area: batch-1 p50; hollow: FAIL)", fontsize=9)
    axis.grid(alpha=0.3)
    if items:
        legend = axis.legend(fontsize=6, loc="lower right")
        for handle in legend.legend_handles:  # one size in the legend: marker areas there would mean nothing
            handle.set_sizes([30])
