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

from toolkit.bench.plots import MARKERS, log_axes, log_helps, save_grid
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


def plot_tradeoffs(rows: Rows, folder: Path) -> list[str]:
    """One panel per model: size (x, log where sizes differ) against top-1 agreement, or SQNR where no output
    is a classifier; the marker's area grows with the fastest batch-1 latency, a hollow marker is a parity
    failure. One legend for the figure; returns the files written (see plots.save_grid)."""
    items = tradeoffs(rows)
    quantizations = sorted({t.quantization for t in items})
    slowest = max((t.p50_ms for t in items if t.p50_ms), default=1.0)
    handles: dict[str, object] = {}

    def draw(axis, model: str) -> None:
        handles.update(_panel(axis, [t for t in items if t.model == model], model, quantizations, slowest))

    def legend(figure) -> float:
        if not handles:
            return 0.0
        shown = figure.legend(list(handles.values()), list(handles), loc="lower center", ncol=5, fontsize=7)
        for handle in shown.legend_handles:  # one size in the legend: marker areas there would mean nothing
            handle.set_sizes([30])
        return 0.3 + 0.18 * -(-len(handles) // 5)

    models = list(dict.fromkeys(t.model for t in items))
    return save_grid(folder, TRADEOFF_PLOT, models, draw, columns=3, panel_width=5.0, panel_height=lambda m: 4.0,
                     finish=legend)


def _panel(axis, items: list[Tradeoff], model: str, quantizations: list[str], slowest: float) -> dict[str, object]:
    by_top1 = any(t.top1_agreement is not None for t in items)
    handles = {}
    for t in items:
        value = t.top1_agreement if by_top1 else min(t.sqnr_db if t.sqnr_db is not None else 0.0, SQNR_CEILING)
        if value is None or not t.size_bytes:
            continue
        colour = f"C{quantizations.index(t.quantization) % 10}"
        area = 30 + 400 * (t.p50_ms or 0) / slowest
        handles[f"{t.target} {t.quantization}"] = axis.scatter(
            [t.size_bytes], [value], s=area, marker=MARKERS.get(t.target, "x"), alpha=0.7,
            facecolors=colour if t.passed is not False else "none", edgecolors=colour)
    log_axes(axis, log_helps([t.size_bytes for t in items if t.size_bytes], 3.0), False)
    axis.set_xlabel("artifact size, bytes" + (" (log)" if axis.get_xscale() == "log" else ""), fontsize=8)
    axis.set_ylabel("worst top-1 agreement with Keras" if by_top1 else f"worst SQNR, dB (exact at {SQNR_CEILING:g})",
                    fontsize=8)
    axis.set_title(f"{model} (area: batch-1 p50; hollow: FAIL)", fontsize=9)
    axis.tick_params(labelsize=7)
    axis.grid(alpha=0.3)
    return handles
