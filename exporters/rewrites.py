"""Exact op rewrites applied before conversion, when a target's converter or runtime lacks an op.

`prepare_for_target` returns the model to convert (the original, or an
equivalent one rebuilt from its config with the same weights) and a description
of every rewrite, which the manifest records; parity later proves each rewrite
exact. Each rewrite is one small function of a serialized layer config,
registered in REWRITES under (target, Keras class name); ANY_LAYER matches
every built-in layer (for activation arguments such as Dense(activation="gelu")).
The functions for convolution, pooling and resizing layers are in
exporters/layer_rewrites.py; a rewrite that depends on how layers connect is a
function of the whole serialized model, in GRAPH_REWRITES (exporters/graph_rewrites.py).
The user's model is never modified: the rewritten one is a new object.
Which layers need what was found by benchmarks/probe_ops.py (docs/op_support.md).

Rewrites reach what a model's config describes (Functional and Sequential
models, nested ones too); an op called inside a custom layer's `call` is out of
reach and fails in the exporter with an UnsupportedOpError naming it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from exporters.config_surgery import input_shape, named, shown, swap_activation, swap_class, swap_op
from exporters.graph_rewrites import gelu_before_relu
from exporters.layer_rewrites import (
    bicubic_resize,
    conv_transpose_as_conv,
    full_conv_transpose,
    grouped_conv,
    integer_lookup_via_comparisons,
    lookup_via_one_hot,
    mask_in_table,
    mel_spectrogram_via_matrices,
    separable_pooling_3d,
)
from exporters.replacements import FORMULAS, custom_objects
from toolkit.errors import ExportError, UnsupportedOpError, one_line
from toolkit.model.loading import LoadedModel

ANY_LAYER = "*"
RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")  # ConvLSTM takes unroll too
CONVOLUTIONS = ("Conv1D", "Conv2D", "Conv3D")
TRANSPOSED_CONVOLUTIONS = ("Conv2DTranspose", "Conv3DTranspose")  # tf2onnx converts Conv1DTranspose's pads
BICUBIC_RESIZERS = ("Resizing", "UpSampling2D")
LOOKUPS = ("StringLookup", "IntegerLookup", "TextVectorization")
STRING_LOOKUPS = ("StringLookup", "TextVectorization")
# Augmentation layers whose inference graph still updates their seed (measured with Keras 3.15).
SEEDED_AT_INFERENCE = ("MixUp", "RandomColorDegeneration", "RandomGrayscale", "RandomHue", "RandomPosterization",
                       "RandomSaturation", "RandomSharpness")
BICUBIC_ONNX = "ONNX's cubic Resize computes exact weights where TF's ResizeBicubic uses a 1024-step table"
XLA_CONV = "cannot convert the XLA-compiled function Keras runs this convolution in"


# --- the rewrites: (serialized layer entry, target) -> description, or None when it does not apply ---


def unroll_recurrent(entry: dict, target: str) -> str | None:
    """Keras's recurrent loop (tf.while_loop over TensorLists) -> the cell applied once per timestep."""
    config = entry["config"]
    if config.get("unroll"):
        return None
    shape = input_shape(entry)
    if shape is None or len(shape) < 2 or shape[1] is None:
        raise UnsupportedOpError(
            f"{target}: op While/TensorListReserve (from Keras layer '{config['name']}' ({entry['class_name']})) "
            f"is not supported by {target}, and the exact rewrite (unrolling the loop) needs a fixed sequence "
            f"length, but the layer's input shape is {shown(shape)}; give keras.Input a fixed number of "
            "timesteps, e.g. keras.Input((T, features))"
        )
    config["unroll"] = True
    return f"{named(entry)}: recurrent loop unrolled over its {shape[1]} timesteps"


def gelu_activation_via_erf(entry: dict, target: str) -> str | None:
    """activation="gelu" (exact) -> 0.5*x*(1+erf(x/sqrt(2))): TF computes it with Erfc."""
    if swap_activation(entry, "gelu", "gelu_erf"):
        return f"{named(entry)}: gelu computed as {FORMULAS['gelu_erf']}"
    return None


