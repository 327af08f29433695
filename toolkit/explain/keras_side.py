"""Every Keras layer's output, by layer name: the reference each artifact tensor is compared with.

Functional and Sequential models: one probe model, keras.Model(model.inputs, [every layer's output]).
Subclassed models have no graph to read outputs from: each direct sublayer's `call` is wrapped for one
forward pass and its result recorded. What cannot be reached either way is listed with the reason:
a layer called more than once (a shared layer: its calls cannot be told apart by name), and in a
subclassed model any computation written inline in `call()` rather than in a sublayer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from toolkit.model.calling import model_args
from toolkit.model.loading import LoadedModel


@dataclass(frozen=True)
class KerasLayer:
    name: str
    class_name: str
    inbound: tuple[str, ...]  # layers whose outputs it takes (model inputs left out)
    note: str = ""  # "first of 3 outputs", ...


@dataclass
class KerasLayers:
    """Reachable layers in call order, and why the others could not be reached."""

    layers: list[KerasLayer] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # layer -> the model output it computes
    graph: object = None  # the Functional graph (a Sequential's own); None: subclassed, outputs recorded from calls
    tensors: list = field(default_factory=list)  # graph models: each layer's symbolic output

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]


def describe_layers(loaded: LoadedModel) -> KerasLayers:
    """The layers whose outputs can be compared, in the order Keras runs them."""
    import keras

    from toolkit.model.calling import _is_graph_model

    model = loaded.model
    if not _is_graph_model(model):
        return _subclassed_layers(loaded)
    graph = model._functional if isinstance(model, keras.Sequential) else model
    nodes: dict[str, list] = {}
    for depth_nodes in graph._nodes_by_depth.values():
        for node in depth_nodes:
            nodes.setdefault(node.operation.name, []).append(node)
    found = KerasLayers(graph=graph)
    for layer in model.layers:
        mine = nodes.get(layer.name, [])
        if isinstance(layer, keras.layers.InputLayer) or not mine:
            continue
        if len(mine) != 1:
            found.unreachable[layer.name] = f"called {len(mine)} times (a shared layer): its calls cannot be told apart by name"
            continue
        outputs = keras.tree.flatten(mine[0].outputs)
        inbound = tuple(dict.fromkeys(parent.operation.name for parent in mine[0].parent_nodes
                                      if not isinstance(parent.operation, keras.layers.InputLayer)))
        note = f"first of {len(outputs)} outputs" if len(outputs) > 1 else ""
        if isinstance(layer, keras.Model):
            note = (note + "; " if note else "") + "a nested model: compared at its output, its own layers are not reached"
        found.layers.append(KerasLayer(layer.name, type(layer).__name__, inbound, note))
        found.tensors.append(outputs[0])
    made_by = {id(tensor): layer.name for layer, tensor in zip(found.layers, found.tensors)}
    for name, tensor in zip(loaded.signature.output_names, graph.outputs):
        if id(tensor) in made_by:
            found.outputs[made_by[id(tensor)]] = name
    return found


def layer_outputs(loaded: LoadedModel, layers: KerasLayers, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Layer name -> its output on `feeds` (float32; a layer with several outputs gives its first)."""
    if layers.graph is None:
        return _recorded_outputs(loaded, feeds)
    import keras

    graph = layers.graph
    key = (id(graph), tuple(layers.names))
    if key not in _PROBES:
        _PROBES.clear()  # one model at a time: do not keep old models alive
        _PROBES[key] = keras.Model(graph.inputs, list(layers.tensors))
    values = _PROBES[key]([np.asarray(feeds[t.name]) for t in graph.inputs], training=False)
    return {name: _as_array(value) for name, value in zip(layers.names, keras.tree.flatten(values))}  # zip: the
    # rows added for outputs no layer computes (toolkit/explain/run.py) are not the probe's


_PROBES: dict[tuple[int, tuple[str, ...]], object] = {}


def _as_array(value: object) -> np.ndarray:
    array = np.asarray(value)
    return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array


def _subclassed_layers(loaded: LoadedModel) -> KerasLayers:
    """Sublayers in the order `call()` runs them, found by one recorded forward pass."""
    from toolkit.model.samples import sample_feeds

    found = KerasLayers()
    calls: list[tuple[str, object]] = []
    with _recording(loaded.model, calls):
        loaded.model(model_args(loaded.model, loaded.signature, sample_feeds(loaded, 1, 0)), training=False)
    # No sublayer is taken as computing a model output: which one does can depend on the data (a branch in
    # call()); the outputs get rows of their own (toolkit/explain/run.py).
    layer_of = {layer.name: layer for layer in loaded.model._flatten_layers(include_self=False, recursive=False)}
    if len(calls) < len(layer_of):
        found.unreachable["(not called)"] = (f"{len(layer_of) - len(dict(calls))} sublayer(s) were not called on the "
                                             "first sample (a data-dependent branch in call()): compared only if "
                                             "every sample calls them")
    counts: dict[str, int] = {}
    for name, _ in calls:
        counts[name] = counts.get(name, 0) + 1
    previous: tuple[str, ...] = ()
    for name in dict(calls):
        layer = layer_of[name]
        if counts[name] > 1:
            found.unreachable[name] = f"called {counts[name]} times in call(): its calls cannot be told apart by name"
            continue
        # call() hides the wiring: each layer is taken to read the one called before it.
        found.layers.append(KerasLayer(name, type(layer).__name__, previous))
        previous = (name,)
    found.unreachable["(call body)"] = ("subclassed model: only sublayers' outputs are compared; computation written "
                                       "inline in call() (ops between layers) has no layer name to report")
    return found


def _recorded_outputs(loaded: LoadedModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    calls: list[tuple[str, object]] = []
    with _recording(loaded.model, calls):
        loaded.model(model_args(loaded.model, loaded.signature, feeds), training=False)
    import keras

    return {name: _as_array(keras.tree.flatten(value)[0]) for name, value in calls}


@contextmanager
def _recording(model: object, calls: list) -> Iterator[None]:
    """Wrap each direct sublayer's `call` (an instance attribute shadows the class's) and restore it after."""
    sublayers = list(model._flatten_layers(include_self=False, recursive=False))
    for layer in sublayers:
        original = layer.call

        def recorded(*args: object, _layer: object = layer, _call: object = original, **kwargs: object) -> object:
            value = _call(*args, **kwargs)
            calls.append((_layer.name, value))
            return value

        object.__setattr__(layer, "call", recorded)
    try:
        yield
    finally:
        for layer in sublayers:
            if "call" in vars(layer):
                object.__delattr__(layer, "call")
