"""TensorFlow SavedModel runtime: tf.saved_model.load and the serving_default signature."""

from __future__ import annotations

import numpy as np

from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime


@runtime("tf_savedmodel", target="saved_model")
class SavedModelRuntime(Runtime):
    def load_impl(self) -> None:
        import tensorflow as tf

        if self.threads:
            # Thread pools are process-wide and fixed once TF runs its first op; best effort only.
            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.threads)
            except RuntimeError:
                pass
        self._tf = tf
        self._loaded = tf.saved_model.load(str(self.artifact))
        self._serving = self._loaded.signatures["serving_default"]

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {name: self._tf.constant(value) for name, value in feeds.items()}
        return {name: value.numpy() for name, value in self._serving(**tensors).items()}

    def close_impl(self) -> None:
        self._serving = self._loaded = None
