"""Benchmark plots (PNG, matplotlib's Agg backend): latency per runtime, and size against error.

latency.png: median latency (bars) with the fastest run and p90 (whiskers) per runtime, one panel per model.
size_error.png: artifact size on disk against its worst error vs Keras, coloured by quantization.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.bench.results import BenchRow

LATENCY_PLOT = "latency.png"
SIZE_ERROR_PLOT = "size_error.png"
ERROR_FLOOR = 1e-9  # exact artifacts (error 0) are drawn here on the log axis
Rows = Sequence[BenchRow]


def _models(rows: Rows) -> list[str]:
    return list(dict.fromkeys(row.model for row in rows))


def _config_label(row: BenchRow) -> str:
    threads = "" if row.threads is None else f", {row.threads}t"
    return f"{row.runtime} {row.artifact} [{row.setting}{threads}]"


def plot_latency(rows: Rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r.p50_ms]
    models = _models(timed) or ["(no timed rows)"]
    batches = sorted({r.batch for r in timed}) or [1]
    configs = {m: list(dict.fromkeys(_config_label(r) for r in timed if r.model == m)) for m in models}
    heights = [max(len(c), 1) * (0.12 + 0.08 * len(batches)) + 1.2 for c in configs.values()]
    figure, axes = plt.subplots(len(models), 1, figsize=(10, sum(heights)), squeeze=False,
                                gridspec_kw={"height_ratios": heights})
    width = 0.8 / len(batches)
    for axis, model in zip(axes[:, 0], models):
        labels = configs[model]
        for i, batch in enumerate(batches):
            chosen = {_config_label(r): r for r in timed if r.model == model and r.batch == batch}
            ys = [y + i * width for y, label in enumerate(labels) if label in chosen]
            picked = [chosen[label] for label in labels if label in chosen]
            axis.barh(ys, [r.p50_ms for r in picked], height=width, label=f"batch {batch}",
                      xerr=[[r.p50_ms - r.min_ms for r in picked], [r.p90_ms - r.p50_ms for r in picked]],
                      error_kw={"elinewidth": 0.8, "capsize": 2})
        axis.set_yticks([y + width * (len(batches) - 1) / 2 for y in range(len(labels))], labels, fontsize=7)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.set_xlabel("latency per batch, ms (log): bar = p50, whiskers = fastest run .. p90")
        axis.set_title(model)
        axis.grid(axis="x", which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_size_error(rows: Rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    worst: dict = {}
    for r in rows:
        if r.size_bytes and r.max_abs_err is not None and not r.is_baseline:
            key = (r.model, r.target, r.quantization)
            worst[key] = (r.size_bytes, max(r.max_abs_err, worst.get(key, (0, 0.0))[1]))
    markers = dict(zip(["saved_model", "tflite", "onnx", "tfjs"], "osD^"))
    figure, axis = plt.subplots(figsize=(9, 6))
    for quantization in sorted({k[2] for k in worst}):
        for target in sorted({k[1] for k in worst if k[2] == quantization}):
            points = [(v, k[0]) for k, v in worst.items() if k[1] == target and k[2] == quantization]
            axis.scatter([p[0][0] for p in points], [max(p[0][1], ERROR_FLOOR) for p in points],
                         marker=markers.get(target, "x"), color=f"C{sorted({k[2] for k in worst}).index(quantization)}",
                         label=f"{target} {quantization}", alpha=0.8)
            for (size, error), model in points:
                axis.annotate(model, (size, max(error, ERROR_FLOOR)), fontsize=6, alpha=0.7,
                              xytext=(3, 3), textcoords="offset points")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("artifact size on disk, bytes (log)")
    axis.set_ylabel(f"worst max |runtime - Keras| over runtimes (log; 0 drawn at {ERROR_FLOOR:g})")
    axis.set_title("Size against error per quantization (colour) and target (marker)")
    axis.grid(which="both", alpha=0.3)
    if worst:
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
