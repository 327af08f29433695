"""Exact fixes to a converted TF.js graph (model.json) for what TF.js 4.22's kernels cannot run.

The tensorflowjs converter runs grappler, which fuses ops into forms some TF.js
backends reject at run time; each fix rewrites such a node into plain ops with the
same result, and returns a description for the manifest. Parity proves them.
Fixes for ops TF.js maps or computes wrongly are in exporters/tfjs_kernels.py,
Einsum in exporters/tfjs_einsum.py.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

from exporters.tfjs_einsum import rewrite_einsums
from exporters.tfjs_kernels import (
    fix_band_parts,
    fix_bool_selects,
    fix_max_pool_3d,
    fix_negative_cumulative_axes,
    fix_one_hots,
)
from exporters.tfjs_model import TfjsGraph


def fix_graph_for_tfjs(model_json: Path, output_names: Sequence[str]) -> list[str]:
    """Apply every fix to `model_json` (and its weights) in place; returns the rewrites made."""
    graph = TfjsGraph(model_json)
    nodes = graph.nodes
    rewrites = split_unfusable_activations(graph) + split_non_vector_bias(nodes) + reshape_lookup_results(nodes)
    rewrites += rewrite_einsums(graph) + fix_band_parts(graph) + fix_negative_cumulative_axes(graph)
    rewrites += fix_max_pool_3d(graph) + fix_one_hots(graph) + fix_bool_selects(graph)
    rewrites += restore_output_names(graph.data.get("signature", {}), output_names)
    if rewrites:
        graph.save()
    return rewrites


def _fused_ops(node) -> list[str]:
    return [base64.b64decode(s).decode() for s in node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])]


# Activations TF.js 4.22 kernels can fuse into MatMul/Conv2D; the converter's grappler pass
# fuses others too (Tanh, ...), which every TF.js backend then rejects when that node runs.
TFJS_FUSABLE_ACTIVATIONS = {"relu", "relu6", "prelu", "elu", "leakyrelu", "sigmoid"}


def split_unfusable_activations(graph: TfjsGraph) -> list[str]:
    """X = Fused[BiasAdd, Tanh](...) becomes X/fused = Fused[BiasAdd](...); X = Tanh(X/fused).

    Consumers of X are untouched. An activation named after a grappler-internal op (_FusedHardSwish)
    becomes plain ops (ACTIVATION_FORMULAS). Returns one description per rewritten node.
    """
    rewrites = []
    for index, node in enumerate(list(graph.nodes)):
        fused = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
        if len(fused) != 2:
            continue
        activation = base64.b64decode(fused[1]).decode()
        if activation.lower() in TFJS_FUSABLE_ACTIVATIONS:
            continue
        inner = {**node, "name": node["name"] + "/fused", "attr": {**node["attr"], "fused_ops": {"list": {"s": fused[:1]}}}}
        graph.nodes[index] = inner
        formula = ACTIVATION_FORMULAS.get(activation)
        if formula:
            formula[1](graph, node["name"], inner["name"])
        else:
            graph.nodes.append({"name": node["name"], "op": activation, "input": [inner["name"]], "attr": {"T": node["attr"]["T"]}})
        rewrites.append(f"tfjs: {node['op']} with fused {activation} split into {node['op']} + "
                        f"{formula[0] if formula else activation} (TF.js kernels cannot fuse {activation}) at {node['name']}")
    return rewrites


def _hard_swish(graph: TfjsGraph, name: str, x: str) -> None:
    """Keras's hard_swish, in its order: x * (relu6(x + 3) / 6)."""
    float32 = {"type": "DT_FLOAT"}
    shifted = graph.add(f"{name}/plus_3", "AddV2", [x, graph.const(3.0, "float32")], T=float32)
    clipped = graph.add(f"{name}/relu6", "Relu6", [shifted], T=float32)
    gate = graph.add(f"{name}/gate", "RealDiv", [clipped, graph.const(6.0, "float32")], T=float32)
    graph.add(name, "Mul", [x, gate], T=float32)


# Grappler-internal activation names (no TF.js op has them) -> (formula, builder of plain ops).
ACTIVATION_FORMULAS = {"_FusedHardSwish": ("x*relu6(x+3)/6", _hard_swish)}


