"""LiteRT (TFLite) runtime: ai_edge_litert's Interpreter through its signature runner.

The signature runner takes inputs and returns outputs by name; the raw tensor
order of a converted model differs from Keras (two-input models swap them).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from toolkit.export.golden import read_golden
from toolkit.registry import runtime, verifier
from toolkit.runtimes.base import Runtime, expect_outputs
from toolkit.tf_env import native_output_silenced


@runtime("litert", target="tflite")
class LiteRTRuntime(Runtime):
    """Options: threads (None = all cores), xnnpack (default True)."""

    def load_impl(self) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if self.options.get("xnnpack", True) else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        with warnings.catch_warnings(), native_output_silenced():
            warnings.simplefilter("ignore")  # the deprecation notice is about tf.lite, not this package
            self._interpreter = Interpreter(
                model_path=str(self.main_file), num_threads=self.threads or os.cpu_count() or 1, experimental_op_resolver_type=resolver
            )
            # XNNPACK is applied (and announces itself on stderr) at the first allocation.
            self._interpreter.allocate_tensors()
            self._runner = self._interpreter.get_signature_runner("serving_default")

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # The signature runner resizes inputs and re-allocates when the batch changes; copy the
        # outputs because they alias interpreter buffers that the next call overwrites.
        return {name: value.copy() for name, value in self._runner(**feeds).items()}

    def engine_call(self) -> Callable[[dict], object]:
        # Timing discards outputs, so it skips the copies (~0.7 us a call, over 10% of a 6 us MLP).
        runner = self._runner
        return lambda feeds: runner(**feeds)

    def close_impl(self) -> None:
        self._runner = self._interpreter = None


@verifier("tflite")
def run_in_litert(folder: Path) -> str:
    """At export: the model runs on golden.json in LiteRT, with XNNPACK as phones use it."""
    feeds, expected = read_golden(folder)
    with LiteRTRuntime(folder) as runtime:
        expect_outputs(runtime.infer(feeds), expected, "litert")
    return "ran on golden.json in LiteRT (XNNPACK) at export"
