"""The top of the benchmark report: the picks, what was rejected, and one compact table per model.

The compact table has a line per artifact x runtime and a column per setting; each cell is the
batch-1 p50 (per thread count where a setting times several) and the parity verdict, so a person
reads a model's whole run on one screen. The full rows come later in the report.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from toolkit.bench.picks import PICK_WINDOW, Pick, runtime_text
from toolkit.bench.results import BenchRow
from toolkit.labels import human_size

PICK_HEADERS = ["model", "setting", "ship", "runtime", "p50 ms", "size", "why"]
SETTING_MEANING = {"cpu": "a server, all cores", "browser": "desktop Chromium", "mobile-like": "a phone's budget",
                   "gpu": "a GPU"}


def pick_intro() -> str:
    return (f"Per model and setting: the fastest artifact x runtime at batch 1 that passes parity, or the smallest "
            f"one within {PICK_WINDOW:.0%} of it. Settings: " + "; ".join(f"{k} = {v}" for k, v in SETTING_MEANING.items())
            + ". A row that fails parity is never picked; those as fast as the pick are listed below it.")


def pick_cells(pick: Pick) -> list[str]:
    if pick.artifact is None:
        return [pick.model, pick.setting, "nothing", "-", "-", "-", pick.reason]
    return [pick.model, pick.setting, pick.artifact, runtime_text(pick.runtime or "", pick.threads),
            f"{pick.p50_ms:.3g}", human_size(pick.size_bytes) if pick.size_bytes else "-", pick.reason]


def rejected_lines(picks: Sequence[Pick]) -> list[str]:
    return [f"{p.model} ({p.setting}): {r.artifact} on {runtime_text(r.runtime, r.threads)}, {r.p50_ms:.3g} ms: {r.why}"
            for p in picks for r in p.rejected]


def print_picks(picks: Sequence[Pick], console: Console) -> None:
    """The picks as a terminal table, then the rejected rows: what `toolkit bench` and `toolkit run` end with."""
    from rich.table import Table

    table = Table(title="What to ship (fastest passing at batch 1, or the smallest within "
                  f"{PICK_WINDOW:.0%} of it)")
    for header in PICK_HEADERS:
        table.add_column(header, overflow="fold", justify="right" if header in ("p50 ms", "size") else "left")
    for pick in picks:
        cells = pick_cells(pick)
        if pick.artifact is None:
            cells[2] = "[red]nothing[/]"
        table.add_row(*cells)
    console.print(table)
    for line in rejected_lines(picks):
        console.print(f"[red]rejected[/] {line}")


def compact_table(rows: Sequence[BenchRow], model: str) -> tuple[list[str], list[list[str]], int | None]:
    """(headers, body, batch) for one model: artifact x runtime lines, setting columns, at the smallest batch."""
    mine = [r for r in rows if r.model == model]
    batch = min((r.batch for r in mine), default=None)
    mine = [r for r in mine if r.batch == batch]
    settings = list(dict.fromkeys(r.setting for r in mine))
    lines = list(dict.fromkeys((r.artifact, r.runtime) for r in mine))
    body = []
    for artifact, runtime in lines:
        cells = [_cell([r for r in mine if (r.artifact, r.runtime, r.setting) == (artifact, runtime, s)]) for s in settings]
        body.append([artifact, runtime, *cells])
    return ["artifact", "runtime", *settings], body, batch


def _cell(rows: Sequence[BenchRow]) -> str:
    """'0.0033 PASS', '0.0052 (1t) / 0.0064 (2t) PASS', 'no GPU', or '' when the setting does not time it."""
    if not rows:
        return ""
    timed = [r for r in rows if r.p50_ms]
    if not timed:
        return "no timings" if rows[0].error_kind != "unavailable" else _short_reason(rows[0].error)
    several = len(timed) > 1
    times = " / ".join(f"{r.p50_ms:.3g}" + (f" ({r.threads}t)" if several else "") for r in timed)
    verdicts = {r.parity_passed for r in timed}
    if timed[0].is_baseline:
        verdict = "ref"
    else:
        verdict = "FAIL" if False in verdicts else "PASS" if verdicts == {True} else "unchecked"
    return f"{times} {verdict}"


def _short_reason(error: str | None) -> str:
    return (error or "unavailable").split(":")[0]
