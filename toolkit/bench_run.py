"""`toolkit bench` end to end: validate arguments, export what is missing, time Keras baselines,
then every artifact in every runtime variant of the chosen settings, with its parity verdict."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass

from toolkit.bench import (
    BenchResults,
    BenchRow,
    TimingPlan,
    add_speedups,
    artifact_size,
    bench_runtime,
    device_scope,
    one_line,
)
from toolkit.errors import RuntimeUnavailableError, UsageError


# --- what to run ------------------------------------------------------------------------------
@dataclass
class BenchRequest:
    """Validated arguments of one `toolkit bench` (usage errors are raised before any model loads)."""

    models: list[str]
    targets: list[str]
    quantizations: list[str]
    variants: list
    batches: list[int]
    plan: TimingPlan
    settings: list[str]

    @classmethod
    def parse(cls, models, target="all", quantize="all", runtime=None, setting="cpu", batch="1,8",
              runs=None, time_budget_s=None, warmup=None) -> BenchRequest:
        from toolkit.bench_settings import parse_settings, select_variants
        from toolkit.exporting import resolve_targets

        names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
        if not names:
            raise UsageError("--model is empty; pass a reference model name (toolkit list) or a .keras path")
        targets = resolve_targets(target)
        plan = _plan(runs, time_budget_s, warmup)
        settings = parse_settings(setting)
        variants = select_variants(settings, runtime, targets)
        return cls(names, targets, _quantizations(quantize), variants, _batches(batch), plan, settings)


def _quantizations(text) -> list[str]:
    from toolkit.registry import load_exporters

    every = sorted({q for entry in load_exporters().values() for q in entry.quantizations})
    if text in (None, "all"):
        return every
    wanted = [q.strip() for q in (text.split(",") if isinstance(text, str) else text)]
    unknown = [q for q in wanted if q not in every]
    if unknown:
        raise UsageError(f"unknown quantization {', '.join(unknown)}; choose from {', '.join(every)} or all")
    return wanted


def _batches(text) -> list[int]:
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        batches = [int(b) for b in items]
    except ValueError:
        batches = []
    if not batches or any(b < 1 for b in batches):
        raise UsageError(f"--batch {text!r} is not a comma-separated list of positive integers (e.g. 1,8)")
    return list(dict.fromkeys(batches))


def _plan(runs, time_budget_s, warmup) -> TimingPlan:
    default = TimingPlan()
    plan = TimingPlan(
        runs=default.runs if runs is None else int(runs),
        time_budget_s=default.time_budget_s if time_budget_s is None else float(time_budget_s),
        warmup=default.warmup if warmup is None else int(warmup),
    )
    if plan.runs < 1 or plan.time_budget_s <= 0 or plan.warmup < 0:
        raise UsageError("--runs must be >= 1, --time-budget > 0 and --warmup >= 0")
    return TimingPlan(plan.runs, plan.time_budget_s, plan.warmup, min(plan.min_runs, plan.runs))


# --- running it -------------------------------------------------------------------------------
def run_benchmarks(request: BenchRequest, out_dir, *, export, load, custom_objects=None, unsafe=False,
                   on_progress=None) -> BenchResults:
    """Every model of `request`; `export` and `load` are toolkit.api's (exports are reused when up to date)."""
    from toolkit.bench_settings import gpu_absence

    progress = on_progress or (lambda text: None)
    results = BenchResults(environment=environment(), plan=request.plan)
    absent = {variant: gpu_absence(variant) for variant in request.variants}
    for model in request.models:
        loaded = load(model, custom_objects, unsafe)
        exports = _export_needed(model, request, absent, out_dir, export, custom_objects, unsafe, progress)
        results.rows += benchmark_model(loaded, exports, request, absent, unsafe, progress)
    add_speedups(results.rows)
    results.environment["load_average_end"] = _load_average()
    return results


