"""Timing harness and benchmark rows: one BenchRow per model x artifact x runtime variant x setting x batch.

Per row: load (session/interpreter creation) time, first inference, then warm-up and steady-state
runs until a run count or a time budget, summarised as p50/p90/p99 (and mean, stdev, min). A
runtime with `time_runs(feeds, warmup, runs)` (TF.js in Node or a browser) is timed inside its own
process, so the pipe is excluded; the others are timed in this process with perf_counter around
the engine call (feeds are checked and outputs converted once, by the first inference through
`Runtime.infer`, so the loop measures the engine rather than the toolkit's wrappers;
benchmarks/harness_overhead.py checks the loop against a bare one). A failing or missing runtime
becomes a row with `error`.

JSON (`BenchResults.to_json`): {"results": [row...], "environment": {...}}; each row has FIELDS
and EXTRA_FIELDS below (null where a value could not be measured).
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from toolkit.bench_memory import PeakRss
from toolkit.files import atomic_file

FIELDS = ("model", "target", "quantization", "runtime", "setting", "threads", "batch", "load_ms", "first_ms",
          "p50_ms", "p90_ms", "p99_ms", "throughput_per_s", "peak_rss_mb", "size_bytes", "parity_passed")
EXTRA_FIELDS = {
    "runs": "steady-state runs timed (after warm-up)",
    "mean_ms": "mean steady-state latency",
    "stdev_ms": "standard deviation of steady-state latency (the spread, with p90/p99)",
    "min_ms": "fastest steady-state run",
    "timing": "'runtime': measured inside the runtime's own process (time_runs); 'wall': perf_counter here",
    "rss_source": "which process peak_rss_mb measures, and how",
    "max_abs_err": "worst max |runtime - Keras| of the parity check of the same artifact and variant",
    "parity_error": "why the parity check failed or could not run",
    "speedup_vs_predict_on_batch": "Keras predict_on_batch p50 (same model, batch, CPU) / this row's p50",
    "speedup_vs_model_call": "Keras model(x) p50 (same model, batch, CPU) / this row's p50",
    "error": "why this row has no timings (runtime unavailable, no GPU, export or inference failure)",
}
BASELINES = ("keras-call", "keras-predict_on_batch")  # Keras model(x) and model.predict_on_batch(x)
EXCLUDED_FROM_SIZE = ("manifest.json", "golden.json")  # toolkit bookkeeping, not deployed


@dataclass(frozen=True)
class TimingPlan:
    """How long to time each row: stop after `runs` steady-state runs or `time_budget_s`, whichever first."""

    runs: int = 1000
    time_budget_s: float = 1.0
    warmup: int = 20
    min_runs: int = 5  # even past the budget: percentiles need a few samples


@dataclass
class BenchRow:
    model: str
    target: str
    quantization: str
    runtime: str
    setting: str
    threads: int | None
    batch: int
    load_ms: float | None = None
    first_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    throughput_per_s: float | None = None
    peak_rss_mb: float | None = None
    size_bytes: int | None = None
    parity_passed: bool | None = None
    runs: int = 0
    mean_ms: float | None = None
    stdev_ms: float | None = None
    min_ms: float | None = None
    timing: str | None = None
    rss_source: str | None = None
    max_abs_err: float | None = None
    parity_error: str | None = None
    speedup_vs_predict_on_batch: float | None = None
    speedup_vs_model_call: float | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def is_baseline(self) -> bool:
        return self.runtime in BASELINES


def latency_stats(latencies_ms, batch: int) -> dict:
    """Percentiles (linear interpolation, so p50 <= p90 <= p99), mean, spread and throughput."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    mean = float(values.mean())
    return {
        "runs": int(values.size), "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "mean_ms": mean,
        "stdev_ms": statistics.stdev(values) if values.size > 1 else 0.0, "min_ms": float(values.min()),
        "throughput_per_s": batch * 1000.0 / mean,  # samples per second over the timed runs
    }


# Timing-only engine calls for in-process runtimes whose infer_impl also converts outputs: LiteRT copies
# them out of interpreter buffers (~0.7 us a call, over 10% of a 6 us MLP). The timed loop discards
# outputs, so it calls the engine itself; a runtime can offer this as a public `timing_call()` instead.
ENGINE_CALLS = {
    "litert": lambda runtime: (lambda feeds, runner=runtime._runner: runner(**feeds)),
    "onnxruntime": lambda runtime: (lambda feeds, run=runtime._session.run, names=runtime._output_names: run(names, feeds)),
}


def _engine_call(runtime):
    """The call to time: the runtime's `timing_call()`, its bare engine, its `infer_impl`, else `infer`."""
    from toolkit.runtimes.base import Runtime

    if callable(getattr(runtime, "timing_call", None)):
        return runtime.timing_call()
    bare = ENGINE_CALLS.get(getattr(runtime, "name", None))
    if bare is not None:
        try:
            return bare(runtime)
        except AttributeError:  # the runtime's internals changed: fall back to its infer_impl
            pass
    if isinstance(runtime, Runtime) and type(runtime).infer_impl is not Runtime.infer_impl:
        return runtime.infer_impl
    return runtime.infer


