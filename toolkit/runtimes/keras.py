"""The reference runtime: the Keras model itself, called in inference mode."""

from __future__ import annotations

from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime


@runtime("keras", target="keras")
class KerasRuntime(Runtime):
    """`artifact` is a .keras file; pass `loaded=` (a LoadedModel) to reuse a model already in memory."""

    def read_signature(self):
        loaded = self.options.get("loaded")
        if loaded is None:
            from toolkit.loading import resolve_model

            loaded = resolve_model(str(self.artifact), self.options.get("custom_objects"), self.options.get("unsafe", False))
        self.loaded = loaded
        return loaded.signature

    def load_impl(self):
        self.model = self.loaded.model

    def infer_impl(self, feeds):
        from toolkit.keras_model import predict

        return predict(self.model, self.signature, feeds)
