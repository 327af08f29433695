"""Run to run: each row's p50 against the same row of an earlier `--json` file, with a noise band.

The band comes from the spread of the two runs: a run's relative spread is (p50 - fastest) / p50 of its
steady-state latencies, and the band is the two spreads added in quadrature. A ratio outside
[1 / (1 + band), 1 + band] is reported as slower or faster; inside it, as noise. The lower side is used
because the tail above p50 is preemption by other processes (p90 of a throttled browser row is often 10x
its p50), which says little about where the median lands; how far a run's own latencies reach below its
median does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from toolkit.bench.results import BenchRow
from toolkit.errors import InputsError

KEY = ("model", "target", "quantization", "runtime", "setting", "threads", "batch")
HEADERS = ("model", "artifact", "runtime", "setting", "thr", "b", "old p50", "new p50", "new/old", "noise", "change")


@dataclass
class Change:
    key: tuple
    artifact: str
    old_p50_ms: float
    new_p50_ms: float
    ratio: float  # new / old: above 1 is slower
    band: float  # relative noise: changes within 1 +- band are not told apart from noise

    @property
    def verdict(self) -> str:
        if self.ratio > 1 + self.band:
            return "slower"
        if self.ratio < 1 / (1 + self.band):
            return "faster"
        return "within noise"


def read_previous(path: Path) -> list[dict]:
    """The rows of an earlier `toolkit bench --json` file; InputsError (exit 2) naming what is wrong."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise InputsError(f"--compare {path}: cannot read it ({error.strerror or error})") from error
    except ValueError as error:
        raise InputsError(f"--compare {path} is not JSON ({error})") from error
    rows = data.get("results") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and set(KEY) <= set(r) for r in rows):
        raise InputsError(f"--compare {path} is not a `toolkit bench --json` file (no \"results\" rows with {', '.join(KEY)})")
    return rows


def spread(p50: float, fastest: float | None) -> float:
    return max(0.0, (p50 - fastest) / p50) if fastest is not None and p50 > 0 else 0.0


def compare_rows(previous: Sequence[dict], rows: Sequence[BenchRow]) -> tuple[list[Change], int, int]:
    """(changes of rows timed in both runs, rows only in the new run, rows only in the old one)."""
    old = {tuple(r[k] for k in KEY): r for r in previous if r.get("p50_ms")}
    new = {tuple(getattr(r, k) for k in KEY): r for r in rows if r.p50_ms}
    changes = []
    for key, row in new.items():
        if key in old:
            before = old[key]
            band = math.hypot(spread(before["p50_ms"], before.get("min_ms")), spread(row.p50_ms, row.min_ms))
            changes.append(Change(key, row.artifact, before["p50_ms"], row.p50_ms, row.p50_ms / before["p50_ms"], band))
    return changes, len(set(new) - set(old)), len(set(old) - set(new))


def print_changes(previous: Sequence[dict], rows: Sequence[BenchRow], console: Console, source: Path) -> None:
    from rich.table import Table

    changes, only_new, only_old = compare_rows(previous, rows)
    table = Table(title=f"p50 against {source} (new/old above 1 is slower; noise = the two runs' spreads, "
                  "(p50 - fastest) / p50, in quadrature)")
    for header in HEADERS:
        table.add_column(header, no_wrap=True, justify="left" if header in HEADERS[:4] or header == "change" else "right")
    colours = {"slower": "red", "faster": "green", "within noise": "dim"}
    for c in changes:
        model, _, _, runtime, setting, threads, batch = c.key
        table.add_row(model, c.artifact, runtime, setting, "-" if threads is None else str(threads), str(batch),
                      f"{c.old_p50_ms:.3g}", f"{c.new_p50_ms:.3g}", f"{c.ratio:.2f}x", f"±{c.band:.0%}",
                      f"[{colours[c.verdict]}]{c.verdict}[/]")
    console.print(table)
    counts = {v: sum(c.verdict == v for c in changes) for v in colours}
    console.print(f"{len(changes)} rows in both runs: {counts['slower']} slower, {counts['faster']} faster, "
                  f"{counts['within noise']} within noise; {only_new} only in this run, {only_old} only in {source}")
