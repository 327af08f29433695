"""The range of values a model expects on each float input, read from the preprocessing layers it starts with.

Sample inputs are N(0, 1) unless a model says otherwise: keras.applications models rescale [0, 255]
images inside (MobileNetV3's Rescaling(1/127.5, offset=-1), EfficientNet's Rescaling(1/255),
ConvNeXt's Normalization with ImageNet statistics in pixel units). Fed N(0, 1), such a model
computes on inputs it never sees (logits with a standard deviation in the hundreds) and even its
float32 artifacts drift past float32 tolerances. The first Rescaling or Normalization on an input
decides: Rescaling maps the range to [0, 1] (no offset) or [-1, 1]; Normalization's mean +- 2
standard deviations (elementwise extremes over channels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

Range = tuple[float, float, str]  # (low, high, what it came from)


def input_ranges(model: keras.Model, input_tensors: dict[int, str]) -> dict[str, Range]:
    """Input name -> (low, high, source) for inputs (`input_tensors`: id(tensor) -> name) whose first
    consumer is a Rescaling or Normalization layer."""
    ranges = {}
    for layer in model.layers:
        found = _layer_range(layer)
        if found is None:
            continue
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                name = input_tensors.get(id(tensor))
                if name is not None and name not in ranges:
                    ranges[name] = (*found, f"layer '{layer.name}' ({type(layer).__name__})")
    return ranges


def _layer_range(layer: keras.layers.Layer) -> tuple[float, float] | None:
    import keras

    if isinstance(layer, keras.layers.Rescaling):
        scale, offset = _scalar(layer.scale), _scalar(layer.offset)
        if scale is None or offset is None or scale <= 0:
            return None
        low, high = (0.0, 1.0) if offset == 0 else (-1.0, 1.0)  # what the layer maps its inputs to
        return (low - offset) / scale, (high - offset) / scale
    if isinstance(layer, keras.layers.Normalization) and not layer.invert and layer.built:
        mean = np.asarray(layer.mean, dtype=np.float64)
        std = np.sqrt(np.asarray(layer.variance, dtype=np.float64))
        return float(np.min(mean - 2 * std)), float(np.max(mean + 2 * std))
    return None


def _scalar(value: object) -> float | None:
    array = np.asarray(value, dtype=np.float64)
    return float(array.ravel()[0]) if array.size and np.all(array == array.ravel()[0]) else None
