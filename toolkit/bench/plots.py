"""Benchmark plots (PNG, matplotlib's Agg backend) as small multiples: one panel per model, in a grid.

latency.png: p50 latency (bars) with the fastest run and p90 (whiskers) per runtime, one panel per model;
hatched red bars failed parity. size_error.png: per model, artifact size against its worst error vs Keras,
marker = target, colour = quantization, one legend for the figure (points carry no text labels, so no
label can overlap another). A figure is at most MAX_HEIGHT_PX tall: more models continue in latency_2.png,
and so on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from toolkit.bench.results import BenchRow
from toolkit.files import atomic_file

LATENCY_PLOT = "latency.png"
SIZE_ERROR_PLOT = "size_error.png"
ERROR_FLOOR = 1e-9  # exact artifacts (error 0) are drawn here on the log axis
DPI = 100
MAX_HEIGHT_PX = 4000
MARKERS = dict(zip(["saved_model", "tflite", "onnx", "tfjs"], "osD^"))
Rows = Sequence[BenchRow]
Panel = Callable[[object, str], None]  # draws model `str` into the axis


def _models(rows: Rows) -> list[str]:
    return list(dict.fromkeys(row.model for row in rows))


def pyplot() -> object:
    """matplotlib.pyplot on the Agg backend (files only: no display is needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_grid(folder: Path, name: str, models: Sequence[str], draw: Panel, columns: int, panel_width: float,
              panel_height: Callable[[str], float], finish: Callable[[object], float] | None = None) -> list[str]:
    """One panel per model, `columns` wide, split over several files so none is over MAX_HEIGHT_PX tall.

    `finish(figure)` may add a figure legend and returns the inches it needs at the bottom. Returns the
    file names written (name, then name_2.png, ...); stale continuation files of an earlier report are removed.
    """
    plt = pyplot()
    models = list(models) or ["(no data)"]
    columns = min(columns, len(models))
    lines = [models[i:i + columns] for i in range(0, len(models), columns)]
    pages, page, height = [], [], 0.0
    budget = MAX_HEIGHT_PX / DPI - 1.5  # inches, leaving room for a figure legend
    for line in lines:
        line_height = max(panel_height(m) for m in line)
        if page and height + line_height > budget:
            pages.append(page)
            page, height = [], 0.0
        page.append((line, min(line_height, budget)))
        height += min(line_height, budget)
    pages.append(page)
    stem = Path(name).stem
    for stale in Path(folder).glob(f"{stem}_*.png"):
        stale.unlink()
    written = []
    for number, page in enumerate(pages, start=1):
        file = name if number == 1 else f"{stem}_{number}.png"
        heights = [h for _, h in page]
        figure, axes = plt.subplots(len(page), columns, squeeze=False, figsize=(panel_width * columns, sum(heights)),
                                    gridspec_kw={"height_ratios": heights})
        for (line, _), axis_line in zip(page, axes):
            for axis, model in zip(axis_line, line):
                draw(axis, model)
            for axis in axis_line[len(line):]:
                axis.set_visible(False)
        bottom = finish(figure) if finish else 0.0
        figure.set_size_inches(panel_width * columns, sum(heights) + bottom)
        figure.tight_layout(rect=(0, bottom / (sum(heights) + bottom), 1, 1))
        with atomic_file(Path(folder) / file) as staging:
            figure.savefig(staging, dpi=DPI, format="png")
        plt.close(figure)
        written.append(file)
    return written


def _config_label(row: BenchRow) -> str:
    threads = "" if row.threads is None else f", {row.threads}t"
    return f"{row.runtime} {row.artifact} [{row.setting}{threads}]"


def plot_latency(rows: Rows, folder: Path) -> list[str]:
    timed = [r for r in rows if r.p50_ms]
    batches = sorted({r.batch for r in timed}) or [1]
    configs = {m: list(dict.fromkeys(_config_label(r) for r in timed if r.model == m)) for m in _models(timed)}
    bar_inches = 0.14 + 0.06 * len(batches)  # a 7-point label needs 0.1 in: labels never overlap

    def draw(axis, model: str) -> None:
        labels, width = configs.get(model, []), 0.8 / len(batches)
        for i, batch in enumerate(batches):
            chosen = {_config_label(r): r for r in timed if r.model == model and r.batch == batch}
            ys = [y + i * width for y, label in enumerate(labels) if label in chosen]
            picked = [chosen[label] for label in labels if label in chosen]
            bars = axis.barh(ys, [r.p50_ms for r in picked], height=width, color=f"C{i}",
                             xerr=[[r.p50_ms - r.min_ms for r in picked], [r.p90_ms - r.p50_ms for r in picked]],
                             error_kw={"elinewidth": 0.8, "capsize": 2})
            for bar, row in zip(bars, picked):
                if row.parity_passed is False:
                    bar.set_hatch("///")
                    bar.set_edgecolor("red")
        axis.set_yticks([y + width * (len(batches) - 1) / 2 for y in range(len(labels))], labels, fontsize=7)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.set_xlabel("ms per batch (log): bar p50, whiskers fastest..p90; hatched: FAIL", fontsize=8)
        axis.set_title(model, fontsize=10)
        axis.grid(axis="x", which="both", alpha=0.3)
        from matplotlib.patches import Patch

        keys = [Patch(color=f"C{i}", label=f"batch {b}") for i, b in enumerate(batches)]
        axis.legend(handles=[*keys, Patch(facecolor="white", edgecolor="red", hatch="///", label="FAIL")],
                    fontsize=7, loc="lower right")

    return save_grid(folder, LATENCY_PLOT, list(configs), draw, columns=2, panel_width=7.0,
                     panel_height=lambda m: max(len(configs.get(m, [])), 1) * bar_inches + 1.0)


def worst_errors(rows: Rows) -> dict[tuple[str, str, str], tuple[int, float]]:
    """(model, target, quantization) -> (size, worst max |runtime - Keras| over the runtimes that checked it)."""
    worst: dict = {}
    for r in rows:
        if r.size_bytes and r.max_abs_err is not None and not r.is_baseline:
            key = (r.model, r.target, r.quantization)
            worst[key] = (r.size_bytes, max(r.max_abs_err, worst.get(key, (0, 0.0))[1]))
    return worst


def log_axes(axis: object, x: bool, y: bool) -> None:
    """Log scales, with labels on the decades only: minor-tick labels (3x10^4, 4x10^4) run into each other."""
    from matplotlib.ticker import NullFormatter

    for wanted, scale, minor in ((x, axis.set_xscale, axis.xaxis), (y, axis.set_yscale, axis.yaxis)):
        if wanted:
            scale("log")
            minor.set_minor_formatter(NullFormatter())


def log_helps(values: Sequence[float], spread: float = 10.0) -> bool:
    """A log axis when the values span more than `spread`x (and are all positive)."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) and bool(positive) and max(positive) / min(positive) > spread


def plot_size_error(rows: Rows, folder: Path) -> list[str]:
    worst = worst_errors(rows)
    quantizations = sorted({k[2] for k in worst})
    handles: dict[str, object] = {}

    def draw(axis, model: str) -> None:
        mine = {k: v for k, v in worst.items() if k[0] == model}
        for (_, target, quantization), (size, error) in sorted(mine.items()):
            label = f"{target} {quantization}"
            handles[label] = axis.scatter([size], [max(error, ERROR_FLOOR)], marker=MARKERS.get(target, "x"),
                                          color=f"C{quantizations.index(quantization) % 10}", alpha=0.8, s=40)
        sizes = [v[0] for v in mine.values()]
        errors = [max(v[1], ERROR_FLOOR) for v in mine.values()]
        log_axes(axis, log_helps(sizes, 3.0), log_helps(errors, 100.0))
        axis.set_xlabel("artifact size, bytes" + (" (log)" if axis.get_xscale() == "log" else ""), fontsize=8)
        axis.set_ylabel("worst max |runtime - Keras|" + (" (log)" if axis.get_yscale() == "log" else ""), fontsize=8)
        axis.set_title(model, fontsize=10)
        axis.tick_params(labelsize=7)
        axis.grid(which="both", alpha=0.3)

    def legend(figure) -> float:
        if not handles:
            return 0.0
        columns = 5
        figure.legend(list(handles.values()), list(handles), loc="lower center", ncol=columns, fontsize=7,
                      title=f"target quantization (errors of 0 drawn at {ERROR_FLOOR:g})", title_fontsize=7)
        return 0.35 + 0.18 * math.ceil(len(handles) / columns)

    return save_grid(folder, SIZE_ERROR_PLOT, list(dict.fromkeys(k[0] for k in worst)), draw, columns=3,
                     panel_width=4.5, panel_height=lambda m: 3.2, finish=legend)
