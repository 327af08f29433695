"""GPU rows without TensorFlow: ONNX Runtime's CUDAExecutionProvider against its CPU provider.

The fallback of benchmarks/gpu_rows.sh for a GPU machine where TensorFlow cannot be brought (its
wheels are far larger than what travels) but onnxruntime-gpu can. It reads ONNX artifacts exported
elsewhere (`gpu_rows.sh prepare`), times them with toolkit.bench's harness in the `gpu` and `cpu`
settings, and judges parity against each artifact's golden.json (the Keras outputs recorded at
export, default float32 tolerance: no per-model overrides without TensorFlow). No Keras baseline
rows, so no speed-ups against Keras; the JSON has the usual schema.

    python benchmarks/gpu_rows_ort.py --artifacts artifacts --models digits,functional_mlp --json OUT.json --report DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def golden_parity(variant, folder: Path) -> tuple[bool | None, float | None, str | None]:
    """Run golden.json's inputs and compare with its Keras outputs; (passed, max abs error, error)."""
    from toolkit.bench import one_line
    from toolkit.compare import compare_outputs, tolerance_for
    from toolkit.golden import read_golden

    inputs, expected = read_golden(folder)
    try:
        with variant.create(folder) as runtime:
            got = runtime.infer(inputs)
    except Exception as error:  # the runtime did not start or crashed: the timing row says why too
        return None, None, one_line(error)
    result = compare_outputs(expected, got, {name: tolerance_for("none", name) for name in expected})
    return result.passed, result.worst("max_abs_err"), "; ".join(result.errors) or None


def model_rows(model: str, folder: Path, variants, batches, plan) -> list:
    from toolkit.bench import BenchRow, artifact_size, bench_runtime
    from toolkit.bench_run import _placement_check
    from toolkit.bench_settings import gpu_absence
    from toolkit.golden import read_golden

    inputs, _ = read_golden(folder)
    feeds = {b: {k: np.resize(v, (b, *v.shape[1:])).astype(v.dtype) for k, v in inputs.items()} for b in batches}
    rows = []
    for variant in variants:
        by_batch = {b: BenchRow(model, "onnx", "none", variant.label, variant.setting, variant.threads, b) for b in batches}
        absent = gpu_absence(variant)
        if absent:
            for row in by_batch.values():
                row.error = absent
        else:
            bench_runtime(lambda v=variant: v.create(folder), by_batch, feeds, plan, check=_placement_check(variant))
            verdict = golden_parity(variant, folder)
            for row in by_batch.values():
                row.parity_passed, row.max_abs_err, row.parity_error = verdict
        for row in by_batch.values():
            row.size_bytes = artifact_size(folder)
        rows += by_batch.values()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--models", default=None, help="comma-separated; default: every model with an onnx artifact")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--time-budget", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)

    from toolkit import bench_report, console
    from toolkit.bench import BenchResults, TimingPlan
    from toolkit.bench_run import environment
    from toolkit.bench_settings import setting_variants

    variants = [v for s in ("gpu", "cpu") for v in setting_variants(s) if v.runtime == "onnxruntime"]
    names = args.models.split(",") if args.models else sorted(p.parent.name for p in args.artifacts.glob("*/onnx"))
    batches = [int(b) for b in args.batch.split(",")]
    plan = TimingPlan(runs=args.runs, time_budget_s=args.time_budget)
    results = BenchResults(environment=environment(), plan=plan)
    for name in names:
        folder = args.artifacts / name / "onnx"
        if not (folder / "golden.json").is_file():
            print(f"skipping {name}: no {folder}/golden.json (run `benchmarks/gpu_rows.sh prepare` where TF is)")
            continue
        results.rows += model_rows(name, folder, variants, batches, plan)
    bench_report.print_table(results, console.stdout)
    if args.json:
        print(f"results: {results.write_json(args.json)}")
    if args.report:
        print(f"report: {bench_report.write_report(results, args.report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