def gelu_op_via_erf(entry: dict, target: str) -> str | None:
    """keras.ops.gelu(x, approximate=False) in a Functional model -> the same function without Erfc."""
    if entry["config"].get("approximate", True):
        return None  # the tanh approximation converts as it is
    swap_op(entry, "gelu_erf")
    return f"keras.ops.gelu '{entry['config']['name']}': computed as {FORMULAS['gelu_erf']}"


def softsign_activation(entry: dict, target: str) -> str | None:
    """activation="softsign" -> x/(1+|x|), the definition of the Softsign op the target lacks."""
    if swap_activation(entry, "softsign", "softsign"):
        return f"{named(entry)}: softsign computed as {FORMULAS['softsign']}"
    return None


def softsign_op(entry: dict, target: str) -> str | None:
    swap_op(entry, "softsign")
    return f"keras.ops.softsign '{entry['config']['name']}': computed as {FORMULAS['softsign']}"


def celu_activation(entry: dict, target: str) -> str | None:
    """activation="celu" -> Expm1 written as exp(z)-1 (equal; the absolute difference is ~1 ulp of 1)."""
    if swap_activation(entry, "celu", "celu"):
        return f"{named(entry)}: celu computed as {FORMULAS['celu']}"
    return None


def celu_op(entry: dict, target: str) -> str | None:
    swap_op(entry, "celu", alpha=entry["config"].get("alpha", 1.0))
    return f"keras.ops.celu '{entry['config']['name']}': computed as {FORMULAS['celu']}"


def category_encoding_via_one_hot(entry: dict, target: str) -> str | None:
    """multi_hot/count of (batch, tokens) ints: bincount -> max/sum over one_hot (out-of-range ids count nowhere in both)."""
    config = entry["config"]
    shape = input_shape(entry)
    if config.get("output_mode") not in ("multi_hot", "count") or config.get("sparse") or not shape or len(shape) != 2:
        return None
    swap_class(entry, "ToolkitCategoryEncoding")
    reduce = "max" if config["output_mode"] == "multi_hot" else "sum"
    return f"{named(entry, 'CategoryEncoding')}: {config['output_mode']} as {reduce} over one_hot instead of DenseBincount"


def discretization_via_comparisons(entry: dict, target: str) -> str | None:
    """output_mode="int": Bucketize -> count of boundaries <= x (the same index, as compares and a sum)."""
    config = entry["config"]
    if config.get("output_mode", "int") != "int" or not config.get("bin_boundaries"):
        return None
    swap_class(entry, "ToolkitDiscretization")
    return f"{named(entry, 'Discretization')}: bucket index computed as sum(x >= boundaries) instead of Bucketize"


def augmentation_as_identity(entry: dict, target: str) -> str | None:
    """An augmentation layer -> Identity, which is what it computes at inference (training=False). These
    layers draw their random transformation (a SeedGenerator state update) even then, and the TF.js
    converter's freezing fails on that update ("Identity is not in graph")."""
    config, described = entry["config"], named(entry)
    entry.update(module="keras.layers", class_name="Identity", registered_name=None)
    entry["config"] = {key: config[key] for key in ("name", "trainable", "dtype") if key in config}
    return f"{described}: computed as the identity it is at inference (no random transformation drawn)"


@dataclass(frozen=True)
class Rewrite:
    function: Callable  # (layer config entry, target) -> description or None; graph: (model config, target) -> list
    why: str  # what the target lacks; goes into the manifest after the description


def _table(*rows) -> dict[tuple[str, str], tuple[Rewrite, ...]]:
    table: dict[tuple[str, str], tuple[Rewrite, ...]] = {}
    for target, class_names, function, why in rows:
        for name in class_names:
            table[(target, name)] = (*table.get((target, name), ()), Rewrite(function, why))
    return table


