"""Run many models' units in parallel and give back what a serial run gives: the same rows, in its order.

`run_units` first checks every model (one unit each: it loads, validates what the user passed and
that every artifact folder can be written), so bad input fails before anything is exported; then it
runs the work units on the local pool or on Ray and hands their results on in unit order as soon as
every earlier unit is in (a --json written from `on_row` is always a prefix of the final one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import ModelLoadError, UsageError
from toolkit.export.isolation import unwrap
from toolkit.export.layout import artifact_dir
from toolkit.export.run import ExportResult
from toolkit.files import artifact_lock, sweep_stale_temporaries
from toolkit.parity.run import ParityRow
from toolkit.scale.pool import LocalPool
from toolkit.scale.units import (
    check_units,
    export_from_json,
    lost_export,
    lost_rows,
    model_name,
    row_from_json,
    work_units,
)

LOCAL_RAY = ""  # Scale.ray for a local Ray instance (no address)


@dataclass(frozen=True)
class Scale:
    """How units run: `jobs` worker processes here, or Ray tasks (`ray`: an address, or LOCAL_RAY)."""

    jobs: int = 1
    ray: str | None = None

    @property
    def parallel(self) -> bool:
        return self.jobs > 1 or self.ray is not None


def check_model_names(models: Sequence[str]) -> None:
    """Two models filed under one name would share OUT/<name>/: refused before anything runs."""
    seen: dict[str, str] = {}
    for spec in models:
        name = model_name(spec)
        if name in seen:
            raise UsageError(f"{seen[name]} and {spec} are both named '{name}', so their artifacts would share one "
                             "folder; rename one of the files")
        seen[name] = spec


@dataclass
class Callbacks:
    on_dispatch: Callable[[dict, int], None] | None = None  # (unit, worker pid) as a unit starts (local pool only)
    on_total: Callable[[int], None] | None = None  # parity rows to come, once the models are checked
    on_row: Callable[[ParityRow], None] | None = None
    on_unit: Callable[[dict, dict], None] | None = None  # (unit, envelope) as each ends, in any order (measurements)


def run_units(models: Sequence[str], pairs: Sequence[tuple[str, str]], kind: str, request: dict, scale: Scale,
              perform: Callable[[dict], dict], runtimes_of: Callable[[str], list[str]],
              callbacks: Callbacks | None = None) -> tuple[list[ExportResult], list[ParityRow]]:
    """(exports, parity rows) of every model x pair, as a serial run orders them. `perform` runs one unit
    in a Ray task (toolkit.scale.worker.perform_unit); `runtimes_of(target)`: the runtime labels a
    parity unit of that target makes rows for (the rows of a unit whose worker died)."""
    callbacks = callbacks or Callbacks()
    check_model_names(models)
    request = {**request, "pairs": [list(pair) for pair in pairs]}
    with _pool(scale, perform) as pool:
        checks = check_units(models, request)
        answers: dict[int, dict] = {}
        pool.run(checks, lambda unit, answer: answers.__setitem__(unit["index"], answer))
        for unit in checks:
            if "lost" in answers[unit["index"]]:
                raise ModelLoadError(f"checking {unit['model']}: {answers[unit['index']]['lost']}")
            unwrap(answers[unit["index"]])  # a ToolkitError of one model stops the run here, before any export
        batches = {unit["model"]: answers[unit["index"]]["result"]["batches"] for unit in checks}
        units = work_units(models, pairs, kind, request)
        if kind == "parity" and callbacks.on_total:
            callbacks.on_total(sum(len(runtimes_of(u["target"])) * len(batches[u["model"]]) for u in units))
        stream = _InOrder(units, batches, runtimes_of, callbacks, sweep=scale.ray in (None, LOCAL_RAY))
        pool.run(units, stream.on_answer, callbacks.on_dispatch)
    return stream.exports, stream.rows


def _pool(scale: Scale, perform: Callable[[dict], dict]):
    if scale.ray is None:
        return LocalPool(scale.jobs)
    from toolkit.scale.ray_cluster import RayPool

    return RayPool(scale.ray or None, scale.jobs if scale.jobs > 1 else os.cpu_count() or 1, perform)


class _InOrder:
    """Collects answers as they come and hands results on in unit order."""

    def __init__(self, units: list[dict], batches: dict[str, list[int]], runtimes_of: Callable[[str], list[str]],
                 callbacks: Callbacks, sweep: bool):
        self.units, self.batches, self.runtimes_of, self.sweep = units, batches, runtimes_of, sweep
        self.on_row, self.on_unit = callbacks.on_row, callbacks.on_unit
        self.answers: dict[int, dict] = {}
        self.handed = 0
        self.exports: list[ExportResult] = []
        self.rows: list[ParityRow] = []

    def on_answer(self, unit: dict, answer: dict) -> None:
        unwrap(answer)  # a ToolkitError (an unwritable folder...) stops the run, as it stops a serial one
        if self.on_unit:
            self.on_unit(unit, answer)
        if "lost" in answer and self.sweep:
            _sweep(unit)
        self.answers[unit["index"]] = answer
        while self.handed in self.answers:
            self._hand_on(self.units[self.handed], self.answers.pop(self.handed))
            self.handed += 1

    def _hand_on(self, unit: dict, answer: dict) -> None:
        if "lost" in answer:
            exports = [lost_export(unit, answer["lost"])]
            rows = lost_rows(unit, self.runtimes_of(unit["target"]), self.batches[unit["model"]], answer["lost"])
        else:
            exports = [export_from_json(e) for e in answer["result"]["exports"]]
            rows = [row_from_json(r) for r in answer["result"].get("rows", [])]
        self.exports += exports
        if unit["kind"] != "parity":
            return
        for row in rows:
            self.rows.append(row)
            if self.on_row:
                self.on_row(row)


def _sweep(unit: dict) -> None:
    """What a killed worker left beside its artifact (a staging folder): removed under the artifact's lock."""
    folder = artifact_dir(Path(unit["request"]["out_dir"]), model_name(unit["model"]), unit["target"], unit["quantization"])
    with artifact_lock(folder):
        sweep_stale_temporaries(folder)
