"""Artifact tensor names -> the Keras layer that computed them.

Every converter keeps TensorFlow's name scopes, and Keras opens one scope per layer call:
`StatefulPartitionedCall/<model>_1/<layer>_1/MatMul:0` (ONNX, TF.js) or, for TFLite's fused ops,
several such names joined by ";" (`<model>_1/outlier_1/MatMul;<model>_1/act_1/Relu`). TensorFlow makes
scope names unique with a numeric suffix, so the component after the model's scope is the layer's
name plus maybe `_N`, which is ambiguous when layers are auto-named (`dense_1` is either layer `dense`,
suffixed, or layer `dense_1`): each component is matched to the one layer it can only be, repeatedly,
and what stays ambiguous takes the suffix the model's own scope carries.

A tensor that names several layers (ops fused across layers) is the output of the one Keras runs last;
the others have no tensor of their own in the artifact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SUFFIX = re.compile(r"_\d+")


def _op_names(tensor_name: str) -> list[str]:
    return [part for part in tensor_name.split(";") if part]


def _layer_component(op_name: str, model_name: str, known: set[str]) -> str | None:
    """The scope component right after the model's scope; without a model scope, the first that can be a layer."""
    parts = op_name.split("/")[:-1]  # the last part is the op (or tensor) itself, never a scope
    model = re.compile(rf"{re.escape(model_name)}(_\d+)*")
    for index, part in enumerate(parts[:-1]):
        if model.fullmatch(part):
            return parts[index + 1]
    return next((part for part in parts if part in known), None)


def _candidates(component: str, layers: Sequence[str]) -> set[str]:
    return {name for name in layers if component == name or (component.startswith(name)
                                                               and SUFFIX.fullmatch(component[len(name):]))}


def resolve_components(components: Iterable[str], layers: Sequence[str], model_suffix: str = "") -> dict[str, str]:
    """Scope component -> layer name, one layer per component and one component per layer."""
    options = {c: _candidates(c, layers) for c in set(components)}
    options = {c: found for c, found in options.items() if found}
    resolved: dict[str, str] = {}
    while True:
        sure = {c: next(iter(found)) for c, found in options.items() if c not in resolved and len(found) == 1}
        if not sure:
            break
        resolved.update(sure)
        for c, found in options.items():
            if c not in resolved:
                found -= set(sure.values())
    for c, found in options.items():
        if c not in resolved and found:
            # Still ambiguous: the reading whose suffix matches the model scope's (TensorFlow numbers a
            # re-traced graph's scopes alike), else the exact name.
            same_suffix = [name for name in found if name + model_suffix == c]
            resolved[c] = same_suffix[0] if same_suffix else (c if c in found else sorted(found)[0])
    return resolved


def model_scope_suffix(tensor_names: Iterable[str], model_name: str) -> str:
    """The suffix TensorFlow gave the model's own scope (`_1` in `functional_1/dense_1/...`), or ""."""
    model = re.compile(rf"{re.escape(model_name)}((?:_\d+)*)")
    for name in tensor_names:
        for op in _op_names(name):
            for part in op.split("/")[:-1]:
                found = model.fullmatch(part)
                if found:
                    return found.group(1)
    return ""


def tensor_owners(tensor_names: Sequence[str], layers: Sequence[str], model_name: str) -> dict[str, tuple[str, set[str]]]:
    """Tensor name -> (the layer whose output it is, every layer its name mentions), for tensors of some layer."""
    known = set(layers)
    components = {name: [c for op in _op_names(name) if (c := _layer_component(op, model_name, known))]
                  for name in tensor_names}
    suffix = model_scope_suffix(tensor_names, model_name)
    mapping = resolve_components((c for found in components.values() for c in found), layers, suffix)
    order = {name: index for index, name in enumerate(layers)}
    owners = {}
    for name, found in components.items():
        mentioned = {mapping[c] for c in found if c in mapping}
        if mentioned:
            owners[name] = (max(mentioned, key=order.__getitem__), mentioned)
    return owners
