"""Benchmark results for people: a terminal table, and report.md + report.html with the plots beside them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from toolkit.bench.overview import PICK_HEADERS, compact_table, pick_cells, pick_intro, rejected_lines
from toolkit.bench.plots import plot_latency, plot_size_error
from toolkit.bench.results import BenchResults, BenchRow
from toolkit.bench.settings import MOBILE_LIKE_NOTE
from toolkit.bench.tradeoffs import HEADERS as TRADEOFF_HEADERS
from toolkit.bench.tradeoffs import plot_tradeoffs, table_rows, tradeoffs
from toolkit.files import atomic_file
from toolkit.labels import human_size

Rows = Sequence[BenchRow]
TABLE_COLUMNS = ("artifact", "runtime", "setting", "threads", "batch", "load ms", "first ms", "p50 ms", "p90 ms",
                 "p99 ms", "stdev ms", "samples/s", "peak RSS MB", "size", "parity", "x predict_on_batch", "x model(x)")


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"


def _size(size: int | None) -> str:
    return "-" if size is None else human_size(size)


def parity_cell(row: BenchRow) -> str:
    if row.is_baseline:
        return "reference"
    return {True: "PASS", False: "FAIL", None: "-"}[row.parity_passed]


def _speedup(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def row_cells(row: BenchRow) -> list[str]:
    return [
        row.artifact, row.runtime, row.setting, "-" if row.threads is None else str(row.threads), str(row.batch),
        _num(row.load_ms), _num(row.first_ms), _num(row.p50_ms), _num(row.p90_ms), _num(row.p99_ms),
        _num(row.stdev_ms, 2), _num(row.throughput_per_s), _num(row.peak_rss_mb), _size(row.size_bytes),
        parity_cell(row), _speedup(row.speedup_vs_predict_on_batch), _speedup(row.speedup_vs_model_call),
    ]


def _models(rows: Rows) -> list[str]:
    return list(dict.fromkeys(row.model for row in rows))


def problem_lines(rows: Rows) -> list[str]:
    """One line per model x artifact x runtime x setting that has no timings or fails parity (batches merged)."""
    grouped: dict = {}
    for row in rows:
        if row.error:
            message = row.error
        elif row.parity_error and row.parity_passed is not True:
            message = f"parity: {row.parity_error}"
        else:
            continue
        key = (f"{row.model} {row.artifact} in {row.runtime} ({row.setting}", message)
        grouped.setdefault(key, []).append(str(row.batch))
    return [f"{where}, batch {', '.join(batches)}): {message}" for (where, message), batches in grouped.items()]


def _short(value: float | None) -> str:
    """At most 6 characters: the terminal table must fit 160 columns."""
    if value is None:
        return "-"
    for limit, text in ((1e5, f"{value / 1e3:.0f}k"), (100, f"{value:.0f}"), (10, f"{value:.1f}"), (1, f"{value:.2f}"),
                        (0.01, f"{value:.3f}")):
        if value >= limit:
            return text
    return f"{value:.4f}"


def _short_size(size: int | None) -> str:
    return _size(size).replace(" ", "").replace("B", "") if size else "-"


TERMINAL_COLUMNS = ("artifact", "runtime", "setting", "thr", "b", "load", "first", "p50", "p90", "p99", "smp/s",
                    "RSS MB", "size", "parity", "vs pob", "vs call")


def terminal_cells(row: BenchRow) -> list[str]:
    colour = {"PASS": "green", "FAIL": "red"}.get(parity_cell(row))
    parity = f"[{colour}]{parity_cell(row)}[/]" if colour else parity_cell(row).replace("reference", "ref")
    return [
        row.artifact.replace("saved_model", "sm"), row.runtime.replace("keras-predict_on_batch", "keras-pob"),
        row.setting, "-" if row.threads is None else str(row.threads), str(row.batch),
        *(_short(v) for v in (row.load_ms, row.first_ms, row.p50_ms, row.p90_ms, row.p99_ms, row.throughput_per_s,
                              row.peak_rss_mb)),
        _short_size(row.size_bytes), parity, _speedup(row.speedup_vs_predict_on_batch), _speedup(row.speedup_vs_model_call),
    ]


def print_table(results: BenchResults, console: Console) -> None:
    """One table per model (timed rows), then one line per variant without timings or failing parity."""
    from rich.table import Table

    for model in _models(results.rows):
        table = Table(title=f"Benchmark: {model}  (ms; smp/s = samples/s; size in KB/MB; vs pob / vs call = "
                      "speed-up over Keras predict_on_batch / model(x), same batch, CPU)")
        for column in TERMINAL_COLUMNS:
            table.add_column(column, no_wrap=True, justify="left" if column in TERMINAL_COLUMNS[:3] else "right")
        for row in results.rows:
            if row.model == model and row.error is None:
                table.add_row(*terminal_cells(row))
        console.print(table)
    for line in problem_lines(results.rows):
        console.print(f"[red]parity[/] {line}" if "): parity: " in line else f"[yellow]no timings[/] {line}")


# --- report.md / report.html -----------------------------------------------------------------
def write_report(results: BenchResults, folder: Path) -> Path:
    """report.md and report.html (plots beside them) in `folder`; returns the HTML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plots = [name for plot in (plot_tradeoffs, plot_latency, plot_size_error) for name in plot(results.rows, folder)]
    sections = report_sections(results, plots)
    for name, render in (("report.md", to_markdown), ("report.html", to_html)):
        with atomic_file(folder / name) as staging:
            staging.write_text(render(sections))
    return folder / "report.html"


