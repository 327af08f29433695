"""The timing harness: load a runtime (timed), first inference, then its steady state at every batch.

Per row: load (session/interpreter creation) time, first inference, then warm-up and
steady-state runs until a run count or a time budget (Runtime.time_runs: the wall clock around
the engine call in this process, or the runtime's own clock in Node and Chromium), summarised
as p50/p90/p99, mean, stdev and min. A failing or missing runtime becomes a row with `error`.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from toolkit.bench.memory import PeakRss
from toolkit.bench.results import BenchRow
from toolkit.runtimes.base import Runtime
from toolkit.runtimes.timing import TimingPlan


def latency_stats(latencies_ms: Sequence[float], batch: int) -> dict:
    """Percentiles (linear interpolation, so p50 <= p90 <= p99), mean, spread and throughput."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    mean = float(values.mean())
    return {
        "runs": int(values.size), "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "mean_ms": mean,
        "stdev_ms": statistics.stdev(values) if values.size > 1 else 0.0, "min_ms": float(values.min()),
        "throughput_per_s": batch * 1000.0 / mean,  # samples per second over the timed runs
    }


@contextlib.contextmanager
def device_scope(device: str | None) -> Iterator[None]:
    """TensorFlow device placement for SavedModel/Keras rows; nothing for other runtimes."""
    if device is None:
        yield
        return
    from toolkit.tf_env import import_tf

    with import_tf().device(device):
        yield


def time_loaded(runtime: Runtime, rows_by_batch: dict[int, BenchRow], feeds_by_batch: dict[int, dict],
                plan: TimingPlan, memory: PeakRss) -> None:
    """First inference and steady state at each batch of an activated runtime; fills the rows."""
    for batch, row in rows_by_batch.items():
        feeds = feeds_by_batch[batch]
        try:
            started = time.perf_counter()
            runtime.infer(feeds)
            row.first_ms = (time.perf_counter() - started) * 1e3
            latencies = runtime.time_runs(feeds, plan)
            row.timing = runtime.timing_source
            for key, value in latency_stats(latencies, batch).items():
                setattr(row, key, value)
        except Exception as error:  # a crashed runtime is reported in its row; the others still run
            row.record_failure(error)
        row.peak_rss_mb, row.rss_source = memory.read()


def bench_runtime(make_runtime: Callable[[], Runtime], rows_by_batch: dict[int, BenchRow],
                  feeds_by_batch: dict[int, dict], plan: TimingPlan, device: str | None = None) -> None:
    """Load (timed), run every batch, close; any failure becomes the rows' `error`."""
    runtime = None
    in_process = PeakRss()  # started before the load: an in-process runtime's peak includes loading
    try:
        with device_scope(device):
            started = time.perf_counter()
            runtime = make_runtime().activate()
            load_ms = (time.perf_counter() - started) * 1e3
            memory = PeakRss.for_runtime(runtime, in_process)
            for row in rows_by_batch.values():
                row.load_ms = load_ms
            time_loaded(runtime, rows_by_batch, feeds_by_batch, plan, memory)
    except Exception as error:  # unavailable runtime, missing GPU, bad artifact: a row, never a crash
        for row in rows_by_batch.values():
            if row.error is None:
                row.record_failure(error)
    finally:
        if runtime is not None:
            with contextlib.suppress(Exception):
                runtime.close()


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
