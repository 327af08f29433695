"""Benchmark settings: which runtime variants run, with how many threads, on which device.

- `cpu`: every registered runtime with all cores.
- `mobile-like`: LiteRT + XNNPACK at 1 and 2 threads for fp32/fp16/int8 .tflite files, TF.js wasm
  single-threaded in Node, and (when registered) TF.js in Chromium with 4x CPU throttling. This
  emulates a phone's small thread budget and the mobile kernels, not its ARM CPU, NNAPI or GPU delegates.
- `gpu`: ONNX Runtime's CUDAExecutionProvider and TensorFlow SavedModel on the GPU; without a GPU
  each such row says "no GPU" and nothing fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from toolkit.errors import UsageError
from toolkit.parity import ALL_VARIANTS, RuntimeVariant, filter_by_runtime
from toolkit.registry import load_runtimes

SETTINGS = ("cpu", "mobile-like", "gpu")
MOBILE_TFLITE = ("none", "fp16", "int8")  # fp32, fp16 and int8 .tflite files
MOBILE_THROTTLING = 4.0  # Chromium CPU throttling rate: roughly a mid-range phone against a desktop core
JS_RUNTIMES = ("tfjs-node",)  # one JavaScript thread: reported as 1 thread
BROWSER_RUNTIMES = ("tfjs-browser", "ort-web")  # the browser schedules threads: reported as null
# Options that change speed but never numerics: parity of a variant is checked without them.
TIMING_ONLY_OPTIONS = ("threads", "cpu_throttling")

MOBILE_LIKE_NOTE = (
    "mobile-like emulates a phone's thread budget (1 and 2 threads), its usual kernels (LiteRT with XNNPACK, "
    "TF.js wasm single-threaded) and, in Chromium, a 4x slower CPU through DevTools throttling. It does not "
    "emulate an ARM CPU (these are x86-64 cores with x86 SIMD), memory bandwidth, thermal throttling, or the "
    "NNAPI, GPU or Hexagon delegates a phone would use."
)


@dataclass(frozen=True)
class BenchVariant:
    """One runtime configuration in one setting; `options` go to the runtime (threads included)."""

    setting: str
    label: str  # the row's "runtime" column (a parity variant label)
    runtime: str
    target: str
    threads: int | None  # reported: threads the runtime was asked to use (None: the runtime decides)
    options: tuple = ()
    quantizations: tuple[str, ...] | None = None  # None: every requested quantization of `target`
    device: str | None = None  # TensorFlow device scope around load and runs ("/CPU:0", "/GPU:0")
    gpu: str | None = None  # "onnxruntime" or "tensorflow": whose GPU must be present

    def create(self, artifact):
        return load_runtimes()[self.runtime].factory(artifact, **dict(self.options))

    def parity_variant(self) -> RuntimeVariant:
        """The same runtime and numerics-relevant options, for toolkit.parity.check_parity."""
        options = tuple((k, v) for k, v in self.options if k not in TIMING_ONLY_OPTIONS)
        return RuntimeVariant(self.label, self.runtime, self.target, options)

    def applies_to(self, quantization: str) -> bool:
        return self.quantizations is None or quantization in self.quantizations


def parse_settings(text) -> list[str]:
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown or not names:
        raise UsageError(f"unknown setting {', '.join(unknown) or '(none)'}; choose from {', '.join(SETTINGS)} (comma-separated)")
    return list(dict.fromkeys(names))


def _all_cores(base: RuntimeVariant) -> BenchVariant:
    cores = os.cpu_count() or 1
    if base.runtime in JS_RUNTIMES:
        return BenchVariant("cpu", base.label, base.runtime, base.target, 1, base.options)
    if base.runtime in BROWSER_RUNTIMES:
        return BenchVariant("cpu", base.label, base.runtime, base.target, None, base.options)
    if base.runtime == "tf_savedmodel":
        # TensorFlow's thread pools are process-wide and already use every core.
        return BenchVariant("cpu", base.label, base.runtime, base.target, cores, base.options, device="/CPU:0")
    return BenchVariant("cpu", base.label, base.runtime, base.target, cores, (*base.options, ("threads", cores)))


def _variant(label: str) -> RuntimeVariant:
    return next(v for v in ALL_VARIANTS if v.label == label)


def setting_variants(setting: str) -> list[BenchVariant]:
    """Every variant of `setting`, registered or not (unregistered ones become error rows if asked for)."""
    if setting == "cpu":
        return [_all_cores(v) for v in ALL_VARIANTS]
    if setting == "mobile-like":
        litert = [
            BenchVariant("mobile-like", "litert", "litert", "tflite", n, (("threads", n), ("xnnpack", True)), MOBILE_TFLITE)
            for n in (1, 2)
        ]
        wasm = _variant("tfjs-node-wasm")
        browser = BenchVariant("mobile-like", "tfjs-browser", "tfjs-browser", "tfjs", None,
                               (("cpu_throttling", MOBILE_THROTTLING),))
        return [*litert, BenchVariant("mobile-like", wasm.label, wasm.runtime, "tfjs", 1, (*wasm.options, ("threads", 1))), browser]
    if setting == "gpu":
        return [
            BenchVariant("gpu", "onnxruntime", "onnxruntime", "onnx", None, (("provider", "cuda"),), gpu="onnxruntime"),
            BenchVariant("gpu", "tf_savedmodel", "tf_savedmodel", "saved_model", None, (), device="/GPU:0", gpu="tensorflow"),
        ]
    raise UsageError(f"unknown setting {setting}; choose from {', '.join(SETTINGS)}")


def select_variants(settings, runtime_selection=None, targets=None) -> list[BenchVariant]:
    """Variants of `settings`, filtered by runtime (labels or names) and target.

    Without a selection, runtimes that are not registered (browser.py absent) are left out; a runtime
    asked for by name that is known but not registered stays in and becomes an error row.
    """
    variants = [v for s in parse_settings(settings) for v in setting_variants(s)]
    if targets is not None:
        variants = [v for v in variants if v.target in targets]
    if not runtime_selection or runtime_selection == "all":
        registered = load_runtimes()
        return [v for v in variants if v.runtime in registered]
    return filter_by_runtime(variants, runtime_selection, known=ALL_VARIANTS)


def gpu_absence(variant: BenchVariant) -> str | None:
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