def _method(results: BenchResults) -> list[str]:
    plan = results.plan
    return [
        f"Each row: load (session/interpreter creation), first inference, {plan.warmup} warm-up runs, then "
        f"steady-state runs until {plan.runs} runs or {plan.time_budget_s:g} s (at least {plan.min_runs}). "
        "Medians (p50) and spreads (p90, p99, stdev) are reported, never a single run; shared machines are noisy, "
        "so compare ratios rather than absolute numbers.",
        "Timing 'wall': perf_counter around the engine call in this Python process (inputs checked and outputs "
        "converted once, by the first inference; garbage collection paused while timing, as timeit does); "
        "'runtime': measured inside the runtime's own process (TF.js in Node or a browser), excluding the pipe. "
        "Browsers coarsen performance.now() (to 5 us steps in headless Chromium here), so sub-0.1 ms browser "
        "latencies are quantized.",
        "samples/s = batch x 1000 / mean latency. Peak RSS: the process doing the runs (this Python process for "
        "in-process runtimes, TensorFlow included; Node or Chromium when their pid is known; see rss_source in the JSON). "
        "Size: the artifact's files on disk, without manifest.json and golden.json.",
        "Parity: the verdict of toolkit.parity.check_parity for the same artifact on the same runtime variant "
        "(batches 1 and 4; quantized artifacts judged by top-1 agreement or SQNR on a sample set), so a fast but "
        "wrong artifact shows FAIL. Speed-ups: the CPU Keras p50 of the same model and batch divided by the row's p50.",
        f"Picks: {pick_intro()}",
        "Trade-offs: per artifact, its size (and ratio to the same target's float32 artifact), the worst top-1 "
        "agreement and SQNR over the runtimes that ran it, and the fastest p50 at the smallest batch; smallest "
        "first, so the first PASS line is the smallest artifact that is still correct.",
        "Settings: cpu = every runtime with all cores; gpu = ONNX Runtime CUDAExecutionProvider and TensorFlow "
        "SavedModel on the GPU (rows say 'no GPU' where there is none); " + MOBILE_LIKE_NOTE,
    ]


