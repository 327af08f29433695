"""Which public keras.layers classes the probes of benchmarks/probe_ops.py cover, and which are excluded why.

A class is probed when an instance of it appears in some probe model (nested layers included: the cells
inside RNN, the layer inside Bidirectional). Every other public class needs a reason in EXCLUDED;
parity_tests/test_probe_coverage.py fails when a class (a new Keras release adds some) has neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# Class name -> why no probe row exists. Only classes no saved inference model can hold belong here.
EXCLUDED = {
    "Layer": "the abstract base class of every layer: a model holds subclasses, and a custom layer's ops are "
             "covered by the op-level rows and by the errors that name the custom layer",
    "Wrapper": "abstract base of Bidirectional and TimeDistributed (probed) and of user wrappers",
    "FlaxLayer": "wraps a Flax module: runs only with the JAX backend; the toolkit exports from TensorFlow",
    "JaxLayer": "wraps a JAX function: runs only with the JAX backend; the toolkit exports from TensorFlow",
    "TorchModuleWrapper": "wraps a torch.nn.Module: runs only with the PyTorch backend",
    "TFSMLayer": "calls another SavedModel's endpoint, loaded by path: the model it wraps is what gets "
                 "converted, so its support is that model's; export that model instead",
    "Equalization": "Keras 3.15 cannot put it in a Functional or Sequential model (its symbolic output is its "
                    "own input: 'is part of a cycle'), so no saved model calls it; call it in the input pipeline "
                    "(RandAugment and AugMix hold one, probed: the identity at inference)",
}


def public_layer_classes() -> dict[str, type]:
    """Class name -> class for every public keras.layers class; aliases (AvgPool2D, Convolution2D) count once."""
    import inspect

    import keras

    found = {}
    for name in dir(keras.layers):
        value = getattr(keras.layers, name)
        if not name.startswith("_") and inspect.isclass(value) and issubclass(value, keras.layers.Layer):
            found[value.__name__] = value
    return found


def layer_classes_in(model, nested: bool = True) -> set[type]:
    """The classes of the layers in `model`: those it calls itself, and with `nested` those inside them too."""
    layers = model._flatten_layers(include_self=False, recursive=nested)
    return {type(layer) for layer in layers}


def probe_contents(probes: Mapping[str, Callable]) -> dict[str, dict[str, bool]]:
    """Probe row -> {public class name: True when the model calls it itself, False when it is only inside
    another layer (an RNN's cells, Bidirectional's layer, RandAugment's parts)}. Builds every probe."""
    import keras

    public = {cls: name for name, cls in public_layer_classes().items()}
    contents = {}
    for row, build in probes.items():
        keras.utils.clear_session()
        model = build()
        top = layer_classes_in(model, nested=False)
        contents[row] = {public[cls]: cls in top for cls in layer_classes_in(model) if cls in public}
    return contents


def probed_classes(contents: Mapping[str, Mapping[str, bool]], nested: bool = True) -> dict[str, list[str]]:
    """Public class name -> the probe rows that hold it (only those that call it themselves unless `nested`)."""
    rows: dict[str, list[str]] = {}
    for row, classes in contents.items():
        for name, called in classes.items():
            if called or nested:
                rows.setdefault(name, []).append(row)
    return rows


def unprobed_layers(contents: Mapping[str, Mapping[str, bool]] | None = None) -> list[str]:
    """Public keras.layers classes with neither a probe row nor a reason in EXCLUDED, sorted. `contents`:
    probe_contents of the probes (default: those of benchmarks/probe_ops.py, built here)."""
    if contents is None:
        from benchmarks.probe_ops import PROBES

        contents = probe_contents(PROBES)
    covered = probed_classes(contents)
    return sorted(name for name in public_layer_classes() if name not in covered and name not in EXCLUDED)
