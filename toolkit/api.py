"""The library API: the only functions the CLI calls. Heavy imports happen inside them.

Every function takes a model as a reference name, a .keras path or an already loaded
LoadedModel (loaded once, then reused), and lists rather than comma-separated strings
("all" is a list item like any other). Nothing here prints: long work reports through
the `on_*` callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

from toolkit.errors import InputsError, RuntimeUnavailableError, UsageError
from toolkit.plugins import load_plugins
from toolkit.tf_env import import_tf

if TYPE_CHECKING:
    from toolkit.bench.results import BenchResults
    from toolkit.demo.static_server import StaticServer
    from toolkit.explain.run import Explanation
    from toolkit.export.run import ExportResult
    from toolkit.model.loading import LoadedModel
    from toolkit.parity.judgement import VerdictSettings
    from toolkit.parity.run import ParityRow
    from toolkit.runtimes.timing import TimingPlan
    from toolkit.runtimes.variants import RuntimeVariant

DEFAULT_OUT = Path("artifacts")
ModelRef = Union[str, Path, "LoadedModel"]
OnStart = Callable[[str, str], None]  # (target, quantization) when an export starts
InputRange = tuple[float, float]


def _ready() -> None:
    """Every exporter and runtime registered (TensorFlow is imported when a model is loaded)."""
    load_plugins()


def list_models(tier: str | None = None, on_loading: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """One row per reference model of `tier` ("small", "zoo"; None: all): name, tier, API, summary, input
    and output specs, parameter count, trained or not (toolkit/model/catalogue.py: listing never trains).
    `on_loading(name, index, count)` reports progress."""
    _ready()
    import_tf()
    from toolkit.model.catalogue import reference_row

    names = _tier_names(tier)
    rows = []
    for index, name in enumerate(names, start=1):
        if on_loading:
            on_loading(name, index, len(names))
        rows.append(reference_row(name))
    return rows


def _tier_names(tier: str | None) -> list[str]:
    from models import reference_names
    from models.registry import TIERS

    if tier not in (None, "all", *TIERS):
        raise UsageError(f"unknown tier {tier}; choose from {', '.join(TIERS)} or all")
    return reference_names(None if tier == "all" else tier)


def load(model: ModelRef, custom_objects: Path | None = None, unsafe: bool = False,
         input_range: InputRange | None = None) -> LoadedModel:
    """A reference name or .keras path as a LoadedModel; a LoadedModel is returned as it is.

    `input_range` (low, high) declares the values every float input takes, for generated samples.
    """
    _ready()
    import_tf()
    from toolkit.model.loading import LoadedModel, resolve_model
    from toolkit.model.samples import with_input_range

    loaded = model if isinstance(model, LoadedModel) else resolve_model(str(model), custom_objects, unsafe)
    return with_input_range(loaded, *input_range) if input_range else loaded


def export(model: ModelRef, targets: Sequence[str] = ("saved_model",), quantizations: Sequence[str] | None = None,
           out_dir: Path = DEFAULT_OUT, *, custom_objects: Path | None = None, unsafe: bool = False,
           input_range: InputRange | None = None, force: bool = False, options: dict | None = None,
           on_start: OnStart | None = None) -> list[ExportResult]:
    """Export `model` to each target (and quantization); returns one ExportResult per artifact.

    `quantizations` None means each target's default; existing artifacts follow
    toolkit.export.run's rule (reused, refreshed, or refused without `force`).
    """
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.export.run import export_model
    from toolkit.model.tasks import output_tasks, parse_tasks

    pairs = plan_exports(targets, quantizations)  # validate before loading anything
    loaded = _described_or_loaded(model, custom_objects, unsafe, input_range)
    output_tasks(loaded, parse_tasks((options or {}).get("task")))  # a wrong `task` fails before any export
    return _nothing_skipped_only(export_model(loaded, pairs, Path(out_dir), force=force, options=options, on_start=on_start))


def _described_or_loaded(model: ModelRef, custom_objects: Path | None, unsafe: bool,
                         input_range: InputRange | None) -> LoadedModel:
    """A large .keras file is only described (in a child: this process never holds its weights, see
    toolkit/export/isolation.py); anything else is loaded here."""
    from toolkit.export import isolation

    if isinstance(model, (str, Path)) and str(model).endswith(".keras") and isolation.wanted_for(Path(model)):
        from toolkit.model.loading import check_keras_archive

        check_keras_archive(Path(model))  # the usual one-line errors, before a child starts
        return isolation.describe_in_child(str(model), custom_objects, unsafe, input_range)
    return load(model, custom_objects, unsafe, input_range)


def _nothing_skipped_only(results: list[ExportResult]) -> list[ExportResult]:
    """A request whose every artifact had to be skipped did nothing: that is a usage error, not a success."""
    if results and all(r.skipped for r in results):
        raise InputsError(f"nothing to export: {results[0].skipped}")
    return results


def check_parity(model: ModelRef, targets: Sequence[str] = ("all",), quantizations: Sequence[str] = ("all",),
                 runtimes: Sequence[str] | None = None, out_dir: Path = DEFAULT_OUT, *, inputs: Path | None = None,
                 custom_objects: Path | None = None, unsafe: bool = False, force: bool = False,
                 input_range: InputRange | None = None, options: dict | None = None, on_start: OnStart | None = None,
                 on_row: Callable[[ParityRow], None] | None = None,
                 verdict: VerdictSettings | None = None, on_total: Callable[[int], None] | None = None) -> list[ParityRow]:
    """Export what is missing (existing artifacts are used as they are), then run every applicable runtime.

    `verdict`: declared output tasks and budgets for quantized artifacts (defaults: toolkit/parity/tolerances.py).
    `on_total(n)`: the number of rows `on_row` will see, once known (for a progress bar).
    """
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.export.run import export_model
    from toolkit.model.inputs import load_inputs_file
    from toolkit.model.tasks import output_tasks
    from toolkit.parity.run import check_parity as run_parity
    from toolkit.runtimes.variants import runtime_variants

    pairs = plan_exports(targets, quantizations)
    variants = runtime_variants(runtimes)
    _require_runtime_for_each_target(pairs, variants, runtimes)
    loaded = load(model, custom_objects, unsafe, input_range)
    feeds = load_inputs_file(Path(inputs), loaded.signature) if inputs else None
    output_tasks(loaded, verdict.tasks if verdict else None)  # a wrong --task fails before any export
    if on_total:
        on_total(parity_row_count(pairs, variants, batches=1 if feeds is not None else None))
    exports = export_model(loaded, pairs, Path(out_dir), force=force, options=options, on_start=on_start)
    calibration = (options or {}).get("calibration")
    rows = run_parity(loaded, _nothing_skipped_only(exports), variants, inputs=feeds, on_row=on_row, settings=verdict,
                      calibration=Path(calibration) if calibration else None)
    if rows and all(row.unavailable for row in rows):
        raise RuntimeUnavailableError(f"nothing was compared: {rows[0].error}")
    return rows


def parity_row_count(pairs: Sequence[tuple[str, str]], variants: Sequence, batches: int | None = None) -> int:
    """Rows check_parity makes for one model: every artifact x variant of its target x batch (failures included)."""
    from toolkit.parity.run import BATCHES

    return sum(1 for target, _ in pairs for v in variants if v.target == target) * (batches or len(BATCHES))


def _require_runtime_for_each_target(pairs: Sequence[tuple[str, str]], variants: Sequence, asked: Sequence[str] | None) -> None:
    """Every requested target must have a runtime that runs it, or its artifacts would be made and never checked."""
    targets = list(dict.fromkeys(target for target, _ in pairs))
    unchecked = [t for t in targets if not any(v.target == t for v in variants)]
    if unchecked:
        from toolkit.runtimes.variants import runtime_variants

        shown = ", ".join(asked) if asked else "the registered runtimes"
        able = sorted({v.label for v in runtime_variants() if v.target in unchecked})
        raise UsageError(f"--runtime {shown} runs none of the {', '.join(unchecked)} artifacts, so nothing would be "
                         f"checked; add one that does: {', '.join(able) or 'none is registered'}")


def explain(model: ModelRef, target: str, quantization: str = "none", runtime: str | None = None,
            out_dir: Path = DEFAULT_OUT, *, inputs: Path | None = None, custom_objects: Path | None = None,
            unsafe: bool = False, force: bool = False, input_range: InputRange | None = None,
            options: dict | None = None, verdict: VerdictSettings | None = None,
            on_start: OnStart | None = None) -> Explanation:
    """The Keras layer where the artifact of `target`/`quantization` starts to diverge in `runtime`.

    The artifact is exported if missing (as `export` would); the samples are parity's for quantized
    verdicts: `inputs`, else the `calibration` option's set, else the model's generated samples.
    """
    _ready()
    from toolkit.errors import ExportError
    from toolkit.explain.run import explain_artifact
    from toolkit.export.run import export_model
    from toolkit.model.inputs import load_inputs_file
    from toolkit.model.tasks import output_tasks
    from toolkit.parity.judgement import judgement_feeds

    variant = explain_variant(target, quantization, runtime)
    loaded = load(model, custom_objects, unsafe, input_range)
    feeds = load_inputs_file(Path(inputs), loaded.signature) if inputs else None
    output_tasks(loaded, verdict.tasks if verdict else None)  # a wrong --task fails before any export
    calibration = (options or {}).get("calibration")
    samples, described = judgement_feeds(loaded, feeds, Path(calibration) if calibration else None)  # checked first
    (result,) = _nothing_skipped_only(export_model(loaded, [(target, quantization)], Path(out_dir), force=force,
                                                   options=_options_for(target, quantization, options),
                                                   on_start=on_start))
    if result.error:
        raise ExportError(f"{result.label}: {result.error}")
    return explain_artifact(loaded, result, variant, samples, described, verdict)


def explain_variant(target: str, quantization: str, runtime: str | None) -> RuntimeVariant:
    """The runtime variant `explain` reads intermediate tensors with; UsageError for anything else."""
    from toolkit.explain.probes import EXPLAINABLE
    from toolkit.export.layout import plan_exports
    from toolkit.runtimes.variants import runtime_variants

    single = "," not in target + quantization and "all" not in (target, quantization)
    if not single or len(plan_exports([target], [quantization])) != 1 or target not in EXPLAINABLE:
        raise UsageError(f"explain takes one target ({', '.join(EXPLAINABLE)}) and one quantization; got "
                         f"--target {target} --quantize {quantization}")
    able = EXPLAINABLE[target]
    variants = [v for v in runtime_variants([runtime] if runtime else None) if v.target == target]
    chosen = [v for v in variants if v.label in able]
    if not chosen:
        raise UsageError(f"explain reads {target}'s intermediate tensors in {', '.join(able)}, not in "
                         f"{runtime or 'none registered'}; pass --runtime {able[0]}")
    return chosen[0]


def _options_for(target: str, quantization: str, options: dict | None) -> dict:
    """The export options, less a --calibration this artifact does not use (it still gives the samples)."""
    from toolkit.registry import exporters

    options = dict(options or {})
    if "calibration" in options and "calibration" not in exporters()[target].options_for(quantization):
        del options["calibration"]
    return options


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
        on_progress: Callable[[str], None] | None = None, on_total: Callable[[int], None] | None = None) -> RunResult:
    """The main job: every reference model of `suite` (small, zoo, all) or `models`, to every target, parity in every runtime,
    benchmark; writes reports_dir/parity.md + parity.json and reports_dir/bench/ (JSON, md, html, plots).

    A runtime that cannot start here is listed as unavailable, not failed. `on_total(n)`, first: how many
    `on_row` and `on_progress` calls there will be, for a progress bar over the whole job.
    """
    _ready()
    from toolkit.bench.report import write_report
    from toolkit.parity.report import write_json, write_markdown
    from toolkit.runtimes.timing import TimingPlan

    result = RunResult()
    reports_dir = Path(reports_dir)
    loaded_models = []
    names = list(models or _tier_names(suite))
    if on_total:
        on_total(len(names) * _run_steps_per_model(settings))
    for model in names:
        loaded = load(model)
        loaded_models.append(loaded)
        model_rows = check_parity(loaded, out_dir=out_dir, force=force, on_start=on_start, on_row=on_row)
        result.parity_rows += model_rows
        write_json(result.checked_rows, reports_dir / "parity.json")  # after each model: an interrupted run keeps them
        if on_model:
            on_model(loaded.name, model_rows)
    title = f"Parity matrix: reference models ({suite})" if models is None else "Parity matrix"
    write_markdown(result.checked_rows, reports_dir / "parity.md", title=title)
    result.bench = benchmark(loaded_models, settings=settings, batches=RUN_BATCHES, out_dir=out_dir,
                             plan=TimingPlan(time_budget_s=time_budget_s), parity_rows=result.parity_rows,
                             on_progress=on_progress)
    result.bench.write_json(reports_dir / "bench" / "bench.json")
    result.reports = {"parity": reports_dir / "parity.md", "bench": write_report(result.bench, reports_dir / "bench")}
    return result


def _run_steps_per_model(settings: Sequence[str]) -> int:
    """Parity rows plus benchmark steps of one model in `run` (every target, quantization and runtime)."""
    from toolkit.bench.run import BenchRequest
    from toolkit.export.layout import plan_exports
    from toolkit.runtimes.variants import runtime_variants

    request = BenchRequest.parse(settings=settings, batches=RUN_BATCHES)
    parity = parity_row_count(plan_exports(("all",), ("all",)), runtime_variants())
    return parity + 1 + request.progress_steps(request.gpu_absences())  # 1: the benchmark's export step


def demo_server(model: ModelRef = "digits", port: int = 8000, out_dir: Path = DEFAULT_OUT, *,
                custom_objects: Path | None = None, unsafe: bool = False) -> StaticServer:
    """The demo page for `model` (its TF.js and ONNX artifacts exported if missing), not yet serving.

    A target whose export fails is left out and its panel shows why; only when none exports does it raise.
    """
    _ready()
    from toolkit.demo.app import DEMO_TARGETS, build_demo_server
    from toolkit.demo.kinds import image_value_range
    from toolkit.export.run import raise_for_failures

    loaded = load(model, custom_objects, unsafe)
    results = export(loaded, DEMO_TARGETS, None, out_dir)
    if not any(result.ok for result in results):
        raise_for_failures(results)
    folders = {result.target: result.path for result in results if result.ok}
    unavailable = {result.target: result.error or result.skipped for result in results if not result.ok}
    return build_demo_server(folders, port, value_range=image_value_range(loaded), unavailable=unavailable)


def start_demo(model: ModelRef = "digits", port: int = 0, out_dir: Path = DEFAULT_OUT, *,
               custom_objects: Path | None = None, unsafe: bool = False) -> tuple[str, Callable[[], None]]:
    """The demo served from a background thread; returns (url, shutdown)."""
    from toolkit.demo.static_server import run_in_background

    return run_in_background(demo_server(model, port, out_dir, custom_objects=custom_objects, unsafe=unsafe))
