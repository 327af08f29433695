"""Edits of one serialized Keras layer entry ({"class_name", "config", "build_config", ...}), shared by the
rewrite functions of exporters/rewrites.py, exporters/layer_rewrites.py and exporters/graph_rewrites.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from exporters.replacements import custom_objects


def swap_activation(entry: dict, name: str, formula: str) -> bool:
    """Replace activation arguments equal to `name` in a built-in layer; True if any changed."""
    if not str(entry.get("module", "")).startswith("keras.layers"):
        return False  # a custom layer may resolve its activation where our replacement is unknown
    config = entry["config"]
    changed = [key for key, value in config.items() if key.endswith("activation") and value == name]
    for key in changed:
        config[key] = custom_objects()[formula]  # activations.get passes a callable through
    return bool(changed)


def swap_op(entry: dict, formula: str, **params: float) -> None:
    """A keras.ops node of a Functional model -> a weightless layer computing `formula`, same name."""
    swap_class(entry, "ToolkitFormula")
    entry["config"] = {"name": entry["config"]["name"], "formula": formula, "params": params}


def swap_class(entry: dict, class_name: str) -> None:
    """Deserialize the entry as `class_name` from custom_objects(), with the same config and weights."""
    entry.update(module=None, class_name=class_name, registered_name=class_name)


def named(entry: dict, class_name: str | None = None) -> str:
    return f"{class_name or entry['class_name']} '{entry['config']['name']}'"


def input_shape(entry: dict) -> list | None:
    """The layer's built input shape (batch first), or None when the config does not record it."""
    built = entry.get("build_config") or {}
    shape = built.get("input_shape")
    if shape is None and built.get("shapes_dict"):  # built from several call arguments (an RNN's initial_state):
        shape = next(iter(built["shapes_dict"].values()))  # the first is the main input (an RNN's sequences)
    if shape is None:  # lookup layers record no build shape: a Functional call's first input tensor has one
        shape = _first_inbound_shape(entry.get("inbound_nodes"))
    if shape and isinstance(shape[0], (list, tuple)):  # [sequence shape, initial state shapes...]
        shape = shape[0]
    return shape


def _first_inbound_shape(node) -> list | None:
    """The shape of the first __keras_tensor__ a serialized call takes (None when there is none)."""
    if isinstance(node, (list, tuple)):
        return next((s for s in map(_first_inbound_shape, node) if s is not None), None)
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return node["config"].get("shape")
        return next((s for s in map(_first_inbound_shape, node.values()) if s is not None), None)
    return None


def shown(shape: Sequence | None) -> str:
    return "unknown" if shape is None else "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def channels_last(entry: dict) -> bool:
    return entry["config"].get("data_format", "channels_last") != "channels_first"


def spatial_dims(entry: dict) -> list | None:
    """The input's spatial dimensions (None where unknown), in either data format; None without a shape."""
    shape = input_shape(entry)
    if not shape:
        return None
    return list(shape[1:-1] if channels_last(entry) else shape[2:])
