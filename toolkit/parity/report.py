"""The parity matrix as a terminal table, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from toolkit.files import atomic_file
from toolkit.labels import artifact_label
from toolkit.parity.run import ParityRow
from toolkit.parity.tolerances import DEFAULT_FLOAT32, QUANTIZED_BUDGETS

Rows = Sequence[ParityRow]

COLUMNS = ("model", "target", "quantization", "runtime", "batch", "max_abs_err", "max_rel_err",
           "mean_abs_err", "p99_abs_err", "cosine", "sqnr_db", "top1_agreement", "top5_containment", "verdict")
SHARES = ("cosine", "top1_agreement", "top5_containment")


# Rows in which nothing was compared, and why: neither a pass nor a failure.
NOT_CHECKED = {"skipped": "SKIP", "unavailable": "UNAVAILABLE"}


def verdict(row: ParityRow) -> str:
    if row.error_kind in NOT_CHECKED:
        return NOT_CHECKED[row.error_kind]
    if row.expected_failure:
        return "XPASS" if row.passed else "XFAIL"
    return "PASS" if row.passed else "FAIL"


def unexpected_failures(rows: Rows) -> list[ParityRow]:
    return [row for row in rows if not row.passed and not row.expected_failure and row.error_kind not in NOT_CHECKED]


def checked(rows: Rows) -> list[ParityRow]:
    """Rows that compared something (not a skipped export, not a runtime missing here)."""
    return [row for row in rows if row.error_kind not in NOT_CHECKED]


def _cell(row: ParityRow, column: str) -> str:
    if column == "verdict":
        return verdict(row)
    value = getattr(row, column)
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number(column, value)
    return str(value)


def _number(column: str, value: float) -> str:
    if column == "sqnr_db":
        return f"{value:.1f}" if abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
    return f"{value:.6f}" if column in SHARES else f"{value:.2e}"


def markdown_table(rows: Rows) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row, c) for c in COLUMNS) + " |" for row in rows]
    problems = [row for row in rows if row.error]
    if problems:
        lines += ["", "Errors and expected failures:", ""]
        lines += [
            f"- {r.model} {r.target}/{r.quantization} on {r.runtime} (batch {r.batch}): {r.error}"
            + (f" (expected: {r.expected_failure})" if r.expected_failure else "")
            for r in problems
        ]
    return "\n".join(lines) + "\n"


def summary_table(rows: Rows) -> str:
    """One line per artifact kind x runtime over all models: how many rows pass (and fail as documented), and the
    worst figures of the others (an expected failure's are in its own row and reason)."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.target, row.quantization, row.runtime), []).append(row)
    lines = ["| artifact | runtime | rows passing | models | worst max abs err | worst p99 abs err | worst cosine | "
             "min SQNR (dB) | min top-1 agreement |", "|---|---|---|---|---|---|---|---|---|"]
    for (target, quantization, runtime), group in groups.items():
        judged = [r for r in group if not r.expected_failure] or group

        def worst(attribute, pick=max, judged=judged):
            values = [getattr(r, attribute) for r in judged if getattr(r, attribute) is not None]
            return pick(values) if values else None

        artifact = artifact_label(target, quantization)
        columns = {"max_abs_err": max, "p99_abs_err": max, "cosine": min, "sqnr_db": min, "top1_agreement": min}
        shown = [_cell_of(column, worst(column, pick)) for column, pick in columns.items()]
        expected = sum(bool(r.expected_failure) and not r.passed for r in group)
        passing = f"{sum(r.passed for r in group)}/{len(group)}" + (f" + {expected} xfail" if expected else "")
        lines.append(f"| {artifact} | {runtime} | {passing} | {len({r.model for r in group})} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def _cell_of(column: str, value: float | None) -> str:
    return "-" if value is None else _number(column, value)


def pass_rules() -> str:
    """The pass rules in one paragraph, for reports."""
    budgets = "; ".join(f"{mode}: top-1 >= {b.min_top1:g}, SQNR >= {b.min_sqnr_db:g} dB" for mode, b in QUANTIZED_BUDGETS.items())
    return (f"Float32 artifacts pass per element: |got - ref| <= atol + rtol * |ref| (atol {DEFAULT_FLOAT32.atol:g}, "
            f"rtol {DEFAULT_FLOAT32.rtol:g}). Quantized artifacts are judged on a sample set by what each output "
            f"means: classification outputs by top-1 agreement with Keras, others by SQNR ({budgets}); their "
            "cosine, SQNR, top-1 and top-5 columns come from that set, the error columns from the row's batch.")


def write_markdown(rows: Rows, path: Path, title: str = "Parity matrix") -> None:
    passed = sum(row.passed for row in rows)
    judged = next((row.judged_on for row in rows if row.judged_on), None)
    intro = (f"# {title}\n\n{passed}/{len(rows)} rows pass; {len(unexpected_failures(rows))} unexpected failures. "
             f"{pass_rules()}" + (f" Judgement set: {judged}." if judged else "") + "\n\n")
    with atomic_file(Path(path)) as staging:
        staging.write_text(intro + "## Summary\n\n" + summary_table(rows) + "\n## Every row\n\n" + markdown_table(rows))


def write_json(rows: Rows, path: Path) -> None:
    with atomic_file(Path(path)) as staging:
        staging.write_text(json.dumps({"results": [row.to_json() for row in rows]}, indent=1) + "\n")


TERMINAL_COLUMNS = ("runtime", "batch", "max_abs_err", "p99_abs_err", "cosine", "sqnr_db", "top1_agreement",
                    "top5_containment", "verdict")


TERMINAL_HEADERS = {"sqnr_db": "SQNR dB", "top1_agreement": "top1", "top5_containment": "top5"}


Hint = Callable[[ParityRow], "str | None"]  # a line to print under a failing row (the explain command)


def print_table(rows: Rows, console: Console, hint: Hint | None = None) -> None:
    """Compact terminal matrix: one table per model, the artifact (target-quantization) first."""
    from rich.table import Table

    colours = {"PASS": "green", "FAIL": "red", "XFAIL": "yellow", "XPASS": "yellow", "SKIP": "yellow", "UNAVAILABLE": "yellow"}
    for model in dict.fromkeys(row.model for row in rows):
        table = Table(title=f"Parity: {model}")
        table.add_column("artifact", no_wrap=True)
        for column in TERMINAL_COLUMNS:
            table.add_column(TERMINAL_HEADERS.get(column, column.replace("_err", "").replace("_", " ")), no_wrap=True)
        for row in (r for r in rows if r.model == model):
            artifact = artifact_label(row.target, row.quantization)
            cells = [_cell(row, c) for c in TERMINAL_COLUMNS]
            cells[-1] = f"[{colours[cells[-1]]}]{cells[-1]}[/]"
            table.add_row(artifact, *cells)
        console.print(table)
        inputs = next((r.inputs for r in rows if r.model == model and r.inputs), None)
        if inputs:
            console.print(f"[dim]{model} compared on: {inputs}[/]")
        judged = next((r.judged_on for r in rows if r.model == model and r.judged_on), None)
        if judged:
            console.print(f"[dim]{model} quantized artifacts judged on: {judged} (top-1, top-5, SQNR, cosine)[/]")
    print_failures(rows, console, hint)


def print_failures(rows: Rows, console: Console, hint: Hint | None = None) -> None:
    """One line per failing row; rows that checked nothing are summed up once per artifact and runtime.
    `hint(row)`: a line printed once per artifact and runtime, under its first failing row."""
    shown = set()
    hinted = set()
    for row in rows:
        if not row.error or row.passed:
            continue
        if row.error_kind in NOT_CHECKED:
            key = (row.model, row.artifact, row.runtime, row.error)
            if key not in shown:
                shown.add(key)
                console.print(f"[yellow]{verdict(row)}[/] {row.model} {row.artifact} {row.runtime}: {row.error}")
            continue
        console.print(f"[red]{verdict(row)}[/] {row.model} {row.artifact} {row.runtime} b{row.batch}: {row.error}")
        line = hint(row) if hint and (row.model, row.artifact, row.runtime) not in hinted else None
        if line:
            hinted.add((row.model, row.artifact, row.runtime))
            console.print(f"  [dim]localise it:[/] {line}", soft_wrap=True)
