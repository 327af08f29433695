"""`toolkit bench` and `toolkit run` (the main job: parity and benchmark of every reference model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.checking import parity_row_count
from toolkit.api.common import DEFAULT_OUT, InputRange, ModelRef, OnStart, _ready, _tier_names, load
from toolkit.api.scaling import SERIAL, check_parity_models
from toolkit.errors import UsageError

if TYPE_CHECKING:
    from toolkit.bench.results import BenchResults
    from toolkit.parity.run import ParityRow
    from toolkit.runtimes.timing import TimingPlan
    from toolkit.scale.run import Scale


def benchmark(models: Sequence[ModelRef], targets: Sequence[str] = ("all",), quantizations: Sequence[str] = ("all",),
              runtimes: Sequence[str] | None = None, settings: Sequence[str] = ("cpu", "browser"),
              batches: Sequence[int] = (1, 8), out_dir: Path = DEFAULT_OUT, *, plan: TimingPlan | None = None,
              custom_objects: Path | None = None, unsafe: bool = False, force: bool = False,
              input_range: InputRange | None = None, parity_rows: Sequence[ParityRow] = (),
              on_progress: Callable[[str], None] | None = None,
              on_total: Callable[[int], None] | None = None) -> BenchResults:
    """Export what is missing, then time Keras baselines and every artifact in every runtime variant of
    the settings, with each artifact's parity verdict (taken from `parity_rows` when they have it), and
    pick what to ship per model and setting (`results.picks`, toolkit/bench/picks.py).

    `on_progress(text)` is called as each timed unit starts; `on_total(n)` first, with how many there will be."""
    _ready()
    from toolkit.bench.environment import environment, load_average
    from toolkit.bench.harness import add_speedups
    from toolkit.bench.picks import choose_picks
    from toolkit.bench.results import BenchResults
    from toolkit.bench.run import BenchRequest, benchmark_model, verdicts_from_rows
    from toolkit.export.run import export_model

    if not models:
        raise UsageError("--model is empty; pass a reference model name (toolkit list) or a .keras path")
    request = BenchRequest.parse(targets, quantizations, runtimes, settings, batches, plan)
    absent = request.gpu_absences()
    results = BenchResults(environment=environment(), plan=request.plan)
    verdicts = verdicts_from_rows(parity_rows)
    if on_total:
        on_total(len(models) * (1 + request.progress_steps(absent)))  # 1: the export step of each model
    for model in models:
        loaded = load(model, custom_objects, unsafe, input_range)
        if on_progress:
            on_progress(f"{loaded.name}: exporting what is missing")
        exports = export_model(loaded, request.export_pairs(absent), Path(out_dir), force=force)
        results.rows += benchmark_model(loaded, exports, request, absent, verdicts, on_progress, unsafe)
    add_speedups(results.rows)
    results.picks = choose_picks(results.rows)
    results.environment["load_average_end"] = load_average()
    return results


# `toolkit run` benchmarks every reference model; a short budget per row keeps it to minutes
# (`toolkit bench` defaults to 1 s per row for steadier figures).
RUN_SETTINGS = ("cpu", "browser", "mobile-like")
RUN_BATCHES = (1, 8)
RUN_TIME_BUDGET_S = 0.25


@dataclass
class RunResult:
    """What `toolkit run` produced: the parity rows, the benchmark, and where the reports are."""

    parity_rows: list[ParityRow] = field(default_factory=list)
    bench: BenchResults | None = None
    reports: dict[str, Path] = field(default_factory=dict)

    @property
    def unavailable_runtimes(self) -> list[str]:
        return sorted({r.runtime for r in self.parity_rows if r.unavailable})

    @property
    def checked_rows(self) -> list[ParityRow]:
        return [r for r in self.parity_rows if not r.unavailable]


def run(out_dir: Path, reports_dir: Path, *, models: Sequence[ModelRef] | None = None, suite: str = "small",
        settings: Sequence[str] = RUN_SETTINGS, time_budget_s: float = RUN_TIME_BUDGET_S, force: bool = False,
        on_model: Callable[[str, list[ParityRow]], None] | None = None, on_start: OnStart | None = None,
        on_row: Callable[[ParityRow], None] | None = None,
        on_progress: Callable[[str], None] | None = None, on_total: Callable[[int], None] | None = None,
        scale: Scale = SERIAL, custom_objects: Path | None = None, unsafe: bool = False,
        input_range: InputRange | None = None) -> RunResult:
    """The main job: every reference model of `suite` (small, zoo, all) or `models`, to every target, parity in every runtime,
    benchmark; writes reports_dir/parity.md + parity.json and reports_dir/bench/ (JSON, md, html, plots).

    A runtime that cannot start here is listed as unavailable, not failed. `on_total(n)`, first: how many
    `on_row` and `on_progress` calls there will be, for a progress bar over the whole job. `scale` spreads the
    exports and parity checks (toolkit/api/scaling.py); the benchmark always runs here, one row at a time.
    `custom_objects`, `unsafe`, `input_range`: how the user's .keras files among `models` are loaded, as for `export`.
    """
    _ready()
    from toolkit.bench.report import write_report
    from toolkit.parity.report import write_json, write_markdown
    from toolkit.runtimes.timing import TimingPlan

    result = RunResult()
    reports_dir = Path(reports_dir)
    names = list(models or _tier_names(suite))
    if on_total:
        on_total(len(names) * _run_steps_per_model(settings))

    def model_done(name: str, rows: list[ParityRow]) -> None:
        result.parity_rows += rows
        write_json(result.checked_rows, reports_dir / "parity.json")  # after each model: an interrupted run keeps them
        if on_model:
            on_model(name, rows)

    by_model = _ByModel(model_done, on_row)
    # Serially each model is loaded once, here; spread out, the workers load them and this process loads them
    # for the benchmark only.
    loading = {"custom_objects": custom_objects, "unsafe": unsafe, "input_range": input_range}
    given = names if scale.parallel else [load(model, **loading) for model in names]
    check_parity_models(given, out_dir=out_dir, force=force, on_start=on_start, on_row=by_model.on_row, scale=scale,
                        **loading)
    by_model.close()
    # Timing stays serial, in this process: rows timed side by side would measure each other.
    loaded_models = [load(model, **loading) for model in given]
    title = f"Parity matrix: reference models ({suite})" if models is None else "Parity matrix"
    write_markdown(result.checked_rows, reports_dir / "parity.md", title=title)
    result.bench = benchmark(loaded_models, settings=settings, batches=RUN_BATCHES, out_dir=out_dir,
                             plan=TimingPlan(time_budget_s=time_budget_s), parity_rows=result.parity_rows,
                             on_progress=on_progress, unsafe=unsafe)
    result.bench.write_json(reports_dir / "bench" / "bench.json")
    result.reports = {"parity": reports_dir / "parity.md", "bench": write_report(result.bench, reports_dir / "bench")}
    return result


class _ByModel:
    """Rows arrive model after model: `done(name, rows)` when a model's last row is in."""

    def __init__(self, done: Callable[[str, list[ParityRow]], None], on_row: Callable[[ParityRow], None] | None):
        self.done, self.forward, self.rows = done, on_row, []

    def on_row(self, row: ParityRow) -> None:
        if self.rows and self.rows[-1].model != row.model:
            self.close()
        self.rows.append(row)
        if self.forward:
            self.forward(row)

    def close(self) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            self.done(rows[0].model, rows)


def _run_steps_per_model(settings: Sequence[str]) -> int:
    """Parity rows plus benchmark steps of one model in `run` (every target, quantization and runtime)."""
    from toolkit.bench.run import BenchRequest
    from toolkit.export.layout import plan_exports
    from toolkit.runtimes.variants import runtime_variants

    request = BenchRequest.parse(settings=settings, batches=RUN_BATCHES)
    parity = parity_row_count(plan_exports(("all",), ("all",)), runtime_variants())
    return parity + 1 + request.progress_steps(request.gpu_absences())  # 1: the benchmark's export step