def _needed_pairs(request: BenchRequest, absent: dict) -> dict[str, list[str]]:
    """quantization -> targets to export for the variants that can run here."""
    from toolkit.registry import load_exporters

    exporters = load_exporters()
    pairs: dict[str, list[str]] = {}
    for variant in request.variants:
        if absent[variant]:
            continue
        for quantization in exporters[variant.target].quantizations:
            if quantization in request.quantizations and variant.applies_to(quantization):
                targets = pairs.setdefault(quantization, [])
                if variant.target not in targets:
                    targets.append(variant.target)
    return pairs


def _export_needed(model, request, absent, out_dir, export, custom_objects, unsafe, progress) -> list:
    results = []
    for quantization, targets in _needed_pairs(request, absent).items():
        progress(f"{model}: exporting {', '.join(targets)} ({quantization}) if missing")
        results += export(model, ",".join(targets), quantization, out_dir, custom_objects=custom_objects, unsafe=unsafe)
    return results


def benchmark_model(loaded, exports, request: BenchRequest, absent: dict, unsafe=False, progress=None) -> list[BenchRow]:
    from toolkit.golden import sample_feeds

    progress = progress or (lambda text: None)
    feeds = {batch: sample_feeds(loaded, batch, batch) for batch in request.batches}
    rows = keras_baseline_rows(loaded, feeds, request, unsafe, progress)
    verdicts: dict = {}
    for variant in request.variants:
        if absent[variant]:
            rows += _unavailable_rows(loaded, variant, request, absent[variant])
            continue
        for result in exports:
            if result.target == variant.target and variant.applies_to(result.quantization) \
                    and result.quantization in request.quantizations:
                progress(f"{loaded.name}: {result.target}-{result.quantization} in {variant.label} "
                         f"({variant.setting}, {variant.threads or 'default'} threads)")
                rows += bench_artifact(loaded, result, variant, feeds, request.plan, verdicts)
    return rows


def _unavailable_rows(loaded, variant, request, reason) -> list[BenchRow]:
    from toolkit.registry import load_exporters

    modes = [q for q in load_exporters()[variant.target].quantizations if q in request.quantizations]
    return [
        BenchRow(loaded.name, variant.target, q, variant.label, variant.setting, variant.threads, batch, error=reason)
        for q in modes for batch in request.batches
    ]


def bench_artifact(loaded, export, variant, feeds, plan: TimingPlan, verdicts: dict) -> list[BenchRow]:
    """Rows of one artifact in one variant (one per batch); every failure is recorded in the rows."""
    from toolkit.registry import load_runtimes

    rows = {b: BenchRow(loaded.name, export.target, export.quantization, variant.label, variant.setting,
                        variant.threads, b) for b in feeds}
    if not export.ok:
        return _with_error(rows, f"export failed: {export.error}")
    if variant.runtime not in load_runtimes():
        return _with_error(rows, f"runtime {variant.runtime} is not registered here (its module in toolkit/runtimes is missing)")
    passed, max_abs_err, parity_error = parity_verdict(loaded, export, variant, verdicts)
    bench_runtime(lambda: variant.create(export.path), rows, feeds, plan, variant.device, _placement_check(variant))
    for row in rows.values():
        row.size_bytes = artifact_size(export.path)
        row.parity_passed, row.max_abs_err, row.parity_error = passed, max_abs_err, parity_error
    return list(rows.values())


def _with_error(rows: dict, error: str) -> list[BenchRow]:
    for row in rows.values():
        row.error = error
    return list(rows.values())


