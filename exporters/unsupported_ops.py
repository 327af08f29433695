"""One UnsupportedOpError naming the ops a target lacks, the Keras layers they come from, and the target.

A converter reports TF op types ("Erfc", "TensorListReserve"); the graph node
names carry the Keras name scopes ("probe_1/activation_1/Gelu/Erfc"), which map
back to the model's layers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import UnsupportedOpError

if TYPE_CHECKING:
    import keras

    from toolkit.model.loading import LoadedModel

UNIQUIFIED = re.compile(r"_\d+$")  # TF appends _1, _2 ... to a name scope already in use
TABLE_OPS = ("HashTableV2", "LookupTableFindV2", "LookupTableImportV2")  # lookup layers' vocabulary tables
_UNROLL = ("set unroll=True on the recurrent layer (needs a fixed sequence length), or build the model as "
           "Functional/Sequential so the exporter can unroll it")
# What a user can do about an op no rewrite covers (rewrites only reach Functional/Sequential configs).
OP_HINTS = {
    "TensorListReserve": _UNROLL,
    "TensorListSetItem": _UNROLL,
    "TensorListFromTensor": _UNROLL,
    "Erfc": "use gelu with approximate=True, or keras.ops.erf instead of erfc",
    # Keras's TF backend compiles a grouped convolution (groups > 1) or a channels_first Conv3D into
    # a nested XLA function; the converter sees only the call of that function.
    "StatefulPartitionedCall": (
        "the op is Keras's XLA-compiled nested function, which it uses for grouped convolutions (groups > 1) "
        "and channels_first Conv3D: build the model as Functional/Sequential so the exporter can rewrite the "
        "layer, or use DepthwiseConv2D / one convolution per group"
    ),
    "HashTableV2": "do the vocabulary lookup before the model (in the input pipeline)",
    "LookupTableFindV2": "do the vocabulary lookup before the model (in the input pipeline)",
    "StringToHashBucketFast": "hash the values before the model (in the input pipeline)",
    "AsString": "hash the values before the model (in the input pipeline)",
    "SparseCross": "cross and hash the features before the model (in the input pipeline)",
}


# String inputs: the string ops of TextVectorization (standardize: StringLower, StaticRegexReplace;
# split: StringSplitV2, RaggedTensorToTensor) that each converter cannot lower, as measured with
# TF 2.19, tf2onnx 1.17 and tensorflowjs 4.22. A vocabulary lookup alone (StringLookup, a string ->
# int64 table) does convert: TFLite HASHTABLE_FIND, ONNX CategoryMapper, TF.js LookupTableFindV2.
STRING_OPS_UNSUPPORTED = {
    "tflite": ("StringLower", "StaticRegexReplace", "StringSplitV2", "RaggedTensorToTensor"),
    "onnx": ("StaticRegexReplace", "StringSplitV2"),  # tf2onnx leaves them unconverted; StringLower it converts
    "tfjs": ("StringLower", "StringSplitV2"),  # the converter's own check; with an adapted vocabulary it crashes first
}
STRING_HINT = "do the vocabulary lookup in the input pipeline and feed integer ids"


def refuse_string_ops(target: str, label: str, saved_model: Path, loaded: LoadedModel, lacks: str) -> None:
    """Before converting a model with string inputs: one UnsupportedOpError naming the string ops `target`
    lacks and their Keras layers. `label` is the target as messages show it ("onnx (opset 17)")."""
    if not any(spec.is_string for spec in loaded.signature.inputs):
        return
    found = {op: names for op, names in ops_in_saved_model(saved_model, STRING_OPS_UNSUPPORTED[target]).items() if names}
    if found:
        raise unsupported_op_error(label, found, loaded.model, lacks, hint=STRING_HINT)


def saved_model_nodes(saved_model: Path) -> list[tuple[str, str]]:
    """(node name, op type) of every node in the SavedModel's graph and its function library."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(saved_model) / "saved_model.pb").read_bytes())
    nodes = []
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        nodes += [(n.name, n.op) for n in graph.node]
        for function in graph.library.function:
            nodes += [(n.name, n.op) for n in function.node_def]
    return nodes


def keras_layers(model: keras.Model) -> dict[str, str]:
    """Layer name -> "name (Class)" for every layer, nested ones (Bidirectional's LSTM) included."""
    layers = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        layers.setdefault(layer.name, f"'{layer.name}' ({type(layer).__name__})")
    return layers


def layer_of(node_name: str, layers: dict[str, str]) -> str | None:
    """The innermost Keras layer whose name scope appears in `node_name`."""
    found = None
    for part in node_name.split("/"):
        stripped = UNIQUIFIED.sub("", part)
        # In the serving graph every Keras scope is uniquified once: layers dense, dense_1 appear as
        # dense_1, dense_1_2. So one suffix is stripped first; the name as it is is the fallback.
        name = stripped if stripped in layers else part if part in layers else None
        if name:
            found = layers[name]
    return found


def unsupported_op_error(target: str, op_nodes: dict[str, list[str]], model: keras.Model, lacks: str, hint: str = "") -> UnsupportedOpError:
    """`op_nodes`: op type -> graph node names using it. One line naming every op, its layers and the target.

    `lacks` says what is missing, with "{it}" for the op(s): "TF.js has no kernel for {it}".
    """
    layers = keras_layers(model)
    by_source: dict[str, list[str]] = {}
    for op, names in sorted(op_nodes.items()):
        sources = sorted({s for s in (layer_of(n, layers) for n in names) if s})
        where = f"from Keras layer {', '.join(sources[:4])}" if sources else "outside any Keras layer"
        by_source.setdefault(where, []).append(op)
    parts = [f"op{'s' if len(ops) > 1 else ''} {', '.join(ops)} ({where})" for where, ops in by_source.items()]
    hints = [hint] if hint else []
    hints += sorted({OP_HINTS[op] for op in op_nodes if op in OP_HINTS})
    lacking = lacks.format(it="them" if len(op_nodes) > 1 else "it")
    message = f"{target}: {'; '.join(parts)}: {lacking}, and no exact rewrite applies"
    return UnsupportedOpError(message + "".join(f"; {h}" for h in hints))


def ops_in_saved_model(saved_model: Path, op_types: Sequence[str] | None = None) -> dict[str, list[str]]:
    """op type -> node names in the SavedModel, for each of `op_types` (all ops when None)."""
    found = {op: [] for op in op_types or ()}
    for name, op in saved_model_nodes(saved_model):
        if op_types is None or op in found:
            found.setdefault(op, []).append(name)
    return found
