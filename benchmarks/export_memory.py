"""Peak memory (RSS) and wall time of exporting a large Keras model, step by step and as a whole.

Builds a Functional model with about --weights-mb MB of float32 weights (a stack of large Dense
layers, saved as .keras in a work folder), then runs every step in a fresh Python process so each
peak is its own:

  import          import TensorFlow, Keras and the exporters (the floor of every process)
  load            + load the .keras file and describe its signature (one Keras call)
  saved_model     + write the SavedModel through Keras's ExportArchive, nothing else
  export:T:Q      + one whole export as `toolkit export` runs it (SavedModel, converter, checks,
                    golden.json, manifest), for every target/quantization asked for
  inproc-all      + all --target all exports one after another in one process (today's CLI,
                    instrumented: shows what each export leaves resident for the next one)
  cli-all         the CLI itself: python -m toolkit.cli export --target all, as users run it
  cli-all-isolated  the same as the toolkit runs it for a model this large (TOOLKIT_EXPORT_ISOLATION=auto:
                    one child process per artifact); cli-all forces TOOLKIT_EXPORT_ISOLATION=inline
  cli-allq[-isolated]  the same two with --quantize all --calibration (9 artifacts; not run by default)

Inside a step process the peak of each phase (the SavedModel write, the converter's own stages, the
artifact checks...) is measured exactly, not sampled: the peak counter VmHWM in /proc/self/status is
read at each phase boundary and reset by writing "5" to /proc/self/clear_refs (Linux only).
Around every step process this script samples the RSS of the whole process tree every 20 ms (the
sum, as the OS must hold it at once) and takes the kernel's own peak of the process and its waited
children from wait4(); it kills a step whose tree exceeds --limit-gb so an experiment cannot take
the machine down.

    PYTHONPATH=. .venv/bin/python benchmarks/export_memory.py [--weights-mb 200] [--steps ...]
        [--targets saved_model:none,tflite:none,...] [--work DIR] [--limit-gb 16] [--json FILE]

A script, not a test: it takes a few minutes and prints tables (MB = 2**20 bytes, s = wall seconds).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TARGETS = ("saved_model:none", "tflite:none", "tflite:fp16", "tflite:dynamic", "tflite:int8",
                   "onnx:none", "tfjs:none")
DEFAULT_STEPS = ("import", "load", "saved_model", "export", "inproc-all", "cli-all", "cli-all-isolated")
ALL_PAIRS = ("saved_model:none", "tflite:none", "onnx:none", "tfjs:none")  # what --target all exports
INPUT_NAME = "features"
CALIBRATION_BATCHES = 32


# ---------------------------------------------------------------- /proc readers (both sides)


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmHWM, VmRSS, RssAnon, RssFile... of a process in KiB; {} once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.startswith(("Vm", "Rss")):
            values[key] = int(rest.split()[0])
    return values


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def mb(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.0f}"


# ---------------------------------------------------------------- step process: phase meter


class Meter:
    """Exact per-phase peaks: each wrapped call closes the running segment (reads VmHWM, resets it).

    A call's peak is the highest segment peak while it was open (nested calls included); its
    rss_in/rss_out are the resident sizes when it started and returned.
    """

    def __init__(self):
        self.first_peak = proc_status()["VmHWM"]  # interpreter start-up and imports before the meter
        self.process_peak = self.first_peak
        self.calls: list[dict] = []
        self.active: list[dict] = []
        reset_peak()

    def _close_segment(self) -> dict[str, int]:
        status = proc_status()
        self.process_peak = max(self.process_peak, status["VmHWM"])
        for record in self.active:
            record["peak"] = max(record["peak"], status["VmHWM"])
        reset_peak()
        return status

    def enter(self, label: str) -> None:
        status = self._close_segment()
        record = {"label": label, "depth": len(self.active), "rss_in": status["VmRSS"], "peak": status["VmRSS"],
                  "t0": time.perf_counter()}
        self.active.append(record)
        self.calls.append(record)

    def leave(self) -> None:
        status = self._close_segment()
        record = self.active.pop()
        record["rss_out"] = status["VmRSS"]
        record["seconds"] = time.perf_counter() - record.pop("t0")

    def peak_now(self) -> int:
        self._close_segment()
        return self.process_peak


def instrument(meter: Meter, owner, attribute: str, label) -> bool:
    """Wrap owner.attribute so each call is a metered phase; `label` is a string or f(*args)."""
    original = getattr(owner, attribute, None)
    if original is None or getattr(original, "_metered", False):
        return False

    @functools.wraps(original)
    def metered(*args, **kwargs):
        meter.enter(label(*args) if callable(label) else label)
        try:
            return original(*args, **kwargs)
        finally:
            meter.leave()

    metered._metered = True
    setattr(owner, attribute, metered)
    return True


def instrument_toolkit(meter: Meter, targets: set[str]) -> None:
    """Phases worth telling apart; converters' internals only for the targets this process runs."""
    import exporters.saved_model
    import exporters.via_saved_model
    import toolkit.export.run
    import toolkit.model.loading

    points = [
        (toolkit.model.loading, "resolve_model", "load .keras + describe signature"),
        (toolkit.export.run, "export_here", lambda loaded, target, quantization, *rest: f"EXPORT {target}:{quantization}"),
        (exporters.saved_model, "write_saved_model", "write SavedModel (ExportArchive)"),
        (exporters.via_saved_model, "write_saved_model", "write temporary SavedModel (ExportArchive)"),
        (exporters.saved_model, "check_saved_model", "check: tf.saved_model.load"),
        (toolkit.export.run, "write_golden", "golden.json (Keras predict)"),
        (toolkit.export.run, "build_manifest", "manifest (hash files)"),
    ]
    import exporters.rewrites
    points.append((exporters.rewrites, "prepare_for_target", "prepare_for_target (rewrites)"))
    if "tflite" in targets:
        from tensorflow.lite.python import lite
        from tensorflow.lite.tools import flatbuffer_utils

        import exporters.tflite

        points += [
            (lite.TFLiteSavedModelConverterV2, "convert", "TFLiteConverter.convert"),
            (lite.TFLiteConverterBaseV2, "_load_saved_model", "load SavedModel graph_def"),
            (lite, "_load", "tf.saved_model.load (lite._load)"),
            (lite, "_convert_saved_model", "MLIR import+convert (C++)"),
            (lite.TFLiteConverterBase, "_quantize", "calibrate + MLIR quantize"),
            (lite.TFLiteConverterBase, "_optimize_tflite_model", "post-process flatbuffer"),
            (flatbuffer_utils, "convert_bytearray_to_object", "flatbuffer -> Python object tree"),
            (lite, "_deduplicate_readonly_buffers", "deduplicate read-only buffers"),
            (exporters.tflite, "check_tflite", "check: LiteRT interpreter run"),
        ]
    if "onnx" in targets:
        import tf2onnx.convert
        import tf2onnx.graph
        import tf2onnx.optimizer
        import tf2onnx.tf_loader
        import tf2onnx.utils

        import exporters.onnx

        points += [
            (tf2onnx.tf_loader, "from_saved_model", "tf2onnx: load + freeze SavedModel"),
            (tf2onnx.tf_loader, "from_function", "freeze + grappler"),
            (tf2onnx.tf_loader, "convert_variables_to_constants_v2", "convert_variables_to_constants_v2"),
            (tf2onnx.tf_loader, "fix_freezing_errors_part2", "fix_freezing_errors_part2"),
            (tf2onnx.tf_loader, "tf_optimize_grappler", "grappler (constfold, function, dependency)"),
            (tf2onnx.tf_loader, "get_hash_table_info", "find hash tables"),
            (tf2onnx.convert, "_convert_common", "tf2onnx: convert"),
            (tf2onnx.convert, "process_tf_graph", "TF graph -> tf2onnx graph"),
            (tf2onnx.optimizer, "optimize_graph", "tf2onnx optimizers"),
            (tf2onnx.optimizer, "copy", None),  # deepcopy before each optimizer, below
            *[(factory, "optimize", f"optimizer {name}") for name, factory in tf2onnx.optimizer._optimizers.items()],
            (tf2onnx.graph.Graph, "make_model", "make ModelProto"),
            (tf2onnx.utils, "save_protobuf", "serialize + write .onnx"),
            (exporters.onnx, "unconverted_nodes", "check: onnx.load (unconverted ops)"),
            (exporters.onnx, "check_onnx", "check: onnx.load + checker + ORT session"),
        ]
    if "tfjs" in targets:
        from toolkit.tf_env import native_output_silenced

        with native_output_silenced(fds=(1, 2)):
            from tensorflowjs.converters import tf_saved_model_conversion_v2 as conversion
        import exporters.tfjs

        points += [
            (conversion, "convert_tf_saved_model", "tensorflowjs convert"),
            (conversion, "_load_model", "tf.saved_model.load"),
            (conversion, "_freeze_saved_model_v2", "freeze (variables -> constants)"),
            (conversion, "optimize_graph", "grappler optimize"),
            (conversion, "extract_weights", "extract weights"),
            (conversion, "write_artifacts", "MessageToDict + write shards"),
            (exporters.tfjs, "fix_graph_for_tfjs", "fix model.json"),
            (exporters.tfjs, "check_tfjs", "check: model.json signature"),
        ]
    for owner, attribute, label in points:
        if label is None:
            continue
        instrument(meter, owner, attribute, label)
    if "onnx" in targets:
        import copy
        import types

        import tf2onnx.optimizer

        shim = types.SimpleNamespace(deepcopy=copy.deepcopy)  # only tf2onnx.optimizer's deepcopy, not everyone's
        instrument(meter, shim, "deepcopy", "copy.deepcopy(graph)")
        tf2onnx.optimizer.copy = shim


