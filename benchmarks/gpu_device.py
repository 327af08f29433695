"""GPU rows, measured once on a lent GPU machine that has no TensorFlow and no network.

That machine (see docs/benchmarks_gpu.md) has PyTorch, JAX and ONNX Runtime (CPU build) for
Python 3.12, but neither TensorFlow nor onnxruntime-gpu, and their wheels (about 600 MB and
255 MB; onnxruntime-gpu 1.31.1 also needs CUDA 12 libraries where the machine has CUDA 13)
exceed what can be carried there (64 MiB a call). So the GPU rows are the ones that machine can
run honestly:
  keras-jax-gpu     the reference .keras model under Keras 3's JAX backend on the GPU
  onnx2torch-cuda   the exported ONNX artifact, converted by onnx2torch, on the GPU
  onnxruntime-cpu   the same ONNX artifact in ONNX Runtime on that machine's CPU cores
  keras-jax-cpu     the .keras model under JAX on the CPU (a second process: JAX_PLATFORMS=cpu)
each with p50/p90/p99 latency at batch 1 and 8 and parity against golden.json (the Keras/TF outputs
written at export time on the CPU machine) at the float32 tolerance of `toolkit parity`.

    python benchmarks/gpu_device.py prepare   # HERE: fills .gpu_bundle/ (git-ignored) with wheels,
                                              # reference .keras files and ONNX artifacts
    python3 benchmarks/gpu_device.py run      # THERE: prints a table, writes $OUT/gpu_rows.json
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / ".gpu_bundle"
MODELS = ("functional_mlp", "multitask", "siamese", "residual_cnn", "subclassed_mlp", "dynamic_branch",
          "custom_dense_functional", "digits")
WHEELS = ("keras==3.15.1", "namex==0.1.0", "onnx2torch==1.5.15")
BATCHES = (1, 8)
WARMUP, RUNS = 20, int(os.environ.get("GPU_ROWS_RUNS", 300))


def prepare() -> None:
    """On the CPU machine: export what the device needs and download its pure-Python wheels."""
    sys.path.insert(0, str(ROOT))
    from toolkit import api
    from toolkit.export.layout import artifact_dir

    shutil.rmtree(BUNDLE, ignore_errors=True)
    (BUNDLE / "models").mkdir(parents=True)
    for name in MODELS:
        (result,) = api.export(name, ["onnx"], None, BUNDLE / "artifacts", force=True)
        assert result.ok, result.error
        shutil.copy(api.load(name).path, BUNDLE / "models" / f"{name}.keras")
        assert artifact_dir(BUNDLE / "artifacts", name, "onnx", "none").is_dir()
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "-d", str(BUNDLE / "wheels"), *WHEELS], check=True)
    size = sum(p.stat().st_size for p in BUNDLE.rglob("*") if p.is_file())
    print(f"bundle {BUNDLE}: {size / 2**20:.1f} MiB; carry .gpu_bundle")


def percentiles(samples_ms) -> dict:
    p50, p90, p99 = np.percentile(samples_ms, [50, 90, 99])
    return {"p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99), "runs": len(samples_ms)}


def timed(call) -> dict:
    """Warm up, then time RUNS calls (each call must block until its result is on the host)."""
    start = time.perf_counter()
    call()
    first_ms = (time.perf_counter() - start) * 1e3
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return {"first_ms": first_ms, **percentiles(samples)}


def golden(name):
    from toolkit.export.golden import read_golden

    return read_golden(BUNDLE / "artifacts" / name / "onnx")


def parity(name, outputs) -> dict:
    from toolkit.parity.compare import compare_outputs
    from toolkit.parity.tolerances import DEFAULT_FLOAT32

    _, reference = golden(name)
    result = compare_outputs(reference, outputs, {k: DEFAULT_FLOAT32 for k in reference})
    return {"parity_passed": result.passed, "max_abs_err": result.worst("max_abs_err"),
            "parity_error": "; ".join(result.errors) or None}


def feeds_for(name, batch):
    inputs, _ = golden(name)
    return {k: np.resize(v, (batch, *v.shape[1:])).astype(v.dtype) for k, v in inputs.items()}


def keras_rows(label: str) -> list[dict]:
    import keras

    import models.custom_layers  # noqa: F401  (registers the custom classes the .keras files use)
    import models.subclassed  # noqa: F401
    from toolkit.model.calling import describe_model, model_args, predict

    rows = []
    for name in MODELS:
        model = keras.saving.load_model(BUNDLE / "models" / f"{name}.keras")
        signature = describe_model(model, _input_specs(name))
        inputs, _ = golden(name)
        check = parity(name, predict(model, signature, inputs))
        for batch in BATCHES:
            args = model_args(model, signature, feeds_for(name, batch))
            rows.append({"model": name, "runtime": f"{label}-predict_on_batch", "batch": batch,
                         **timed(lambda a=args, m=model: m.predict_on_batch(a)), **check})
            rows.append({"model": name, "runtime": f"{label}-call", "batch": batch,
                         **timed(lambda a=args, m=model: np.asarray(keras.tree.flatten(m(a, training=False))[0])), **check})
    return rows


def _input_specs(name):
    from models.registry import REFERENCE_MODELS

    entry = REFERENCE_MODELS.get(name)
    return entry.input_specs if entry else None


def onnx_rows() -> list[dict]:
    import onnxruntime
    import torch
    from onnx2torch import convert

    rows = []
    for name in MODELS:
        path = BUNDLE / "artifacts" / name / "onnx" / "model.onnx"
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        inputs, _ = golden(name)
        check = parity(name, dict(zip(names, session.run(names, inputs))))
        for batch in BATCHES:
            feeds = feeds_for(name, batch)
            rows.append({"model": name, "runtime": "onnxruntime-cpu", "batch": batch,
                         **timed(lambda f=feeds, s=session, n=names: s.run(n, f)), **check})
        rows.extend(_torch_rows(name, path, convert, torch))
    return rows


def _torch_rows(name, path, convert, torch) -> list[dict]:
    try:
        module = convert(str(path)).cuda().eval()
    except Exception as error:  # onnx2torch lacks some ONNX ops: a row that says so, not a crash
        return [{"model": name, "runtime": "onnx2torch-cuda", "batch": b, "error": f"{type(error).__name__}: {error}"[:300]}
                for b in BATCHES]
    input_names = [i.name for i in __import__("onnx").load(str(path)).graph.input]

    def run(feeds):
        with torch.no_grad():
            tensors = [torch.from_numpy(feeds[n]).cuda() for n in input_names]
            out = module(*tensors)
            out = out if isinstance(out, (list, tuple)) else [out]
            return [o.cpu().numpy() for o in out]  # .cpu() synchronizes with the GPU

    inputs, reference = golden(name)
    got = run(inputs)
    output_names = [o.name for o in __import__("onnx").load(str(path)).graph.output]
    check = parity(name, dict(zip(output_names, got)))
    rows = []
    for batch in BATCHES:
        feeds = feeds_for(name, batch)
        rows.append({"model": name, "runtime": "onnx2torch-cuda", "batch": batch, **timed(lambda f=feeds: run(f)), **check})  # noqa: B023
    return rows


def run() -> None:
    out = Path(os.environ.get("OUT", "gpu-out"))
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    part = os.environ.get("GPU_ROWS_PART", "all")
    if part == "all":
        rows = _run_part("jax-gpu", {"JAX_PLATFORMS": "cuda"}) + _run_part("jax-cpu", {"JAX_PLATFORMS": "cpu"})
        rows += _run_part("onnx", {})
        (out / "gpu_rows.json").write_text(json.dumps({"environment": environment(), "results": rows}, indent=1))
        print_table(rows)
        return
    rows = keras_rows(f"keras-{part}") if part.startswith("jax") else onnx_rows()
    print("ROWS " + json.dumps(rows))


def _run_part(part, env) -> list[dict]:
    """Each part in its own process: JAX binds to one platform per process."""
    full_env = {**os.environ, **env, "KERAS_BACKEND": "jax", "GPU_ROWS_PART": part}
    done = subprocess.run([sys.executable, __file__, "run"], env=full_env, capture_output=True, text=True, timeout=400)
    lines = [line for line in done.stdout.splitlines() if line.startswith("ROWS ")]
    if done.returncode != 0 or not lines:
        print(f"part {part} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return [{"runtime": part, "error": done.stderr.strip().splitlines()[-1:] or "failed"}]
    return json.loads(lines[-1][5:])


def environment() -> dict:
    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)

    return {"gpu": output(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
            "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
            "packages": output([sys.executable, "-m", "pip", "list", "--format=freeze"]).splitlines()}


def print_table(rows) -> None:
    print(f"{'model':24} {'runtime':30} {'batch':>5} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'max abs err':>12} parity")
    for r in rows:
        if "error" in r:
            print(f"{r.get('model', '-'):24} {r['runtime']:30} {r.get('batch', '-'):>5} ERROR {r['error']}")
            continue
        verdict = "PASS" if r["parity_passed"] else f"FAIL {r['parity_error']}"
        print(f"{r['model']:24} {r['runtime']:30} {r['batch']:>5} {r['p50_ms']:9.4f} {r['p90_ms']:9.4f} "
              f"{r['p99_ms']:9.4f} {r['max_abs_err']:12.3e} {verdict}")


if __name__ == "__main__":
    {"prepare": prepare, "run": run}[sys.argv[1] if len(sys.argv) > 1 else "run"]()