def _environment_lines(environment: dict) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in environment.get("versions", {}).items() if v != "not installed")
    return [
        f"Measured {environment.get('date')} on {environment.get('cpu')} ({environment.get('cores')} cores, "
        f"{environment.get('memory_gb')} GB), {environment.get('platform')}, Python {environment.get('python')}.",
        f"GPUs: {', '.join(environment.get('gpus') or []) or 'none'}. Node: {environment.get('node') or 'not found'}.",
        f"Versions: {versions}.",
        f"Load average (1, 5, 15 min) at start {environment.get('load_average_start')}, at end "
        f"{environment.get('load_average_end')}, on {environment.get('cores')} cores: other work on the machine "
        "inflates the spreads and, above the core count, the medians too.",
    ]


def _speedup_table(rows: Rows) -> tuple[list[str], list[list[str]]]:
    headers = ["model", "runtime", "artifact", "setting", "threads", "batch", "p50 ms", "x predict_on_batch", "x model(x)"]
    timed = sorted((r for r in rows if r.p50_ms and not r.is_baseline),
                   key=lambda r: (r.model, r.batch, -(r.speedup_vs_predict_on_batch or 0)))
    body = [[r.model, r.runtime, r.artifact, r.setting, "-" if r.threads is None else str(r.threads), str(r.batch),
             _num(r.p50_ms), _speedup(r.speedup_vs_predict_on_batch), _speedup(r.speedup_vs_model_call)] for r in timed]
    return headers, body


def report_sections(results: BenchResults, plots: Sequence[str]) -> list[tuple]:
    """Top down: what to ship, one compact table per model, plots, trade-offs, every row; how, last."""
    rows = results.rows
    sections: list[tuple] = [("h1", "Benchmark report: what to ship"), ("p", pick_intro())]
    sections += [("table", PICK_HEADERS, [pick_cells(p) for p in results.picks])]
    rejected = rejected_lines(results.picks)
    if rejected:
        sections += [("p", "Rejected (as fast as the pick, or faster, but not shippable):"), ("list", rejected)]
    for model in _models(rows):
        headers, body, batch = compact_table(rows, model)
        sections += [("h2", f"{model}: p50 ms at batch {batch} per setting, with the parity verdict"),
                     ("table", headers, body)]
    sections += [("h2", "Plots"), *(("img", plot) for plot in plots)]
    items = tradeoffs(rows)
    for model in _models(rows):
        body = table_rows([t for t in items if t.model == model])
        if body:
            sections += [("h2", f"Trade-offs: {model} (smallest first)"), ("table", TRADEOFF_HEADERS, body)]
    sections += [("h2", "Speed-up against Keras (fastest first)"), ("table", *_speedup_table(rows))]
    for model in _models(rows):
        body = [row_cells(r) for r in rows if r.model == model and r.error is None]
        sections += [("h2", f"Results: {model}"), ("table", list(TABLE_COLUMNS), body)]
    problems = problem_lines(rows)
    if problems:
        sections += [("h2", "Rows without timings, and parity failures"), ("list", problems)]
    sections += [("h2", "Where and how these numbers were measured"),
                 *(("p", line) for line in _environment_lines(results.environment)), ("list", _method(results))]
    return sections


def to_markdown(sections: Sequence[tuple]) -> str:
    out = []
    for kind, *content in sections:
        if kind in ("h1", "h2"):
            out.append(f"{'#' * int(kind[1])} {content[0]}")
        elif kind == "p":
            out.append(content[0])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in content[0]))
        elif kind == "img":
            out.append(f"![{content[0]}]({content[0]})")
        elif kind == "table":
            headers, body = content
            lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            out.append("\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body]))
    return "\n\n".join(out) + "\n"


def to_html(sections: Sequence[tuple]) -> str:
    e = html.escape
    out = ["<!doctype html>", "<html><head><meta charset='utf-8'><title>Benchmark report</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>"]
    for kind, *content in sections:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{e(content[0])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{e(content[0])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in content[0]) + "</ul>")
        elif kind == "img":
            out.append(f"<p><img src='{e(content[0])}' alt='{e(content[0])}'></p>")
        elif kind == "table":
            headers, body = content
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>" for cells in body)
                       + "</table>")
    return "\n".join(out + ["</body></html>"]) + "\n"
