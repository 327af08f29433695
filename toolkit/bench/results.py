"""Benchmark rows and their JSON: one BenchRow per model x artifact x runtime variant x setting x batch.

JSON (`BenchResults.to_json`): {"results": [row...], "picks": [pick...], "environment": {...}}; each row has
FIELDS and EXTRA_FIELDS below (null where a value could not be measured); each pick PICK_FIELDS and the extras
of toolkit/bench/picks.py (threads, batch, fastest_p50_ms, rejected).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from toolkit.files import atomic_file
from toolkit.rows import ResultRow
from toolkit.runtimes.timing import TimingPlan

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
    "top1_agreement": "worst top-1 agreement with Keras of that check (quantized artifacts: on the judgement set)",
    "sqnr_db": "worst SQNR (dB) of that check; null where every output matched exactly in an integer output",
    "parity_error": "why the parity check failed or could not run",
    "speedup_vs_predict_on_batch": "Keras predict_on_batch p50 (same model, batch, CPU) / this row's p50",
    "speedup_vs_model_call": "Keras model(x) p50 (same model, batch, CPU) / this row's p50",
    "error": "why this row has no timings (runtime unavailable, no GPU, export or inference failure)",
    "error_kind": "the kind of `error`: unavailable, timeout, runtime, inputs, export or skipped",
}
PICK_FIELDS = ("model", "setting", "artifact", "runtime", "p50_ms", "size_bytes", "reason")
BASELINES = ("keras-call", "keras-predict_on_batch")  # Keras model(x) and model.predict_on_batch(x)


@dataclass(kw_only=True)
class BenchRow(ResultRow):
    setting: str
    threads: int | None
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
    top1_agreement: float | None = None
    sqnr_db: float | None = None
    parity_error: str | None = None
    speedup_vs_predict_on_batch: float | None = None
    speedup_vs_model_call: float | None = None

    @property
    def is_baseline(self) -> bool:
        return self.runtime in BASELINES


@dataclass
class BenchResults:
    rows: list[BenchRow] = field(default_factory=list)
    environment: dict = field(default_factory=dict)
    plan: TimingPlan = field(default_factory=TimingPlan)
    picks: list = field(default_factory=list)  # toolkit.bench.picks.Pick, filled once every row is in

    def to_json(self) -> dict:
        return {"results": [row.to_json() for row in self.rows], "picks": [pick.to_json() for pick in self.picks],
                "environment": self.environment}

    def write_json(self, path: Path) -> Path:
        with atomic_file(Path(path)) as staging:
            staging.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return Path(path)


ROW_KEYS = tuple(f.name for f in fields(BenchRow))
assert set(ROW_KEYS) == set(FIELDS) | set(EXTRA_FIELDS), "document every BenchRow field in FIELDS or EXTRA_FIELDS"
