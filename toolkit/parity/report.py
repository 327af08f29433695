"""The parity matrix as a terminal table, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from toolkit.files import atomic_file
from toolkit.labels import artifact_label
from toolkit.parity.run import ParityRow
from toolkit.parity.tolerances import DEFAULT_FLOAT32, MIN_TOP1_AGREEMENT

Rows = Sequence[ParityRow]

COLUMNS = ("model", "target", "quantization", "runtime", "batch", "max_abs_err", "max_rel_err",
           "mean_abs_err", "p99_abs_err", "cosine", "top1_agreement", "verdict")


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
        return f"{value:.6f}" if column in ("cosine", "top1_agreement") else f"{value:.2e}"
    return str(value)


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
    """One line per artifact kind x runtime over all models: how many rows pass and the worst errors."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.target, row.quantization, row.runtime), []).append(row)
    lines = ["| artifact | runtime | rows passing | models | worst max abs err | worst p99 abs err | worst cosine | min top-1 agreement |",
             "|---|---|---|---|---|---|---|---|"]
    for (target, quantization, runtime), group in groups.items():
        def worst(attribute, pick=max, group=group):
            values = [getattr(r, attribute) for r in group if getattr(r, attribute) is not None]
            return pick(values) if values else None

        artifact = artifact_label(target, quantization)
        cells = [worst("max_abs_err"), worst("p99_abs_err"), worst("cosine", min), worst("top1_agreement", min)]
        shown = ["-" if v is None else (f"{v:.6f}" if i >= 2 else f"{v:.2e}") for i, v in enumerate(cells)]
        lines.append(f"| {artifact} | {runtime} | {sum(r.passed for r in group)}/{len(group)} | "
                     f"{len({r.model for r in group})} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(rows: Rows, path: Path, title: str = "Parity matrix") -> None:
    passed = sum(row.passed for row in rows)
    intro = (f"# {title}\n\n{passed}/{len(rows)} rows pass; {len(unexpected_failures(rows))} unexpected failures. "
             f"Pass rule per element: |got - ref| <= atol + rtol * |ref| (float32: atol {DEFAULT_FLOAT32.atol:g}, "
             f"rtol {DEFAULT_FLOAT32.rtol:g}; quantized artifacts: looser bounds and top-1 agreement >= "
             f"{MIN_TOP1_AGREEMENT:g} for classifiers).\n\n")
    with atomic_file(Path(path)) as staging:
        staging.write_text(intro + "## Summary\n\n" + summary_table(rows) + "\n## Every row\n\n" + markdown_table(rows))


def write_json(rows: Rows, path: Path) -> None:
    with atomic_file(Path(path)) as staging:
        staging.write_text(json.dumps({"results": [row.to_json() for row in rows]}, indent=1) + "\n")


TERMINAL_COLUMNS = ("runtime", "batch", "max_abs_err", "max_rel_err", "mean_abs_err", "p99_abs_err",
                    "cosine", "top1_agreement", "verdict")


def print_table(rows: Rows, console: Console) -> None:
    """Compact terminal matrix: one table per model, the artifact (target-quantization) first."""
    from rich.table import Table

    colours = {"PASS": "green", "FAIL": "red", "XFAIL": "yellow", "XPASS": "yellow", "SKIP": "yellow", "UNAVAILABLE": "yellow"}
    for model in dict.fromkeys(row.model for row in rows):
        table = Table(title=f"Parity: {model}")
        table.add_column("artifact", no_wrap=True)
        for column in TERMINAL_COLUMNS:
            table.add_column(column.replace("_err", "").replace("_agreement", "").replace("_", " "), no_wrap=True)
        for row in (r for r in rows if r.model == model):
            artifact = artifact_label(row.target, row.quantization)
            cells = [_cell(row, c) for c in TERMINAL_COLUMNS]
            cells[-1] = f"[{colours[cells[-1]]}]{cells[-1]}[/]"
            table.add_row(artifact, *cells)
        console.print(table)
        inputs = next((r.inputs for r in rows if r.model == model and r.inputs), None)
        if inputs:
            console.print(f"[dim]{model} compared on: {inputs}[/]")
    print_failures(rows, console)


def print_failures(rows: Rows, console: Console) -> None:
    """One line per failing row; rows that checked nothing are summed up once per artifact and runtime."""
    shown = set()
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
