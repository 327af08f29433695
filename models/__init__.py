"""Reference Keras models built with every API; importing this package registers them all."""

from models import custom_layers, digits, functional, sequential, subclassed  # noqa: F401  (registration)
from models.registry import REFERENCE_MODELS, ReferenceModel, Tolerance

__all__ = ["REFERENCE_MODELS", "ReferenceModel", "Tolerance"]
