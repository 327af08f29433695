"""An explanation as a terminal table, JSON, Markdown and a plot of the error per layer."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console

from toolkit.explain.measure import LayerResult
from toolkit.explain.run import Explanation
from toolkit.files import atomic_file

PLOT = "error_per_layer.png"
EXACT_PLOTTED_DB = 160.0  # exact layers (SQNR inf) are drawn here, above float32's ~140 dB


def _number(value: float | None, form: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, form)


def _verdict(result: LayerResult, first: str | None) -> str:
    if not result.compared:
        return "-"
    if result.within_budget is None:
        return "not its output"
    if result.layer == first:
        return "FIRST DIVERGENT"
    return "ok" if result.within_budget else "over budget"


def _columns(explanation: Explanation) -> list[tuple[str, callable]]:
    quantized = explanation.quantization != "none"
    columns = [("layer", lambda r: r.layer), ("class", lambda r: r.class_name),
               ("SQNR dB", lambda r: _number(r.sqnr_db, ".1f")), ("cosine", lambda r: _number(r.cosine, ".6f")),
               ("rel err", lambda r: _number(r.rel_err, ".2e")), ("max abs err", lambda r: _number(r.max_abs_err, ".2e")),
               ("growth dB", lambda r: _number(r.growth_db, ".1f"))]
    if quantized:
        columns += [("scale", lambda r: _number(r.scale, ".3g")),
                    ("range", lambda r: f"[{r.value_range[0]:.3g}, {r.value_range[1]:.3g}]" if r.value_range else "-"),
                    ("outlier ch.", _outliers)]
    columns.append(("verdict", lambda r: _verdict(r, explanation.first_divergent)))
    return columns


def _outliers(result: LayerResult) -> str:
    if result.channel_ratio is None:
        return "-"
    flagged = f" ch {','.join(map(str, result.outlier_channels[:4]))}" if result.outlier_channels else ""
    return f"{result.channel_ratio:.0f}x{flagged}"


def print_explanation(explanation: Explanation, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"Explain: {explanation.model} {_artifact(explanation)} in {explanation.runtime}")
    columns = _columns(explanation)
    for title, _ in columns:
        table.add_column(title, no_wrap=True)
    for result in explanation.layers:
        cells = [get(result) for _, get in columns]
        if cells[-1] == "FIRST DIVERGENT":
            cells[-1] = f"[red]{cells[-1]}[/]"
        table.add_row(*cells)
    console.print(table)
    console.print(f"[dim]compared on {explanation.samples}; {explanation.rule}[/]")
    untouched = [r.layer for r in explanation.layers if not r.compared]
    if untouched:  # each one's reason is in the JSON and the report; dozens of lines here would bury the summary
        shown = ", ".join(untouched[:12]) + (f" and {len(untouched) - 12} more" if len(untouched) > 12 else "")
        console.print(f"[dim]not compared, no tensor of their own in the artifact (fused into a neighbour's op; why: --json): {shown}[/]")
    for result in explanation.layers:
        if result.note and result.compared:
            console.print(f"[dim]{result.layer}: {result.note}[/]")
    for layer, why in explanation.unreachable.items():
        console.print(f"[yellow]not reached[/] {layer}: {why}")
    colour = "red" if explanation.first_divergent else "green"
    console.print(f"[{colour}]{explanation.summary}[/]")


def _artifact(explanation: Explanation) -> str:
    return explanation.target + ("" if explanation.quantization == "none" else f"-{explanation.quantization}")


def write_json(explanations: list[Explanation], path: Path) -> None:
    """One explanation as an object; several (parity --explain) as {"explanations": [...]}."""
    body = explanations[0].to_json() if len(explanations) == 1 else {"explanations": [e.to_json() for e in explanations]}
    with atomic_file(Path(path)) as staging:
        staging.write_text(json.dumps(body, indent=1) + "\n")


def markdown(explanation: Explanation) -> str:
    columns = _columns(explanation)
    lines = [f"# Explain: {explanation.model} {_artifact(explanation)} in {explanation.runtime}", "",
             f"{explanation.summary}.", "", f"Compared on {explanation.samples}; {explanation.rule}.", "",
             f"![error per layer]({PLOT})", "",
             "| " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(get(r) for _, get in columns) + " |" for r in explanation.layers]
    notes = [f"- {r.layer}: {r.note}" for r in explanation.layers if r.note]
    notes += [f"- not reached: {layer}: {why}" for layer, why in explanation.unreachable.items()]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def write_report(explanation: Explanation, folder: Path) -> Path:
    """folder/report.md, folder/explain.json and folder/error_per_layer.png; returns the Markdown file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plot_error_per_layer(explanation, folder / PLOT)
    write_json([explanation], folder / "explain.json")
    with atomic_file(folder / "report.md") as staging:
        staging.write_text(markdown(explanation))
    return folder / "report.md"


def plot_error_per_layer(explanation: Explanation, path: Path) -> None:
    """SQNR per compared layer (the budget as a line for quantized artifacts), and max abs error on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compared = [r for r in explanation.layers if r.compared]
    names = [r.layer for r in compared]
    sqnr = [min(r.sqnr_db, EXACT_PLOTTED_DB) if r.sqnr_db is not None else math.nan for r in compared]
    errors = [max(r.max_abs_err or 0.0, 1e-12) for r in compared]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.45 * len(names) + 2), 6), sharex=True)
    colours = ["tab:red" if r.layer == explanation.first_divergent else "tab:blue" for r in compared]
    top.bar(range(len(names)), sqnr, color=colours)
    top.set_ylabel("SQNR vs Keras (dB)")
    budget = explanation.min_sqnr_db
    if budget is not None:
        top.axhline(budget, color="tab:orange", linestyle="--", label=f"budget {budget:g} dB")
        top.legend(loc="upper right")
    bottom.plot(range(len(names)), errors, marker="o")
    bottom.set_yscale("log")
    bottom.set_ylabel("max abs error")
    bottom.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    top.set_title(f"{explanation.model} {_artifact(explanation)} ({explanation.runtime}): error per layer")
    figure.tight_layout()
    with atomic_file(Path(path)) as staging:
        figure.savefig(staging, format="png", dpi=100)
    plt.close(figure)

