"""The rank of a tensor of a converted TF.js graph, from the model's input shapes and each op's rule.

model.json keeps no inferred shapes: only Placeholders and Consts carry one. Ranks follow from
them through the common ops; for any other op the rank is unknown (None), and a rewrite that needs
it says so instead of guessing.
"""

from __future__ import annotations

from exporters.tfjs_model import TfjsGraph, attr_ints

# Ops whose output has the rank of their first input.
SAME_AS_FIRST = {
    "Identity", "Cast", "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Relu", "Relu6", "Elu",
    "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax", "Erf", "Floor", "Ceil", "Round",
    "Sign", "Sin", "Cos", "Reciprocal", "IsNan", "LogicalNot", "BiasAdd", "Cumsum", "Cumprod", "Transpose",
    "ClipByValue", "ZerosLike", "OnesLike", "ConcatV2", "Pad", "PadV2", "MirrorPad", "Tile", "Reverse", "ReverseV2",
    "FusedBatchNorm", "FusedBatchNormV3", "StopGradient", "Slice", "Prelu",
}
# Ops whose output has the rank of their broadcast inputs (the largest).
BROADCASTING = {
    "AddV2", "Add", "Sub", "Mul", "RealDiv", "Div", "FloorDiv", "FloorMod", "Maximum", "Minimum", "Pow",
    "SquaredDifference", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd",
    "LogicalOr", "SelectV2", "BatchMatMulV2", "BatchMatMul", "AddN",
}
FIXED = {"MatMul": 2, "_FusedMatMul": 2, "Conv2D": 4, "_FusedConv2D": 4, "DepthwiseConv2dNative": 4,
         "FusedDepthwiseConv2dNative": 4, "MaxPool": 4, "AvgPool": 4, "Conv3D": 5, "MaxPool3D": 5, "AvgPool3D": 5}
REDUCTIONS = {"Sum", "Mean", "Max", "Min", "Prod", "All", "Any"}


def rank_of(graph: TfjsGraph, tensor: str, seen: frozenset = frozenset()) -> int | None:
    """The rank of `tensor` ("node" or "node:0"), or None when it cannot be told from the graph."""
    node = graph.node(tensor)
    if node is None or node["name"] in seen or (":" in tensor and not tensor.endswith(":0")):
        return None  # an unknown node, a loop, or a second output of a multi-output op
    seen = seen | {node["name"]}
    op, inputs = node["op"], [i for i in node.get("input", []) if not i.startswith("^")]

    def rank(index: int) -> int | None:
        return rank_of(graph, inputs[index], seen) if index < len(inputs) else None

    if op in ("Placeholder", "Const"):
        return _declared_rank(node)
    if op in FIXED:
        return FIXED[op]
    if op in SAME_AS_FIRST:
        return rank(0)
    if op in BROADCASTING:
        ranks = [rank(i) for i in range(len(inputs))]
        return None if None in ranks or not ranks else max(ranks)
    if op in ("Reshape", "Fill"):  # the rank is the length of the shape vector
        shape = graph.node(inputs[1 if op == "Reshape" else 0])
        return _vector_length(shape) if shape else None
    if op in ("ExpandDims", "OneHot"):  # OneHot adds the depth axis
        return None if rank(0) is None else rank(0) + 1
    if op == "Squeeze":
        dims = attr_ints(node, "squeeze_dims")
        return None if rank(0) is None or not dims else rank(0) - len(dims)
    if op in REDUCTIONS:
        if node.get("attr", {}).get("keep_dims", {}).get("b"):
            return rank(0)
        axes = graph.node(inputs[1])
        if axes is None or axes["op"] != "Const" or rank(0) is None:
            return None
        count = _vector_length(axes) if _declared_rank(axes) else 1  # a scalar axis removes one dimension
        return None if count is None else rank(0) - count
    return None


def _declared_rank(node: dict) -> int | None:
    """Rank of a Placeholder's shape or a Const's tensorShape; None for an unknown rank."""
    attr = node.get("attr", {})
    shape = attr["shape"].get("shape", {}) if "shape" in attr else attr.get("value", {}).get("tensor", {}).get("tensorShape")
    if shape is None or shape.get("unknownRank"):
        return None
    return len(shape.get("dim", []))


def _vector_length(node: dict) -> int | None:
    """The length of a 1-D tensor whose size the node declares (a Const, or a Pack of scalars)."""
    if node["op"] == "Pack":
        return len([i for i in node.get("input", []) if not i.startswith("^")])
    dims = node.get("attr", {}).get("value", {}).get("tensor", {}).get("tensorShape", {}).get("dim", [])
    size = int(dims[0]["size"]) if node["op"] == "Const" and len(dims) == 1 else -1
    return size if size >= 0 else None
