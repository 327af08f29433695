"""Reference Keras models built with every API; importing this package registers them all."""

import os

from toolkit.tf_env import import_tf

# Before keras: TensorFlow's start-up chatter is silenced only on the first import. The models
# themselves are backend-agnostic Keras 3 (the GPU benchmark loads them under JAX, where TF is absent).
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import_tf()

from models import custom_layers, digits, functional, sequential, subclassed, zoo, zoo_text  # noqa: E402, F401  (registration)
from models.registry import REFERENCE_MODELS, ReferenceModel, Tolerance, reference_names  # noqa: E402

__all__ = ["REFERENCE_MODELS", "ReferenceModel", "Tolerance", "reference_names"]