# (target, Keras class name) -> rewrites, each with the reason the target needs it.
REWRITES = _table(
    # TFLite builtins lack TensorListReserve/SetItem (Keras 3's loop keeps the batch dimension dynamic,
    # so they cannot be lowered) and the Flex delegate that would run them is not shipped.
    ("tflite", RECURRENT, unroll_recurrent, "TFLite builtins lack the TensorList ops of the loop"),
    # The converter writes the While loop, but TF.js cannot execute it ("Cannot compute the outputs").
    ("tfjs", RECURRENT, unroll_recurrent, "TF.js cannot execute the converted While loop"),
    # TF's exact gelu uses Erfc; tf2onnx has no Erfc conversion (ONNX Gelu needs opset 20) and
    # writes an invalid graph; TF.js has Erf but not Erfc.
    ("onnx", (ANY_LAYER,), gelu_activation_via_erf, "tf2onnx cannot convert Erfc"),
    ("onnx", ("Gelu",), gelu_op_via_erf, "tf2onnx cannot convert Erfc"),
    ("tfjs", (ANY_LAYER,), gelu_activation_via_erf, "TF.js lacks Erfc"),
    ("tfjs", ("Gelu",), gelu_op_via_erf, "TF.js lacks Erfc"),
    # Neither TFLite builtins nor TF.js have a Softsign kernel.
    ("tflite", (ANY_LAYER,), softsign_activation, "TFLite builtins lack Softsign"),
    ("tflite", ("Softsign",), softsign_op, "TFLite builtins lack Softsign"),
    ("tfjs", (ANY_LAYER,), softsign_activation, "TF.js lacks Softsign"),
    ("tfjs", ("Softsign",), softsign_op, "TF.js lacks Softsign"),
    # tf2onnx has no Expm1 conversion (TF's celu uses it) and writes an invalid graph.
    ("onnx", (ANY_LAYER,), celu_activation, "tf2onnx cannot convert Expm1"),
    ("onnx", ("Celu",), celu_op, "tf2onnx cannot convert Expm1"),
    # Keras's TF fast path for multi_hot/count is DenseBincount, which TFLite builtins lack.
    ("tflite", ("CategoryEncoding",), category_encoding_via_one_hot, "TFLite builtins lack DenseBincount"),
    # Discretization is Bucketize, which tf2onnx cannot convert and TF.js lacks.
    ("onnx", ("Discretization",), discretization_via_comparisons, "tf2onnx cannot convert Bucketize"),
    ("tfjs", ("Discretization",), discretization_via_comparisons, "TF.js lacks Bucketize"),
    # Keras runs grouped convolutions (and channels_first Conv3D) as an XLA-compiled nested function
    # (StatefulPartitionedCall) that tf2onnx and the TF.js converter leave unconverted. TFLite inlines it;
    # LiteRT runs grouped CONV_2D, but its CONV_3D rejects a grouped kernel when the model is prepared
    # and an NCDHW Conv3D has no builtin.
    ("onnx", CONVOLUTIONS, grouped_conv, f"tf2onnx {XLA_CONV}"),
    ("tfjs", CONVOLUTIONS, grouped_conv, f"the TF.js converter {XLA_CONV}"),
    ("tflite", ("Conv3D",), grouped_conv, "TFLite's CONV_3D takes neither groups nor channels_first"),
    # An output longer than the full transposed convolution: tf2onnx writes negative ConvTranspose pads.
    ("onnx", TRANSPOSED_CONVOLUTIONS, full_conv_transpose, "tf2onnx writes negative ConvTranspose pads"),
    # TF.js's op table has no Conv3DBackpropInputV2 (Conv3DTranspose); it runs Conv3D.
    ("tfjs", ("Conv3DTranspose",), conv_transpose_as_conv, "TF.js lacks Conv3DBackpropInputV2"),
    # TFLite builtins have no MaxPool3D/AvgPool3D (the global 3D poolings are MEAN/REDUCE_MAX and convert).
    ("tflite", ("MaxPooling3D", "AveragePooling3D", "AdaptiveMaxPooling3D", "AdaptiveAveragePooling3D"),
     separable_pooling_3d, "TFLite builtins lack 3D pooling"),
    # ResizeBicubic: no TFLite builtin, no TF.js kernel. tf2onnx writes the matching ONNX Resize (cubic,
    # a=-0.5, exclude_outside, half_pixel), but ONNX Runtime evaluates the kernel exactly where TF reads
    # it from a 1024-step table: up to 1.3e-3 apart on the test case, over the float32 tolerance.
    ("tflite", BICUBIC_RESIZERS, bicubic_resize, "TFLite builtins lack ResizeBicubic"),
    ("tfjs", BICUBIC_RESIZERS, bicubic_resize, "TF.js lacks ResizeBicubic"),
    ("onnx", BICUBIC_RESIZERS, bicubic_resize, BICUBIC_ONNX),
    # Multi-hot/count lookups use (Dense)Bincount, which TFLite builtins lack. IntegerLookup's int64 -> int64 hash
    # table converts nowhere. A string lookup's mask is a string Equal: TF.js wasm has no string kernel for it
    # (it logs "Unsupported input_type" and returns garbage); tf2onnx writes a Cast of the strings to int64.
    ("tflite", LOOKUPS, lookup_via_one_hot, "TFLite builtins lack DenseBincount"),
    ("tfjs", STRING_LOOKUPS, mask_in_table, "TF.js wasm compares strings wrongly"),
    ("onnx", STRING_LOOKUPS, mask_in_table, "tf2onnx converts a string Equal into a Cast of strings to int64"),
    ("tflite", ("IntegerLookup",), integer_lookup_via_comparisons, "TFLite builtins lack hash tables"),
    ("onnx", ("IntegerLookup",), integer_lookup_via_comparisons, "tf2onnx converts only string<->int64 tables"),
    ("tfjs", ("IntegerLookup",), integer_lookup_via_comparisons, "the TF.js graph model cannot feed an int64 table"),
    # MelSpectrogram's STFT is RFFT with complex outputs: tf2onnx converts RFFT only into ComplexAbs, and TF.js
    # wasm has no Complex kernel ("Kernel 'Complex' not registered").
    ("onnx", ("MelSpectrogram",), mel_spectrogram_via_matrices, "tf2onnx cannot convert RFFT feeding Real/Imag"),
    ("tfjs", ("MelSpectrogram",), mel_spectrogram_via_matrices, "TF.js wasm lacks complex numbers"),
    # The converter freezes variables into constants; an AssignVariableOp left at inference then fails.
    ("tfjs", SEEDED_AT_INFERENCE, augmentation_as_identity, "the TF.js converter cannot freeze the seed update"),
)

