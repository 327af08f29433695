"""One model's benchmark: Keras baselines, then every artifact in every runtime variant of the chosen
settings, each with its parity verdict. `toolkit.api.benchmark` validates, exports and calls this."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toolkit.bench.harness import bench_runtime, device_scope
from toolkit.bench.results import BenchRow
from toolkit.bench.settings import (
    KERAS_BASELINES,
    gpu_absence,
    parse_settings,
    select_variants,
    tensorflow_gpus,
)
from toolkit.errors import UsageError, one_line
from toolkit.export.layout import artifact_size, resolve_quantizations, resolve_targets
from toolkit.export.run import ExportResult
from toolkit.model.loading import LoadedModel
from toolkit.model.samples import sample_feeds
from toolkit.parity.run import ParityRow, check_parity
from toolkit.registry import exporters, runtimes
from toolkit.runtimes.timing import TimingPlan
from toolkit.runtimes.variants import RuntimeVariant

Progress = Callable[[str], None]
# (model, artifact label, parity variant label) -> (passed, worst max abs error, error)
@dataclass(frozen=True)
class ParitySummary:
    """The parity check of one artifact in one runtime variant, as the benchmark rows carry it."""

    passed: bool | None  # None: nothing was compared (the runtime did not start)
    max_abs_err: float | None = None
    top1_agreement: float | None = None  # worst over batches (quantized: on the judgement set)
    sqnr_db: float | None = None
    error: str | None = None


Verdicts = dict[tuple[str, str, str], ParitySummary]


@dataclass
class BenchRequest:
    """Validated arguments of one benchmark (usage errors are raised before any model loads)."""

    targets: list[str]
    quantizations: list[str]
    variants: list[RuntimeVariant]
    batches: list[int]
    plan: TimingPlan
    settings: list[str]

    @classmethod
    def parse(cls, targets: Sequence[str] = ("all",), quantizations: Sequence[str] = ("all",),
              runtime_selection: Sequence[str] | None = None, settings: Sequence[str] = ("cpu", "browser"),
              batches: Sequence[int] = (1, 8), plan: TimingPlan | None = None) -> BenchRequest:
        targets = resolve_targets(targets)
        chosen = parse_settings(settings)
        variants = select_variants(chosen, runtime_selection, targets)
        return cls(targets, resolve_quantizations(quantizations), variants, _batches(batches), _plan(plan), chosen)

    def gpu_absences(self) -> dict[RuntimeVariant, str | None]:
        return {variant: gpu_absence(variant) for variant in self.variants}

    def export_pairs(self, absent: dict[RuntimeVariant, str | None]) -> list[tuple[str, str]]:
        """(target, quantization) of every artifact some variant that can run here will time."""
        pairs: list[tuple[str, str]] = []
        for variant in self.variants:
            if absent[variant]:
                continue
            for quantization in exporters()[variant.target].quantizations:
                pair = (variant.target, quantization)
                if quantization in self.quantizations and variant.applies_to(quantization) and pair not in pairs:
                    pairs.append(pair)
        return pairs


    def progress_steps(self, absent: dict[RuntimeVariant, str | None]) -> int:
        """Progress reports per model in `benchmark_model`: each Keras baseline, each artifact x variant timed."""
        gpu_places = 2 if "gpu" in self.settings and tensorflow_gpus() else 1
        pairs = self.export_pairs(absent)
        timed = sum(1 for v in self.variants if not absent[v] for target, quantization in pairs
                    if target == v.target and v.applies_to(quantization))
        return len(KERAS_BASELINES) * gpu_places + timed


def _batches(batches: Sequence[int]) -> list[int]:
    if not batches or any(not isinstance(b, int) or b < 1 for b in batches):
        raise UsageError(f"--batch {','.join(map(str, batches))!r} is not a comma-separated list of positive integers (e.g. 1,8)")
    return list(dict.fromkeys(batches))


def _plan(plan: TimingPlan | None) -> TimingPlan:
    plan = plan or TimingPlan()
    if plan.runs < 1 or plan.time_budget_s <= 0 or plan.warmup < 0:
        raise UsageError("--runs must be >= 1, --time-budget > 0 and --warmup >= 0")
    return TimingPlan(plan.runs, plan.time_budget_s, plan.warmup, min(plan.min_runs, plan.runs))


def benchmark_model(loaded: LoadedModel, exports: Sequence[ExportResult], request: BenchRequest,
                    absent: dict[RuntimeVariant, str | None], verdicts: Verdicts | None = None,
                    progress: Progress | None = None, unsafe: bool = False) -> list[BenchRow]:
    """Every row of one model: Keras baselines, then each artifact in each variant that applies to it."""
    progress = progress or (lambda text: None)
    verdicts = {} if verdicts is None else verdicts
    feeds = {batch: sample_feeds(loaded, batch, batch) for batch in request.batches}
    rows = keras_baseline_rows(loaded, feeds, request, unsafe, progress)
    for variant in request.variants:
        if absent[variant]:
            rows += _unavailable_rows(loaded, variant, request, absent[variant])
            continue
        for export in exports:
            if export.target == variant.target and variant.applies_to(export.quantization) \
                    and export.quantization in request.quantizations:
                progress(f"{loaded.name}: {export.label} in {variant.label} ({variant.setting}, "
                         f"{variant.threads or 'default'} threads)")
                rows += bench_artifact(loaded, export, variant, feeds, request.plan, verdicts)
    return rows


def _row(loaded: LoadedModel, target: str, quantization: str, variant: RuntimeVariant, batch: int) -> BenchRow:
    return BenchRow(model=loaded.name, target=target, quantization=quantization, runtime=variant.label, batch=batch,
                    setting=variant.setting, threads=variant.threads)


def _unavailable_rows(loaded: LoadedModel, variant: RuntimeVariant, request: BenchRequest, reason: str) -> list[BenchRow]:
    modes = [q for q in exporters()[variant.target].quantizations if q in request.quantizations]
    rows = [_row(loaded, variant.target, q, variant, batch) for q in modes for batch in request.batches]
    for row in rows:
        row.error, row.error_kind = reason, "unavailable"
    return rows


def bench_artifact(loaded: LoadedModel, export: ExportResult, variant: RuntimeVariant, feeds: dict[int, dict],
                   plan: TimingPlan, verdicts: Verdicts) -> list[BenchRow]:
    """Rows of one artifact in one variant (one per batch); every failure is recorded in the rows."""
    rows = {b: _row(loaded, export.target, export.quantization, variant, b) for b in feeds}
    if export.skipped:
        return _with_error(rows, f"not exported: {export.skipped}", "skipped")
    if not export.ok:
        return _with_error(rows, f"export failed: {export.error}", "export")
    if variant.runtime not in runtimes():
        return _with_error(rows, f"runtime unavailable: {variant.runtime} is not registered here "
                           "(its module in toolkit/runtimes is missing)", "unavailable")
    parity = parity_verdict(loaded, export, variant, verdicts)
    bench_runtime(lambda: variant.create(export.path), rows, feeds, plan, variant.device)
    for row in rows.values():
        row.size_bytes = artifact_size(export.path)
        row.parity_passed, row.max_abs_err, row.parity_error = parity.passed, parity.max_abs_err, parity.error
        row.top1_agreement, row.sqnr_db = parity.top1_agreement, parity.sqnr_db
    return list(rows.values())


def _with_error(rows: dict[int, BenchRow], error: str, kind: str) -> list[BenchRow]:
    for row in rows.values():
        row.error, row.error_kind = error, kind
    return list(rows.values())


def verdicts_from_rows(rows: Sequence[ParityRow]) -> Verdicts:
    """Parity verdicts already computed (by `toolkit run`), so the benchmark does not check them again."""
    grouped: dict[tuple[str, str, str], list[ParityRow]] = {}
    for row in rows:
        grouped.setdefault((row.model, row.artifact, row.runtime), []).append(row)
    return {key: _summarise(group) for key, group in grouped.items()}


def _summarise(rows: Sequence[ParityRow]) -> ParitySummary:
    compared = [r for r in rows if r.max_abs_err is not None]
    errors = "; ".join(dict.fromkeys(r.error for r in rows if r.error)) or None
    if not compared:
        return ParitySummary(None, error=errors)

    def worst(attribute: str) -> float | None:
        values = [getattr(r, attribute) for r in compared if getattr(r, attribute) is not None]
        return min(values) if values else None

    return ParitySummary(all(r.passed for r in rows), max(r.max_abs_err for r in compared), worst("top1_agreement"),
                         worst("sqnr_db"), errors)


def parity_verdict(loaded: LoadedModel, export: ExportResult, variant: RuntimeVariant,
                   cache: Verdicts) -> ParitySummary:
    """The parity check of this artifact in this variant (passed, worst errors, top-1, SQNR, error).

    None for `passed` means the check could not compare (the runtime did not start); timing-only
    options (threads, CPU throttling) are left out, so one check serves every thread count.
    """
    numerics = variant.numerics()
    key = (loaded.name, export.label, numerics.label)
    if key not in cache:
        try:
            with device_scope(variant.device):
                cache[key] = _summarise(check_parity(loaded, [export], [numerics]))
        except Exception as error:  # the parity engine itself failed: the timing rows still stand
            cache[key] = ParitySummary(None, error=one_line(error))
    return cache[key]


def keras_baseline_rows(loaded: LoadedModel, feeds: dict[int, dict], request: BenchRequest, unsafe: bool = False,
                        progress: Progress | None = None) -> list[BenchRow]:
    """Keras model(x) and predict_on_batch(x) on the CPU (and on the GPU too in the gpu setting, when TF has one)."""
    places = [("cpu", "/CPU:0", os.cpu_count() or 1)]
    if "gpu" in request.settings and tensorflow_gpus():
        places.append(("gpu", "/GPU:0", None))
    rows: list[BenchRow] = []
    for setting, device, threads in places:
        for baseline in KERAS_BASELINES:
            variant = baseline.in_setting(setting, threads, device=device)
            if progress:
                progress(f"{loaded.name}: Keras baseline {variant.label} ({setting})")
            by_batch = {b: _row(loaded, "keras", "none", variant, b) for b in feeds}
            bench_runtime(lambda v=variant: v.create(loaded.path, loaded=loaded, unsafe=unsafe), by_batch, feeds,
                          request.plan, device)
            for row in by_batch.values():
                row.size_bytes = loaded.path.stat().st_size
            rows += by_batch.values()
    return rows
