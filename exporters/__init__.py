"""Exporters: one module per target, each registering itself in toolkit.registry.EXPORTERS."""

from exporters import saved_model  # noqa: F401  (registration)