def wall_clock_runs(call, feeds, plan: TimingPlan) -> list[float]:
    """Warm-up, then per-run perf_counter deltas (ms) until plan.runs or the time budget.

    The garbage collector is paused while timing, as timeit does: with TensorFlow loaded a full
    collection takes about half a second and would land in p99 of whichever row it hit.
    """
    clock = time.perf_counter
    warm_until = clock() + plan.time_budget_s / 2
    for _ in range(plan.warmup):
        call(feeds)
        if clock() > warm_until:
            break
    latencies = []
    append = latencies.append
    collecting = gc.isenabled()
    gc.disable()
    try:
        end = clock() + plan.time_budget_s
        while len(latencies) < plan.runs:
            start = clock()
            call(feeds)
            stop = clock()
            append((stop - start) * 1e3)
            if stop > end and len(latencies) >= plan.min_runs:
                break
    finally:
        if collecting:
            gc.enable()
    return latencies


def in_runtime_runs(runtime, feeds, plan: TimingPlan) -> list[float]:
    """Latencies measured by the runtime itself, in chunks sized to fit the time budget."""
    started = time.perf_counter()
    latencies = list(runtime.time_runs(feeds, warmup=plan.warmup, runs=min(plan.runs, max(plan.min_runs, 10))))
    while len(latencies) < plan.runs:
        left_s = plan.time_budget_s - (time.perf_counter() - started)
        mean_s = max(statistics.fmean(latencies), 1e-3) / 1e3
        if left_s <= 0:
            break
        chunk = int(min(plan.runs - len(latencies), max(1, left_s / mean_s)))
        latencies.extend(runtime.time_runs(feeds, warmup=0, runs=chunk))
    return latencies


def steady_state(runtime, feeds, plan: TimingPlan) -> tuple[list[float], str]:
    if callable(getattr(runtime, "time_runs", None)):
        return in_runtime_runs(runtime, feeds, plan), "runtime"
    return wall_clock_runs(_engine_call(runtime), feeds, plan), "wall"


@contextlib.contextmanager
def device_scope(device: str | None):
    """TensorFlow device placement for SavedModel/Keras rows; nothing for other runtimes."""
    if device is None:
        yield
        return
    from toolkit.tf_env import import_tf

    with import_tf().device(device):
        yield


def time_loaded(runtime, rows_by_batch: dict, feeds_by_batch: dict, plan: TimingPlan, memory: PeakRss) -> None:
    """First inference and steady state at each batch of an activated runtime; fills the rows."""
    for batch, row in rows_by_batch.items():
        feeds = feeds_by_batch[batch]
        try:
            started = time.perf_counter()
            runtime.infer(feeds)
            row.first_ms = (time.perf_counter() - started) * 1e3
            latencies, row.timing = steady_state(runtime, feeds, plan)
            for key, value in latency_stats(latencies, batch).items():
                setattr(row, key, value)
        except Exception as error:  # a crashed runtime is reported in its row; the others still run
            row.error = one_line(error)
        row.peak_rss_mb, row.rss_source = memory.read()


def bench_runtime(make_runtime, rows_by_batch, feeds_by_batch, plan, device=None, check=None) -> None:
    """Load (timed), run every batch, close; any failure becomes the rows' `error`."""
    memory = PeakRss()
    runtime = None
    try:
        with device_scope(device):
            started = time.perf_counter()
            runtime = make_runtime().activate()
            load_ms = (time.perf_counter() - started) * 1e3
            if check:
                check(runtime)
            memory = PeakRss.for_runtime(runtime, memory)
            for row in rows_by_batch.values():
                row.load_ms = load_ms
            time_loaded(runtime, rows_by_batch, feeds_by_batch, plan, memory)
    except Exception as error:  # unavailable runtime, missing GPU, bad artifact: a row, never a crash
        for row in rows_by_batch.values():
            row.error = row.error or one_line(error)
    finally:
        if runtime is not None:
            with contextlib.suppress(Exception):
                runtime.close()


def artifact_size(folder: Path) -> int:
    """Bytes on disk of what would be deployed (the toolkit's manifest and golden data excluded)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name not in EXCLUDED_FROM_SIZE)


def one_line(error: Exception) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"


def add_speedups(rows: list[BenchRow]) -> None:
    """Speed-up of every timed row against the CPU Keras baselines of the same model and batch."""
    baseline = {
        (r.model, r.batch, r.runtime): r.p50_ms for r in rows if r.is_baseline and r.setting == "cpu" and r.p50_ms
    }
    for row in rows:
        if not row.p50_ms:
            continue
        pob = baseline.get((row.model, row.batch, "keras-predict_on_batch"))
        call = baseline.get((row.model, row.batch, "keras-call"))
        row.speedup_vs_predict_on_batch = pob / row.p50_ms if pob else None
        row.speedup_vs_model_call = call / row.p50_ms if call else None


@dataclass
class BenchResults:
    rows: list[BenchRow] = field(default_factory=list)
    environment: dict = field(default_factory=dict)
    plan: TimingPlan = field(default_factory=TimingPlan)

    def to_json(self) -> dict:
        return {"results": [row.to_json() for row in self.rows], "environment": self.environment}

    def write_json(self, path: Path) -> Path:
        import json

        with atomic_file(Path(path)) as staging:
            staging.write_text(json.dumps(self.to_json(), indent=1) + "\n")
            staging.chmod(0o644)
        return Path(path)


ROW_KEYS = tuple(f.name for f in fields(BenchRow))
assert set(ROW_KEYS) == set(FIELDS) | set(EXTRA_FIELDS), "document every BenchRow field in FIELDS or EXTRA_FIELDS"