# target -> rewrites of the whole serialized model: (model config, target) -> descriptions.
GRAPH_REWRITES = {
    # The converter fuses a ReLU into exact gelu's last Mul and then cannot match GELU (leaves Erfc).
    "tflite": (Rewrite(gelu_before_relu, "the TFLite converter fuses the ReLU into gelu and leaves Erfc"),),
}


def prepare_for_target(loaded: LoadedModel, target: str) -> tuple[LoadedModel, list[str]]:
    """(LoadedModel to convert, [rewrite descriptions]) for `target`."""
    if not any(key[0] == target for key in REWRITES) and target not in GRAPH_REWRITES:
        return loaded, []
    import keras

    try:
        config = copy.deepcopy(keras.saving.serialize_keras_object(loaded.model))
    except Exception:  # a subclassed model without get_config: no layer config to rewrite
        return loaded, []
    # Graph rewrites first: they read layers as the user wrote them.
    descriptions = [f"{d} ({r.why})" for r in GRAPH_REWRITES.get(target, ()) for d in r.function(config, target)]
    _rewrite_entries(config, target, descriptions)
    if not descriptions:
        return loaded, []
    try:
        rebuilt = _rebuild(loaded.model, config)
    except Exception as error:  # Keras raises many types from from_config/set_weights
        raise ExportError(
            f"{target}: rebuilding {loaded.name} with exact rewrites ({'; '.join(descriptions)[:300]}) failed: "
            f"{one_line(error, 300)}"
        ) from error
    return dataclasses.replace(loaded, model=rebuilt), descriptions


def _rewrite_entries(node, target: str, descriptions: list[str]) -> None:
    """Apply the table to every serialized object in `node`, innermost first (Bidirectional's LSTM too)."""
    if isinstance(node, list):
        for item in node:
            _rewrite_entries(item, target, descriptions)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _rewrite_entries(value, target, descriptions)
    if not isinstance(node.get("config"), dict) or "class_name" not in node:
        return
    for key in (node["class_name"], ANY_LAYER):
        for rewrite in REWRITES.get((target, key), ()):
            description = rewrite.function(node, target)
            if description:
                descriptions.append(f"{description} ({rewrite.why})")


def _rebuild(model, config):
    """A new model from the rewritten config, carrying the original's weights (shapes are checked)."""
    import keras

    # The config comes from a model that is already loaded: safe mode was applied (or waived) then.
    rebuilt = keras.saving.deserialize_keras_object(config, custom_objects=custom_objects(), safe_mode=False)
    rebuilt.set_weights(model.get_weights())
    return rebuilt
