"""Human output: rich tables and progress on stderr/stdout. Library code never prints."""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console
from rich.table import Table

from toolkit.exporting import artifact_label

# Piped output (CI logs, `| tee`) gets a wide console so matrices are not squeezed to 80 columns.
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def _shapes(specs) -> str:
    def dims(shape):
        return ", ".join("N" if d is None else str(d) for d in shape)

    return "\n".join(f"{s['name']} ({dims(s['shape'])})" for s in specs)


def print_model_table(rows) -> None:
    table = Table(title="Reference models")
    for column in ("name", "API", "inputs", "outputs", "parameters"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for row in rows:
        table.add_row(row["name"], row["api"], _shapes(row["inputs"]), _shapes(row["outputs"]), f"{row['parameters']:,}")
    stdout.print(table)


@contextlib.contextmanager
def progress(verb: str):
    """Yield an `on_start(target, quantization)` callback that shows a spinner while converting."""
    status = stderr.status(f"{verb}...")
    status.start()

    def on_start(target, quantization):
        label = target if quantization == "none" else f"{target} ({quantization})"
        status.update(f"{verb} {label}...")

    try:
        yield on_start
    finally:
        status.stop()


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def print_export_results(results) -> None:
    for r in results:
        label = artifact_label(r.target, r.quantization)
        if not r.ok:
            stdout.print(f"[red]FAILED[/red] {r.model} {label}: {r.error}")
        elif r.reused:
            stdout.print(f"up to date  {r.path}  {human_size(r.size_bytes)}")
        else:
            stdout.print(f"exported    {r.path}  {human_size(r.size_bytes)}  {r.seconds:.1f}s")
