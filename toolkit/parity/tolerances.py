"""Tolerances: the pass rule of every parity check, with the reason for every bound looser than float32's.

A module of data with no imports from the rest of the toolkit: the reference-model registry,
the comparison and the demo page's config all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """Elementwise pass rule: |got - ref| <= atol + rtol * |ref|."""

    atol: float
    rtol: float
    reason: str = ""  # required when looser than the default: why this output may differ more


DEFAULT_FLOAT32 = Tolerance(atol=1e-4, rtol=1e-3, reason="float32 default")
# Quantized artifacts are judged by a looser bound plus top-1 agreement for classifiers.
QUANTIZED = {
    # fp16 weights: ~3 significant digits per weight, errors accumulate over layers.
    "fp16": Tolerance(atol=1e-2, rtol=1e-2, reason="fp16 weights (10-bit mantissa)"),
    # int8 weights, float activations: weight error ~ scale/2 per weight.
    "dynamic": Tolerance(atol=6e-2, rtol=6e-2, reason="int8 weights, dynamic-range activations"),
    # int8 weights and activations (256 levels over each calibrated range).
    "int8": Tolerance(atol=1.5e-1, rtol=1.5e-1, reason="int8 weights and activations"),
    # TF.js uint8 weight quantization: 256 levels per weight tensor.
    "uint8": Tolerance(atol=6e-2, rtol=6e-2, reason="uint8 weights"),
}
MIN_TOP1_AGREEMENT = 0.9  # quantized classifiers: share of samples whose argmax matches Keras


def tolerance_for(quantization: str, output: str, overrides: dict[str, Tolerance] | None = None,
                  quantized_overrides: dict[str, Tolerance] | None = None) -> Tolerance:
    """Float32: per-output override ("" = every output) or the default; quantized: the model's or the mode's bound."""
    if quantization != "none":
        return (quantized_overrides or {}).get(quantization) or QUANTIZED[quantization]
    overrides = overrides or {}
    return overrides.get(output) or overrides.get("") or DEFAULT_FLOAT32
