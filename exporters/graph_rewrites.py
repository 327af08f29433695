"""Exact rewrites that depend on how layers connect, not on one layer alone: (serialized model, target)
-> descriptions. exporters/rewrites.py applies them before its per-layer table.

Functional configs name each call's inputs (inbound_nodes -> keras_history); a Sequential config is
a chain. Nested models are visited as graphs of their own; a connection across a nested model's
boundary is not followed.
"""

from __future__ import annotations

from collections.abc import Iterator

from exporters.config_surgery import named, swap_activation, swap_op

# Identity at inference: a ReLU behind them still consumes the gelu's tensor itself.
PASS_THROUGH = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
                "GaussianNoise", "AlphaDropout", "ActivityRegularization", "Identity"}
RECURRENT_CELLS = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")  # gelu inside, not last


def gelu_before_relu(model_config: dict, target: str) -> list[str]:
    """Exact gelu whose output a ReLU/ReLU6 consumes: gelu, then an identity reshape.

    The TFLite converter fuses such a ReLU into gelu's last Mul before it matches the GELU builtin;
    the pattern then fails and the leftover Erfc has no builtin (docs/random_models.md, F5). With a
    reshape in between the ReLU fuses into nothing and GELU matches; the values are unchanged.
    """
    descriptions = []
    for layers, consumers in _graphs(model_config):
        for entry in layers:
            name = entry["config"].get("name")
            if _exact_gelu(entry) and any(_fuses_into_mul(c) for c in _behind_pass_through(name, consumers)):
                if entry["class_name"] == "Gelu":
                    swap_op(entry, "gelu_reshaped")
                    descriptions.append(f"keras.ops.gelu '{name}': gelu followed by an identity reshape before the ReLU")
                elif swap_activation(entry, "gelu", "gelu_reshaped"):
                    descriptions.append(f"{named(entry)}: gelu followed by an identity reshape before the ReLU")
    return descriptions


def _exact_gelu(entry: dict) -> bool:
    config = entry["config"]
    if entry["class_name"] == "Gelu":
        return not config.get("approximate", True)
    return entry["class_name"] not in RECURRENT_CELLS and config.get("activation") == "gelu"


def _fuses_into_mul(entry: dict) -> bool:
    """Activations the converter fuses into a preceding Mul (measured: relu, relu6, ReLU(max_value=6))."""
    config, class_name = entry["config"], entry["class_name"]
    if class_name == "Activation":
        return config.get("activation") in ("relu", "relu6")
    if class_name == "ReLU":
        return not config.get("negative_slope") and not config.get("threshold")
    return class_name in ("Relu", "Relu6")


def _behind_pass_through(name: str, consumers: dict[str, list[dict]]) -> Iterator[dict]:
    """Consumers of layer `name`, looking through layers that return their input unchanged."""
    for consumer in consumers.get(name, ()):
        linear = consumer["class_name"] == "Activation" and consumer["config"].get("activation") in ("linear", None)
        if consumer["class_name"] in PASS_THROUGH or linear:
            yield from _behind_pass_through(consumer["config"].get("name"), consumers)
        else:
            yield consumer


def _graphs(node) -> Iterator[tuple[list[dict], dict[str, list[dict]]]]:
    """(layer entries, layer name -> consumer entries) for every model config in `node`, nested ones too."""
    if isinstance(node, list):
        for item in node:
            yield from _graphs(item)
        return
    if not isinstance(node, dict):
        return
    layers = (node.get("config") or {}).get("layers") if isinstance(node.get("config"), dict) else None
    if node.get("class_name") in ("Functional", "Sequential") and isinstance(layers, list):
        yield layers, _consumers(layers, functional=any("inbound_nodes" in entry for entry in layers))
    for value in node.values():
        yield from _graphs(value)


def _consumers(layers: list[dict], functional: bool) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    if not functional:  # Sequential: each layer feeds the next
        for before, after in zip(layers, layers[1:]):
            found.setdefault(before["config"].get("name"), []).append(after)
        return found
    for entry in layers:
        for producer in set(_history_names(entry.get("inbound_nodes", []))):
            found.setdefault(producer, []).append(entry)
    return found


def _history_names(node) -> Iterator[str]:
    """Names of the layers whose outputs a serialized call consumes (its __keras_tensor__ references)."""
    if isinstance(node, (list, tuple)):  # a call's args are a tuple before the config goes through JSON
        for item in node:
            yield from _history_names(item)
    elif isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            yield node["config"]["keras_history"][0]
        else:
            for value in node.values():
                yield from _history_names(value)
