"""Benchmark settings: which runtime variants run, with how many threads, on which device.

- `cpu`: every registered runtime outside a browser with all cores (a server).
- `browser`: the runtimes inside Chromium (TF.js, ONNX Runtime Web) on a desktop; the browser decides threads.
- `mobile-like`: LiteRT + XNNPACK at 1 and 2 threads for fp32/fp16/int8 .tflite files, TF.js wasm
  single-threaded in Node, and (when registered) TF.js in Chromium with 4x CPU throttling. This
  emulates a phone's small thread budget and the mobile kernels, not its ARM CPU, NNAPI or GPU delegates.
- `gpu`: ONNX Runtime's CUDAExecutionProvider and TensorFlow SavedModel on the GPU; without a GPU
  each such row says "no GPU" and nothing fails.
A new setting is a branch of `setting_variants` and a line here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from toolkit.errors import UsageError
from toolkit.registry import runtimes
from toolkit.runtimes.variants import PARITY_VARIANTS, RuntimeVariant, filter_by_runtime, parity_variant

SETTINGS = ("cpu", "browser", "mobile-like", "gpu")
BROWSER_RUNTIMES = ("tfjs-browser", "ort-web")  # those whose class says is_browser; named here for unregistered ones
MOBILE_TFLITE = ("none", "fp16", "int8")  # fp32, fp16 and int8 .tflite files
MOBILE_THROTTLING = 4.0  # Chromium CPU throttling rate: roughly a mid-range phone against a desktop core
KERAS_BASELINES = (
    RuntimeVariant("keras-call", "keras", "keras", (("mode", "call"),)),
    RuntimeVariant("keras-predict_on_batch", "keras", "keras", (("mode", "predict_on_batch"),)),
)

MOBILE_LIKE_NOTE = (
    "mobile-like emulates a phone's thread budget (1 and 2 threads), its usual kernels (LiteRT with XNNPACK, "
    "TF.js wasm single-threaded) and, in Chromium, a 4x slower CPU through DevTools throttling. It does not "
    "emulate an ARM CPU (these are x86-64 cores with x86 SIMD), memory bandwidth, thermal throttling, or the "
    "NNAPI, GPU or Hexagon delegates a phone would use."
)


def parse_settings(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in SETTINGS]
    if unknown or not names:
        raise UsageError(f"unknown setting {', '.join(unknown) or '(none)'}; choose from {', '.join(SETTINGS)} (comma-separated)")
    return list(dict.fromkeys(names))


def _all_cores(base: RuntimeVariant) -> RuntimeVariant:
    """The cpu setting's form of a parity variant; thread counts follow the runtime's thread policy."""
    cores = os.cpu_count() or 1
    policy = base.runtime_class.thread_policy if base.runtime_class else "configurable"
    if policy == "single":
        return base.in_setting("cpu", 1)
    if policy == "runtime":
        return base.in_setting("cpu", None)
    if base.runtime == "tf_savedmodel":
        # TensorFlow's thread pools are process-wide and already use every core.
        return base.in_setting("cpu", cores, device="/CPU:0")
    return base.in_setting("cpu", cores, options=(*base.options, ("threads", cores)))


def _in_browser(variant: RuntimeVariant) -> bool:
    runtime_class = variant.runtime_class
    return runtime_class.is_browser if runtime_class else variant.runtime in BROWSER_RUNTIMES


def setting_variants(setting: str) -> list[RuntimeVariant]:
    """Every variant of `setting`, registered or not (unregistered ones become error rows if asked for)."""
    if setting in ("cpu", "browser"):
        # litert-arm64 is a phone's kernels under emulation: it belongs to mobile-like, not to a server.
        chosen = [v for v in PARITY_VARIANTS if _in_browser(v) == (setting == "browser") and v.runtime != "litert-arm64"]
        return [v.in_setting(setting, v.threads) for v in map(_all_cores, chosen)]
    if setting == "mobile-like":
        litert = [
            RuntimeVariant("litert", "litert", "tflite", (("threads", n), ("xnnpack", True)), "mobile-like", n, MOBILE_TFLITE)
            for n in (1, 2)
        ]
        wasm = parity_variant("tfjs-node-wasm")
        browser = RuntimeVariant("tfjs-browser", "tfjs-browser", "tfjs", (("cpu_throttling", MOBILE_THROTTLING),), "mobile-like")
        # A phone's aarch64 kernels, emulated: rows without a latency (toolkit/runtimes/litert_arm64.py says why).
        arm = RuntimeVariant("litert-arm64", "litert-arm64", "tflite", (("threads", 1), ("xnnpack", True)), "mobile-like", 1,
                             MOBILE_TFLITE)
        return [*litert, arm, wasm.in_setting("mobile-like", 1, options=(*wasm.options, ("threads", 1))), browser]
    if setting == "gpu":
        return [
            RuntimeVariant("onnxruntime", "onnxruntime", "onnx", (("provider", "cuda"),), "gpu", gpu="onnxruntime"),
            RuntimeVariant("tf_savedmodel", "tf_savedmodel", "saved_model", (), "gpu", device="/GPU:0", gpu="tensorflow"),
        ]
    raise UsageError(f"unknown setting {setting}; choose from {', '.join(SETTINGS)}")


def select_variants(settings: Sequence[str], runtime_selection: Sequence[str] | None = None,
                    targets: Sequence[str] | None = None) -> list[RuntimeVariant]:
    """Variants of `settings`, filtered by runtime (labels or names) and target.

    Without a selection, runtimes that are not registered are left out; a runtime asked for by
    name that is known but not registered stays in and becomes an error row.
    """
    variants = [v for s in parse_settings(settings) for v in setting_variants(s)]
    if targets is not None:
        variants = [v for v in variants if v.target in targets]
    if not runtime_selection or "all" in runtime_selection:
        registered = runtimes()
        return [v for v in variants if v.runtime in registered]
    return filter_by_runtime(variants, runtime_selection, known=PARITY_VARIANTS)


def gpu_absence(variant: RuntimeVariant) -> str | None:
    """Why `variant` cannot run on a GPU here ("no GPU: ..."), or None when it can (or needs none)."""
    if variant.gpu == "onnxruntime":
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return "no GPU: onnxruntime has no CUDAExecutionProvider here (needs the gpu extra, onnxruntime-gpu, and CUDA)"
    if variant.gpu == "tensorflow" and not tensorflow_gpus():
        return "no GPU: tf.config.list_physical_devices('GPU') is empty"
    return None


def tensorflow_gpus() -> list:
    from toolkit.tf_env import import_tf

    return import_tf().config.list_physical_devices("GPU")