# ---------------------------------------------------------------- step process: the steps


def build_model(work: Path, weights_mb: float) -> dict:
    """A Functional MLP: width W chosen so the Dense kernels hold ~weights_mb MB of float32."""
    import numpy as np

    from toolkit.tf_env import import_tf

    import_tf()
    import keras

    # params ~ 2048*W + W*W*2 + W*2048 (+ biases); solve 2*W^2 + 4096*W = weights_mb*2**20/4
    target = weights_mb * 2**20 / 4
    width = round((-4096 + (4096**2 + 8 * target) ** 0.5) / 4 / 128) * 128
    inputs = keras.Input((2048,), name=INPUT_NAME)
    x = inputs
    for i, units in enumerate((width, width, width, 2048)):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    model = keras.Model(inputs, outputs, name="big")
    path = work / "big.keras"
    model.save(path)
    rng = np.random.default_rng(0)
    np.savez(work / "big.npz", **{INPUT_NAME: rng.standard_normal((CALIBRATION_BATCHES, 2048)).astype("float32")})
    params = int(model.count_params())
    return {"params": params, "weights_mb": params * 4 / 2**20, "width": width, "file_mb": path.stat().st_size / 2**20}


def run_step(step: str, work: Path, weights_mb: float) -> dict:
    meter = Meter()
    started = time.perf_counter()
    result: dict = {"step": step}
    if step == "build":
        meter.enter("build + save model")
        result["model"] = build_model(work, weights_mb)
        meter.leave()
        return _finish(result, meter, started)

    from toolkit.tf_env import import_tf

    meter.enter("import tensorflow, keras, toolkit, exporters")
    import_tf()
    import toolkit.export.run  # noqa: F401
    from toolkit.plugins import load_plugins

    load_plugins()
    meter.leave()
    if step == "inproc-all":
        pairs = [tuple(pair.split(":")) for pair in ALL_PAIRS]
    elif step.startswith("export:"):
        pairs = [tuple(step.split(":")[1:])]
    else:
        pairs = []
    instrument_toolkit(meter, {t for t, _ in pairs})
    if step == "import":
        return _finish(result, meter, started)

    from toolkit.model.loading import resolve_model

    loaded = resolve_model(str(work / "big.keras"))
    result["after_load_rss_kb"] = proc_status()["VmRSS"]
    if step == "saved_model":
        import exporters.saved_model

        with tempfile.TemporaryDirectory(dir=work) as folder:
            exporters.saved_model.write_saved_model(loaded, Path(folder))
    elif pairs:
        import gc

        from toolkit.export.run import export_model

        out = work / f"out-{step.replace(':', '-')}"
        options = {"calibration": str(work / "big.npz")} if ("tflite", "int8") in pairs else {}
        results = []
        for pair in pairs:
            results += export_model(loaded, [pair], out, force=True, options=options)
            if os.environ.get("EXPORT_MEMORY_GC"):  # the cheap alternative: collect between exports
                import keras

                gc.collect()
                keras.backend.clear_session()
        result["errors"] = [f"{r.target}:{r.quantization}: {r.error}" for r in results if not r.ok]
        result["artifact_mb"] = {f"{r.target}:{r.quantization}": r.size_bytes / 2**20 for r in results}
    return _finish(result, meter, started)


