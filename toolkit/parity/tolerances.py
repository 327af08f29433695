"""Pass rules of every parity check, with the reason for every bound.

A module of data with no imports from the rest of the toolkit: the reference-model registry,
the comparison, the CLI's help and the demo page's config all read it.

Float32 artifacts must compute what Keras computes, element by element. Quantized artifacts
cannot, by design; they are judged by what their outputs mean, on a sample set
(toolkit/parity/judgement.py): a classifier output by top-1 agreement with Keras, any other
output by its signal-to-quantization-noise ratio (SQNR). An elementwise bound on a quantized
artifact measures nothing useful: probabilities of about 1e-3 pass any atol (a 6%-agreement
int8 MobileNetV3 passed atol 0.15), and logits of about +-5 fail 0.01 + 0.01*|ref| at 99% agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

TASKS = ("classification", "regression", "embedding")


@dataclass(frozen=True)
class Tolerance:
    """Elementwise pass rule of float32 artifacts: |got - ref| <= atol + rtol * |ref|."""

    atol: float
    rtol: float
    reason: str = ""  # required when looser than the default: why this output may differ more


DEFAULT_FLOAT32 = Tolerance(atol=1e-4, rtol=1e-3, reason="float32 default")


@dataclass(frozen=True)
class QuantizedBudget:
    """Pass rule of a quantized artifact, per output, on the judgement sample set."""

    min_top1: float  # classification outputs: share of samples whose argmax matches Keras's
    min_sqnr_db: float  # regression and embedding outputs: 10*log10(sum ref^2 / sum (got - ref)^2)
    reason: str = ""


# SQNR: a uniform b-bit quantizer of a full-scale signal gives about 6.02*b + 1.76 dB per tensor
# (50 dB at 8 bits, 98 dB at fp16's 16); noise from every layer adds up through a network, so
# whole-model figures are far lower. Measured on keras.applications models with natural-looking
# images: untrained (near-uniform outputs), fp16 logits 37-43 dB at 96-99% top-1 agreement and int8
# 11-27 dB at 48-93%; trained on the digits (docs/quantization.md), fp16 51-66 dB at 100% and int8
# 30-36 dB at 99-100%, EfficientNetB0's failing int8 9.6 dB at 83%. A budget of B dB bounds the RMS error at 10^(-B/20) of the output's RMS, and
# the cosine with Keras's output at about sqrt(1 - 10^(-B/10)) or better.
QUANTIZED_BUDGETS = {
    # fp16 keeps 11 significant bits: a classifier should change its answer on at most 1 sample in 100;
    # 30 dB = RMS error at most 3% of the signal (measured 37-43 dB on deep CNNs).
    "fp16": QuantizedBudget(min_top1=0.99, min_sqnr_db=30.0, reason="fp16 weights (11 significant bits)"),
    # 8-bit weights (and activations for int8): 3% of answers may flip (the budget, met by
    # selective int8 on real architectures); 20 dB = RMS error at most 10% of the signal.
    "dynamic": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="int8 weights, dynamic-range activations"),
    "int8": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="int8 weights and activations"),
    # int16 activations take the activation noise away, the int8 weights keep theirs: the 8-bit budget.
    "int16x8": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="int8 weights, int16 activations"),
    # Searched modes (exporters/tflite_selective.py, tflite_auto.py) hold their result to --min-top1 (default
    # 0.99) on held-out calibration samples while searching; their verdict is the 8-bit budget like int8's.
    "int8-selective": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="int8, the most sensitive ops in float"),
    "auto": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="the smallest candidate meeting the budget"),
    "uint8": QuantizedBudget(min_top1=0.97, min_sqnr_db=20.0, reason="uint8 weights (TF.js)"),
}


def tolerance_for(output: str, overrides: dict[str, Tolerance] | None = None) -> Tolerance:
    """Float32: the per-output override ("" = every output) or the default."""
    overrides = overrides or {}
    return overrides.get(output) or overrides.get("") or DEFAULT_FLOAT32


def budget_for(quantization: str, overrides: dict[str, QuantizedBudget] | None = None,
               min_top1: float | None = None, min_sqnr_db: float | None = None) -> QuantizedBudget:
    """The budget of a quantization mode: the model's override, else the mode's; the user's figures win."""
    budget = (overrides or {}).get(quantization) or QUANTIZED_BUDGETS[quantization]
    if min_top1 is None and min_sqnr_db is None:
        return budget
    return QuantizedBudget(budget.min_top1 if min_top1 is None else min_top1,
                           budget.min_sqnr_db if min_sqnr_db is None else min_sqnr_db, "given on the command line")