# Fused ops whose wasm kernels take only a rank-1 bias, and the plain op each came from.
UNFUSED = {"_FusedMatMul": "MatMul", "_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
           "_FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
FUSION_ATTRS = {"fused_ops", "num_args", "TArgs", "epsilon", "leakyrelu_alpha", "num_host_args", "_input_shapes", "filter_format"}


def _is_bias_vector(node) -> bool:
    dims = (node or {}).get("attr", {}).get("value", {}).get("tensor", {}).get("tensorShape", {}).get("dim")
    return node is not None and node["op"] == "Const" and dims is not None and len(dims) == 1


def split_non_vector_bias(nodes: list) -> list[str]:
    """Fused[BiasAdd(, act)](a, w, t) with t not a rank-1 constant becomes Op(a, w) + t (then act).

    Grappler fuses `x W + h U` (an unrolled LSTM cell), `x W + x` (a residual) and the
    (1, 1, 1, 1) bias of a single-filter Conv2D into these ops; TF.js's wasm kernels accept
    only a bias vector ("only supports rank-1 bias") while the cpu backend broadcasts.
    """
    by_name = {n["name"]: n for n in nodes}
    rewrites = []
    for index, node in enumerate(list(nodes)):
        fused = _fused_ops(node)
        if node["op"] not in UNFUSED or not fused or fused[0] != "BiasAdd" or len(fused) > 2:
            continue
        bias = node["input"][2]
        if _is_bias_vector(by_name.get(bias.split(":")[0])):
            continue
        attr = node["attr"]
        base = {"name": node["name"] + "/unfused", "op": UNFUSED[node["op"]], "input": node["input"][:2],
                "attr": {k: v for k, v in attr.items() if k not in FUSION_ATTRS}}
        add_name = node["name"] if len(fused) == 1 else node["name"] + "/bias"
        nodes[index] = base
        nodes.append({"name": add_name, "op": "AddV2", "input": [base["name"], bias], "attr": {"T": attr["T"]}})
        if len(fused) == 2:
            activation = {"name": node["name"], "op": fused[1], "input": [add_name], "attr": {"T": attr["T"]}}
            if fused[1] == "LeakyRelu":
                activation["attr"]["alpha"] = attr["leakyrelu_alpha"]
            nodes.append(activation)
        rewrites.append(f"tfjs: {node['op']} with a bias that is not a vector split into {base['op']} + AddV2 "
                        f"(TF.js wasm kernels take only a rank-1 bias) at {node['name']}")
    return rewrites


def reshape_lookup_results(nodes: list) -> list[str]:
    """X = LookupTableFindV2(table, keys, default) becomes X/flat = LookupTableFindV2(...); X = Reshape(X/flat, Shape(keys)).

    TF.js 4.22's HashTable.find returns stack(values): a vector of all the keys' values, so a
    (batch, N) lookup (StringLookup on a (N,) string input) comes out as (batch*N,) and the next
    layer fails on its shape. TF's op returns the keys' shape; the Reshape restores it.
    """
    rewrites = []
    for index, node in enumerate(list(nodes)):
        if node["op"] != "LookupTableFindV2":
            continue
        name, keys = node["name"], node["input"][1]
        nodes[index] = {**node, "name": name + "/flat"}
        key_type = node.get("attr", {}).get("Tin", {"type": "DT_STRING"})
        nodes.append({"name": name + "/keys_shape", "op": "Shape", "input": [keys],
                      "attr": {"T": key_type, "out_type": {"type": "DT_INT32"}}})
        nodes.append({"name": name, "op": "Reshape", "input": [name + "/flat", name + "/keys_shape"],
                      "attr": {"T": node.get("attr", {}).get("Tout", {"type": "DT_INT64"}), "Tshape": {"type": "DT_INT32"}}})
        rewrites.append(f"tfjs: LookupTableFindV2 result reshaped to its keys' shape (TF.js 4.22 returns a vector) at {name}")
    return rewrites


def restore_output_names(signature: dict, output_names: Sequence[str]) -> list[str]:
    """Rename outputs the converter left as "Identity_<k>:0" back to the model's names.

    The converter names a signature output after the model's output only when no other output
    has the same dtype and shape; otherwise it keeps the frozen graph's tensor name, where k is
    the output's position in tf.nest.flatten order of the serving dict (its names, sorted).
    """
    outputs = signature.get("outputs", {})
    ordered = sorted(output_names)
    renamed = {}
    for key, info in outputs.items():
        match = re.fullmatch(r"Identity(?:_(\d+))?:0", key)
        if key.split(":")[0] in output_names or not match:
            renamed[key] = info
        else:
            renamed[ordered[int(match.group(1) or 0)]] = info
    if list(renamed) == list(outputs):
        return []
    signature["outputs"] = renamed
    return [f"tfjs: signature outputs {sorted(set(outputs) - set(renamed))} renamed to the model's output names"]
