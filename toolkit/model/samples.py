"""Sample inputs for a loaded model: the reference model's own samples, or seeded ones from its specs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from toolkit.model.loading import LoadedModel, resolve_model
from toolkit.model.spec import TensorSpec, random_inputs


def sample_feeds(loaded: LoadedModel, batch: int, seed: int) -> dict[str, np.ndarray]:
    if loaded.reference is not None:
        return loaded.reference.sample_inputs(loaded.signature.inputs, batch, seed)
    return random_inputs(loaded.signature.inputs, batch, seed)


def describe_samples(loaded: LoadedModel) -> str:
    """Which inputs generated samples are, for reports: "pixels: uniform in [0, 255] (layer 'rescaling' ...)"."""
    if loaded.reference is not None and loaded.reference.sample_inputs_fn is not None:
        return "the reference model's own sample inputs"
    return "; ".join(f"{spec.name}: {spec.describe_samples()}" for spec in loaded.signature.inputs)


def with_input_range(loaded: LoadedModel, low: float, high: float) -> LoadedModel:
    """`loaded` with every float input declared to take values in [low, high] (--input-range)."""

    def declared(spec: TensorSpec) -> TensorSpec:
        if spec.is_string or not np.issubdtype(np.dtype(spec.dtype), np.floating):
            return spec
        return dataclasses.replace(spec, value_range=(float(low), float(high)), range_source="--input-range")

    inputs = tuple(declared(spec) for spec in loaded.signature.inputs)
    return dataclasses.replace(loaded, signature=dataclasses.replace(loaded.signature, inputs=inputs),
                               input_range=(float(low), float(high)))


def resolve_with_range(spec: str, custom_objects: Path | None = None, unsafe: bool = False,
                       input_range: tuple[float, float] | None = None) -> LoadedModel:
    """`--model spec` loaded with the flags it came with (here, in an export child or in a scale-out worker)."""
    loaded = resolve_model(spec, custom_objects, unsafe)
    return with_input_range(loaded, *input_range) if input_range else loaded
