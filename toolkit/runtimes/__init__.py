"""Runtimes: one module per engine, each registering itself in toolkit.registry.RUNTIMES."""

from toolkit.runtimes import browser, keras, litert, onnxruntime, savedmodel, tfjs_node  # noqa: F401  (registration)
