"""How close a runtime's outputs are to Keras's, as numbers: cosine, SQNR, top-1 agreement, top-5 containment.

Pure numpy, so every layer can use the same definitions: parity's verdicts (toolkit/parity/) and the
quantization searches that measure candidates while exporting (exporters/tflite_measure.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; 0 when one side is all zeros (undefined) and NaN on overflow (huge outputs)."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.dot(a, b) / norms)


def sqnr_db(reference: np.ndarray, got: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB: 10*log10(sum ref^2 / sum (got - ref)^2); inf when equal."""
    reference, got = np.asarray(reference, dtype=np.float64), np.asarray(got, dtype=np.float64)
    noise = float(np.sum((got - reference) ** 2))
    signal = float(np.sum(reference**2))
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(signal / noise)) if signal > 0 else float("-inf")


def _by_class(array: np.ndarray, probabilities: bool = True) -> np.ndarray:
    """(samples, classes): every position of a sequence output is one classification. A single score is a
    binary decision: (1 - p, p) for a probability (p > 0.5 wins), (0, z) for a logit (z > 0 wins)."""
    array = np.asarray(array, dtype=np.float64)
    array = array.reshape(-1, array.shape[-1])
    if array.shape[-1] == 1:
        other = 1.0 - array if probabilities else np.zeros_like(array)
        array = np.concatenate([other, array], axis=-1)
    return array


def _are_probabilities(reference: np.ndarray) -> bool:
    return bool(reference.size) and float(np.min(reference)) >= 0.0 and float(np.max(reference)) <= 1.0


def top1_agreement(reference: np.ndarray, got: np.ndarray) -> float:
    probabilities = _are_probabilities(np.asarray(reference))
    return float(np.mean(_by_class(reference, probabilities).argmax(axis=-1) == _by_class(got, probabilities).argmax(axis=-1)))


def top5_containment(reference: np.ndarray, got: np.ndarray) -> float:
    """Share of samples whose Keras top-1 class is among the artifact's 5 highest scores."""
    probabilities = _are_probabilities(np.asarray(reference))
    reference, got = _by_class(reference, probabilities), _by_class(got, probabilities)
    k = min(5, got.shape[-1])
    top = np.argpartition(-got, k - 1, axis=-1)[:, :k]
    return float(np.mean((top == reference.argmax(axis=-1)[:, None]).any(axis=-1)))


EXACT_DB = 200.0  # the SQNR an exact input counts as: an exact tensor's is infinite, and losses must stay finite


def snr_loss_db(output_db: float, input_dbs: Sequence[float]) -> float:
    """SQNR (dB) a computation loses over the worst of its inputs, each input capped at EXACT_DB (no inputs:
    exact ones). Error an op merely inherits from upstream does not count against it: `toolkit explain`
    reports each layer's growth with it and the int8-selective search ranks ops by it."""
    return min(min(input_dbs, default=EXACT_DB), EXACT_DB) - output_db
