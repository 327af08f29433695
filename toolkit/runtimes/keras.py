"""The reference runtime: the Keras model itself, loaded from its .keras file and called in inference mode.

Option `mode`: "call" (`model(x, training=False)`, the default) or "predict_on_batch": the two ways
users run Keras, which the benchmark reports as its baselines (keras-call, keras-predict_on_batch).
Loading the file is the runtime's load, so the benchmark times it like any other.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolkit.errors import UsageError
from toolkit.model.calling import model_args, predict
from toolkit.model.loading import LoadedModel, load_keras_file, resolve_model
from toolkit.model.spec import ModelSignature
from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime

MODES = ("call", "predict_on_batch")


@runtime("keras", target="keras")
class KerasRuntime(Runtime):
    """`artifact` is a .keras file; `loaded=` (a LoadedModel) gives its signature without describing it again."""

    def read_signature(self) -> ModelSignature:
        self.mode = self.options.get("mode", "call")
        if self.mode not in MODES:
            raise UsageError(f"keras: unknown mode {self.mode!r}; choose {' or '.join(MODES)}")
        loaded: LoadedModel | None = self.options.get("loaded")
        if loaded is None:
            loaded = resolve_model(str(self.artifact), self.options.get("custom_objects"), self.options.get("unsafe", False))
        self.loaded = loaded
        return loaded.signature

    def load_impl(self) -> None:
        self.model = load_keras_file(self.loaded.path, None, bool(self.options.get("unsafe", False)))

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return predict(self.model, self.signature, feeds)

    def engine_call(self) -> Callable[[dict], object]:
        if self.mode == "call":
            return self.infer_impl  # model(x) plus the conversion to numpy users would do
        return lambda feeds: self.model.predict_on_batch(model_args(self.model, self.signature, feeds))

    def close_impl(self) -> None:
        self.model = None
