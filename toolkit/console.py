"""Human output: rich tables and progress on stderr/stdout. Library code never prints; the CLI calls this."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence

from rich.console import Console
from rich.table import Table

from toolkit.export.run import ExportResult
from toolkit.labels import artifact_label, human_size

# Piped output (CI logs, `| tee`) gets a wide console so matrices are not squeezed to 80 columns.
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def _shapes(specs: Sequence[dict]) -> str:
    def dims(shape: Sequence) -> str:
        return ", ".join("N" if d is None else str(d) for d in shape)

    return "\n".join(f"{s['name']} ({dims(s['shape'])})" for s in specs)


def print_model_table(rows: Sequence[dict]) -> None:
    table = Table(title="Reference models")
    for column in ("name", "tier", "API", "inputs", "outputs", "parameters", "trained"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for row in rows:
        table.add_row(row["name"], row["tier"], row["api"], _shapes(row["inputs"]), _shapes(row["outputs"]),
                      f"{row['parameters']:,}", "yes" if row["trained"] else "on first use")
    stdout.print(table)


class ProgressLine:
    """A rich progress bar on stderr (done/total and time left once a total is known), quiet when stderr is not a
    terminal: `on_start(target, quantization)` while exporting, `on_row(row)` per parity row, `on_step(text)` as each
    benchmark unit starts, `on_total(n)` adds n to the steps expected."""

    def __init__(self, verb: str, check: Callable[[], None] = lambda: None):
        """`check` runs before each step: the CLI's raises KeyboardInterrupt once Ctrl+C was pressed."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.verb, self.rows, self.check, self.done = verb, 0, check, 0
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("left"), TimeRemainingColumn(), console=stderr, transient=True,
                            disable=not stderr.is_terminal)
        self.task = self.bar.add_task(f"{verb}...", total=None)

    def _show(self, text: str) -> None:
        # Long descriptions would squeeze the bar out of an 80-column terminal.
        self.bar.update(self.task, completed=self.done, description=text if len(text) <= 60 else text[:57] + "...")

    def on_total(self, steps: int) -> None:
        total = self.bar.tasks[0].total or 0
        self.bar.update(self.task, total=total + steps)

    def on_start(self, target: str, quantization: str) -> None:
        self.check()
        self._show(f"{self.verb} {artifact_label(target, quantization)}")

    def on_row(self, row: object) -> None:
        self.check()
        self.rows += 1
        self.done += 1
        self._show(f"parity: {row.model} {row.artifact} on {row.runtime} (batch {row.batch})")

    def on_step(self, text: str) -> None:
        """A benchmark unit starts: the previous ones are done."""
        self.check()
        self._show(f"bench: {text}")
        self.done += 1


@contextlib.contextmanager
def progress(verb: str, check: Callable[[], None] = lambda: None) -> Iterator[ProgressLine]:
    """A progress bar on stderr for the duration of the block (nothing when stderr is not a terminal)."""
    line = ProgressLine(verb, check)
    line.bar.start()
    try:
        yield line
    finally:
        line.bar.stop()


def print_export_results(results: Sequence[ExportResult]) -> None:
    for r in results:
        if r.skipped:
            stdout.print(f"[yellow]skipped[/]     {r.model} {r.label}: {r.skipped}")
        elif not r.ok:
            stdout.print(f"[red]FAILED[/red] {r.model} {r.label}: {r.error}")
        elif r.reused:
            stdout.print(f"up to date  {r.path}  {human_size(r.size_bytes)}")
        else:
            note = f"  ({r.note})" if r.note else ""
            stdout.print(f"exported    {r.path}  {human_size(r.size_bytes)}  {r.seconds:.1f}s{note}")
