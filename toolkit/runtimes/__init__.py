"""Runtimes: one module per engine, each registering itself in toolkit.registry.RUNTIMES."""

from toolkit.runtimes import keras, savedmodel  # noqa: F401  (registration)
