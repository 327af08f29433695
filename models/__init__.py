"""Reference Keras models built with every API; importing this package registers them all."""

from toolkit.tf_env import import_tf

import_tf()  # before keras: TensorFlow's start-up chatter is silenced only on the first import

from models import custom_layers, digits, functional, sequential, subclassed  # noqa: E402, F401  (registration)
from models.registry import REFERENCE_MODELS, ReferenceModel, Tolerance  # noqa: E402

__all__ = ["REFERENCE_MODELS", "ReferenceModel", "Tolerance"]
