#!/usr/bin/env bash
# The GPU rows of `toolkit bench`, run once on a machine with an NVIDIA GPU and no network.
#
#   benchmarks/gpu_rows.sh prepare   # HERE (CPU machine, .venv set up): train + export what the device needs,
#                                    # into .cache/toolkit/reference_models and artifacts/ (both git-ignored)
#   benchmarks/gpu_rows.sh           # ON THE GPU MACHINE: `toolkit bench --setting gpu,cpu`, JSON + report into $OUT
#
# Carry to the GPU machine (ignored paths): .cache/toolkit/reference_models, artifacts, and the wheels folder
# ($WHEELS, default .whl) holding the toolkit's Python stack for that machine's Python (tensorflow 2.19, keras 3.15,
# tf-keras, tf2onnx, onnx, onnxruntime-gpu 1.32 instead of onnxruntime, ai-edge-litert, numpy 2.1, protobuf 5,
# matplotlib, rich, psutil, plus the CUDA 12 / cuDNN 9 libraries onnxruntime-gpu and TensorFlow load, e.g. the
# nvidia-*-cu12 wheels). Nothing is downloaded: wheels install with --no-index. Without a GPU the gpu rows say
# why ("no GPU: ...") and the script still exits 0 with the CPU rows. Where TensorFlow cannot be brought but
# onnxruntime-gpu can, it falls back to benchmarks/gpu_rows_ort.py: ONNX Runtime CUDA vs CPU rows on the carried
# ONNX artifacts, parity against their golden.json, no Keras baselines.
#
# Environment: OUT (default ./gpu-out), MODELS (default functional_mlp,residual_cnn,digits), TARGETS
# (saved_model,onnx,tflite), QUANTIZE (none), RUNS (500), TIME_BUDGET (1.0 s per row), LIMIT_S (480), PYTHON.
# Files written under $OUT (at most 8, two levels): bench-gpu.json, environment.txt, gpu_rows.log,
# report/report.md, report/report.html, report/latency.png, report/size_error.png.
set -uo pipefail
cd "$(dirname "$0")/.."

MODELS=${MODELS:-functional_mlp,residual_cnn,digits}
TARGETS=${TARGETS:-saved_model,onnx,tflite}
QUANTIZE=${QUANTIZE:-none}
WHEELS=${WHEELS:-.whl}
export TOOLKIT_CACHE_DIR=${TOOLKIT_CACHE_DIR:-$PWD/.cache/toolkit}
export TF_FORCE_GPU_ALLOW_GROWTH=true  # TensorFlow must not take the whole GPU from ONNX Runtime
export PYTHONUNBUFFERED=1

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"
  elif [ -x .venv/bin/python ] && .venv/bin/python -c "import tensorflow" 2>/dev/null; then echo .venv/bin/python
  else echo python3; fi
}

if [ "${1:-}" = "prepare" ]; then
  PY=$(pick_python)
  for model in ${MODELS//,/ }; do
    "$PY" -m toolkit.cli export --model "$model" --target "$TARGETS" --quantize "$QUANTIZE" --out artifacts --force || exit 3
  done
  if [ "$TOOLKIT_CACHE_DIR" != "$PWD/.cache/toolkit" ]; then  # the device reads the repo's default cache
    mkdir -p .cache/toolkit/reference_models
    for model in ${MODELS//,/ }; do cp "$TOOLKIT_CACHE_DIR/reference_models/$model"-*.keras .cache/toolkit/reference_models/; done
  fi
  du -sh .cache/toolkit/reference_models artifacts
  echo "carry: .cache/toolkit/reference_models artifacts $WHEELS"
  exit 0
fi

OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT/report"
exec > >(tee "$OUT/gpu_rows.log") 2>&1

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  echo "installing $(ls "$WHEELS"/*.whl | wc -l) carried wheels into /tmp/site (no index)"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
    || { echo "gpu_rows: installing the carried wheels failed"; exit 3; }
  export PYTHONPATH=/tmp/site:$PWD
  PY=${PYTHON:-python3}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  PY=$(pick_python)
fi
# pip's nvidia-* wheels keep the CUDA libraries in site-packages/nvidia/*/lib: let the loaders find them.
NVIDIA_LIBS=$("$PY" - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = [p for p in sys.path if p.endswith("site-packages") or p == "/tmp/site"] + site.getsitepackages()
print(":".join(sorted({d for r in roots for d in glob.glob(os.path.join(r, "nvidia", "*", "lib"))})))
EOF
)
[ -n "$NVIDIA_LIBS" ] && export LD_LIBRARY_PATH=$NVIDIA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

{
  echo "== $(date -u)"; uname -a; nproc; free -g | head -2
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not found"
  echo "python: $("$PY" --version 2>&1) ($PY)"
  "$PY" -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" 2>&1 | tail -1
  "$PY" -c "from toolkit.tf_env import import_tf; tf = import_tf(); print('tensorflow', tf.__version__, tf.config.list_physical_devices('GPU'))" 2>&1 | tail -1
} | tee "$OUT/environment.txt"

if "$PY" -c "from toolkit.tf_env import import_tf; import_tf(); import toolkit.cli, onnxruntime, ai_edge_litert" 2>/dev/null; then
  timeout "${LIMIT_S:-480}" "$PY" -m toolkit.cli bench --model "$MODELS" --setting gpu,cpu --target "$TARGETS" \
    --quantize "$QUANTIZE" --runtime tf_savedmodel,onnxruntime,litert --batch 1,8 --out artifacts \
    --runs "${RUNS:-500}" --time-budget "${TIME_BUDGET:-1.0}" --json "$OUT/bench-gpu.json" --report "$OUT/report"
  status=$?
elif "$PY" -c "import onnxruntime, toolkit.runtimes.onnxruntime" 2>/dev/null; then
  echo "gpu_rows: TensorFlow is missing here: ONNX Runtime rows only (CUDA vs CPU, parity against golden.json)"
  timeout "${LIMIT_S:-480}" "$PY" benchmarks/gpu_rows_ort.py --artifacts artifacts --models "$MODELS" --batch 1,8 \
    --runs "${RUNS:-500}" --time-budget "${TIME_BUDGET:-1.0}" --json "$OUT/bench-gpu.json" --report "$OUT/report"
  status=$?
else
  echo "gpu_rows: neither the toolkit's stack nor onnxruntime imports with $PY; carry wheels in $WHEELS (see the top)"
  exit 3
fi

"$PY" - "$OUT/bench-gpu.json" <<'EOF' || true
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("\nGPU rows (p50 ms, speed-up over CPU Keras predict_on_batch):")
for r in rows:
    if r["setting"] == "gpu":
        what = f"{r['p50_ms']:.4f} ms  x{r['speedup_vs_predict_on_batch'] or 0:.2f}" if r["p50_ms"] else r["error"]
        print(f"  {r['model']:<16} {r['runtime']:<24} b{r['batch']:<3} {what}")
EOF
exit $status
