"""LiteRT (TFLite) runtime: ai_edge_litert's Interpreter, inputs and outputs named by its signature.

The signature gives the tensors' names; the raw tensor order of a converted model differs from
Keras (two-input models swap them).
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
            # Inputs and outputs by signature name (the tensor order differs from Keras), then plain
            # set_tensor / invoke / get_tensor: the signature runner resizes and re-allocates on every
            # call, 1.2 us (29%) over a 4 us MLP (benchmarks/harness_overhead.py). No runner is kept: while
            # one holds the interpreter, LiteRT refuses invoke() outside it.
            runner = self._interpreter.get_signature_runner("serving_default")
            self._inputs = {name: d["index"] for name, d in runner.get_input_details().items()}
            self._outputs = {name: d["index"] for name, d in runner.get_output_details().items()}
            del runner
            self._shapes: dict[str, tuple] = {}

    def _resize(self, feeds: dict[str, np.ndarray]) -> None:
        """A new batch size: resize and re-allocate once, not on every call as the signature runner does."""
        for name, value in feeds.items():
            self._interpreter.resize_tensor_input(self._inputs[name], value.shape)
        self._interpreter.allocate_tensors()
        self._shapes.clear()
        self._shapes.update((name, value.shape) for name, value in feeds.items())

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self._outputs, self.engine_call()(feeds)))

    def engine_call(self) -> Callable[[dict], object]:
        # Everything bound to locals: at 4 us a call, each attribute lookup shows in the harness overhead.
        interpreter, inputs, shapes, resize = self._interpreter, self._inputs, self._shapes, self._resize
        set_tensor, invoke, get_tensor, outputs = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor, list(self._outputs.values())

        def call(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            for name, value in feeds.items():
                if shapes.get(name) != value.shape:
                    resize(feeds)  # before any set_tensor: allocation may drop inputs already set
                    break
            for name, value in feeds.items():
                set_tensor(inputs[name], value)
            invoke()
            return [get_tensor(index) for index in outputs]  # read as an application would (get_tensor copies)

        return call

    def close_impl(self) -> None:
        self._interpreter = None


@verifier("tflite")
def run_in_litert(folder: Path) -> str:
    """At export: the model runs on golden.json in LiteRT, with XNNPACK as phones use it."""
    feeds, expected = read_golden(folder)
    with LiteRTRuntime(folder) as runtime:
        expect_outputs(runtime.infer(feeds), expected, "litert")
    return "ran on golden.json in LiteRT (XNNPACK) at export"
