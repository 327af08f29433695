"""Exact replacements for ops that TF.js 4.22 maps or computes wrongly, in some backend or all.

Each fix finds the nodes concerned in a converted graph (exporters/tfjs_model.TfjsGraph), puts
plain ops TF.js computes right in their place, under the same name (so consumers are untouched),
and returns one description per node for the manifest. Parity proves them.
"""

from __future__ import annotations

from exporters.tfjs_model import (
    TfjsGraph,
    attr_int,
    attr_ints,
    attr_text,
    concat_vectors,
    ints_attr,
    reshape,
    shape_slice,
    text_attr,
    type_attr,
)
from exporters.tfjs_ranks import rank_of
from toolkit.errors import UnsupportedOpError


def _inputs(node: dict) -> list[str]:
    return [i for i in node.get("input", []) if not i.startswith("^")]


def fix_band_parts(graph: TfjsGraph) -> list[str]:
    """MatrixBandPart(x, lower, upper) -> SelectV2(in_band, x, zeros) (bool x: in_band AND x), in_band from two Ranges.

    TF.js 4.22's op table reads num_upper from input 1 (num_lower), so it computes band(x, lower, lower):
    Keras's causal mask (band(ones, -1, 0), MultiHeadAttention(use_causal_mask=True)) comes out all ones.
    """
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] == "MatrixBandPart"]:
        x, lower_in, upper_in = _inputs(node)
        lower, upper = graph.const_value(lower_in), graph.const_value(upper_in)
        if lower is None or upper is None:
            raise UnsupportedOpError(f"tfjs: op MatrixBandPart at {node['name']} has band limits computed at run time; "
                                     "TF.js reads num_upper from num_lower's input, and the exact rewrite needs constants")
        lower, upper = int(lower), int(upper)
        if lower == upper or (lower < 0 and upper < 0):
            continue  # what TF.js computes is right
        name, dt = node["name"], node["attr"]["T"]["type"]
        graph.remove(node)
        rows = _range(graph, f"{name}/rows", shape_slice(graph, f"{name}/shape", x, -2, -1))
        rows = graph.add(f"{name}/rows_column", "ExpandDims", [rows, graph.const(1, "int32")],
                         T=type_attr("DT_INT32"), Tdim=type_attr("DT_INT32"))
        columns = _range(graph, f"{name}/columns", shape_slice(graph, f"{name}/shape", x, -1, None))
        offset = graph.add(f"{name}/offset", "Sub", [rows, columns], T=type_attr("DT_INT32"))  # row - column
        tests = []
        if lower >= 0:
            tests.append(graph.add(f"{name}/below", "LessEqual", [offset, graph.const(lower, "int32")], T=type_attr("DT_INT32")))
        if upper >= 0:
            tests.append(graph.add(f"{name}/above", "GreaterEqual", [offset, graph.const(-upper, "int32")], T=type_attr("DT_INT32")))
        in_band = tests[0] if len(tests) == 1 else graph.add(f"{name}/in_band", "LogicalAnd", tests)
        if dt == "DT_BOOL":  # TF.js wasm's Select copies 4 bytes per element: wrong (and out of bounds) for bool
            graph.add(name, "LogicalAnd", [in_band, x])
        else:
            zeros = graph.add(f"{name}/zeros", "ZerosLike", [x], T=type_attr(dt))
            graph.add(name, "SelectV2", [in_band, x, zeros], T=type_attr(dt))
        rewrites.append(f"tfjs: MatrixBandPart(lower={lower}, upper={upper}) computed from row/column ranges "
                        f"(TF.js 4.22 reads num_upper from num_lower's input) at {name}")
    return rewrites


def _range(graph: TfjsGraph, name: str, limit: str) -> str:
    """0, 1, ..., limit-1 (int32); `limit` is a one-element vector (TF.js reads its first value)."""
    return graph.add(name, "Range", [graph.const(0, "int32"), limit, graph.const(1, "int32")], Tidx=type_attr("DT_INT32"))


def fix_negative_cumulative_axes(graph: TfjsGraph) -> list[str]:
    """Cumsum/Cumprod(x, axis < 0) -> the same op with axis + rank(x).

    TF.js 4.22's cumsum takes the axis as it is: with -1 it returns a [NaN, n] shape on cpu, reads out
    of bounds on wasm and hangs the browser. The rank comes from the graph's known shapes.
    """
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] in ("Cumsum", "Cumprod")]:
        x, axis_in = _inputs(node)[:2]
        axis = graph.const_value(axis_in)
        if axis is None or int(axis) >= 0:
            continue
        rank = rank_of(graph, x)
        if rank is None:
            raise UnsupportedOpError(
                f"tfjs: op {node['op']} at {node['name']} has axis {int(axis)} and an input of unknown rank; TF.js needs "
                "a non-negative axis (pass axis=rank-1 instead of -1, or give the model inputs a known rank)")
        positive = int(axis) + rank
        node["input"][node["input"].index(axis_in)] = graph.const(positive, "int32")
        rewrites.append(f"tfjs: {node['op']} axis {int(axis)} given as {positive} (TF.js 4.22 does not normalise a "
                        f"negative axis) at {node['name']}")
    return rewrites