def _finish(result: dict, meter: Meter, started: float) -> dict:
    result["peak_kb"] = meter.peak_now()
    result["end_rss_kb"] = proc_status()["VmRSS"]
    result["seconds"] = time.perf_counter() - started
    result["phases"] = meter.calls
    return result


# ---------------------------------------------------------------- parent: run and sample a process tree


def tree_pids(root: int) -> list[int]:
    try:
        import psutil

        return [root] + [c.pid for c in psutil.Process(root).children(recursive=True)]
    except Exception:  # the root just exited, or no psutil: the root alone
        return [root]


def run_measured(command: list[str], env: dict, log: Path, limit_kb: int, interval: float = 0.02) -> dict:
    """Run `command`, sampling its process tree; returns wall time, sampled tree peak, kernel peak."""
    started = time.perf_counter()
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    tree_peak = 0
    tree_peak_anon = 0
    per_pid: dict[int, int] = {}
    labels: dict[int, str] = {}
    killed = None
    rusage = None
    status = None
    try:
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            total = anon = 0
            for child in tree_pids(process.pid):
                values = proc_status(child)
                if values:
                    total += values.get("VmRSS", 0)
                    anon += values.get("RssAnon", 0)
                    per_pid[child] = max(per_pid.get(child, 0), values.get("VmHWM", 0))
                    if child not in labels or child != process.pid and labels[child] == labels.get(process.pid):
                        labels[child] = process_label(child)  # again: a child seen between fork and exec
            tree_peak, tree_peak_anon = max(tree_peak, total), max(tree_peak_anon, anon)
            if total > limit_kb and killed is None:
                killed = f"killed by the memory guard at {total / 2**20:.1f} GiB"
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(interval)
    finally:
        if status is None:  # interrupted: do not leave the step running
            os.killpg(process.pid, signal.SIGKILL)
            os.waitpid(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds_outside": time.perf_counter() - started,
        "returncode": process.returncode,
        "tree_peak_kb": tree_peak,  # sum of the tree's RSS at the worst 20 ms sample
        "tree_peak_anon_kb": tree_peak_anon,
        "kernel_peak_kb": rusage.ru_maxrss,  # max over the process and the descendants it waited for
        "processes": len(per_pid),
        # each process's own peak (VmHWM at its last sample: up to 20 ms before it exited)
        "process_peaks": [{"pid": pid, "label": labels.get(pid, "?"), "peak_kb": peak} for pid, peak in per_pid.items()],
        "killed": killed,
    }