def parity_verdict(loaded, export, variant, cache: dict) -> tuple[bool | None, float | None, str | None]:
    """(passed, worst max abs error, error) of toolkit.parity.check_parity for this artifact and variant.

    None for `passed` means the check could not compare (the runtime did not start); timing-only
    options (threads, CPU throttling) are left out, so one check serves every thread count.
    """
    from toolkit.parity import check_parity

    parity_variant = variant.parity_variant()
    key = (str(export.path), parity_variant)
    if key not in cache:
        try:
            with device_scope(variant.device):
                rows = check_parity(loaded, [export], [parity_variant])
        except Exception as error:  # the parity engine itself failed: the timing rows still stand
            cache[key] = (None, None, one_line(error))
            return cache[key]
        compared = [r for r in rows if r.max_abs_err is not None]
        errors = "; ".join(dict.fromkeys(r.error for r in rows if r.error)) or None
        cache[key] = (
            all(r.passed for r in rows) if compared else None,
            max(r.max_abs_err for r in compared) if compared else None,
            errors,
        )
    return cache[key]


def _placement_check(variant):
    """ONNX Runtime falls back to the CPU when CUDA fails to load: such a row must not pass for a GPU row."""
    if variant.gpu != "onnxruntime":
        return None

    def check(runtime):
        session = getattr(runtime, "_session", None)  # OnnxRuntime's InferenceSession
        providers = session.get_providers() if session is not None else []
        if "CUDAExecutionProvider" not in providers:
            raise RuntimeUnavailableError(f"no GPU: the ONNX Runtime session runs on {providers} (CUDA did not load)")

    return check


# --- Keras baselines --------------------------------------------------------------------------
class KerasBaseline:
    """Keras itself, as users would otherwise run it: `model(x)` or `model.predict_on_batch(x)`."""

    def __init__(self, loaded, mode: str, unsafe: bool = False):
        self.name, self.loaded, self.mode, self.unsafe = mode, loaded, mode, unsafe
        self.model = None

    def activate(self):
        from toolkit.loading import load_keras_file

        self.model = load_keras_file(self.loaded.path, None, self.unsafe)  # timed as the load
        return self

    def infer(self, feeds):
        from toolkit.keras_model import model_args, predict

        if self.mode == "keras-call":
            return predict(self.model, self.loaded.signature, feeds)  # model(x, training=False) -> numpy
        return self.model.predict_on_batch(model_args(self.model, self.loaded.signature, feeds))

    def close(self):
        self.model = None


def keras_baseline_rows(loaded, feeds, request: BenchRequest, unsafe=False, progress=None) -> list[BenchRow]:
    """Keras model(x) and predict_on_batch(x) on the CPU (and on the GPU too in the gpu setting, when TF has one)."""
    from toolkit.bench import BASELINES
    from toolkit.bench_settings import tensorflow_gpus

    places = [("cpu", "/CPU:0", os.cpu_count() or 1)]
    if "gpu" in request.settings and tensorflow_gpus():
        places.append(("gpu", "/GPU:0", None))
    rows = []
    for setting, device, threads in places:
        for mode in BASELINES:
            if progress:
                progress(f"{loaded.name}: Keras baseline {mode} ({setting})")
            by_batch = {b: BenchRow(loaded.name, "keras", "none", mode, setting, threads, b) for b in feeds}
            bench_runtime(lambda mode=mode: KerasBaseline(loaded, mode, unsafe), by_batch, feeds, request.plan, device)
            for row in by_batch.values():
                row.size_bytes = loaded.path.stat().st_size
            rows += by_batch.values()
    return rows


# --- the machine ------------------------------------------------------------------------------
def environment() -> dict:
    """What the numbers were measured on, for the report and the JSON."""
    from toolkit.manifest import package_version

    packages = ("tensorflow", "keras", "onnxruntime", "onnxruntime-gpu", "ai-edge-litert", "tensorflowjs")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in packages},
        "gpus": _gpu_names(),
        "node": _command_output(["node", "--version"]),
        "load_average_start": _load_average(),
    }


def _load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine makes every number noisier."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def _gpu_names() -> list[str]:
    listed = _command_output(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    return [line.strip() for line in listed.splitlines() if line.strip()] if listed else []


def _command_output(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
