"""How much the benchmark harness adds: its p50 against bare loops calling the engine directly.

For ONNX Runtime and LiteRT, on the same artifact, inputs, thread count and process, this times
(a) Runtime.time_runs (the benchmark's steady-state loop) over the toolkit runtime, as `toolkit bench` does, and
(b) bare loops created here without the toolkit: `InferenceSession.run`; for LiteRT both its signature
runner and the classic `set_tensor` / `invoke` / `get_tensor` calls (the runner resizes and re-allocates
on every call, which could cost on a bigger model). Each round runs every side once, in a rotating
order, so drift on a shared machine hits all alike. Prints each p50, the ratio of the harness to the
faster bare call, and exits 1 if a ratio is above 1 + 10% (or below 1 - 10%: a harness faster than the
bare engine would be timing something else). A script, not a test: it times.

    .venv/bin/python benchmarks/harness_overhead.py [--model functional_mlp|mobilenet_v3_small] [--batch 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.tf_env import import_tf  # noqa: E402

TOLERANCE = 0.10
Call = Callable[[dict], object]


def main_file(folder: Path) -> Path:
    from toolkit.export.manifest import read_manifest

    return folder / read_manifest(folder)["main_file"]


def bare_onnxruntime(path: Path, threads: int) -> dict[str, Call]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(main_file(path)), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return {"session.run": lambda feeds: session.run(names, feeds)}


def bare_litert(path: Path, threads: int) -> dict[str, Call]:
    """Two interpreters (one per calling style), so neither inherits the other's allocation state."""
    from ai_edge_litert.interpreter import Interpreter

    def interpreter() -> Interpreter:
        made = Interpreter(model_path=str(main_file(path)), num_threads=threads)
        made.allocate_tensors()
        return made

    runner = interpreter().get_signature_runner("serving_default")
    classic = interpreter()
    signature = classic.get_signature_runner("serving_default")
    inputs = {name: detail["index"] for name, detail in signature.get_input_details().items()}
    outputs = [detail["index"] for detail in signature.get_output_details().values()]
    shapes: dict[str, tuple] = {}

    def set_invoke_get(feeds: dict) -> list:
        for name, value in feeds.items():
            if shapes.get(name) != value.shape:  # resize only when the batch changes, as an app would
                classic.resize_tensor_input(inputs[name], value.shape)
                classic.allocate_tensors()
                shapes[name] = value.shape
            classic.set_tensor(inputs[name], value)
        classic.invoke()
        return [classic.get_tensor(index) for index in outputs]

    return {"signature runner": lambda feeds: runner(**feeds), "set_tensor/invoke": set_invoke_get}


def bare_loop(call: Call, feeds: dict, runs: int) -> list[float]:
    clock = time.perf_counter
    latencies = []
    for _ in range(runs):
        start = clock()
        call(feeds)
        latencies.append((clock() - start) * 1e3)
    return latencies


def compare(label: str, runtime, bare_calls: dict[str, Call], feeds: dict, rounds: int, runs: int) -> float:
    """Alternating rounds; the ratio of the harness's p50 to the faster bare call's p50."""
    from toolkit.runtimes.timing import TimingPlan

    plan = TimingPlan(runs=runs, time_budget_s=600.0, warmup=20)
    runtime.infer(feeds)  # the harness's first inference: validates the feeds once
    sides: dict[str, Call] = {"harness": lambda f: runtime.time_runs(f, plan), **bare_calls}
    for call in bare_calls.values():
        for _ in range(20):
            call(feeds)
    latencies: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(rounds):
        for name in names[index % len(names):] + names[:index % len(names)]:  # rotate who goes first
            if name == "harness":
                latencies[name] += runtime.time_runs(feeds, plan)
            else:
                latencies[name] += bare_loop(sides[name], feeds, runs)
    p50 = {name: float(np.median(values)) for name, values in latencies.items()}
    fastest = min((name for name in bare_calls), key=p50.get)
    ratio = p50["harness"] / p50[fastest]
    verdict = "ok" if abs(ratio - 1) <= TOLERANCE else "OUTSIDE 10%"
    bare_text = "   ".join(f"{name} p50 {p50[name] * 1e3:9.2f} us" for name in bare_calls)
    print(f"{label:<12} harness p50 {p50['harness'] * 1e3:9.2f} us   {bare_text}   ratio to {fastest} {ratio:5.3f}"
          f"  ({rounds} rounds x {runs} runs per side)  {verdict}", flush=True)
    return ratio


def default_runs(call: Call, feeds: dict) -> int:
    """About 0.3 s per side and round: 2000 runs of an MLP, a few hundred of a mid-size CNN."""
    started = time.perf_counter()
    for _ in range(5):
        call(feeds)
    each = (time.perf_counter() - started) / 5
    return int(min(2000, max(50, 0.3 / max(each, 1e-7))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="functional_mlp", help="reference or zoo model (mobilenet_v3_small: a mid-size CNN)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=None, help="runs per round and side (default: about 0.3 s worth)")
    parser.add_argument("--runtime", default="onnxruntime,litert", help="onnxruntime, litert or both")
    parser.add_argument("--out", type=Path, default=Path("artifacts"))
    args = parser.parse_args(argv)

    import_tf()
    from toolkit import api
    from toolkit.model.samples import sample_feeds
    from toolkit.registry import runtimes as registered_runtimes

    chosen = [(label, target, bare) for label, target, bare in
              (("onnxruntime", "onnx", bare_onnxruntime), ("litert", "tflite", bare_litert))
              if label in args.runtime.split(",")]
    loaded = api.load(args.model)
    exports = {r.target: r for r in api.export(loaded, [target for _, target, _ in chosen], ["none"], args.out)}
    feeds = sample_feeds(loaded, args.batch, args.batch)
    runtimes = registered_runtimes()
    ratios = []
    for label, target, bare in chosen:
        path = exports[target].path
        with runtimes[label].factory(path, threads=args.threads) as runtime:
            calls = bare(path, args.threads)
            runs = args.runs or default_runs(next(iter(calls.values())), feeds)
            ratios.append(compare(label, runtime, calls, feeds, args.rounds, runs))
    within = all(abs(r - 1) <= TOLERANCE for r in ratios)
    print(f"model {args.model}, batch {args.batch}, {args.threads} thread(s); within {TOLERANCE:.0%}: {'yes' if within else 'NO'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
