"""Keras export and deployment toolkit: export, parity-check and benchmark Keras models."""

__version__ = "0.1.0"
