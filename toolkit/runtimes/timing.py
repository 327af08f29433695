"""How a runtime times itself: a plan (runs, time budget, warm-up) and the two loops that follow it.

In-process runtimes are timed by `wall_clock_runs` around their bare engine call; runtimes in
another process (Node, Chromium) measure inside it, in chunks sized by `chunked_runs` to fit
the budget. benchmarks/harness_overhead.py checks the wall-clock loop against a bare one.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TimingPlan:
    """How long to time each row: stop after `runs` steady-state runs or `time_budget_s`, whichever first."""

    runs: int = 1000
    time_budget_s: float = 1.0
    warmup: int = 20
    min_runs: int = 5  # even past the budget: percentiles need a few samples


def wall_clock_runs(call: Callable[[dict], object], feeds: dict, plan: TimingPlan) -> list[float]:
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
    latencies: list[float] = []
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


def chunked_runs(measure: Callable[[dict, int, int], list[float]], feeds: dict, plan: TimingPlan) -> list[float]:
    """Latencies a runtime measures itself (`measure(feeds, warmup, runs)`), in chunks that fit the budget."""
    started = time.perf_counter()
    latencies = list(measure(feeds, plan.warmup, min(plan.runs, max(plan.min_runs, 10))))
    while len(latencies) < plan.runs:
        left_s = plan.time_budget_s - (time.perf_counter() - started)
        mean_s = max(statistics.fmean(latencies), 1e-3) / 1e3
        if left_s <= 0:
            break
        chunk = int(min(plan.runs - len(latencies), max(1, left_s / mean_s)))
        latencies.extend(measure(feeds, 0, chunk))
    return latencies
