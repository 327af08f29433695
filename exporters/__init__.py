"""Exporters: one module per target, each registering itself in toolkit.registry.EXPORTERS."""

from exporters import onnx, saved_model, tfjs, tflite  # noqa: F401  (registration)
