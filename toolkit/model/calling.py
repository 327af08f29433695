"""The Keras side of the toolkit: describe a model's named inputs/outputs and call it by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from toolkit.model.input_ranges import input_ranges
from toolkit.model.spec import ModelSignature, TensorSpec, random_inputs
from toolkit.model.vocabulary import string_samples

if TYPE_CHECKING:
    import keras


def _is_graph_model(model) -> bool:
    """Functional and Sequential models know their symbolic inputs; subclassed ones do not."""
    import keras
    from keras.src.models.functional import Functional

    return isinstance(model, (Functional, keras.Sequential))


def _embedding_limits(model) -> dict[str, int]:
    """Input name -> Embedding input_dim, for model inputs that feed an Embedding directly."""
    import keras

    limits = {}
    if not _is_graph_model(model):
        return limits
    by_tensor = {id(t): t.name for t in model.inputs}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.Embedding):
            continue
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                if id(tensor) in by_tensor:
                    limits[by_tensor[id(tensor)]] = int(layer.input_dim)
    return limits


def _input_specs(model) -> tuple[TensorSpec, ...]:
    if _is_graph_model(model):
        limits = _embedding_limits(model)
        by_tensor = {id(t): t.name for t in model.inputs}
        strings, ranges = string_samples(model, by_tensor), input_ranges(model, by_tensor)
        return tuple(
            TensorSpec(t.name, (None, *t.shape[1:]), str(t.dtype), limits.get(t.name), strings.get(t.name),
                       ranges[t.name][:2] if t.name in ranges else None,
                       ranges[t.name][2] if t.name in ranges else None)
            for t in model.inputs
        )
    # A subclassed model loaded from .keras is rebuilt from its build config.
    shape = model.get_build_config().get("input_shape") if model.built else None
    if shape is None:
        raise ValueError(
            f"model '{model.name}' is subclassed and was never built, so its input shape is "
            "unknown; call it once on real data before saving it"
        )
    return (TensorSpec("inputs", (None, *shape[1:]), "float32"),)


def _output_names(model, raw_outputs) -> list[str]:
    if isinstance(raw_outputs, dict):
        return list(raw_outputs)
    count = len(raw_outputs) if isinstance(raw_outputs, (list, tuple)) else 1
    if _is_graph_model(model):
        # Keras names an output after its layer, so a layer with several outputs (LSTM with
        # return_state, attention with its scores) gives them all one name: make them unique.
        return unique_names([t._keras_history.operation.name for t in model.outputs][:count])
    return [f"output_{i}" for i in range(count)]


def unique_names(names: Sequence[str]) -> list[str]:
    """`names` with each repeat renamed `name_1`, `name_2`, ... (never a name used elsewhere in the list)."""
    used = set(names)
    seen: set[str] = set()
    result = []
    for name in names:
        unique = name
        if name in seen:
            suffix = 1
            while f"{name}_{suffix}" in used:
                suffix += 1
            unique = f"{name}_{suffix}"
            used.add(unique)
        seen.add(name)
        result.append(unique)
    return result


def model_args(model: keras.Model, signature: ModelSignature, tensors: dict) -> object:
    """Arrange named tensors the way the model's call expects them."""
    if len(signature.inputs) == 1:
        return tensors[signature.inputs[0].name]
    if _is_graph_model(model):
        return {name: tensors[name] for name in signature.input_names}
    return [tensors[name] for name in signature.input_names]


def outputs_by_name(raw_outputs: object, names: list[str]) -> dict:
    if isinstance(raw_outputs, dict):
        return {name: raw_outputs[name] for name in names}
    if isinstance(raw_outputs, (list, tuple)):
        return dict(zip(names, raw_outputs))
    return {names[0]: raw_outputs}


def describe_model(model: keras.Model, input_specs: Sequence[TensorSpec] | None = None) -> ModelSignature:
    """Named input and output specs of `model`, batch dimension dynamic."""
    inputs = tuple(input_specs) if input_specs else _input_specs(model)
    probe = random_inputs(inputs, batch=2, seed=0)
    skeleton = ModelSignature(inputs, ())
    raw = model(model_args(model, skeleton, probe), training=False)
    names = _output_names(model, raw)
    by_name = outputs_by_name(raw, names)
    outputs = tuple(
        TensorSpec(name, (None, *tuple(t.shape)[1:]), np.dtype(t.dtype.name if hasattr(t.dtype, "name") else t.dtype).name)
        for name, t in by_name.items()
    )
    return ModelSignature(inputs, outputs)


def predict(model: keras.Model, signature: ModelSignature, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reference outputs: the model called in inference mode, as numpy, by output name."""
    raw = model(model_args(model, signature, feeds), training=False)
    return {name: np.asarray(t) for name, t in outputs_by_name(raw, signature.output_names).items()}
