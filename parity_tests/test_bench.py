"""`toolkit bench`: structure and sanity of the results, never a speed.

Timing runs are kept tiny (--runs / --time-budget); artifacts come from the session's test cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from toolkit.bench.harness import bench_runtime, latency_stats
from toolkit.bench.results import EXTRA_FIELDS, FIELDS, ROW_KEYS, BenchRow
from toolkit.bench.run import bench_artifact
from toolkit.bench.settings import gpu_absence, setting_variants
from toolkit.cli import main
from toolkit.errors import EXIT_USAGE, RuntimeUnavailableError
from toolkit.model.spec import ModelSignature, TensorSpec
from toolkit.runtimes.base import Runtime
from toolkit.runtimes.timing import TimingPlan
from toolkit.runtimes.variants import RuntimeVariant

TINY = ["--runs", "12", "--time-budget", "0.1", "--warmup", "2"]
REQUIRED = set(FIELDS)
POSITIVE = ("load_ms", "first_ms", "p50_ms", "p90_ms", "p99_ms", "throughput_per_s", "peak_rss_mb", "size_bytes",
            "mean_ms", "min_ms")


def _rows(path) -> list[dict]:
    data = json.loads(path.read_text())
    assert set(data) == {"results", "picks", "environment"}
    for row in data["results"]:
        assert REQUIRED <= set(row), f"missing {REQUIRED - set(row)}"
        assert set(row) - REQUIRED <= set(EXTRA_FIELDS), f"undocumented {set(row) - REQUIRED - set(EXTRA_FIELDS)}"
    return data["results"]


def _assert_sane(row: dict, max_runs: int) -> None:
    where = f"{row['model']} {row['target']}-{row['quantization']} {row['runtime']} {row['setting']} b{row['batch']}"
    assert row["error"] is None, where
    for key in POSITIVE:
        assert isinstance(row[key], (int, float)) and row[key] > 0, f"{where}: {key}={row[key]}"
    assert row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"], where
    assert 1 <= row["runs"] <= max_runs, where
    assert row["threads"] is None or (isinstance(row["threads"], int) and row["threads"] >= 1), where
    assert row["timing"] in ("wall", "runtime") and row["rss_source"], where
    assert row["throughput_per_s"] == pytest.approx(row["batch"] * 1000 / row["mean_ms"])


# --- the harness on fake runtimes (no TensorFlow work) ------------------------------------------
class _FakeRuntime(Runtime):
    """A Runtime with no engine behind it: doubles its input, or fails where told to."""

    name = "fake"

    def __init__(self, fail_at=None):
        super().__init__(Path("."))
        self.fail_at, self.calls, self.closed = fail_at, 0, False

    def read_signature(self):
        if self.fail_at == "load":
            raise RuntimeUnavailableError("fake: not installed here")
        return ModelSignature((TensorSpec("x", (None, 3), "float32"),), (TensorSpec("y", (None, 3), "float32"),))

    def load_impl(self):
        pass

    def infer_impl(self, feeds):
        self.calls += 1
        if self.fail_at == "infer":
            raise RuntimeError("fake: crashed")
        return {"y": feeds["x"] * 2}

    def close_impl(self):
        self.closed = True


class _InRuntimeTimed(_FakeRuntime):
    times_itself = True

    def measure_runs(self, feeds, warmup, runs):
        return [0.5 + 0.01 * i for i in range(runs)]


def _fake_rows():
    return {b: BenchRow(model="m", target="onnx", quantization="none", runtime="fake", batch=b, setting="cpu", threads=1)
            for b in (1, 8)}


def _feeds():
    return {b: {"x": np.ones((b, 3), "float32")} for b in (1, 8)}


def test_latency_stats_are_ordered_and_consistent():
    latencies = np.random.default_rng(0).lognormal(0, 1, 500)
    stats = latency_stats(latencies, batch=8)
    assert stats["min_ms"] <= stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"]
    assert stats["runs"] == 500 and stats["stdev_ms"] > 0
    assert stats["throughput_per_s"] == pytest.approx(8000 / np.mean(latencies))


def test_every_row_field_is_in_the_schema_or_documented():
    assert set(ROW_KEYS) == set(FIELDS) | set(EXTRA_FIELDS)
    assert all(EXTRA_FIELDS.values())


def test_wall_clock_timing_stops_at_the_run_count():
    rows, runtime = _fake_rows(), _FakeRuntime()
    bench_runtime(lambda: runtime, rows, _feeds(), TimingPlan(runs=7, time_budget_s=5, warmup=3))
    for row in rows.values():
        _assert_sane(row.to_json() | {"size_bytes": 1}, max_runs=7)
        assert row.timing == "wall" and row.runs == 7
    assert runtime.closed


def test_runtime_with_time_runs_is_timed_inside_it():
    rows = _fake_rows()
    bench_runtime(lambda: _InRuntimeTimed(), rows, _feeds(), TimingPlan(runs=30, time_budget_s=5, warmup=1))
    for row in rows.values():
        assert row.timing == "runtime" and row.runs == 30 and row.min_ms == pytest.approx(0.5)
        assert row.error is None


@pytest.mark.parametrize("fail_at", ["load", "infer"])
def test_failing_runtime_becomes_an_error_row(fail_at):
    rows = _fake_rows()
    bench_runtime(lambda: _FakeRuntime(fail_at), rows, _feeds(), TimingPlan(runs=5, time_budget_s=1, warmup=1))
    for row in rows.values():
        assert row.error and "fake:" in row.error and row.p50_ms is None


def test_mobile_like_is_litert_at_one_and_two_threads_and_single_threaded_wasm():
    variants = setting_variants("mobile-like")
    litert = [v for v in variants if v.runtime == "litert"]
    assert sorted(v.threads for v in litert) == [1, 2]
    assert all(v.quantizations == ("none", "fp16", "int8") and ("xnnpack", True) in v.options for v in litert)
    wasm = next(v for v in variants if v.label == "tfjs-node-wasm")
    assert wasm.threads == 1 and ("backend", "wasm") in wasm.options
    browser = next(v for v in variants if v.runtime == "tfjs-browser")
    assert ("cpu_throttling", 4.0) in browser.options
    assert browser.numerics().options == ()  # throttling never changes numerics


# --- the command, end to end ----------------------------------------------------------------------
@pytest.fixture
def digits_artifacts(artifacts_root, exports):
    """The session's cached digits artifacts these commands time, made current first (the CLI would refuse stale ones)."""
    pairs = (("saved_model", "none"), ("tflite", "none"), ("tflite", "int8"), ("onnx", "none"), ("onnx", "int8"))
    for target, quantization in pairs:
        assert exports[("digits", target, quantization)].ok
    return artifacts_root


