"""Speed-up of every exported runtime against the Keras calls users would otherwise make.

Runs `toolkit bench` (toolkit.api.benchmark) on a few reference models; the same run records
Keras `model(x)` and `model.predict_on_batch(x)` as baseline rows (CPU), and this prints, per
model and batch, each runtime's p50 and its speed-up against both. A script, not a test: it times.

    .venv/bin/python benchmarks/keras_baseline.py [--models functional_mlp,residual_cnn,digits]
        [--setting cpu] [--batch 1,8] [--time-budget 1.0] [--json FILE] [--report DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_MODELS = "functional_mlp,residual_cnn,digits"


def speedup_lines(rows) -> list[str]:
    """A plain-text table: Keras baselines first, then the other runtimes fastest first."""
    lines = [f"{'model':<16}{'b':>3}  {'runtime':<24}{'artifact':<16}{'setting':<12}{'thr':>4}"
             f"{'p50 ms':>10}{'p90 ms':>10}{'x pob':>9}{'x call':>9}"]
    timed = [r for r in rows if r.p50_ms]
    for model in dict.fromkeys(r.model for r in timed):
        for batch in sorted({r.batch for r in timed if r.model == model}):
            group = [r for r in timed if r.model == model and r.batch == batch]
            group.sort(key=lambda r: (not r.is_baseline, r.p50_ms))
            for r in group:
                artifact = r.artifact
                pob = f"{r.speedup_vs_predict_on_batch:.2f}x" if r.speedup_vs_predict_on_batch else "-"
                call = f"{r.speedup_vs_model_call:.2f}x" if r.speedup_vs_model_call else "-"
                lines.append(f"{model:<16}{batch:>3}  {r.runtime:<24}{artifact:<16}{r.setting:<12}"
                             f"{'-' if r.threads is None else r.threads:>4}{r.p50_ms:>10.4f}{r.p90_ms:>10.4f}{pob:>9}{call:>9}")
            lines.append("")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--target", default="all")
    parser.add_argument("--quantize", default="all")
    parser.add_argument("--runtime", default=None)
    parser.add_argument("--setting", default="cpu")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--out", type=Path, default=Path("artifacts"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)

    from toolkit import api
    from toolkit.bench import report as bench_report
    from toolkit.cli_parser import integers, items
    from toolkit.runtimes.timing import TimingPlan

    default = TimingPlan()
    plan = TimingPlan(runs=args.runs or default.runs, time_budget_s=args.time_budget or default.time_budget_s)
    results = api.benchmark(items(args.models), items(args.target), items(args.quantize), items(args.runtime),
                            items(args.setting), integers(args.batch), args.out, plan=plan,
                            on_progress=lambda text: print(f"bench: {text}", file=sys.stderr))
    print("\n".join(speedup_lines(results.rows)))
    for line in bench_report.problem_lines(results.rows):
        print(f"not timed / parity: {line}")
    if args.json:
        print(f"results: {results.write_json(args.json)}")
    if args.report:
        print(f"report: {bench_report.write_report(results, args.report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
