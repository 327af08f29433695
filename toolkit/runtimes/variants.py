"""Runtime variants: a registered runtime with fixed options, as parity matrices and benchmarks name it.

Parity and bench share this one type. A parity variant ("tfjs-node-wasm") fixes the options that
change numerics; a benchmark variant adds the setting, thread count and device it is timed with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.errors import UsageError
from toolkit.registry import runtimes
from toolkit.runtimes.base import Runtime

# Options that change speed but never numerics: the parity verdict of a variant is checked without them.
TIMING_ONLY_OPTIONS = ("threads", "cpu_throttling")


@dataclass(frozen=True)
class RuntimeVariant:
    label: str  # the matrix's "runtime" column
    runtime: str  # the registered runtime name
    target: str  # the artifact format it runs
    options: tuple = ()  # sorted (key, value) pairs handed to the runtime, threads included
    setting: str | None = None  # benchmark setting (cpu, mobile-like, gpu); None for parity
    threads: int | None = None  # reported: threads the runtime was asked to use (None: it decides)
    quantizations: tuple[str, ...] | None = None  # None: every quantization of `target`
    device: str | None = None  # TensorFlow device scope around load and runs ("/CPU:0", "/GPU:0")
    gpu: str | None = None  # "onnxruntime" or "tensorflow": whose GPU must be present

    def create(self, artifact: Path, **extra: object) -> Runtime:
        return runtimes()[self.runtime].factory(artifact, **dict(self.options), **extra)

    @property
    def runtime_class(self) -> type[Runtime] | None:
        entry = runtimes().get(self.runtime)
        return entry.factory if entry else None

    def applies_to(self, quantization: str) -> bool:
        return self.quantizations is None or quantization in self.quantizations

    def numerics(self) -> RuntimeVariant:
        """The same runtime and numerics-relevant options, as a parity variant (one verdict per thread count)."""
        options = tuple((k, v) for k, v in self.options if k not in TIMING_ONLY_OPTIONS)
        return RuntimeVariant(self.label, self.runtime, self.target, options)

    def in_setting(self, setting: str, threads: int | None, **changes: object) -> RuntimeVariant:
        return replace(self, setting=setting, threads=threads, **changes)


PARITY_VARIANTS = (
    RuntimeVariant("tf_savedmodel", "tf_savedmodel", "saved_model"),
    RuntimeVariant("litert", "litert", "tflite"),
    # LiteRT's aarch64 kernels under qemu-user: the numbers a phone computes (toolkit/runtimes/litert_arm64.py).
    RuntimeVariant("litert-arm64", "litert-arm64", "tflite"),
    RuntimeVariant("onnxruntime", "onnxruntime", "onnx"),
    RuntimeVariant("tfjs-node-cpu", "tfjs-node", "tfjs", (("backend", "cpu"),)),
    RuntimeVariant("tfjs-node-wasm", "tfjs-node", "tfjs", (("backend", "wasm"),)),
    RuntimeVariant("tfjs-browser", "tfjs-browser", "tfjs"),
    RuntimeVariant("ort-web", "ort-web", "onnx"),
)


def parity_variant(label: str) -> RuntimeVariant:
    return next(v for v in PARITY_VARIANTS if v.label == label)


def runtime_variants(selection: Sequence[str] | None = None) -> list[RuntimeVariant]:
    """Registered parity variants; `selection` (labels or runtime names) filters them."""
    registered = runtimes()
    available = [v for v in PARITY_VARIANTS if v.runtime in registered]
    return filter_by_runtime(available, selection, known=available)


def filter_by_runtime(variants: Sequence[RuntimeVariant], selection: Sequence[str] | None,
                      known: Sequence[RuntimeVariant] = PARITY_VARIANTS) -> list[RuntimeVariant]:
    """`variants` whose label or runtime is in `selection` (all when empty); names outside `known` are a UsageError."""
    if isinstance(selection, str):
        raise TypeError("pass runtime names as a list (toolkit.cli_parser.items splits comma-separated text)")
    if not selection or "all" in selection:
        return list(variants)
    names = {v.label for v in known} | {v.runtime for v in known}
    unknown = [w for w in selection if w not in names]
    if unknown:
        raise UsageError(f"unknown runtime {', '.join(unknown)}; choose from {', '.join(sorted(names))} or all")
    return [v for v in variants if v.label in selection or v.runtime in selection]