def test_bench_cpu_and_mobile_like_json_and_report(tmp_path, digits_artifacts, capsys):
    artifacts_root = digits_artifacts
    json_path, report = tmp_path / "bench.json", tmp_path / "report"
    code = main(["bench", "--model", "digits", "--target", "saved_model,tflite,onnx", "--quantize", "none,int8",
                 "--runtime", "tf_savedmodel,litert,onnxruntime", "--setting", "cpu,mobile-like", "--batch", "1,8",
                 *TINY, "--out", str(artifacts_root), "--json", str(json_path), "--report", str(report)])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0
    assert "bench:" not in captured.err and "benchmarking" not in captured.err  # quiet: stderr is not a terminal
    assert "Benchmark: digits" in out and "vs pob" in out
    rows = _rows(json_path)
    for row in rows:
        _assert_sane(row, max_runs=12)
    seen = {(r["runtime"], r["target"], r["quantization"], r["setting"], r["threads"], r["batch"]) for r in rows}
    for batch in (1, 8):
        for baseline in ("keras-call", "keras-predict_on_batch"):
            assert any(s[:4] == (baseline, "keras", "none", "cpu") and s[5] == batch for s in seen)
        for threads in (1, 2):
            for quantization in ("none", "int8"):
                assert ("litert", "tflite", quantization, "mobile-like", threads, batch) in seen
        assert any(s[:4] == ("onnxruntime", "onnx", "none", "cpu") and s[5] == batch for s in seen)
    for row in rows:
        if row["runtime"].startswith("keras"):
            assert row["parity_passed"] is None and row["speedup_vs_predict_on_batch"] is not None
        else:
            assert isinstance(row["parity_passed"], bool) and row["max_abs_err"] is not None
            assert row["speedup_vs_predict_on_batch"] > 0 and row["speedup_vs_model_call"] > 0
            assert row["top1_agreement"] is not None and row["sqnr_db"] is not None  # digits is a classifier
    plots = ("tradeoffs.png", "latency.png", "size_error.png")
    assert {f.name for f in report.iterdir()} >= {"report.md", "report.html", *plots}
    html = (report / "report.html").read_text()
    for plot in plots:
        assert f"src='{plot}'" in html
        assert (report / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (report / "report.md").read_text()
    assert "![latency.png](latency.png)" in markdown and "NNAPI" in markdown and "ARM" in markdown
    _assert_tradeoffs(markdown, rows)
    _assert_picks(json.loads(json_path.read_text())["picks"], rows, markdown)
    assert "What to ship" in out


def _assert_picks(picks: list[dict], rows: list[dict], markdown: str) -> None:
    """One pick per model and setting, each within 1.2x of that setting's fastest passing batch-1 row, named at the top."""
    assert [(p["model"], p["setting"]) for p in picks] == [("digits", "cpu"), ("digits", "mobile-like")]
    top = "\n".join(markdown.splitlines()[:30])
    for pick in picks:
        passing = [r["p50_ms"] for r in rows if r["setting"] == pick["setting"] and r["batch"] == 1 and r["parity_passed"]]
        assert pick["artifact"] and pick["p50_ms"] <= 1.2 * min(passing)
        chosen = [r for r in rows if (r["setting"], r["runtime"], r["batch"], r["p50_ms"]) ==
                  (pick["setting"], pick["runtime"], 1, pick["p50_ms"])]
        assert chosen and chosen[0]["parity_passed"] and chosen[0]["size_bytes"] == pick["size_bytes"]
        assert f"| digits | {pick['setting']} | {pick['artifact']} |" in top and pick["reason"] in top


def _assert_tradeoffs(markdown: str, rows: list[dict]) -> None:
    """One line per artifact, smallest first, its size ratio to float32 and its worst top-1 over runtimes."""
    lines = markdown.split("## Trade-offs: digits (smallest first)")[1].split("##")[0].strip().splitlines()[2:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    sizes = {(r["target"] if r["quantization"] == "none" else f"{r['target']}-{r['quantization']}"): r["size_bytes"]
             for r in rows if not r["runtime"].startswith("keras")}
    assert [c[0] for c in cells] == sorted(sizes, key=lambda artifact: (sizes[artifact], artifact))
    assert set(sizes) == {"saved_model", "tflite", "tflite-int8", "onnx", "onnx-int8"}
    int8 = [r for r in rows if r["target"] == "tflite" and r["quantization"] == "int8"]
    float32 = next(r for r in rows if r["target"] == "tflite" and r["quantization"] == "none")
    assert cells[0][2] == f"{int8[0]['size_bytes'] / float32['size_bytes']:.2f}x"
    assert cells[0][3] == f"{min(r['top1_agreement'] for r in int8):.3f}"
    assert cells[0][7] == ("PASS" if all(r["parity_passed"] for r in int8) else "FAIL")


def test_gpu_setting_without_a_gpu_gives_no_gpu_rows_and_exit_0(tmp_path, digits_artifacts):
    artifacts_root = digits_artifacts
    gpu_variants = setting_variants("gpu")
    if not all(gpu_absence(v) for v in gpu_variants):
        pytest.skip("a GPU is present: the gpu rows run for real here")
    json_path = tmp_path / "bench.json"
    assert main(["bench", "--model", "digits", "--setting", "gpu", "--batch", "1", *TINY,
                 "--out", str(artifacts_root), "--json", str(json_path)]) == 0
    rows = _rows(json_path)
    gpu_rows = [r for r in rows if r["setting"] == "gpu"]
    assert {r["runtime"] for r in gpu_rows} == {"onnxruntime", "tf_savedmodel"}
    assert all(r["error"].startswith("no GPU") and r["p50_ms"] is None for r in gpu_rows)
    baselines = [r for r in rows if r["setting"] == "cpu"]  # Keras baselines still measured on the CPU
    assert {r["runtime"] for r in baselines} == {"keras-call", "keras-predict_on_batch"}
    for row in baselines:
        _assert_sane(row, max_runs=12)


def _bench_digits_onnx(loaded_models, exports, variant):
    feeds = {1: {"pixels": np.zeros((1, 64), "float32")}}
    plan = TimingPlan(runs=3, time_budget_s=0.1, warmup=1)
    (row,) = bench_artifact(loaded_models["digits"], exports[("digits", "onnx", "none")], variant, feeds, plan, {})
    return row


def test_missing_cuda_is_an_unavailable_row_not_a_crash(loaded_models, exports):
    if not gpu_absence(RuntimeVariant("onnxruntime", "onnxruntime", "onnx", setting="gpu", gpu="onnxruntime")):
        pytest.skip("CUDA is available here: the gpu rows run for real")
    cuda = RuntimeVariant("onnxruntime", "onnxruntime", "onnx", (("provider", "cuda"),), "cpu")
    row = _bench_digits_onnx(loaded_models, exports, cuda)
    assert "CUDAExecutionProvider" in row.error and row.p50_ms is None and row.size_bytes > 0
    assert row.error_kind == "unavailable"


def test_unregistered_runtime_is_a_row_not_a_crash(loaded_models, exports):
    ghost = RuntimeVariant("ghost", "ghost", "onnx", (), "cpu", 1)
    row = _bench_digits_onnx(loaded_models, exports, ghost)
    assert "not registered" in row.error and row.error_kind == "unavailable" and row.p50_ms is None


@pytest.mark.parametrize("arguments", [
    ["--setting", "desktop"], ["--batch", "0"], ["--batch", "one"], ["--runtime", "tensorrt"],
    ["--quantize", "int4"], ["--runs", "0"], ["--target", "coreml"], ["--compare", "no-such-old.json"],
])
def test_usage_errors_exit_2_before_any_work(tmp_path, capsys, arguments):
    code = main(["bench", "--model", "digits", "--out", str(tmp_path / "artifacts"), *arguments])
    assert code == EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "artifacts").exists()