def process_label(pid: int) -> str:
    """A short name for a process of the tree: the export worker's target, else its command."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    if "toolkit.worker" in argv:
        try:
            job = json.loads(Path(argv[argv.index("toolkit.worker") + 1]).read_text())
            return f"worker {job['target']}:{job['quantization']}"
        except (OSError, ValueError, IndexError, KeyError):
            return "worker"
    if "toolkit.cli" in argv:
        return "cli (parent)"
    if "--child" in argv:
        return f"step {argv[argv.index('--child') + 1]}"
    return " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv[:3]) if a)[:40]


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    env.update(extra or {})
    return env


def measure_step(step: str, work: Path, args) -> dict:
    if step.startswith("cli-all"):
        out = work / f"out-{step}"
        shutil.rmtree(out, ignore_errors=True)
        command = [sys.executable, "-m", "toolkit.cli", "export", "--model", str(work / "big.keras"),
                   "--target", "all", "--out", str(out), "--force"]
        if step.startswith("cli-allq"):  # every quantization mode: 9 artifacts
            command += ["--quantize", "all", "--calibration", str(work / "big.npz")]
        isolated = step.endswith("-isolated")
        extra = {"TOOLKIT_EXPORT_ISOLATION": "auto" if isolated else "inline", **args.extra_env}
        measured = run_measured(command, child_env(extra), work / f"{step}.log", args.limit_kb)
        measured.update(step=step, seconds=measured["seconds_outside"])
        if measured["returncode"] != 0:
            measured["errors"] = [(work / f"{step}.log").read_text(errors="replace")[-600:]]
        return measured
    result_file = work / f"{step.replace(':', '-')}.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--work", str(work),
               "--weights-mb", str(args.weights_mb), "--result", str(result_file)]
    # Step processes measure one process: the converters run in it (no export children).
    extra = {"TOOLKIT_EXPORT_ISOLATION": "inline", **({"EXPORT_MEMORY_GC": "1"} if args.gc else {}), **args.extra_env}
    measured = run_measured(command, child_env(extra), work / f"{step.replace(':', '-')}.log", args.limit_kb)
    if result_file.exists():
        measured.update(json.loads(result_file.read_text()))
    else:
        measured.update(step=step, errors=[(work / f"{step.replace(':', '-')}.log").read_text(errors="replace")[-600:]])
    return measured


# ---------------------------------------------------------------- report


def merged_phases(phases: list[dict]) -> list[tuple[int, dict]]:
    """The call tree with siblings of the same label merged (tf2onnx runs 12 optimizers per pass)."""
    root: dict = {"children": []}
    stack = [root]
    for p in phases:
        del stack[p["depth"] + 1:]
        parent = stack[-1]
        node = next((c for c in parent["children"] if c["label"] == p["label"]), None)
        rise = p["peak"] - p["rss_in"]
        if node is None:
            node = {**p, "count": 0, "seconds": 0.0, "rise": rise, "children": []}
            parent["children"].append(node)
        node["count"] += 1
        node["seconds"] += p.get("seconds", 0.0)
        node["peak"], node["rise"] = max(node["peak"], p["peak"]), max(node["rise"], rise)
        node["rss_out"] = p.get("rss_out")
        stack.append(node)
    flat = []

    def walk(node, depth):
        for child in node["children"]:
            flat.append((depth, child))
            walk(child, depth + 1)

    walk(root, 0)
    return flat


def print_report(results: list[dict], model: dict) -> None:
    print(f"\nmodel: {model.get('params', 0):,} float32 parameters = {model.get('weights_mb', 0):,.0f} MB of weights "
          f"(Dense width {model.get('width')}), .keras file {model.get('file_mb', 0):,.0f} MB\n")
    header = f"{'step':<26}{'wall s':>8}{'peak MB':>10}{'tree MB':>10}{'anon MB':>10}{'loaded MB':>11}{'end MB':>9}{'procs':>7}  notes"
    print(header)
    print("-" * len(header))
    for r in results:
        notes = "; ".join(filter(None, [r.get("killed"), *(e.replace("\n", " ")[:160] for e in r.get("errors", []))]))
        peak = r.get("peak_kb") or r.get("kernel_peak_kb")
        print(f"{r['step']:<26}{r.get('seconds', 0):>8.1f}{mb(peak):>10}{mb(r.get('tree_peak_kb')):>10}"
              f"{mb(r.get('tree_peak_anon_kb')):>10}{mb(r.get('after_load_rss_kb')):>11}{mb(r.get('end_rss_kb')):>9}"
              f"{r.get('processes', 1):>7}  {notes}")
    for r in results:
        if len(r.get("process_peaks") or []) > 1:
            shown = ", ".join(f"{p['label']} {mb(p['peak_kb'])}" for p in r["process_peaks"])
            print(f"  {r['step']} per-process peaks (MB): {shown}")
    print("\npeak = the process's own VmHWM (step processes) or wait4's ru_maxrss (largest single process of the "
          "CLI tree); tree = sampled sum of RSS over the process tree; anon = same for anonymous memory only; "
          "loaded = RSS after loading the model; end = RSS when the step finished.")
    for r in results:
        phases = r.get("phases") or []
        if not phases:
            continue
        print(f"\n[{r['step']}] phases: peak = highest RSS during the phase (nested phases included); "
              "xN = N calls merged (RSS in of the first, RSS out of the last, +peak the largest)")
        print(f"  {'phase':<60}{'s':>7}{'RSS in':>9}{'peak':>9}{'+peak':>9}{'RSS out':>9}")
        for depth, p in merged_phases(phases):
            name = "  " * depth + p["label"] + (f" x{p['count']}" if p["count"] > 1 else "")
            print(f"  {name:<60}{p['seconds']:>7.1f}{mb(p['rss_in']):>9}{mb(p['peak']):>9}"
                  f"{mb(p['rise']):>9}{mb(p.get('rss_out')):>9}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights-mb", type=float, default=200, help="float32 weight size of the test model (default 200)")
    parser.add_argument("--steps", default=",".join(DEFAULT_STEPS), help=f"comma-separated (default {','.join(DEFAULT_STEPS)})")
    parser.add_argument("--targets", default=",".join(DEFAULT_TARGETS), help="target:quantization pairs for the export step")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--limit-gb", type=float, default=16, help="kill a step whose process tree exceeds this (default 16)")
    parser.add_argument("--gc", action="store_true", help="gc.collect() + keras.backend.clear_session() between in-process exports")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for every step process (e.g. TF2ONNX_CATCH_ERRORS=FALSE); repeatable")
    parser.add_argument("--json", type=Path, help="also write the raw results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.limit_kb = int(args.limit_gb * 2**20)
    args.extra_env = dict(item.split("=", 1) for item in args.env)

    if args.child:  # inside a step process
        args.result.write_text(json.dumps(run_step(args.child, args.work, args.weights_mb)))
        return 0

    work = args.work or Path(tempfile.mkdtemp(prefix="export-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    steps = []
    for step in args.steps.split(","):
        steps += [f"export:{pair}" for pair in args.targets.split(",")] if step == "export" else [step]
    try:
        model_info = {}
        if not (work / "big.keras").exists():
            built = measure_step("build", work, args)
            model_info = built.get("model", {})
            (work / "model.json").write_text(json.dumps(model_info))
        elif (work / "model.json").exists():
            model_info = json.loads((work / "model.json").read_text())
        results = []
        for step in steps:
            print(f"running {step} ...", file=sys.stderr, flush=True)
            results.append(measure_step(step, work, args))
            r = results[-1]
            print(f"  {step}: {r.get('seconds', 0):.1f} s, peak {mb(r.get('peak_kb') or r.get('kernel_peak_kb'))} MB, "
                  f"tree {mb(r.get('tree_peak_kb'))} MB {r.get('killed') or ''}", file=sys.stderr, flush=True)
        print_report(results, model_info)
        if args.json:
            args.json.write_text(json.dumps({"model": model_info, "results": results}, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