def fix_max_pool_3d(graph: TfjsGraph) -> list[str]:
    """MaxPool3D -> MaxPool over (height, width) of [batch*depth, H, W, C], then MaxPool over depth.

    TF.js 4.22's wasm MaxPool3D starts each window's maximum at the smallest positive float, so a window of
    negative values gives ~1e-38. A maximum over a box is the maximum over depth of the maxima over the
    planes, and TF pads each axis on its own (SAME or VALID), so the two 2-D pools select the same value.
    """
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] == "MaxPool3D"]:
        if attr_text(node, "data_format", "NDHWC") != "NDHWC":
            continue  # TF.js runs NDHWC only; the converter rejects other layouts
        name, dt, (x,) = node["name"], node["attr"]["T"]["type"], _inputs(node)[:1]
        (_, kd, kh, kw, _), (_, sd, sh, sw, _) = attr_ints(node, "ksize"), attr_ints(node, "strides")
        padding = attr_text(node, "padding")
        graph.remove(node)
        shape = f"{name}/x_shape"
        planes = reshape(graph, f"{name}/planes", x, concat_vectors(graph, f"{name}/planes_shape", [
            graph.const([-1], "int32"), shape_slice(graph, shape, x, 2, 5)]), dt)  # [B*D, H, W, C]
        pooled = _max_pool(graph, f"{name}/pool_hw", planes, (kh, kw), (sh, sw), padding, dt)  # [B*D, H', W', C]
        columns = reshape(graph, f"{name}/columns", pooled, concat_vectors(graph, f"{name}/columns_shape", [
            shape_slice(graph, shape, x, 0, 2), graph.const([-1], "int32"), shape_slice(graph, shape, x, 4, 5)]), dt)
        deep = _max_pool(graph, f"{name}/pool_d", columns, (kd, 1), (sd, 1), padding, dt)  # [B, D', H'*W', C]
        reshape(graph, name, deep, concat_vectors(graph, f"{name}/out_shape", [
            shape_slice(graph, f"{name}/deep_shape", deep, 0, 2), shape_slice(graph, f"{name}/pooled_shape", pooled, 1, 3),
            shape_slice(graph, f"{name}/deep_shape", deep, 3, 4)]), dt)
        rewrites.append(f"tfjs: MaxPool3D computed as two MaxPool (height/width, then depth) (TF.js wasm's MaxPool3D "
                        f"returns ~1e-38 for a window of negative values) at {name}")
    return rewrites


def _max_pool(graph: TfjsGraph, name: str, x: str, size: tuple, strides: tuple, padding: str, dt: str) -> str:
    return graph.add(name, "MaxPool", [x], T=type_attr(dt), ksize=ints_attr([1, *size, 1]),
                     strides=ints_attr([1, *strides, 1]), padding=text_attr(padding), data_format=text_attr("NHWC"))


def fix_one_hots(graph: TfjsGraph) -> list[str]:
    """OneHot(ids, depth, on, off, axis=-1) -> SelectV2(ExpandDims(ids, -1) == Range(depth), on, off).

    TF.js 4.22's wasm OneHot kernel writes int32 values into a float output: 1.0 comes out as 1.4e-45.
    Ids outside [0, depth) match no position in both, so they get `off` everywhere, as in TF.
    """
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] == "OneHot"]:
        ids, depth, on, off = _inputs(node)
        rank = rank_of(graph, ids)
        if attr_int(node, "axis", -1) not in (-1, rank):
            raise UnsupportedOpError(f"tfjs: op OneHot at {node['name']} has axis {attr_int(node, 'axis')}; TF.js wasm's "
                                     "OneHot writes wrong values, and the exact rewrite handles the last axis only")
        name, id_type = node["name"], node["attr"].get("TI", type_attr("DT_INT64"))
        graph.remove(node)
        column = graph.add(f"{name}/ids", "ExpandDims", [ids, graph.const(-1, "int32")], T=id_type, Tdim=type_attr("DT_INT32"))
        positions = graph.add(f"{name}/positions", "Range", [graph.const(0, "int32"), depth, graph.const(1, "int32")],
                              Tidx=type_attr("DT_INT32"))
        hot = graph.add(f"{name}/hot", "Equal", [column, positions], T=type_attr("DT_INT32"))
        graph.add(name, "SelectV2", [hot, on, off], T=node["attr"]["T"])
        rewrites.append(f"tfjs: OneHot computed as a select on ids == range(depth) (TF.js wasm's OneHot writes int32 "
                        f"bits into a float output) at {name}")
    return rewrites


def fix_bool_selects(graph: TfjsGraph) -> list[str]:
    """SelectV2(c, a, b) on bool tensors -> (c AND a) OR (NOT c AND b), which broadcasts the same way.

    TF.js 4.22's wasm Select copies 4 bytes per element, so on bool tensors (1 byte each) it writes wrong
    values and past the output's end ("memory access out of bounds"); its cpu result of a bool select,
    cast to float32, arrives as one byte per value (keras.ops.where(mask, x > a, x < b)).
    """
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] == "SelectV2" and n.get("attr", {}).get("T") == type_attr("DT_BOOL")]:
        condition, when_true, when_false = _inputs(node)
        name = node["name"]
        graph.remove(node)
        chosen = graph.add(f"{name}/then", "LogicalAnd", [condition, when_true])
        negated = graph.add(f"{name}/not", "LogicalNot", [condition])
        graph.add(name, "LogicalOr", [chosen, graph.add(f"{name}/else", "LogicalAnd", [negated, when_false])])
        rewrites.append(f"tfjs: SelectV2 on bool computed as (c AND a) OR (NOT c AND b) (TF.js wasm's Select copies "
                        f"4 bytes per bool) at {name}")
    return rewrites
