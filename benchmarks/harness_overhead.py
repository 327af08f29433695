"""How much the benchmark harness adds: its p50 against a bare loop calling the engine directly.

For ONNX Runtime and LiteRT, on the same artifact, inputs, thread count and process, this times
(a) Runtime.time_runs (the benchmark's steady-state loop) over the toolkit runtime, as `toolkit bench` does, and
(b) a bare loop around `InferenceSession.run` / LiteRT's signature runner, created here without the
toolkit. Rounds alternate (a) and (b) so drift on a shared machine hits both alike. Prints each
p50, the ratio (a)/(b), and exits 1 if a ratio is outside 1 +- 10%. A script, not a test: it times.

    .venv/bin/python benchmarks/harness_overhead.py [--model functional_mlp] [--batch 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.tf_env import import_tf  # noqa: E402

TOLERANCE = 0.10


def main_file(folder: Path) -> Path:
    from toolkit.export.manifest import read_manifest

    return folder / read_manifest(folder)["main_file"]


def bare_onnxruntime(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(main_file(path)), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return lambda feeds: session.run(names, feeds)


def bare_litert(path: Path, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(main_file(path)), num_threads=threads)
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner("serving_default")
    return lambda feeds: runner(**feeds)


def bare_loop(call, feeds, runs: int) -> list[float]:
    clock = time.perf_counter
    latencies = []
    for _ in range(runs):
        start = clock()
        call(feeds)
        latencies.append((clock() - start) * 1e3)
    return latencies


def compare(label, runtime, bare_call, feeds, rounds: int, runs: int) -> float:
    from toolkit.runtimes.timing import TimingPlan

    plan = TimingPlan(runs=runs, time_budget_s=60.0, warmup=50)
    runtime.infer(feeds)  # the harness's first inference: validates the feeds once
    for _ in range(200):
        bare_call(feeds)
    harness, bare = [], []
    for _ in range(rounds):
        harness += runtime.time_runs(feeds, plan)
        bare += bare_loop(bare_call, feeds, runs)
    h50, b50 = float(np.median(harness)), float(np.median(bare))
    ratio = h50 / b50
    verdict = "ok" if abs(ratio - 1) <= TOLERANCE else "OUTSIDE 10%"
    print(f"{label:<12} harness p50 {h50 * 1e3:8.2f} us   bare loop p50 {b50 * 1e3:8.2f} us   "
          f"ratio {ratio:5.3f}  ({len(harness)} + {len(bare)} runs)  {verdict}")
    return ratio


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="functional_mlp")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=2000, help="runs per round and side")
    parser.add_argument("--out", type=Path, default=Path("artifacts"))
    args = parser.parse_args(argv)

    import_tf()
    from toolkit import api
    from toolkit.model.samples import sample_feeds
    from toolkit.registry import runtimes as registered_runtimes

    loaded = api.load(args.model)
    exports = {r.target: r for r in api.export(loaded, ["onnx", "tflite"], ["none"], args.out)}
    feeds = sample_feeds(loaded, args.batch, args.batch)
    runtimes = registered_runtimes()
    ratios = []
    for label, target, bare in (("onnxruntime", "onnx", bare_onnxruntime), ("litert", "tflite", bare_litert)):
        path = exports[target].path
        with runtimes[label].factory(path, threads=args.threads) as runtime:
            ratios.append(compare(label, runtime, bare(path, args.threads), feeds, args.rounds, args.runs))
    print(f"model {args.model}, batch {args.batch}, {args.threads} thread(s); within {TOLERANCE:.0%}: "
          f"{'yes' if all(abs(r - 1) <= TOLERANCE for r in ratios) else 'NO'}")
    return 0 if all(abs(r - 1) <= TOLERANCE for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
